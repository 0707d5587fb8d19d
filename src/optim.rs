//! Optimizer configuration with torch.optim's names and defaults, validated at construction.
//!
//! The optimizers are one general algorithm with parameters ("in order of increasing complexity"): SGD (with
//! momentum, dampening and Nesterov), AdaGrad, RMSprop (optionally centered, with momentum), Adam (optionally AMSGrad)
//! and AdamW (Adam with decoupled weight decay). Every one also takes an L1 term and gradient clipping by global norm.
//! The exact update formulas are in shaders/optim.wgsl and [`crate::reference::optim`].

mod configs;

pub use configs::{AdagradConfig, AdamConfig, AdamWConfig, RmsPropConfig, SgdConfig};

use crate::error::{Error, Result};

/// Which update rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizerKind {
    /// torch.optim.SGD.
    Sgd,
    /// torch.optim.Adagrad.
    Adagrad,
    /// torch.optim.RMSprop.
    RmsProp,
    /// torch.optim.Adam.
    Adam,
    /// torch.optim.AdamW.
    AdamW,
}

impl OptimizerKind {
    /// Parses sgd, adagrad, rmsprop, adam or adamw.
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sgd" => Ok(OptimizerKind::Sgd),
            "adagrad" => Ok(OptimizerKind::Adagrad),
            "rmsprop" => Ok(OptimizerKind::RmsProp),
            "adam" => Ok(OptimizerKind::Adam),
            "adamw" => Ok(OptimizerKind::AdamW),
            _ => Err(Error::config(
                "optimizer",
                format!("unknown optimizer {s:?}; expected sgd, adagrad, rmsprop, adam or adamw"),
            )),
        }
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adagrad => "adagrad",
            OptimizerKind::RmsProp => "rmsprop",
            OptimizerKind::Adam => "adam",
            OptimizerKind::AdamW => "adamw",
        }
    }

    /// The WGSL entry point that applies this rule.
    pub fn entry(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd_update",
            OptimizerKind::Adagrad => "adagrad_update",
            OptimizerKind::RmsProp => "rmsprop_update",
            OptimizerKind::Adam | OptimizerKind::AdamW => "adam_update",
        }
    }

    /// The model-batched entry point of shaders/optim.wgsl (a group's one optimizer launch).
    pub fn models_entry(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd_update_models",
            OptimizerKind::Adagrad => "adagrad_update_models",
            OptimizerKind::RmsProp => "rmsprop_update_models",
            OptimizerKind::Adam | OptimizerKind::AdamW => "adam_update_models",
        }
    }
}

/// Hyperparameters of every optimizer, under torch's names: the general form the kernels take. Build it from the
/// optimizer's own type ([`SgdConfig`], [`AdagradConfig`], [`RmsPropConfig`], [`AdamConfig`], [`AdamWConfig`]);
/// a field the chosen optimizer does not have must keep its default, or [`OptimizerConfig::validate`] fails
/// naming it.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerConfig {
    /// The update rule.
    pub kind: OptimizerKind,
    /// Learning rate (the schedule's base value).
    pub lr: f64,
    /// SGD and RMSprop momentum μ.
    pub momentum: f64,
    /// SGD dampening τ.
    pub dampening: f64,
    /// SGD Nesterov momentum.
    pub nesterov: bool,
    /// Coupled L2 penalty λ (torch weight_decay): g += λθ. For AdamW, the decoupled decay θ *= 1 − lr·λ instead.
    pub weight_decay: f64,
    /// AdaGrad learning-rate decay η: clr = lr / (1 + (t − 1)η).
    pub lr_decay: f64,
    /// AdaGrad initial value of the squared-gradient sum.
    pub initial_accumulator_value: f64,
    /// Term added to the denominator for numerical stability.
    pub eps: f64,
    /// RMSprop smoothing constant α.
    pub alpha: f64,
    /// RMSprop: normalise by the centered second moment (an estimate of the variance).
    pub centered: bool,
    /// Adam β1.
    pub beta1: f64,
    /// Adam β2.
    pub beta2: f64,
    /// Adam: use the running maximum of the second moment (AMSGrad).
    pub amsgrad: bool,
    /// L1 penalty: g += l1·sign(θ).
    pub l1: f64,
    /// Clip the global gradient norm to this value before the update (clip_grad_norm_).
    pub clip_norm: Option<f64>,
}

