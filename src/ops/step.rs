//! The step uniform: what changes every training step and is shared by the step's launches (`struct Step` in
//! shaders/gather_rows.wgsl). Each model's optimizer scalars travel in its `ops::optim::ModelHyper` instead.

use crate::error::Result;
use crate::gpu::Gpu;

/// Mirrors `struct Step` in shaders/gather_rows.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct StepParams {
    /// Where this batch starts in the epoch's index permutation.
    pub(crate) batch_offset: u32,
    /// Padding to 16 bytes (uniform layout).
    pub(crate) _pad: [u32; 3],
}

/// The uniform buffer holding the step's batch offset, written before each step's submission so that one
/// recorded plan serves every batch.
#[derive(Debug)]
pub struct StepBuffer {
    buffer: wgpu::Buffer,
}

impl StepBuffer {
    /// A step buffer with batch offset 0.
    pub fn new(gpu: &Gpu) -> Result<Self> {
        let buffer = crate::tensor::uniform(gpu, "step", &StepParams::default());
        gpu.check()?;
        Ok(StepBuffer { buffer })
    }

    /// Queues a write of the batch offset, ordered before the next submission.
    pub fn write(&self, gpu: &Gpu, batch_offset: u32) {
        let p = StepParams { batch_offset, _pad: [0; 3] };
        gpu.queue().write_buffer(&self.buffer, 0, bytemuck::bytes_of(&p));
    }

    /// The binding resource.
    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        self.buffer.as_entire_binding()
    }
}
