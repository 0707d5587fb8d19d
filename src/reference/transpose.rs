//! CPU twin of shaders/transpose.wgsl.

/// out[c, r] = x[r, c] for x of `rows`×`cols`, row-major.
pub fn transpose_texture<T: Copy>(x: &[T], rows: usize, cols: usize) -> Vec<T> {
    (0..cols).flat_map(|c| (0..rows).map(move |r| x[r * cols + c])).collect()
}
