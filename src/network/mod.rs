//! The MLP on the device: parameters, gradients and optimizer state in flat buffers, activation buffers sized for
//! the largest batch, and the dispatch lists ("plans") of a training step, built once per batch size and reused.
//! A training step is one write of the per-model scalars and one queue submission; nothing is read back.
//!
//! One implementation serves one model and many: a [`NetworkGroup`] holds K models of one architecture in
//! [K × …] buffers and launches every kernel once for all of them; a [`Network`] is a group of one.

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::model::MlpConfig;
use crate::ops::loss::Loss;
use crate::optim::OptimizerConfig;
use crate::tensor::Tensor;

pub use crate::data::device::DeviceData;

mod buffers;
mod group;
mod plan;
mod plan_f16;
mod precision;
mod prepare;

pub use group::{NetworkGroup, StepCounts};
pub use plan::layer_matmuls;

/// One MLP on the device: what it is (architecture, loss, optimizer), what it holds (parameters and optimizer
/// state, buffers for a batch) and the dispatch lists built so far. It is a [`NetworkGroup`] of one model (and
/// dereferences to it); the methods here are the group's for model 0, in a lone model's terms.
#[derive(Debug)]
pub struct Network {
    group: NetworkGroup,
}

impl std::ops::Deref for Network {
    type Target = NetworkGroup;

    fn deref(&self) -> &NetworkGroup {
        &self.group
    }
}

impl std::ops::DerefMut for Network {
    fn deref_mut(&mut self) -> &mut NetworkGroup {
        &mut self.group
    }
}

impl Network {
    /// Uploads `params` (flat, in `config.layout()`) and allocates buffers for batches of up to `max_rows`.
    pub fn new(
        gpu: &Gpu,
        config: &MlpConfig,
        loss: Loss,
        optimizer: &OptimizerConfig,
        params: &[f32],
        max_rows: usize,
    ) -> Result<Self> {
        let optimizers = std::slice::from_ref(optimizer);
        Ok(Network { group: NetworkGroup::new(gpu, config, loss, optimizers, &[params.to_vec()], max_rows)? })
    }

    /// The group of one this network is.
    pub fn group(&mut self) -> &mut NetworkGroup {
        &mut self.group
    }

    /// Optimizer steps taken so far.
    pub fn steps_done(&self) -> u64 {
        self.group.steps_done(0)
    }

    /// One optimizer step on rows offset..offset+rows of `data`'s current order, at learning rate `lr`.
    /// Queued, not waited for: loss and accuracy accumulate on the device (see [`Network::take_stats`]).
    pub fn train_step(&mut self, gpu: &Gpu, data: &DeviceData, offset: usize, rows: usize, lr: f64) -> Result<()> {
        self.group.train_step(gpu, data, offset, rows, &[lr])
    }

    /// Computes the gradient of the mean loss over a batch into the gradient buffer, without updating; blocks
    /// for the read-back (see [`NetworkGroup::gradient_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn gradient(&mut self, gpu: &Gpu, data: &DeviceData, offset: usize, rows: usize) -> Result<Vec<f32>> {
        pollster::block_on(self.group.gradient_async(gpu, data, offset, rows))
    }

    /// Reads and resets the accumulated [loss sum, correct sum, sample count], blocking until queued steps are
    /// done (see [`Network::take_stats_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn take_stats(&self, gpu: &Gpu) -> Result<[f32; 3]> {
        pollster::block_on(self.take_stats_async(gpu))
    }

    /// Reads and resets the accumulated [loss sum, correct sum, sample count] once queued steps are done.
    pub async fn take_stats_async(&self, gpu: &Gpu) -> Result<[f32; 3]> {
        Ok(self.group.take_stats_async(gpu).await?[0])
    }

    /// Reads the accumulated statistics without resetting them (a mid-epoch report, a checkpoint), once queued
    /// steps are done.
    pub async fn peek_stats_async(&self, gpu: &Gpu) -> Result<[f32; 3]> {
        Ok(self.group.peek_stats_async(gpu).await?[0])
    }

    /// The flat parameters, blocking until queued steps are done (see [`Network::params_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn params(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        pollster::block_on(self.params_async(gpu))
    }

    /// The flat parameters, once queued steps are done.
    pub async fn params_async(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        self.group.params_async(gpu, 0).await
    }

    /// The length of the flat optimizer state and the step count, without a read-back.
    pub fn optimizer_state_len(&self) -> (usize, u64) {
        (self.group.model_state_len(), self.steps_done())
    }
}

/// The device copy of cross-entropy's per-class weights (None: unweighted), checked against the loss and the
/// `out` outputs.
fn class_weights_tensor(gpu: &Gpu, loss: Loss, out: usize, weights: Option<&[f32]>) -> Result<Option<Tensor>> {
    let Some(w) = weights else { return Ok(None) };
    if loss != Loss::CrossEntropy || w.len() != out || w.iter().any(|v| !v.is_finite() || *v < 0.0) {
        let reason = format!(
            "{} weights for a {} network with {out} outputs; cross-entropy needs {out} finite weights ≥ 0",
            w.len(),
            loss.name()
        );
        return Err(Error::config("class_weights", reason));
    }
    Ok(Some(Tensor::from_slice(gpu, "class weights", w, &[out])?))
}

/// Rows offset..offset+rows of `data` fit a network (or group) of `config` with `loss` and batches of at most
/// `max_rows`: the same features and target columns, a non-empty batch within the data and the buffers.
fn check_batch(
    config: &MlpConfig,
    loss: Loss,
    max_rows: usize,
    data: &DeviceData,
    offset: usize,
    rows: usize,
) -> Result<()> {
    let targets = loss.target_cols(config.output());
    if data.n_features != config.input || data.target_cols != targets {
        let detail = format!(
            "data has {} features and {} target columns; the network takes {} inputs and {targets} targets",
            data.n_features, data.target_cols, config.input
        );
        return Err(Error::Shape { op: "batch", detail });
    }
    if rows == 0 || rows > max_rows || offset + rows > data.rows {
        let detail = format!("rows {offset}..{} of {} with batches of at most {max_rows}", offset + rows, data.rows);
        return Err(Error::Shape { op: "batch", detail });
    }
    Ok(())
}
