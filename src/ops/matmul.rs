//! Launchers for the matmuls: C[M, N] = op(A)·op(B) with a fused bias + activation epilogue, or with the
//! activation's derivative folded in for the backward pass. The kernel is a generated variant (`matmul_wgsl`)
//! chosen by `ops::tune` for this device and shape, or the hand-written scalar shaders/matmul.wgsl where no
//! variant's alignment rules hold (the launches themselves are in `ops::matmul_kernel`).

pub use super::matmul_kernel::{
    epilogue_constants, matmul_scalar, matmul_scalar_models, matmul_variant, matmul_variant_elements,
    matmul_variant_models, MatmulOperands, MatmulParams, MatmulShape, ModelStrides, TILE,
};
use crate::error::Error;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
pub use crate::matmul_wgsl::F16_FALLBACK;
use crate::matmul_wgsl::{Elements, Pass};
use crate::ops::activation::Activation;
use crate::ops::tune;
use crate::tensor::View;

/// z = op(A)·op(B) (+ bias[N] over rows); c = act(z); z is stored when given.
#[allow(clippy::too_many_arguments)]
pub fn matmul_forward(
    gpu: &Gpu,
    s: &MatmulShape,
    a: View<'_>,
    b: View<'_>,
    bias: Option<View<'_>>,
    act: Activation,
    c: View<'_>,
    z: Option<View<'_>>,
) -> Result<Dispatch> {
    let ops = MatmulOperands { a, b, bias, aux: None, c, z };
    matmul_tuned(gpu, s, Pass::Forward, act, &ops, &ModelStrides::SINGLE)
}

/// [`matmul_forward`] for several models in one launch: each view spans every model's operand, `models` says
/// how far apart they are (z uses c's stride). Each model's product is summed exactly as alone: the variant is
/// the one tuning picks for the single-model shape.
#[allow(clippy::too_many_arguments)]
pub fn matmul_forward_models(
    gpu: &Gpu,
    s: &MatmulShape,
    models: &ModelStrides,
    a: View<'_>,
    b: View<'_>,
    bias: Option<View<'_>>,
    act: Activation,
    c: View<'_>,
    z: Option<View<'_>>,
) -> Result<Dispatch> {
    let ops = MatmulOperands { a, b, bias, aux: None, c, z };
    matmul_tuned(gpu, s, Pass::Forward, act, &ops, models)
}

/// [`matmul_activation_backward`] for several models in one launch (aux uses c's stride).
#[allow(clippy::too_many_arguments)]
pub fn matmul_activation_backward_models(
    gpu: &Gpu,
    s: &MatmulShape,
    models: &ModelStrides,
    a: View<'_>,
    b: View<'_>,
    aux: View<'_>,
    act: Activation,
    c: View<'_>,
) -> Result<Dispatch> {
    let ops = MatmulOperands { a, b, bias: None, aux: Some(aux), c, z: None };
    matmul_tuned(gpu, s, Pass::ActivationBackward, act, &ops, models)
}

/// c = (op(A)·op(B)) ⊙ act'(aux), aux [M, N] the pre-activation whose gradient this is.
pub fn matmul_activation_backward(
    gpu: &Gpu,
    s: &MatmulShape,
    a: View<'_>,
    b: View<'_>,
    aux: View<'_>,
    act: Activation,
    c: View<'_>,
) -> Result<Dispatch> {
    let ops = MatmulOperands { a, b, bias: None, aux: Some(aux), c, z: None };
    matmul_tuned(gpu, s, Pass::ActivationBackward, act, &ops, &ModelStrides::SINGLE)
}

/// The launch with the config `ops::tune` picks for this device and shape, or the scalar kernel where none fits.
fn matmul_tuned(
    gpu: &Gpu,
    s: &MatmulShape,
    pass: Pass,
    act: Activation,
    ops: &MatmulOperands<'_>,
    models: &ModelStrides,
) -> Result<Dispatch> {
    super::matmul_kernel::validate(s, pass, act, ops, models, Elements::F32)?;
    if let Some(config) = tune::config_for(gpu, s)? {
        if let Some(d) = matmul_variant_models(gpu, config, s, pass, act, ops, models)? {
            return Ok(d);
        }
    }
    matmul_scalar_models(gpu, s, pass, act, ops, models)
}

/// A product with `elements` types (see `matmul_variant_elements` for how views count f16 elements): f32 as
/// [`matmul_forward_models`] / [`matmul_activation_backward_models`]; with f16, the config tuning picks for the
/// shape class and elements (`tune::config_for_elements`), else [`F16_FALLBACK`]. f16 needs a
/// device with SHADER_F16 (a `precision` error naming the adapter otherwise) and a layout other than Aᵀ·Bᵀ.
pub fn matmul_elements(
    gpu: &Gpu,
    s: &MatmulShape,
    pass: Pass,
    act: Activation,
    ops: &MatmulOperands<'_>,
    models: &ModelStrides,
    elements: Elements,
) -> Result<Dispatch> {
    if !elements.uses_f16() {
        return matmul_tuned(gpu, s, pass, act, ops, models);
    }
    if !gpu.has_shader_f16() {
        return Err(Error::Config {
            field: "precision".into(),
            reason: format!("f16 needs the SHADER_F16 feature, which adapter {} does not have", gpu.adapter()),
        });
    }
    super::matmul_kernel::validate(s, pass, act, ops, models, elements)?;
    // The tuned config may still not fit these views (an f16 view starting off 8 bytes): the fallback does.
    let tuned = tune::config_for_elements(gpu, s, elements)?;
    for config in tuned.into_iter().chain([F16_FALLBACK]) {
        if let Some(d) = matmul_variant_elements(gpu, config, s, pass, act, ops, models, elements)? {
            return Ok(d);
        }
    }
    Err(Error::Shape {
        op: pass.entry(),
        detail: format!(
            "no f16 kernel computes this product ({s:?}; Aᵀ·Bᵀ has none, and f16 views must start on 8 bytes)"
        ),
    })
}
