//! `wgtrain train`, as named steps: read and check everything (options, data, model) before any GPU work, start
//! the trainer, run the epochs with checkpoints, then write what was asked for and print the summary.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use wgtrain::data::csv::TargetKind;
use wgtrain::data::normalize::Normalizer;
use wgtrain::data::preprocess::Preprocessor;
use wgtrain::data::Dataset;
use wgtrain::history::History;
use wgtrain::internal::atomic_file::check_writable;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::network::DeviceData;
use wgtrain::saved::{load_weights, SavedModel};
use wgtrain::train::{Event, TrainConfig, Trainer};
use wgtrain::{Error, Gpu, Loss, Result};

use crate::options::{require, TrainOptions};
use crate::resume::{self, Checkpoint};
use crate::tabular::{load_training, Loaded};

/// Everything `train` reads and checks before it touches the GPU.
pub struct Prepared {
    /// The options, merged with a config file and a resumed checkpoint's.
    pub opts: TrainOptions,
    /// The checkpoint to resume from.
    pub resume: Option<Checkpoint>,
    loss: Loss,
    hidden: Vec<usize>,
    train: Dataset,
    val: Option<Dataset>,
    preprocessor: Option<Preprocessor>,
    normalizer: Option<Normalizer>,
    notes: Vec<String>,
    config: TrainConfig,
    model: MlpConfig,
    params: Vec<f32>,
}

/// Reads the options, the data and the initial weights, and checks the output paths.
pub fn prepare(opts: TrainOptions) -> Result<Prepared> {
    let opts = opts.merged()?;
    let resume = opts.resume.as_deref().map(Checkpoint::read).transpose()?;
    let opts = match &resume {
        Some(ck) => opts.over(&ck.options)?,
        None => opts,
    };
    check_options(&opts)?;
    let data_path = require(&opts.data, "--data")?.to_path_buf();
    let hidden = opts.hidden()?;
    let activation = opts.activation()?;
    let loss_opt = requested_loss(&opts)?;
    let kind = TargetKind::for_loss(loss_opt);
    let Loaded { train, val, preprocessor, normalizer, notes } = load_training(&opts, kind, opts.seed.unwrap_or(0))?;
    let loss = loss_opt.unwrap_or_else(|| train.default_loss());
    let config = train_config(&opts, loss, &train, &data_path)?;
    let model = MlpConfig::new(train.n_features, &hidden, train.output_width(loss), activation);
    model.validate()?;
    if let Some(ck) = &resume {
        let saved = &ck.saved.model;
        if saved.preprocessor != preprocessor || saved.normalizer != normalizer || saved.classes != train.classes {
            let why = format!(
                "the checkpoint was trained on data prepared differently from {} now (the file, or an option that \
                 shapes the data, changed); resume with the data and options of the interrupted run",
                data_path.display()
            );
            return Err(Error::config("--resume", why));
        }
    }
    let params = match &opts.init {
        Some(p) => load_weights(p, &model)?,
        None => init_params(&model, Init::Torch, config.seed)?,
    };
    Ok(Prepared { opts, resume, loss, hidden, train, val, preprocessor, normalizer, notes, config, model, params })
}

/// The option combinations that cannot work, and output paths that cannot be written.
fn check_options(opts: &TrainOptions) -> Result<()> {
    match (opts.checkpoint_every, &opts.save) {
        (Some(0), _) => return Err(Error::config("--checkpoint-every", "must be at least 1 epoch")),
        (Some(_), None) => {
            return Err(Error::config("--checkpoint-every", "needs --save FILE to write the checkpoint to"))
        }
        _ => {}
    }
    require(&opts.data, "--data")?;
    if opts.early_stop.is_some() && opts.val.is_none() && opts.val_split.is_none() {
        return Err(Error::config("--early-stop", "needs a validation set: add --val FILE or --val-split FRACTION"));
    }
    for p in [&opts.save, &opts.metrics, &opts.plot].into_iter().flatten() {
        check_writable(p)?;
    }
    Ok(())
}

fn requested_loss(opts: &TrainOptions) -> Result<Option<Loss>> {
    opts.loss.as_deref().map(Loss::parse).transpose().map_err(|e| option_error(e, "--loss"))
}

/// A library config error re-labelled with the command-line option that set the value.
fn option_error(e: Error, option: &str) -> Error {
    match e {
        Error::Config { reason, .. } => Error::config(option, reason),
        e => e,
    }
}

