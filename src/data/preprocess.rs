//! Tabular preprocessing fitted on the training table and stored with the model, so evaluation and prediction read
//! raw CSV files exactly as training did: column types, one-hot levels, missing-value imputation with indicator
//! columns, standardisation, and the target's encoding (class names, or a value's mean and std).
//!
//! The rules (see docs/tables.md): a feature column whose non-missing cells are not all numbers is categorical; a
//! numeric column's gaps take its training mean, plus a 0/1 indicator column when training had gaps; a categorical
//! column's gaps are a level of their own. Levels are sorted; a level unseen in training encodes as all zeros.
//!
//! ```
//! use std::path::Path;
//! use wgtrain::data::preprocess::{PreprocessOptions, Preprocessor};
//! use wgtrain::data::table::read_table_str;
//!
//! # fn main() -> wgtrain::Result<()> {
//! let text = "island,mass,species\nBiscoe,5000,Gentoo\nDream,,Chinstrap\nDream,3600,Adelie\n";
//! let train = read_table_str(text, Path::new("train.csv"))?;
//! // Numbers are standardised by default; kept raw here to show the values.
//! let pre = Preprocessor::fit(&train, &PreprocessOptions { normalize: false, ..PreprocessOptions::default() })?;
//! assert_eq!(pre.feature_names(), ["island=Biscoe", "island=Dream", "mass", "mass (missing)"]);
//! // Columns are found by name; "Torgersen" was never seen, so island encodes as zeros (and is counted).
//! let rows = read_table_str("mass,island\n4000,Torgersen\n", Path::new("new.csv"))?;
//! let (data, report) = pre.transform(&rows, false)?;
//! assert_eq!(data.row(0), &[0.0, 0.0, 4000.0, 0.0]);
//! assert_eq!(report.unseen[0], ("island".to_string(), 1));
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::csv::parse_number;
pub use super::encoding::{Column, Encoding, MissingPolicy, PreprocessOptions, TargetEncoding};
pub use super::fit::usable_rows;
use super::fit::{check_lists, fit_target, mean_std, target_column};
use super::table::{is_missing, Table};
use crate::error::{Error, Result};

/// Column types, levels, fill values, scaling and the target encoding, fitted on a training table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocessor {
    /// The feature columns in model-input order.
    pub columns: Vec<Column>,
    /// The target column's name.
    pub target: String,
    /// The target's encoding.
    pub target_encoding: TargetEncoding,
    /// Whether rows with gaps are dropped rather than imputed.
    pub missing: MissingPolicy,
}

impl Preprocessor {
    /// Fits on the usable rows of `table` (see [`usable_rows`]); errors name the file, line, column or option.
    pub fn fit(table: &Table, opts: &PreprocessOptions) -> Result<Preprocessor> {
        let t = target_column(table, opts.target.as_deref())?;
        check_lists(table, t, opts)?;
        let (rows, _, _) = usable_rows(table, opts)?;
        if rows.is_empty() {
            let why = "no rows are left once rows with a missing target (or, with --missing drop, any gap) are dropped";
            return Err(Error::parse(&table.path, None, why));
        }
        let at = |line: usize, c: usize| Some(format!("line {line}, column \"{}\"", table.header[c]));
        let mut columns = Vec::new();
        for (c, name) in table.header.iter().enumerate() {
            if c == t || opts.ignore.contains(name) {
                continue;
            }
            let cells: Vec<(usize, &str)> =
                rows.rows.iter().map(|(ln, r)| (*ln, r[c].as_str())).filter(|(_, v)| !is_missing(v)).collect();
            let gaps = cells.len() < rows.len();
            if cells.is_empty() {
                let reason = format!("every cell is missing; leave the column out with --ignore \"{name}\"");
                return Err(Error::parse(&table.path, Some(format!("column \"{name}\"")), reason));
            }
            let numeric = if opts.categorical.contains(name) {
                false
            } else {
                opts.numeric.contains(name) || cells.iter().all(|(_, v)| v.parse::<f64>().is_ok())
            };
            let encoding = if numeric {
                let mut values = Vec::with_capacity(cells.len());
                for &(ln, v) in &cells {
                    values.push(parse_number(v, "feature").map_err(|r| Error::parse(&table.path, at(ln, c), r))?);
                }
                let (mean, std) = mean_std(&values);
                let (center, scale) = if opts.normalize { (mean, std) } else { (0.0, 1.0) };
                Encoding::Numeric { fill: mean, center, scale, indicator: gaps }
            } else {
                let levels: BTreeSet<&str> = cells.iter().map(|(_, v)| *v).collect();
                if levels.len() > opts.max_levels {
                    let reason = format!(
                        "{} distinct values, more than --max-levels {}; leave an id column out with --ignore \"{name}\" (or raise --max-levels)",
                        levels.len(),
                        opts.max_levels
                    );
                    return Err(Error::parse(&table.path, Some(format!("column \"{name}\"")), reason));
                }
                Encoding::Categorical { levels: levels.into_iter().map(str::to_string).collect(), missing_level: gaps }
            };
            columns.push(Column { name: name.clone(), encoding });
        }
        if columns.is_empty() {
            let reason = format!("no feature columns are left besides the target \"{}\"", table.header[t]);
            return Err(Error::parse(&table.path, Some("line 1".into()), reason));
        }
        let labels: Vec<(usize, &str)> = rows.rows.iter().map(|(ln, r)| (*ln, r[t].as_str())).collect();
        let target_encoding = fit_target(table, t, &labels, opts)?;
        Ok(Preprocessor { columns, target: table.header[t].clone(), target_encoding, missing: opts.missing })
    }

    /// Names of the model inputs: `col` for a number, `col (missing)` for its gap indicator, `col=level` for a level
    /// and `col=(missing)` for a categorical gap.
    pub fn feature_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for c in &self.columns {
            match &c.encoding {
                Encoding::Numeric { indicator, .. } => {
                    names.push(c.name.clone());
                    if *indicator {
                        names.push(format!("{} (missing)", c.name));
                    }
                }
                Encoding::Categorical { levels, missing_level } => {
                    names.extend(levels.iter().map(|l| format!("{}={l}", c.name)));
                    if *missing_level {
                        names.push(format!("{}=(missing)", c.name));
                    }
                }
            }
        }
        names
    }

    /// The number of model inputs.
    pub fn n_features(&self) -> usize {
        self.feature_names().len()
    }

    /// Class names for a class target, None for a value.
    pub fn classes(&self) -> Option<&[String]> {
        match &self.target_encoding {
            TargetEncoding::Class { classes } => Some(classes),
            TargetEncoding::Value { .. } => None,
        }
    }

    /// Maps a model output for a value target back to the target's units (identity for a class target).
    pub fn unscale_target(&self, y: f64) -> f64 {
        match self.target_encoding {
            TargetEncoding::Value { center, scale } => y * scale + center,
            TargetEncoding::Class { .. } => y,
        }
    }
}

#[cfg(test)]
#[path = "preprocess_tests.rs"]
mod tests;
