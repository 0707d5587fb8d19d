//! `Tensor`: a GPU storage buffer of f32 (or u32) with a shape; upload, read back, and views into it.

use wgpu::util::DeviceExt;

use crate::error::{Error, Result};
use crate::gpu::Gpu;

/// A storage buffer on the device holding `shape.iter().product()` 4-byte elements.
#[derive(Debug)]
pub struct Tensor {
    buffer: wgpu::Buffer,
    shape: Vec<usize>,
}

/// A range of elements inside a tensor, for binding part of a flat buffer (one layer of the parameters).
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    /// The underlying buffer.
    pub buffer: &'a wgpu::Buffer,
    /// First element.
    pub offset: usize,
    /// Number of elements.
    pub len: usize,
}

impl<'a> View<'a> {
    /// This view with its length rounded up to a multiple of `n` elements, when the buffer has room: a binding
    /// read as `array<vec4<f32>>` must span whole vec4s.
    pub fn padded_to(&self, n: usize) -> Option<View<'a>> {
        let len = self.len.div_ceil(n) * n;
        let fits = ((self.offset + len) * 4) as u64 <= self.buffer.size() && self.offset % n == 0;
        fits.then_some(View { buffer: self.buffer, offset: self.offset, len })
    }

    /// The binding resource for this range (offsets must respect min_storage_buffer_offset_alignment).
    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: self.buffer,
            offset: (self.offset * 4) as u64,
            size: wgpu::BufferSize::new((self.len.max(1) * 4) as u64),
        })
    }
}

const USAGE: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_SRC).union(wgpu::BufferUsages::COPY_DST);

/// Checks that a buffer of `bytes` fits the device's buffer and binding limits.
pub fn check_buffer_size(gpu: &Gpu, what: &str, bytes: u64) -> Result<()> {
    let limits = gpu.limits();
    let binding_max = limits.max_storage_buffer_binding_size;
    if bytes > binding_max {
        return Err(Error::Limit {
            what: what.to_string(),
            limit: "max_storage_buffer_binding_size",
            needed: bytes,
            max: binding_max,
        });
    }
    if bytes > limits.max_buffer_size {
        return Err(Error::Limit {
            what: what.to_string(),
            limit: "max_buffer_size",
            needed: bytes,
            max: limits.max_buffer_size,
        });
    }
    Ok(())
}

