//! Applying a fitted [`Preprocessor`] to a raw table: columns matched by name in any order, gaps filled, levels
//! one-hot encoded, the target encoded, with counts of what was dropped or unseen for the caller to report.

use std::collections::HashMap;

use super::csv::{name_list, parse_number};
use super::encoding::{Encoding, MissingPolicy, TargetEncoding};
use super::preprocess::Preprocessor;
use super::table::{is_missing, Table};
use super::Dataset;
use crate::error::{Error, Result};

/// What [`Preprocessor::transform`] left out or could not place.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransformReport {
    /// Rows dropped because their target cell was missing.
    pub missing_target: usize,
    /// Rows dropped for a gap in a feature (only with `--missing drop`).
    pub gaps_dropped: usize,
    /// Per feature column (model order), the cells whose value was not seen in training (encoded as all zeros).
    pub unseen: Vec<(String, usize)>,
}

impl TransformReport {
    /// One line per event worth telling the user about, e.g. for stderr.
    pub fn messages(&self, file: &str) -> Vec<String> {
        let mut out = Vec::new();
        if self.missing_target > 0 {
            out.push(format!("{file}: dropped {} whose target is missing", rows(self.missing_target)));
        }
        if self.gaps_dropped > 0 {
            out.push(format!("{file}: dropped {} with a missing value (--missing drop)", rows(self.gaps_dropped)));
        }
        for (col, n) in self.unseen.iter().filter(|(_, n)| *n > 0) {
            let values = if *n == 1 { "1 value".to_string() } else { format!("{n} values") };
            out.push(format!("{file}: {values} in column \"{col}\" not seen in training, encoded as all zeros"));
        }
        out
    }
}

/// "1 row" or "N rows".
pub(crate) fn rows(n: usize) -> String {
    if n == 1 {
        "1 row".into()
    } else {
        format!("{n} rows")
    }
}

impl Preprocessor {
    /// Encodes `table` into a [`Dataset`]. Feature columns are found by name (extra columns are ignored).
    /// With `with_target` (training, evaluation) the target column must be present, and a row whose target is
    /// missing is dropped, as is, with [`MissingPolicy::Drop`], a row with a gap. Without it (prediction) every
    /// row is kept, in order, the target is ignored and read as 0, and a gap takes the training fill value (or,
    /// in a categorical column without a missing level, all zeros, counted as unseen).
    pub fn transform(&self, table: &Table, with_target: bool) -> Result<(Dataset, TransformReport)> {
        table.check()?;
        let encoder = Encoder::new(self, table, with_target)?;
        let width = self.n_features();
        let mut report = TransformReport {
            unseen: self.columns.iter().map(|c| (c.name.clone(), 0)).collect(),
            ..TransformReport::default()
        };
        let (mut features, mut targets) = (Vec::with_capacity(table.len() * width), Vec::with_capacity(table.len()));
        for (ln, row) in &table.rows {
            if let Some(t) = encoder.target {
                if is_missing(&row[t]) {
                    report.missing_target += 1;
                    continue;
                }
            }
            if with_target && self.missing == MissingPolicy::Drop && encoder.index.iter().any(|&i| is_missing(&row[i]))
            {
                report.gaps_dropped += 1;
                continue;
            }
            encoder.features(*ln, row, &mut features, &mut report)?;
            targets.push(encoder.target(*ln, row)?);
        }
        if targets.is_empty() {
            return Err(Error::parse(
                &table.path,
                None,
                "no rows are left once rows with a missing target are dropped",
            ));
        }
        let data = Dataset {
            features,
            n_features: width,
            targets,
            classes: self.classes().map(<[String]>::to_vec),
            feature_names: self.feature_names(),
            target_name: self.target.clone(),
        };
        Ok((data, report))
    }
}

/// A preprocessor bound to one table: where each model column is in it, and the lookups of levels and classes.
struct Encoder<'a> {
    pre: &'a Preprocessor,
    table: &'a Table,
    /// The table column of each model feature column.
    index: Vec<usize>,
    /// The table column of the target, when it is read.
    target: Option<usize>,
    /// Per model column, its levels' positions (empty for numeric columns).
    level_maps: Vec<HashMap<&'a str, usize>>,
    class_map: HashMap<&'a str, usize>,
}

