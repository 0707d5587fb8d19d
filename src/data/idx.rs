//! MNIST IDX files (u8 images and labels), plain or gzip-compressed.

use std::io::Read;
use std::path::Path;
#[cfg(not(target_arch = "wasm32"))]
use std::path::PathBuf;

use super::Dataset;
use crate::error::{Error, Result};

/// Magic number of a u8 tensor with 3 dimensions (images).
const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of a u8 tensor with 1 dimension (labels).
const LABELS_MAGIC: u32 = 0x0000_0801;

/// Reads a whole file, gunzipping it when it starts with the gzip magic bytes (the name is not trusted).
#[cfg(not(target_arch = "wasm32"))]
fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    if path.is_dir() {
        return Err(Error::parse(path, None, "is a directory, expected an IDX file"));
    }
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    maybe_gunzip(path, raw)
}

/// The IDX bytes of a file's contents, gunzipped when they start with the gzip magic bytes.
fn maybe_gunzip(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    gunzip_bounded(path, &raw)
}

/// Decompresses an IDX file without trusting its length: the header is read first, and then at most the bytes its
/// shape declares plus one (enough for parse_idx to report trailing garbage), so a small file cannot inflate beyond
/// what its header claims (a header that claims gigabytes still needs gigabytes of real compressed content).
fn gunzip_bounded(path: &Path, raw: &[u8]) -> Result<Vec<u8>> {
    let corrupt = |e: std::io::Error| Error::parse(path, None, format!("corrupt gzip data: {e}"));
    let mut decoder = flate2::read::MultiGzDecoder::new(raw);
    let mut out = Vec::new();
    (&mut decoder).take(4).read_to_end(&mut out).map_err(corrupt)?;
    if out.len() < 4 {
        return Ok(out);
    }
    let ndim = u64::from(out[3]);
    (&mut decoder).take(4 * ndim).read_to_end(&mut out).map_err(corrupt)?;
    if out.len() < 4 + 4 * ndim as usize {
        return Ok(out);
    }
    let expected = out[4..]
        .chunks_exact(4)
        .try_fold(1u64, |acc, d| acc.checked_mul(u64::from(u32::from_be_bytes([d[0], d[1], d[2], d[3]]))));
    // An overflowing shape is rejected by parse_idx from the header alone.
    if let Some(expected) = expected {
        decoder.take(expected.saturating_add(1)).read_to_end(&mut out).map_err(corrupt)?;
    }
    Ok(out)
}

/// Validates the header and sizes of an IDX buffer; returns the dimensions and exactly the data bytes.
fn parse_idx<'a>(path: &Path, bytes: &'a [u8], magic: u32, what: &str) -> Result<(Vec<usize>, &'a [u8])> {
    let header = Some("header".to_string());
    let ndim = (magic & 0xff) as usize;
    let header_len = 4 + 4 * ndim;
    let be = |o: usize| u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    if bytes.len() < 4 {
        let reason = format!("truncated header: expected {header_len} bytes, found {}", bytes.len());
        return Err(Error::parse(path, header, reason));
    }
    let found = be(0);
    if found != magic {
        let hint = match found {
            IMAGES_MAGIC => " (an image file)",
            LABELS_MAGIC => " (a label file)",
            _ => "",
        };
        let reason = format!("wrong magic number: expected 0x{magic:08x} ({what}), found 0x{found:08x}{hint}");
        return Err(Error::parse(path, header, reason));
    }
    if bytes.len() < header_len {
        let reason = format!("truncated header: expected {header_len} bytes, found {}", bytes.len());
        return Err(Error::parse(path, header, reason));
    }
    let dims: Vec<usize> = (0..ndim).map(|i| be(4 + 4 * i) as usize).collect();
    let shape = dims.iter().map(usize::to_string).collect::<Vec<_>>().join("x");
    let data_loc = Some("data".to_string());
    if dims[0] == 0 {
        return Err(Error::parse(path, header, "contains 0 samples"));
    }
    if dims.contains(&0) {
        return Err(Error::parse(path, header, format!("has an empty dimension (shape {shape})")));
    }
    let Some(expected) = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)) else {
        return Err(Error::parse(path, header, format!("shape {shape} is too large")));
    };
    let data = &bytes[header_len..];
    if data.len() < expected {
        let reason = format!("truncated data: expected {expected} bytes for shape {shape}, found {}", data.len());
        return Err(Error::parse(path, data_loc, reason));
    }
    if data.len() > expected {
        let reason = format!("{} unexpected bytes after the {expected} bytes of shape {shape}", data.len() - expected);
        return Err(Error::parse(path, data_loc, reason));
    }
    Ok((dims, data))
}

