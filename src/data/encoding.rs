//! What preprocessing is told and what it decides: the options, each feature column's encoding and the target's
//! encoding. Shared by the fitting rules (`fit`), the fitted [`Preprocessor`](super::preprocess::Preprocessor) and
//! the transform (`transform`).

use serde::{Deserialize, Serialize};

use super::csv::TargetKind;

/// What to do with a row that has a gap in a feature column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MissingPolicy {
    /// Fill numeric gaps with the training mean (plus an indicator column); a categorical gap is its own level.
    #[default]
    Impute,
    /// Drop the row.
    Drop,
}

/// How to read a training table; every list names columns of the file.
#[derive(Clone, Debug, PartialEq)]
pub struct PreprocessOptions {
    /// Target column; None means the last column.
    pub target: Option<String>,
    /// How to read the target.
    pub kind: TargetKind,
    /// Columns to one-hot encode even if they hold numbers (codes such as a postcode).
    pub categorical: Vec<String>,
    /// Columns that must be numeric (a text cell is then an error, not a category).
    pub numeric: Vec<String>,
    /// Columns to leave out (an id column).
    pub ignore: Vec<String>,
    /// Gaps in features: impute, or drop the row.
    pub missing: MissingPolicy,
    /// The most distinct values a categorical column may have.
    pub max_levels: usize,
    /// Standardise numeric features and a numeric target with the training mean and population std (the default;
    /// false keeps raw values, as a PyTorch run on the raw file sees them).
    pub normalize: bool,
}

impl Default for PreprocessOptions {
    fn default() -> Self {
        PreprocessOptions {
            target: None,
            kind: TargetKind::Auto,
            categorical: Vec::new(),
            numeric: Vec::new(),
            ignore: Vec::new(),
            missing: MissingPolicy::Impute,
            max_levels: 50,
            normalize: true,
        }
    }
}

/// How one feature column becomes model inputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Encoding {
    /// One input (x − center) / scale, gaps filled with `fill`; plus a 0/1 gap indicator when `indicator`.
    Numeric {
        /// The training mean of the column, used for gaps.
        fill: f64,
        /// Subtracted before scaling (the mean when standardising, else 0).
        center: f64,
        /// Divides (the population std when standardising, else 1; never 0).
        scale: f64,
        /// Whether training had gaps, so a "column (missing)" input follows.
        indicator: bool,
    },
    /// One 0/1 input per level (sorted), plus one for gaps when training had gaps.
    Categorical {
        /// The distinct non-missing training values, sorted.
        levels: Vec<String>,
        /// Whether training had gaps, so a "column=(missing)" input follows the levels.
        missing_level: bool,
    },
}

/// A feature column of the training file and its encoding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// The column's name in the CSV header.
    pub name: String,
    /// How it is encoded.
    pub encoding: Encoding,
}

/// How the target column becomes the training target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TargetEncoding {
    /// Class names in index order.
    Class {
        /// The sorted distinct labels.
        classes: Vec<String>,
    },
    /// A value, trained on as (y − center) / scale and mapped back for predictions.
    Value {
        /// The training mean when standardising, else 0.
        center: f64,
        /// The training population std when standardising, else 1.
        scale: f64,
    },
}