impl<'a> Encoder<'a> {
    /// Finds the columns by name; a missing feature column, or a missing target when `with_target`, is an error
    /// at the header.
    fn new(pre: &'a Preprocessor, table: &'a Table, with_target: bool) -> Result<Self> {
        let header_at = Some("line 1".to_string());
        let mut index = Vec::with_capacity(pre.columns.len());
        for c in &pre.columns {
            let i = table.column(&c.name).ok_or_else(|| {
                let names: Vec<String> = pre.columns.iter().map(|c| c.name.clone()).collect();
                let reason = format!("missing feature column \"{}\"; the model needs {}", c.name, name_list(&names));
                Error::parse(&table.path, header_at.clone(), reason)
            })?;
            index.push(i);
        }
        let target = table.column(&pre.target).filter(|_| with_target);
        if target.is_none() && with_target {
            let reason = format!("no target column \"{}\"; the columns are: {}", pre.target, name_list(&table.header));
            return Err(Error::parse(&table.path, header_at, reason));
        }
        let level_maps = pre
            .columns
            .iter()
            .map(|c| match &c.encoding {
                Encoding::Categorical { levels, .. } => {
                    levels.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect()
                }
                Encoding::Numeric { .. } => HashMap::new(),
            })
            .collect();
        let mut class_map: HashMap<&str, usize> = HashMap::new();
        for (i, c) in pre.classes().unwrap_or_default().iter().enumerate() {
            class_map.entry(c.as_str()).or_insert(i);
        }
        Ok(Encoder { pre, table, index, target, level_maps, class_map })
    }

    fn at(&self, ln: usize, c: usize) -> Option<String> {
        Some(format!("line {ln}, column \"{}\"", self.table.header[c]))
    }

    /// Appends row `ln`'s encoded features: numbers standardised (gaps filled, plus the indicator), levels one-hot
    /// (an unseen level all zeros, counted in `report`).
    fn features(&self, ln: usize, row: &[String], out: &mut Vec<f32>, report: &mut TransformReport) -> Result<()> {
        for (k, (c, &i)) in self.pre.columns.iter().zip(&self.index).enumerate() {
            let cell = row[i].as_str();
            match &c.encoding {
                Encoding::Numeric { fill, center, scale, indicator } => {
                    let gap = is_missing(cell);
                    let x = if gap {
                        *fill
                    } else {
                        let v = parse_number(cell, "feature")
                            .map_err(|r| Error::parse(&self.table.path, self.at(ln, i), r))?;
                        f64::from(v)
                    };
                    out.push(((x - center) / scale) as f32);
                    if *indicator {
                        out.push(if gap { 1.0 } else { 0.0 });
                    }
                }
                Encoding::Categorical { levels, missing_level } => {
                    let start = out.len();
                    out.resize(start + levels.len() + usize::from(*missing_level), 0.0);
                    if is_missing(cell) && *missing_level {
                        out[start + levels.len()] = 1.0;
                    } else if let Some(&l) = self.level_maps[k].get(cell) {
                        out[start + l] = 1.0;
                    } else {
                        report.unseen[k].1 += 1;
                    }
                }
            }
        }
        Ok(())
    }

    /// Row `ln`'s target: its class index, its standardised value, or 0 when the target is not read.
    fn target(&self, ln: usize, row: &[String]) -> Result<f32> {
        let path = &self.table.path;
        Ok(match (self.target, &self.pre.target_encoding) {
            (None, _) => 0.0,
            (Some(t), TargetEncoding::Class { classes }) => match self.class_map.get(row[t].as_str()) {
                // Exact: class counts are far below 2^24.
                Some(&i) => i as f32,
                None => {
                    let reason =
                        format!("label \"{}\" is not one of the model's classes: {}", row[t], name_list(classes));
                    return Err(Error::parse(path, self.at(ln, t), reason));
                }
            },
            (Some(t), TargetEncoding::Value { center, scale }) => {
                let v = parse_number(&row[t], "target").map_err(|r| Error::parse(path, self.at(ln, t), r))?;
                ((f64::from(v) - center) / scale) as f32
            }
        })
    }
}
