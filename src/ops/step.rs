//! The per-step scalars shared by the optimizer and gather kernels (`struct Step` in shaders/common.wgsl).

use crate::error::Result;
use crate::gpu::Gpu;

/// Scalars that change every optimizer step; written into one small uniform before each step's submission,
/// so a schedule never rebuilds a pipeline or bind group.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StepScalars {
    /// The learning rate of this step.
    pub lr: f32,
    /// Adam: lr / (1 − β1^t); AdaGrad: lr / (1 + (t − 1)·lr_decay); otherwise lr.
    pub step_size: f32,
    /// Adam: √(1 − β2^t); otherwise 1.
    pub bias_correction2_sqrt: f32,
    /// 1 on the first optimizer step (SGD momentum starts its buffer from the gradient), else 0.
    pub first_step: u32,
    /// Where this batch starts in the epoch's index permutation.
    pub batch_offset: u32,
    /// Padding to 32 bytes (uniform layout).
    pub _pad: [u32; 3],
}

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
