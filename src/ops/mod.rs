//! One launcher per shader file: each checks shapes, writes its parameter uniform once, and returns a
//! [`Dispatch`](crate::kernel::Dispatch) that can be recorded every step.

pub mod activation;
pub mod cast_f16;
pub mod gather;
pub mod half;
pub mod loss;
pub mod loss_scale;
pub mod matmul;
pub mod matmul_kernel;
pub mod matmul_shape;
pub mod matmul_wide;
pub mod optim;
pub mod reduce;
pub mod step;
pub mod transpose;
pub mod tune;
pub mod weight_l2;

use crate::error::{Error, Result};
use crate::tensor::View;

/// Where each model's data lies in a model-batched launch of a loss, reduction or transpose: `count` models (the
/// launch's z extent), model m's input `input`·m elements and its output `output`·m elements past model 0's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Models {
    /// Number of models.
    pub count: usize,
    /// Elements between consecutive models' inputs.
    pub input: usize,
    /// Elements between consecutive models' outputs.
    pub output: usize,
}

impl Models {
    /// One model: an ordinary launch.
    pub const ONE: Models = Models { count: 1, input: 0, output: 0 };

    /// Elements a view must hold for every model when one model needs `one`, at `stride` apart.
    pub fn span(&self, stride: usize, one: usize) -> usize {
        (self.count.max(1) - 1) * stride + one
    }

    /// Checks the count, and that consecutive models' outputs of `one` elements do not overlap.
    pub(crate) fn check(&self, op: &'static str, one_output: usize) -> Result<()> {
        positive(op, "models", self.count)?;
        if self.count > 1 && self.output < one_output {
            let detail = format!("{} models' outputs of {one_output} overlap at stride {}", self.count, self.output);
            return Err(Error::Shape { op, detail });
        }
        Ok(())
    }
}

/// Fails with a shape error unless `view` holds at least `need` elements.
pub(crate) fn need(op: &'static str, name: &str, view: &View<'_>, need: usize) -> Result<()> {
    if view.len < need {
        return Err(Error::Shape { op, detail: format!("{name} has {} elements, needs {need}", view.len) });
    }
    Ok(())
}

/// Fails with a shape error unless `view` (counted in 4-byte words, as every view is) holds `need` f16 values,
/// two to a word.
pub(crate) fn need_f16(op: &'static str, name: &str, view: &View<'_>, need: usize) -> Result<()> {
    if view.len * 2 < need {
        let detail = format!("{name} holds {} f16 elements ({} words), needs {need}", view.len * 2, view.len);
        return Err(Error::Shape { op, detail });
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
