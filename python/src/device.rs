//! One device per process and adapter request, created on first use and shared by every estimator.

use std::sync::Mutex;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use wgtrain::gpu::{list_adapters, GpuOptions};
use wgtrain::Gpu;

use crate::convert::py_err;

/// Devices opened so far, by the adapter substring asked for (None = the library's choice). Leaked on purpose:
/// a device lives as long as the process, so networks can borrow it for 'static.
static DEVICES: Mutex<Vec<(Option<String>, &'static Gpu)>> = Mutex::new(Vec::new());

/// The shared device for `adapter` (a case-insensitive substring of the adapter's name), opened on first use.
pub fn gpu(py: Python<'_>, adapter: Option<&str>) -> PyResult<&'static Gpu> {
    let key = adapter.map(str::to_ascii_lowercase).filter(|a| !a.is_empty());
    let mut devices = DEVICES.lock().map_err(|_| PyRuntimeError::new_err("device registry poisoned"))?;
    if let Some((_, g)) = devices.iter().find(|(k, _)| *k == key) {
        return Ok(g);
    }
    let mut opts = GpuOptions::from_env().map_err(py_err)?;
    if key.is_some() {
        opts.adapter = key.clone();
    }
    let g: &'static Gpu = Box::leak(Box::new(py.detach(|| Gpu::with_options(&opts)).map_err(py_err)?));
    devices.push((key, g));
    Ok(g)
}

/// Every adapter wgpu can see: dicts with name, backend, device_type and driver.
#[pyfunction]
pub fn devices(py: Python<'_>) -> Vec<std::collections::BTreeMap<&'static str, String>> {
    py.detach(list_adapters)
        .into_iter()
        .map(|a| {
            [("name", a.name), ("backend", a.backend), ("device_type", a.device_type), ("driver", a.driver)]
                .into_iter()
                .collect()
        })
        .collect()
}

/// The name of the adapter the shared device for `adapter` runs on (opening it if needed).
#[pyfunction]
#[pyo3(signature = (adapter=None))]
pub fn device_name(py: Python<'_>, adapter: Option<&str>) -> PyResult<String> {
    Ok(gpu(py, adapter)?.adapter().name.clone())
}
