//! Launcher for shaders/cast_f16.wgsl: f32 ↔ f16 conversions of a group's tensors (needs SHADER_F16).

use super::{positive, to_u32};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
use crate::shaders::{self, prelude::WG_ELEMENTWISE};
use crate::tensor::{uniform, View};

/// Mirrors `struct CastParams` in shaders/cast_f16.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct CastParams {
    len: u32,
    src_offset: u32,
    src_stride: u32,
    dst_offset: u32,
    dst_stride: u32,
    _pad: [u32; 3],
}

/// Where one side of a conversion lies: its view (counted in 4-byte words), and the first element and the
/// distance between models' elements (counted in that side's elements).
#[derive(Clone, Copy, Debug)]
pub struct CastSide<'a> {
    /// The binding.
    pub view: View<'a>,
    /// Model 0's first element.
    pub offset: usize,
    /// Elements between consecutive models.
    pub stride: usize,
}

/// `len` elements of each of `models` models converted: f32 → f16 (`to_f16 = true`, rounded to nearest even) or
/// f16 → f32 (exact). An f16 view of w words holds 2·w elements.
pub fn cast(
    gpu: &Gpu,
    to_f16: bool,
    src: CastSide<'_>,
    dst: CastSide<'_>,
    len: usize,
    models: usize,
) -> Result<Dispatch> {
    let op: &'static str = if to_f16 { "to_f16" } else { "to_f32" };
    positive(op, "len", len)?;
    positive(op, "models", models)?;
    let (src_per_word, dst_per_word) = if to_f16 { (1, 2) } else { (2, 1) };
    for (name, side, per_word) in [("src", &src, src_per_word), ("dst", &dst, dst_per_word)] {
        let need = side.offset + (models - 1) * side.stride + len;
        if side.view.len * per_word < need {
            let detail = format!("{name} holds {} elements, needs {need}", side.view.len * per_word);
            return Err(Error::Shape { op, detail });
        }
    }
    if !gpu.has_shader_f16() {
        let reason = format!("f16 needs the SHADER_F16 feature, which adapter {} does not have", gpu.adapter());
        return Err(Error::config("precision", reason));
    }
    let p = CastParams {
        len: to_u32(op, "len", len)?,
        src_offset: to_u32(op, "src offset", src.offset)?,
        src_stride: to_u32(op, "src stride", src.stride)?,
        dst_offset: to_u32(op, "dst offset", dst.offset)?,
        dst_stride: to_u32(op, "dst stride", dst.stride)?,
        _pad: [0; 3],
    };
    let kernel = gpu.kernel(&shaders::CAST_F16, op)?;
    let u = uniform(gpu, op, &p);
    let res = [u.as_entire_binding(), src.view.binding(), dst.view.binding()];
    Dispatch::batched(gpu, kernel, &res, len.div_ceil(WG_ELEMENTWISE as usize) as u64, models, Vec::new())
}
