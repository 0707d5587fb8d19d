//! One launcher per shader file: each checks shapes, writes its parameter uniform once, and returns a
//! [`Dispatch`](crate::kernel::Dispatch) that can be recorded every step.

pub mod activation;
pub mod gather;
pub mod loss;
pub mod matmul;
pub mod matmul_kernel;
pub mod optim;
pub mod reduce;
pub mod step;
pub mod transpose;
pub mod tune;

use crate::error::{Error, Result};
use crate::tensor::View;

/// Fails with a shape error unless `view` holds at least `need` elements.
pub(crate) fn need(op: &'static str, name: &str, view: &View<'_>, need: usize) -> Result<()> {
    if view.len < need {
        return Err(Error::Shape { op, detail: format!("{name} has {} elements, needs {need}", view.len) });
    }
    Ok(())
}

/// Fails unless a dimension is at least 1.
pub(crate) fn positive(op: &'static str, name: &str, v: usize) -> Result<()> {
    if v == 0 {
        return Err(Error::Shape { op, detail: format!("{name} must be at least 1") });
    }
    Ok(())
}

/// Converts a size to the u32 the kernels index with.
pub(crate) fn to_u32(op: &'static str, name: &str, v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::Shape { op, detail: format!("{name} = {v} exceeds u32") })
}

#[cfg(test)]
mod layout_tests;
