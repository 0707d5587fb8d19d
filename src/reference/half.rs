//! CPU twin of shaders/half.wgsl and of the f16 gathers (shaders/gather_f16.wgsl, gather_vec4_f16.wgsl): every
//! value computed in f32 from f16 inputs widened exactly, and rounded to f16 once where the kernel stores an f16
//! (`reference::f16::round`). f16 tensors are `half::f16` slices; f32 results are f32.

use super::activation::act_derivative;
use super::f16::f16;
use super::gather::gather_rows;
use crate::ops::activation::Activation;
use crate::ops::Models;

/// out[i] = f16(dy[i] · f'(x[i])), x the f16 pre-activation, product in f32.
pub fn activation_backward_f16(x: &[f16], dy: &[f16], a: Activation) -> Vec<f16> {
    x.iter().zip(dy).map(|(&x, &dy)| f16::from_f32(dy.to_f32() * act_derivative(x.to_f32(), a))).collect()
}

/// out[c] = Σ_r x[r, c] in f32, rows in order, of each model's x [rows, cols] (at m·`models.input`) into its out
/// (at m·`models.output`); the floats between models stay zero.
pub fn column_sum_f16(x: &[f16], rows: usize, cols: usize, models: &Models) -> Vec<f32> {
    let mut out = vec![0.0; models.span(models.output, cols)];
    for m in 0..models.count {
        let xm = &x[m * models.input..m * models.input + rows * cols];
        for (c, o) in out[m * models.output..m * models.output + cols].iter_mut().enumerate() {
            *o = (0..rows).fold(0.0f32, |s, r| s + xm[r * cols + c].to_f32());
        }
    }
    out
}

/// out[c, r] = x[r, c] for each model's x [rows, cols] (at m·`models.input`) into its out [cols, rows] (at
/// m·`models.output`); the values between models stay zero.
pub fn transpose_f16(x: &[f16], rows: usize, cols: usize, models: &Models) -> Vec<f16> {
    let mut out = vec![f16::from_f32(0.0); models.span(models.output, rows * cols)];
    for m in 0..models.count {
        for r in 0..rows {
            for c in 0..cols {
                out[m * models.output + c * rows + r] = x[m * models.input + r * cols + c];
            }
        }
    }
    out
}

/// `gather_rows` (`reference::gather`) into an f16 batch: each gathered f32 value rounded to f16; rows of `out`
/// whose index is outside `src`'s chunk are left as they are.
pub fn gather_rows_f16(
    out: &mut [f16],
    src: &[f32],
    cols: usize,
    indices: &[u32],
    offset: usize,
    rows: usize,
    row_start: usize,
) {
    let mut wide: Vec<f32> = out.iter().map(|h| h.to_f32()).collect();
    gather_rows(&mut wide, src, cols, indices, offset, rows, row_start);
    for (o, w) in out.iter_mut().zip(wide) {
        *o = f16::from_f32(w);
    }
}
