//! `wgtrain sweep` arguments: `train`'s options, any of which may be a sweep axis (a comma or `;` list, or for
//! --random a range), plus the sweep's own options. Each configuration becomes a `train` command line, parsed by
//! the same code as `train`, so every train option is checked the same way.

use std::path::PathBuf;

use clap::{CommandFactory, Parser};
use wgtrain::optim::{Check, HYPERPARAMETERS};
use wgtrain::sweep::{Assignment, Axis, ValueKind};
use wgtrain::{Error, Result};

use crate::options::{clap_error_line, TrainOptions};

/// `train`'s options alone, to parse one configuration's command line.
#[derive(Parser, Debug)]
#[command(name = "wgtrain sweep", no_binary_name = true)]
struct TrainArgs {
    #[command(flatten)]
    opts: TrainOptions,
}

/// Options that shape the data or write a single model's files: they may be given once, never swept.
const FIXED: [&str; 14] = [
    "data",
    "val",
    "val-split",
    "target",
    "categorical",
    "numeric",
    "ignore",
    "missing",
    "max-levels",
    "class-weight",
    "normalize",
    "no-normalize",
    "config",
    "init",
];
/// `train` options a sweep has its own form of, or no use for.
const REFUSED: [(&str, &str); 3] = [
    ("save", "use --save-best FILE or --save-all DIR"),
    ("metrics", "use --results FILE"),
    ("checkpoint-every", "a sweep checkpoints at each epoch's end with --checkpoint-dir DIR"),
];
const COMMA_TEXT: [&str; 2] = ["layers", "schedule"];
/// Numeric options besides the optimizers' hyperparameters (those come from `wgtrain::optim::HYPERPARAMETERS`).
const FLOATS: [&str; 5] = ["lr", "l1", "l2", "clip-norm", "min-delta"];
const INTEGERS: [&str; 5] = ["batch-size", "epochs", "early-stop", "seed", "warmup"];

fn kind(name: &str) -> ValueKind {
    if COMMA_TEXT.contains(&name) {
        ValueKind::CommaText
    } else if FLOATS.contains(&name) || numeric_hyperparameter(name) {
        ValueKind::Float
    } else if INTEGERS.contains(&name) {
        ValueKind::Integer
    } else {
        ValueKind::Text
    }
}

/// Whether `name` is the option of a numeric optimizer hyperparameter (`momentum-decay` for `momentum_decay`).
fn numeric_hyperparameter(name: &str) -> bool {
    HYPERPARAMETERS.iter().any(|f| f.check != Check::Flag && f.name.replace('_', "-") == name)
}

/// Where this process's slice of the sweep comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ShardSpec {
    /// `--shard I/N`.
    Given(wgtrain::sweep::Shard),
    /// `--shard auto`: from Slurm's or Kubernetes' environment.
    Auto,
}

/// The parsed `sweep` command line.
#[derive(Debug, Default)]
pub struct SweepArgs {
    /// Train options that do not vary: (name, value or None for a flag), in command-line order.
    pub fixed: Vec<(String, Option<String>)>,
    /// The swept options, in command-line order.
    pub axes: Vec<Axis>,
    /// Draw this many configurations instead of the grid.
    pub random: Option<usize>,
    /// Run one slice of the sweep.
    pub shard: Option<ShardSpec>,
    /// The number of shards for `--shard auto` with Kubernetes (or to override Slurm's count).
    pub shards: Option<usize>,
    /// Merge these result files instead of training.
    pub merge: Vec<PathBuf>,
    /// Whether --merge was given (even with no files).
    pub merging: bool,
    /// Write the results here (.json or .csv).
    pub results: Option<PathBuf>,
    /// Write the validation curves of the best ten here (SVG).
    pub plot: Option<PathBuf>,
    /// Save the best model here.
    pub save_best: Option<PathBuf>,
    /// Save every model in this directory.
    pub save_all: Option<PathBuf>,
    /// At most this many models per group.
    pub max_group: Option<usize>,
    /// Successive halving's η.
    pub halving: Option<usize>,
    /// Successive halving's first rung, in epochs.
    pub min_epochs: Option<usize>,
    /// Print only the table.
    pub quiet: bool,
    /// Keep the sweep's state here, committed at each epoch's end.
    pub checkpoint_dir: Option<PathBuf>,
    /// Go on from the state in --checkpoint-dir (a fresh start when there is none yet).
    pub resume: bool,
}

