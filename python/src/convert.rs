//! Conversions between Python and the library: errors to Python exceptions, float32 bytes to slices, and the
//! interruptible run that releases the GIL while the device trains.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use wgtrain::error::Error;

/// How often the waiting thread looks for a pending Ctrl-C while the device trains.
const SIGNAL_POLL: Duration = Duration::from_millis(25);

/// A library error as the Python exception a caller expects: bad values and shapes are ValueError, files OSError,
/// an interruption KeyboardInterrupt, the device RuntimeError.
pub fn py_err(e: Error) -> PyErr {
    match e {
        Error::Config { .. } | Error::Shape { .. } | Error::Parse { .. } | Error::Limit { .. } => {
            PyValueError::new_err(e.to_string())
        }
        Error::Io { .. } => PyOSError::new_err(e.to_string()),
        Error::Interrupted { .. } => PyKeyboardInterrupt::new_err(e.to_string()),
        _ => PyRuntimeError::new_err(e.to_string()),
    }
}

/// Little-endian float32 bytes (numpy's `tobytes()` of a float32 array) as floats; copied, since Python's
/// buffer need not be 4-byte aligned.
pub fn floats(bytes: &[u8], what: &str) -> PyResult<Vec<f32>> {
    if bytes.len() % 4 != 0 {
        return Err(PyValueError::new_err(format!("{what}: {} bytes is not a whole number of float32", bytes.len())));
    }
    Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// Little-endian uint32 bytes as indices.
pub fn indices(bytes: &[u8], what: &str) -> PyResult<Vec<u32>> {
    if bytes.len() % 4 != 0 {
        return Err(PyValueError::new_err(format!("{what}: {} bytes is not a whole number of uint32", bytes.len())));
    }
    Ok(bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// Floats as little-endian bytes for numpy's `frombuffer`.
pub fn to_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Runs `work` on a helper thread with the GIL released, while this (the calling) thread polls for signals: a
/// Ctrl-C sets `stop` (which `work` checks between steps), waits for `work` to end, and raises KeyboardInterrupt.
pub fn run_interruptible<R: Send>(
    py: Python<'_>,
    stop: &AtomicBool,
    work: impl FnOnce() -> Result<R, Error> + Send,
) -> PyResult<R> {
    stop.store(false, Ordering::SeqCst);
    let (outcome, signal) = py.detach(|| {
        std::thread::scope(|s| {
            let handle = s.spawn(work);
            let mut signal = None;
            while !handle.is_finished() {
                std::thread::sleep(SIGNAL_POLL);
                if signal.is_none() {
                    if let Err(e) = Python::attach(|py| py.check_signals()) {
                        stop.store(true, Ordering::SeqCst);
                        signal = Some(e);
                    }
                }
            }
            (handle.join(), signal)
        })
    });
    if let Some(e) = signal {
        return Err(e);
    }
    match outcome {
        Ok(r) => r.map_err(py_err),
        Err(_) => Err(PyRuntimeError::new_err("the training thread panicked")),
    }
}
