//! The fitting rules behind [`Preprocessor::fit`](super::preprocess::Preprocessor::fit): which rows are used,
//! which column is the target, checks of the column lists, mean and std, and the target's encoding.

use std::collections::BTreeSet;

use super::csv::{name_list, parse_number, sorted_classes, TargetKind};
use super::encoding::{MissingPolicy, PreprocessOptions, TargetEncoding};
use super::table::{is_missing, Table};
use crate::error::{Error, Result};

/// Population mean and std in f64 (two passes, as [`crate::data::normalize::Normalizer`]); std 1 for a constant.
pub(crate) fn mean_std(values: &[f32]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let sd = (values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n).sqrt();
    // Rounded through f32 so that the values stored in the model file are the ones the f32 data was scaled with.
    (f64::from(mean as f32), if sd < 1e-12 { 1.0 } else { f64::from(sd as f32) })
}

/// The index of the target column: `opts.target` or the last column.
pub(crate) fn target_column(table: &Table, target: Option<&str>) -> Result<usize> {
    table.check()?;
    match target {
        Some(name) => table.column(name).ok_or_else(|| {
            let reason = format!("unknown target column \"{name}\"; the columns are: {}", name_list(&table.header));
            Error::parse(&table.path, Some("line 1".into()), reason)
        }),
        None => Ok(table.header.len() - 1),
    }
}

/// Checks the column lists of `opts` against the header: each names a column, not the target, in one list only.
pub(crate) fn check_lists(table: &Table, target: usize, opts: &PreprocessOptions) -> Result<()> {
    let lists = [("--categorical", &opts.categorical), ("--numeric", &opts.numeric), ("--ignore", &opts.ignore)];
    for (i, (option, names)) in lists.iter().enumerate() {
        for name in names.iter() {
            if table.column(name).is_none() {
                let reason = format!(
                    "no column \"{name}\" in {}; the columns are: {}",
                    table.path.display(),
                    name_list(&table.header)
                );
                return Err(Error::config(*option, reason));
            }
            if *name == table.header[target] {
                return Err(Error::config(*option, format!("\"{name}\" is the target column, not a feature")));
            }
            if let Some((other, _)) = lists[i + 1..].iter().find(|(_, l)| l.contains(name)) {
                return Err(Error::config(*option, format!("column \"{name}\" is also given to {other}")));
            }
        }
    }
    Ok(())
}

/// The rows `fit` and `transform` use: a missing target drops the row (counted in `.1`); with
/// [`MissingPolicy::Drop`] so does a gap in any used feature (counted in `.2`).
pub fn usable_rows(table: &Table, opts: &PreprocessOptions) -> Result<(Table, usize, usize)> {
    let t = target_column(table, opts.target.as_deref())?;
    let used: Vec<usize> =
        (0..table.header.len()).filter(|&c| c != t && !opts.ignore.contains(&table.header[c])).collect();
    let (mut no_target, mut gaps) = (0, 0);
    let kept = table.filter(|r| {
        if is_missing(&r[t]) {
            no_target += 1;
            false
        } else if opts.missing == MissingPolicy::Drop && used.iter().any(|&c| is_missing(&r[c])) {
            gaps += 1;
            false
        } else {
            true
        }
    });
    Ok((kept, no_target, gaps))
}

/// The target's encoding: class when `kind` says so or (Auto) any label is text or all are integers with at most
/// `max_levels` distinct values; a value otherwise (standardised with --normalize).
pub(crate) fn fit_target(
    table: &Table,
    t: usize,
    labels: &[(usize, &str)],
    opts: &PreprocessOptions,
) -> Result<TargetEncoding> {
    let class = match opts.kind {
        TargetKind::Class => true,
        TargetKind::Value => false,
        TargetKind::Auto => {
            let any_text = labels.iter().any(|(_, l)| l.parse::<f64>().is_err());
            let all_int = labels.iter().all(|(_, l)| l.parse::<i64>().is_ok());
            // Integer prices or counts in the thousands are values, not thousands of classes.
            let few = || labels.iter().map(|(_, l)| *l).collect::<BTreeSet<_>>().len() <= opts.max_levels.max(2);
            any_text || (all_int && few())
        }
    };
    if class {
        return Ok(TargetEncoding::Class { classes: sorted_classes(labels.iter().map(|(_, l)| *l)) });
    }
    let mut values = Vec::with_capacity(labels.len());
    for &(ln, l) in labels {
        let at = Some(format!("line {ln}, column \"{}\"", table.header[t]));
        values.push(parse_number(l, "target").map_err(|r| Error::parse(&table.path, at, r))?);
    }
    let (center, scale) = if opts.normalize { mean_std(&values) } else { (0.0, 1.0) };
    Ok(TargetEncoding::Value { center, scale })
}
