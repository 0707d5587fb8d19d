//! Safetensors I/O for named f32 tensors, with errors that name the file and the offending tensor.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::Path;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensorError, SafeTensors};
use serde::Deserialize;

use crate::error::{Error, Result};
#[cfg(not(target_arch = "wasm32"))]
use crate::internal::atomic_file::write_atomic;

/// One f32 tensor in row-major order: `data.len()` = product of `shape` (1 for a scalar).
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    /// Unique name within a file.
    pub name: String,
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<f32>,
}

/// The safetensors crate's own header limit; checked here first to report it with the path.
const MAX_HEADER: u64 = 100_000_000;

/// A header entry as written on disk, parsed leniently so that a bad entry can be named.
#[derive(Deserialize)]
struct RawInfo {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: (usize, usize),
}

/// Writes `tensors` (F32, little-endian) and string `metadata` to `path` atomically.
#[cfg(not(target_arch = "wasm32"))]
pub fn save_tensors(path: &Path, tensors: &[NamedTensor], metadata: &BTreeMap<String, String>) -> Result<()> {
    write_atomic(path, &encode_tensors(path, tensors, metadata)?)
}

/// The safetensors bytes [`save_tensors`] writes (a download in a browser); `path` only names the file in errors.
pub fn encode_tensors(path: &Path, tensors: &[NamedTensor], metadata: &BTreeMap<String, String>) -> Result<Vec<u8>> {
    let mut seen = BTreeSet::new();
    for t in tensors {
        if t.name == "__metadata__" || !seen.insert(t.name.as_str()) {
            return Err(Error::config(format!("tensor {}", t.name), "the name is reserved or used twice"));
        }
        if numel(&t.shape) != Some(t.data.len()) {
            let detail = format!("tensor `{}` has shape {:?} but {} values", t.name, t.shape, t.data.len());
            return Err(Error::Shape { op: "save_tensors", detail });
        }
    }
    let bytes: Vec<Vec<u8>> = tensors.iter().map(|t| t.data.iter().flat_map(|x| x.to_le_bytes()).collect()).collect();
    let encode_err = |e: SafeTensorError| {
        Error::io(path, io::Error::new(io::ErrorKind::InvalidData, format!("cannot encode safetensors: {e}")))
    };
    let mut views = Vec::with_capacity(tensors.len());
    for (t, b) in tensors.iter().zip(&bytes) {
        views.push((t.name.as_str(), TensorView::new(Dtype::F32, t.shape.clone(), b).map_err(encode_err)?));
    }
    // Writers conventionally leave `__metadata__` out when there is none.
    let meta: Option<HashMap<String, String>> =
        (!metadata.is_empty()).then(|| metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    let buf = safetensors::serialize(views, meta).map_err(encode_err)?;
    Ok(canonical_header(buf))
}

/// Rewrites the JSON header with every object's keys sorted, so the same tensors and metadata give the same bytes:
/// the crate serialises the metadata from a `HashMap`, whose order changes from run to run.
fn canonical_header(buf: Vec<u8>) -> Vec<u8> {
    let Some(prefix) = buf.first_chunk::<8>() else { return buf };
    let Ok(n) = usize::try_from(u64::from_le_bytes(*prefix)) else { return buf };
    let Some(header) = buf.get(8..8 + n) else { return buf };
    // serde_json's Map is a BTreeMap (no preserve_order feature), so re-serialising sorts every key.
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(header) else { return buf };
    let Ok(mut text) = serde_json::to_vec(&value) else { return buf };
    // Same content, so the same length; padded to 8 bytes with spaces as the crate does, in case it ever differs.
    text.resize(text.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + text.len() + buf.len() - 8 - n);
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(&text);
    out.extend_from_slice(&buf[8 + n..]);
    out
}

/// Reads an F32-only safetensors file; tensors come back sorted by name, with the `__metadata__` map.
#[cfg(not(target_arch = "wasm32"))]
pub fn load_tensors(path: &Path) -> Result<(Vec<NamedTensor>, BTreeMap<String, String>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_tensors(path, &bytes)
}

/// Parses the bytes of an F32-only safetensors file, as [`load_tensors`]; `path` only names the file in errors.
pub fn decode_tensors(path: &Path, bytes: &[u8]) -> Result<(Vec<NamedTensor>, BTreeMap<String, String>)> {
    let infos = check_header(path, bytes)?;
    // The crate re-validates what we did not: offsets contiguous from 0 and no trailing bytes.
    let (n, header) = SafeTensors::read_metadata(bytes).map_err(|e| {
        let location = match &e {
            SafeTensorError::InvalidOffset(name) => Some(name.clone()),
            _ => None,
        };
        Error::parse(path, location, e.to_string())
    })?;
    let data = &bytes[8 + n..];
    let mut tensors = Vec::with_capacity(infos.len());
    for (name, info) in infos {
        let (start, end) = info.data_offsets;
        let raw = data.get(start..end).ok_or_else(|| Error::parse(path, Some(name.clone()), "data out of bounds"))?;
        let values = raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        tensors.push(NamedTensor { name, shape: info.shape, data: values });
    }
    let metadata =
        header.metadata().as_ref().map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
    Ok((tensors, metadata))
}

fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Validates the length prefix and every tensor entry, naming the tensor at fault.
fn check_header(path: &Path, bytes: &[u8]) -> Result<BTreeMap<String, RawInfo>> {
    let fail = |location: Option<&str>, reason: String| Error::parse(path, location.map(str::to_owned), reason);
    let Some(prefix) = bytes.first_chunk::<8>() else {
        let reason = format!("not a safetensors file: {} bytes is shorter than the 8-byte header length", bytes.len());
        return Err(fail(None, reason));
    };
    let n = u64::from_le_bytes(*prefix);
    if n > MAX_HEADER {
        return Err(fail(None, format!("header too large: it claims {n} bytes, the limit is {MAX_HEADER}")));
    }
    // n ≤ 1e8 so the cast and the addition cannot overflow.
    let header_end = 8 + n as usize;
    let Some(header) = bytes.get(8..header_end) else {
        let reason = format!("truncated: the header claims {n} bytes but only {} follow", bytes.len() - 8);
        return Err(fail(None, reason));
    };
    let entries: BTreeMap<String, serde_json::Value> = std::str::from_utf8(header)
        .map_err(|e| e.to_string())
        .and_then(|s| serde_json::from_str(s).map_err(|e| e.to_string()))
        .map_err(|e| fail(None, format!("not a safetensors file: the header is not a JSON object ({e})")))?;
    let mut infos = BTreeMap::new();
    for (name, value) in entries {
        let at = Some(name.as_str());
        if name == "__metadata__" {
            serde_json::from_value::<HashMap<String, String>>(value)
                .map_err(|e| fail(at, format!("must map strings to strings ({e})")))?;
            continue;
        }
        let info: RawInfo = serde_json::from_value(value).map_err(|e| fail(at, format!("malformed entry: {e}")))?;
        if info.dtype != "F32" {
            return Err(fail(at, format!("dtype {} is not supported; only F32 tensors can be loaded", info.dtype)));
        }
        let (start, end) = info.data_offsets;
        let need = numel(&info.shape)
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(|| fail(at, format!("shape {:?} overflows", info.shape)))?;
        if end < start || end - start != need {
            let reason = format!("shape {:?} needs {need} bytes but data_offsets are [{start}, {end}]", info.shape);
            return Err(fail(at, reason));
        }
        if end > bytes.len() - header_end {
            let reason = format!("truncated: data ends at byte {} but the file has {}", header_end + end, bytes.len());
            return Err(fail(at, reason));
        }
        infos.insert(name, info);
    }
    Ok(infos)
}

/// Packs u64s bitwise into f32 pairs (low half, high half) so RNG state and counters fit in an F32 file.
///
/// f32 cannot hold a u64 by value (24-bit mantissa), but `f32::from_bits`/`to_bits` and the little-endian
/// bytes on disk preserve every 32-bit pattern, NaN payloads included, as long as nothing does arithmetic on them.
pub fn pack_u64s(values: &[u64]) -> Vec<f32> {
    values.iter().flat_map(|&v| [f32::from_bits(v as u32), f32::from_bits((v >> 32) as u32)]).collect()
}

/// Inverse of [`pack_u64s`]: u64 = bits(p[2i]) | bits(p[2i+1]) << 32; an odd trailing element is ignored.
pub fn unpack_u64s(packed: &[f32]) -> Vec<u64> {
    packed.chunks_exact(2).map(|p| u64::from(p[0].to_bits()) | (u64::from(p[1].to_bits()) << 32)).collect()
}

#[cfg(test)]
#[path = "tensor_file_tests.rs"]
mod tests;
