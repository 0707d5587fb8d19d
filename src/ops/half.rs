//! Launchers for the f16 element-wise kernels (shaders/half.wgsl, the f16 gathers) and the f16 losses
//! (shaders/loss_f16.wgsl). Every view counts 4-byte words: an f16 view of `len` words holds 2·`len` values;
//! element counts, offsets inside the kernel and model strides count elements. These kernels need a device with
//! SHADER_F16 (`Gpu::has_shader_f16`).

use super::gather::GatherParams;
use super::loss::{Loss, LossParams};
use super::{need, need_f16, positive, to_u32, Models};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
use crate::ops::activation::Activation;
use crate::ops::step::StepBuffer;
use crate::shaders::{self, prelude::WG_ELEMENTWISE, prelude::WG_ROWS};
use crate::tensor::{uniform, View};

/// Mirrors `struct HalfParams` in shaders/half.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct HalfParams {
    pub(crate) n: u32,
    pub(crate) cols: u32,
    pub(crate) kind: u32,
    pub(crate) slope: f32,
    pub(crate) x_batch: u32,
    pub(crate) out_batch: u32,
    pub(crate) _pad: [u32; 2],
}

impl HalfParams {
    fn new(op: &'static str, n: usize, cols: usize, models: &Models) -> Result<Self> {
        Ok(HalfParams {
            n: to_u32(op, "elements", n)?,
            cols: to_u32(op, "cols", cols)?,
            kind: 0,
            slope: 0.0,
            x_batch: to_u32(op, "input model stride", models.input)?,
            out_batch: to_u32(op, "output model stride", models.output)?,
            _pad: [0; 2],
        })
    }
}

/// Fails unless the device compiles f16 kernels, naming the adapter.
fn need_shader_f16(gpu: &Gpu) -> Result<()> {
    if gpu.has_shader_f16() {
        return Ok(());
    }
    Err(Error::Config {
        field: "precision".into(),
        reason: format!("f16 needs the SHADER_F16 feature, which adapter {} does not have", gpu.adapter()),
    })
}

