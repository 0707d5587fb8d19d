//! The uniform holding the per-step scalars shared by the optimizer and gather kernels (`struct Step` in
//! shaders/common.wgsl); the scalars themselves are computed by the optimizer configuration (`optim`).

use crate::error::Result;
use crate::gpu::Gpu;
pub use crate::optim::StepScalars;

/// The uniform buffer holding [`StepScalars`].
#[derive(Debug)]
pub struct StepBuffer {
    buffer: wgpu::Buffer,
}

impl StepBuffer {
    /// A step buffer initialised to `scalars`.
    pub fn new(gpu: &Gpu, scalars: &StepScalars) -> Result<Self> {
        let buffer = crate::tensor::uniform(gpu, "step", scalars);
        gpu.check()?;
        Ok(StepBuffer { buffer })
    }

    /// Queues a write of `scalars`, ordered before the next submission.
    pub fn write(&self, gpu: &Gpu, scalars: &StepScalars) {
        gpu.queue().write_buffer(&self.buffer, 0, bytemuck::bytes_of(scalars));
    }

    /// The binding resource.
    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        self.buffer.as_entire_binding()
    }
}
