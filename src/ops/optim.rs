//! Launcher for shaders/optim.wgsl: one dispatch updates every parameter of the flat buffer.

use super::{need, positive, to_u32};
use crate::error::{Error, Result};
use crate::gpu::{Constants, Gpu, KernelFamily};
use crate::kernel::Dispatch;
use crate::ops::step::StepBuffer;
use crate::optim::{OptimizerConfig, OptimizerKind};
use crate::shaders::{self, prelude::WG_ELEMENTWISE};
use crate::tensor::{uniform, View};
use crate::texture::Upload;

/// Mirrors `struct OptimParams` in shaders/optim.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct OptimParams {
    /// Number of parameters.
    pub n: u32,
    /// μ.
    pub momentum: f32,
    /// τ.
    pub dampening: f32,
    /// 1 for Nesterov.
    pub nesterov: u32,
    /// Coupled L2 λ (0 for AdamW).
    pub weight_decay: f32,
    /// AdamW's decoupled λ (0 otherwise).
    pub decoupled_weight_decay: f32,
    /// L1 coefficient.
    pub l1: f32,
    /// ε.
    pub eps: f32,
    /// RMSprop α.
    pub alpha: f32,
    /// 1 for centered RMSprop.
    pub centered: u32,
    /// β1.
    pub beta1: f32,
    /// β2.
    pub beta2: f32,
    /// 1 for AMSGrad.
    pub amsgrad: u32,
    /// Padding to 64 bytes.
    pub _pad: [u32; 3],
}

impl OptimParams {
    /// The kernel parameters for `cfg` over `n` parameters.
    pub fn new(cfg: &OptimizerConfig, n: u32) -> Self {
        let decoupled = cfg.kind == OptimizerKind::AdamW;
        OptimParams {
            n,
            momentum: cfg.momentum as f32,
            dampening: cfg.dampening as f32,
            nesterov: u32::from(cfg.nesterov),
            weight_decay: if decoupled { 0.0 } else { cfg.weight_decay as f32 },
            decoupled_weight_decay: if decoupled { cfg.weight_decay as f32 } else { 0.0 },
            l1: cfg.l1 as f32,
            eps: cfg.eps as f32,
            alpha: cfg.alpha as f32,
            centered: u32::from(cfg.centered),
            beta1: cfg.beta1 as f32,
            beta2: cfg.beta2 as f32,
            amsgrad: u32::from(cfg.amsgrad),
            _pad: [0; 3],
        }
    }
}

/// The pipeline constants of shaders/optim.wgsl for `cfg` (which branches the update takes), reading its inputs
/// from texture copies when `textures`.
pub fn optimizer_constants(cfg: &OptimizerConfig, textures: bool) -> Constants {
    let flag = |b: bool| f64::from(u8::from(b));
    vec![
        ("TEXTURE_INPUTS", flag(textures)),
        ("HAS_MOMENTUM", flag(cfg.momentum > 0.0)),
        ("CENTERED", flag(cfg.centered)),
        ("AMSGRAD", flag(cfg.amsgrad)),
    ]
}

/// Updates `param` [n] in place from `grad` [n] (scaled by scale[0]) and `state` [slots·n]; n is a multiple of 4.
pub fn optimizer_update(
    gpu: &Gpu,
    cfg: &OptimizerConfig,
    step: &StepBuffer,
    scale: View<'_>,
    grad: View<'_>,
    param: View<'_>,
    state: View<'_>,
    n: usize,
) -> Result<Dispatch> {
    const OP: &str = "optimizer_update";
    cfg.validate()?;
    positive(OP, "n", n)?;
    if n % 4 != 0 {
        return Err(Error::Shape {
            op: OP,
            detail: format!("n = {n}: the kernel updates four parameters at a time, so n must be a multiple of 4"),
        });
    }
    need(OP, "scale", &scale, 1)?;
    need(OP, "grad", &grad, n)?;
    need(OP, "param", &param, n)?;
    need(OP, "state", &state, cfg.state_slots() * n)?;
    let p = OptimParams::new(cfg, to_u32(OP, "n", n)?);
    to_u32(OP, "state", cfg.state_slots() * n)?;
    let entry = cfg.kind.entry();
    let u = uniform(gpu, entry, &p);
    let mut res =
        vec![u.as_entire_binding(), step.binding(), scale.binding(), grad.binding(), param.binding(), state.binding()];
    let workgroups = (n / 4).div_ceil(WG_ELEMENTWISE as usize) as u64;
    let uploads = if gpu.kernel_family() == KernelFamily::Texture {
        let views = [&grad, &param, &state, &scale];
        views.iter().map(|v| Upload::new(gpu, OP, v)).collect::<Option<Vec<_>>>()
    } else {
        None
    };
    gpu.check()?;
    let Some(uploads) = uploads else {
        let kernel = gpu.kernel_with(&shaders::OPTIM, entry, &optimizer_constants(cfg, false))?;
        res.extend([gpu.unused_texture(), gpu.unused_texture(), gpu.unused_texture(), gpu.unused_texture()]);
        return Dispatch::new(gpu, kernel, &res, workgroups);
    };
    let kernel = gpu.kernel_with(&shaders::OPTIM, entry, &optimizer_constants(cfg, true))?;
    let textures: Vec<wgpu::TextureView> = uploads.iter().map(Upload::view).collect();
    res.extend(textures.iter().map(wgpu::BindingResource::TextureView));
    Dispatch::with_uploads(gpu, kernel, &res, workgroups, uploads)
}
