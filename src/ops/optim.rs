//! Launcher for shaders/optim.wgsl: one dispatch updates every parameter of every model of a group (a lone
//! network is a group of one), each model's hyperparameters and step scalars from a [`ModelHyperBuffer`].

use super::{need, positive, to_u32};
use crate::error::{Error, Result};
use crate::gpu::{Constants, Gpu};
use crate::kernel::Dispatch;
use crate::optim::{OptimizerConfig, StepScalars};
use crate::shaders::{self, prelude::WG_ELEMENTWISE};
use crate::tensor::{uniform, View};

/// The most models one optimizer launch updates (`MAX_MODELS` in shaders/optim.wgsl: the length of its uniform
/// array of [`ModelHyper`]); larger groups are split.
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
        let decoupled = cfg.kind.spec().decoupled_decay;
        ModelHyper {
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
    pub(crate) models: u32,
}

/// The uniform array of per-model records an optimizer launch reads, written once per step.
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

    /// The whole buffer as a binding (the loss scaler reads each model's `frozen`).
    pub(crate) fn binding(&self) -> wgpu::BindingResource<'_> {
        self.buffer.as_entire_binding()
    }
}

// shaders/loss_scale.wgsl reads `frozen` as the first word of a record's fifth vec4.
const _: () = assert!(std::mem::offset_of!(ModelHyper, frozen) == 64 && std::mem::size_of::<ModelHyper>() == 80);

fn too_many(models: usize) -> String {
    format!("{models} models; one launch updates at most {MAX_MODELS}")
}

/// The pipeline constants of an optimizer launch: a branch is compiled in when any model takes it (each model
/// still takes it only when its own hyperparameters say so).
pub fn models_constants(cfgs: &[OptimizerConfig]) -> Constants {
    let flag = |f: &dyn Fn(&OptimizerConfig) -> bool| f64::from(u8::from(cfgs.iter().any(f)));
    vec![
        ("HAS_MOMENTUM", flag(&|c| c.momentum > 0.0)),
        ("CENTERED", flag(&|c| c.centered)),
        ("AMSGRAD", flag(&|c| c.amsgrad)),
    ]
}

/// The records the host writes per model for a loss-scaled step (`SKIP_RECORDS` in shaders/optim.wgsl), at most
/// [`MAX_MODELS`] / K: record m + K·j holds model m's step scalars as if its last j steps (skipped, not yet counted
/// by the host) had not happened.
pub const SKIP_RECORDS: usize = 4;

/// Words of a model's gradient-scale slice a loss-scaled launch reads: the clip factor and norm, then the loss
/// scaler's (`ops::loss_scale::word`).
pub const SCALER_WORDS: usize = 10;

/// [`optimizer_update_models`] for a loss-scaled step: a model whose found_inf word (`scale[m · scale_stride +
/// 2]`, set by `ops::loss_scale::unscale_check`) is non-zero is skipped, its parameters and state left as they are;
/// model m reads record m + K·j of `hyper`, j its pending word (skipped steps the host has not yet counted, at
/// most [`SKIP_RECORDS`] − 1).
#[allow(clippy::too_many_arguments)]
pub fn optimizer_update_models_skipping(
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
    let mut constants = models_constants(cfgs);
    constants.push(("SKIP_NON_FINITE", 1.0));
    need("optimizer_update_models", "scale", &scale, cfgs.len().saturating_sub(1) * scale_stride + SCALER_WORDS)?;
    update_launch(gpu, cfgs, hyper, scale, scale_stride, grad, param, state, n, &constants)
}

/// Updates K = `cfgs.len()` models in one launch: `param` and `grad` [K × n] (model-major), `state`
/// [K × slots × n], model m's gradient scale at `scale[m · scale_stride]`, its hyperparameters and step scalars
/// from `hyper` (record m; a frozen model is left as it is). All models share the optimizer kind; n is a multiple
/// of 4. A lone network is K = 1.
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
    update_launch(gpu, cfgs, hyper, scale, scale_stride, grad, param, state, n, &models_constants(cfgs))
}

#[allow(clippy::too_many_arguments)]
fn update_launch(
    gpu: &Gpu,
    cfgs: &[OptimizerConfig],
    hyper: &ModelHyperBuffer,
    scale: View<'_>,
    scale_stride: usize,
    grad: View<'_>,
    param: View<'_>,
    state: View<'_>,
    n: usize,
    constants: &Constants,
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
        if c.kind.entry() != first.kind.entry() || c.state_slots() != first.state_slots() {
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
        models: k as u32,
    };
    let entry = first.kind.entry();
    let u = uniform(gpu, entry, &p);
    let res = [
        scale.binding(),
        grad.binding(),
        param.binding(),
        state.binding(),
        u.as_entire_binding(),
        hyper.buffer.as_entire_binding(),
    ];
    let workgroups = (n / 4).div_ceil(WG_ELEMENTWISE as usize) as u64;
    // Storage-buffer inputs on every adapter, texture family included: on lavapipe the texture copies of a group's
    // [K × P] gradients, parameters and state (35 MB a step for 16 MLP-A models with Adam) cost more than the cheaper loads save
    // (profiled side by side, 16 × MLP-A: 12.2–13.7 ms with buffers against 14.2–15.1 ms with textures).
    let kernel = gpu.kernel_with(&shaders::OPTIM, entry, constants)?;
    Dispatch::batched(gpu, kernel, &res, workgroups, k, Vec::new())
}