/// The training configuration, checked against the targets it will read.
fn train_config(opts: &TrainOptions, loss: Loss, train: &Dataset, data_path: &Path) -> Result<TrainConfig> {
    let mut config = opts.train_config(loss)?;
    if !opts.quiet {
        // The bar shows the running loss; reading it back every 20 steps keeps the pipeline mostly full.
        config.report_every = Some(20);
    }
    train.check_targets(loss, data_path).map_err(|e| option_error(e, "--loss"))?;
    if opts.balanced()? {
        if loss != Loss::CrossEntropy {
            return Err(Error::config(
                "--class-weight",
                format!("balanced weights need cross-entropy, not {}", loss.name()),
            ));
        }
        config.class_weights = train.balanced_class_weights();
    }
    Ok(config)
}

impl Prepared {
    /// Prints what reading the data noticed (dropped rows, imputed gaps, …).
    pub fn print_notes(&self) {
        for note in &self.notes {
            eprintln!("wgtrain: {note}");
        }
    }

    /// Unless quiet, prints the adapter and the model.
    pub fn print_header(&self, gpu: &Gpu) {
        if self.opts.quiet {
            return;
        }
        outln!("adapter: {}", gpu.adapter());
        outln!(
            "model: {} → {} → {} ({}), loss {}, optimizer {}, {} training samples{}",
            self.model.input,
            self.hidden.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(" → "),
            self.model.output(),
            self.model.activation.name(),
            self.loss.name(),
            self.config.optimizer.kind.name(),
            self.train.len(),
            self.val.as_ref().map(|v| format!(", {} validation", v.len())).unwrap_or_default()
        );
    }

    /// The trainer, restored from the checkpoint when resuming, stopped cleanly by the first Ctrl-C, with the
    /// training and validation data on the device.
    pub fn start<'g>(&self, gpu: &'g Gpu) -> Result<(Trainer<'g>, DeviceData, Option<DeviceData>)> {
        let rows = self.config.buffer_rows(self.train.len(), self.val.as_ref().map_or(0, Dataset::len));
        if let Some(ck) = &self.resume {
            ck.saved.apply_variants(gpu);
        }
        let mut trainer = Trainer::new(gpu, &self.model, &self.params, self.config.clone(), rows)?;
        if let Some(ck) = &self.resume {
            ck.saved.restore(&mut trainer)?;
        }
        trainer.set_stop_flag(ctrl_c_stop_flag());
        let train_data = trainer.upload(&self.train.features, &self.train.targets)?;
        let val_data = self.val.as_ref().map(|v| trainer.upload(&v.features, &v.targets)).transpose()?;
        Ok((trainer, train_data, val_data))
    }

    /// The model as it stands, with what eval and predict need to read data the way training did.
    pub fn describe(&self, trainer: &Trainer<'_>) -> Result<SavedModel> {
        Ok(SavedModel {
            model: trainer.model().clone(),
            loss: self.loss,
            params: trainer.params()?,
            classes: self.train.classes.clone(),
            feature_names: self.train.feature_names.clone(),
            target_name: self.train.target_name.clone(),
            normalizer: self.normalizer.clone(),
            preprocessor: self.preprocessor.clone(),
        })
    }

    /// Trains to the end, writing a checkpoint every `--checkpoint-every` epochs and when interrupted; a divergence
    /// names the last good checkpoint.
    pub fn run(&self, trainer: &mut Trainer<'_>, train: &DeviceData, val: Option<&DeviceData>) -> Result<()> {
        let mut progress = Progress::new(self.opts.quiet);
        let every = self.opts.checkpoint_every.unwrap_or(usize::MAX);
        let mut last_checkpoint: Option<(PathBuf, usize)> = None;
        let result = loop {
            match trainer.fit_epochs(train, val, every, &mut |e| progress.on_event(e)).map(|_| ()) {
                Ok(_) if trainer.finished() => break Ok(()),
                Ok(_) => {
                    if let Some(p) = &self.opts.save {
                        resume::write(trainer, self.describe(trainer)?, &self.opts, p)?;
                        last_checkpoint = Some((p.clone(), trainer.history().epochs.len()));
                    }
                }
                Err(e) => break Err(e),
            }
        };
        progress.bar.finish_and_clear();
        match result {
            Err(e @ Error::Interrupted { .. }) => {
                if let Some(p) = &self.opts.save {
                    resume::write(trainer, self.describe(trainer)?, &self.opts, p)?;
                    eprintln!("wgtrain: interrupted; checkpoint written to {} (continue with --resume)", p.display());
                }
                Err(e)
            }
            Err(e @ Error::Diverged { .. }) => {
                if let Some((p, epoch)) = &last_checkpoint {
                    eprintln!("wgtrain: the last good checkpoint is {} (epoch {epoch})", p.display());
                }
                Err(e)
            }
            other => other,
        }
    }

    /// Writes the model (or its finished checkpoint), the metrics and the plot, and prints the summary line.
    pub fn finish(&self, trainer: &Trainer<'_>) -> Result<()> {
        let history = trainer.history().clone();
        if let Some(p) = &self.opts.save {
            let model = self.describe(trainer)?;
            if self.opts.checkpoint_every.is_some() {
                // Still a checkpoint, marked finished: a process killed between this write and its exit can be
                // resumed (it then has nothing left to do) instead of finding a file --resume rejects.
                resume::write(trainer, model, &self.opts, p)?;
            } else {
                model.save(p)?;
            }
        }
        if let Some(p) = &self.opts.metrics {
            history.write_json(p)?;
        }
        if let Some(p) = &self.opts.plot {
            wgtrain::plot::write_svg(p, &history)?;
        }
        outln!("{}", summary(&history)?);
        Ok(())
    }
}

