//! Optimizer configuration with torch.optim's names and defaults, validated at construction.
//!
//! The optimizers are one general algorithm with parameters ("in order of increasing complexity"): SGD (with
//! momentum, dampening and Nesterov), AdaGrad, RMSprop (optionally centered, with momentum), Adam (optionally
//! AMSGrad), AdamW (Adam with decoupled weight decay) and NAdam (Adam with Nesterov momentum). Every one also takes
//! an L1 term and gradient clipping by global norm. [`OPTIMIZERS`] is the table of them (names, kernels, state,
//! defaults) and [`HYPERPARAMETERS`] the table of their hyperparameters; the exact update formulas are in
//! shaders/optim.wgsl and [`crate::reference::optim`].

mod configs;
mod fields;
mod step;
mod table;

pub use configs::{AdagradConfig, AdamConfig, AdamWConfig, NAdamConfig, RmsPropConfig, SgdConfig};
pub use fields::{Check, Field, HYPERPARAMETERS};
pub use step::StepScalars;
pub use table::{Hyper, HyperValue, OptimizerSpec, OPTIMIZERS};

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
    /// torch.optim.NAdam.
    NAdam,
}

impl OptimizerKind {
    /// Every optimizer, in the table's order.
    pub fn all() -> impl Iterator<Item = OptimizerKind> {
        OPTIMIZERS.iter().map(|o| o.kind)
    }

    /// This optimizer's row of [`OPTIMIZERS`] (a new kind does not compile without one).
    pub fn spec(self) -> &'static OptimizerSpec {
        let row = match self {
            OptimizerKind::Sgd => 0,
            OptimizerKind::Adagrad => 1,
            OptimizerKind::RmsProp => 2,
            OptimizerKind::Adam => 3,
            OptimizerKind::AdamW => 4,
            OptimizerKind::NAdam => 5,
        };
        &OPTIMIZERS[row]
    }

    /// Parses an optimizer's name (any case): sgd, adagrad, rmsprop, adam, adamw or nadam.
    pub fn parse(s: &str) -> Result<Self> {
        let name = s.trim().to_ascii_lowercase();
        match OPTIMIZERS.iter().find(|o| o.name == name) {
            Some(o) => Ok(o.kind),
            None => Err(Error::config("optimizer", format!("unknown optimizer {s:?}; expected {}", Self::names()))),
        }
    }

    /// "sgd, adagrad, …, adamw or nadam", for messages and help.
    pub fn names() -> String {
        let names: Vec<&str> = OPTIMIZERS.iter().map(|o| o.name).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        }
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The entry point of shaders/optim.wgsl that applies this rule (to every model of a launch).
    pub fn entry(self) -> &'static str {
        self.spec().entry
    }

    /// torch's default learning rate for this optimizer.
    pub fn default_lr(self) -> f64 {
        self.spec().lr
    }
}

/// Hyperparameters of every optimizer, under torch's names: the general form the kernels take. Build it from the
/// optimizer's own type ([`SgdConfig`], [`AdagradConfig`], [`RmsPropConfig`], [`AdamConfig`], [`AdamWConfig`],
/// [`NAdamConfig`]); a field the chosen optimizer does not have must keep the value [`OptimizerConfig::new`] gives
/// it, or [`OptimizerConfig::validate`] fails naming it.
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
    /// Adam, AdamW and NAdam β1.
    pub beta1: f64,
    /// Adam, AdamW and NAdam β2.
    pub beta2: f64,
    /// Adam: use the running maximum of the second moment (AMSGrad).
    pub amsgrad: bool,
    /// NAdam momentum decay ψ: μ_t = β1·(1 − ½·0.96^(t·ψ)).
    pub momentum_decay: f64,
    /// L1 penalty: g += l1·sign(θ).
    pub l1: f64,
    /// Clip the global gradient norm to this value before the update (clip_grad_norm_).
    pub clip_norm: Option<f64>,
}

impl OptimizerConfig {
    /// The optimizer `kind` with torch's defaults ([`OPTIMIZERS`]) and learning rate `lr`.
    pub fn new(kind: OptimizerKind, lr: f64) -> Self {
        let mut c = OptimizerConfig {
            kind,
            lr,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            lr_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 0.0,
            alpha: 0.0,
            centered: false,
            beta1: 0.0,
            beta2: 0.0,
            amsgrad: false,
            momentum_decay: 0.0,
            l1: 0.0,
            clip_norm: None,
        };
        for f in HYPERPARAMETERS {
            let value = kind.spec().hyper(f.name).map(|h| h.default).or_else(|| fields::absent_value(f.name));
            // Both come from the tables, where every field has a name set() knows and a value of its type.
            if let Some(v) = value {
                let _ = c.set(f.name, v);
            }
        }
        c
    }

    /// SGD with learning rate `lr`.
    pub fn sgd(lr: f64) -> Self {
        Self::new(OptimizerKind::Sgd, lr)
    }

    /// AdaGrad with learning rate `lr`.
    pub fn adagrad(lr: f64) -> Self {
        Self::new(OptimizerKind::Adagrad, lr)
    }

    /// RMSprop with learning rate `lr`.
    pub fn rmsprop(lr: f64) -> Self {
        Self::new(OptimizerKind::RmsProp, lr)
    }

    /// Adam with learning rate `lr`.
    pub fn adam(lr: f64) -> Self {
        Self::new(OptimizerKind::Adam, lr)
    }

    /// AdamW (weight_decay 0.01) with learning rate `lr`.
    pub fn adamw(lr: f64) -> Self {
        Self::new(OptimizerKind::AdamW, lr)
    }

    /// NAdam (momentum_decay 0.004) with learning rate `lr`.
    pub fn nadam(lr: f64) -> Self {
        Self::new(OptimizerKind::NAdam, lr)
    }

    /// Checks every field torch would check, and that no field the optimizer does not have was set, naming the
    /// first bad one.
    pub fn validate(&self) -> Result<()> {
        if !self.lr.is_finite() || self.lr <= 0.0 {
            return Err(Error::config("lr", format!("must be > 0, got {}", self.lr)));
        }
        self.check_values()?;
        if !self.l1.is_finite() || self.l1 < 0.0 {
            return Err(Error::config("l1", format!("must be a finite number ≥ 0, got {}", self.l1)));
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

    /// State values kept per parameter (the table's `state`: SGD momentum buffer; AdaGrad sum; RMSprop v, ḡ, b;
    /// Adam m, v, v̂max; NAdam m, v).
    pub fn state_slots(&self) -> usize {
        self.kind.spec().state.len()
    }

    /// The value each state slot starts at (only AdaGrad's sum starts non-zero).
    pub fn initial_state(&self) -> f32 {
        match self.kind {
            OptimizerKind::Adagrad => self.initial_accumulator_value as f32,
            _ => 0.0,
        }
    }
}