impl Tensor {
    fn from_bytes(gpu: &Gpu, label: &str, bytes: &[u8], shape: &[usize]) -> Result<Self> {
        check_buffer_size(gpu, label, bytes.len() as u64)?;
        // Zero-sized bindings are invalid, so an empty tensor still owns storage; and every buffer ends on a whole
        // vec4, so any view of it can be bound as array<vec4<f32>> or copied into a texture as whole texels.
        let padded;
        let contents = if bytes.is_empty() || bytes.len() % 16 != 0 {
            let mut v = bytes.to_vec();
            v.resize(bytes.len().max(1).next_multiple_of(16), 0);
            padded = v;
            &padded[..]
        } else {
            bytes
        };
        let buffer = gpu.device().create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents,
            usage: USAGE,
        });
        gpu.check()?;
        Ok(Tensor { buffer, shape: shape.to_vec() })
    }

    /// Uploads `data` with the given shape.
    pub fn from_slice(gpu: &Gpu, label: &str, data: &[f32], shape: &[usize]) -> Result<Self> {
        check_len(label, data.len(), shape)?;
        Self::from_bytes(gpu, label, bytemuck::cast_slice(data), shape)
    }

    /// Uploads u32 data (indices) as a 1-D tensor.
    pub fn from_u32(gpu: &Gpu, label: &str, data: &[u32]) -> Result<Self> {
        Self::from_bytes(gpu, label, bytemuck::cast_slice(data), &[data.len()])
    }

    /// A zero-filled tensor.
    pub fn zeros(gpu: &Gpu, label: &str, shape: &[usize]) -> Result<Self> {
        let bytes = shape.iter().try_fold(4u64, |acc, &d| acc.checked_mul(d as u64)).unwrap_or(u64::MAX);
        check_buffer_size(gpu, label, bytes)?;
        // wgpu zero-initialises new buffers, so no host copy is needed.
        let buffer = gpu.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(4).next_multiple_of(16),
            usage: USAGE,
            mapped_at_creation: false,
        });
        gpu.check()?;
        Ok(Tensor { buffer, shape: shape.to_vec() })
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The wgpu buffer.
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// A view of the whole tensor.
    pub fn view(&self) -> View<'_> {
        View { buffer: &self.buffer, offset: 0, len: self.len() }
    }

    /// A view of `len` elements from `offset`.
    pub fn slice(&self, offset: usize, len: usize) -> View<'_> {
        View { buffer: &self.buffer, offset, len }
    }

    /// The binding resource for the whole tensor.
    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        self.buffer.as_entire_binding()
    }

    /// Overwrites the tensor's contents from the host (ordered before the next submission).
    pub fn write(&self, gpu: &Gpu, data: &[f32]) -> Result<()> {
        check_len("write", data.len(), &self.shape)?;
        gpu.queue().write_buffer(&self.buffer, 0, bytemuck::cast_slice(data));
        Ok(())
    }

    /// Overwrites the tensor's contents with u32 values.
    pub fn write_u32(&self, gpu: &Gpu, data: &[u32]) -> Result<()> {
        check_len("write_u32", data.len(), &self.shape)?;
        gpu.queue().write_buffer(&self.buffer, 0, bytemuck::cast_slice(data));
        Ok(())
    }

    /// Copies the tensor back to the host as f32, blocking until queued work is done (the blocking form of
    /// [`Tensor::read_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        pollster::block_on(self.read_async(gpu))
    }

    /// Copies `len` elements from `offset` back to the host as f32, blocking (see [`Tensor::read_range_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_range(&self, gpu: &Gpu, offset: usize, len: usize) -> Result<Vec<f32>> {
        pollster::block_on(self.read_range_async(gpu, offset, len))
    }

    /// Copies the tensor back to the host as f32, once queued work is done.
    pub async fn read_async(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        self.read_range_async(gpu, 0, self.len()).await
    }

    /// Copies `len` elements from `offset` back to the host as f32, once queued work is done.
    pub async fn read_range_async(&self, gpu: &Gpu, offset: usize, len: usize) -> Result<Vec<f32>> {
        let bytes = read_buffer_async(gpu, &self.buffer, (offset * 4) as u64, (len * 4) as u64).await?;
        Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
}

fn check_len(what: &str, len: usize, shape: &[usize]) -> Result<()> {
    let want: usize = shape.iter().product();
    if len != want {
        return Err(Error::Shape {
            op: "tensor",
            detail: format!("{what}: {len} elements for shape {shape:?} ({want})"),
        });
    }
    Ok(())
}

/// Reads `size` bytes at `offset` of a COPY_SRC buffer through a staging buffer, once queued work is done: the
/// mapping's completion comes through a oneshot channel and is awaited.
pub(crate) async fn read_buffer_async(gpu: &Gpu, buffer: &wgpu::Buffer, offset: u64, size: u64) -> Result<Vec<u8>> {
    if size == 0 {
        return Ok(Vec::new());
    }
    let staging = gpu.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = gpu.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
    encoder.copy_buffer_to_buffer(buffer, offset, &staging, 0, size);
    gpu.queue().submit(Some(encoder.finish()));
    let (tx, rx) = futures::channel::oneshot::channel();
    staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    gpu.drive()?;
    let mapped = rx.await;
    gpu.check()?;
    match mapped {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(Error::Device { kind: "map", message: e.to_string() }),
        Err(_) => return Err(Error::Device { kind: "map", message: "the map callback never ran".into() }),
    }
    let data = {
        let view = staging
            .slice(..)
            .get_mapped_range()
            .map_err(|e| Error::Device { kind: "map", message: format!("{e:?}") })?;
        view.to_vec()
    };
    staging.unmap();
    Ok(data)
}

/// A uniform buffer holding one `#[repr(C)]` parameter struct, created once when a dispatch is built.
pub fn uniform<T: bytemuck::Pod>(gpu: &Gpu, label: &str, value: &T) -> wgpu::Buffer {
    gpu.device().create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: bytemuck::bytes_of(value),
        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
    })
}
