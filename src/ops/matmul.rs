//! Launchers for shaders/matmul.wgsl: C[M, N] = op(A)·op(B) with a fused bias + activation epilogue, or with the
//! activation's derivative folded in for the backward pass.

use super::{need, positive, to_u32};
use crate::error::Result;
use crate::gpu::{Constants, Gpu, KernelFamily};
use crate::kernel::Dispatch;
use crate::ops::activation::Activation;
use crate::ops::texture::{upload_pair, Upload};
use crate::shaders;
use crate::tensor::{uniform, View};

/// Output columns and rows computed by one workgroup (8×8 invocations of 4×4 each).
pub const TILE: usize = 32;

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
}

/// Mirrors `struct MatmulParams` in shaders/matmul.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MatmulParams {
    m: u32,
    n: u32,
    k: u32,
    tiles_n: u32,
    a_row_stride: u32,
    a_k_stride: u32,
    b_k_stride: u32,
    b_col_stride: u32,
    has_bias: u32,
    activation: u32,
    slope: f32,
    store_pre: u32,
}

fn params(s: &MatmulShape, act: Activation, has_bias: bool, store_pre: bool) -> Result<MatmulParams> {
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
        tiles_n: to_u32(OP, "tiles", s.n.div_ceil(TILE))?,
        a_row_stride,
        a_k_stride,
        b_k_stride,
        b_col_stride,
        has_bias: u32::from(has_bias),
        activation: act.code(),
        slope: act.slope(),
        store_pre: u32::from(store_pre),
    })
}

/// Mirrors `struct MatmulVec4Params` in shaders/matmul_vec4.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MatmulVec4Params {
    m: u32,
    n: u32,
    k: u32,
    tiles_n: u32,
    operand_layout: u32,
    has_bias: u32,
    activation: u32,
    slope: f32,
    store_pre: u32,
    _pad: [u32; 3],
}

/// The vec4 kernel's layout code for this shape, when its dimensions allow vec4 loads (see matmul_vec4.wgsl).
pub fn vec4_layout(s: &MatmulShape) -> Option<u32> {
    match (s.trans_a, s.trans_b) {
        (false, true) if s.k % 4 == 0 => Some(0),
        (false, false) if s.k % 4 == 0 && s.n % 4 == 0 => Some(1),
        (true, false) if s.m % 4 == 0 && s.n % 4 == 0 => Some(2),
        _ => None,
    }
}

/// The vec4 launch's parameters and operand views, or None when the scalar kernel must run.
fn vec4_launch<'a>(
    s: &MatmulShape,
    p: &MatmulParams,
    a: &View<'a>,
    b: &View<'a>,
) -> Option<(MatmulVec4Params, View<'a>, View<'a>)> {
    let layout = vec4_layout(s)?;
    let (a4, b4) = (a.padded_to(4)?, b.padded_to(4)?);
    let q = MatmulVec4Params {
        m: p.m,
        n: p.n,
        k: p.k,
        tiles_n: p.tiles_n,
        operand_layout: layout,
        has_bias: p.has_bias,
        activation: p.activation,
        slope: p.slope,
        store_pre: p.store_pre,
        _pad: [0; 3],
    };
    Some((q, a4, b4))
}

/// Invocations per workgroup of shaders/matmul_texture.wgsl (its GROUP).
const TEXTURE_GROUP: usize = 8;

/// Mirrors `struct MatmulTextureParams` in shaders/matmul_texture.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MatmulTextureParams {
    m: u32,
    n: u32,
    k: u32,
    blocks_n: u32,
    slope: f32,
    a_row_stride: u32,
    a_k_stride: u32,
    _pad: u32,
}

/// The pipeline constants of shaders/matmul_texture.wgsl for one launch.
pub fn texture_constants(act: Activation, has_bias: bool, store_pre: bool) -> Constants {
    vec![
        ("ACTIVATION", f64::from(act.code())),
        ("HAS_BIAS", f64::from(u8::from(has_bias))),
        ("STORE_PRE", f64::from(u8::from(store_pre))),
    ]
}

