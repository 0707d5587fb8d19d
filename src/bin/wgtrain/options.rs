//! `wgtrain train` options: from the command line and an optional TOML file (the command line wins), turned into
//! the library's configuration with every value checked.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::{Deserialize, Serialize};
use wgtrain::optim::HyperValue;
use wgtrain::schedule::{BatchGrowth, Schedule, SchedulePer, SCHEDULE_HELP};
use wgtrain::train::{EarlyStopping, Monitor, TrainConfig};
use wgtrain::{Activation, Error, Loss, OptimizerConfig, Precision, Result};

use crate::optimizer_options::{hyper_help, l2_help, lr_help, optimizer, optimizer_help, weight_decay_help, Given};

fn is_false(b: &bool) -> bool {
    !*b
}

/// Every `train` option; each may also be a key of the --config TOML file (the option name without the dashes).
#[derive(Args, Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[command(after_help = SCHEDULE_HELP, allow_negative_numbers = true)]
pub struct TrainOptions {
    /// Training data: a CSV file with a header row, or a directory with the MNIST IDX files.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// Validation data (same kind as --data).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val: Option<PathBuf>,
    /// Hold out this fraction of the training data (seeded) for validation.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_split: Option<f64>,
    /// CSV target column (default: the last column).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// CSV columns to one-hot encode even though they hold numbers, e.g. zip,grade.
    #[arg(long, value_name = "COLS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categorical: Option<String>,
    /// CSV columns that must be numeric (a text cell is then an error).
    #[arg(long, value_name = "COLS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numeric: Option<String>,
    /// CSV columns to leave out, e.g. an id column.
    #[arg(long, value_name = "COLS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Gaps in CSV features: `impute` (mean + indicator; a category of its own) or `drop` the row [default: impute].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
    /// The most distinct values a categorical column may have [default: 50].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_levels: Option<usize>,
    /// `balanced`: weight the cross-entropy by n_samples / (n_classes · class count), as scikit-learn.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_weight: Option<String>,
    /// Hidden layer widths, e.g. 128,64 (empty for a linear model).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<String>,
    /// Hidden activation: relu, leaky_relu[:SLOPE], sigmoid, tanh, gelu, silu, identity [default: relu].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation: Option<String>,
    /// cross-entropy, bce or mse [default: cross-entropy for class targets, mse for numbers].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<String>,
    /// The optimizer's name. Its help text comes from the optimizer tables.
    #[arg(long, help = optimizer_help())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<String>,
    /// Learning rate. Its help text comes from the optimizer tables.
    #[arg(long, help = lr_help())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// Momentum. Its help text comes from the optimizer tables.
    #[arg(long, help = hyper_help("momentum"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub momentum: Option<f64>,
    /// Dampening. Its help text comes from the optimizer tables.
    #[arg(long, help = hyper_help("dampening"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dampening: Option<f64>,
    /// Nesterov momentum. Its help text comes from the optimizer tables.
    #[arg(long, help = hyper_help("nesterov"))]
    #[serde(default, skip_serializing_if = "is_false")]
    pub nesterov: bool,
    /// Learning-rate decay. Its help text comes from the optimizer tables.
    #[arg(long, help = hyper_help("lr_decay"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr_decay: Option<f64>,
    /// Initial squared-gradient sum. Its help text comes from the optimizer tables.
    #[arg(long, help = hyper_help("initial_accumulator_value"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_accumulator_value: Option<f64>,
    /// Smoothing constant. Its help text comes from the optimizer tables.
    #[arg(long, help = hyper_help("alpha"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// Centered second moment. Its help text comes from the optimizer tables.
    #[arg(long, help = hyper_help("centered"))]
    #[serde(default, skip_serializing_if = "is_false")]
    pub centered: bool,
    /// β1. Its help text comes from the optimizer tables.
    #[arg(long, help = hyper_help("beta1"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta1: Option<f64>,
    /// β2. Its help text comes from the optimizer tables.
    #[arg(long, help = hyper_help("beta2"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta2: Option<f64>,
    /// Denominator epsilon. Its help text comes from the optimizer tables.
    #[arg(long, help = hyper_help("eps"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eps: Option<f64>,
    /// AMSGrad. Its help text comes from the optimizer tables.
    #[arg(long, help = hyper_help("amsgrad"))]
    #[serde(default, skip_serializing_if = "is_false")]
    pub amsgrad: bool,
    /// Momentum decay. Its help text comes from the optimizer tables.
    #[arg(long, help = hyper_help("momentum_decay"))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub momentum_decay: Option<f64>,
    /// L1 penalty λ·sign(θ) added to the gradient.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l1: Option<f64>,
    /// Coupled L2 penalty. Its help text comes from the optimizer tables.
    #[arg(long, help = l2_help())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub l2: Option<f64>,
    /// Decoupled weight decay. Its help text comes from the optimizer tables.
    #[arg(long, help = weight_decay_help())]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    /// Clip the global gradient norm to this value.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_norm: Option<f64>,
    /// Learning-rate schedule SPEC (forms below); counted in steps unless --schedule-per epoch.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Count the schedule in optimizer steps or epochs [default: step].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_per: Option<String>,
    /// Linear learning-rate warm-up over N steps (or epochs).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup: Option<u64>,
    /// Samples per batch, or `full` for batch gradient descent [default: 32].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<String>,
    /// Multiply the batch size by FACTOR every EVERY epochs up to MAX.
    #[arg(long, value_name = "FACTOR:EVERY:MAX")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_growth: Option<String>,
    /// Number of epochs [default: 10].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    /// Stop after PATIENCE epochs without validation-loss improvement and restore the best weights.
    #[arg(long, value_name = "PATIENCE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stop: Option<usize>,
    /// The improvement early stopping requires.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_delta: Option<f64>,
    /// Seed for initialisation, shuffling and the validation split [default: 0].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Keep file order instead of shuffling each epoch.
    #[arg(long)]
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_shuffle: bool,
    /// Standardise numeric features and a numeric target with the training set's mean and std (the default for CSV
    /// files; MNIST pixels only with this flag); kept in the model file, predictions mapped back to the target's
    /// units.
    #[arg(long, overrides_with = "no_normalize")]
    #[serde(default, skip_serializing_if = "is_false")]
    pub normalize: bool,
    /// Keep numeric features and the target in their raw units (as a PyTorch run on the raw file sees them).
    #[arg(long, overrides_with = "normalize")]
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_normalize: bool,
    /// Start from the weights in this safetensors file (wgtrain's or PyTorch's, named layers.{i}.weight/bias).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<PathBuf>,
    /// Write the trained model here (safetensors).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub save: Option<PathBuf>,
    /// Write the per-epoch history here (JSON).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<PathBuf>,
    /// Write loss and accuracy curves here (SVG).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plot: Option<PathBuf>,
    /// Write a resumable checkpoint (to the --save file) every N epochs.
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_every: Option<usize>,
    /// Continue an interrupted run from the checkpoint FILE (its options apply; the command line wins).
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub resume: Option<PathBuf>,
    /// Read options from this TOML file; the command line wins.
    #[arg(long)]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// f32, or f16: activations, their gradients and the matmul operands in half precision with f32 master
    /// weights and dynamic loss scaling (needs an adapter with SHADER_F16) [default: f32].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<String>,
    /// Print only the final line.
    #[arg(long)]
    #[serde(default, skip_serializing_if = "is_false")]
    pub quiet: bool,
}

