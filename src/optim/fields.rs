//! The hyperparameters of the general [`OptimizerConfig`] by name: what each means, how it is checked, and reading
//! or setting one by name (so the command line, validation and tests need no per-optimizer code).

use super::table::{HyperValue, OPTIMIZERS};
use super::{OptimizerConfig, OptimizerKind};
use crate::error::{Error, Result};

/// How a hyperparameter's value is checked (torch's checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// A finite number ≥ 0.
    NonNegative,
    /// A number in [0, 1) (β1, β2).
    Beta,
    /// A switch.
    Flag,
}

/// One hyperparameter field of [`OptimizerConfig`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field's name, torch's name for it.
    pub name: &'static str,
    /// What it does, for help texts.
    pub doc: &'static str,
    /// How its value is checked.
    pub check: Check,
}

const fn field(name: &'static str, doc: &'static str, check: Check) -> Field {
    Field { name, doc, check }
}

/// Every hyperparameter besides the learning rate, l1 and clip_norm, in the order the command line lists them.
pub const HYPERPARAMETERS: [Field; 13] = [
    field("momentum", "Momentum μ", Check::NonNegative),
    field("dampening", "Dampening τ of the momentum buffer", Check::NonNegative),
    field("nesterov", "Nesterov momentum (needs momentum > 0 and dampening 0)", Check::Flag),
    field("lr_decay", "Learning-rate decay η: lr / (1 + (t − 1)η)", Check::NonNegative),
    field("initial_accumulator_value", "Initial value of the squared-gradient sum", Check::NonNegative),
    field("alpha", "Smoothing constant α of the squared-gradient average", Check::NonNegative),
    field("centered", "Normalise by the centered second moment", Check::Flag),
    field("beta1", "β1, the first moment's decay", Check::Beta),
    field("beta2", "β2, the second moment's decay", Check::Beta),
    field("eps", "Denominator epsilon", Check::NonNegative),
    field("amsgrad", "AMSGrad: the running maximum of the second moment", Check::Flag),
    field("momentum_decay", "Momentum decay ψ: μ_t = β1·(1 − ½·0.96^(tψ))", Check::NonNegative),
    field("weight_decay", "Weight decay λ", Check::NonNegative),
];

/// The value a hyperparameter holds in an optimizer that does not have it: the default of the first optimizer
/// that does (so [`OptimizerConfig::new`] and the check that no foreign field was set agree).
pub(super) fn absent_value(name: &str) -> Option<HyperValue> {
    OPTIMIZERS.iter().find_map(|o| o.hyper(name)).map(|h| h.default)
}

impl OptimizerConfig {
    /// The hyperparameter `name` (a name of [`HYPERPARAMETERS`]), or None for another name.
    pub fn get(&self, name: &str) -> Option<HyperValue> {
        use HyperValue::{Flag, Number};
        Some(match name {
            "momentum" => Number(self.momentum),
            "dampening" => Number(self.dampening),
            "nesterov" => Flag(self.nesterov),
            "weight_decay" => Number(self.weight_decay),
            "lr_decay" => Number(self.lr_decay),
            "initial_accumulator_value" => Number(self.initial_accumulator_value),
            "eps" => Number(self.eps),
            "alpha" => Number(self.alpha),
            "centered" => Flag(self.centered),
            "beta1" => Number(self.beta1),
            "beta2" => Number(self.beta2),
            "amsgrad" => Flag(self.amsgrad),
            "momentum_decay" => Number(self.momentum_decay),
            _ => return None,
        })
    }

