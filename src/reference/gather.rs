//! CPU twin of shaders/gather.wgsl.

/// out[r, c] = src[indices[offset + r] − row_start, c] for r < rows whose index lies in the chunk
/// row_start..row_start + src.len()/cols; other rows of `out` are left as they are.
pub fn gather_rows(
    out: &mut [f32],
    src: &[f32],
    cols: usize,
    indices: &[u32],
    offset: usize,
    rows: usize,
    row_start: usize,
) {
    let src_rows = src.len() / cols;
    for (r, &index) in indices[offset..offset + rows].iter().enumerate() {
        let i = index as usize;
        if i >= row_start && i - row_start < src_rows {
            let from = (i - row_start) * cols;
            out[r * cols..(r + 1) * cols].copy_from_slice(&src[from..from + cols]);
        }
    }
}