impl TrainOptions {
    /// Overlays these options on the TOML file named by --config, if any.
    pub fn merged(self) -> Result<TrainOptions> {
        let Some(path) = self.config.clone() else { return Ok(self) };
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let from_file: TrainOptions = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
            Error::parse(&path, line.map(|l| format!("line {l}")), e.message().to_string())
        })?;
        let mut out = self.over(&from_file)?;
        out.config = Some(path);
        Ok(out)
    }

    /// These options, with `base` filling every option not given here.
    pub fn over(self, base: &TrainOptions) -> Result<TrainOptions> {
        let (config, resume) = (self.config.clone(), self.resume.clone());
        let mut merged = serde_json::to_value(base).map_err(|e| Error::config("config", e.to_string()))?;
        let cli = serde_json::to_value(&self).map_err(|e| Error::config("config", e.to_string()))?;
        if let (Some(m), Some(c)) = (merged.as_object_mut(), cli.as_object()) {
            // --normalize and --no-normalize are one choice: either given here replaces the base's.
            if c.contains_key("normalize") || c.contains_key("no-normalize") {
                m.remove("normalize");
                m.remove("no-normalize");
            }
            for (k, v) in c {
                m.insert(k.clone(), v.clone());
            }
        }
        let mut out: TrainOptions =
            serde_json::from_value(merged).map_err(|e| Error::config("config", e.to_string()))?;
        out.config = config;
        out.resume = resume;
        Ok(out)
    }

    /// Whether numeric inputs are standardised: yes unless --no-normalize (a config file may not ask for both).
    pub fn standardise(&self) -> Result<bool> {
        if self.normalize && self.no_normalize {
            return Err(Error::config("--no-normalize", "give either --normalize or --no-normalize, not both"));
        }
        Ok(!self.no_normalize)
    }

    /// The hidden widths.
    pub fn hidden(&self) -> Result<Vec<usize>> {
        let spec = self.layers.as_deref().unwrap_or("").trim();
        if spec.is_empty() {
            return Ok(Vec::new());
        }
        spec.split(',')
            .map(|w| match w.trim().parse::<usize>() {
                Ok(v) if v > 0 => Ok(v),
                _ => Err(Error::config(
                    "--layers",
                    format!("{w:?} is not a positive layer width (e.g. --layers 128,64)"),
                )),
            })
            .collect()
    }

    /// The hidden activation.
    pub fn activation(&self) -> Result<Activation> {
        self.activation
            .as_deref()
            .map_or(Ok(Activation::Relu), Activation::parse)
            .map_err(|e| rename(e, "--activation"))
    }

    /// The optimizer configuration with torch's defaults where an option is absent.
    pub fn optimizer(&self) -> Result<OptimizerConfig> {
        use HyperValue::{Flag, Number};
        let hyper = [
            ("momentum", self.momentum.map(Number)),
            ("dampening", self.dampening.map(Number)),
            ("nesterov", self.nesterov.then_some(Flag(true))),
            ("lr_decay", self.lr_decay.map(Number)),
            ("initial_accumulator_value", self.initial_accumulator_value.map(Number)),
            ("alpha", self.alpha.map(Number)),
            ("centered", self.centered.then_some(Flag(true))),
            ("beta1", self.beta1.map(Number)),
            ("beta2", self.beta2.map(Number)),
            ("eps", self.eps.map(Number)),
            ("amsgrad", self.amsgrad.then_some(Flag(true))),
            ("momentum_decay", self.momentum_decay.map(Number)),
        ];
        optimizer(Given {
            optimizer: self.optimizer.as_deref(),
            lr: self.lr,
            hyper: hyper.into_iter().filter_map(|(f, v)| v.map(|v| (f, v))).collect(),
            l1: self.l1,
            l2: self.l2,
            weight_decay: self.weight_decay,
            clip_norm: self.clip_norm,
        })
    }

    /// The training configuration for `loss`.
    pub fn train_config(&self, loss: Loss) -> Result<TrainConfig> {
        let mut cfg = TrainConfig::new(loss, self.optimizer()?);
        cfg.batch_size = match self.batch_size.as_deref().map(str::trim) {
            None => Some(32),
            Some("full") => None,
            Some(v) => match v.parse::<usize>() {
                Ok(b) if b > 0 => Some(b),
                _ => return Err(Error::config("--batch-size", format!("{v:?} is not a positive integer or `full`"))),
            },
        };
        cfg.batch_growth = self
            .batch_growth
            .as_deref()
            .map(BatchGrowth::parse)
            .transpose()
            .map_err(|e| rename(e, "--batch-growth"))?;
        if let Some(e) = self.epochs {
            cfg.epochs = e;
        }
        if cfg.epochs == 0 {
            return Err(Error::config("--epochs", "must be at least 1"));
        }
        let per = self
            .schedule_per
            .as_deref()
            .map_or(Ok(SchedulePer::Step), SchedulePer::parse)
            .map_err(|e| rename(e, "--schedule-per"))?;
        let kind = self
            .schedule
            .as_deref()
            .map_or(Ok(wgtrain::schedule::LrSchedule::Constant), Schedule::parse)
            .map_err(|e| rename(e, "--schedule"))?;
        cfg.schedule = Schedule { kind, per, warmup: self.warmup.unwrap_or(0) };
        cfg.shuffle = !self.no_shuffle;
        if let Some(p) = &self.precision {
            cfg.precision = Precision::parse(p).map_err(|e| rename(e, "--precision"))?;
        }
        cfg.seed = self.seed.unwrap_or(0);
        if let Some(patience) = self.early_stop {
            if patience == 0 {
                return Err(Error::config("--early-stop", "patience must be at least 1"));
            }
            cfg.early_stopping = Some(EarlyStopping {
                monitor: Monitor::ValLoss,
                patience,
                min_delta: self.min_delta.unwrap_or(0.0),
                restore_best: true,
            });
        }
        if let Some(f) = self.val_split {
            if !(f > 0.0 && f < 1.0) {
                return Err(Error::config("--val-split", format!("{f} must be between 0 and 1")));
            }
        }
        cfg.validate().map_err(|e| rename(e, ""))?;
        Ok(cfg)
    }
}

/// Re-labels a config error with the command-line option name the user typed.
fn rename(e: Error, option: &str) -> Error {
    match e {
        Error::Config { field, reason } if option.is_empty() => {
            Error::Config { field: format!("--{}", field.replace('_', "-")), reason }
        }
        Error::Config { reason, .. } => Error::Config { field: option.to_string(), reason },
        other => other,
    }
}

/// The data path, which is required.
pub fn require<'a>(p: &'a Option<PathBuf>, option: &str) -> Result<&'a Path> {
    p.as_deref().ok_or_else(|| Error::config(option, "is required"))
}

/// A clap error as one line: its first line, and clap's "tip:" (a similar option, `--` before a value) when it
/// gives one, so a mistyped option names the option that exists.
pub fn clap_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments").trim_start_matches("error: ").to_string();
    let tips: Vec<&str> = lines.filter(|l| l.starts_with("tip:")).collect();
    if tips.is_empty() {
        first
    } else {
        format!("{first}; {}", tips.join("; "))
    }
}
