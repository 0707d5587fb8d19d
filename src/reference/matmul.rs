//! CPU twin of shaders/matmul.wgsl. A: [M, K] (or [K, M] transposed), B: [K, N] (or [N, K]), C: [M, N].

use super::activation::{act, act_derivative};
use super::Real;
use crate::ops::activation::Activation;
use crate::ops::matmul::MatmulShape;

/// op(A)·op(B), accumulated over k in order (as the kernel does).
pub fn matmul<T: Real>(s: &MatmulShape, a: &[T], b: &[T]) -> Vec<T> {
    let mut c = vec![T::of(0.0); s.m * s.n];
    for i in 0..s.m {
        for j in 0..s.n {
            let mut acc = T::of(0.0);
            for k in 0..s.k {
                let av = if s.trans_a { a[k * s.m + i] } else { a[i * s.k + k] };
                let bv = if s.trans_b { b[j * s.k + k] } else { b[k * s.n + j] };
                acc += av * bv;
            }
            c[i * s.n + j] = acc;
        }
    }
    c
}

/// z = op(A)·op(B) + bias (bias broadcast over rows); returns (act(z), z).
pub fn matmul_forward<T: Real>(
    s: &MatmulShape,
    a: &[T],
    b: &[T],
    bias: Option<&[T]>,
    f: Activation,
) -> (Vec<T>, Vec<T>) {
    let mut z = matmul(s, a, b);
    if let Some(bias) = bias {
        for row in z.chunks_mut(s.n) {
            for (v, &b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
    }
    let c = z.iter().map(|&v| act(v, f)).collect();
    (c, z)
}

/// c = (op(A)·op(B)) ⊙ f'(aux), aux the pre-activation.
pub fn matmul_activation_backward<T: Real>(s: &MatmulShape, a: &[T], b: &[T], aux: &[T], f: Activation) -> Vec<T> {
    matmul(s, a, b).iter().zip(aux).map(|(&v, &z)| v * act_derivative(z, f)).collect()
}
