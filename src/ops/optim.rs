//! Launcher for shaders/optim.wgsl: one dispatch updates every parameter of the flat buffer, or of every model of
//! a group (`optimizer_update_models`, per-model hyperparameters from a [`ModelHyperBuffer`]).

use super::{need, positive, to_u32};
use crate::error::{Error, Result};
use crate::gpu::{Constants, Gpu, KernelFamily};
use crate::kernel::Dispatch;
use crate::ops::step::{StepBuffer, StepScalars};
use crate::optim::OptimizerConfig;
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
        let decoupled = cfg.kind.spec().decoupled_decay;
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

/// The most models one model-batched optimizer launch updates (`MAX_MODELS` in shaders/optim.wgsl: the length of
/// its uniform array of [`ModelHyper`]); larger groups are split.
pub const MAX_MODELS: usize = 256;

/// Mirrors `struct Hyper` in shaders/optim.wgsl: one model's hyperparameters and this step's scalars.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ModelHyper {
    pub(crate) momentum: f32,
    pub(crate) dampening: f32,
    pub(crate) nesterov: u32,
    pub(crate) weight_decay: f32,
    pub(crate) decoupled_weight_decay: f32,
    pub(crate) l1: f32,
    pub(crate) eps: f32,
    pub(crate) alpha: f32,
    pub(crate) centered: u32,
    pub(crate) beta1: f32,
    pub(crate) beta2: f32,
    pub(crate) amsgrad: u32,
    pub(crate) lr: f32,
    pub(crate) step_size: f32,
    pub(crate) bias_correction2_sqrt: f32,
    pub(crate) first_step: u32,
    pub(crate) frozen: u32,
    pub(crate) grad_step_size: f32,
    pub(crate) bias_correction2: f32,
    pub(crate) _pad: u32,
}

impl ModelHyper {
    /// Model `cfg`'s record for a step with `step` scalars; a `frozen` model is not updated.
    pub fn new(cfg: &OptimizerConfig, step: &StepScalars, frozen: bool) -> Self {
        let p = OptimParams::new(cfg, 0);
        ModelHyper {
            momentum: p.momentum,
            dampening: p.dampening,
            nesterov: p.nesterov,
            weight_decay: p.weight_decay,
            decoupled_weight_decay: p.decoupled_weight_decay,
            l1: p.l1,
            eps: p.eps,
            alpha: p.alpha,
            centered: p.centered,
            beta1: p.beta1,
            beta2: p.beta2,
            amsgrad: p.amsgrad,
            lr: step.lr,
            step_size: step.step_size,
            bias_correction2_sqrt: step.bias_correction2_sqrt,
            first_step: step.first_step,
            frozen: u32::from(frozen),
            grad_step_size: step.grad_step_size,
            bias_correction2: step.bias_correction2,
            _pad: 0,
        }
    }
}

/// Mirrors `struct ModelsParams` in shaders/optim.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct ModelsParams {
    pub(crate) n: u32,
    pub(crate) scale_stride: u32,
    pub(crate) slots: u32,
    pub(crate) _pad: u32,
}

/// The uniform array of per-model records a model-batched optimizer launch reads, written once per step.
#[derive(Debug)]
pub struct ModelHyperBuffer {
    buffer: wgpu::Buffer,
}

impl ModelHyperBuffer {
    /// A buffer for up to [`MAX_MODELS`] records (all zero: written before the first step).
    pub fn new(gpu: &Gpu) -> Result<Self> {
        let buffer = uniform(gpu, "model hyperparameters", &[ModelHyper::default(); MAX_MODELS]);
        gpu.check()?;
        Ok(ModelHyperBuffer { buffer })
    }

    /// Queues a write of `records` (model i's at index i), ordered before the next submission.
    pub fn write(&self, gpu: &Gpu, records: &[ModelHyper]) -> Result<()> {
        if records.len() > MAX_MODELS {
            return Err(Error::Shape { op: "optimizer_update_models", detail: too_many(records.len()) });
        }
        gpu.queue().write_buffer(&self.buffer, 0, bytemuck::cast_slice(records));
        Ok(())
    }
}

