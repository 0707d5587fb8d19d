//! Learning-rate and batch-size schedules: pure functions of a step or epoch counter, plus the one
//! stateful schedule (ReduceLROnPlateau) whose state is plain data so that it can be checkpointed.

use std::fmt;

use crate::error::{Error, Result};
mod plateau;

pub(crate) use plateau::PlateauState;
pub use plateau::{PlateauConfig, PLATEAU_EPS};

/// The CLI forms of `--schedule` with their formulas (α0 = base learning rate, t = counter from 0).
pub const SCHEDULE_HELP: &str = "\
learning-rate schedules (α0 = --lr, t = step or epoch counter from 0):
  constant               α = α0
  step:K:GAMMA           α = α0·γ^floor(t/K)
  exp:K:GAMMA            α = α0·γ^(t/K)
  exp-stair:K:GAMMA      α = α0·γ^floor(t/K)
  inv-sqrt               α = α0/√(t+1)
  inv-time:DELTA         α = α0/√(1+δ·t)
  linear:K:DELTA:MIN     α = max(MIN, α0 − Δ·floor(t/K))
  cosine:T:MIN           α = MIN + (α0−MIN)·(1+cos(π·min(t,T)/T))/2
  plateau:PATIENCE:FACTOR  ReduceLROnPlateau on the validation loss: α ← max(min_lr, α·FACTOR)
                           after PATIENCE+1 epochs without a relative improvement of 1e-4
with warm-up W > 0 every form is multiplied by min(1, (t+1)/W)";

/// The shape of the learning-rate curve; α0 is the base learning rate, t the counter of [`SchedulePer`].
#[derive(Clone, Debug, PartialEq)]
pub enum LrSchedule {
    /// α = α0.
    Constant,
    /// α = α0·γ^floor(t/every) (torch StepLR).
    Step {
        /// Counter units between decays, ≥ 1.
        every: u64,
        /// Multiplicative decay γ > 0.
        gamma: f64,
    },
    /// α = α0·γ^(t/every), or α0·γ^floor(t/every) when `staircase`.
    Exponential {
        /// Counter units per full factor γ, ≥ 1.
        every: u64,
        /// Multiplicative decay γ > 0.
        gamma: f64,
        /// Use floor(t/every) instead of the real quotient.
        staircase: bool,
    },
    /// α = α0/√(t+1).
    InvSqrt,
    /// α = α0/√(1+δ·t).
    InvTime {
        /// Decay rate δ ≥ 0.
        delta: f64,
    },
    /// α = max(min, α0 − Δ·floor(t/every)).
    Linear {
        /// Counter units between decrements, ≥ 1.
        every: u64,
        /// Decrement Δ ≥ 0.
        delta: f64,
        /// Floor of the learning rate, ≥ 0.
        min: f64,
    },
    /// α = min + (α0−min)·(1+cos(π·min(t,T)/T))/2, so α = min for t ≥ T.
    Cosine {
        /// Period T ≥ 1.
        period: u64,
        /// Final learning rate, ≥ 0.
        min: f64,
    },
    /// torch ReduceLROnPlateau; the learning rate lives in a [`PlateauState`].
    Plateau(PlateauConfig),
}

/// What the schedule counter t counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SchedulePer {
    /// Optimizer steps from 0.
    #[default]
    Step,
    /// Epochs from 0.
    Epoch,
}

/// A learning-rate schedule with linear warm-up; `warmup` is in the unit of `per`.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// The curve.
    pub kind: LrSchedule,
    /// Warm-up length W; 0 disables warm-up.
    pub warmup: u64,
    /// The unit of t and of `warmup`.
    pub per: SchedulePer,
}

impl SchedulePer {
    /// Parses `step` or `epoch`, the spellings the command line and the web page accept.
    pub fn parse(s: &str) -> Result<SchedulePer> {
        match s.trim() {
            "step" => Ok(SchedulePer::Step),
            "epoch" => Ok(SchedulePer::Epoch),
            other => Err(Error::config("schedule_per", format!("{other:?}: expected step or epoch"))),
        }
    }
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule { kind: LrSchedule::Constant, warmup: 0, per: SchedulePer::Step }
    }
}

