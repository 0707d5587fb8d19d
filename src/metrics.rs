//! Evaluation metrics computed on the host from predictions: regression errors in the target's own units, and
//! per-class precision, recall and F1 with the confusion matrix (scikit-learn's definitions).

use serde::Serialize;

/// Regression errors: mean squared, its root, mean absolute, and the coefficient of determination.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegressionMetrics {
    /// Σ (ŷ − y)² / n.
    pub mse: f64,
    /// √mse.
    pub rmse: f64,
    /// Σ |ŷ − y| / n.
    pub mae: f64,
    /// 1 − Σ (ŷ − y)² / Σ (y − ȳ)²; for a constant target 1 if predicted exactly, else 0 (scikit-learn's
    /// `r2_score` with `force_finite=True`).
    pub r2: f64,
}

/// Regression metrics of `predicted` against `actual` (same length; empty gives zeros).
pub fn regression(predicted: &[f64], actual: &[f64]) -> RegressionMetrics {
    let n = actual.len().max(1) as f64;
    let mean = actual.iter().sum::<f64>() / n;
    let sse: f64 = predicted.iter().zip(actual).map(|(p, a)| (p - a).powi(2)).sum();
    let sae: f64 = predicted.iter().zip(actual).map(|(p, a)| (p - a).abs()).sum();
    let sst: f64 = actual.iter().map(|a| (a - mean).powi(2)).sum();
    let r2 = if sst > 0.0 {
        1.0 - sse / sst
    } else if sse == 0.0 {
        1.0
    } else {
        0.0
    };
    RegressionMetrics { mse: sse / n, rmse: (sse / n).sqrt(), mae: sae / n, r2 }
}

/// One class's precision, recall, F1 and support.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// The class name.
    pub class: String,
    /// True positives / predicted positives (0 when nothing was predicted as this class).
    pub precision: f64,
    /// True positives / actual positives (0 when the class does not occur).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Rows whose actual class this is.
    pub support: u64,
}

/// Classification metrics over `classes`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassificationMetrics {
    /// Fraction of rows predicted correctly.
    pub accuracy: f64,
    /// Per class, in class order.
    pub per_class: Vec<ClassMetrics>,
    /// The unweighted mean of the per-class F1 scores.
    pub macro_f1: f64,
    /// `confusion[actual][predicted]` row counts, in class order (scikit-learn's layout).
    pub confusion: Vec<Vec<u64>>,
}

/// Classification metrics of predicted class indices against actual ones; indices ≥ `classes.len()` are ignored.
pub fn classification(predicted: &[usize], actual: &[usize], classes: &[String]) -> ClassificationMetrics {
    let k = classes.len();
    let mut confusion = vec![vec![0u64; k]; k];
    for (&p, &a) in predicted.iter().zip(actual) {
        if p < k && a < k {
            confusion[a][p] += 1;
        }
    }
    let ratio = |num: u64, den: u64| if den == 0 { 0.0 } else { num as f64 / den as f64 };
    let per_class: Vec<ClassMetrics> = (0..k)
        .map(|c| {
            let tp = confusion[c][c];
            let support: u64 = confusion[c].iter().sum();
            let predicted_c: u64 = confusion.iter().map(|row| row[c]).sum();
            let (precision, recall) = (ratio(tp, predicted_c), ratio(tp, support));
            let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
            ClassMetrics { class: classes[c].clone(), precision, recall, f1, support }
        })
        .collect();
    let total: u64 = confusion.iter().flatten().sum();
    let correct: u64 = (0..k).map(|c| confusion[c][c]).sum();
    let macro_f1 = per_class.iter().map(|m| m.f1).sum::<f64>() / k.max(1) as f64;
    ClassificationMetrics { accuracy: ratio(correct, total), per_class, macro_f1, confusion }
}

/// The index of the first largest value (the class a row of logits or probabilities predicts).
pub fn argmax(row: &[f32]) -> usize {
    row.iter().enumerate().fold(0, |best, (i, &v)| if v > row[best] { i } else { best })
}

/// Softmax of one row of logits, shifted by the maximum so large logits do not overflow.
pub fn softmax(row: &[f32]) -> Vec<f64> {
    let m = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
    let e: Vec<f64> = row.iter().map(|&v| (f64::from(v) - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_by_hand() {
        // Errors 1, −1, 2 on targets with mean 2 and Σ(y − ȳ)² = 2.
        let m = regression(&[2.0, 1.0, 5.0], &[1.0, 2.0, 3.0]);
        assert_eq!((m.mse, m.mae, m.r2), (2.0, 4.0 / 3.0, 1.0 - 6.0 / 2.0));
        assert_eq!(m.rmse, 2f64.sqrt());
        assert_eq!(regression(&[1.0, 1.0], &[1.0, 1.0]).r2, 1.0);
        assert_eq!(regression(&[0.0, 1.0], &[1.0, 1.0]).r2, 0.0);
    }

    #[test]
    fn classification_matches_sklearn() {
        // sklearn: y_true=[0,0,1,1,2,2], y_pred=[0,1,1,1,0,2]: precision [.5, .667, 1], recall [.5, 1, .5],
        // f1 [.5, .8, .667], macro f1 0.6556, accuracy 4/6.
        let classes: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let m = classification(&[0, 1, 1, 1, 0, 2], &[0, 0, 1, 1, 2, 2], &classes);
        assert_eq!(m.confusion, vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 1]]);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-4;
        assert!(close(m.accuracy, 4.0 / 6.0) && close(m.macro_f1, 0.655_555_6), "{m:?}");
        let f1: Vec<f64> = m.per_class.iter().map(|c| c.f1).collect();
        assert!(close(f1[0], 0.5) && close(f1[1], 0.8) && close(f1[2], 2.0 / 3.0), "{f1:?}");
        assert_eq!((m.per_class[1].precision, m.per_class[2].support), (2.0 / 3.0, 2));
        // A class never predicted and never present scores 0, not NaN.
        let m = classification(&[0], &[0], &classes);
        assert_eq!((m.per_class[2].f1, m.accuracy), (0.0, 1.0));
    }

    #[test]
    fn argmax_and_softmax() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0]), 1);
        let p = softmax(&[0.0, 3f32.ln()]);
        assert!((p[0] - 0.25).abs() < 1e-7 && (p[1] - 0.75).abs() < 1e-7);
        assert!(softmax(&[1e4, -1e4]).iter().all(|v| v.is_finite()));
    }
}
