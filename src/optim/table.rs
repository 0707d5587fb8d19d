//! The table of optimizers: one row per update rule, read by parsing and names, the kernels' entry points and
//! state, [`OptimizerConfig::new`](super::OptimizerConfig::new)'s defaults, validation (which hyperparameters an
//! optimizer has), and the command line's defaults, help and sweep axes. A new optimizer is a row here, a field in
//! [`HYPERPARAMETERS`](super::HYPERPARAMETERS) for each hyperparameter no other optimizer has, its update rule in
//! shaders/optim.wgsl with its CPU twin, and its configuration type.

use super::OptimizerKind;

/// A hyperparameter's value: a number or a switch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HyperValue {
    /// A number (learning-rate decay, β1, ε…).
    Number(f64),
    /// A switch (Nesterov, centered, AMSGrad).
    Flag(bool),
}

impl std::fmt::Display for HyperValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // 1e-8 rather than 0.00000001 in help texts and messages.
            HyperValue::Number(v) if *v != 0.0 && !(1e-3..1e4).contains(&v.abs()) => write!(f, "{v:e}"),
            HyperValue::Number(v) => write!(f, "{v}"),
            HyperValue::Flag(b) => write!(f, "{b}"),
        }
    }
}

/// One hyperparameter of an optimizer, under torch's name (β1 and β2 are torch's `betas`), with torch's default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hyper {
    /// The field of [`OptimizerConfig`](super::OptimizerConfig) that holds it.
    pub name: &'static str,
    /// torch's default.
    pub default: HyperValue,
}

const fn num(name: &'static str, default: f64) -> Hyper {
    Hyper { name, default: HyperValue::Number(default) }
}

const fn flag(name: &'static str) -> Hyper {
    Hyper { name, default: HyperValue::Flag(false) }
}

/// One optimizer: what it is called, which kernels apply it, what state it keeps, and its hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptimizerSpec {
    /// The rule.
    pub kind: OptimizerKind,
    /// The lower-case name the command line and files use.
    pub name: &'static str,
    /// The torch class with the same semantics.
    pub torch: &'static str,
    /// The entry point of shaders/optim.wgsl (one launch updates every model of a group; a lone network is one).
    pub entry: &'static str,
    /// The state kept per parameter, one slot each, in the order the kernel stores them.
    pub state: &'static [&'static str],
    /// torch's default learning rate.
    pub lr: f64,
    /// Every hyperparameter besides the learning rate, with torch's defaults. `l1` and `clip_norm`, wgtrain's
    /// additions, apply to every optimizer and are not listed.
    pub hyperparameters: &'static [Hyper],
    /// Whether `weight_decay` is decoupled (θ *= 1 − lr·λ before the update) rather than torch's coupled L2 penalty
    /// (g += λθ).
    pub decoupled_decay: bool,
}

/// Every optimizer, "in order of increasing complexity".
pub const OPTIMIZERS: [OptimizerSpec; 6] = [
    OptimizerSpec {
        kind: OptimizerKind::Sgd,
        name: "sgd",
        torch: "torch.optim.SGD",
        entry: "sgd_update",
        state: &["momentum buffer"],
        lr: 1e-3,
        hyperparameters: &[num("momentum", 0.0), num("dampening", 0.0), flag("nesterov"), num("weight_decay", 0.0)],
        decoupled_decay: false,
    },
    OptimizerSpec {
        kind: OptimizerKind::Adagrad,
        name: "adagrad",
        torch: "torch.optim.Adagrad",
        entry: "adagrad_update",
        state: &["sum of squares"],
        lr: 1e-2,
        hyperparameters: &[
            num("lr_decay", 0.0),
            num("weight_decay", 0.0),
            num("initial_accumulator_value", 0.0),
            num("eps", 1e-10),
        ],
        decoupled_decay: false,
    },
    OptimizerSpec {
        kind: OptimizerKind::RmsProp,
        name: "rmsprop",
        torch: "torch.optim.RMSprop",
        entry: "rmsprop_update",
        state: &["square average", "gradient average", "momentum buffer"],
        lr: 1e-2,
        hyperparameters: &[
            num("alpha", 0.99),
            num("eps", 1e-8),
            num("weight_decay", 0.0),
            num("momentum", 0.0),
            flag("centered"),
        ],
        decoupled_decay: false,
    },
    OptimizerSpec {
        kind: OptimizerKind::Adam,
        name: "adam",
        torch: "torch.optim.Adam",
        entry: "adam_update",
        state: &["first moment", "second moment", "second moment maximum"],
        lr: 1e-3,
        hyperparameters: &[
            num("beta1", 0.9),
            num("beta2", 0.999),
            num("eps", 1e-8),
            num("weight_decay", 0.0),
            flag("amsgrad"),
        ],
        decoupled_decay: false,
    },
    OptimizerSpec {
        kind: OptimizerKind::AdamW,
        name: "adamw",
        torch: "torch.optim.AdamW",
        entry: "adam_update",
        state: &["first moment", "second moment", "second moment maximum"],
        lr: 1e-3,
        hyperparameters: &[
            num("beta1", 0.9),
            num("beta2", 0.999),
            num("eps", 1e-8),
            num("weight_decay", 1e-2),
            flag("amsgrad"),
        ],
        decoupled_decay: true,
    },
    OptimizerSpec {
        kind: OptimizerKind::NAdam,
        name: "nadam",
        torch: "torch.optim.NAdam",
        entry: "nadam_update",
        state: &["first moment", "second moment"],
        lr: 2e-3,
        hyperparameters: &[
            num("beta1", 0.9),
            num("beta2", 0.999),
            num("eps", 1e-8),
            num("weight_decay", 0.0),
            num("momentum_decay", 4e-3),
        ],
        decoupled_decay: false,
    },
];

impl OptimizerSpec {
    /// This optimizer's hyperparameter `name` (a field of the general configuration), if it has one.
    pub fn hyper(&self, name: &str) -> Option<&'static Hyper> {
        self.hyperparameters.iter().find(|h| h.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_is_its_kinds_and_names_are_unique() {
        for (i, o) in OPTIMIZERS.iter().enumerate() {
            assert_eq!(o.kind.spec(), o, "row {i}");
            assert!(OPTIMIZERS[..i].iter().all(|p| p.name != o.name), "{} is listed twice", o.name);
            assert!(o.lr > 0.0 && !o.state.is_empty(), "{}", o.name);
        }
    }
}
