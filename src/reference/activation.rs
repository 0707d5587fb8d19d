//! CPU twin of shaders/activation.wgsl (and of the activation formulas `Activation::wgsl_forward` /
//! `wgsl_derivative` that every shader gets through the generated prelude).

use super::{max, Real};
use crate::activation::Activation;

const GELU_K: f64 = 0.797_884_560_802_865_4;
const GELU_C: f64 = 0.044715;

fn sigmoid<T: Real>(x: T) -> T {
    let e = (-x.abs()).exp();
    let one = T::of(1.0);
    if x >= T::of(0.0) {
        one / (one + e)
    } else {
        e / (one + e)
    }
}

/// f(x) for one element.
pub fn act<T: Real>(x: T, a: Activation) -> T {
    let zero = T::of(0.0);
    match a {
        Activation::Identity => x,
        Activation::Relu => max(x, zero),
        Activation::LeakyRelu(s) => {
            if x > zero {
                x
            } else {
                x * T::of(f64::from(s))
            }
        }
        Activation::Sigmoid => sigmoid(x),
        Activation::Tanh => x.tanh(),
        Activation::Gelu => T::of(0.5) * x * (T::of(1.0) + (T::of(GELU_K) * (x + T::of(GELU_C) * x * x * x)).tanh()),
        Activation::Silu => x * sigmoid(x),
    }
}

/// f'(x) for one element, at the pre-activation x (relu'(0) = 0, as torch).
pub fn act_derivative<T: Real>(x: T, a: Activation) -> T {
    let zero = T::of(0.0);
    let one = T::of(1.0);
    match a {
        Activation::Identity => one,
        Activation::Relu => {
            if x > zero {
                one
            } else {
                zero
            }
        }
        Activation::LeakyRelu(s) => {
            if x > zero {
                one
            } else {
                T::of(f64::from(s))
            }
        }
        Activation::Sigmoid => {
            let s = sigmoid(x);
            s * (one - s)
        }
        Activation::Tanh => {
            let t = x.tanh();
            one - t * t
        }
        Activation::Gelu => {
            let (k, c) = (T::of(GELU_K), T::of(GELU_C));
            let x2 = x * x;
            let t = (k * (x + c * x2 * x)).tanh();
            T::of(0.5) * (one + t) + T::of(0.5) * x * (one - t * t) * k * (one + T::of(3.0) * c * x2)
        }
        Activation::Silu => {
            let s = sigmoid(x);
            s * (one + x * (one - s))
        }
    }
}

/// y[i] = f(x[i]).
pub fn activation_forward<T: Real>(x: &[T], a: Activation) -> Vec<T> {
    x.iter().map(|&v| act(v, a)).collect()
}

/// dx[i] = dy[i] · f'(x[i]), x the pre-activation.
pub fn activation_backward<T: Real>(x: &[T], dy: &[T], a: Activation) -> Vec<T> {
    x.iter().zip(dy).map(|(&v, &g)| g * act_derivative(v, a)).collect()
}

/// Row-wise softmax over [rows, cols], max-subtracted.
pub fn softmax_forward<T: Real>(x: &[T], cols: usize) -> Vec<T> {
    x.chunks(cols)
        .flat_map(|row| {
            let m = row.iter().copied().fold(row[0], max);
            let s = row.iter().fold(T::of(0.0), |s, &v| s + (v - m).exp());
            row.iter().map(move |&v| (v - m).exp() / s).collect::<Vec<_>>()
        })
        .collect()
}

/// Row-wise log-softmax over [rows, cols]: x − logsumexp(x).
pub fn log_softmax_forward<T: Real>(x: &[T], cols: usize) -> Vec<T> {
    x.chunks(cols)
        .flat_map(|row| {
            let m = row.iter().copied().fold(row[0], max);
            let s = row.iter().fold(T::of(0.0), |s, &v| s + (v - m).exp());
            let lse = m + s.ln();
            row.iter().map(move |&v| v - lse).collect::<Vec<_>>()
        })
        .collect()
}
