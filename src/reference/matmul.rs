//! CPU twin of every matmul kernel (shaders/matmul.wgsl and the generated variants of `matmul_wgsl`).
//! A: [M, K] (or [K, M] transposed), B: [K, N] (or [N, K]), C: [M, N].

use super::activation::{act, act_derivative};
use super::Real;
use crate::ops::activation::Activation;
use crate::ops::matmul::{MatmulShape, ModelStrides};

/// op(A)·op(B) in the canonical order of the generated kernels: k in groups of four,
/// acc + (((a₀b₀ + a₁b₁) + a₂b₂) + a₃b₃), the last group shorter.
pub fn matmul<T: Real>(s: &MatmulShape, a: &[T], b: &[T]) -> Vec<T> {
    let mut c = vec![T::of(0.0); s.m * s.n];
    for i in 0..s.m {
        for j in 0..s.n {
            let mut acc = T::of(0.0);
            for k0 in (0..s.k).step_by(4) {
                let mut group = T::of(0.0);
                for k in k0..(k0 + 4).min(s.k) {
                    let av = if s.trans_a { a[k * s.m + i] } else { a[i * s.k + k] };
                    let bv = if s.trans_b { b[j * s.k + k] } else { b[k * s.n + j] };
                    group = if k == k0 { av * bv } else { group + av * bv };
                }
                acc += group;
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

/// The model-batched forward (one launch for `models.models` models): model m reads A at m·`models.a`, B at
/// m·`models.b`, bias at m·`models.bias` and writes c and z at m·`models.c`, each model as [`matmul_forward`]; the
/// floats between models stay zero.
pub fn matmul_forward_models<T: Real>(
    s: &MatmulShape,
    models: &ModelStrides,
    a: &[T],
    b: &[T],
    bias: Option<&[T]>,
    f: Activation,
) -> (Vec<T>, Vec<T>) {
    let mn = s.m * s.n;
    let len = (models.models - 1) * models.c + mn;
    let (mut c, mut z) = (vec![T::of(0.0); len], vec![T::of(0.0); len]);
    for m in 0..models.models {
        let am = &a[m * models.a..m * models.a + s.m * s.k];
        let bm = &b[m * models.b..m * models.b + s.k * s.n];
        let biasm = bias.map(|v| &v[m * models.bias..m * models.bias + s.n]);
        let (cm, zm) = matmul_forward(s, am, bm, biasm, f);
        c[m * models.c..m * models.c + mn].copy_from_slice(&cm);
        z[m * models.c..m * models.c + mn].copy_from_slice(&zm);
    }
    (c, z)
}

/// The model-batched activation backward: each model as [`matmul_activation_backward`], aux at c's stride.
pub fn matmul_activation_backward_models<T: Real>(
    s: &MatmulShape,
    models: &ModelStrides,
    a: &[T],
    b: &[T],
    aux: &[T],
    f: Activation,
) -> Vec<T> {
    let mn = s.m * s.n;
    let mut c = vec![T::of(0.0); (models.models - 1) * models.c + mn];
    for m in 0..models.models {
        let am = &a[m * models.a..m * models.a + s.m * s.k];
        let bm = &b[m * models.b..m * models.b + s.k * s.n];
        let auxm = &aux[m * models.c..m * models.c + mn];
        c[m * models.c..m * models.c + mn].copy_from_slice(&matmul_activation_backward(s, am, bm, auxm, f));
    }
    c
}
