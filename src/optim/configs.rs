//! One configuration type per optimizer, holding only the hyperparameters that optimizer has, under torch.optim's
//! names and with its defaults ([`Default`], read from the table [`super::OPTIMIZERS`]); `build` validates and gives the general [`OptimizerConfig`] the
//! kernels take. The terms every optimizer takes (an L1 penalty, gradient clipping) are set on that.
//!
//! ```
//! use wgtrain::optim::{AdamConfig, SgdConfig};
//!
//! # fn main() -> wgtrain::Result<()> {
//! let adam = AdamConfig { lr: 3e-4, amsgrad: true, ..AdamConfig::default() }.build()?;
//! let sgd = SgdConfig { momentum: 0.9, nesterov: true, ..SgdConfig::new(0.05) }.build()?;
//! assert_eq!((adam.beta2, sgd.dampening), (0.999, 0.0));
//! assert!(SgdConfig { nesterov: true, ..SgdConfig::new(0.05) }.build().is_err()); // nesterov needs momentum
//! # Ok(())
//! # }
//! ```

use super::{OptimizerConfig, OptimizerKind};
use crate::error::Result;

/// torch.optim.SGD: with momentum μ, dampening τ and Nesterov's variant; weight_decay is coupled L2.
#[derive(Clone, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate (torch: 1e-3; the table's default).
    pub lr: f64,
    /// Momentum μ (0: plain SGD).
    pub momentum: f64,
    /// Dampening τ of the momentum buffer.
    pub dampening: f64,
    /// Nesterov momentum (needs μ > 0 and τ = 0).
    pub nesterov: bool,
    /// Coupled L2 penalty λ: g += λθ.
    pub weight_decay: f64,
}

/// torch.optim.Adagrad.
#[derive(Clone, Debug, PartialEq)]
pub struct AdagradConfig {
    /// Learning rate (torch: 1e-2).
    pub lr: f64,
    /// Learning-rate decay η: clr = lr / (1 + (t − 1)η).
    pub lr_decay: f64,
    /// Coupled L2 penalty λ.
    pub weight_decay: f64,
    /// Initial value of the squared-gradient sum.
    pub initial_accumulator_value: f64,
    /// Denominator term (torch: 1e-10).
    pub eps: f64,
}

/// torch.optim.RMSprop.
#[derive(Clone, Debug, PartialEq)]
pub struct RmsPropConfig {
    /// Learning rate (torch: 1e-2).
    pub lr: f64,
    /// Smoothing constant α.
    pub alpha: f64,
    /// Denominator term.
    pub eps: f64,
    /// Coupled L2 penalty λ.
    pub weight_decay: f64,
    /// Momentum μ.
    pub momentum: f64,
    /// Normalise by the centered second moment.
    pub centered: bool,
}

/// torch.optim.Adam (L2 penalty coupled into the gradient); for decoupled decay see [`AdamWConfig`].
#[derive(Clone, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate (torch: 1e-3).
    pub lr: f64,
    /// β1.
    pub beta1: f64,
    /// β2.
    pub beta2: f64,
    /// Denominator term.
    pub eps: f64,
    /// Coupled L2 penalty λ: g += λ·θ (torch: 0).
    pub weight_decay: f64,
    /// Use the running maximum of the second moment (AMSGrad).
    pub amsgrad: bool,
}

impl SgdConfig {
    /// SGD at learning rate `lr`, torch's defaults otherwise.
    pub fn new(lr: f64) -> Self {
        let d = defaults(OptimizerKind::Sgd);
        SgdConfig {
            lr,
            momentum: d.momentum,
            dampening: d.dampening,
            nesterov: d.nesterov,
            weight_decay: d.weight_decay,
        }
    }

    /// The validated general configuration.
    pub fn build(self) -> Result<OptimizerConfig> {
        let SgdConfig { lr, momentum, dampening, nesterov, weight_decay } = self;
        let base = OptimizerConfig::new(OptimizerKind::Sgd, lr);
        finish(OptimizerConfig { momentum, dampening, nesterov, weight_decay, ..base })
    }
}

/// `kind`'s general configuration with the table's defaults, to read a configuration type's defaults from.
fn defaults(kind: OptimizerKind) -> OptimizerConfig {
    OptimizerConfig::new(kind, kind.default_lr())
}

impl Default for SgdConfig {
    fn default() -> Self {
        Self::new(OptimizerKind::Sgd.default_lr())
    }
}

