//! Hyperparameter sweeps: axes of option values, the grid of their product or a seeded random draw, and fixed
//! shards of either, so a sweep can be split across processes or machines (Slurm job arrays, Kubernetes Indexed
//! Jobs) and merged back into the table one process would have printed. Options are named and valued as on the
//! command line; turning a configuration into a [`TrainConfig`](crate::train::TrainConfig) is the caller's job.
//! The [`SweepRunner`] trains planned configurations in groups, plainly or by successive halving ([`Halving`]).

pub mod checkpoint;
mod halving;
mod members;
mod results;
mod runner;
mod state_file;

pub use halving::Halving;
pub use members::{config_result, Finished, GroupRun, Planned, SweepState};
pub use results::{
    curves_svg, read_results, results_csv, results_json, sort_results, table, write_results, ConfigResult, FinalMetrics,
};
pub use runner::{StateHook, SweepOptions, SweepOutcome, SweepProgress, SweepRunner};
pub use state_file::{decode_members, encode_members};

use crate::error::{Error, Result};
use crate::internal::rng::Rng;

/// The values one option takes in a sweep.
#[derive(Clone, Debug, PartialEq)]
pub enum AxisValues {
    /// These values, as written on the command line.
    List(Vec<String>),
    /// A range for random search: uniform in [lo, hi], or log-uniform when `log`; rounded when `integer`.
    Range {
        /// Lower end.
        lo: f64,
        /// Upper end.
        hi: f64,
        /// Draw the logarithm uniformly.
        log: bool,
        /// Round to a whole number.
        integer: bool,
    },
}

/// How an option's values are written, which decides how a sweep spec splits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueKind {
    /// Text without commas (`adam`): a list splits on `,` (or `;`).
    Text,
    /// Text that may hold commas (`64,32`): a list splits on `;` only.
    CommaText,
    /// A real number: also `LO:HI` and `log:LO:HI` ranges.
    Float,
    /// A whole number: ranges are rounded.
    Integer,
}

/// One swept option.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// The option name without dashes, as the command line spells it (`lr`, `batch-size`).
    pub name: String,
    /// Its values.
    pub values: AxisValues,
}

/// One configuration of a sweep: (option, value) in axis order.
pub type Assignment = Vec<(String, String)>;

impl Axis {
    /// Parses `spec` for option `name`: for a numeric option, `log:LO:HI` or `LO:HI` is a range (random search
    /// only); otherwise a list split on `;` when the text has one, else on `,` unless the option's values hold
    /// commas themselves (`--layers 64,32`).
    pub fn parse(name: &str, spec: &str, kind: ValueKind) -> Result<Axis> {
        let field = format!("--{name}");
        let numeric = matches!(kind, ValueKind::Float | ValueKind::Integer);
        let integer = kind == ValueKind::Integer;
        let (log, rest) = match spec.strip_prefix("log:") {
            Some(r) if numeric => (true, r),
            _ => (false, spec),
        };
        let parts: Vec<&str> = rest.split(':').collect();
        if numeric && parts.len() == 2 {
            if let (Ok(lo), Ok(hi)) = (parts[0].trim().parse::<f64>(), parts[1].trim().parse::<f64>()) {
                if !(lo.is_finite() && hi.is_finite() && lo <= hi) || (log && lo <= 0.0) {
                    let why = if log { "a log range needs 0 < LO ≤ HI" } else { "a range needs LO ≤ HI" };
                    return Err(Error::config(&field, format!("{spec:?}: {why}")));
                }
                return Ok(Axis { name: name.into(), values: AxisValues::Range { lo, hi, log, integer } });
            }
        }
        if log {
            return Err(Error::config(&field, format!("{spec:?}: expected log:LO:HI with numbers")));
        }
        let sep = if spec.contains(';') {
            ';'
        } else if kind == ValueKind::CommaText {
            '\u{0}'
        } else {
            ','
        };
        let values: Vec<String> = spec.split(sep).map(|v| v.trim().to_string()).collect();
        if values.iter().any(String::is_empty) {
            return Err(Error::config(&field, format!("{spec:?} has an empty value")));
        }
        Ok(Axis { name: name.into(), values: AxisValues::List(values) })
    }

    /// Whether this option varies (more than one value, or a range).
    pub fn varies(&self) -> bool {
        match &self.values {
            AxisValues::List(v) => v.len() > 1,
            AxisValues::Range { .. } => true,
        }
    }