/// One launch of a shaders/half.wgsl entry point over `groups` workgroups and `models` models.
fn launch(
    gpu: &Gpu,
    entry: &'static str,
    p: &HalfParams,
    views: &[View<'_>],
    groups: u64,
    models: usize,
) -> Result<Dispatch> {
    need_shader_f16(gpu)?;
    let kernel = gpu.kernel(&shaders::HALF, entry)?;
    let u = uniform(gpu, entry, p);
    let mut res = vec![u.as_entire_binding()];
    res.extend(views.iter().map(View::binding));
    Dispatch::batched(gpu, kernel, &res, groups, models, Vec::new())
}

/// dx[i] = f16(dy[i] · f'(x[i])) for i < n, all f16, x the pre-activation (the backward pass where the
/// activation is not fused into a matmul).
pub fn activation_backward_f16(
    gpu: &Gpu,
    act: Activation,
    x: View<'_>,
    dy: View<'_>,
    dx: View<'_>,
    n: usize,
) -> Result<Dispatch> {
    const OP: &str = "activation_backward_f16";
    positive(OP, "n", n)?;
    need_f16(OP, "x", &x, n)?;
    need_f16(OP, "dy", &dy, n)?;
    need_f16(OP, "dx", &dx, n)?;
    let p = HalfParams { kind: act.code(), slope: act.slope(), ..HalfParams::new(OP, n, 1, &Models::ONE)? };
    launch(gpu, OP, &p, &[x, dy, dx], n.div_ceil(WG_ELEMENTWISE as usize) as u64, 1)
}

/// out[c] = Σ_r x[r, c] summed in f32, x [rows, cols] f16, out [cols] f32 (bias gradients from an f16 dZ), for
/// `models.count` models: model m's x at m·`models.input` halfs, its out at m·`models.output` floats.
pub fn column_sum_f16(
    gpu: &Gpu,
    x: View<'_>,
    out: View<'_>,
    rows: usize,
    cols: usize,
    models: &Models,
) -> Result<Dispatch> {
    const OP: &str = "column_sum_f16";
    positive(OP, "rows", rows)?;
    positive(OP, "cols", cols)?;
    models.check(OP, cols)?;
    need_f16(OP, "x", &x, models.span(models.input, rows * cols))?;
    need(OP, "out", &out, models.span(models.output, cols))?;
    let p = HalfParams::new(OP, rows * cols, cols, models)?;
    launch(gpu, OP, &p, &[x, out], cols.div_ceil(WG_ROWS as usize) as u64, models.count)
}

/// out[c, r] = x[r, c], f16 [rows, cols] to f16 [cols, rows], for `models.count` models (strides in halfs).
pub fn transpose_f16(
    gpu: &Gpu,
    x: View<'_>,
    out: View<'_>,
    rows: usize,
    cols: usize,
    models: &Models,
) -> Result<Dispatch> {
    const OP: &str = "transpose_f16";
    positive(OP, "rows", rows)?;
    positive(OP, "cols", cols)?;
    models.check(OP, rows * cols)?;
    need_f16(OP, "x", &x, models.span(models.input, rows * cols))?;
    need_f16(OP, "out", &out, models.span(models.output, rows * cols))?;
    let p = HalfParams::new(OP, rows * cols, cols, models)?;
    launch(gpu, OP, &p, &[x, out], (rows * cols).div_ceil(WG_ELEMENTWISE as usize) as u64, models.count)
}

/// `ops::gather::gather_rows` into an f16 `out` (each f32 value of `src` rounded to f16 as it is stored): the
/// batch x of f16 training. Rows of four-value multiples go four at a time (vec4<f16> stores: `out` must start on
/// 8 bytes, i.e. an even word).
#[allow(clippy::too_many_arguments)]
pub fn gather_rows_f16(
    gpu: &Gpu,
    step: &StepBuffer,
    indices: View<'_>,
    src: View<'_>,
    out: View<'_>,
    rows: usize,
    cols: usize,
    src_rows: usize,
    row_start: usize,
) -> Result<Dispatch> {
    const OP: &str = "gather_rows";
    need_shader_f16(gpu)?;
    positive(OP, "rows", rows)?;
    positive(OP, "cols", cols)?;
    positive(OP, "src_rows", src_rows)?;
    need(OP, "src", &src, src_rows * cols)?;
    need_f16(OP, "out", &out, rows * cols)?;
    to_u32(OP, "src elements", src_rows * cols)?;
    let p = GatherParams {
        rows: to_u32(OP, "rows", rows)?,
        cols: to_u32(OP, "cols", cols)?,
        src_rows: to_u32(OP, "src_rows", src_rows)?,
        row_start: to_u32(OP, "row_start", row_start)?,
    };
    let vec4 = if cols % 4 == 0 { src.padded_to(4).zip(out.padded_to(2)) } else { None };
    let (shader, p, src, out, per_row) = match vec4 {
        Some((s4, o4)) => (&shaders::GATHER_VEC4_F16, GatherParams { cols: p.cols / 4, ..p }, s4, o4, cols / 4),
        None => (&shaders::GATHER_F16, p, src, out, cols),
    };
    let kernel = gpu.kernel(shader, OP)?;
    let u = uniform(gpu, OP, &p);
    let res = [u.as_entire_binding(), step.binding(), indices.binding(), src.binding(), out.binding()];
    Dispatch::new(gpu, kernel, &res, (rows * per_row).div_ceil(WG_ELEMENTWISE as usize) as u64)
}

/// The loss of `kind` on f16 logits (shaders/loss_f16.wgsl), as `ops::loss::loss_models`: per-row losses and
/// correct flags in f32 `row_stats`, and the f16 `dlogits` = f16(gradient · loss_scale[0]), the scale an f32 in a
/// storage buffer the loss scaler writes. Strides of logits and dlogits count halfs.
#[allow(clippy::too_many_arguments)]
pub fn loss_f16_models(
    gpu: &Gpu,
    kind: Loss,
    logits: View<'_>,
    targets: View<'_>,
    dlogits: View<'_>,
    row_stats: View<'_>,
    loss_scale: View<'_>,
    rows: usize,
    cols: usize,
    models: &Models,
) -> Result<Dispatch> {
    const OP: &str = "loss (f16)";
    need_shader_f16(gpu)?;
    positive(OP, "rows", rows)?;
    positive(OP, "cols", cols)?;
    models.check(OP, 2 * rows)?;
    if models.count > 1 && models.input < rows * cols {
        let detail = format!("{} models' dlogits of {} overlap at stride {}", models.count, rows * cols, models.input);
        return Err(Error::Shape { op: OP, detail });
    }
    need_f16(OP, "logits", &logits, models.span(models.input, rows * cols))?;
    need(OP, "targets", &targets, rows * kind.target_cols(cols))?;
    need_f16(OP, "dlogits", &dlogits, models.span(models.input, rows * cols))?;
    need(OP, "row_stats", &row_stats, models.span(models.output, 2 * rows))?;
    need(OP, "loss_scale", &loss_scale, 1)?;
    let count = match kind {
        Loss::CrossEntropy => rows,
        _ => rows * cols,
    };
    let p = LossParams::new(OP, rows, cols, count, models)?;
    let kernel = gpu.kernel(&shaders::LOSS_F16, kind.entry())?;
    let u = uniform(gpu, kind.entry(), &p);
    let res = [
        u.as_entire_binding(),
        logits.binding(),
        targets.binding(),
        dlogits.binding(),
        row_stats.binding(),
        loss_scale.binding(),
    ];
    Dispatch::batched(gpu, kernel, &res, rows.div_ceil(WG_ROWS as usize) as u64, models.count, Vec::new())
}
