//! `wgtrain._native`: the small Rust surface the Python package calls. Everything that touches the library lives
//! in these few files (device, network, group, model file, table), so a change of the library's internals is
//! absorbed here; the scikit-learn semantics live in the pure-Python part (`wgtrain/`).

use pyo3::prelude::*;

mod convert;
mod device;
mod group;
mod model_file;
mod net;
mod table;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(device::devices, m)?)?;
    m.add_function(wrap_pyfunction!(device::device_name, m)?)?;
    m.add_function(wrap_pyfunction!(model_file::save_model, m)?)?;
    m.add_function(wrap_pyfunction!(model_file::load_model, m)?)?;
    m.add_function(wrap_pyfunction!(model_file::model_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(table::fit_table, m)?)?;
    m.add_function(wrap_pyfunction!(table::transform_table, m)?)?;
    m.add_function(wrap_pyfunction!(table::table_feature_names, m)?)?;
    m.add_class::<net::Net>()?;
    m.add_class::<net::Data>()?;
    m.add_class::<group::Group>()?;
    Ok(())
}
