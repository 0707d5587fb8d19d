//! Launchers for shaders/activation.wgsl.

use std::sync::Arc;

use super::{need, positive, to_u32};
pub use crate::activation::Activation;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
use crate::shaders::{self, prelude::WG_ELEMENTWISE, prelude::WG_ROWS};
use crate::tensor::{uniform, View};

/// Mirrors `struct ActivationParams` in shaders/activation.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ActivationParams {
    /// Number of elements.
    pub n: u32,
    /// Activation code.
    pub kind: u32,
    /// Leaky slope.
    pub slope: f32,
    /// Row length (softmax only).
    pub cols: u32,
}

fn launch(
    gpu: &Gpu,
    entry: &'static str,
    p: ActivationParams,
    inputs: &[View<'_>],
    out: View<'_>,
    per_wg: u32,
    items: u64,
) -> Result<Dispatch> {
    let kernel = gpu.kernel(&shaders::ACTIVATION, entry)?;
    let params = uniform(gpu, entry, &p);
    let mut res = vec![params.as_entire_binding()];
    res.extend(inputs.iter().map(|v| v.binding()));
    res.push(out.binding());
    Dispatch::new(gpu, Arc::clone(&kernel), &res, items.div_ceil(u64::from(per_wg)))
}

/// y = f(x) element-wise over `n` elements.
pub fn activation_forward(gpu: &Gpu, x: View<'_>, act: Activation, y: View<'_>, n: usize) -> Result<Dispatch> {
    const OP: &str = "activation_forward";
    positive(OP, "n", n)?;
    need(OP, "x", &x, n)?;
    need(OP, "y", &y, n)?;
    let p = ActivationParams { n: to_u32(OP, "n", n)?, kind: act.code(), slope: act.slope(), cols: 1 };
    launch(gpu, OP, p, &[x], y, WG_ELEMENTWISE, n as u64)
}

/// dx = dy ⊙ f'(x) element-wise, x the pre-activation.
pub fn activation_backward(
    gpu: &Gpu,
    x: View<'_>,
    dy: View<'_>,
    act: Activation,
    dx: View<'_>,
    n: usize,
) -> Result<Dispatch> {
    const OP: &str = "activation_backward";
    positive(OP, "n", n)?;
    for (name, v) in [("x", &x), ("dy", &dy), ("dx", &dx)] {
        need(OP, name, v, n)?;
    }
    let p = ActivationParams { n: to_u32(OP, "n", n)?, kind: act.code(), slope: act.slope(), cols: 1 };
    launch(gpu, OP, p, &[x, dy], dx, WG_ELEMENTWISE, n as u64)
}

fn rowwise(gpu: &Gpu, entry: &'static str, x: View<'_>, y: View<'_>, rows: usize, cols: usize) -> Result<Dispatch> {
    positive("softmax", "rows", rows)?;
    positive("softmax", "cols", cols)?;
    need("softmax", "x", &x, rows * cols)?;
    need("softmax", "y", &y, rows * cols)?;
    let p = ActivationParams {
        n: to_u32("softmax", "rows·cols", rows * cols)?,
        kind: 0,
        slope: 0.0,
        cols: to_u32("softmax", "cols", cols)?,
    };
    launch(gpu, entry, p, &[x], y, WG_ROWS, rows as u64)
}

/// Row-wise softmax of x [rows, cols] into y.
pub fn softmax_forward(gpu: &Gpu, x: View<'_>, y: View<'_>, rows: usize, cols: usize) -> Result<Dispatch> {
    rowwise(gpu, "softmax_forward", x, y, rows, cols)
}

/// Row-wise log-softmax of x [rows, cols] into y.
pub fn log_softmax_forward(gpu: &Gpu, x: View<'_>, y: View<'_>, rows: usize, cols: usize) -> Result<Dispatch> {
    rowwise(gpu, "log_softmax_forward", x, y, rows, cols)
}