/// Reads an IDX image file: (pixels scaled to [0, 1] row-major [n, rows*cols], n, rows*cols).
#[cfg(not(target_arch = "wasm32"))]
pub fn read_idx_images(path: &Path) -> Result<(Vec<f32>, usize, usize)> {
    parse_idx_images(path, read_bytes(path)?)
}

/// Parses IDX image bytes (plain or gzipped), as [`read_idx_images`]; `path` only names the file in errors.
pub fn parse_idx_images(path: &Path, raw: Vec<u8>) -> Result<(Vec<f32>, usize, usize)> {
    let bytes = maybe_gunzip(path, raw)?;
    let (dims, data) = parse_idx(path, &bytes, IMAGES_MAGIC, "u8 images [n, rows, cols]")?;
    let pixels = data.iter().map(|&p| f32::from(p) / 255.0).collect();
    Ok((pixels, dims[0], dims[1] * dims[2]))
}

/// Reads an IDX label file.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    parse_idx_labels(path, read_bytes(path)?)
}

/// Parses IDX label bytes (plain or gzipped), as [`read_idx_labels`]; `path` only names the file in errors.
pub fn parse_idx_labels(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>> {
    let bytes = maybe_gunzip(path, raw)?;
    let (_, data) = parse_idx(path, &bytes, LABELS_MAGIC, "u8 labels [n]")?;
    Ok(data.to_vec())
}

/// The first of `name` and `name.gz` present in `dir`.
#[cfg(not(target_arch = "wasm32"))]
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))].into_iter().find(|p| p.is_file())
}

/// Loads one images/labels pair as a digit dataset; None when neither file exists.
#[cfg(not(target_arch = "wasm32"))]
fn load_pair(dir: &Path, images: &str, labels: &str) -> Result<Option<(Dataset, PathBuf)>> {
    let (image_path, label_path) = match (find(dir, images), find(dir, labels)) {
        (None, None) => return Ok(None),
        (Some(i), Some(l)) => (i, l),
        (i, _) => {
            let (have, missing) = if i.is_none() { (labels, images) } else { (images, labels) };
            let reason = format!("found {have} but not {missing}: looked for {missing} and {missing}.gz");
            return Err(Error::parse(dir, None, reason));
        }
    };
    let dataset = digits(&image_path, read_bytes(&image_path)?, &label_path, read_bytes(&label_path)?)?;
    Ok(Some((dataset, image_path)))
}

/// A digit dataset from the contents of an images file and a labels file (plain or gzipped IDX), with the feature
/// and class names [`read_mnist_dir`] gives; the paths only name the files in errors (files fetched by the web page).
pub fn digits(image_path: &Path, images: Vec<u8>, label_path: &Path, labels: Vec<u8>) -> Result<Dataset> {
    let (features, n, n_features) = parse_idx_images(image_path, images)?;
    let labels = parse_idx_labels(label_path, labels)?;
    if labels.len() != n {
        let reason = format!("has {} labels but {} has {n} images", labels.len(), image_path.display());
        return Err(Error::parse(label_path, None, reason));
    }
    if let Some(i) = labels.iter().position(|&l| l > 9) {
        let reason = format!("label {} is not a digit 0-9", labels[i]);
        return Err(Error::parse(label_path, Some(format!("sample {i}")), reason));
    }
    Ok(Dataset {
        features,
        n_features,
        targets: labels.iter().map(|&l| f32::from(l)).collect(),
        classes: Some((0..10).map(|d| d.to_string()).collect()),
        feature_names: (0..n_features).map(|i| format!("pixel{i}")).collect(),
        target_name: "label".to_string(),
    })
}

