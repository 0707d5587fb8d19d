//! What a [`NetworkGroup`](super::NetworkGroup) of K models holds on the device, by lifetime: the parameters with
//! everything the optimizer keeps beside them (live for the whole run), the buffers of one batch (sized for the
//! largest), and the dispatch lists built so far. Every buffer is [K × …], model-major; a lone network is K = 1.

use std::collections::HashMap;

use crate::error::Result;
use crate::gpu::{Gpu, KernelFamily};
use crate::kernel::Dispatch;
use crate::model::MlpConfig;
use crate::ops::loss::Loss;
use crate::ops::optim::ModelHyperBuffer;
use crate::ops::reduce::partial_count;
use crate::ops::step::StepBuffer;
use crate::optim::OptimizerConfig;
use crate::tensor::Tensor;

/// Floats per model of the small per-model buffers (gradient scale, statistics): one 256-byte binding offset.
pub(super) const SMALL: usize = 64;

/// `n` rounded up to whole 256-byte binding offsets (64 floats), the distance between models' activations.
fn aligned(n: usize) -> usize {
    n.max(1).next_multiple_of(SMALL)
}

/// The per-model strides of the batch buffers for batches of up to `max_rows` (parameters, gradients and
/// optimizer state are n and slots·n apart).
#[derive(Clone, Debug)]
pub(super) struct Strides {
    /// Per layer: activations (z, h, d) of one model.
    pub layer: Vec<usize>,
    /// dZᵀ scratch of one model.
    pub dt: usize,
    /// Row losses and correct flags.
    pub row_stats: usize,
    /// Norm partials.
    pub partials: usize,
}

impl Strides {
    pub fn new(config: &MlpConfig, n: usize, max_rows: usize) -> Self {
        let widest = config.layers.iter().copied().max().unwrap_or(1);
        Strides {
            layer: config.layers.iter().map(|&w| aligned(max_rows * w)).collect(),
            dt: aligned(max_rows * widest),
            row_stats: aligned(2 * max_rows),
            partials: aligned(partial_count(n)),
        }
    }
}

/// The flat parameters of every model, their gradients, the optimizer's state, per-model hyperparameters and the
/// step uniform, early stopping's best copies, and the gradient-clipping scratch.
#[derive(Debug)]
pub(super) struct Parameters {
    pub params: Tensor,
    pub grads: Tensor,
    pub state: Tensor,
    pub best: Tensor,
    /// Each model's gradient scale clipping computes (1 when not clipping), `SMALL` floats apart.
    pub scale: Tensor,
    /// Per-chunk sums of squares of each model's global gradient norm.
    pub partials: Tensor,
    /// The batch offset the gathers read (the optimizer's scalars are per model, in `hyper`).
    pub step: StepBuffer,
    /// Each model's hyperparameters and step scalars, written once per step.
    pub hyper: ModelHyperBuffer,
    pub steps_done: Vec<u64>,
    pub frozen: Vec<bool>,
}

impl Parameters {
    /// Uploads `flat` ([K × n]) with the optimizers' initial state.
    pub fn new(gpu: &Gpu, optimizers: &[OptimizerConfig], flat: &[f32], n: usize, s: &Strides) -> Result<Self> {
        let k = optimizers.len();
        let slots = optimizers.first().map_or(0, OptimizerConfig::state_slots);
        // Checked before any host allocation: a too-wide network fails with the limit, not an abort.
        crate::tensor::check_buffer_size(gpu, "optimizer state", (k * slots * n) as u64 * 4)?;
        let state = if k * slots * n == 0 {
            Tensor::zeros(gpu, "optimizer state", &[4])?
        } else if optimizers.iter().all(|o| o.initial_state() == 0.0) {
            Tensor::zeros(gpu, "optimizer state", &[k * slots * n])?
        } else {
            let host: Vec<f32> =
                optimizers.iter().flat_map(|o| std::iter::repeat_n(o.initial_state(), slots * n)).collect();
            Tensor::from_slice(gpu, "optimizer state", &host, &[host.len()])?
        };
        let mut scale = vec![0.0; k * SMALL];
        scale.iter_mut().step_by(SMALL).for_each(|v| *v = 1.0);
        Ok(Parameters {
            params: Tensor::from_slice(gpu, "params", flat, &[k * n])?,
            grads: Tensor::zeros(gpu, "grads", &[k * n])?,
            state,
            best: Tensor::from_slice(gpu, "best params", flat, &[k * n])?,
            scale: Tensor::from_slice(gpu, "gradient scale", &scale, &[k * SMALL])?,
            partials: Tensor::zeros(gpu, "norm partials", &[k * s.partials])?,
            step: StepBuffer::new(gpu)?,
            hyper: ModelHyperBuffer::new(gpu)?,
            steps_done: vec![0; k],
            frozen: vec![false; k],
        })
    }
}

/// One batch's buffers, for up to `max_rows` rows: its inputs x and targets y (shared by every model), each
/// model's pre-activation z, activation h and gradient d per layer, the scratch of the backward pass, and the loss
/// statistics.
#[derive(Debug)]
pub(super) struct BatchBuffers {
    pub max_rows: usize,
    pub strides: Strides,
    pub x: Tensor,
    pub y: Tensor,
    pub z: Vec<Tensor>,
    pub h: Vec<Tensor>,
    pub d: Vec<Tensor>,
    /// dZᵀ of one layer at a time, for the texture family's weight gradients (see plan.rs).
    pub dt: Tensor,
    /// d loss / d output when an output activation follows.
    pub dout: Tensor,
    /// Each row's loss and correct flag.
    pub row_stats: Tensor,
    /// Each model's epoch [loss sum, correct sum, sample count], `SMALL` floats apart.
    pub stats: Tensor,
}

impl BatchBuffers {
    pub fn new(gpu: &Gpu, config: &MlpConfig, loss: Loss, k: usize, n: usize, max_rows: usize) -> Result<Self> {
        let max_rows = max_rows.max(1);
        let s = Strides::new(config, n, max_rows);
        let last = config.layers.len() - 1;
        let per_layer = |name: &str| -> Result<Vec<Tensor>> {
            s.layer.iter().map(|&len| Tensor::zeros(gpu, name, &[k * len])).collect()
        };
        // Only the texture family transposes dZ (see plan.rs); elsewhere one vec4 stands in.
        let dt = if gpu.kernel_family() == KernelFamily::Texture { k * s.dt } else { 4 };
        Ok(BatchBuffers {
            stats: Tensor::zeros(gpu, "epoch stats", &[k * SMALL])?,
            x: Tensor::zeros(gpu, "batch x", &[max_rows, config.input])?,
            y: Tensor::zeros(gpu, "batch y", &[max_rows, loss.target_cols(config.output())])?,
            z: per_layer("pre-activation")?,
            h: per_layer("activation")?,
            d: per_layer("dz")?,
            dt: Tensor::zeros(gpu, "dz transposed", &[dt])?,
            dout: Tensor::zeros(gpu, "d output", &[k * s.layer[last]])?,
            row_stats: Tensor::zeros(gpu, "row stats", &[k * s.row_stats])?,
            max_rows,
            strides: s,
        })
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
