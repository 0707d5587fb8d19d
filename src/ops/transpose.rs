//! Launcher for shaders/transpose.wgsl (texture family only).

use super::{need, positive, to_u32, Models};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
use crate::shaders::{self, prelude::WG_ROWS};
use crate::tensor::{uniform, View};
use crate::texture::Upload;

/// Mirrors `struct TransposeParams` in shaders/transpose.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub struct TransposeParams {
    pub(crate) rows: u32,
    pub(crate) cols: u32,
    pub(crate) x_batch: u32,
    pub(crate) out_batch: u32,
}

/// Whether [`transpose_texture`] takes an R×C matrix: both dimensions multiples of 4.
pub fn transposable(rows: usize, cols: usize) -> bool {
    rows % 4 == 0 && cols % 4 == 0
}

/// out [cols, rows] = xᵀ for x [rows, cols], x read through a texture copy refreshed before every launch.
pub fn transpose_texture(gpu: &Gpu, x: View<'_>, out: View<'_>, rows: usize, cols: usize) -> Result<Dispatch> {
    transpose_texture_models(gpu, x, out, rows, cols, &Models::ONE)
}

/// [`transpose_texture`] of `models.count` models in one launch: model m's x at m·`models.input`, its out at
/// m·`models.output` (both multiples of 4).
pub fn transpose_texture_models(
    gpu: &Gpu,
    x: View<'_>,
    out: View<'_>,
    rows: usize,
    cols: usize,
    models: &Models,
) -> Result<Dispatch> {
    const OP: &str = "transpose_texture";
    positive(OP, "rows", rows)?;
    positive(OP, "cols", cols)?;
    if !transposable(rows, cols) || models.input % 4 != 0 || models.output % 4 != 0 {
        let detail =
            format!("{rows}×{cols}, model strides {} and {}: all must be multiples of 4", models.input, models.output);
        return Err(Error::Shape { op: OP, detail });
    }
    models.check(OP, rows * cols)?;
    need(OP, "x", &x, models.span(models.input, rows * cols))?;
    need(OP, "out", &out, models.span(models.output, rows * cols))?;
    let p = TransposeParams {
        rows: to_u32(OP, "rows", rows)?,
        cols: to_u32(OP, "cols", cols)?,
        x_batch: to_u32(OP, "input model stride", models.input / 4)?,
        out_batch: to_u32(OP, "output model stride", models.output / 4)?,
    };
    to_u32(OP, "elements", rows * cols)?;
    let upload = Upload::new(gpu, OP, &x).ok_or_else(|| Error::Shape {
        op: OP,
        detail: "x must start on a 16-byte boundary and fit a texture".into(),
    })?;
    gpu.check()?;
    let out = out.padded_to(4).ok_or_else(|| Error::Shape { op: OP, detail: "out must span whole vec4s".into() })?;
    let kernel = gpu.kernel(&shaders::TRANSPOSE, OP)?;
    let u = uniform(gpu, OP, &p);
    let texture = upload.view();
    let res = [u.as_entire_binding(), wgpu::BindingResource::TextureView(&texture), out.binding()];
    Dispatch::batched(
        gpu,
        kernel,
        &res,
        (rows * cols / 16).div_ceil(WG_ROWS as usize) as u64,
        models.count,
        vec![upload],
    )
}