pub const SWEEP_HELP: &str = "\
Train every combination of the given options: any `train` option given as a comma list is a sweep axis
(--layers and --schedule take `;` between values: --layers \"64,32;128,64\"). `wgtrain train --help` lists them.

Sweep options:
  --random N          draw N configurations (seeded by the first --seed) instead of the grid; numeric options
                      then also take ranges LO:HI or log:LO:HI (--lr log:1e-5:1e-1 --momentum 0.8:0.99)
  --results FILE      write one record per configuration (.json or .csv)
  --plot FILE         validation-loss curves of the best ten (SVG)
  --save-best FILE    the best model (loads in eval, predict and PyTorch)
  --save-all DIR      every model, as DIR/config-INDEX.safetensors
  --shard I/N|auto    run only the I-th (from 0) of N fixed slices; auto reads SLURM_ARRAY_TASK_ID/COUNT or
                      JOB_COMPLETION_INDEX with --shards N
  --shards N          the number of shards for --shard auto
  --merge A.json ...  merge shard results into the table (and --results/--plot) one run would give
  --max-group K       train at most K models together
  --halving ETA       successive halving: every configuration trains --min-epochs epochs, the best 1/ETA (by
                      validation loss, else training loss) go on to ETA times as many, and so on up to --epochs;
                      the others stop (\"halved\") at the rung they reached (with --shard, within each shard)
  --min-epochs R      the first rung of --halving [default: 1]
  --checkpoint-dir DIR  keep the sweep's whole state in DIR, replaced atomically at each epoch's end
  --resume            go on from DIR's state (bitwise as if never stopped); with no state yet, start fresh
  --quiet             print only the table

Configurations that share the architecture, activation, loss, batch size, optimizer kind and precision train
together as one group, on the same batches: the first --seed value seeds the shuffle and the validation split, and each
configuration's --seed its initial weights.";

/// Puts each result's options in `train`'s --help order, so a table has the same columns whether it comes from a
/// run or from merged files (JSON objects do not keep key order).
pub fn canonical_order(results: &mut [wgtrain::sweep::ConfigResult]) {
    let cmd = TrainArgs::command();
    let names: Vec<&str> = cmd.get_arguments().filter_map(|a| a.get_long()).collect();
    let rank = |k: &str| names.iter().position(|n| *n == k).unwrap_or(usize::MAX);
    for r in results {
        r.options.sort_by_key(|(k, _)| rank(k));
    }
}

/// The value-taking and flag options of `train`, from its clap definition.
fn train_option(name: &str) -> Option<bool> {
    let cmd = TrainArgs::command();
    let arg = cmd.get_arguments().find(|a| a.get_long() == Some(name))?;
    Some(arg.get_action().takes_values())
}

fn value<'a>(name: &str, inline: Option<&'a str>, rest: &mut impl Iterator<Item = &'a String>) -> Result<&'a str> {
    inline
        .or_else(|| rest.next().map(String::as_str))
        .ok_or_else(|| Error::config(format!("--{name}"), "needs a value"))
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T> {
    v.trim().parse().map_err(|_| Error::config(format!("--{name}"), format!("{v:?} is not a whole number")))
}

impl SweepArgs {
    /// Parses the words after `sweep`.
    pub fn parse(words: &[String]) -> Result<SweepArgs> {
        let mut out = SweepArgs::default();
        let mut seen: Vec<String> = Vec::new();
        let mut it = words.iter().peekable();
        while let Some(word) = it.next() {
            let Some(flag) = word.strip_prefix("--") else {
                return Err(Error::config("sweep", format!("unexpected {word:?} (options start with --)")));
            };
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (flag, None),
            };
            if seen.iter().any(|s| s == name) && name != "merge" {
                return Err(Error::config(format!("--{name}"), "is given twice; list its values once: --lr 1e-3,1e-2"));
            }
            seen.push(name.to_string());
            match name {
                "random" => out.random = Some(number(name, value(name, inline, &mut it)?)?),
                "shards" => out.shards = Some(number(name, value(name, inline, &mut it)?)?),
                "halving" => out.halving = Some(number(name, value(name, inline, &mut it)?)?),
                "min-epochs" => out.min_epochs = Some(number(name, value(name, inline, &mut it)?)?),
                "max-group" => out.max_group = Some(number::<usize>(name, value(name, inline, &mut it)?)?.max(1)),
                "shard" => {
                    let v = value(name, inline, &mut it)?;
                    out.shard = Some(if v == "auto" {
                        ShardSpec::Auto
                    } else {
                        ShardSpec::Given(wgtrain::sweep::Shard::parse(v)?)
                    });
                }
                "results" => out.results = Some(value(name, inline, &mut it)?.into()),
                "plot" => out.plot = Some(value(name, inline, &mut it)?.into()),
                "save-best" => out.save_best = Some(value(name, inline, &mut it)?.into()),
                "save-all" => out.save_all = Some(value(name, inline, &mut it)?.into()),
                "quiet" => out.quiet = true,
                "resume" if inline.is_none() => out.resume = true,
                "resume" => return Err(Error::config("--resume", "takes no value (the state is in --checkpoint-dir)")),
                "checkpoint-dir" => out.checkpoint_dir = Some(value(name, inline, &mut it)?.into()),
                "merge" => {
                    out.merging = true;
                    out.merge.extend(inline.map(PathBuf::from));
                    while let Some(p) = it.next_if(|w| !w.starts_with("--")) {
                        out.merge.push(p.into());
                    }
                }
                _ => out.train_option(name, inline, &mut it)?,
            }
        }
        Ok(out)
    }

    fn train_option<'a>(
        &mut self,
        name: &str,
        inline: Option<&'a str>,
        it: &mut impl Iterator<Item = &'a String>,
    ) -> Result<()> {
        if let Some((_, why)) = REFUSED.iter().find(|(n, _)| *n == name) {
            return Err(Error::config(format!("--{name}"), format!("is not a sweep option: {why}")));
        }
        match train_option(name) {
            None => Err(Error::config(format!("--{name}"), "is neither a train nor a sweep option (see sweep --help)")),
            Some(false) => {
                self.fixed.push((name.to_string(), None));
                Ok(())
            }
            Some(true) => {
                let v = value(name, inline, it)?;
                let axis = Axis::parse(name, v, kind(name))?;
                if !axis.varies() {
                    self.fixed.push((name.to_string(), Some(v.to_string())));
                } else if FIXED.contains(&name) {
                    return Err(Error::config(format!("--{name}"), "shapes the data; it cannot be a sweep axis"));
                } else {
                    self.axes.push(axis);
                }
                Ok(())
            }
        }
    }

    /// The `train` options of one configuration.
    pub fn options(&self, config: &Assignment) -> Result<TrainOptions> {
        let mut words: Vec<String> = Vec::new();
        for (name, v) in &self.fixed {
            words.push(format!("--{name}"));
            words.extend(v.clone());
        }
        for (name, v) in config {
            // `--name=value` keeps a negative or dash-led value from reading as an option.
            words.push(format!("--{name}={v}"));
        }
        let args = TrainArgs::try_parse_from(&words).map_err(|e| Error::config("sweep", clap_error_line(&e)))?;
        args.opts.merged()
    }
}
