//! CPU twin of the whole network step (src/network.rs), built from the kernel twins; generic over f32/f64 so the
//! backward pass can be checked against finite differences in f64.

use super::activation::activation_backward;
use super::loss::{bce_loss, cross_entropy_loss, mse_loss};
use super::matmul::{matmul, matmul_activation_backward, matmul_forward};
use super::Real;
use crate::model::{Layout, MlpConfig};
use crate::ops::activation::Activation;
use crate::ops::loss::Loss;
use crate::ops::matmul::MatmulShape;

/// What the forward pass keeps for the backward pass.
#[derive(Clone, Debug)]
pub struct ForwardCache<T> {
    /// The input of each layer ([rows, in]).
    pub inputs: Vec<Vec<T>>,
    /// The pre-activation of each layer ([rows, out]).
    pub z: Vec<Vec<T>>,
    /// The network output ([rows, outputs]).
    pub output: Vec<T>,
}

/// The forward pass over `rows` samples x [rows, input].
pub fn forward<T: Real>(cfg: &MlpConfig, layout: &Layout, params: &[T], x: &[T], rows: usize) -> ForwardCache<T> {
    let mut h = x.to_vec();
    let (mut inputs, mut zs) = (Vec::new(), Vec::new());
    for (i, l) in layout.layers.iter().enumerate() {
        let s = MatmulShape { m: rows, n: l.outputs, k: l.inputs, trans_a: false, trans_b: true };
        let w = &params[l.weight..l.weight + l.outputs * l.inputs];
        let b = &params[l.bias..l.bias + l.outputs];
        let (a, z) = matmul_forward(&s, &h, w, Some(b), cfg.activation_of(i));
        inputs.push(std::mem::replace(&mut h, a));
        zs.push(z);
    }
    ForwardCache { inputs, z: zs, output: h }
}

/// (d loss / d output, per-row stats) of the loss twin.
pub fn loss_gradient<T: Real>(loss: Loss, output: &[T], targets: &[T], rows: usize, cols: usize) -> (Vec<T>, Vec<T>) {
    match loss {
        Loss::Mse => mse_loss(output, targets, rows, cols),
        Loss::Bce => bce_loss(output, targets, rows, cols),
        Loss::CrossEntropy => cross_entropy_loss(output, targets, rows, cols),
    }
}

/// The mean loss over the batch and the flat gradient (zero in the padding), as one GPU gradient plan computes.
pub fn loss_and_gradient<T: Real>(
    cfg: &MlpConfig,
    layout: &Layout,
    loss: Loss,
    params: &[T],
    x: &[T],
    targets: &[T],
    rows: usize,
) -> (T, Vec<T>) {
    let cache = forward(cfg, layout, params, x, rows);
    let out = cfg.output();
    let (dout, stats) = loss_gradient(loss, &cache.output, targets, rows, out);
    let mean = stats[..rows].iter().fold(T::of(0.0), |s, &v| s + v) / T::of(rows as f64);
    let last = layout.layers.len() - 1;
    let mut d = if cfg.output_activation == Activation::Identity {
        dout
    } else {
        activation_backward(&cache.z[last], &dout, cfg.output_activation)
    };
    let mut grads = vec![T::of(0.0); layout.len];
    for (i, l) in layout.layers.iter().enumerate().rev() {
        let sw = MatmulShape { m: l.outputs, n: l.inputs, k: rows, trans_a: true, trans_b: false };
        let dw = matmul(&sw, &d, &cache.inputs[i]);
        grads[l.weight..l.weight + dw.len()].copy_from_slice(&dw);
        for c in 0..l.outputs {
            let mut s = T::of(0.0);
            for r in 0..rows {
                s += d[r * l.outputs + c];
            }
            grads[l.bias + c] = s;
        }
        if i > 0 {
            let sx = MatmulShape { m: rows, n: l.inputs, k: l.outputs, trans_a: false, trans_b: false };
            let w = &params[l.weight..l.weight + l.outputs * l.inputs];
            d = matmul_activation_backward(&sx, &d, w, &cache.z[i - 1], cfg.activation_of(i - 1));
        }
    }
    (mean, grads)
}
