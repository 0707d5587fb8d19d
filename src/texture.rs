//! Flat rgba32float textures that hold a copy of a storage-buffer range: the operands of
//! the generated texture matmuls (`matmul_wgsl`) and of the texture reductions. Float f of the range is component f % 4 of texel f / 4, and texel t sits at
//! (t % TEXTURE_WIDTH, t / TEXTURE_WIDTH), so any range uploads with one or two plain copies.

use crate::gpu::Gpu;
use crate::tensor::View;

/// Texels per texture row (`shaders::prelude::TEXTURE_WIDTH`, which the shaders' FLAT_TEXTURE_SHIFT and
/// FLAT_TEXTURE_MASK come from).
pub const TEXTURE_WIDTH: usize = crate::shaders::prelude::TEXTURE_WIDTH as usize;

const TEXEL_BYTES: u64 = 16;

/// Whether `len` floats fit one flat texture within the adapter's size limit.
pub fn fits(gpu: &Gpu, len: usize) -> bool {
    height(len.div_ceil(4).div_ceil(TEXTURE_WIDTH)) <= gpu.limits().max_texture_dimension_2d as usize
}

/// The texture height for `rows` rows of texels: never a power of two. llvmpipe compiles a separate shader variant
/// for power-of-two and other texture sizes, so one pipeline reading a 1-row texture in one launch and a 7-row one
/// in the next was JIT-compiled twice (0.6–0.8 s each for a 16×16 matmul block on the first step).
fn height(rows: usize) -> usize {
    let h = rows.max(3);
    if h.is_power_of_two() {
        h + 1
    } else {
        h
    }
}

/// A texture and the copies that refresh it from its buffer ranges; recorded before every launch that reads it.
#[derive(Clone, Debug)]
pub struct Upload {
    buffer: wgpu::Buffer,
    /// (byte offset in the buffer, texels, first texture row) of each range.
    parts: Vec<(u64, usize, usize)>,
    texture: wgpu::Texture,
}

fn flat_texture(gpu: &Gpu, label: &str, rows: usize) -> wgpu::Texture {
    gpu.device().create_texture(&wgpu::TextureDescriptor {
        label: Some(label),
        size: wgpu::Extent3d { width: TEXTURE_WIDTH as u32, height: height(rows) as u32, depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba32Float,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    })
}

impl Upload {
    /// A texture for `view`, or None when the range cannot be copied as whole texels (its start is not 16-byte
    /// aligned, or the buffer ends inside its last texel) or does not fit the adapter's texture size limit.
    pub fn new(gpu: &Gpu, label: &str, view: &View<'_>) -> Option<Self> {
        let offset = (view.offset * 4) as u64;
        let texels = view.len.div_ceil(4);
        let rows = texels.div_ceil(TEXTURE_WIDTH);
        if offset % TEXEL_BYTES != 0
            || offset + texels as u64 * TEXEL_BYTES > view.buffer.size()
            || !fits(gpu, view.len)
        {
            return None;
        }
        let texture = flat_texture(gpu, label, rows);
        Some(Upload { buffer: view.buffer.clone(), parts: vec![(offset, texels, 0)], texture })
    }

    /// A texture holding `count` ranges of `len` floats, range m from `view.offset + m·stride` of the view's
    /// buffer, each starting a texture row: a model-batched operand whose models lie far apart in the buffer (a
    /// layer's weights in a group's [K × P] parameters) is copied without what lies between. Returns the upload and
    /// the distance in floats between ranges in the texture; None as [`Upload::new`], or when the ranges are not
    /// whole texels apart.
    pub fn strided(
        gpu: &Gpu,
        label: &str,
        view: &View<'_>,
        len: usize,
        stride: usize,
        count: usize,
    ) -> Option<(Self, usize)> {
        let texels = len.div_ceil(4);
        let rows = texels.div_ceil(TEXTURE_WIDTH).max(1);
        let last = ((view.offset + (count.max(1) - 1) * stride) * 4) as u64 + texels as u64 * TEXEL_BYTES;
        if (view.offset * 4) % TEXEL_BYTES as usize != 0
            || stride % 4 != 0
            || last > view.buffer.size()
            || !fits(gpu, count * rows * TEXTURE_WIDTH * 4)
        {
            return None;
        }
        let parts = (0..count).map(|m| (((view.offset + m * stride) * 4) as u64, texels, m * rows)).collect();
        let texture = flat_texture(gpu, label, count * rows);
        Some((Upload { buffer: view.buffer.clone(), parts, texture }, rows * TEXTURE_WIDTH * 4))
    }

    /// A view of the texture to bind.
    pub fn view(&self) -> wgpu::TextureView {
        self.texture.create_view(&wgpu::TextureViewDescriptor::default())
    }

    /// The number of copy commands [`Upload::record`] records: per range, one for its whole rows and one for a
    /// partial last row.
    pub fn copies(&self) -> usize {
        let per_range = |texels: usize| usize::from(texels >= TEXTURE_WIDTH) + usize::from(texels % TEXTURE_WIDTH > 0);
        self.parts.iter().map(|&(_, texels, _)| per_range(texels)).sum()
    }

    /// Whether `other` copies the same ranges of the same buffer to the same places (so either texture can stand
    /// for the other while the ranges are unchanged).
    pub fn same_copy(&self, other: &Upload) -> bool {
        self.buffer == other.buffer && self.parts == other.parts
    }

    /// Whether any range this upload copies meets bytes `start..end` of `buffer`.
    pub fn overlaps(&self, buffer: &wgpu::Buffer, start: u64, end: u64) -> bool {
        self.buffer == *buffer
            && self
                .parts
                .iter()
                .any(|&(offset, texels, _)| offset < end && start < offset + texels as u64 * TEXEL_BYTES)
    }

    /// The texture the copies fill.
    pub fn texture(&self) -> &wgpu::Texture {
        &self.texture
    }

    /// Records the copies (whole rows, then the partial last row) into `encoder`, outside any pass.
    pub fn record(&self, encoder: &mut wgpu::CommandEncoder) {
        let row_bytes = TEXTURE_WIDTH as u64 * TEXEL_BYTES;
        for &(offset, texels, first_row) in &self.parts {
            let full_rows = texels / TEXTURE_WIDTH;
            let rest = texels % TEXTURE_WIDTH;
            let copy = |encoder: &mut wgpu::CommandEncoder, row: usize, width: usize, height: usize| {
                encoder.copy_buffer_to_texture(
                    wgpu::TexelCopyBufferInfo {
                        buffer: &self.buffer,
                        layout: wgpu::TexelCopyBufferLayout {
                            offset: offset + row as u64 * row_bytes,
                            bytes_per_row: Some(row_bytes as u32),
                            rows_per_image: None,
                        },
                    },
                    wgpu::TexelCopyTextureInfo {
                        texture: &self.texture,
                        mip_level: 0,
                        origin: wgpu::Origin3d { x: 0, y: (first_row + row) as u32, z: 0 },
                        aspect: wgpu::TextureAspect::All,
                    },
                    wgpu::Extent3d { width: width as u32, height: height as u32, depth_or_array_layers: 1 },
                );
            };
            if full_rows > 0 {
                copy(encoder, 0, TEXTURE_WIDTH, full_rows);
            }
            if rest > 0 {
                copy(encoder, full_rows, rest, 1);
            }
        }
    }
}