fn too_many(models: usize) -> String {
    format!("{models} models; one launch updates at most {MAX_MODELS}")
}

/// The pipeline constants of a model-batched launch: a branch is compiled in when any model takes it (each model
/// still takes it only when its own hyperparameters say so); inputs are read from the storage buffers.
pub fn models_constants(cfgs: &[OptimizerConfig]) -> Constants {
    let flag = |f: &dyn Fn(&OptimizerConfig) -> bool| f64::from(u8::from(cfgs.iter().any(f)));
    vec![
        ("TEXTURE_INPUTS", 0.0),
        ("HAS_MOMENTUM", flag(&|c| c.momentum > 0.0)),
        ("CENTERED", flag(&|c| c.centered)),
        ("AMSGRAD", flag(&|c| c.amsgrad)),
    ]
}

/// Updates K = `cfgs.len()` models in one launch: `param` and `grad` [K × n] (model-major), `state`
/// [K × slots × n], model m's gradient scale at `scale[m · scale_stride]`, its hyperparameters and step scalars
/// from `hyper` (record m). All models share the optimizer kind; n is a multiple of 4.
#[allow(clippy::too_many_arguments)]
pub fn optimizer_update_models(
    gpu: &Gpu,
    cfgs: &[OptimizerConfig],
    hyper: &ModelHyperBuffer,
    scale: View<'_>,
    scale_stride: usize,
    grad: View<'_>,
    param: View<'_>,
    state: View<'_>,
    n: usize,
) -> Result<Dispatch> {
    const OP: &str = "optimizer_update_models";
    let Some(first) = cfgs.first() else {
        return Err(Error::Shape { op: OP, detail: "no models".into() });
    };
    let k = cfgs.len();
    if k > MAX_MODELS {
        return Err(Error::Shape { op: OP, detail: too_many(k) });
    }
    for c in cfgs {
        c.validate()?;
        if c.kind.models_entry() != first.kind.models_entry() || c.state_slots() != first.state_slots() {
            return Err(Error::Shape { op: OP, detail: "the models of one launch share the optimizer kind".into() });
        }
    }
    positive(OP, "n", n)?;
    if n % 4 != 0 || scale_stride % 4 != 0 {
        let detail = format!("n = {n}, scale stride {scale_stride}: both must be multiples of 4");
        return Err(Error::Shape { op: OP, detail });
    }
    let slots = first.state_slots();
    need(OP, "scale", &scale, (k - 1) * scale_stride + 1)?;
    need(OP, "grad", &grad, k * n)?;
    need(OP, "param", &param, k * n)?;
    need(OP, "state", &state, k * slots * n)?;
    to_u32(OP, "state", k * slots * n)?;
    let p = ModelsParams {
        n: to_u32(OP, "n", n)?,
        scale_stride: to_u32(OP, "scale stride", scale_stride)?,
        slots: slots as u32,
        _pad: 0,
    };
    let entry = first.kind.models_entry();
    let u = uniform(gpu, entry, &p);
    let mut res = vec![scale.binding(), grad.binding(), param.binding(), state.binding()];
    let workgroups = (n / 4).div_ceil(WG_ELEMENTWISE as usize) as u64;
    // Storage-buffer inputs on every adapter: on lavapipe the texture copies of a group's [K × P] gradients,
    // parameters and state (35 MB a step for 16 MLP-A models with Adam) cost more than the cheaper loads save
    // (profiled side by side, 16 × MLP-A: 12.2–13.7 ms with buffers against 14.2–15.1 ms with textures).
    let kernel = gpu.kernel_with(&shaders::OPTIM, entry, &models_constants(cfgs))?;
    res.extend([gpu.unused_texture(), gpu.unused_texture(), gpu.unused_texture(), gpu.unused_texture()]);
    res.extend([u.as_entire_binding(), hyper.buffer.as_entire_binding()]);
    Dispatch::batched(gpu, kernel, &res, workgroups, k, Vec::new())
}
