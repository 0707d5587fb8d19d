//! Launcher for shaders/loss_scale.wgsl: dynamic loss scaling on the device for every model of a group, in the
//! words of the gradient-scale buffer the optimizer reads (see [`word`]), so a step scales, checks, skips and
//! adjusts without a read-back.

use super::{need, positive, to_u32};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
use crate::ops::optim::{ModelHyperBuffer, MAX_MODELS};
use crate::precision::{LossScaleState, LossScaling};
use crate::shaders::{self, prelude::WG_ELEMENTWISE};
use crate::tensor::{uniform, View};

/// Where each value of a model's scaler lies among its words of the gradient-scale buffer.
pub mod word {
    /// 1.0 when a gradient of this step was infinite or NaN (the optimizer then skips the model), else 0.
    pub const FOUND_INF: usize = 2;
    /// The loss scale S.
    pub const SCALE: usize = 3;
    /// Good steps since S last changed.
    pub const GOOD: usize = 4;
    /// Steps skipped so far.
    pub const SKIPPED: usize = 5;
    /// The growth factor.
    pub const GROWTH: usize = 6;
    /// The backoff factor.
    pub const BACKOFF: usize = 7;
    /// The growth interval.
    pub const INTERVAL: usize = 8;
    /// Skipped steps the host has not yet taken off its step count (the optimizer's choice of record).
    pub const PENDING: usize = 9;
    /// Words a model's scaler spans (the clip factor and norm before it included).
    pub const LEN: usize = crate::ops::optim::SCALER_WORDS;
}

/// Mirrors `struct LossScaleParams` in shaders/loss_scale.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct LossScaleParams {
    len: u32,
    stride: u32,
    scaler_stride: u32,
    _pad: u32,
}

/// A model's scaler words [found_inf ..= interval] (from [`word::FOUND_INF`]) for `state` under `cfg`. The counts
/// are f32 on the device: exact up to 2^24.
pub fn scaler_words(state: &LossScaleState, cfg: &LossScaling) -> [f32; word::LEN - word::FOUND_INF] {
    [
        0.0,
        state.scale,
        state.good_steps as f32,
        state.skipped as f32,
        cfg.growth_factor as f32,
        cfg.backoff_factor as f32,
        cfg.growth_interval as f32,
        0.0,
    ]
}

/// The state held in a model's words [0 .. [`word::LEN`]) of the scale buffer.
pub fn state_from_words(words: &[f32]) -> LossScaleState {
    LossScaleState {
        scale: words[word::SCALE],
        good_steps: words[word::GOOD] as u32,
        skipped: words[word::SKIPPED] as u64,
    }
}

fn params(op: &'static str, len: usize, stride: usize, scaler_stride: usize, models: usize) -> Result<LossScaleParams> {
    positive(op, "models", models)?;
    if models > MAX_MODELS {
        return Err(Error::Shape { op, detail: format!("{models} models; one launch takes at most {MAX_MODELS}") });
    }
    if models > 1 && (stride < len || scaler_stride < word::LEN) {
        let detail = format!("{models} models at strides {stride} and {scaler_stride} overlap");
        return Err(Error::Shape { op, detail });
    }
    Ok(LossScaleParams {
        len: to_u32(op, "len", len)?,
        stride: to_u32(op, "stride", stride)?,
        scaler_stride: to_u32(op, "scaler stride", scaler_stride)?,
        _pad: 0,
    })
}

/// d[m·stride + i] ·= S_m for i < `len` and every model m < `models`, S_m at `scaler[m·scaler_stride + 3]`: the
/// loss gradient multiplied by each model's loss scale.
pub fn scale_loss_gradient(
    gpu: &Gpu,
    scaler: View<'_>,
    scaler_stride: usize,
    d: View<'_>,
    len: usize,
    stride: usize,
    models: usize,
) -> Result<Dispatch> {
    const OP: &str = "scale_loss_gradient";
    positive(OP, "len", len)?;
    let p = params(OP, len, stride, scaler_stride, models)?;
    need(OP, "scaler", &scaler, (models - 1) * scaler_stride + word::LEN)?;
    need(OP, "d", &d, (models - 1) * stride + len)?;
    let kernel = gpu.kernel(&shaders::LOSS_SCALE, OP)?;
    let u = uniform(gpu, OP, &p);
    let res = [u.as_entire_binding(), scaler.binding(), d.binding()];
    Dispatch::batched(gpu, kernel, &res, len.div_ceil(WG_ELEMENTWISE as usize) as u64, models, Vec::new())
}

/// g[m·stride + i] ·= 1 / S_m over each model's `n` gradients (a multiple of 4), setting its found_inf word to 1
/// when any result is infinite or NaN (torch's unscale_).
pub fn unscale_check(
    gpu: &Gpu,
    scaler: View<'_>,
    scaler_stride: usize,
    grad: View<'_>,
    n: usize,
    stride: usize,
    models: usize,
) -> Result<Dispatch> {
    const OP: &str = "unscale_check";
    positive(OP, "n", n)?;
    if n % 4 != 0 || stride % 4 != 0 || scaler_stride % 4 != 0 || grad.offset % 4 != 0 {
        let detail = format!("n = {n}, strides {stride} and {scaler_stride}: all must be multiples of 4");
        return Err(Error::Shape { op: OP, detail });
    }
    let p = params(OP, n / 4, stride / 4, scaler_stride, models)?;
    need(OP, "scaler", &scaler, (models - 1) * scaler_stride + word::LEN)?;
    need(OP, "grad", &grad, (models - 1) * stride + n)?;
    let kernel = gpu.kernel(&shaders::LOSS_SCALE, OP)?;
    let u = uniform(gpu, OP, &p);
    let res = [u.as_entire_binding(), scaler.binding(), grad.binding()];
    Dispatch::batched(gpu, kernel, &res, (n / 4).div_ceil(WG_ELEMENTWISE as usize) as u64, models, Vec::new())
}

/// Each model's scaler after its step: halved (backoff) on an overflow, grown after the interval, found_inf
/// cleared; models frozen in `hyper` are left alone (torch's update()).
pub fn loss_scale_update(
    gpu: &Gpu,
    scaler: View<'_>,
    scaler_stride: usize,
    hyper: &ModelHyperBuffer,
    models: usize,
) -> Result<Dispatch> {
    const OP: &str = "loss_scale_update";
    let p = params(OP, 1, 1, scaler_stride, models)?;
    need(OP, "scaler", &scaler, (models - 1) * scaler_stride + word::LEN)?;
    let kernel = gpu.kernel(&shaders::LOSS_SCALE, OP)?;
    let u = uniform(gpu, OP, &p);
    let res = [u.as_entire_binding(), scaler.binding(), hyper.binding()];
    Dispatch::batched(gpu, kernel, &res, 1, models, Vec::new())
}
