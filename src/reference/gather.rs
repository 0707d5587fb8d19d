//! CPU twin of shaders/gather.wgsl.

/// out[r, c] = src[indices[offset + r], c] for r < rows.
pub fn gather_rows(src: &[f32], cols: usize, indices: &[u32], offset: usize, rows: usize) -> Vec<f32> {
    indices[offset..offset + rows]
        .iter()
        .flat_map(|&i| src[i as usize * cols..(i as usize + 1) * cols].iter().copied())
        .collect()
}
