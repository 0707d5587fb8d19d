//! The CLI's model file (safetensors, see `wgtrain::saved`) to and from a Python dict, so `est.save(path)`,
//! `wgtrain.load(path)` and pickling share one format with `wgtrain eval` / `wgtrain predict`.

use std::path::Path;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use wgtrain::data::preprocess::Preprocessor;
use wgtrain::saved::SavedModel;
use wgtrain::Loss;

use crate::convert::{floats, py_err, to_bytes};
use crate::net::model_config;

/// The value under `key` of a model dict.
fn field<'py, T: FromPyObjectOwned<'py>>(spec: &Bound<'py, PyDict>, key: &str) -> PyResult<T> {
    match spec.get_item(key)? {
        Some(v) => v.extract::<T>().map_err(|e| {
            let e: PyErr = e.into();
            PyValueError::new_err(format!("model field {key:?}: {e}"))
        }),
        None => Err(PyValueError::new_err(format!("model field {key:?} is missing"))),
    }
}

/// A SavedModel from the dict the Python side builds (input, hidden, output, activation, loss, params as float32
/// bytes, classes or None, feature_names, target_name, preprocessor as JSON or None).
fn saved_from(spec: &Bound<'_, PyDict>) -> PyResult<SavedModel> {
    let model = model_config(
        field(spec, "input")?,
        field(spec, "hidden")?,
        field(spec, "output")?,
        &field::<String>(spec, "activation")?,
    )?;
    let params = floats(&field::<Vec<u8>>(spec, "params")?, "params")?;
    if params.len() != model.layout().len {
        return Err(PyValueError::new_err("params do not fit the architecture"));
    }
    let preprocessor = match field::<Option<String>>(spec, "preprocessor")? {
        Some(json) => Some(
            serde_json::from_str::<Preprocessor>(&json)
                .map_err(|e| PyValueError::new_err(format!("preprocessor: {e}")))?,
        ),
        None => None,
    };
    Ok(SavedModel {
        model,
        loss: Loss::parse(&field::<String>(spec, "loss")?).map_err(py_err)?,
        params,
        classes: field(spec, "classes")?,
        feature_names: field(spec, "feature_names")?,
        target_name: field(spec, "target_name")?,
        normalizer: None,
        preprocessor,
    })
}

/// Writes the model file at `path` (atomically) from a model dict.
#[pyfunction]
pub fn save_model(py: Python<'_>, path: std::path::PathBuf, spec: &Bound<'_, PyDict>) -> PyResult<()> {
    let saved = saved_from(spec)?;
    py.detach(|| saved.save(&path)).map_err(py_err)
}

/// The bytes of the model file for a model dict (what pickling stores).
#[pyfunction]
pub fn model_bytes<'py>(py: Python<'py>, spec: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = saved_from(spec)?.to_bytes(Path::new("model.safetensors")).map_err(py_err)?;
    Ok(PyBytes::new(py, &bytes))
}

/// A model dict from a model file's bytes (`name` names the file in errors), or from the file at `path`.
#[pyfunction]
#[pyo3(signature = (path=None, data=None))]
pub fn load_model<'py>(
    py: Python<'py>,
    path: Option<std::path::PathBuf>,
    data: Option<Vec<u8>>,
) -> PyResult<Bound<'py, PyDict>> {
    let saved = match (path, data) {
        (Some(p), None) => py.detach(|| SavedModel::load(&p)).map_err(py_err)?,
        (None, Some(b)) => SavedModel::from_bytes(Path::new("pickled model"), &b).map_err(py_err)?,
        _ => return Err(PyValueError::new_err("load_model takes a path or bytes")),
    };
    let d = PyDict::new(py);
    d.set_item("input", saved.model.input)?;
    let hidden = &saved.model.layers[..saved.model.layers.len().saturating_sub(1)];
    d.set_item("hidden", hidden.to_vec())?;
    d.set_item("output", saved.model.output())?;
    d.set_item("activation", format!("{:?}", saved.model.activation).to_ascii_lowercase())?;
    d.set_item("loss", saved.loss.name())?;
    d.set_item("params", PyBytes::new(py, &to_bytes(&saved.params)))?;
    d.set_item("classes", saved.classes.clone())?;
    d.set_item("feature_names", saved.feature_names.clone())?;
    d.set_item("target_name", saved.target_name.clone())?;
    let pre = match &saved.preprocessor {
        Some(p) => Some(serde_json::to_string(p).map_err(|e| PyValueError::new_err(e.to_string()))?),
        None => None,
    };
    d.set_item("preprocessor", pre)?;
    Ok(d)
}
