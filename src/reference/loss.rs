//! CPU twin of shaders/loss.wgsl: per-row loss, correct flag, and the gradient w.r.t. the raw outputs.
//! Each returns (dlogits [rows·cols], row_stats [2·rows]) with row_stats = per-sample losses then correct flags;
//! the batch loss (reduction = mean, as PyTorch) is the mean of the first half.

use super::{max, Real};
use crate::ops::Models;
use crate::shaders::prelude::WG_ROWS;

/// Mean squared error: l = (y − t)², dy = 2 (y − t) / (rows·cols).
pub fn mse_loss<T: Real>(y: &[T], t: &[T], rows: usize, cols: usize) -> (Vec<T>, Vec<T>) {
    let inv = T::of(1.0 / (rows * cols) as f64);
    let mut dy = vec![T::of(0.0); rows * cols];
    let mut stats = vec![T::of(0.0); 2 * rows];
    for r in 0..rows {
        let mut sum = T::of(0.0);
        for c in 0..cols {
            let d = y[r * cols + c] - t[r * cols + c];
            sum += d * d;
            dy[r * cols + c] = T::of(2.0) * d * inv;
        }
        stats[r] = sum / T::of(cols as f64);
    }
    (dy, stats)
}

/// Binary cross-entropy on logits (BCEWithLogitsLoss): l = max(x,0) − x t + ln(1 + e^−|x|), dx = (σ(x) − t)/(rows·cols).
pub fn bce_loss<T: Real>(x: &[T], t: &[T], rows: usize, cols: usize) -> (Vec<T>, Vec<T>) {
    let inv = T::of(1.0 / (rows * cols) as f64);
    let (zero, one) = (T::of(0.0), T::of(1.0));
    let mut dx = vec![zero; rows * cols];
    let mut stats = vec![zero; 2 * rows];
    for r in 0..rows {
        let (mut sum, mut correct) = (zero, zero);
        for c in 0..cols {
            let (v, tv) = (x[r * cols + c], t[r * cols + c]);
            let e = (-v.abs()).exp();
            sum += max(v, zero) - v * tv + (one + e).ln();
            let sig = if v >= zero { one / (one + e) } else { e / (one + e) };
            dx[r * cols + c] = (sig - tv) * inv;
            if (v > zero) == (tv > T::of(0.5)) {
                correct += one;
            }
        }
        stats[r] = sum / T::of(cols as f64);
        stats[rows + r] = correct / T::of(cols as f64);
    }
    (dx, stats)
}

/// Softmax cross-entropy with class indices (CrossEntropyLoss): l = logsumexp(x) − x[t], dx = (softmax − onehot)/rows.
/// Correct when the first arg-max equals the label.
pub fn cross_entropy_loss<T: Real>(x: &[T], labels: &[T], rows: usize, cols: usize) -> (Vec<T>, Vec<T>) {
    let inv = T::of(1.0 / rows as f64);
    let mut dx = vec![T::of(0.0); rows * cols];
    let mut stats = vec![T::of(0.0); 2 * rows];
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let label = (labels[r].to_f64() as usize).min(cols - 1);
        let (mut m, mut arg) = (row[0], 0);
        for (c, &v) in row.iter().enumerate().skip(1) {
            if v > m {
                m = v;
                arg = c;
            }
        }
        let s = row.iter().fold(T::of(0.0), |s, &v| s + (v - m).exp());
        for c in 0..cols {
            let p = (row[c] - m).exp() / s;
            let onehot = if c == label { T::of(1.0) } else { T::of(0.0) };
            dx[r * cols + c] = (p - onehot) * inv;
        }
        stats[r] = m + s.ln() - row[label];
        stats[rows + r] = T::of(if arg == label { 1.0 } else { 0.0 });
    }
    (dx, stats)
}

/// Class-weighted softmax cross-entropy (CrossEntropyLoss(weight=w), reduction = mean): with W = Σ w[tᵢ] over the
/// batch, dx = w[t]·(softmax − onehot)/W and the per-row loss w[t]·nll·rows/W, so that the mean of the per-row
/// losses is PyTorch's Σ w[tᵢ]·nllᵢ / W. W is summed in the kernel's order (`WG_ROWS` strided partials, then a tree).
pub fn weighted_cross_entropy_loss<T: Real>(
    x: &[T],
    labels: &[T],
    weights: &[T],
    rows: usize,
    cols: usize,
) -> (Vec<T>, Vec<T>) {
    let label = |r: usize| (labels[r].to_f64() as usize).min(cols - 1);
    let mut partial = [T::of(0.0); WG_ROWS as usize];
    for (lid, p) in partial.iter_mut().enumerate() {
        for r in (lid..rows).step_by(WG_ROWS as usize) {
            *p += weights[label(r)];
        }
    }
    let mut s = WG_ROWS as usize / 2;
    while s > 0 {
        for lid in 0..s {
            let v = partial[lid + s];
            partial[lid] += v;
        }
        s /= 2;
    }
    let total = partial[0];
    let mut dx = vec![T::of(0.0); rows * cols];
    let mut stats = vec![T::of(0.0); 2 * rows];
    for r in 0..rows {
        let row = &x[r * cols..(r + 1) * cols];
        let t = label(r);
        let scale = weights[t] / total;
        let (mut m, mut arg) = (row[0], 0);
        for (c, &v) in row.iter().enumerate().skip(1) {
            if v > m {
                m = v;
                arg = c;
            }
        }
        let s = row.iter().fold(T::of(0.0), |s, &v| s + (v - m).exp());
        for c in 0..cols {
            let p = (row[c] - m).exp() / s;
            let onehot = if c == t { T::of(1.0) } else { T::of(0.0) };
            dx[r * cols + c] = (p - onehot) * scale;
        }
        stats[r] = (m + s.ln() - row[t]) * scale * T::of(rows as f64);
        stats[rows + r] = T::of(if arg == t { 1.0 } else { 0.0 });
    }
    (dx, stats)
}

/// The model-batched loss (`loss_models`, `weighted_cross_entropy_models`): `one` (this file's twin of the loss,
/// its targets bound) on each model's logits [rows, cols] at m·`models.input`, its dlogits written at the same
/// offset and its row_stats at m·`models.output`; returns (dlogits, row_stats), zero between models.
pub fn loss_models<T: Real>(
    one: impl Fn(&[T]) -> (Vec<T>, Vec<T>),
    logits: &[T],
    rows: usize,
    cols: usize,
    models: &Models,
) -> (Vec<T>, Vec<T>) {
    let n = rows * cols;
    let mut dl = vec![T::of(0.0); models.span(models.input, n)];
    let mut stats = vec![T::of(0.0); models.span(models.output, 2 * rows)];
    for m in 0..models.count {
        let (d, s) = one(&logits[m * models.input..m * models.input + n]);
        dl[m * models.input..m * models.input + n].copy_from_slice(&d);
        stats[m * models.output..m * models.output + 2 * rows].copy_from_slice(&s);
    }
    (dl, stats)
}
