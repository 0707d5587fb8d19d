//! Launchers for shaders/activation.wgsl, and the [`Activation`] functions shared by the matmul epilogue.

use std::sync::Arc;

use super::{need, positive, to_u32};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
use crate::shaders;
use crate::tensor::{uniform, View};

/// An element-wise activation, as torch.nn.functional defines it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Activation {
    /// f(x) = x.
    #[default]
    Identity,
    /// f(x) = max(x, 0); f'(0) = 0.
    Relu,
    /// f(x) = x for x > 0, slope·x otherwise (torch's default slope is 0.01).
    LeakyRelu(f32),
    /// f(x) = 1 / (1 + e^−x).
    Sigmoid,
    /// f(x) = tanh x.
    Tanh,
    /// f(x) = ½x(1 + tanh(√(2/π)(x + 0.044715x³))), torch's gelu(approximate='tanh').
    Gelu,
}

impl Activation {
    /// The code the shaders switch on (ACT_* in shaders/common.wgsl).
    pub fn code(self) -> u32 {
        match self {
            Activation::Identity => 0,
            Activation::Relu => 1,
            Activation::LeakyRelu(_) => 2,
            Activation::Sigmoid => 3,
            Activation::Tanh => 4,
            Activation::Gelu => 5,
        }
    }

    /// The negative slope (leaky_relu only; 0 otherwise).
    pub fn slope(self) -> f32 {
        match self {
            Activation::LeakyRelu(s) => s,
            _ => 0.0,
        }
    }

    /// The name used on the command line and in checkpoints.
    pub fn name(self) -> String {
        match self {
            Activation::Identity => "identity".into(),
            Activation::Relu => "relu".into(),
            Activation::LeakyRelu(s) => format!("leaky_relu:{s}"),
            Activation::Sigmoid => "sigmoid".into(),
            Activation::Tanh => "tanh".into(),
            Activation::Gelu => "gelu".into(),
        }
    }

    /// Parses `identity`, `relu`, `leaky_relu[:SLOPE]`, `sigmoid`, `tanh` or `gelu`.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim().to_ascii_lowercase();
        let (name, arg) = s.split_once(':').map_or((s.as_str(), None), |(n, a)| (n, Some(a)));
        let act = match (name.replace('-', "_").as_str(), arg) {
            ("identity" | "linear" | "none", None) => Activation::Identity,
            ("relu", None) => Activation::Relu,
            ("leaky_relu", None) => Activation::LeakyRelu(0.01),
            ("leaky_relu", Some(a)) => {
                let slope: f32 =
                    a.parse().ok().filter(|v: &f32| v.is_finite()).ok_or_else(|| {
                        Error::config("activation", format!("leaky_relu slope {a:?} is not a number"))
                    })?;
                Activation::LeakyRelu(slope)
            }
            ("sigmoid", None) => Activation::Sigmoid,
            ("tanh", None) => Activation::Tanh,
            ("gelu" | "gelu_tanh", None) => Activation::Gelu,
            _ => {
                return Err(Error::config(
                    "activation",
                    format!(
                        "unknown activation {s:?}; expected identity, relu, leaky_relu[:SLOPE], sigmoid, tanh or gelu"
                    ),
                ))
            }
        };
        Ok(act)
    }
}

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
    per_wg: u64,
    items: u64,
) -> Result<Dispatch> {
    let kernel = gpu.kernel(&shaders::ACTIVATION, entry)?;
    let params = uniform(gpu, entry, &p);
    let mut res = vec![params.as_entire_binding()];
    res.extend(inputs.iter().map(|v| v.binding()));
    res.push(out.binding());
    Dispatch::new(gpu, Arc::clone(&kernel), &res, items.div_ceil(per_wg))
}

/// y = f(x) element-wise over `n` elements.
pub fn activation_forward(gpu: &Gpu, x: View<'_>, act: Activation, y: View<'_>, n: usize) -> Result<Dispatch> {
    const OP: &str = "activation_forward";
    positive(OP, "n", n)?;
    need(OP, "x", &x, n)?;
    need(OP, "y", &y, n)?;
    let p = ActivationParams { n: to_u32(OP, "n", n)?, kind: act.code(), slope: act.slope(), cols: 1 };
    launch(gpu, OP, p, &[x], y, 256, n as u64)
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
    launch(gpu, OP, p, &[x, dy], dx, 256, n as u64)
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
    launch(gpu, entry, p, &[x], y, 64, rows as u64)
}

/// Row-wise softmax of x [rows, cols] into y.
pub fn softmax_forward(gpu: &Gpu, x: View<'_>, y: View<'_>, rows: usize, cols: usize) -> Result<Dispatch> {
    rowwise(gpu, "softmax_forward", x, y, rows, cols)
}

/// Row-wise log-softmax of x [rows, cols] into y.
pub fn log_softmax_forward(gpu: &Gpu, x: View<'_>, y: View<'_>, rows: usize, cols: usize) -> Result<Dispatch> {
    rowwise(gpu, "log_softmax_forward", x, y, rows, cols)
}