impl LrSchedule {
    /// The learning rate at t without warm-up; `Plateau` returns `base_lr` unchanged.
    pub fn lr(&self, base_lr: f64, t: u64) -> f64 {
        let tf = t as f64;
        match *self {
            LrSchedule::Constant | LrSchedule::Plateau(_) => base_lr,
            LrSchedule::Step { every, gamma } => base_lr * gamma.powf((t / every.max(1)) as f64),
            LrSchedule::Exponential { every, gamma, staircase } => {
                let every = every.max(1);
                let exponent = if staircase { (t / every) as f64 } else { tf / every as f64 };
                base_lr * gamma.powf(exponent)
            }
            LrSchedule::InvSqrt => base_lr / (tf + 1.0).sqrt(),
            LrSchedule::InvTime { delta } => base_lr / (1.0 + delta * tf).sqrt(),
            LrSchedule::Linear { every, delta, min } => min.max(base_lr - delta * (t / every.max(1)) as f64),
            LrSchedule::Cosine { period, min } => {
                let period = period.max(1);
                let progress = t.min(period) as f64 / period as f64;
                min + (base_lr - min) * (1.0 + (std::f64::consts::PI * progress).cos()) / 2.0
            }
        }
    }
}

/// Writes the CLI spec that [`Schedule::parse`] reads back (plateau keeps only patience and factor).
impl fmt::Display for LrSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LrSchedule::Constant => write!(f, "constant"),
            LrSchedule::Step { every, gamma } => write!(f, "step:{every}:{gamma}"),
            LrSchedule::Exponential { every, gamma, staircase: false } => write!(f, "exp:{every}:{gamma}"),
            LrSchedule::Exponential { every, gamma, staircase: true } => write!(f, "exp-stair:{every}:{gamma}"),
            LrSchedule::InvSqrt => write!(f, "inv-sqrt"),
            LrSchedule::InvTime { delta } => write!(f, "inv-time:{delta}"),
            LrSchedule::Linear { every, delta, min } => write!(f, "linear:{every}:{delta}:{min}"),
            LrSchedule::Cosine { period, min } => write!(f, "cosine:{period}:{min}"),
            LrSchedule::Plateau(c) => write!(f, "plateau:{}:{}", c.patience, c.factor),
        }
    }
}

impl Schedule {
    /// The warm-up multiplier min(1, (t+1)/W), or 1 when W = 0.
    pub fn warmup_factor(&self, t: u64) -> f64 {
        if self.warmup == 0 {
            1.0
        } else {
            ((t as f64 + 1.0) / self.warmup as f64).min(1.0)
        }
    }

    /// α(t)·min(1, (t+1)/W); for `Plateau` pass the [`PlateauState::lr`] as `base_lr`.
    pub fn lr(&self, base_lr: f64, t: u64) -> f64 {
        self.kind.lr(base_lr, t) * self.warmup_factor(t)
    }

    /// Parses a CLI spec such as `cosine:1000:0` (see [`SCHEDULE_HELP`]), validating every argument.
    pub fn parse(spec: &str) -> Result<LrSchedule> {
        let parts: Vec<&str> = spec.trim().split(':').map(str::trim).collect();
        let arity = |form: &str, n: usize| {
            if parts.len() == n + 1 {
                Ok(())
            } else {
                Err(bad(spec, format!("expected the form {form}")))
            }
        };
        let kind = match parts[0] {
            "constant" => {
                arity("constant", 0)?;
                LrSchedule::Constant
            }
            "step" => {
                arity("step:K:GAMMA", 2)?;
                LrSchedule::Step { every: positive_u64(spec, "K", parts[1])?, gamma: gamma(spec, parts[2])? }
            }
            name @ ("exp" | "exp-stair") => {
                arity(&format!("{name}:K:GAMMA"), 2)?;
                let (every, gamma) = (positive_u64(spec, "K", parts[1])?, gamma(spec, parts[2])?);
                LrSchedule::Exponential { every, gamma, staircase: name == "exp-stair" }
            }
            "inv-sqrt" => {
                arity("inv-sqrt", 0)?;
                LrSchedule::InvSqrt
            }
            "inv-time" => {
                arity("inv-time:DELTA", 1)?;
                LrSchedule::InvTime { delta: non_negative(spec, "DELTA", parts[1])? }
            }
            "linear" => {
                arity("linear:K:DELTA:MIN", 3)?;
                LrSchedule::Linear {
                    every: positive_u64(spec, "K", parts[1])?,
                    delta: non_negative(spec, "DELTA", parts[2])?,
                    min: non_negative(spec, "MIN", parts[3])?,
                }
            }
            "cosine" => {
                arity("cosine:T:MIN", 2)?;
                LrSchedule::Cosine {
                    period: positive_u64(spec, "T", parts[1])?,
                    min: non_negative(spec, "MIN", parts[2])?,
                }
            }
            "plateau" => {
                arity("plateau:PATIENCE:FACTOR", 2)?;
                let patience = parts[1]
                    .parse::<u64>()
                    .map_err(|_| bad(spec, format!("PATIENCE must be an integer ≥ 0, got `{}`", parts[1])))?;
                let factor = number(spec, "FACTOR", parts[2])?;
                let config = PlateauConfig { patience, factor, ..PlateauConfig::default() };
                config.validate().map_err(|_| bad(spec, format!("FACTOR must be in (0, 1), got `{}`", parts[2])))?;
                LrSchedule::Plateau(config)
            }
            other => {
                return Err(bad(spec, format!("unknown schedule `{other}`; expected one of {FORMS}")));
            }
        };
        Ok(kind)
    }
}