    fn draw(&self, rng: &mut Rng) -> String {
        match &self.values {
            AxisValues::List(v) => v[(rng.next_u64() % v.len() as u64) as usize].clone(),
            &AxisValues::Range { lo, hi, log, integer } => {
                let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                let x = if log { (lo.ln() + u * (hi.ln() - lo.ln())).exp() } else { lo + u * (hi - lo) };
                if integer {
                    format!("{}", x.round().clamp(lo.ceil(), hi.floor()) as i64)
                } else {
                    format!("{}", significant(x, 4))
                }
            }
        }
    }
}

/// `x` rounded to `digits` significant decimal digits, so drawn values print short and parse back exactly.
fn significant(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    let r = (x * scale).round() / scale;
    // Shortest text that round-trips; prefer it over the product's last-bit noise.
    format!("{r:.*e}", (digits - 1) as usize).parse().unwrap_or(r)
}

/// Every combination of the axes' values, the first axis varying slowest. Ranges are refused (random search only).
pub fn grid(axes: &[Axis]) -> Result<Vec<Assignment>> {
    let mut out: Vec<Assignment> = vec![Vec::new()];
    for a in axes {
        let AxisValues::List(values) = &a.values else {
            return Err(Error::config(format!("--{}", a.name), "a range (LO:HI) needs --random N"));
        };
        out = out
            .into_iter()
            .flat_map(|base| {
                values.iter().map(move |v| {
                    let mut c = base.clone();
                    c.push((a.name.clone(), v.clone()));
                    c
                })
            })
            .collect();
    }
    Ok(out)
}

/// `n` configurations drawn from the axes with `seed`: a list gives one of its values uniformly, a range a
/// uniform (or log-uniform) number. The draw depends only on the axes, `n` and `seed`, so every shard sees it.
pub fn random(axes: &[Axis], n: usize, seed: u64) -> Vec<Assignment> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| axes.iter().map(|a| (a.name.clone(), a.draw(&mut rng))).collect()).collect()
}

/// The `index`-th (from 0) of `count` fixed, contiguous slices of a sweep of `len` configurations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// From 0.
    pub index: usize,
    /// At least 1.
    pub count: usize,
}

impl Shard {
    /// Parses `I/N` (0 ≤ I < N).
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = || Error::config("--shard", format!("{s:?}: expected I/N with 0 ≤ I < N, or auto"));
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        Shard::new(index, count).ok_or_else(bad)
    }

    /// A shard, when 0 ≤ index < count.
    pub fn new(index: usize, count: usize) -> Option<Shard> {
        (count >= 1 && index < count).then_some(Shard { index, count })
    }

    /// The shard from the scheduler's environment: Slurm job arrays (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN`
    /// of `SLURM_ARRAY_TASK_COUNT`) or a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX` of `shards`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>, shards: Option<usize>) -> Result<Shard> {
        let num = |name: &'static str| -> Result<Option<usize>> {
            match var(name) {
                None => Ok(None),
                Some(v) => v.trim().parse().map(Some).map_err(|_| Error::BadEnv {
                    name,
                    value: v,
                    reason: "a whole number ≥ 0".into(),
                }),
            }
        };
        if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let count = shards
                .or(num("SLURM_ARRAY_TASK_COUNT")?)
                .ok_or_else(|| Error::config("--shard", "auto: SLURM_ARRAY_TASK_COUNT is not set; give --shards N"))?;
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = id.checked_sub(min).unwrap_or(id);
            return Shard::new(index, count).ok_or_else(|| {
                Error::config("--shard", format!("auto: Slurm task {id} (from {min}) is not one of {count} shards"))
            });
        }
        if let Some(index) = num("JOB_COMPLETION_INDEX")? {
            let count = shards.ok_or_else(|| {
                Error::config("--shards", "is required with JOB_COMPLETION_INDEX (the Job's completions)")
            })?;
            return Shard::new(index, count).ok_or_else(|| {
                Error::config("--shard", format!("auto: JOB_COMPLETION_INDEX {index} is not below --shards {count}"))
            });
        }
        Err(Error::config(
            "--shard",
            "auto: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set (give --shard I/N)",
        ))
    }

    /// The configuration indices of this shard in a sweep of `len`.
    pub fn range(self, len: usize) -> std::ops::Range<usize> {
        (self.index * len / self.count)..((self.index + 1) * len / self.count)
    }
}

#[cfg(test)]
mod tests;
