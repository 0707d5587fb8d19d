//! The subcommands: each reads its inputs completely and checks its output paths before any GPU work, so bad
//! input costs one message and leaves nothing behind.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use wgtrain::atomic_file::check_writable;
use wgtrain::data::csv::TargetKind;
use wgtrain::data::normalize::Normalizer;
use wgtrain::data::preprocess::Preprocessor;
use wgtrain::data::Dataset;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::saved::{load_weights, SavedModel};
use wgtrain::train::{Event, Trainer};
use wgtrain::{list_adapters, Error, Gpu, Loss, Result};

use crate::options::{require, TrainOptions};
use crate::resume::{self, Checkpoint};
use crate::tabular::{load_training, Loaded};

/// Targets as the loss reads them: class indices, 0/1 for bce, values for mse.
fn check_targets(data: &Dataset, loss: Loss, what: &Path) -> Result<()> {
    match (loss, data.n_classes()) {
        (Loss::CrossEntropy, None) => Err(Error::config(
            "--loss",
            format!("cross-entropy needs class labels, but the target of {} is numeric", what.display()),
        )),
        (Loss::Bce, Some(c)) if c != 2 => {
            Err(Error::config("--loss", format!("bce needs exactly 2 classes, {} has {c}", what.display())))
        }
        (Loss::Bce, None) if data.targets.iter().any(|&t| t != 0.0 && t != 1.0) => {
            Err(Error::config("--loss", format!("bce needs targets 0 or 1 in {}", what.display())))
        }
        _ => Ok(()),
    }
}

fn output_width(loss: Loss, data: &Dataset) -> usize {
    match loss {
        Loss::CrossEntropy => data.n_classes().unwrap_or(1),
        _ => 1,
    }
}