/// Reads the MNIST training set (required) and test set (optional) from a directory of IDX files.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_mnist_dir(dir: &Path) -> Result<(Dataset, Option<Dataset>)> {
    if !dir.is_dir() {
        if dir.exists() {
            return Err(Error::parse(dir, None, "is not a directory; expected the directory holding the MNIST files"));
        }
        return Err(Error::io(dir, std::io::Error::new(std::io::ErrorKind::NotFound, "directory not found")));
    }
    let Some((train, _)) = load_pair(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")? else {
        let reason = "no MNIST training set: looked for train-images-idx3-ubyte and train-labels-idx1-ubyte \
                      (each optionally with .gz appended)";
        return Err(Error::parse(dir, None, reason));
    };
    let test = load_pair(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")?;
    if let Some((test, path)) = &test {
        if test.n_features != train.n_features {
            let reason =
                format!("has {} pixels per image but the training images have {}", test.n_features, train.n_features);
            return Err(Error::parse(path, None, reason));
        }
    }
    Ok((train, test.map(|(d, _)| d)))
}

/// Writes an uncompressed IDX file from a magic number, dimensions and data.
#[cfg(not(target_arch = "wasm32"))]
fn write_idx(path: &Path, magic: u32, dims: &[usize], data: &[u8]) -> Result<()> {
    let expected = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if expected != Some(data.len()) {
        return Err(Error::config("idx data", format!("{} bytes do not match the shape {dims:?}", data.len())));
    }
    let mut out = Vec::with_capacity(4 + 4 * dims.len() + data.len());
    out.extend_from_slice(&magic.to_be_bytes());
    for &d in dims {
        let d = u32::try_from(d).map_err(|_| Error::config("idx data", format!("dimension {d} exceeds u32")))?;
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    std::fs::write(path, out).map_err(|e| Error::io(path, e))
}

/// Writes `n` images of `rows` x `cols` u8 pixels as an uncompressed IDX file.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_idx_images(path: &Path, n: usize, rows: usize, cols: usize, pixels: &[u8]) -> Result<()> {
    write_idx(path, IMAGES_MAGIC, &[n, rows, cols], pixels)
}

