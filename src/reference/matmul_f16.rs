//! CPU twin of the f16 matmul variants (`matmul_wgsl::Elements::F16` and `F16_TO_F32`): the f32 twin of
//! `reference::matmul` on the operands widened from f16 (exact, as the kernels' loads), with the bias f32, the
//! products summed in f32 in the canonical order, and the results rounded to f16 once when the output is f16
//! (`reference::f16::round`, as the kernels' stores). The forward pass rounds z = acc + bias and c = act(acc + bias)
//! separately from the same f32 value; the backward pass reads aux widened from f16 and rounds
//! acc · act'(aux). Results are returned as f32 values (exactly the stored f16 values when the output is f16).

use super::f16::{f16, round_all, widen};
use super::matmul as f32_twin;
use crate::matmul_wgsl::Element;
use crate::ops::activation::Activation;
use crate::ops::matmul::{MatmulShape, ModelStrides};

fn stored(v: Vec<f32>, output: Element) -> Vec<f32> {
    match output {
        Element::F32 => v,
        Element::F16 => round_all(&v),
    }
}

/// z = op(A)·op(B) + bias with f16 A and B; returns (act(z), z) as stored in `output`.
pub fn matmul_forward(
    s: &MatmulShape,
    a: &[f16],
    b: &[f16],
    bias: Option<&[f32]>,
    f: Activation,
    output: Element,
) -> (Vec<f32>, Vec<f32>) {
    let (c, z) = f32_twin::matmul_forward(s, &widen(a), &widen(b), bias, f);
    (stored(c, output), stored(z, output))
}

/// c = (op(A)·op(B)) ⊙ f'(aux) with f16 A, B and aux, as stored in `output`.
pub fn matmul_activation_backward(
    s: &MatmulShape,
    a: &[f16],
    b: &[f16],
    aux: &[f16],
    f: Activation,
    output: Element,
) -> Vec<f32> {
    stored(f32_twin::matmul_activation_backward(s, &widen(a), &widen(b), &widen(aux), f), output)
}

/// The model-batched [`matmul_forward`] (strides in elements, as `reference::matmul::matmul_forward_models`).
pub fn matmul_forward_models(
    s: &MatmulShape,
    models: &ModelStrides,
    a: &[f16],
    b: &[f16],
    bias: Option<&[f32]>,
    f: Activation,
    output: Element,
) -> (Vec<f32>, Vec<f32>) {
    let (c, z) = f32_twin::matmul_forward_models(s, models, &widen(a), &widen(b), bias, f);
    (stored(c, output), stored(z, output))
}

/// The model-batched [`matmul_activation_backward`].
pub fn matmul_activation_backward_models(
    s: &MatmulShape,
    models: &ModelStrides,
    a: &[f16],
    b: &[f16],
    aux: &[f16],
    f: Activation,
    output: Element,
) -> Vec<f32> {
    let c = f32_twin::matmul_activation_backward_models(s, models, &widen(a), &widen(b), &widen(aux), f);
    stored(c, output)
}
