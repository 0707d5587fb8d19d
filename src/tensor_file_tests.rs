//! Tests of `checkpoint`: round trips, every kind of malformed file, and bitwise u64 packing.

use super::*;
use std::fs;
use std::path::PathBuf;

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wgtrain-ckpt-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn tensor(name: &str, shape: &[usize], data: &[f32]) -> NamedTensor {
    NamedTensor { name: name.into(), shape: shape.to_vec(), data: data.to_vec() }
}

fn sample() -> Vec<NamedTensor> {
    vec![
        tensor("w1", &[2, 3], &[1.0, -2.0, 3.5, f32::MIN_POSITIVE, f32::MAX, -0.0]),
        tensor("b1", &[3], &[0.1, 0.2, 0.3]),
        tensor("scalar", &[], &[42.0]),
        tensor("empty", &[0, 4], &[]),
    ]
}

fn parse_reason(err: Error) -> (Option<String>, String) {
    match err {
        Error::Parse { location, reason, .. } => (location, reason),
        other => panic!("expected a parse error, got {other}"),
    }
}

#[test]
fn round_trip_with_metadata_sorted_by_name() {
    let dir = scratch("rt");
    let path = dir.join("m.safetensors");
    let meta: BTreeMap<String, String> =
        [("arch".to_string(), "mlp 4-8-3".to_string()), ("epoch".into(), "7".into())].into();
    save_tensors(&path, &sample(), &meta).unwrap();
    let (tensors, got_meta) = load_tensors(&path).unwrap();
    let mut want = sample();
    want.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(tensors.len(), want.len());
    for (g, w) in tensors.iter().zip(&want) {
        assert_eq!((&g.name, &g.shape), (&w.name, &w.shape));
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&g.data), bits(&w.data), "{}", g.name);
    }
    assert_eq!(got_meta, meta);
    save_tensors(&path, &[], &BTreeMap::new()).unwrap();
    assert_eq!(load_tensors(&path).unwrap(), (vec![], BTreeMap::new()));
    // The atomic write leaves only the target behind.
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn save_rejects_inconsistent_tensors() {
    let dir = scratch("bad-save");
    let path = dir.join("m.safetensors");
    let err = save_tensors(&path, &[tensor("w", &[2, 2], &[1.0; 3])], &BTreeMap::new()).unwrap_err();
    assert!(matches!(&err, Error::Shape { detail, .. } if detail.contains("`w`")), "{err}");
    let dup = [tensor("w", &[1], &[1.0]), tensor("w", &[1], &[2.0])];
    assert!(matches!(save_tensors(&path, &dup, &BTreeMap::new()), Err(Error::Config { .. })));
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_truncation_and_garbage_is_an_error() {
    let dir = scratch("trunc");
    let good = dir.join("good.safetensors");
    save_tensors(&good, &sample(), &[("k".to_string(), "v".to_string())].into()).unwrap();
    let bytes = fs::read(&good).unwrap();
    let bad = dir.join("bad.safetensors");
    for len in 0..bytes.len() {
        fs::write(&bad, &bytes[..len]).unwrap();
        let err = load_tensors(&bad).unwrap_err();
        assert!(matches!(&err, Error::Parse { path, .. } if path == &bad), "len {len}: {err}");
    }
    let (_, reason) = parse_reason(load_tensors(&bad).unwrap_err());
    assert!(reason.contains("truncated"), "{reason}");
    // One byte too many is caught by the crate's coverage check.
    fs::write(&bad, [&bytes[..], &[0]].concat()).unwrap();
    assert!(matches!(load_tensors(&bad), Err(Error::Parse { .. })));

    for garbage in [&b""[..], b"hello", b"\x10\0\0\0\0\0\0\0not json at all!", b"\x02\0\0\0\0\0\0\0[]"] {
        fs::write(&bad, garbage).unwrap();
        let (_, reason) = parse_reason(load_tensors(&bad).unwrap_err());
        assert!(reason.contains("not a safetensors file"), "{garbage:?}: {reason}");
    }
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    fs::write(&bad, &huge).unwrap();
    let (_, reason) = parse_reason(load_tensors(&bad).unwrap_err());
    assert!(reason.contains("header too large"), "{reason}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_entries_are_named() {
    let dir = scratch("entries");
    let bad = dir.join("bad.safetensors");
    let write_header = |header: &str, data_len: usize| {
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        b.resize(b.len() + data_len, 0);
        fs::write(&bad, b).unwrap();
    };
    let cases = [
        (r#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#, 12, "needs 16 bytes"),
        (r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, 8, "needs 8 bytes"),
        (r#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, 4, "malformed entry"),
        (r#"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, 4, "overflows"),
        (r#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, 8, "truncated"),
        (r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, 8, "invalid offset"),
        (r#"{"w":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#, 4, "dtype I32 is not supported"),
    ];
    for (header, data_len, want) in cases {
        write_header(header, data_len);
        let (location, reason) = parse_reason(load_tensors(&bad).unwrap_err());
        assert_eq!(location.as_deref(), Some("w"), "{header}: {reason}");
        assert!(reason.contains(want), "{header}: {reason}");
    }
    write_header(r#"{"__metadata__":{"a":1}}"#, 0);
    let (location, _) = parse_reason(load_tensors(&bad).unwrap_err());
    assert_eq!(location.as_deref(), Some("__metadata__"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn f64_tensor_written_by_the_crate_is_rejected_by_name() {
    let dir = scratch("f64");
    let path = dir.join("f64.safetensors");
    let data: Vec<u8> = [1.0f64, 2.0].iter().flat_map(|x| x.to_le_bytes()).collect();
    let view = TensorView::new(Dtype::F64, vec![2], &data).unwrap();
    fs::write(&path, safetensors::serialize([("layer.weight", view)], None).unwrap()).unwrap();
    let err = load_tensors(&path).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(":layer.weight:") && msg.contains("F64"), "{msg}");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_file_and_directory_are_io_errors() {
    let dir = scratch("io");
    assert!(matches!(load_tensors(&dir.join("nope.safetensors")), Err(Error::Io { .. })));
    assert!(matches!(load_tensors(&dir), Err(Error::Io { .. })));
    assert!(matches!(save_tensors(&dir, &[], &BTreeMap::new()), Err(Error::Io { .. })));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn u64s_survive_a_file_bitwise() {
    // 0x7FC0_0001 and 0xFF80_0001 are NaN patterns: they must come back untouched.
    let values = [0, 1, u64::MAX, 0x7FC0_0001_FF80_0001, 0x0123_4567_89AB_CDEF, 1 << 63];
    let packed = pack_u64s(&values);
    assert_eq!(packed.len(), 2 * values.len());
    let dir = scratch("u64");
    let path = dir.join("rng.safetensors");
    save_tensors(&path, &[tensor("rng", &[values.len(), 2], &packed)], &BTreeMap::new()).unwrap();
    let (tensors, _) = load_tensors(&path).unwrap();
    assert_eq!(unpack_u64s(&tensors[0].data), values);
    assert_eq!(unpack_u64s(&packed[..3]), values[..1]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn same_tensors_and_metadata_give_identical_bytes() {
    let dir = scratch("bytes");
    // Thirty keys: the crate's HashMap would order them differently on almost every save.
    let meta: BTreeMap<String, String> = (0..30).map(|i| (format!("key{i}"), format!("value {i}"))).collect();
    let files: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            let path = dir.join(format!("m{i}.safetensors"));
            save_tensors(&path, &sample(), &meta).unwrap();
            fs::read(&path).unwrap()
        })
        .collect();
    assert!(files.windows(2).all(|w| w[0] == w[1]), "the same model was written with different bytes");
    let n = u64::from_le_bytes(files[0][..8].try_into().unwrap()) as usize;
    assert_eq!(n % 8, 0, "header stays 8-byte aligned");
    let header = std::str::from_utf8(&files[0][8..8 + n]).unwrap();
    assert!(header.find("\"key0\"").unwrap() < header.find("\"key1\"").unwrap(), "{header}");
    assert_eq!(load_tensors(&dir.join("m0.safetensors")).unwrap().1, meta);
    fs::remove_dir_all(&dir).unwrap();
}