impl Default for AdagradConfig {
    fn default() -> Self {
        let d = defaults(OptimizerKind::Adagrad);
        let (lr, lr_decay, weight_decay, eps) = (d.lr, d.lr_decay, d.weight_decay, d.eps);
        AdagradConfig { lr, lr_decay, weight_decay, initial_accumulator_value: d.initial_accumulator_value, eps }
    }
}

impl AdagradConfig {
    /// The validated general configuration.
    pub fn build(self) -> Result<OptimizerConfig> {
        let AdagradConfig { lr, lr_decay, weight_decay, initial_accumulator_value, eps } = self;
        let base = OptimizerConfig::new(OptimizerKind::Adagrad, lr);
        finish(OptimizerConfig { lr_decay, weight_decay, initial_accumulator_value, eps, ..base })
    }
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        let d = defaults(OptimizerKind::RmsProp);
        let (alpha, eps, weight_decay, momentum, centered) = (d.alpha, d.eps, d.weight_decay, d.momentum, d.centered);
        RmsPropConfig { lr: d.lr, alpha, eps, weight_decay, momentum, centered }
    }
}

impl RmsPropConfig {
    /// The validated general configuration.
    pub fn build(self) -> Result<OptimizerConfig> {
        let RmsPropConfig { lr, alpha, eps, weight_decay, momentum, centered } = self;
        let base = OptimizerConfig::new(OptimizerKind::RmsProp, lr);
        finish(OptimizerConfig { alpha, eps, weight_decay, momentum, centered, ..base })
    }
}

impl Default for AdamConfig {
    fn default() -> Self {
        let d = defaults(OptimizerKind::Adam);
        AdamConfig {
            lr: d.lr,
            beta1: d.beta1,
            beta2: d.beta2,
            eps: d.eps,
            weight_decay: d.weight_decay,
            amsgrad: d.amsgrad,
        }
    }
}

impl AdamConfig {
    /// The validated configuration of Adam.
    pub fn build(self) -> Result<OptimizerConfig> {
        let AdamConfig { lr, beta1, beta2, eps, weight_decay, amsgrad } = self;
        let base = OptimizerConfig::new(OptimizerKind::Adam, lr);
        finish(OptimizerConfig { beta1, beta2, eps, weight_decay, amsgrad, ..base })
    }
}

/// torch.optim.AdamW: Adam with decoupled weight decay, θ *= 1 − lr·λ before the Adam update. A type of its own, so
/// AdamW's default decay can never end up coupled into an Adam gradient.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamWConfig {
    /// Learning rate (torch: 1e-3).
    pub lr: f64,
    /// β1.
    pub beta1: f64,
    /// β2.
    pub beta2: f64,
    /// Denominator term.
    pub eps: f64,
    /// Decoupled decay λ (torch: 1e-2).
    pub weight_decay: f64,
    /// Use the running maximum of the second moment (AMSGrad).
    pub amsgrad: bool,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        let d = defaults(OptimizerKind::AdamW);
        let (beta1, beta2, eps, weight_decay, amsgrad) = (d.beta1, d.beta2, d.eps, d.weight_decay, d.amsgrad);
        AdamWConfig { lr: d.lr, beta1, beta2, eps, weight_decay, amsgrad }
    }
}

impl AdamWConfig {
    /// The validated configuration of AdamW.
    pub fn build(self) -> Result<OptimizerConfig> {
        let AdamWConfig { lr, beta1, beta2, eps, weight_decay, amsgrad } = self;
        let base = OptimizerConfig::new(OptimizerKind::AdamW, lr);
        finish(OptimizerConfig { beta1, beta2, eps, weight_decay, amsgrad, ..base })
    }
}

/// torch.optim.NAdam: Adam with Nesterov momentum, whose momentum coefficient follows the schedule
/// μ_t = β1·(1 − ½·0.96^(t·ψ)); weight_decay is torch's coupled L2 penalty (its decoupled_weight_decay=False).
#[derive(Clone, Debug, PartialEq)]
pub struct NAdamConfig {
    /// Learning rate (torch: 2e-3).
    pub lr: f64,
    /// β1.
    pub beta1: f64,
    /// β2.
    pub beta2: f64,
    /// Denominator term.
    pub eps: f64,
    /// Coupled L2 penalty λ: g += λ·θ (torch: 0).
    pub weight_decay: f64,
    /// Momentum decay ψ (torch: 4e-3).
    pub momentum_decay: f64,
}

impl Default for NAdamConfig {
    fn default() -> Self {
        let d = defaults(OptimizerKind::NAdam);
        let (beta1, beta2, eps, weight_decay) = (d.beta1, d.beta2, d.eps, d.weight_decay);
        NAdamConfig { lr: d.lr, beta1, beta2, eps, weight_decay, momentum_decay: d.momentum_decay }
    }
}

