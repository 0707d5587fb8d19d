//! CPU twin of shaders/transpose.wgsl.

/// out[c, r] = x[r, c] for x of `rows`×`cols`, row-major.
pub fn transpose_texture<T: Copy>(x: &[T], rows: usize, cols: usize) -> Vec<T> {
    (0..cols).flat_map(|c| (0..rows).map(move |r| x[r * cols + c])).collect()
}

/// `transpose_texture_models`: each model's x [rows, cols] (at m·`models.input`) transposed into its out (at
/// m·`models.output`); the floats between models' outputs stay zero.
pub fn transpose_texture_models(x: &[f32], rows: usize, cols: usize, models: &crate::ops::Models) -> Vec<f32> {
    let n = rows * cols;
    let mut out = vec![0.0; models.span(models.output, n)];
    for m in 0..models.count {
        let t = transpose_texture(&x[m * models.input..m * models.input + n], rows, cols);
        out[m * models.output..m * models.output + n].copy_from_slice(&t);
    }
    out
}
