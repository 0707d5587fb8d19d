//! CPU twin of shaders/cast_f16.wgsl, on f32 values (f16 values are held widened, as `reference::f16` does).

use super::f16::round;

/// dst[dst_offset + m·dst_stride + i] = src[src_offset + m·src_stride + i], rounded to f16 when `to_f16` (to f32 a
/// widened f16 is already exact), for i < len and m < models.
#[allow(clippy::too_many_arguments)]
pub fn cast(
    to_f16: bool,
    src: &[f32],
    src_offset: usize,
    src_stride: usize,
    dst: &mut [f32],
    dst_offset: usize,
    dst_stride: usize,
    len: usize,
    models: usize,
) {
    for m in 0..models {
        for i in 0..len {
            let v = src[src_offset + m * src_stride + i];
            dst[dst_offset + m * dst_stride + i] = if to_f16 { round(v) } else { v };
        }
    }
}
