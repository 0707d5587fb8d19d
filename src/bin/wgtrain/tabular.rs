//! Reading the data of `train`, `eval` and `predict`: a CSV file through the [`Preprocessor`] (fitted on the
//! training rows, stored in the model), or an MNIST directory as before; and the notes (dropped rows, unseen levels)
//! to print once the input has been accepted.

use std::path::Path;

use wgtrain::data::csv::TargetKind;
use wgtrain::data::idx::read_mnist_dir;
use wgtrain::data::normalize::Normalizer;
use wgtrain::data::preprocess::{usable_rows, MissingPolicy, PreprocessOptions, Preprocessor};
use wgtrain::data::table::read_table;
use wgtrain::data::transform::TransformReport;
use wgtrain::data::{split_indices, Dataset};
use wgtrain::saved::SavedModel;
use wgtrain::{Error, Result};

use crate::options::{require, TrainOptions};

/// The training (and validation) data, encoded, with what is needed to encode more data the same way.
pub struct Loaded {
    /// The training rows.
    pub train: Dataset,
    /// The validation rows (--val or --val-split).
    pub val: Option<Dataset>,
    /// The fitted CSV preprocessing (None for MNIST).
    pub preprocessor: Option<Preprocessor>,
    /// Feature standardisation for MNIST with --normalize.
    pub normalizer: Option<Normalizer>,
    /// Lines for stderr once training is about to start.
    pub notes: Vec<String>,
}

/// Reads --data and --val (or splits --val-split off with `seed`) for a target of `kind`.
pub fn load_training(opts: &TrainOptions, kind: TargetKind, seed: u64) -> Result<Loaded> {
    let data = require(&opts.data, "--data")?;
    if opts.val.is_some() && opts.val_split.is_some() {
        return Err(Error::config("--val", "give either --val or --val-split, not both"));
    }
    if data.is_dir() {
        return load_mnist(opts, data, seed);
    }
    let pre_opts = opts.preprocess(kind)?;
    let table = read_table(data)?;
    let (table, no_target, gaps) = usable_rows(&table, &pre_opts)?;
    let mut notes = dropped(data, no_target, gaps);
    let (train_t, val_t) = match opts.val_split {
        Some(f) => {
            let (tr, va) = split_indices(table.len(), f, seed).map_err(|e| rename(e, "--val-split"))?;
            (table.subset(&tr), Some(table.subset(&va)))
        }
        None => (table, None),
    };
    let pre = Preprocessor::fit(&train_t, &pre_opts)?;
    let (train, _) = pre.transform(&train_t, true)?;
    let val = match (val_t, &opts.val) {
        (Some(v), _) => Some(pre.transform(&v, true)?.0),
        (None, Some(p)) if p.is_dir() => {
            return Err(Error::config("--val", format!("{} is a directory but --data is a CSV file", p.display())))
        }
        (None, Some(p)) => {
            let (v, report) = pre.transform(&read_table(p)?, true)?;
            notes.extend(report.messages(&p.display().to_string()));
            Some(v)
        }
        (None, None) => None,
    };
    Ok(Loaded { train, val, preprocessor: Some(pre), normalizer: None, notes })
}

fn rename(e: Error, option: &str) -> Error {
    match e {
        Error::Config { reason, .. } => Error::config(option, reason),
        e => e,
    }
}

fn dropped(path: &Path, no_target: usize, gaps: usize) -> Vec<String> {
    let report = TransformReport { missing_target: no_target, gaps_dropped: gaps, unseen: Vec::new() };
    report.messages(&path.display().to_string())
}

