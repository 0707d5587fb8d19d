//! DataFrames with text or category columns through the library's table preprocessor (the CLI's encoding:
//! one-hot levels, imputed gaps with indicator columns, unseen levels as zeros), fitted once and stored with the
//! model as JSON.

use std::path::PathBuf;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use wgtrain::data::csv::TargetKind;
use wgtrain::data::preprocess::{PreprocessOptions, Preprocessor, TargetEncoding};
use wgtrain::data::table::Table;

use crate::convert::{py_err, to_bytes};

/// The target column's name in the tables built here; the estimator's own `y` is encoded on the Python side.
const TARGET: &str = "target";

/// A table of text cells (missing cells as empty strings) with a constant target column appended, so the
/// preprocessor, which expects one, sees only features.
fn table(header: Vec<String>, rows: Vec<Vec<String>>) -> PyResult<Table> {
    if header.iter().any(|h| h == TARGET) {
        return Err(PyValueError::new_err(format!("a feature column may not be called {TARGET:?}")));
    }
    let mut full = header;
    full.push(TARGET.to_string());
    let rows = rows
        .into_iter()
        .enumerate()
        .map(|(i, mut r)| {
            r.push("0".to_string());
            (i + 2, r)
        })
        .collect();
    let t = Table { path: PathBuf::from("DataFrame"), header: full, rows };
    t.check().map_err(py_err)?;
    Ok(t)
}

/// Fits the preprocessor on the columns `header` and rows of text cells; returns it as JSON. Numeric columns are
/// standardised when `normalize`.
#[pyfunction]
pub fn fit_table(header: Vec<String>, rows: Vec<Vec<String>>, normalize: bool) -> PyResult<String> {
    let t = table(header, rows)?;
    let opts = PreprocessOptions {
        target: Some(TARGET.to_string()),
        kind: TargetKind::Value,
        normalize: false,
        ..PreprocessOptions::default()
    };
    let mut pre = Preprocessor::fit(&t, &opts).map_err(py_err)?;
    if normalize {
        // Only the features: the target here is a placeholder.
        let with_scaling = PreprocessOptions { normalize: true, ..opts };
        pre = Preprocessor::fit(&t, &with_scaling).map_err(py_err)?;
    }
    pre.target_encoding = TargetEncoding::Value { center: 0.0, scale: 1.0 };
    serde_json::to_string(&pre).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Parses a preprocessor's JSON.
fn parse(json: &str) -> PyResult<Preprocessor> {
    serde_json::from_str(json).map_err(|e| PyValueError::new_err(format!("preprocessor: {e}")))
}

/// Encoded features (float32 bytes) and the count of unseen levels per column.
type Encoded<'py> = (Bound<'py, PyBytes>, Vec<(String, usize)>);

/// Encodes rows of text cells with a fitted preprocessor: (float32 bytes [rows, features], unseen-level counts per
/// column).
#[pyfunction]
pub fn transform_table<'py>(
    py: Python<'py>,
    json: &str,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
) -> PyResult<Encoded<'py>> {
    let pre = parse(json)?;
    let (data, report) = pre.transform(&table(header, rows)?, false).map_err(py_err)?;
    Ok((PyBytes::new(py, &to_bytes(&data.features)), report.unseen))
}

/// The model-input names of a fitted preprocessor (`col`, `col (missing)`, `col=level`, `col=(missing)`).
#[pyfunction]
pub fn table_feature_names(json: &str) -> PyResult<Vec<String>> {
    Ok(parse(json)?.feature_names())
}