/// Writes u8 labels as an uncompressed IDX file.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_idx_labels(path: &Path, labels: &[u8]) -> Result<()> {
    write_idx(path, LABELS_MAGIC, &[labels.len()], labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A fresh empty directory per test, so tests can run in parallel.
    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wgtrain_idx_{}_{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    fn err<T: std::fmt::Debug>(r: Result<T>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn round_trip_plain_and_gzip() {
        let dir = tmp("round_trip");
        let pixels: Vec<u8> = (0..2 * 2 * 3).map(|i| (i * 20) as u8).collect();
        let (ip, lp) = (dir.join("img"), dir.join("lab"));
        write_idx_images(&ip, 2, 2, 3, &pixels).unwrap();
        write_idx_labels(&lp, &[7, 3]).unwrap();
        let (x, n, d) = read_idx_images(&ip).unwrap();
        assert_eq!((n, d), (2, 6));
        assert_eq!(x[1], 20.0 / 255.0);
        assert_eq!(x[11], 220.0 / 255.0);
        assert_eq!(read_idx_labels(&lp).unwrap(), vec![7, 3]);
        // The gzip magic is detected from the bytes even though the name has no .gz.
        let (igz, lgz) = (dir.join("img_gz"), dir.join("lab_gz"));
        std::fs::write(&igz, gzip(&std::fs::read(&ip).unwrap())).unwrap();
        std::fs::write(&lgz, gzip(&std::fs::read(&lp).unwrap())).unwrap();
        assert_eq!(read_idx_images(&igz).unwrap(), (x, n, d));
        assert_eq!(read_idx_labels(&lgz).unwrap(), vec![7, 3]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn mnist_dir() {
        let dir = tmp("mnist");
        let e = err(read_mnist_dir(&dir));
        assert!(e.contains("looked for train-images-idx3-ubyte and train-labels-idx1-ubyte"), "{e}");
        write_idx_images(&dir.join("train-images-idx3-ubyte"), 3, 2, 2, &[255; 12]).unwrap();
        let e = err(read_mnist_dir(&dir));
        assert!(e.contains("found train-images-idx3-ubyte but not train-labels-idx1-ubyte"), "{e}");
        write_idx_labels(&dir.join("train-labels-idx1-ubyte"), &[0, 9, 4]).unwrap();
        let (train, test) = read_mnist_dir(&dir).unwrap();
        assert!(test.is_none());
        assert_eq!((train.len(), train.n_features, train.n_classes()), (3, 4, Some(10)));
        assert_eq!(train.targets, vec![0.0, 9.0, 4.0]);
        assert_eq!(train.feature_names[3], "pixel3");
        assert_eq!((train.target_name.as_str(), train.features[0]), ("label", 1.0));

        let t10k = dir.join("t10k-images-idx3-ubyte");
        write_idx_images(&t10k, 1, 2, 2, &[0; 4]).unwrap();
        std::fs::write(dir.join("t10k-images-idx3-ubyte.gz"), gzip(&std::fs::read(&t10k).unwrap())).unwrap();
        std::fs::remove_file(&t10k).unwrap();
        let mut labels = Vec::new();
        write_idx_labels(&dir.join("l"), &[5]).unwrap();
        labels.extend(std::fs::read(dir.join("l")).unwrap());
        std::fs::write(dir.join("t10k-labels-idx1-ubyte.gz"), gzip(&labels)).unwrap();
        let (_, test) = read_mnist_dir(&dir).unwrap();
        assert_eq!(test.map(|t| t.targets), Some(vec![5.0]));

        write_idx_labels(&dir.join("train-labels-idx1-ubyte"), &[0, 12, 4]).unwrap();
        let e = err(read_mnist_dir(&dir));
        assert!(e.contains("train-labels-idx1-ubyte:sample 1: label 12 is not a digit"), "{e}");
        write_idx_labels(&dir.join("train-labels-idx1-ubyte"), &[0, 1]).unwrap();
        let e = err(read_mnist_dir(&dir));
        assert!(e.contains("has 2 labels but") && e.contains("has 3 images"), "{e}");
        assert!(matches!(read_mnist_dir(&dir.join("nope")), Err(Error::Io { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_files() {
        let dir = tmp("malformed");
        let p = dir.join("f");
        let case = |bytes: &[u8]| {
            std::fs::write(&p, bytes).unwrap();
            err(read_idx_images(&p))
        };
        let labels_file = [0, 0, 8, 1, 0, 0, 0, 1, 4];
        let e = case(&labels_file);
        assert!(
            e.contains("f:header: wrong magic number: expected 0x00000803") && e.contains("found 0x00000801"),
            "{e}"
        );
        assert!(case(&[0, 0, 8]).contains("truncated header: expected 16 bytes, found 3"));
        assert!(case(&[0, 0, 8, 3, 0, 0, 0, 1, 0]).contains("truncated header: expected 16 bytes, found 9"));
        let mut img = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2];
        img.extend([1; 7]);
        assert!(case(&img).contains("f:data: truncated data: expected 8 bytes for shape 2x2x2, found 7"));
        img.extend([1; 2]);
        assert!(case(&img).contains("1 unexpected bytes"));
        assert!(case(&[0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2]).contains("contains 0 samples"));
        assert!(case(&[0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]).contains("empty dimension"));
        let mut gz = gzip(&labels_file);
        gz.truncate(gz.len() - 6);
        assert!(case(&gz).contains("corrupt gzip data"));
        assert!(case(&[0x1f, 0x8b, 1, 2, 3, 4, 5]).contains("corrupt gzip data"));
        std::fs::write(&p, [0, 0, 8, 3]).unwrap();
        assert!(err(read_idx_labels(&p)).contains("expected 0x00000801 (u8 labels [n]), found 0x00000803"));
        assert!(matches!(read_idx_labels(&dir.join("missing")), Err(Error::Io { .. })));
        assert!(err(read_idx_labels(&dir)).contains("is a directory"));
        assert!(matches!(write_idx_images(&p, 2, 2, 2, &[0; 7]), Err(Error::Config { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
