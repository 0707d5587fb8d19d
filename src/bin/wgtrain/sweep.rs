//! `wgtrain sweep`: expands the grid (or the random draw), keeps this shard's slice, trains configurations that
//! share an architecture, activation, loss, batch size, optimizer kind and precision together as one group, and
//! prints the
//! table of every configuration ranked by validation loss; `--merge` rebuilds that table from shards' results.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use wgtrain::data::csv::TargetKind;
use wgtrain::internal::atomic_file::check_writable;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::network::DeviceData;
use wgtrain::saved::{load_weights, SavedModel};
use wgtrain::sweep::{self, Assignment, ConfigResult, FinalMetrics, Shard};
use wgtrain::train::{group_capacity, GroupMember, GroupTrainer, MemberOutcome, StopReason, TrainConfig};
use wgtrain::{Error, Gpu, Loss, Result};

use crate::options::TrainOptions;
use crate::sweep_args::{canonical_order, ShardSpec, SweepArgs, SWEEP_HELP};
use crate::tabular::{load_training, Loaded};
use crate::train_command::ctrl_c_stop_flag;

/// One configuration, ready to train.
struct Planned {
    index: usize,
    assignment: Assignment,
    model: MlpConfig,
    config: TrainConfig,
    params: Vec<f32>,
    /// Configurations with equal keys train in one group.
    key: String,
}

