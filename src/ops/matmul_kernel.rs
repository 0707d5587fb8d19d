//! The matmul launches themselves: a generated variant (`matmul_wgsl`) of a given config, or the hand-written
//! scalar shaders/matmul.wgsl. `ops::matmul` picks between them (through `ops::tune`); `ops::tune` times them.

use crate::error::Result;
use crate::gpu::{Constants, Gpu};
use crate::kernel::Dispatch;
use crate::matmul_wgsl::{Element, Elements, MatmulConfig, MatmulVariant, Operands, Pass, WideAxis};
use crate::ops::activation::Activation;
use crate::shaders;
use crate::tensor::{uniform, View};
use crate::texture::Upload;

use super::matmul_shape::params;
pub(crate) use super::matmul_shape::{check_sizes, validate};
pub use super::matmul_shape::{MatmulOperands, MatmulParams, MatmulShape, ModelStrides, TILE};

/// The pipeline constants of a generated variant for one launch.
pub fn epilogue_constants(act: Activation, has_bias: bool, store_pre: bool) -> Constants {
    vec![
        ("ACTIVATION", f64::from(act.code())),
        ("HAS_BIAS", f64::from(u8::from(has_bias))),
        ("STORE_PRE", f64::from(u8::from(store_pre))),
    ]
}

/// The launch of `config`'s variant for this shape and pass, or None when the config cannot compute the shape
/// or the views are not aligned as its loads need (then the scalar kernel runs).
pub fn matmul_variant<'a>(
    gpu: &Gpu,
    config: MatmulConfig,
    s: &MatmulShape,
    pass: Pass,
    act: Activation,
    ops: &MatmulOperands<'a>,
) -> Result<Option<Dispatch>> {
    matmul_variant_models(gpu, config, s, pass, act, ops, &ModelStrides::SINGLE)
}

/// The variant of `config` for the shape, in its model-batched form for several models; None where it does not
/// apply or a model stride is not a whole number of its four-float loads and stores.
fn batched_variant(
    config: MatmulConfig,
    s: &MatmulShape,
    pass: Pass,
    models: &ModelStrides,
    elements: Elements,
) -> Option<MatmulVariant> {
    let variant = MatmulVariant::for_shape(config, &s.facts(), pass)?.with_elements(elements)?;
    if models.is_single() {
        return Some(variant);
    }
    let whole_loads = [models.a, models.b, models.c, models.bias].iter().all(|stride| stride % 4 == 0);
    whole_loads.then(|| variant.for_models())
}

/// For texture operands, A's and B's texture copies and the model strides the kernel steps by in them: operands
/// of models far apart are copied model by model (a layer's weights in a group's [K × P] parameters would
/// otherwise copy every other layer too). Buffer operands need none: the strides are the launch's own.
#[allow(clippy::type_complexity)]
fn texture_operands(
    gpu: &Gpu,
    config: MatmulConfig,
    s: &MatmulShape,
    ops: &MatmulOperands<'_>,
    models: &ModelStrides,
) -> Result<Option<(Option<[Upload; 2]>, ModelStrides)>> {
    if config.operands != Operands::Texture {
        return Ok(Some((None, *models)));
    }
    let a = texture_operand(gpu, "matmul a", &ops.a, s.m * s.k, models.a, models.models);
    let b = texture_operand(gpu, "matmul b", &ops.b, s.k * s.n, models.b, models.models);
    gpu.check()?;
    let (Some((ua, a_stride)), Some((ub, b_stride))) = (a, b) else { return Ok(None) };
    Ok(Some((Some([ua, ub]), ModelStrides { a: a_stride, b: b_stride, ..*models })))
}

/// [`matmul_variant`] for `models.models` models at once (the variant's model-batched form, one launch), or
/// None as there, or when a stride is not a whole number of the variant's loads and stores (four floats).
pub fn matmul_variant_models<'a>(
    gpu: &Gpu,
    config: MatmulConfig,
    s: &MatmulShape,
    pass: Pass,
    act: Activation,
    ops: &MatmulOperands<'a>,
    models: &ModelStrides,
) -> Result<Option<Dispatch>> {
    matmul_variant_elements(gpu, config, s, pass, act, ops, models, Elements::F32)
}

/// `v` as a kernel reading or writing it four `e` elements at a time binds it: spanning whole vec4s (four words
/// of f32, two of f16) and starting on one; None when the buffer has no room for that.
fn whole<'v>(v: &View<'v>, vec4: bool, e: Element) -> Option<View<'v>> {
    if vec4 {
        v.padded_to(4 / e.per_word())
    } else {
        Some(*v)
    }
}

