//! CPU twin of shaders/weight_l2.wgsl.

use super::Real;

/// dw[m·stride + j] += coef[m]·w[m·stride + j] for every model m < coef.len() and j < len: the gradient of the
/// weights-only L2 penalty 0.5·alpha_m·Σ W² / rows with coef[m] = alpha_m / rows.
pub fn weight_l2<T: Real>(coef: &[T], w: &[T], dw: &mut [T], len: usize, stride: usize) {
    for (m, &c) in coef.iter().enumerate() {
        for j in 0..len {
            let at = m * stride + j;
            dw[at] += c * w[at];
        }
    }
}