impl OptimizerConfig {
    /// The optimizer `kind` with torch's defaults and learning rate `lr`.
    pub fn new(kind: OptimizerKind, lr: f64) -> Self {
        let base = OptimizerConfig {
            kind,
            lr,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            lr_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-8,
            alpha: 0.99,
            centered: false,
            beta1: 0.9,
            beta2: 0.999,
            amsgrad: false,
            l1: 0.0,
            clip_norm: None,
        };
        match kind {
            OptimizerKind::Adagrad => OptimizerConfig { eps: 1e-10, ..base },
            OptimizerKind::AdamW => OptimizerConfig { weight_decay: 1e-2, ..base },
            _ => base,
        }
    }

    /// SGD with learning rate `lr` (torch requires one).
    pub fn sgd(lr: f64) -> Self {
        Self::new(OptimizerKind::Sgd, lr)
    }

    /// AdaGrad, lr 0.01 by default in torch.
    pub fn adagrad(lr: f64) -> Self {
        Self::new(OptimizerKind::Adagrad, lr)
    }

    /// RMSprop, lr 0.01 by default in torch.
    pub fn rmsprop(lr: f64) -> Self {
        Self::new(OptimizerKind::RmsProp, lr)
    }

    /// Adam, lr 0.001 by default in torch.
    pub fn adam(lr: f64) -> Self {
        Self::new(OptimizerKind::Adam, lr)
    }

    /// AdamW (weight_decay 0.01), lr 0.001 by default in torch.
    pub fn adamw(lr: f64) -> Self {
        Self::new(OptimizerKind::AdamW, lr)
    }

    /// Whether the hyperparameter `field` (a field name of this struct) is one the optimizer `kind` has. `l1` and
    /// `clip_norm`, wgtrain's additions, apply to every optimizer.
    pub fn applies(kind: OptimizerKind, field: &str) -> bool {
        use OptimizerKind::*;
        match field {
            "momentum" => matches!(kind, Sgd | RmsProp),
            "dampening" | "nesterov" => kind == Sgd,
            "lr_decay" | "initial_accumulator_value" => kind == Adagrad,
            "eps" => kind != Sgd,
            "alpha" | "centered" => kind == RmsProp,
            "beta1" | "beta2" | "amsgrad" => matches!(kind, Adam | AdamW),
            _ => true,
        }
    }