/// `wgtrain sweep`.
pub fn run(words: &[String]) -> Result<()> {
    if words.iter().any(|w| w == "--help" || w == "-h") {
        println!("Usage: wgtrain sweep [TRAIN OPTIONS, any as a list] [SWEEP OPTIONS]\n\n{SWEEP_HELP}");
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
    let (configs, range) = configurations(&args)?;
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
    for note in &notes {
        eprintln!("wgtrain: {note}");
    }
    if let Some(d) = &args.save_all {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let gpu = Gpu::new()?;
    let groups = groups(&args, planned, &train, val.as_ref().map(|v| v.len()));
    if !args.quiet {
        println!("adapter: {}", gpu.adapter());
        let n: usize = groups.iter().map(Vec::len).sum();
        let g = groups.len();
        let s = if g == 1 { "" } else { "s" };
        println!("{n} configurations in {g} group{s}, {} training samples", train.len());
    }
    let stop = ctrl_c_stop_flag();
    let saver = Saver { train: &train, preprocessor: &preprocessor, normalizer: &normalizer };
    let mut results = Vec::new();
    let mut best: Option<(f64, SavedModel)> = None;
    let count = groups.len();
    for (g, group) in groups.into_iter().enumerate() {
        let outcomes = run_group(&gpu, &args, &group, &train, val.as_ref(), (g + 1, count), data_seed, stop.clone())?;
        for (p, o) in group.iter().zip(outcomes) {
            let r = result(p, &o);
            if o.stop != StopReason::Diverged {
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
    }
    sweep::sort_results(&mut results);
    if let (Some(p), Some((_, m))) = (&args.save_best, best) {
        m.save(p)?;
    }
    finish(&args, &mut results)
}

/// The output files can be written, and the results file is .json or .csv.
fn check_outputs(args: &SweepArgs) -> Result<()> {
    for p in [&args.results, &args.plot, &args.save_best].into_iter().flatten() {
        check_writable(p)?;
    }
    if let Some(p) = &args.results {
        if !matches!(p.extension().and_then(|e| e.to_str()), Some("json" | "csv")) {
            return Err(Error::config("--results", format!("{}: expected a .json or .csv file", p.display())));
        }
    }
    Ok(())
}

/// The whole sweep's configurations (the grid or the random draw) and the indices this process trains.
fn configurations(args: &SweepArgs) -> Result<(Vec<Assignment>, std::ops::Range<usize>)> {
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
    Ok((configs, range))
}

/// Prints the table and writes --results and --plot.
fn finish(args: &SweepArgs, results: &mut [ConfigResult]) -> Result<()> {
    canonical_order(results);
    print!("{}", sweep::table(results));
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
    let key = format!(
        "{:?}|{}|{}|{:?}|{:?}|{}|{}|{}",
        hidden,
        activation.name(),
        loss.name(),
        config.batch_size,
        config.batch_growth,
        config.optimizer.kind.name(),
        config.shuffle,
        config.precision.name()
    );
    Ok(Planned { index, assignment: assignment.clone(), model, config, params, key })
}

/// Configurations grouped by key (in first-seen order), each group cut to what fits in memory and --max-group.
fn groups(
    args: &SweepArgs,
    planned: Vec<Planned>,
    train: &wgtrain::data::Dataset,
    val: Option<usize>,
) -> Vec<Vec<Planned>> {
    let mut order: Vec<String> = Vec::new();
    let mut by_key: HashMap<String, Vec<Planned>> = HashMap::new();
    for p in planned {
        if !by_key.contains_key(&p.key) {
            order.push(p.key.clone());
        }
        by_key.entry(p.key.clone()).or_default().push(p);
    }
    let mut out = Vec::new();
    for key in order {
        let mut members = by_key.remove(&key).unwrap_or_default();
        let Some(first) = members.first() else { continue };
        let cap = group_capacity(
            &first.model,
            &first.config,
            first.config.buffer_rows(train.len(), val.unwrap_or(0)),
            wgtrain::train::DEFAULT_GROUP_BYTES,
        );
        let cap = cap.min(args.max_group.unwrap_or(usize::MAX)).max(1);
        while !members.is_empty() {
            let rest = members.split_off(cap.min(members.len()));
            out.push(members);
            members = rest;
        }
    }
    out
}

fn run_group(
    gpu: &Gpu,
    args: &SweepArgs,
    group: &[Planned],
    train: &wgtrain::data::Dataset,
    val: Option<&wgtrain::data::Dataset>,
    (g, count): (usize, usize),
    data_seed: u64,
    stop: Arc<AtomicBool>,
) -> Result<Vec<MemberOutcome>> {
    let lead = &group[0];
    let members = group.iter().map(|p| GroupMember { config: p.config.clone(), params: p.params.clone() }).collect();
    let mb = lead.config.buffer_rows(train.len(), val.map_or(0, |v| v.len()));
    let mut trainer = GroupTrainer::new(gpu, &lead.model, members, data_seed, mb)?;
    trainer.set_stop_flag(stop);
    let tcols = lead.config.loss.target_cols(lead.model.output());
    let train_d = DeviceData::upload(gpu, &train.features, train.n_features, &train.targets, tcols)?;
    let val_d = val.map(|v| DeviceData::upload(gpu, &v.features, v.n_features, &v.targets, tcols)).transpose()?;
    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
    let style = ProgressStyle::with_template("group {prefix} [{bar:30}] {pos}/{len} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_prefix(format!("{g}/{count}"));
    trainer.fit(&train_d, val_d.as_ref(), &mut |p| {
        bar.set_length(p.steps as u64);
        bar.set_position(p.step as u64);
        bar.set_message(format!("epoch {}/{}, {} of {} models training", p.epoch, p.epochs, p.active, group.len()));
    })?;
    bar.finish_and_clear();
    trainer.outcomes()
}

fn result(p: &Planned, o: &MemberOutcome) -> ConfigResult {
    let h = &o.history;
    let restored = p.config.early_stopping.as_ref().is_some_and(|e| e.restore_best) && h.best_epoch.is_some();
    let record = if restored { h.best_epoch.and_then(|e| h.epochs.get(e - 1)) } else { h.epochs.last() };
    let metrics = match record {
        Some(r) if o.stop != StopReason::Diverged => FinalMetrics {
            loss: Some(r.train_loss),
            accuracy: r.train_accuracy,
            val_loss: r.val_loss,
            val_accuracy: r.val_accuracy,
        },
        _ => FinalMetrics::default(),
    };
    let curve: Vec<f64> = h.epochs.iter().map(|r| r.val_loss.unwrap_or(r.train_loss)).collect();
    let best_from_curve =
        curve.iter().enumerate().filter(|(_, v)| v.is_finite()).min_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i + 1);
    ConfigResult {
        index: p.index,
        options: p.assignment.iter().map(|(k, v)| (k.clone(), ConfigResult::option_value(v))).collect(),
        metrics,
        best_epoch: h.best_epoch.or(best_from_curve),
        epochs: h.epochs.len(),
        stop: o.stop,
        curve,
    }
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
