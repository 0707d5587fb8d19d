//! Per-feature standardization, fitted on training data and reapplied unchanged at prediction time.

use super::Dataset;
use crate::error::{Error, Result};

/// Per-feature mean and standard deviation; `apply` maps each feature to (x - mean) / std.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalizer {
    /// Mean of each feature.
    pub mean: Vec<f32>,
    /// Population standard deviation of each feature (1 for constant features).
    pub std: Vec<f32>,
}

impl Normalizer {
    /// Computes per-feature mean and population std in f64; an empty dataset gives mean 0 and std 1.
    pub fn fit(data: &Dataset) -> Normalizer {
        let d = data.n_features;
        let n = data.len();
        let mut sum = vec![0f64; d];
        for i in 0..n {
            for (s, &x) in sum.iter_mut().zip(data.row(i)) {
                *s += f64::from(x);
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| if n == 0 { 0.0 } else { s / n as f64 }).collect();
        // Two passes rather than sum-of-squares, which cancels badly for large offsets such as timestamps.
        let mut sq = vec![0f64; d];
        for i in 0..n {
            for ((s, &x), m) in sq.iter_mut().zip(data.row(i)).zip(&mean) {
                *s += (f64::from(x) - m).powi(2);
            }
        }
        let std = sq
            .iter()
            .map(|s| {
                let sd = if n == 0 { 0.0 } else { (s / n as f64).sqrt() };
                // A constant column would divide by zero; std 1 leaves it centred at 0 instead.
                if sd < 1e-12 {
                    1.0
                } else {
                    sd as f32
                }
            })
            .collect();
        Normalizer { mean: mean.iter().map(|&m| m as f32).collect(), std }
    }

    /// Standardizes the dataset's features in place.
    pub fn apply(&self, data: &mut Dataset) -> Result<()> {
        if self.std.len() != self.mean.len() {
            let reason = format!("{} means but {} standard deviations", self.mean.len(), self.std.len());
            return Err(Error::config("normalize", reason));
        }
        if data.n_features != self.mean.len() {
            let reason = format!(
                "the data has {} features but the normalizer was fitted on {}",
                data.n_features,
                self.mean.len()
            );
            return Err(Error::config("normalize", reason));
        }
        if data.n_features == 0 {
            return Ok(());
        }
        for row in data.features.chunks_exact_mut(data.n_features) {
            for ((x, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *x = (*x - m) / s;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(features: Vec<f32>, n_features: usize) -> Dataset {
        let n = features.len() / n_features.max(1);
        Dataset {
            features,
            n_features,
            targets: vec![0.0; n],
            classes: None,
            feature_names: (0..n_features).map(|i| format!("f{i}")).collect(),
            target_name: "y".into(),
        }
    }

    #[test]
    fn known_table() {
        // Columns: [1, 3] -> mean 2, std 1; constant [5, 5] -> std replaced by 1; [0, 8] -> mean 4, std 4.
        let mut d = table(vec![1.0, 5.0, 0.0, 3.0, 5.0, 8.0], 3);
        let norm = Normalizer::fit(&d);
        assert_eq!(norm.mean, vec![2.0, 5.0, 4.0]);
        assert_eq!(norm.std, vec![1.0, 1.0, 4.0]);
        norm.apply(&mut d).unwrap();
        assert_eq!(d.features, vec![-1.0, 0.0, -1.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn large_offset_stays_accurate() {
        let d = table(vec![1e6, 1e6 + 2.0], 1);
        let norm = Normalizer::fit(&d);
        assert_eq!((norm.mean[0], norm.std[0]), (1e6 + 1.0, 1.0));
    }

    #[test]
    fn empty_and_mismatch() {
        let norm = Normalizer::fit(&table(vec![], 2));
        assert_eq!((norm.mean.clone(), norm.std.clone()), (vec![0.0; 2], vec![1.0; 2]));
        let mut other = table(vec![1.0, 2.0, 3.0], 3);
        let e = norm.apply(&mut other).unwrap_err().to_string();
        assert!(e.contains("normalize") && e.contains("has 3 features but the normalizer was fitted on 2"), "{e}");
        let mut none = table(vec![], 0);
        assert!(Normalizer::fit(&none).apply(&mut none).is_ok());
    }
}