    /// The optimizers that have `field`, for messages.
    pub fn kinds_with(field: &str) -> Vec<&'static str> {
        use OptimizerKind::*;
        [Sgd, Adagrad, RmsProp, Adam, AdamW]
            .into_iter()
            .filter(|&k| Self::applies(k, field))
            .map(|k| k.name())
            .collect()
    }

    /// Fails naming the first field that the optimizer does not have but that differs from its default.
    fn check_applicable(&self) -> Result<()> {
        let d = OptimizerConfig::new(self.kind, self.lr);
        let changed = [
            ("momentum", self.momentum != d.momentum),
            ("dampening", self.dampening != d.dampening),
            ("nesterov", self.nesterov != d.nesterov),
            ("lr_decay", self.lr_decay != d.lr_decay),
            ("initial_accumulator_value", self.initial_accumulator_value != d.initial_accumulator_value),
            ("eps", self.eps != d.eps && !(self.eps.is_nan() && d.eps.is_nan())),
            ("alpha", self.alpha != d.alpha),
            ("centered", self.centered != d.centered),
            ("beta1", self.beta1 != d.beta1),
            ("beta2", self.beta2 != d.beta2),
            ("amsgrad", self.amsgrad != d.amsgrad),
        ];
        match changed.into_iter().find(|&(field, changed)| changed && !Self::applies(self.kind, field)) {
            Some((field, _)) => Err(Error::config(
                field,
                format!(
                    "does not apply to {} (it is a hyperparameter of {})",
                    self.kind.name(),
                    Self::kinds_with(field).join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// Checks every field torch would check, and that no field the optimizer does not have was set, naming the
    /// first bad one.
    pub fn validate(&self) -> Result<()> {
        let finite_nonneg = |name: &str, v: f64| -> Result<()> {
            if !v.is_finite() || v < 0.0 {
                return Err(Error::config(name, format!("must be a finite number ≥ 0, got {v}")));
            }
            Ok(())
        };
        if !self.lr.is_finite() || self.lr <= 0.0 {
            return Err(Error::config("lr", format!("must be > 0, got {}", self.lr)));
        }
        finite_nonneg("momentum", self.momentum)?;
        finite_nonneg("dampening", self.dampening)?;
        finite_nonneg("weight_decay", self.weight_decay)?;
        finite_nonneg("lr_decay", self.lr_decay)?;
        finite_nonneg("initial_accumulator_value", self.initial_accumulator_value)?;
        finite_nonneg("eps", self.eps)?;
        finite_nonneg("alpha", self.alpha)?;
        finite_nonneg("l1", self.l1)?;
        for (name, b) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(Error::config(name, format!("must be in [0, 1), got {b}")));
            }
        }
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(Error::config("nesterov", "requires momentum > 0 and dampening = 0"));
        }
        if let Some(c) = self.clip_norm {
            if !c.is_finite() || c <= 0.0 {
                return Err(Error::config("clip_norm", format!("must be > 0, got {c}")));
            }
        }
        self.check_applicable()
    }

    /// State values kept per parameter (SGD momentum buffer; AdaGrad sum; RMSprop v, ḡ, b; Adam m, v, v̂max).
    pub fn state_slots(&self) -> usize {
        match self.kind {
            OptimizerKind::Sgd => 1,
            OptimizerKind::Adagrad => 1,
            OptimizerKind::RmsProp => 3,
            OptimizerKind::Adam | OptimizerKind::AdamW => 3,
        }
    }

    /// The value each state slot starts at (only AdaGrad's sum starts non-zero).
    pub fn initial_state(&self) -> f32 {
        match self.kind {
            OptimizerKind::Adagrad => self.initial_accumulator_value as f32,
            _ => 0.0,
        }
    }

    /// The per-step scalars for optimizer step `t` (from 1) at learning rate `lr`; computed in f64 as torch does.
    pub fn step_scalars(&self, t: u64, lr: f64, batch_offset: u32) -> StepScalars {
        let tf = t as f64;
        let (step_size, bc2_sqrt) = match self.kind {
            OptimizerKind::Adam | OptimizerKind::AdamW => {
                (lr / (1.0 - self.beta1.powf(tf)), (1.0 - self.beta2.powf(tf)).sqrt())
            }
            OptimizerKind::Adagrad => (lr / (1.0 + (tf - 1.0) * self.lr_decay), 1.0),
            _ => (lr, 1.0),
        };
        StepScalars {
            lr: lr as f32,
            step_size: step_size as f32,
            bias_correction2_sqrt: bc2_sqrt as f32,
            first_step: u32::from(t == 1),
            batch_offset,
            _pad: [0; 3],
        }
    }
}

/// Scalars that change every optimizer step (`struct Step` in shaders/common.wgsl; the kernels read them from
/// `ops::step::StepBuffer`); written into one small uniform before each step's submission,
/// so a schedule never rebuilds a pipeline or bind group.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StepScalars {
    /// The learning rate of this step.
    pub lr: f32,
    /// Adam: lr / (1 − β1^t); AdaGrad: lr / (1 + (t − 1)·lr_decay); otherwise lr.
    pub step_size: f32,
    /// Adam: √(1 − β2^t); otherwise 1.
    pub bias_correction2_sqrt: f32,
    /// 1 on the first optimizer step (SGD momentum starts its buffer from the gradient), else 0.
    pub first_step: u32,
    /// Where this batch starts in the epoch's index permutation.
    pub batch_offset: u32,
    /// Padding to 32 bytes (uniform layout).
    pub _pad: [u32; 3],
}