/// `wgtrain train`.
pub fn train(opts: TrainOptions) -> Result<()> {
    let opts = opts.merged()?;
    let resume = opts.resume.as_deref().map(Checkpoint::read).transpose()?;
    let opts = match &resume {
        Some(ck) => opts.over(&ck.options)?,
        None => opts,
    };
    match (opts.checkpoint_every, &opts.save) {
        (Some(0), _) => return Err(Error::config("--checkpoint-every", "must be at least 1 epoch")),
        (Some(_), None) => {
            return Err(Error::config("--checkpoint-every", "needs --save FILE to write the checkpoint to"))
        }
        _ => {}
    }
    let data_path = require(&opts.data, "--data")?;
    if opts.early_stop.is_some() && opts.val.is_none() && opts.val_split.is_none() {
        return Err(Error::config("--early-stop", "needs a validation set: add --val FILE or --val-split FRACTION"));
    }
    for p in [&opts.save, &opts.metrics, &opts.plot].into_iter().flatten() {
        check_writable(p)?;
    }
    let hidden = opts.hidden()?;
    let activation = opts.activation()?;
    let loss_opt = opts.loss.as_deref().map(Loss::parse).transpose().map_err(|e| match e {
        Error::Config { reason, .. } => Error::config("--loss", reason),
        e => e,
    })?;
    let kind = match loss_opt {
        Some(Loss::CrossEntropy | Loss::Bce) => TargetKind::Class,
        Some(Loss::Mse) => TargetKind::Value,
        None => TargetKind::Auto,
    };
    let Loaded { train, val, preprocessor, normalizer, notes } = load_training(&opts, kind, opts.seed.unwrap_or(0))?;
    let loss = loss_opt.unwrap_or(if train.classes.is_some() { Loss::CrossEntropy } else { Loss::Mse });
    let mut config = opts.train_config(loss)?;
    if !opts.quiet {
        // The bar shows the running loss; reading it back every 20 steps keeps the pipeline mostly full.
        config.report_every = Some(20);
    }
    check_targets(&train, loss, data_path)?;
    if opts.balanced()? {
        if loss != Loss::CrossEntropy {
            return Err(Error::config(
                "--class-weight",
                format!("balanced weights need cross-entropy, not {}", loss.name()),
            ));
        }
        config.class_weights = train.balanced_class_weights();
    }
    let model = MlpConfig::new(train.n_features, &hidden, output_width(loss, &train), activation);
    model.validate()?;
    let params = match &opts.init {
        Some(p) => load_weights(p, &model)?,
        None => init_params(&model, Init::Torch, config.seed)?,
    };
    for note in &notes {
        eprintln!("wgtrain: {note}");
    }

    let gpu = Gpu::new()?;
    let quiet = opts.quiet;
    if !quiet {
        println!("adapter: {}", gpu.adapter());
        println!(
            "model: {} → {} → {} ({}), loss {}, optimizer {}, {} training samples{}",
            model.input,
            hidden.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(" → "),
            model.output(),
            activation.name(),
            loss.name(),
            config.optimizer.kind.name(),
            train.len(),
            val.as_ref().map(|v| format!(", {} validation", v.len())).unwrap_or_default()
        );
    }
    let max_batch = config.max_batch(train.len()).max(val.as_ref().map_or(1, |v| v.len().min(1024)));
    if let Some(ck) = &resume {
        ck.apply_variants(&gpu);
    }
    let mut trainer = Trainer::new(&gpu, &model, &params, config, max_batch)?;
    if let Some(ck) = &resume {
        ck.restore(&mut trainer)?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // A second Ctrl-C while the first is being honoured falls through to the default behaviour (exit).
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    trainer.set_stop_flag(stop);
    let train_data = trainer.upload(&train.features, &train.targets)?;
    let val_data = val.as_ref().map(|v| trainer.upload(&v.features, &v.targets)).transpose()?;
    let bar = ProgressBar::hidden();
    let style = ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    let mut running_loss: Option<f64> = None;
    let mut on_event = |event: Event<'_>| match event {
        Event::EpochStart { epoch, steps, .. } if !quiet => {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.reset();
            bar.set_length(steps as u64);
            bar.set_prefix(epoch.to_string());
            running_loss = None;
        }
        Event::Step { step, lr, samples_per_s, loss } if !quiet => {
            bar.set_position(step as u64);
            running_loss = loss.or(running_loss);
            let l = running_loss.map(|l| format!("loss {l:.4} ")).unwrap_or_default();
            bar.set_message(format!("{l}lr {lr:.3e} {samples_per_s:.0} samples/s"));
        }
        Event::EpochEnd(r) if !quiet => {
            bar.finish_and_clear();
            let acc = r.train_accuracy.map(|a| format!(" acc {:.2}%", 100.0 * a)).unwrap_or_default();
            let val = match (r.val_loss, r.val_accuracy) {
                (Some(l), Some(a)) => format!("  val loss {l:.4} acc {:.2}%", 100.0 * a),
                (Some(l), None) => format!("  val loss {l:.4}"),
                _ => String::new(),
            };
            println!(
                "epoch {:>3}: loss {:.4}{acc}{val}  lr {:.3e}  batch {}  {:.0} samples/s",
                r.epoch, r.train_loss, r.lr, r.batch_size, r.samples_per_s
            );
        }
        _ => {}
    };
    let every = opts.checkpoint_every.unwrap_or(usize::MAX);
    let mut last_checkpoint = None;
    let result = loop {
        match trainer.fit_epochs(&train_data, val_data.as_ref(), every, &mut on_event).map(|_| ()) {
            Ok(_) if trainer.finished() => break Ok(()),
            Ok(_) => {
                if let Some(p) = &opts.save {
                    let epoch = trainer.history().epochs.len();
                    resume::write(&trainer, describe(&trainer, loss, &train, &normalizer, &preprocessor)?, &opts, p)?;
                    last_checkpoint = Some((p.clone(), epoch));
                }
            }
            Err(e) => break Err(e),
        }
    };
    bar.finish_and_clear();
    match result {
        Ok(()) => {}
        Err(e @ Error::Interrupted { .. }) => {
            if let Some(p) = &opts.save {
                resume::write(&trainer, describe(&trainer, loss, &train, &normalizer, &preprocessor)?, &opts, p)?;
                eprintln!("wgtrain: interrupted; checkpoint written to {} (continue with --resume)", p.display());
            }
            return Err(e);
        }
        Err(e @ Error::Diverged { .. }) => {
            if let Some((p, epoch)) = &last_checkpoint {
                eprintln!("wgtrain: the last good checkpoint is {} (epoch {epoch})", p.display());
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    }
    let history = trainer.history().clone();
    if let Some(p) = &opts.save {
        let model = describe(&trainer, loss, &train, &normalizer, &preprocessor)?;
        if opts.checkpoint_every.is_some() {
            // Still a checkpoint, marked finished: a process killed between this write and its exit can be resumed
            // (it then has nothing left to do) instead of finding a file --resume rejects.
            resume::write(&trainer, model, &opts, p)?;
        } else {
            model.save(p)?;
        }
    }
    if let Some(p) = &opts.metrics {
        history.write_json(p)?;
    }
    if let Some(p) = &opts.plot {
        wgtrain::plot::write_svg(p, &history)?;
    }
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
    println!("trained {} epochs: loss {:.4}{acc}{val}{early}", history.epochs.len(), last.train_loss);
    Ok(())
}

/// The model as it stands, with what eval and predict need to read data the way training did.
fn describe(
    trainer: &Trainer<'_>,
    loss: Loss,
    train: &Dataset,
    normalizer: &Option<Normalizer>,
    preprocessor: &Option<Preprocessor>,
) -> Result<SavedModel> {
    Ok(SavedModel {
        model: trainer.model().clone(),
        loss,
        params: trainer.params()?,
        classes: train.classes.clone(),
        feature_names: train.feature_names.clone(),
        target_name: train.target_name.clone(),
        normalizer: normalizer.clone(),
        preprocessor: preprocessor.clone(),
    })
}

/// `wgtrain devices`.
pub fn devices() -> Result<()> {
    let adapters = list_adapters();
    if adapters.is_empty() {
        println!("no adapters found");
    }
    for a in &adapters {
        println!("{} | {} | {} | driver {}", a.name, a.backend, a.device_type, a.driver);
    }
    let chosen = Gpu::new()?;
    println!("wgtrain uses: {}", chosen.adapter());
    // WGTRAIN_LIMITS=webgpu asks for WebGPU's defaults only; otherwise everything the adapter offers.
    let l = chosen.limits();
    println!(
        "limits: {} (storage binding {} MiB, {} storage buffers per stage, {} invocations per workgroup, {} KiB workgroup memory)",
        chosen.limits_mode().describe(),
        l.max_storage_buffer_binding_size >> 20,
        l.max_storage_buffers_per_shader_stage,
        l.max_compute_invocations_per_workgroup,
        l.max_compute_workgroup_storage_size >> 10,
    );
    Ok(())
}
