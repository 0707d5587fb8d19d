//! Launchers for shaders/reduce.wgsl, and for shaders/reduce_subgroup.wgsl on devices with subgroups.

use super::{need, positive, to_u32, Models};
use crate::error::Result;
use crate::gpu::{Gpu, KernelFamily};
use crate::kernel::Dispatch;
use crate::shaders::{self, prelude::REDUCE_CHUNK, prelude::WG_ROWS};
use crate::tensor::{uniform, View};
use crate::texture::Upload;

/// Mirrors `struct ReduceParams` in shaders/reduce.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ReduceParams {
    pub(crate) n: u32,
    pub(crate) cols: u32,
    pub(crate) max_norm: f32,
    pub(crate) x_batch: u32,
    pub(crate) out_batch: u32,
    pub(crate) _pad: [u32; 3],
}

impl ReduceParams {
    fn new(n: u32, cols: u32, max_norm: f32) -> Self {
        ReduceParams { n, cols, max_norm, x_batch: 0, out_batch: 0, _pad: [0; 3] }
    }

    fn for_models(self, op: &'static str, models: &Models) -> Result<Self> {
        let x_batch = to_u32(op, "input model stride", models.input)?;
        Ok(ReduceParams { x_batch, out_batch: to_u32(op, "output model stride", models.output)?, ..self })
    }
}

fn launch(
    gpu: &Gpu,
    entry: &'static str,
    p: ReduceParams,
    x: View<'_>,
    out: View<'_>,
    workgroups: u64,
    models: usize,
) -> Result<Dispatch> {
    let shader = if entry.ends_with("_subgroup") { &shaders::REDUCE_SUBGROUP } else { &shaders::REDUCE };
    let kernel = gpu.kernel(shader, entry)?;
    let u = uniform(gpu, entry, &p);
    Dispatch::batched(gpu, kernel, &[u.as_entire_binding(), x.binding(), out.binding()], workgroups, models, Vec::new())
}

/// out[c] = Σ_r x[r, c] over x [rows, cols] (the bias gradient).
pub fn column_sum(gpu: &Gpu, x: View<'_>, out: View<'_>, rows: usize, cols: usize) -> Result<Dispatch> {
    column_sum_models(gpu, x, out, rows, cols, &Models::ONE)
}

/// [`column_sum`] of `models.count` models in one launch: model m's x [rows, cols] at m·`models.input`, its out
/// at m·`models.output` (the texture form needs the input stride to be a multiple of 4).
pub fn column_sum_models(
    gpu: &Gpu,
    x: View<'_>,
    out: View<'_>,
    rows: usize,
    cols: usize,
    models: &Models,
) -> Result<Dispatch> {
    const OP: &str = "column_sum";
    positive(OP, "rows", rows)?;
    positive(OP, "cols", cols)?;
    models.check(OP, cols)?;
    need(OP, "x", &x, models.span(models.input, rows * cols))?;
    need(OP, "out", &out, models.span(models.output, cols))?;
    let p = ReduceParams::new(to_u32(OP, "rows·cols", rows * cols)?, to_u32(OP, "cols", cols)?, 0.0)
        .for_models(OP, models)?;
    let k = models.count;
    if gpu.kernel_family() == KernelFamily::Texture && cols % 4 == 0 && models.input % 4 == 0 {
        if let Some(upload) = Upload::new(gpu, OP, &x) {
            gpu.check()?;
            const ENTRY: &str = "column_sum_texture";
            let kernel = gpu.kernel(&shaders::REDUCE, ENTRY)?;
            let u = uniform(gpu, ENTRY, &p);
            let texture = upload.view();
            let res = [u.as_entire_binding(), out.binding(), wgpu::BindingResource::TextureView(&texture)];
            return Dispatch::batched(gpu, kernel, &res, (cols / 4).div_ceil(WG_ROWS as usize) as u64, k, vec![upload]);
        }
    }
    launch(gpu, OP, p, x, out, cols.div_ceil(WG_ROWS as usize) as u64, k)
}

/// The number of partial sums `sum_squares_partial` writes for `n` elements.
pub fn partial_count(n: usize) -> usize {
    n.div_ceil(REDUCE_CHUNK as usize).max(1)
}

/// out[w] = Σ x[i]² over chunks of `REDUCE_CHUNK` elements: the first pass of the global gradient norm (with subgroup sums
/// where the device has them).
pub fn sum_squares_partial(gpu: &Gpu, x: View<'_>, out: View<'_>, n: usize) -> Result<Dispatch> {
    const OP: &str = "sum_squares_partial";
    positive(OP, "n", n)?;
    need(OP, "x", &x, n)?;
    need(OP, "out", &out, partial_count(n))?;
    let p = ReduceParams::new(to_u32(OP, "n", n)?, 1, 0.0);
    let entry = if gpu.has_subgroups() { "sum_squares_partial_subgroup" } else { OP };
    launch(gpu, entry, p, x, out, partial_count(n) as u64, 1)
}

/// out = [min(1, max_norm / (‖g‖ + 1e-6)), ‖g‖] from the `partials` of `sum_squares_partial`.
pub fn clip_scale(gpu: &Gpu, partials: View<'_>, out: View<'_>, n_partials: usize, max_norm: f32) -> Result<Dispatch> {
    const OP: &str = "clip_scale";
    positive(OP, "partials", n_partials)?;
    need(OP, "partials", &partials, n_partials)?;
    need(OP, "out", &out, 2)?;
    let p = ReduceParams::new(to_u32(OP, "partials", n_partials)?, 1, max_norm);
    launch(gpu, OP, p, partials, out, 1, 1)
}

/// stats[0..3] += [Σ losses, Σ correct, rows] for row_stats = [losses (rows); correct (rows)].
pub fn stats_accumulate(gpu: &Gpu, row_stats: View<'_>, stats: View<'_>, rows: usize) -> Result<Dispatch> {
    stats_accumulate_models(gpu, row_stats, stats, rows, &Models::ONE)
}

/// [`stats_accumulate`] of `models.count` models in one launch: model m's row_stats at m·`models.input`, its
/// stats at m·`models.output`.
pub fn stats_accumulate_models(
    gpu: &Gpu,
    row_stats: View<'_>,
    stats: View<'_>,
    rows: usize,
    models: &Models,
) -> Result<Dispatch> {
    const OP: &str = "stats_accumulate";
    positive(OP, "rows", rows)?;
    models.check(OP, 3)?;
    need(OP, "row_stats", &row_stats, models.span(models.input, 2 * rows))?;
    need(OP, "stats", &stats, models.span(models.output, 3))?;
    let p = ReduceParams::new(to_u32(OP, "rows", rows)?, 1, 0.0).for_models(OP, models)?;
    let entry = if gpu.has_subgroups() { "stats_accumulate_subgroup" } else { OP };
    launch(gpu, entry, p, row_stats, stats, 1, models.count)
}