    /// Sets the hyperparameter `name` to `value`; fails for an unknown name or a value of the wrong type (the
    /// value itself is checked by [`OptimizerConfig::validate`]).
    pub fn set(&mut self, name: &str, value: HyperValue) -> Result<()> {
        let number = |v: HyperValue| match v {
            HyperValue::Number(x) => Ok(x),
            HyperValue::Flag(_) => Err(Error::config(name, "takes a number, not a switch")),
        };
        let switch = |v: HyperValue| match v {
            HyperValue::Flag(b) => Ok(b),
            HyperValue::Number(_) => Err(Error::config(name, "is a switch (true or false), not a number")),
        };
        match name {
            "momentum" => self.momentum = number(value)?,
            "dampening" => self.dampening = number(value)?,
            "nesterov" => self.nesterov = switch(value)?,
            "weight_decay" => self.weight_decay = number(value)?,
            "lr_decay" => self.lr_decay = number(value)?,
            "initial_accumulator_value" => self.initial_accumulator_value = number(value)?,
            "eps" => self.eps = number(value)?,
            "alpha" => self.alpha = number(value)?,
            "centered" => self.centered = switch(value)?,
            "beta1" => self.beta1 = number(value)?,
            "beta2" => self.beta2 = number(value)?,
            "amsgrad" => self.amsgrad = switch(value)?,
            "momentum_decay" => self.momentum_decay = number(value)?,
            _ => return Err(Error::config(name, "is not an optimizer hyperparameter")),
        }
        Ok(())
    }

    /// Whether the hyperparameter `field` is one the optimizer `kind` has. `lr`, `l1` and `clip_norm` apply to
    /// every optimizer.
    pub fn applies(kind: OptimizerKind, field: &str) -> bool {
        matches!(field, "lr" | "l1" | "clip_norm") || kind.spec().hyper(field).is_some()
    }

    /// The optimizers that have `field`, for messages.
    pub fn kinds_with(field: &str) -> Vec<&'static str> {
        OPTIMIZERS.iter().filter(|o| Self::applies(o.kind, field)).map(|o| o.name).collect()
    }

    /// Checks each hyperparameter's value, naming the first bad one.
    pub(super) fn check_values(&self) -> Result<()> {
        for f in HYPERPARAMETERS {
            let Some(HyperValue::Number(v)) = self.get(f.name) else { continue };
            match f.check {
                Check::NonNegative if !v.is_finite() || v < 0.0 => {
                    return Err(Error::config(f.name, format!("must be a finite number ≥ 0, got {v}")));
                }
                Check::Beta if !(0.0..1.0).contains(&v) => {
                    return Err(Error::config(f.name, format!("must be in [0, 1), got {v}")));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Fails naming the first hyperparameter that the optimizer does not have but that was changed.
    pub(super) fn check_applicable(&self) -> Result<()> {
        for f in HYPERPARAMETERS {
            if Self::applies(self.kind, f.name) || self.get(f.name) == absent_value(f.name) {
                continue;
            }
            return Err(Error::config(
                f.name,
                format!(
                    "does not apply to {} (it is a hyperparameter of {})",
                    self.kind.name(),
                    Self::kinds_with(f.name).join(", ")
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_hyperparameter_is_a_field_with_a_value_when_absent() {
        let c = OptimizerConfig::sgd(0.1);
        for f in HYPERPARAMETERS {
            assert!(c.get(f.name).is_some() && absent_value(f.name).is_some(), "{}", f.name);
            let check_matches = matches!(c.get(f.name), Some(HyperValue::Flag(_))) == (f.check == Check::Flag);
            assert!(check_matches, "{}: its check and its type disagree", f.name);
        }
        for o in OPTIMIZERS {
            for h in o.hyperparameters {
                assert!(HYPERPARAMETERS.iter().any(|f| f.name == h.name), "{}.{} is not a field", o.name, h.name);
            }
        }
    }

    #[test]
    fn set_then_get_round_trips_and_refuses_the_wrong_type() {
        let mut c = OptimizerConfig::nadam(2e-3);
        c.set("momentum_decay", HyperValue::Number(0.01)).unwrap();
        assert_eq!(c.get("momentum_decay"), Some(HyperValue::Number(0.01)));
        assert!(c.set("amsgrad", HyperValue::Number(1.0)).unwrap_err().to_string().contains("switch"));
        assert!(c.set("beta1", HyperValue::Flag(true)).is_err());
        assert!(c.set("nonsense", HyperValue::Flag(true)).is_err());
    }
}
