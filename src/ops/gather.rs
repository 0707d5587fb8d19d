//! Launcher for shaders/gather.wgsl.

use super::{need, positive, to_u32};
use crate::error::Result;
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
use crate::ops::step::StepBuffer;
use crate::shaders::{self, prelude::WG_ELEMENTWISE};
use crate::tensor::{uniform, View};

/// Mirrors `struct GatherParams` in shaders/gather.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GatherParams {
    pub(crate) rows: u32,
    pub(crate) cols: u32,
    pub(crate) src_rows: u32,
    pub(crate) row_start: u32,
}

/// out[r, c] = src[indices[step.batch_offset + r] − row_start, c] for `rows` rows of `cols` values, writing only
/// rows whose index falls in `src`'s chunk (rows row_start..row_start + src_rows of the data set).
pub fn gather_rows(
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
    positive(OP, "rows", rows)?;
    positive(OP, "cols", cols)?;
    positive(OP, "src_rows", src_rows)?;
    need(OP, "src", &src, src_rows * cols)?;
    need(OP, "out", &out, rows * cols)?;
    let p = GatherParams {
        rows: to_u32(OP, "rows", rows)?,
        cols: to_u32(OP, "cols", cols)?,
        src_rows: to_u32(OP, "src_rows", src_rows)?,
        row_start: to_u32(OP, "row_start", row_start)?,
    };
    to_u32(OP, "src elements", src_rows * cols)?;
    // Whole rows of vec4s go through the vec4 kernel, with `cols` counted in vec4s.
    let vec4 = if cols % 4 == 0 { src.padded_to(4).zip(out.padded_to(4)) } else { None };
    let (shader, p, src, out, per_row) = match vec4 {
        Some((s4, o4)) => (&shaders::GATHER_VEC4, GatherParams { cols: p.cols / 4, ..p }, s4, o4, cols / 4),
        None => (&shaders::GATHER, p, src, out, cols),
    };
    let kernel = gpu.kernel(shader, OP)?;
    let u = uniform(gpu, OP, &p);
    let res = [u.as_entire_binding(), step.binding(), indices.binding(), src.binding(), out.binding()];
    Dispatch::new(gpu, kernel, &res, (rows * per_row).div_ceil(WG_ELEMENTWISE as usize) as u64)
}
