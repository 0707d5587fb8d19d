//! The description of one matmul launch, before any kernel is chosen: its shape, its operands, the models it
//! computes at once, the parameters every variant reads, and the checks that the buffers hold what it needs.

use super::{need, need_f16, positive, to_u32};
use crate::error::{Error, Result};
use crate::matmul_wgsl::{Element, Elements, Pass, ShapeFacts};
use crate::ops::activation::Activation;
use crate::tensor::View;

/// Output columns and rows computed by one workgroup of shaders/matmul.wgsl (8×8 invocations of 4×4 each).
pub const TILE: usize = crate::shaders::prelude::MATMUL_TILE as usize;

/// The dimensions of op(A)·op(B): A is [M, K] as stored, or [K, M] when `trans_a`; B is [K, N], or [N, K].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulShape {
    /// Rows of C.
    pub m: usize,
    /// Columns of C.
    pub n: usize,
    /// The contracted dimension.
    pub k: usize,
    /// A is stored transposed ([K, M]).
    pub trans_a: bool,
    /// B is stored transposed ([N, K]).
    pub trans_b: bool,
}

impl MatmulShape {
    /// An untransposed M×K by K×N product.
    pub fn new(m: usize, n: usize, k: usize) -> Self {
        MatmulShape { m, n, k, trans_a: false, trans_b: false }
    }

    /// The facts the generator's alignment rules look at.
    pub fn facts(&self) -> ShapeFacts {
        ShapeFacts { m: self.m, n: self.n, k: self.k, trans_a: self.trans_a, trans_b: self.trans_b }
    }
}

/// Mirrors `struct MatmulParams` in shaders/matmul.wgsl and in every generated variant.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MatmulParams {
    pub(crate) m: u32,
    pub(crate) n: u32,
    pub(crate) k: u32,
    pub(crate) blocks_n: u32,
    pub(crate) a_row_stride: u32,
    pub(crate) a_k_stride: u32,
    pub(crate) b_k_stride: u32,
    pub(crate) b_col_stride: u32,
    pub(crate) has_bias: u32,
    pub(crate) activation: u32,
    pub(crate) slope: f32,
    pub(crate) store_pre: u32,
    pub(crate) a_batch: u32,
    pub(crate) b_batch: u32,
    pub(crate) c_batch: u32,
    pub(crate) bias_batch: u32,
}

/// How a model-batched launch finds each model's operands: `models` products, model m's A at `a`·m floats past
/// the A view's start, and so on; aux and z use c's stride; a stride of 0 shares the operand between models (every
/// model's first layer reads the same batch). A launch of one model ([`ModelStrides::SINGLE`]) is an ordinary launch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelStrides {
    /// Number of models (the launch's z extent).
    pub models: usize,
    /// Floats between consecutive models' A.
    pub a: usize,
    /// Floats between consecutive models' B.
    pub b: usize,
    /// Floats between consecutive models' C (and aux and z).
    pub c: usize,
    /// Floats between consecutive models' bias.
    pub bias: usize,
}

impl ModelStrides {
    /// One model.
    pub const SINGLE: ModelStrides = ModelStrides { models: 1, a: 0, b: 0, c: 0, bias: 0 };

    /// Elements a view must hold for all models when one model needs `one`.
    fn span(&self, stride: usize, one: usize) -> usize {
        (self.models - 1) * stride + one
    }

    /// One model: the ordinary launch (its strides step nowhere).
    pub(crate) fn is_single(&self) -> bool {
        self.models == 1
    }
}

/// The buffers of one launch: A, B, and the epilogue's bias, aux (the backward pass's pre-activation), c and z.
#[derive(Clone, Copy, Debug)]
pub struct MatmulOperands<'a> {
    /// op(A)'s storage.
    pub a: View<'a>,
    /// op(B)'s storage.
    pub b: View<'a>,
    /// Bias [N] added over rows (forward pass only).
    pub bias: Option<View<'a>>,
    /// The pre-activation [M, N] whose derivative multiplies C (backward pass only).
    pub aux: Option<View<'a>>,
    /// The output [M, N].
    pub c: View<'a>,
    /// Where the forward pass stores the pre-activation [M, N], when given.
    pub z: Option<View<'a>>,
}

