//! CPU twin of shaders/reduce.wgsl.

use crate::ops::Models;

/// Elements summed by one workgroup of `sum_squares_partial`.
pub const CHUNK: usize = crate::shaders::prelude::REDUCE_CHUNK as usize;

/// out[c] = Σ_r x[r, c].
pub fn column_sum(x: &[f32], cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; cols];
    for row in x.chunks(cols) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
    out
}

/// out[w] = Σ x[i]² over chunk w of CHUNK elements (in f64, then rounded: the kernel's summation order differs).
pub fn sum_squares_partial(x: &[f32]) -> Vec<f32> {
    x.chunks(CHUNK).map(|c| c.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() as f32).collect()
}

/// [scale, norm] with norm = √Σ partials and scale = min(1, max_norm / (norm + 1e-6)) (clip_grad_norm_).
pub fn clip_scale(partials: &[f32], max_norm: f32) -> [f32; 2] {
    let norm = partials.iter().map(|&v| f64::from(v)).sum::<f64>().sqrt() as f32;
    [(max_norm / (norm + 1e-6)).min(1.0), norm]
}

/// stats[0] += Σ losses, stats[1] += Σ correct, stats[2] += rows, for row_stats = [losses; correct].
pub fn stats_accumulate(stats: &mut [f32; 3], row_stats: &[f32], rows: usize) {
    stats[0] += row_stats[..rows].iter().sum::<f32>();
    stats[1] += row_stats[rows..2 * rows].iter().sum::<f32>();
    stats[2] += rows as f32;
}

/// `column_sum_models`: [`column_sum`] of each model's x [rows, cols] (at m·`models.input`) into its out (at
/// m·`models.output`); the floats between models' outputs stay zero.
pub fn column_sum_models(x: &[f32], rows: usize, cols: usize, models: &Models) -> Vec<f32> {
    let mut out = vec![0.0; models.span(models.output, cols)];
    for m in 0..models.count {
        let xm = &x[m * models.input..m * models.input + rows * cols];
        out[m * models.output..m * models.output + cols].copy_from_slice(&column_sum(xm, cols));
    }
    out
}

/// `stats_accumulate_models`: [`stats_accumulate`] of each model's row_stats (at m·`models.input`) into its stats
/// (the three floats at m·`models.output`).
pub fn stats_accumulate_models(stats: &mut [f32], row_stats: &[f32], rows: usize, models: &Models) {
    for m in 0..models.count {
        let at = m * models.output;
        let mut s = [stats[at], stats[at + 1], stats[at + 2]];
        stats_accumulate(&mut s, &row_stats[m * models.input..m * models.input + 2 * rows], rows);
        stats[at..at + 3].copy_from_slice(&s);
    }
}
