//! The MLP on the device: parameters, gradients and optimizer state in flat buffers, activation buffers sized for
//! the largest batch, and the dispatch lists ("plans") of a training step, built once per batch size and reused.
//! A training step is one write of the step uniform and one queue submission; nothing is read back.

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
use crate::model::{Layout, MlpConfig};
use crate::ops::loss::Loss;
use crate::ops::reduce::partial_count;
use crate::ops::step::StepScalars;
use crate::optim::OptimizerConfig;
use crate::tensor::Tensor;

pub use crate::data::device::DeviceData;

mod buffers;
mod plan;

use buffers::{BatchBuffers, Parameters, PlanCache, PlanKind};

// Model-batched groups serve the native sweep trainer (blocking read-backs).
#[cfg(not(target_arch = "wasm32"))]
mod group;
#[cfg(not(target_arch = "wasm32"))]
pub use group::NetworkGroup;
pub use plan::layer_matmuls;

/// An MLP on the device: what it is (architecture, loss, optimizer), what it holds (parameters and optimizer
/// state, buffers for a batch) and the dispatch lists built so far.
#[derive(Debug)]
pub struct Network {
    config: MlpConfig,
    layout: Layout,
    loss: Loss,
    optimizer: OptimizerConfig,
    /// Cross-entropy class weights [outputs], when the loss is weighted.
    class_weights: Option<Tensor>,
    parameters: Parameters,
    batch: BatchBuffers,
    plans: PlanCache,
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
        config.validate()?;
        optimizer.validate()?;
        let layout = config.layout();
        if params.len() != layout.len {
            return Err(Error::Shape {
                op: "network",
                detail: format!("{} parameters given, layout needs {}", params.len(), layout.len),
            });
        }
        Ok(Network {
            parameters: Parameters::new(gpu, optimizer, params)?,
            batch: BatchBuffers::new(gpu, config, loss, max_rows)?,
            config: config.clone(),
            loss,
            optimizer: optimizer.clone(),
            layout,
            class_weights: None,
            plans: PlanCache::default(),
        })
    }

    /// The architecture.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// Weights the cross-entropy by class, as PyTorch's `CrossEntropyLoss(weight=w)`: the batch loss becomes
    /// Σ w[yᵢ]·nllᵢ / Σ w[yᵢ]. `None` returns to the unweighted loss. `w` needs one finite weight ≥ 0 per output.
    pub fn set_class_weights(&mut self, gpu: &Gpu, weights: Option<&[f32]>) -> Result<()> {
        self.class_weights = class_weights_tensor(gpu, self.loss, self.config.output(), weights)?;
        // Cached plans bind the loss kernel they were built with.
        self.plans.clear();
        Ok(())
    }

    /// The loss kernel's entry point: the weighted cross-entropy when class weights are set.
    fn loss_entry(&self) -> &'static str {
        if self.class_weights.is_some() {
            "weighted_cross_entropy_loss"
        } else {
            self.loss.entry()
        }
    }

    /// Optimizer steps taken so far.
    pub fn steps_done(&self) -> u64 {
        self.parameters.steps_done
    }

    /// The largest batch the buffers hold.
    pub fn max_rows(&self) -> usize {
        self.batch.max_rows
    }

    fn check_batch(&self, data: &DeviceData, offset: usize, rows: usize) -> Result<()> {
        check_batch(&self.config, self.loss, self.batch.max_rows, data, offset, rows)
    }

    fn submit(
        &mut self,
        gpu: &Gpu,
        kind: PlanKind,
        data: &DeviceData,
        offset: usize,
        rows: usize,
        scalars: StepScalars,
    ) -> Result<()> {
        self.check_batch(data, offset, rows)?;
        self.parameters.step.write(gpu, &scalars);
        let plan = self.plan(gpu, kind, data, rows)?;
        gpu.submit_all(plan);
        Ok(())
    }

    /// The number of kernel launches in one training step on batches of `rows` (builds the plan if needed).
    pub fn dispatches_per_step(&mut self, gpu: &Gpu, data: &DeviceData, rows: usize) -> Result<usize> {
        self.check_batch(data, 0, rows)?;
        Ok(self.plan(gpu, PlanKind::Train, data, rows)?.len())
    }

    /// The shader file (or generated matmul variant) of each launch of a training step on batches of `rows`, in
    /// plan order.
    pub fn plan_files(&mut self, gpu: &Gpu, data: &DeviceData, rows: usize) -> Result<Vec<String>> {
        self.check_batch(data, 0, rows)?;
        Ok(self.plan(gpu, PlanKind::Train, data, rows)?.iter().map(|d| d.file().to_string()).collect())
    }

    /// Times each kernel of a training step on batches of `rows` by running it alone `repeats` times; returns
    /// (shader file, entry point, median milliseconds) in plan order. Diagnostic: it waits after every launch, and
    /// repeating the optimizer launch changes the parameters.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn profile_step(
        &mut self,
        gpu: &Gpu,
        data: &DeviceData,
        rows: usize,
        repeats: usize,
    ) -> Result<Vec<(String, &'static str, f64)>> {
        self.check_batch(data, 0, rows)?;
        self.parameters
            .step
            .write(gpu, &self.optimizer.step_scalars(self.parameters.steps_done + 1, self.optimizer.lr, 0));
        let plan = self.plan(gpu, PlanKind::Train, data, rows)?;
        gpu.time_each(plan, repeats)
    }

    /// One optimizer step on rows offset..offset+rows of `data`'s current order, at learning rate `lr`.
    /// Queued, not waited for: loss and accuracy accumulate on the device (see [`Network::take_stats`]).
    pub fn train_step(&mut self, gpu: &Gpu, data: &DeviceData, offset: usize, rows: usize, lr: f64) -> Result<()> {
        let plan = self.record_train_step(gpu, data, offset, rows, lr)?;
        gpu.submit_all(plan);
        Ok(())
    }

    /// Like [`Network::train_step`], but returns the step's dispatch list instead of submitting it, so a group can
    /// record the steps of many networks into one submission. The step's scalars are queued now; submit the list
    /// before queuing this network's next step.
    pub fn record_train_step(
        &mut self,
        gpu: &Gpu,
        data: &DeviceData,
        offset: usize,
        rows: usize,
        lr: f64,
    ) -> Result<&[Dispatch]> {
        self.check_batch(data, offset, rows)?;
        // Built (or found in the cache) before anything changes, so a failure leaves the step count alone.
        self.plan(gpu, PlanKind::Train, data, rows)?;
        let t = self.parameters.steps_done + 1;
        self.parameters.step.write(gpu, &self.optimizer.step_scalars(t, lr, offset as u32));
        self.parameters.steps_done = t;
        Ok(self.plan(gpu, PlanKind::Train, data, rows)?)
    }

    /// Device bytes of a network's buffers (parameters, gradients, optimizer state, best copy, activations for
    /// `max_rows`), to size groups of networks.
    pub fn device_bytes(config: &MlpConfig, loss: Loss, optimizer: &OptimizerConfig, max_rows: usize) -> u64 {
        let n = config.layout().len as u64;
        let rows = max_rows.max(1) as u64;
        let widths: u64 = config.layers.iter().map(|&w| w as u64).sum();
        let out = config.output() as u64;
        let per_rows = rows * (config.input as u64 + loss.target_cols(config.output()) as u64 + 3 * widths + out + 2);
        4 * (n * (3 + optimizer.state_slots() as u64) + per_rows + partial_count(n as usize) as u64 + 8)
    }

    /// Computes the gradient of the mean loss over a batch into the gradient buffer, without updating; blocks
    /// for the read-back (see [`Network::gradient_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn gradient(&mut self, gpu: &Gpu, data: &DeviceData, offset: usize, rows: usize) -> Result<Vec<f32>> {
        pollster::block_on(self.gradient_async(gpu, data, offset, rows))
    }

    /// Computes the gradient of the mean loss over a batch into the gradient buffer, without updating.
    pub async fn gradient_async(
        &mut self,
        gpu: &Gpu,
        data: &DeviceData,
        offset: usize,
        rows: usize,
    ) -> Result<Vec<f32>> {
        let scalars = StepScalars { batch_offset: offset as u32, ..Default::default() };
        self.submit(gpu, PlanKind::Gradient, data, offset, rows, scalars)?;
        self.parameters.grads.read_async(gpu).await
    }

    /// Adds a batch's loss and correct count to the device statistics, without training.
    pub fn evaluate_batch(&mut self, gpu: &Gpu, data: &DeviceData, offset: usize, rows: usize) -> Result<()> {
        let scalars = StepScalars { batch_offset: offset as u32, ..Default::default() };
        self.submit(gpu, PlanKind::Evaluate, data, offset, rows, scalars)
    }

    /// The network outputs [rows, outputs] for a batch (after the output activation), blocking (see
    /// [`Network::predict_batch_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn predict_batch(&mut self, gpu: &Gpu, data: &DeviceData, offset: usize, rows: usize) -> Result<Vec<f32>> {
        pollster::block_on(self.predict_batch_async(gpu, data, offset, rows))
    }

    /// The network outputs [rows, outputs] for a batch (after the output activation).
    pub async fn predict_batch_async(
        &mut self,
        gpu: &Gpu,
        data: &DeviceData,
        offset: usize,
        rows: usize,
    ) -> Result<Vec<f32>> {
        let scalars = StepScalars { batch_offset: offset as u32, ..Default::default() };
        self.submit(gpu, PlanKind::Predict, data, offset, rows, scalars)?;
        let last = self.config.layers.len() - 1;
        self.batch.h[last].read_range_async(gpu, 0, rows * self.config.output()).await
    }

    /// Reads and resets the accumulated [loss sum, correct sum, sample count], blocking until queued steps are
    /// done (see [`Network::take_stats_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn take_stats(&self, gpu: &Gpu) -> Result<[f32; 3]> {
        pollster::block_on(self.take_stats_async(gpu))
    }

    /// Reads and resets the accumulated [loss sum, correct sum, sample count] once queued steps are done.
    pub async fn take_stats_async(&self, gpu: &Gpu) -> Result<[f32; 3]> {
        let s = self.peek_stats_async(gpu).await?;
        self.set_stats(gpu, [0.0; 3])?;
        Ok(s)
    }

    /// Reads the accumulated statistics without resetting them (a mid-epoch report, a checkpoint), blocking.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn peek_stats(&self, gpu: &Gpu) -> Result<[f32; 3]> {
        pollster::block_on(self.peek_stats_async(gpu))
    }

    /// Reads the accumulated statistics without resetting them, once queued steps are done.
    pub async fn peek_stats_async(&self, gpu: &Gpu) -> Result<[f32; 3]> {
        let s = self.batch.stats.read_async(gpu).await?;
        Ok([s[0], s[1], s[2]])
    }

    /// Replaces the accumulated statistics (resuming mid-epoch).
    pub fn set_stats(&self, gpu: &Gpu, stats: [f32; 3]) -> Result<()> {
        self.batch.stats.write(gpu, &stats)
    }

    /// The flat parameters, blocking until queued steps are done (see [`Network::params_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn params(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        pollster::block_on(self.params_async(gpu))
    }

    /// The flat parameters, once queued steps are done.
    pub async fn params_async(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        self.parameters.params.read_async(gpu).await
    }

    /// Replaces the flat parameters.
    pub fn set_params(&self, gpu: &Gpu, params: &[f32]) -> Result<()> {
        self.parameters.params.write(gpu, params)
    }

    /// The flat optimizer state and the step count, for checkpoints; blocking (see
    /// [`Network::optimizer_state_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn optimizer_state(&self, gpu: &Gpu) -> Result<(Vec<f32>, u64)> {
        pollster::block_on(self.optimizer_state_async(gpu))
    }

    /// The flat optimizer state and the step count, once queued steps are done.
    pub async fn optimizer_state_async(&self, gpu: &Gpu) -> Result<(Vec<f32>, u64)> {
        Ok((self.parameters.state.read_async(gpu).await?, self.parameters.steps_done))
    }

    /// The length of the flat optimizer state and the step count, without a read-back.
    pub fn optimizer_state_len(&self) -> (usize, u64) {
        (self.parameters.state.len(), self.parameters.steps_done)
    }

    /// Restores optimizer state saved by [`Network::optimizer_state`].
    pub fn set_optimizer_state(&mut self, gpu: &Gpu, state: &[f32], steps_done: u64) -> Result<()> {
        self.parameters.state.write(gpu, state)?;
        self.parameters.steps_done = steps_done;
        Ok(())
    }

    /// Early stopping's remembered parameters, blocking (see [`Network::best_params_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn best_params(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        pollster::block_on(self.best_params_async(gpu))
    }

    /// Early stopping's remembered parameters, once queued steps are done.
    pub async fn best_params_async(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        self.parameters.best.read_async(gpu).await
    }

    /// Replaces early stopping's remembered parameters (resume).
    pub fn set_best_params(&self, gpu: &Gpu, params: &[f32]) -> Result<()> {
        self.parameters.best.write(gpu, params)
    }

    /// Copies the parameters aside on the device (early stopping's best weights), without a read-back.
    pub fn remember_best(&self, gpu: &Gpu) {
        copy(gpu, &self.parameters.params, &self.parameters.best);
    }

    /// Copies the remembered parameters back.
    pub fn restore_best(&self, gpu: &Gpu) {
        copy(gpu, &self.parameters.best, &self.parameters.params);
    }
}

fn copy(gpu: &Gpu, from: &Tensor, to: &Tensor) {
    let mut enc = gpu.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("copy params") });
    enc.copy_buffer_to_buffer(from.buffer(), 0, to.buffer(), 0, (from.len() * 4) as u64);
    gpu.queue().submit(Some(enc.finish()));
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