impl NAdamConfig {
    /// The validated configuration of NAdam.
    pub fn build(self) -> Result<OptimizerConfig> {
        let NAdamConfig { lr, beta1, beta2, eps, weight_decay, momentum_decay } = self;
        let base = OptimizerConfig::new(OptimizerKind::NAdam, lr);
        finish(OptimizerConfig { beta1, beta2, eps, weight_decay, momentum_decay, ..base })
    }
}

fn finish(c: OptimizerConfig) -> Result<OptimizerConfig> {
    c.validate()?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_torchs() {
        let sgd = SgdConfig::default().build().unwrap();
        assert_eq!((sgd.lr, sgd.momentum, sgd.dampening, sgd.weight_decay, sgd.nesterov), (1e-3, 0.0, 0.0, 0.0, false));
        let ada = AdagradConfig::default().build().unwrap();
        assert_eq!((ada.lr, ada.lr_decay, ada.initial_accumulator_value, ada.eps), (1e-2, 0.0, 0.0, 1e-10));
        let rms = RmsPropConfig::default().build().unwrap();
        assert_eq!((rms.lr, rms.alpha, rms.eps, rms.momentum, rms.centered), (1e-2, 0.99, 1e-8, 0.0, false));
        let adam = AdamConfig::default().build().unwrap();
        assert_eq!(adam.kind, OptimizerKind::Adam);
        assert_eq!((adam.lr, adam.beta1, adam.beta2, adam.eps, adam.weight_decay), (1e-3, 0.9, 0.999, 1e-8, 0.0));
        let adamw = AdamWConfig::default().build().unwrap();
        assert_eq!((adamw.kind, adamw.weight_decay), (OptimizerKind::AdamW, 1e-2));
        let nadam = NAdamConfig::default().build().unwrap();
        assert_eq!((nadam.kind, nadam.lr, nadam.beta1, nadam.beta2), (OptimizerKind::NAdam, 2e-3, 0.9, 0.999));
        assert_eq!((nadam.eps, nadam.weight_decay, nadam.momentum_decay), (1e-8, 0.0, 4e-3));
    }

    #[test]
    fn build_validates_naming_the_field() {
        let err = AdamConfig { beta1: 1.0, ..AdamConfig::default() }.build().unwrap_err().to_string();
        assert!(err.contains("beta1"), "{err}");
        let err = RmsPropConfig { alpha: -1.0, ..RmsPropConfig::default() }.build().unwrap_err().to_string();
        assert!(err.contains("alpha"), "{err}");
        let err = NAdamConfig { momentum_decay: -1.0, ..NAdamConfig::default() }.build().unwrap_err().to_string();
        assert!(err.contains("momentum_decay"), "{err}");
        let err = NAdamConfig { beta2: 1.0, ..NAdamConfig::default() }.build().unwrap_err().to_string();
        assert!(err.contains("beta2"), "{err}");
    }

    #[test]
    fn a_hyperparameter_of_another_optimizer_is_an_error_naming_it() {
        let adam = OptimizerConfig { momentum: 0.9, ..OptimizerConfig::adam(1e-3) };
        let err = adam.validate().unwrap_err().to_string();
        assert!(err.contains("momentum") && err.contains("adam") && err.contains("sgd, rmsprop"), "{err}");
        let sgd = OptimizerConfig { eps: 1e-6, ..OptimizerConfig::sgd(0.1) };
        assert!(sgd.validate().unwrap_err().to_string().contains("eps"));
        let rms = OptimizerConfig { amsgrad: true, ..OptimizerConfig::rmsprop(0.1) };
        assert!(rms.validate().unwrap_err().to_string().contains("amsgrad"));
        let adam = OptimizerConfig { momentum_decay: 0.01, ..OptimizerConfig::adam(1e-3) };
        let err = adam.validate().unwrap_err().to_string();
        assert!(err.contains("momentum_decay") && err.contains("a hyperparameter of nadam)"), "{err}");
        let nadam = OptimizerConfig { amsgrad: true, ..OptimizerConfig::nadam(1e-3) };
        assert!(nadam.validate().unwrap_err().to_string().contains("amsgrad"));
        // Every optimizer's own fields, and the terms all share, stay allowed.
        let shared =
            OptimizerConfig { l1: 1e-4, clip_norm: Some(1.0), weight_decay: 1e-3, ..OptimizerConfig::adagrad(0.1) };
        assert!(shared.validate().is_ok());
    }
}