/// The accepted forms, for error messages.
const FORMS: &str = "constant, step:K:GAMMA, exp:K:GAMMA, exp-stair:K:GAMMA, inv-sqrt, inv-time:DELTA, \
                     linear:K:DELTA:MIN, cosine:T:MIN, plateau:PATIENCE:FACTOR";

fn bad(spec: &str, reason: String) -> Error {
    Error::config("schedule", format!("`{spec}`: {reason}"))
}

fn positive_u64(spec: &str, what: &str, s: &str) -> Result<u64> {
    match s.parse::<u64>() {
        Ok(v) if v >= 1 => Ok(v),
        _ => Err(bad(spec, format!("{what} must be an integer ≥ 1, got `{s}`"))),
    }
}

fn number(spec: &str, what: &str, s: &str) -> Result<f64> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(bad(spec, format!("{what} must be a finite number, got `{s}`"))),
    }
}

fn non_negative(spec: &str, what: &str, s: &str) -> Result<f64> {
    match number(spec, what, s)? {
        v if v >= 0.0 => Ok(v),
        _ => Err(bad(spec, format!("{what} must be ≥ 0, got `{s}`"))),
    }
}

fn gamma(spec: &str, s: &str) -> Result<f64> {
    match number(spec, "GAMMA", s)? {
        v if v > 0.0 => Ok(v),
        _ => Err(bad(spec, format!("GAMMA must be > 0, got `{s}`"))),
    }
}

/// Batch-size growth: B(e) = max(1, min(max, floor(B0·factor^floor(e/every)))).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchGrowth {
    /// Growth factor ≥ 1.
    pub factor: f64,
    /// Epochs between growths, ≥ 1.
    pub every: u64,
    /// Largest batch size, ≥ 1.
    pub max: usize,
}

impl BatchGrowth {
    /// max(1, min(max, floor(base·factor^floor(epoch/every)))), epoch counted from 0.
    pub fn batch_size(&self, base: usize, epoch: u64) -> usize {
        let grown = (base as f64 * self.factor.powf((epoch / self.every.max(1)) as f64)).floor();
        // `as` saturates (∞ → usize::MAX), so overflow just clamps to max.
        (grown as usize).min(self.max).max(1)
    }

    /// Parses `FACTOR:EVERY:MAX` with factor ≥ 1, every ≥ 1, max ≥ 1.
    pub fn parse(spec: &str) -> Result<BatchGrowth> {
        let err = |reason: String| Error::config("batch growth", format!("`{spec}`: {reason}"));
        let parts: Vec<&str> = spec.trim().split(':').map(str::trim).collect();
        let [factor, every, max] = parts[..] else {
            return Err(err("expected the form FACTOR:EVERY:MAX".into()));
        };
        let factor = match factor.parse::<f64>() {
            Ok(f) if f >= 1.0 && f.is_finite() => f,
            _ => return Err(err(format!("FACTOR must be a finite number ≥ 1, got `{factor}`"))),
        };
        let every = match every.parse::<u64>() {
            Ok(e) if e >= 1 => e,
            _ => return Err(err(format!("EVERY must be an integer ≥ 1, got `{every}`"))),
        };
        let max = match max.parse::<usize>() {
            Ok(m) if m >= 1 => m,
            _ => return Err(err(format!("MAX must be an integer ≥ 1, got `{max}`"))),
        };
        Ok(BatchGrowth { factor, every, max })
    }
}

#[cfg(test)]
mod tests;
