//! `wgtrain sweep`: expands the grid (or the random draw), keeps this shard's slice, plans each configuration and
//! hands them to the library's [`SweepRunner`] (groups of configurations that share an architecture, activation,
//! loss, batch size, optimizer kind and precision; plain, or by successive halving with `--halving`), then saves
//! the models asked for and prints the table of every configuration ranked by validation loss; `--merge` rebuilds
//! that table from shards' results.

use indicatif::{ProgressBar, ProgressStyle};
use wgtrain::data::csv::TargetKind;
use wgtrain::internal::atomic_file::check_writable;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::saved::{load_weights, SavedModel};
use wgtrain::sweep::checkpoint::SweepCheckpoint;
use wgtrain::sweep::{
    self, Assignment, ConfigResult, Halving, Planned, Shard, SweepOptions, SweepProgress, SweepRunner, SweepState,
};
use wgtrain::train::StopReason;
use wgtrain::{Error, Gpu, Loss, Result};

use crate::options::TrainOptions;
use crate::sweep_args::{canonical_order, ShardSpec, SweepArgs, SWEEP_HELP};
use crate::sweep_resume;
use crate::tabular::{load_training, Loaded};
use crate::train_command::ctrl_c_stop_flag;

/// `wgtrain sweep`.
pub fn run(words: &[String]) -> Result<()> {
    if words.iter().any(|w| w == "--help" || w == "-h") {
        outln!("Usage: wgtrain sweep [TRAIN OPTIONS, any as a list] [SWEEP OPTIONS]\n\n{SWEEP_HELP}");
        return Ok(());
    }
    let args = SweepArgs::parse(words)?;
    check_outputs(&args)?;
    if args.merging && args.merge.is_empty() {
        return Err(Error::config("--merge", "needs the result files to merge (shard-0.json shard-1.json …)"));
    }
    if !args.merge.is_empty() {
        return merge(&args);
    }
    let (configs, range, shard) = configurations(&args)?;
    // Checked (and the saved state read) before anything is loaded or written.
    let mut checkpoint = match &args.checkpoint_dir {
        Some(d) => Some(sweep_resume::open(d, words, shard, args.resume)?),
        None => None,
    };
    // The data, its split and the batch order come from the whole sweep's first configuration, so every shard
    // reads and shuffles the same way.
    let first = args.options(configs.first().ok_or_else(|| Error::config("sweep", "no configurations"))?)?;
    let kind = target_kind(&args, &configs)?;
    if first.val.is_none() && first.val_split.is_none() && first.early_stop.is_some() {
        return Err(Error::config("--early-stop", "needs a validation set: add --val FILE or --val-split FRACTION"));
    }
    let data_seed = first.seed.unwrap_or(0);
    let Loaded { train, val, preprocessor, normalizer, notes } = load_training(&first, kind, data_seed)?;
    let mut planned = Vec::new();
    for index in range {
        planned.push(plan(&args, index, &configs[index], &train)?);
    }
    let halving = halving(&args, &planned)?;
    for note in &notes {
        eprintln!("wgtrain: {note}");
    }
    if let Some(d) = &args.save_all {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let gpu = Gpu::new()?;
    if let Some(ck) = &checkpoint {
        sweep_resume::apply_variants(ck, &gpu);
    }
    let options = SweepOptions {
        halving,
        max_group: args.max_group,
        data_seed,
        stop: Some(ctrl_c_stop_flag()),
        ..SweepOptions::default()
    };
    let mut runner = SweepRunner::new(&gpu, &planned, &train, val.as_ref(), options)?;
    let saved = checkpoint.as_ref().map(|ck| ck.sweep_state(planned.len())).transpose()?.flatten();
    let mut state = saved.unwrap_or_else(|| runner.start());
    if !args.quiet {
        announce(&gpu, &runner, &state, &halving, train.len());
    }
    train_all(&gpu, &mut runner, &mut state, checkpoint.as_mut(), args.quiet)?;
    let saver = Saver { train: &train, preprocessor: &preprocessor, normalizer: &normalizer };
    let mut results = Vec::new();
    let mut best: Option<(f64, SavedModel)> = None;
    for (p, o) in planned.iter().zip(runner.outcomes(&state)) {
        let r = o.result;
        if r.stop != StopReason::Diverged {
            let model = saver.model(p, o.params);
            if let Some(d) = &args.save_all {
                model.save(&d.join(format!("config-{}.safetensors", p.index)))?;
            }
            if args.save_best.is_some() && best.as_ref().is_none_or(|(s, _)| r.score() < *s) {
                best = Some((r.score(), model));
            }
        }
        results.push(r);
    }
    sweep::sort_results(&mut results);
    if let (Some(p), Some((_, m))) = (&args.save_best, best) {
        m.save(p)?;
    }
    finish(&args, &mut results)
}

/// Prints the adapter, the groups and the halving rungs.
fn announce(gpu: &Gpu, runner: &SweepRunner, state: &SweepState, halving: &Option<Halving>, samples: usize) {
    outln!("adapter: {}", gpu.adapter());
    let g = state.groups.len();
    let s = if g == 1 { "" } else { "s" };
    let n: usize = state.groups.iter().map(|r| r.members.len()).sum::<usize>() + state.finished.len();
    outln!("{n} configurations in {g} group{s}, {samples} training samples");
    if let Some(h) = halving {
        let rungs: Vec<String> = runner.rungs().iter().map(usize::to_string).collect();
        outln!("successive halving by {}: rungs at {} epochs", h.eta, rungs.join(", "));
    }
}

/// Trains from `state` to the end with a progress bar, committing the state to `checkpoint` (when given) after
/// each epoch and each rung.
fn train_all(
    gpu: &Gpu,
    runner: &mut SweepRunner,
    state: &mut SweepState,
    checkpoint: Option<&mut SweepCheckpoint>,
    quiet: bool,
) -> Result<()> {
    let bar = progress_bar(quiet);
    match checkpoint {
        Some(ck) => {
            let mut save = |s: &SweepState| sweep_resume::commit(ck, gpu, s);
            runner.run(state, &mut |p| show_progress(&bar, p), Some(&mut save))?;
        }
        None => runner.run(state, &mut |p| show_progress(&bar, p), None)?,
    }
    bar.finish_and_clear();
    Ok(())
}

/// The halving schedule of `--halving ETA [--min-epochs R]` over this process's configurations, checked.
fn halving(args: &SweepArgs, planned: &[Planned]) -> Result<Option<Halving>> {
    let Some(eta) = args.halving else {
        return match args.min_epochs {
            Some(_) => Err(Error::config("--min-epochs", "needs --halving ETA")),
            None => Ok(None),
        };
    };
    let max_epochs = planned.iter().map(|p| p.config.epochs).max().unwrap_or(0);
    Halving::new(eta, args.min_epochs.unwrap_or(1), max_epochs, planned.len()).map(Some)
}

fn progress_bar(quiet: bool) -> ProgressBar {
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar
}

fn show_progress(bar: &ProgressBar, p: SweepProgress) {
    let (g, count) = p.group;
    let prefix = match p.rung {
        (_, 1) => format!("group {g}/{count}"),
        (r, rungs) => format!("rung {r}/{rungs} group {g}/{count}"),
    };
    bar.set_prefix(prefix);
    bar.set_length(p.step.steps as u64);
    bar.set_position(p.step.step as u64);
    let s = p.step;
    bar.set_message(format!("epoch {}/{}, {} of {} models training", s.epoch, s.epochs, s.active, p.members));
}

/// The output files can be written, and the results file is .json or .csv.
fn check_outputs(args: &SweepArgs) -> Result<()> {
    for p in [&args.results, &args.plot, &args.save_best].into_iter().flatten() {
        check_writable(p)?;
    }
    if args.resume && args.checkpoint_dir.is_none() {
        return Err(Error::config("--resume", "needs --checkpoint-dir DIR, where the sweep's state is kept"));
    }
    if args.merging && args.checkpoint_dir.is_some() {
        return Err(Error::config("--checkpoint-dir", "a --merge trains nothing to checkpoint"));
    }
    if let Some(p) = &args.results {
        if !matches!(p.extension().and_then(|e| e.to_str()), Some("json" | "csv")) {
            return Err(Error::config("--results", format!("{}: expected a .json or .csv file", p.display())));
        }
    }
    Ok(())
}

/// The whole sweep's configurations (the grid or the random draw) and the indices this process trains.
fn configurations(args: &SweepArgs) -> Result<(Vec<Assignment>, std::ops::Range<usize>, Option<Shard>)> {
    let configs = match args.random {
        Some(n) => {
            // The draw's seed: --seed, or the first value of a --seed list.
            let fixed = args.fixed.iter().find(|(k, _)| k == "seed").and_then(|(_, v)| v.clone());
            let listed = args.axes.iter().find(|a| a.name == "seed").and_then(|a| match &a.values {
                wgtrain::sweep::AxisValues::List(v) => v.first().cloned(),
                wgtrain::sweep::AxisValues::Range { lo, .. } => Some(lo.to_string()),
            });
            let seed = fixed.or(listed).and_then(|v| v.parse().ok()).unwrap_or(0);
            sweep::random(&args.axes, n, seed)
        }
        None => sweep::grid(&args.axes)?,
    };
    let shard = match &args.shard {
        None => None,
        Some(ShardSpec::Given(s)) => Some(*s),
        Some(ShardSpec::Auto) => Some(Shard::from_env(|k| std::env::var(k).ok(), args.shards)?),
    };
    if shard.is_some() && args.results.is_none() {
        return Err(Error::config("--shard", "needs --results FILE.json for --merge to read"));
    }
    let range = shard.map_or(0..configs.len(), |s| s.range(configs.len()));
    Ok((configs, range, shard))
}

/// Prints the table and writes --results and --plot.
fn finish(args: &SweepArgs, results: &mut [ConfigResult]) -> Result<()> {
    canonical_order(results);
    out!("{}", sweep::table(results));
    if let Some(p) = &args.results {
        sweep::write_results(p, results)?;
    }
    if let Some(p) = &args.plot {
        wgtrain::internal::atomic_file::write_atomic(p, sweep::curves_svg(results, 10).as_bytes())?;
    }
    Ok(())
}

/// `--merge`: the table (and files) of the union of shards' results.
fn merge(args: &SweepArgs) -> Result<()> {
    let mut results = Vec::new();
    for p in &args.merge {
        results.extend(sweep::read_results(p)?);
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = results.iter().find(|r| !seen.insert(r.index)) {
        return Err(Error::config("--merge", format!("configuration {} appears in two result files", dup.index)));
    }
    sweep::sort_results(&mut results);
    finish(args, &mut results)
}

/// The target kind the data is read with: the one every swept loss agrees on.
fn target_kind(args: &SweepArgs, configs: &[Assignment]) -> Result<TargetKind> {
    let mut kinds = configs.iter().map(|c| -> Result<TargetKind> {
        let o = args.options(c)?;
        Ok(TargetKind::for_loss(o.loss.as_deref().map(Loss::parse).transpose()?))
    });
    let first = kinds.next().transpose()?.unwrap_or(TargetKind::Auto);
    for k in kinds {
        if k? != first {
            return Err(Error::config("--loss", "swept losses must all take class targets or all numeric ones"));
        }
    }
    Ok(first)
}

fn plan(args: &SweepArgs, index: usize, assignment: &Assignment, train: &wgtrain::data::Dataset) -> Result<Planned> {
    let opts: TrainOptions = args.options(assignment)?;
    let loss = match opts.loss.as_deref() {
        Some(l) => Loss::parse(l)?,
        None => train.default_loss(),
    };
    let mut config = opts.train_config(loss)?;
    if opts.balanced()? {
        config.class_weights = train.balanced_class_weights();
    }
    let hidden = opts.hidden()?;
    let activation = opts.activation()?;
    let model = MlpConfig::new(train.n_features, &hidden, train.output_width(loss), activation);
    model.validate()?;
    let params = match &opts.init {
        Some(p) => load_weights(p, &model)?,
        None => init_params(&model, Init::Torch, config.seed)?,
    };
    Ok(Planned::new(index, assignment.clone(), model, config, params))
}

/// What a saved model carries besides its weights.
struct Saver<'a> {
    train: &'a wgtrain::data::Dataset,
    preprocessor: &'a Option<wgtrain::data::preprocess::Preprocessor>,
    normalizer: &'a Option<wgtrain::data::normalize::Normalizer>,
}

impl Saver<'_> {
    fn model(&self, p: &Planned, params: Vec<f32>) -> SavedModel {
        SavedModel {
            model: p.model.clone(),
            loss: p.config.loss,
            params,
            classes: self.train.classes.clone(),
            feature_names: self.train.feature_names.clone(),
            target_name: self.train.target_name.clone(),
            normalizer: self.normalizer.clone(),
            preprocessor: self.preprocessor.clone(),
        }
    }
}
