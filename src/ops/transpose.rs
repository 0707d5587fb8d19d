//! Launcher for shaders/transpose.wgsl (texture family only).

use super::{need, positive, to_u32};
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
    pub(crate) _pad: [u32; 2],
}

/// Whether [`transpose_texture`] takes an R×C matrix: both dimensions multiples of 4.
pub fn transposable(rows: usize, cols: usize) -> bool {
    rows % 4 == 0 && cols % 4 == 0
}

/// out [cols, rows] = xᵀ for x [rows, cols], x read through a texture copy refreshed before every launch.
pub fn transpose_texture(gpu: &Gpu, x: View<'_>, out: View<'_>, rows: usize, cols: usize) -> Result<Dispatch> {
    const OP: &str = "transpose_texture";
    positive(OP, "rows", rows)?;
    positive(OP, "cols", cols)?;
    if !transposable(rows, cols) {
        return Err(Error::Shape { op: OP, detail: format!("{rows}×{cols}: both must be multiples of 4") });
    }
    need(OP, "x", &x, rows * cols)?;
    need(OP, "out", &out, rows * cols)?;
    let p = TransposeParams { rows: to_u32(OP, "rows", rows)?, cols: to_u32(OP, "cols", cols)?, _pad: [0; 2] };
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
    Dispatch::with_uploads(gpu, kernel, &res, (rows * cols / 16).div_ceil(WG_ROWS as usize) as u64, vec![upload])
}