/// MNIST: the IDX files, split or validated on the t10k files; pixels (already in [0, 1]) are standardised only
/// with an explicit --normalize, as the web page leaves them.
fn load_mnist(opts: &TrainOptions, data: &Path, seed: u64) -> Result<Loaded> {
    if let Some(option) = opts.has_csv_options() {
        return Err(Error::config(option, format!("applies to CSV data, but {} is a directory", data.display())));
    }
    let (mut train, _) = read_mnist_dir(data)?;
    let mut val = match (&opts.val, opts.val_split) {
        (Some(p), _) => {
            let (main, test) = read_mnist_dir(p)?;
            Some(test.unwrap_or(main))
        }
        (None, Some(f)) => {
            let (t, v) = train.split(f, seed)?;
            train = t;
            Some(v)
        }
        (None, None) => None,
    };
    let normalizer = (opts.standardise()? && opts.normalize).then(|| Normalizer::fit(&train));
    if let Some(n) = &normalizer {
        n.apply(&mut train)?;
        if let Some(v) = val.as_mut() {
            n.apply(v)?;
        }
    }
    Ok(Loaded { train, val, preprocessor: None, normalizer, notes: Vec::new() })
}

/// Reads `path` the way the saved model expects; with `with_target` (eval) the target must be present. Notes
/// (dropped rows, unseen levels) come back for stderr.
pub fn load_for(saved: &SavedModel, path: &Path, with_target: bool) -> Result<(Dataset, Vec<String>)> {
    if !path.is_dir() {
        let (data, report) = saved.encode_table(&read_table(path)?, with_target)?;
        return Ok((data, report.messages(&path.display().to_string())));
    }
    if saved.preprocessor.is_some() {
        return Err(Error::parse(path, None, "is a directory; this model reads CSV files"));
    }
    let (main, test) = read_mnist_dir(path)?;
    let mut data = test.unwrap_or(main);
    if data.n_features != saved.model.input {
        let reason = format!("has {} features, the model takes {}", data.n_features, saved.model.input);
        return Err(Error::parse(path, None, reason));
    }
    if let Some(n) = &saved.normalizer {
        n.apply(&mut data)?;
    }
    Ok((data, Vec::new()))
}

impl TrainOptions {
    /// The CSV preprocessing options (column lists, gaps, levels, normalisation) for a target of `kind`.
    pub fn preprocess(&self, kind: TargetKind) -> Result<PreprocessOptions> {
        let missing = match self.missing.as_deref().map(str::trim) {
            None | Some("impute") => MissingPolicy::Impute,
            Some("drop") => MissingPolicy::Drop,
            Some(v) => return Err(Error::config("--missing", format!("{v:?}: expected impute or drop"))),
        };
        let max_levels = self.max_levels.unwrap_or(50);
        if max_levels == 0 {
            return Err(Error::config("--max-levels", "must be at least 1"));
        }
        Ok(PreprocessOptions {
            target: self.target.clone(),
            kind,
            categorical: columns(&self.categorical, "--categorical")?,
            numeric: columns(&self.numeric, "--numeric")?,
            ignore: columns(&self.ignore, "--ignore")?,
            missing,
            max_levels,
            normalize: self.standardise()?,
        })
    }

    /// Whether any CSV-only option is set (they are errors with MNIST data).
    pub fn has_csv_options(&self) -> Option<&'static str> {
        [
            (self.categorical.is_some(), "--categorical"),
            (self.numeric.is_some(), "--numeric"),
            (self.ignore.is_some(), "--ignore"),
            (self.missing.is_some(), "--missing"),
            (self.max_levels.is_some(), "--max-levels"),
        ]
        .into_iter()
        .find_map(|(set, name)| set.then_some(name))
    }

    /// Whether `--class-weight balanced` was given (`none` is the default).
    pub fn balanced(&self) -> Result<bool> {
        match self.class_weight.as_deref().map(str::trim) {
            None | Some("none") => Ok(false),
            Some("balanced") => Ok(true),
            Some(v) => Err(Error::config("--class-weight", format!("{v:?}: expected balanced or none"))),
        }
    }
}

/// A comma-separated list of column names, each non-empty.
fn columns(list: &Option<String>, option: &str) -> Result<Vec<String>> {
    let Some(list) = list else { return Ok(Vec::new()) };
    list.split(',')
        .map(|c| match c.trim() {
            "" => Err(Error::config(option, format!("{list:?} has an empty column name; expected e.g. a,b"))),
            name => Ok(name.to_string()),
        })
        .collect()
}
