//! Launcher for shaders/weight_l2.wgsl.

use std::sync::Arc;

use super::{need, positive, to_u32};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
use crate::shaders::{self, prelude::WG_ELEMENTWISE};
use crate::tensor::{uniform, View};

/// Mirrors `struct WeightL2Params` in shaders/weight_l2.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct WeightL2Params {
    /// Elements of one model's weight slice.
    pub len: u32,
    /// Elements between consecutive models' slices.
    pub stride: u32,
    /// Number of models.
    pub models: u32,
    /// Padding to 16 bytes.
    pub _pad: u32,
}

/// dw[m·stride + j] += coef[m]·w[m·stride + j] for every model m < `models` and j < `len`: the weights-only L2
/// penalty's gradient added to each model's weight gradient (coef[m] = alpha_m / rows).
pub fn weight_l2(
    gpu: &Gpu,
    coef: View<'_>,
    w: View<'_>,
    dw: View<'_>,
    len: usize,
    stride: usize,
    models: usize,
) -> Result<Dispatch> {
    const OP: &str = "weight_l2";
    positive(OP, "len", len)?;
    positive(OP, "models", models)?;
    if models > 1 && stride < len {
        let detail = format!("{models} models' slices of {len} overlap at stride {stride}");
        return Err(Error::Shape { op: OP, detail });
    }
    let span = (models - 1) * stride + len;
    need(OP, "coef", &coef, models)?;
    need(OP, "w", &w, span)?;
    need(OP, "dw", &dw, span)?;
    let items = to_u32(OP, "len·models", len * models)?;
    let p = WeightL2Params {
        len: to_u32(OP, "len", len)?,
        stride: to_u32(OP, "stride", stride)?,
        models: models as u32,
        _pad: 0,
    };
    let kernel = gpu.kernel(&shaders::WEIGHT_L2, OP)?;
    let params = uniform(gpu, OP, &p);
    let res = [params.as_entire_binding(), coef.binding(), w.binding(), dw.binding()];
    Dispatch::new(gpu, Arc::clone(&kernel), &res, u64::from(items).div_ceil(u64::from(WG_ELEMENTWISE)))
}