/// [`matmul_variant_models`] with `elements` types. Views count 4-byte words whatever the element: an f16 view
/// of `len` words holds 2·`len` halfs; shapes, model strides and offsets inside the kernel count elements. f16
/// operands read four at a time need views starting on an 8-byte boundary (every storage binding offset is a
/// multiple of 256 bytes anyway). None, as there, where the variant does not apply (f16 with texture operands
/// included).
#[allow(clippy::too_many_arguments)]
pub fn matmul_variant_elements<'a>(
    gpu: &Gpu,
    config: MatmulConfig,
    s: &MatmulShape,
    pass: Pass,
    act: Activation,
    ops: &MatmulOperands<'a>,
    models: &ModelStrides,
    elements: Elements,
) -> Result<Option<Dispatch>> {
    check_sizes(s, pass, ops, models, elements)?;
    let Some(variant) = batched_variant(config, s, pass, models, elements) else { return Ok(None) };
    launch_variant(gpu, variant, s, act, ops, models)
}

/// The launch of `variant` for `models.models` products of shape `s` (sizes checked): one launch over z for a
/// single-model or model-batched variant, one wide product for a wide one; None where the views are not aligned
/// as its loads need.
pub(crate) fn launch_variant<'a>(
    gpu: &Gpu,
    variant: MatmulVariant,
    s: &MatmulShape,
    act: Activation,
    ops: &MatmulOperands<'a>,
    models: &ModelStrides,
) -> Result<Option<Dispatch>> {
    let (config, pass, elements) = (variant.config, variant.pass, variant.elements);
    let Some((texture_ab, kernel_strides)) = texture_operands(gpu, config, s, ops, models)? else { return Ok(None) };
    let (launch, launches, p) = launch_params(variant, s, act, ops, models, &kernel_strides)?;
    let u = uniform(gpu, pass.entry(), &p);
    let vec4_operands = config.vector == 4;
    let epilogue_view = |v: &View<'a>| whole(v, variant.vec4_store, elements.output);
    let bias_view = |v: &View<'a>| whole(v, variant.vec4_store, Element::F32);
    let aux_view = |v: &View<'a>| whole(v, variant.vec4_store, elements.input);
    let Some(c) = epilogue_view(&ops.c) else { return Ok(None) };
    let bias = ops.bias.as_ref().and_then(bias_view);
    let z = ops.z.as_ref().and_then(epilogue_view);
    if ops.bias.is_some() != bias.is_some() || ops.z.is_some() != z.is_some() {
        return Ok(None);
    }
    let mut uploads: Vec<Upload> = Vec::new();
    let (ta, tb, taux);
    let mut res: Vec<wgpu::BindingResource<'_>> = vec![u.as_entire_binding()];
    let (a4, b4, aux_bound);
    match config.operands {
        Operands::Texture => {
            let Some(pair) = texture_ab else { return Ok(None) };
            uploads.extend(pair);
            (ta, tb) = (uploads[0].view(), uploads[1].view());
            res.push(wgpu::BindingResource::TextureView(&ta));
            res.push(wgpu::BindingResource::TextureView(&tb));
        }
        Operands::Buffer => {
            let input = elements.input;
            let (a, b) = (whole(&ops.a, vec4_operands, input), whole(&ops.b, vec4_operands, input));
            let (Some(a), Some(b)) = (a, b) else { return Ok(None) };
            (a4, b4) = (a, b);
            res.push(a4.binding());
            res.push(b4.binding());
        }
    }
    match pass {
        Pass::Forward => {
            res.push(bias.as_ref().map_or_else(|| gpu.unused_input(), |v| v.binding()));
            res.push(c.binding());
            res.push(z.as_ref().map_or_else(|| gpu.unused_output(), |v| v.binding()));
        }
        Pass::ActivationBackward => {
            let Some(aux) = ops.aux else { return Ok(None) };
            if config.operands == Operands::Texture {
                let Some(upload) = Upload::new(gpu, "matmul aux", &aux) else { return Ok(None) };
                gpu.check()?;
                uploads.push(upload);
                taux = uploads[2].view();
                res.push(wgpu::BindingResource::TextureView(&taux));
            } else {
                let Some(aux) = aux_view(&aux) else { return Ok(None) };
                aux_bound = aux;
                res.push(aux_bound.binding());
            }
            res.push(c.binding());
        }
    }
    let mut constants = epilogue_constants(act, ops.bias.is_some(), ops.z.is_some());
    if let Some(axis) = variant.wide {
        constants.push(group_constant(s, axis));
    }
    let kernel = gpu.kernel_with(&variant.shader(), pass.entry(), &constants)?;
    let workgroups = variant.workgroups(launch.m, launch.n);
    Dispatch::batched(gpu, kernel, &res, workgroups, launches, uploads).map(Some)
}

