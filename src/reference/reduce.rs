//! CPU twin of shaders/reduce.wgsl.

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