/// The entry point of shaders/matmul_texture.wgsl for this shape (`forward` or the activation-backward one), when
/// its alignment rules hold (see the file's header): vec4 stores need N % 4 = 0, except in the forward A·Bᵀ, which
/// has a single-float-store variant; A·B and Aᵀ·B whose A rows are not whole texels read A one float at a time.
/// Products of at least [`BIG_MIN`] rows and columns take the 64×32-block entry points.
pub fn texture_entry(s: &MatmulShape, forward: bool) -> Option<&'static str> {
    let big = s.m >= BIG_MIN && s.n >= BIG_MIN;
    let pick = |small: [&'static str; 2], large: [&'static str; 2]| {
        let pair = if big { large } else { small };
        Some(if forward { pair[0] } else { pair[1] })
    };
    match (s.trans_a, s.trans_b) {
        (false, true) if s.k % 4 == 0 && s.n % 4 == 0 => pick(
            ["matmul_forward_nt", "matmul_activation_backward_nt"],
            ["matmul_forward_nt_big", "matmul_activation_backward_nt_big"],
        ),
        (false, true) if s.k % 4 == 0 && forward => Some("matmul_forward_nt_ragged"),
        (_, false) if s.n % 4 != 0 => None,
        (false, false) if s.k % 4 == 0 => pick(
            ["matmul_forward_nn", "matmul_activation_backward_nn"],
            ["matmul_forward_nn_big", "matmul_activation_backward_nn_big"],
        ),
        // No large blocks for Aᵀ·B: they ran slower than 16×16 (see shaders/generate/matmul_texture.py).
        (true, false) if s.m % 4 == 0 => {
            Some(if forward { "matmul_forward_tn" } else { "matmul_activation_backward_tn" })
        }
        (_, false) => Some(if forward { "matmul_forward_an" } else { "matmul_activation_backward_an" }),
        _ => None,
    }
}

/// The generated file that holds a texture entry point (the large blocks have their own, see the generator).
pub fn texture_shader(entry: &str) -> &'static shaders::Shader {
    if entry.ends_with("_big") {
        &shaders::MATMUL_TEXTURE_BIG
    } else {
        &shaders::MATMUL_TEXTURE
    }
}

/// Rows and columns of C per invocation of a texture entry point: 64×32 for the *_big ones, else 16×16
/// (FAMILIES in shaders/generate/matmul_texture.py).
fn texture_block(entry: &str) -> (usize, usize) {
    if entry.ends_with("_big") {
        (64, 32)
    } else {
        (16, 16)
    }
}

/// The smallest M and N that take the 64×32 blocks: below it the 16×16 ones keep both cores busy and compile
/// much faster (MLP-A's 128-row batches). Measured on lavapipe (2-core EPYC): A·B at 1024³ ran at 31 GFLOP/s with
/// 16×16 blocks, 42 with 32×32, 44 with 48×32 and 45 with 64×32, and the MLP-B step took 302, 270–287 and
/// 252–261 ms with the three large sizes; but the first MLP-B step with a cold shader cache (LLVM compiling three
/// large kernels once) took 12, 46 and 120 s. 64×32 keeps MLP-B's step within 4.5× of PyTorch's with margin; the
/// cold compile is paid once per machine (Mesa caches it: about 3 s afterwards).
pub const BIG_MIN: usize = 256;

