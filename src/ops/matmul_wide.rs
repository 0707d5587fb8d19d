//! The wide launch of K products that share an operand (a group's first layer, whose input every model reads):
//! one ordinary product K times as wide along one dimension of C (`matmul_wgsl::wide`), instead of K slices of a
//! model-batched launch. The arithmetic is the same; tuning chooses for the whole product's shape (a CPU driver's
//! tuner may take larger register blocks for it), and each model's result is summed exactly as alone (the
//! canonical k order of every variant), in the same places. Only register blocks have a wide form: where the tuned
//! config is a workgroup tile (GPUs), the model-batched launch runs.

pub(crate) use super::matmul_kernel::group_constant;
pub use super::matmul_kernel::wide_shape;
use super::matmul_kernel::{check_sizes, launch_variant, validate, MatmulOperands, MatmulShape, ModelStrides};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
use crate::matmul_wgsl::{Elements, MatmulConfig, MatmulVariant, Pass, WideAxis};
use crate::ops::activation::Activation;
use crate::ops::tune;
use crate::tensor::View;

/// The variant of `config` for the wide launch of `models` products of shape `s`, or None where the wide form does
/// not apply: one model (nothing to widen), the stacked operand's partner not shared (stride 0: B for rows, A for
/// columns), a bias on stacked rows, a stride that is not a whole number of four-float loads, or a config or
/// shape the wide variants do not cover (see [`MatmulVariant::for_wide`]).
pub fn wide_variant(
    config: MatmulConfig,
    s: &MatmulShape,
    axis: WideAxis,
    models: &ModelStrides,
    has_bias: bool,
) -> Option<MatmulVariant> {
    let shared = match axis {
        WideAxis::Rows => models.b == 0 && !has_bias,
        WideAxis::Cols => models.a == 0,
    };
    let whole_loads = [models.a, models.b, models.c, models.bias].iter().all(|stride| stride % 4 == 0);
    if models.models < 2 || !shared || !whole_loads {
        return None;
    }
    MatmulVariant::for_wide(config, &s.facts(), axis)
}

/// The wide launch of `config` for `models.models` products of shape `s` stacked along `axis` (operands as for
/// [`matmul_forward_models`](super::matmul::matmul_forward_models)), or None where it does not apply (see
/// [`wide_variant`]) or the views are not aligned as its loads need; the model-batched launch then runs.
pub fn matmul_wide(
    gpu: &Gpu,
    config: MatmulConfig,
    s: &MatmulShape,
    axis: WideAxis,
    act: Activation,
    ops: &MatmulOperands<'_>,
    models: &ModelStrides,
) -> Result<Option<Dispatch>> {
    check_sizes(s, Pass::Forward, ops, models, Elements::F32)?;
    let Some(variant) = wide_variant(config, s, axis, models, ops.bias.is_some()) else { return Ok(None) };
    launch_variant(gpu, variant, s, act, ops, models)
}

/// [`matmul_wide`] with the config tuning picks for the whole product's shape, as for any other product; None as
/// there, or when no generated variant computes that shape.
#[allow(clippy::too_many_arguments)]
pub fn matmul_forward_wide(
    gpu: &Gpu,
    s: &MatmulShape,
    axis: WideAxis,
    models: &ModelStrides,
    a: View<'_>,
    b: View<'_>,
    bias: Option<View<'_>>,
    act: Activation,
    c: View<'_>,
    z: Option<View<'_>>,
) -> Result<Option<Dispatch>> {
    let ops = MatmulOperands { a, b, bias, aux: None, c, z };
    validate(s, Pass::Forward, act, &ops, models, Elements::F32)?;
    if models.models < 2 {
        return Ok(None);
    }
    let Some(config) = tune::config_for(gpu, &wide_shape(s, axis, models.models))? else { return Ok(None) };
    matmul_wide(gpu, config, s, axis, act, &ops, models)
}