pub(crate) fn params(
    s: &MatmulShape,
    act: Activation,
    ops: &MatmulOperands<'_>,
    blocks_n: usize,
    models: &ModelStrides,
) -> Result<MatmulParams> {
    const OP: &str = "matmul";
    positive(OP, "M", s.m)?;
    positive(OP, "N", s.n)?;
    positive(OP, "K", s.k)?;
    let (m, n, k) = (to_u32(OP, "M", s.m)?, to_u32(OP, "N", s.n)?, to_u32(OP, "K", s.k)?);
    to_u32(OP, "M·K", s.m * s.k)?;
    to_u32(OP, "K·N", s.k * s.n)?;
    to_u32(OP, "M·N", s.m * s.n)?;
    let (a_row_stride, a_k_stride) = if s.trans_a { (1, m) } else { (k, 1) };
    let (b_k_stride, b_col_stride) = if s.trans_b { (1, k) } else { (n, 1) };
    Ok(MatmulParams {
        m,
        n,
        k,
        blocks_n: to_u32(OP, "blocks", blocks_n)?,
        a_row_stride,
        a_k_stride,
        b_k_stride,
        b_col_stride,
        has_bias: u32::from(ops.bias.is_some()),
        activation: act.code(),
        slope: act.slope(),
        store_pre: u32::from(ops.z.is_some()),
        a_batch: to_u32(OP, "A's model stride", models.a)?,
        b_batch: to_u32(OP, "B's model stride", models.b)?,
        c_batch: to_u32(OP, "C's model stride", models.c)?,
        bias_batch: to_u32(OP, "bias's model stride", models.bias)?,
    })
}

/// Checks the shape (positive, u32-indexable) and that every buffer is large enough, before any kernel is chosen.
pub(crate) fn validate(
    s: &MatmulShape,
    pass: Pass,
    act: Activation,
    ops: &MatmulOperands<'_>,
    models: &ModelStrides,
    elements: Elements,
) -> Result<()> {
    check_sizes(s, pass, ops, models, elements)?;
    params(s, act, ops, 1, models).map(|_| ())
}

/// Fails unless `view` (counted in 4-byte words) holds `n` elements of `e`.
fn need_elements(op: &'static str, name: &str, view: &View<'_>, e: Element, n: usize) -> Result<()> {
    match e {
        Element::F32 => need(op, name, view, n),
        Element::F16 => need_f16(op, name, view, n),
    }
}

pub(crate) fn check_sizes(
    s: &MatmulShape,
    pass: Pass,
    ops: &MatmulOperands<'_>,
    models: &ModelStrides,
    elements: Elements,
) -> Result<()> {
    let op = pass.entry();
    let (input, output) = (elements.input, elements.output);
    positive(op, "models", models.models)?;
    let mn = models.span(models.c, s.m * s.n);
    need_elements(op, "a", &ops.a, input, models.span(models.a, s.m * s.k))?;
    need_elements(op, "b", &ops.b, input, models.span(models.b, s.k * s.n))?;
    need_elements(op, "c", &ops.c, output, mn)?;
    if let Some(bias) = &ops.bias {
        need(op, "bias", bias, models.span(models.bias, s.n))?;
    }
    if let Some(aux) = &ops.aux {
        need_elements(op, "aux", aux, input, mn)?;
    }
    if let Some(z) = &ops.z {
        need_elements(op, "z", z, output, mn)?;
    }
    if models.models > 1 && models.c < s.m * s.n {
        return Err(Error::Shape {
            op,
            detail: format!(
                "{} models write C [{}, {}] {} floats apart: they would overlap",
                models.models, s.m, s.n, models.c
            ),
        });
    }
    Ok(())
}
