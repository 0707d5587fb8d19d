//! Host-side datasets: loading (CSV, MNIST IDX), tabular preprocessing, splitting and feature normalization.

pub mod csv;
pub mod device;
mod encoding;
mod fit;
pub mod idx;
mod legacy;
pub mod normalize;
pub mod preprocess;
pub mod table;
mod target;
pub mod transform;

use crate::error::{Error, Result};
use crate::internal::rng::Rng;

/// A table of samples held on the host: features row-major [len, n_features], one target per row.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Feature values, row-major [len, n_features].
    pub features: Vec<f32>,
    /// Number of features per row.
    pub n_features: usize,
    /// One value per row: the class index (as f32, exact) when `classes` is Some, else the regression value.
    pub targets: Vec<f32>,
    /// Class names in index order (sorted distinct labels), for classification.
    pub classes: Option<Vec<String>>,
    /// Feature column names (for CSV; "pixel0".. for images).
    pub feature_names: Vec<String>,
    /// Name of the target column.
    pub target_name: String,
}

impl Dataset {
    /// Number of rows.
    pub fn len(&self) -> usize {
        // Targets rather than features, so a table with zero feature columns still counts its rows.
        self.targets.len()
    }

    /// Whether the dataset has no rows.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Number of classes for classification, None for regression.
    pub fn n_classes(&self) -> Option<usize> {
        self.classes.as_ref().map(Vec::len)
    }

    /// The features of row `i` (panics if `i >= len()`, like slice indexing).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.features[i * self.n_features..(i + 1) * self.n_features]
    }

    /// A new dataset holding the given rows in the given order (panics on an index `>= len()`).
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut features = Vec::with_capacity(indices.len() * self.n_features);
        let mut targets = Vec::with_capacity(indices.len());
        for &i in indices {
            features.extend_from_slice(self.row(i));
            targets.push(self.targets[i]);
        }
        Dataset {
            features,
            n_features: self.n_features,
            targets,
            classes: self.classes.clone(),
            feature_names: self.feature_names.clone(),
            target_name: self.target_name.clone(),
        }
    }

    /// scikit-learn's `class_weight="balanced"`: n_samples / (n_classes · count_c) per class (a class with no rows
    /// gets 0); None for regression.
    pub fn balanced_class_weights(&self) -> Option<Vec<f32>> {
        let k = self.n_classes()?;
        let mut counts = vec![0usize; k];
        for &t in &self.targets {
            if let Some(c) = counts.get_mut(t as usize) {
                *c += 1;
            }
        }
        let n = self.len() as f64;
        Some(counts.iter().map(|&c| if c == 0 { 0.0 } else { (n / (k as f64 * c as f64)) as f32 }).collect())
    }

    /// Splits into (train, validation) with [`split_indices`].
    pub fn split(&self, val_fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        let (train, val) = split_indices(self.len(), val_fraction, seed)?;
        Ok((self.subset(&train), self.subset(&val)))
    }
}

/// (train, validation) row indices for `n` rows: a seeded shuffle picks round(n * val_fraction) rows for
/// validation; both lists are in increasing order, so each part keeps the file's relative order.
pub fn split_indices(n: usize, val_fraction: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    // Written as a negated range test so NaN is rejected too.
    if !(val_fraction > 0.0 && val_fraction < 1.0) {
        return Err(Error::config("val_split", format!("must be between 0 and 1 (exclusive), got {val_fraction}")));
    }
    let n_val = (n as f64 * val_fraction).round() as usize;
    if n_val == 0 || n_val >= n {
        return Err(Error::config(
            "val_split",
            format!(
                "{val_fraction} of {n} rows leaves {} for validation and {} for training; both need at least one",
                n_val.min(n),
                n - n_val.min(n)
            ),
        ));
    }
    let perm = Rng::new(seed).permutation(n);
    let mut is_val = vec![false; n];
    for &i in &perm[..n_val] {
        is_val[i as usize] = true;
    }
    let (val, train): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| is_val[i]);
    Ok((train, val))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(n: usize) -> Dataset {
        Dataset {
            features: (0..n * 2).map(|v| v as f32).collect(),
            n_features: 2,
            targets: (0..n).map(|v| v as f32).collect(),
            classes: None,
            feature_names: vec!["a".into(), "b".into()],
            target_name: "y".into(),
        }
    }

    #[test]
    fn accessors() {
        let d = table(3);
        assert_eq!(d.len(), 3);
        assert!(!d.is_empty());
        assert_eq!(d.n_classes(), None);
        assert_eq!(d.row(1), &[2.0, 3.0]);
        let s = d.subset(&[2, 0]);
        assert_eq!(s.features, vec![4.0, 5.0, 0.0, 1.0]);
        assert_eq!(s.targets, vec![2.0, 0.0]);
        assert_eq!(s.feature_names, d.feature_names);
    }

    #[test]
    fn split_sizes_order_and_determinism() {
        let d = table(10);
        let (train, val) = d.split(0.25, 1).unwrap();
        // round(2.5) = 3 rows for validation.
        assert_eq!(val.len(), 3);
        assert_eq!(train.len(), 7);
        for part in [&train, &val] {
            assert!(part.targets.windows(2).all(|w| w[0] < w[1]), "order kept");
            for i in 0..part.len() {
                assert_eq!(part.row(i)[0], part.targets[i] * 2.0);
            }
        }
        let mut all: Vec<f32> = train.targets.iter().chain(&val.targets).copied().collect();
        all.sort_by(f32::total_cmp);
        assert_eq!(all, d.targets);
        assert_eq!(d.split(0.25, 1).unwrap(), (train, val.clone()));
        let (_, val2) = d.split(0.25, 2).unwrap();
        assert_ne!(val.targets, val2.targets);
    }

    #[test]
    fn balanced_weights_as_sklearn() {
        // sklearn: compute_class_weight("balanced", classes=[0,1,2], y=[0,0,0,1]) = [4/6, 4/3, (absent) ...].
        let d = Dataset {
            targets: vec![0.0, 0.0, 0.0, 1.0],
            classes: Some(vec!["a".into(), "b".into(), "c".into()]),
            ..table(4)
        };
        assert_eq!(d.balanced_class_weights(), Some(vec![4.0 / 9.0, 4.0 / 3.0, 0.0]));
        assert_eq!(table(2).balanced_class_weights(), None);
    }

    #[test]
    fn split_errors() {
        let d = table(10);
        for f in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
            let e = d.split(f, 0).unwrap_err().to_string();
            assert!(e.contains("val_split"), "{e}");
        }
        assert!(d.split(0.01, 0).unwrap_err().to_string().contains("at least one"));
        assert!(d.split(0.99, 0).unwrap_err().to_string().contains("at least one"));
        assert!(table(1).split(0.5, 0).is_err());
    }
}
