//! What a [`Network`](super::Network) holds on the device, by lifetime: the parameters with everything the
//! optimizer keeps beside them (live for the whole run), the buffers of one batch (sized for the largest), and the
//! dispatch lists built so far.

use std::collections::HashMap;

use crate::error::Result;
use crate::gpu::{Gpu, KernelFamily};
use crate::kernel::Dispatch;
use crate::model::MlpConfig;
use crate::ops::loss::Loss;
use crate::ops::reduce::partial_count;
use crate::ops::step::{StepBuffer, StepScalars};
use crate::optim::OptimizerConfig;
use crate::tensor::Tensor;

/// The flat parameters, their gradient, the optimizer's state and step uniform, early stopping's best copy, and the
/// gradient-clipping scratch.
#[derive(Debug)]
pub(super) struct Parameters {
    pub params: Tensor,
    pub grads: Tensor,
    pub state: Tensor,
    pub best: Tensor,
    /// The gradient scale clipping computes (1 when not clipping).
    pub scale: Tensor,
    /// Per-chunk sums of squares of the global gradient norm.
    pub partials: Tensor,
    pub step: StepBuffer,
    pub steps_done: u64,
}

impl Parameters {
    pub fn new(gpu: &Gpu, optimizer: &OptimizerConfig, params: &[f32]) -> Result<Self> {
        let n = params.len();
        let state_len = optimizer.state_slots() * n;
        // Checked before any host allocation: a too-wide network fails with the limit, not an abort.
        crate::tensor::check_buffer_size(gpu, "optimizer state", state_len as u64 * 4)?;
        let state = if optimizer.initial_state() == 0.0 {
            Tensor::zeros(gpu, "optimizer state", &[state_len])?
        } else {
            Tensor::from_slice(gpu, "optimizer state", &vec![optimizer.initial_state(); state_len], &[state_len])?
        };
        Ok(Parameters {
            params: Tensor::from_slice(gpu, "params", params, &[n])?,
            grads: Tensor::zeros(gpu, "grads", &[n])?,
            state,
            best: Tensor::from_slice(gpu, "best params", params, &[n])?,
            // Four floats, so the texture-input optimizer can copy it as one whole texel.
            scale: Tensor::from_slice(gpu, "gradient scale", &[1.0, 0.0, 0.0, 0.0], &[4])?,
            partials: Tensor::zeros(gpu, "norm partials", &[partial_count(n)])?,
            step: StepBuffer::new(gpu, &StepScalars::default())?,
            steps_done: 0,
        })
    }
}

/// One batch's buffers, for up to `max_rows` rows: its inputs x and targets y, each layer's pre-activation z,
/// activation h and gradient d, the scratch of the backward pass, and the loss statistics.
#[derive(Debug)]
pub(super) struct BatchBuffers {
    pub max_rows: usize,
    pub x: Tensor,
    pub y: Tensor,
    pub z: Vec<Tensor>,
    pub h: Vec<Tensor>,
    pub d: Vec<Tensor>,
    /// dZᵀ of one layer at a time, for the texture family's weight gradients (see plan.rs).
    pub dt: Tensor,
    /// d loss / d output when an output activation follows the logits.
    pub dout: Tensor,
    /// Each row's loss and correct flag.
    pub row_stats: Tensor,
    /// The epoch's [loss sum, correct sum, sample count].
    pub stats: Tensor,
}

impl BatchBuffers {
    pub fn new(gpu: &Gpu, config: &MlpConfig, loss: Loss, max_rows: usize) -> Result<Self> {
        let max_rows = max_rows.max(1);
        let out = config.output();
        let per_layer = |name: &str| -> Result<Vec<Tensor>> {
            config.layers.iter().map(|&w| Tensor::zeros(gpu, name, &[max_rows, w])).collect()
        };
        Ok(BatchBuffers {
            stats: Tensor::zeros(gpu, "epoch stats", &[3])?,
            x: Tensor::zeros(gpu, "batch x", &[max_rows, config.input])?,
            y: Tensor::zeros(gpu, "batch y", &[max_rows, loss.target_cols(out)])?,
            z: per_layer("pre-activation")?,
            h: per_layer("activation")?,
            d: per_layer("dz")?,
            dt: Tensor::zeros(gpu, "dz transposed", &[transposed_len(gpu, config, max_rows)])?,
            dout: Tensor::zeros(gpu, "d output", &[max_rows, out])?,
            row_stats: Tensor::zeros(gpu, "row stats", &[2 * max_rows])?,
            max_rows,
        })
    }
}

/// Elements of the dZᵀ scratch buffer: the largest batch × layer width with the texture family, else one vec4.
fn transposed_len(gpu: &Gpu, config: &MlpConfig, max_rows: usize) -> usize {
    let widest = config.layers.iter().copied().max().unwrap_or(1);
    if gpu.kernel_family() == KernelFamily::Texture {
        max_rows * widest
    } else {
        4
    }
}

/// What a dispatch list computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum PlanKind {
    Train,
    Gradient,
    Evaluate,
    Predict,
}

/// The dispatch lists built so far, by kind, batch size and data set, and whether every pipeline they use has been
/// compiled up front.
#[derive(Debug, Default)]
pub(super) struct PlanCache {
    pub lists: HashMap<(PlanKind, usize, u64), Vec<Dispatch>>,
    pub compiled: bool,
}

impl PlanCache {
    /// Forgets the lists (they bind kernels and buffers that changed); the compiled pipelines stay cached.
    pub fn clear(&mut self) {
        self.lists.clear();
    }
}