/// A flag the first Ctrl-C sets, so training stops cleanly after the current step; a second Ctrl-C while the first
/// is being honoured falls through to the default behaviour (exit).
pub fn ctrl_c_stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    stop
}

/// "trained N epochs: loss …", with accuracy, validation and early stopping when there are.
fn summary(history: &History) -> Result<String> {
    let last = history.epochs.last().ok_or_else(|| Error::config("--epochs", "no epoch ran"))?;
    let acc = last.train_accuracy.map(|a| format!(", train accuracy {:.2}%", 100.0 * a)).unwrap_or_default();
    let val = match (last.val_loss, last.val_accuracy) {
        (Some(l), Some(a)) => format!(", val loss {l:.4}, val accuracy {:.2}%", 100.0 * a),
        (Some(l), None) => format!(", val loss {l:.4}"),
        _ => String::new(),
    };
    let early = if history.stopped_early {
        format!(" (stopped early; best epoch {})", history.best_epoch.unwrap_or(0))
    } else {
        String::new()
    };
    Ok(format!("trained {} epochs: loss {:.4}{acc}{val}{early}", history.epochs.len(), last.train_loss))
}

/// The progress bar of an epoch and the line printed after it (nothing when quiet).
struct Progress {
    bar: ProgressBar,
    quiet: bool,
    running_loss: Option<f64>,
}

impl Progress {
    fn new(quiet: bool) -> Self {
        let bar = ProgressBar::hidden();
        let style = ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        Progress { bar, quiet, running_loss: None }
    }

    fn on_event(&mut self, event: Event<'_>) {
        if self.quiet {
            return;
        }
        match event {
            Event::EpochStart { epoch, steps, .. } => {
                self.bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                self.bar.reset();
                self.bar.set_length(steps as u64);
                self.bar.set_prefix(epoch.to_string());
                self.running_loss = None;
            }
            Event::Step { step, lr, samples_per_s, loss } => {
                self.bar.set_position(step as u64);
                self.running_loss = loss.or(self.running_loss);
                let l = self.running_loss.map(|l| format!("loss {l:.4} ")).unwrap_or_default();
                self.bar.set_message(format!("{l}lr {lr:.3e} {samples_per_s:.0} samples/s"));
            }
            Event::EpochEnd(r) => {
                self.bar.finish_and_clear();
                let acc = r.train_accuracy.map(|a| format!(" acc {:.2}%", 100.0 * a)).unwrap_or_default();
                let val = match (r.val_loss, r.val_accuracy) {
                    (Some(l), Some(a)) => format!("  val loss {l:.4} acc {:.2}%", 100.0 * a),
                    (Some(l), None) => format!("  val loss {l:.4}"),
                    _ => String::new(),
                };
                outln!(
                    "epoch {:>3}: loss {:.4}{acc}{val}  lr {:.3e}  batch {}  {:.0} samples/s",
                    r.epoch,
                    r.train_loss,
                    r.lr,
                    r.batch_size,
                    r.samples_per_s
                );
            }
        }
    }
}