/// The texture launch of `matmul_forward` / `matmul_activation_backward` (`aux` given) when the device uses texture
/// kernels and the shape and views allow it; None means: use the buffer kernels.
#[allow(clippy::too_many_arguments)]
fn texture_launch(
    gpu: &Gpu,
    s: &MatmulShape,
    p: &MatmulParams,
    a: &View<'_>,
    b: &View<'_>,
    bias: Option<&View<'_>>,
    aux: Option<&View<'_>>,
    act: Activation,
    c: &View<'_>,
    z: Option<&View<'_>>,
) -> Result<Option<Dispatch>> {
    if gpu.kernel_family() != KernelFamily::Texture {
        return Ok(None);
    }
    let Some(entry) = texture_entry(s, aux.is_none()) else { return Ok(None) };
    let op = if aux.is_none() { "matmul_forward" } else { "matmul_activation_backward" };
    let Some(uploads) = upload_pair(gpu, op, a, b)? else { return Ok(None) };
    let q = MatmulTextureParams {
        m: p.m,
        n: p.n,
        k: p.k,
        blocks_n: to_u32(op, "blocks", s.n.div_ceil(texture_block(entry).1))?,
        slope: p.slope,
        a_row_stride: p.a_row_stride,
        a_k_stride: p.a_k_stride,
        _pad: 0,
    };
    let u = uniform(gpu, op, &q);
    let (ta, tb) = (uploads[0].view(), uploads[1].view());
    let mut res =
        vec![u.as_entire_binding(), wgpu::BindingResource::TextureView(&ta), wgpu::BindingResource::TextureView(&tb)];
    // The vec4 entry points bind bias, aux, c, z as array<vec4<f32>>: whole vec4s, which N % 4 = 0 guarantees.
    let ragged = entry.ends_with("ragged");
    fn whole<'v>(v: &View<'v>, ragged: bool) -> Option<View<'v>> {
        if ragged {
            Some(*v)
        } else {
            v.padded_to(4)
        }
    }
    let (bias, z) = (bias.and_then(|v| whole(v, ragged)), z.and_then(|v| whole(v, ragged)));
    let Some(c) = whole(c, ragged) else { return Ok(None) };
    let mut uploads = Vec::from(uploads);
    let aux_texture;
    match aux {
        None => {
            res.push(bias.as_ref().map_or_else(|| gpu.unused_input(), |v| v.binding()));
            res.push(c.binding());
            res.push(z.as_ref().map_or_else(|| gpu.unused_output(), |v| v.binding()));
        }
        Some(aux) => {
            let Some(upload) = Upload::new(gpu, "matmul aux", aux) else { return Ok(None) };
            gpu.check()?;
            aux_texture = upload.view();
            uploads.push(upload);
            res.push(wgpu::BindingResource::TextureView(&aux_texture));
            res.push(c.binding());
        }
    }
    let (bm, bn) = texture_block(entry);
    let blocks = s.m.div_ceil(bm) * s.n.div_ceil(bn);
    let constants = texture_constants(act, p.has_bias != 0, p.store_pre != 0);
    let kernel = gpu.kernel_with(texture_shader(entry), entry, &constants)?;
    Dispatch::with_uploads(gpu, kernel, &res, blocks.div_ceil(TEXTURE_GROUP) as u64, uploads).map(Some)
}

fn workgroups(s: &MatmulShape) -> u64 {
    (s.m.div_ceil(TILE) * s.n.div_ceil(TILE)) as u64
}

/// z = op(A)·op(B) (+ bias[N] over rows); c = act(z); z is stored when given.
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
    const OP: &str = "matmul_forward";
    let p = params(s, act, bias.is_some(), z.is_some())?;
    need(OP, "a", &a, s.m * s.k)?;
    need(OP, "b", &b, s.k * s.n)?;
    need(OP, "c", &c, s.m * s.n)?;
    if let Some(bias) = &bias {
        need(OP, "bias", bias, s.n)?;
    }
    if let Some(z) = &z {
        need(OP, "z", z, s.m * s.n)?;
    }
    if let Some(d) = texture_launch(gpu, s, &p, &a, &b, bias.as_ref(), None, act, &c, z.as_ref())? {
        return Ok(d);
    }
    let (kernel, u, a, b) = match vec4_launch(s, &p, &a, &b) {
        Some((q, a4, b4)) => (gpu.kernel(&shaders::MATMUL_VEC4, OP)?, uniform(gpu, OP, &q), a4, b4),
        None => (gpu.kernel(&shaders::MATMUL, OP)?, uniform(gpu, OP, &p), a, b),
    };
    let res = [
        u.as_entire_binding(),
        a.binding(),
        b.binding(),
        bias.as_ref().map_or_else(|| gpu.unused_input(), |v| v.binding()),
        c.binding(),
        z.as_ref().map_or_else(|| gpu.unused_output(), |v| v.binding()),
    ];
    Dispatch::new(gpu, kernel, &res, workgroups(s))
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
    const OP: &str = "matmul_activation_backward";
    let p = params(s, act, false, false)?;
    need(OP, "a", &a, s.m * s.k)?;
    need(OP, "b", &b, s.k * s.n)?;
    need(OP, "aux", &aux, s.m * s.n)?;
    need(OP, "c", &c, s.m * s.n)?;
    if let Some(d) = texture_launch(gpu, s, &p, &a, &b, None, Some(&aux), act, &c, None)? {
        return Ok(d);
    }
    let (kernel, u, a, b) = match vec4_launch(s, &p, &a, &b) {
        Some((q, a4, b4)) => (gpu.kernel(&shaders::MATMUL_VEC4, OP)?, uniform(gpu, OP, &q), a4, b4),
        None => (gpu.kernel(&shaders::MATMUL, OP)?, uniform(gpu, OP, &p), a, b),
    };
    let res = [u.as_entire_binding(), a.binding(), b.binding(), aux.binding(), c.binding()];
    Dispatch::new(gpu, kernel, &res, workgroups(s))
}