/// The extents of `variant`'s launch for `models.models` products of shape `s`, its z extent and its params (with
/// the model strides the kernel steps by): a wide product's extents are the whole product's, its strides within a
/// model one model's; other launches have one model's extents over z.
fn launch_params(
    variant: MatmulVariant,
    s: &MatmulShape,
    act: Activation,
    ops: &MatmulOperands<'_>,
    models: &ModelStrides,
    kernel_strides: &ModelStrides,
) -> Result<(MatmulShape, usize, MatmulParams)> {
    let (launch, launches) = match variant.wide {
        Some(axis) => (wide_shape(s, axis, models.models), 1),
        None => (*s, models.models),
    };
    let mut p = params(s, act, ops, variant.blocks_n(launch.n), kernel_strides)?;
    let product = params(&launch, act, ops, 1, kernel_strides)?;
    (p.m, p.n) = (product.m, product.n);
    Ok((launch, launches, p))
}

/// The whole product of `models` products of shape `s` stacked along `axis`: M or N times `models`.
pub fn wide_shape(s: &MatmulShape, axis: WideAxis, models: usize) -> MatmulShape {
    match axis {
        WideAxis::Rows => MatmulShape { m: s.m * models, ..*s },
        WideAxis::Cols => MatmulShape { n: s.n * models, ..*s },
    }
}

/// The pipeline constant of a wide launch: one model's extent along the wide dimension.
pub(crate) fn group_constant(s: &MatmulShape, axis: WideAxis) -> (&'static str, f64) {
    let extent = match axis {
        WideAxis::Rows => s.m,
        WideAxis::Cols => s.n,
    };
    (crate::matmul_wgsl::wide::GROUP_CONSTANT, extent as f64)
}

/// The texture copy of a matmul operand of `len` floats per model and the models' distance in it: model by model
/// when `count` models lie at least twice their size apart (a strided upload), else the whole range.
fn texture_operand(
    gpu: &Gpu,
    label: &str,
    view: &View<'_>,
    len: usize,
    stride: usize,
    count: usize,
) -> Option<(Upload, usize)> {
    if count > 1 && stride >= 2 * len {
        if let Some(strided) = Upload::strided(gpu, label, view, len, stride, count) {
            return Some(strided);
        }
    }
    Upload::new(gpu, label, view).map(|u| (u, stride))
}

/// The hand-written scalar kernel (any shape, any alignment, any strides): the fallback.
pub fn matmul_scalar(
    gpu: &Gpu,
    s: &MatmulShape,
    pass: Pass,
    act: Activation,
    ops: &MatmulOperands<'_>,
) -> Result<Dispatch> {
    matmul_scalar_models(gpu, s, pass, act, ops, &ModelStrides::SINGLE)
}

/// [`matmul_scalar`] for `models.models` models in one launch (any strides).
pub fn matmul_scalar_models(
    gpu: &Gpu,
    s: &MatmulShape,
    pass: Pass,
    act: Activation,
    ops: &MatmulOperands<'_>,
    models: &ModelStrides,
) -> Result<Dispatch> {
    check_sizes(s, pass, ops, models, Elements::F32)?;
    let p = params(s, act, ops, s.n.div_ceil(TILE), models)?;
    let u = uniform(gpu, pass.entry(), &p);
    let kernel = gpu.kernel(&shaders::MATMUL, pass.entry())?;
    let workgroups = (s.m.div_ceil(TILE) * s.n.div_ceil(TILE)) as u64;
    let mut res = vec![u.as_entire_binding(), ops.a.binding(), ops.b.binding()];
    match pass {
        Pass::Forward => {
            res.push(ops.bias.as_ref().map_or_else(|| gpu.unused_input(), |v| v.binding()));
            res.push(ops.c.binding());
            res.push(ops.z.as_ref().map_or_else(|| gpu.unused_output(), |v| v.binding()));
        }
        Pass::ActivationBackward => {
            res.push(ops.aux.as_ref().map_or_else(|| gpu.unused_input(), |v| v.binding()));
            res.push(ops.c.binding());
        }
    }
    Dispatch::batched(gpu, kernel, &res, workgroups, models.models, Vec::new())
}
