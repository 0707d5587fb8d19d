//! K networks of one architecture on the device as one: parameters, gradients, optimizer state and activations in
//! [K × …] buffers (model-major, each model's activations 256-byte aligned), and a training step that launches
//! every kernel once for all K models (see plan.rs). A lone [`Network`](super::Network) is a group of one.
//!
//! Each model's kernels are the ones it would run alone (the matmul variant tuning picks for the single-model
//! shape, in its model-batched form, summing in the same order), so each model trains bit for bit as it would
//! alone (tests/group.rs); the first layer's two products are one wide product each (plan.rs), whose variant,
//! tuned for the whole product, sums each model's outputs in that same order (tests/wide.rs).

use super::buffers::{BatchBuffers, Parameters, PlanCache, PlanKind, Strides, SMALL};
use super::{check_batch, class_weights_tensor, DeviceData};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
use crate::model::{Layout, MlpConfig};
use crate::ops::loss::Loss;
use crate::ops::optim::{ModelHyper, MAX_MODELS};
use crate::optim::OptimizerConfig;
use crate::tensor::Tensor;

/// Buffer writes queued by a training step: the per-model table of optimizer scalars and the batch offset.
const STEP_WRITES: usize = 2;

/// What one training step records: the host's share of a step is proportional to these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepCounts {
    /// Kernel launches (compute dispatches).
    pub launches: usize,
    /// Buffer-to-texture copies (the texture family's operand refreshes).
    pub copies: usize,
    /// Host-to-device buffer writes queued before the submission.
    pub writes: usize,
    /// Queue submissions.
    pub submissions: usize,
}

/// A group of K networks sharing one architecture, loss and optimizer kind, trained in the same launches.
#[derive(Debug)]
pub struct NetworkGroup {
    pub(super) config: MlpConfig,
    pub(super) layout: Layout,
    pub(super) loss: Loss,
    pub(super) optimizers: Vec<OptimizerConfig>,
    /// Cross-entropy class weights [outputs], when the loss is weighted.
    pub(super) class_weights: Option<Tensor>,
    /// Each model's weights-only L2 coefficient (scikit-learn's alpha); all zero: no penalty launches.
    pub(super) weight_l2: Vec<f64>,
    pub(super) parameters: Parameters,
    pub(super) batch: BatchBuffers,
    pub(super) plans: PlanCache,
    /// The precision and loss scaling of training steps (network/precision.rs).
    pub(super) mixed: super::precision::MixedPrecision,
}

impl NetworkGroup {
    /// The most models one group holds: the optimizer launch's per-model records, and every [K × …] buffer within
    /// the adapter's storage-binding and buffer size limits.
    pub fn max_models(gpu: &Gpu, config: &MlpConfig, optimizer: &OptimizerConfig, max_rows: usize) -> usize {
        let n = config.layout().len;
        let s = Strides::new(config, n, max_rows.max(1));
        let widest =
            [n * optimizer.state_slots().max(1), s.dt].into_iter().chain(s.layer.iter().copied()).max().unwrap_or(1)
                as u64
                * 4;
        let limits = gpu.limits();
        let limit = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
        ((limit / widest.max(1)) as usize).clamp(1, MAX_MODELS)
    }

    /// Device bytes of one model's share of a group's buffers, to size groups.
    pub fn device_bytes_per_model(config: &MlpConfig, optimizer: &OptimizerConfig, max_rows: usize) -> u64 {
        let n = config.layout().len;
        let s = Strides::new(config, n, max_rows.max(1));
        let last = s.layer.last().copied().unwrap_or(0);
        let activations: usize = 3 * s.layer.iter().sum::<usize>() + s.dt + last + s.row_stats + s.partials;
        4 * (n * (3 + optimizer.state_slots()) + activations + 2 * SMALL) as u64
    }

    /// Uploads each model's flat parameters (`params[m]`, in `config.layout()`) and allocates buffers for batches
    /// of up to `max_rows`. All optimizers must share the kind; their hyperparameters may differ.
    pub fn new(
        gpu: &Gpu,
        config: &MlpConfig,
        loss: Loss,
        optimizers: &[OptimizerConfig],
        params: &[Vec<f32>],
        max_rows: usize,
    ) -> Result<Self> {
        const OP: &str = "network group";
        config.validate()?;
        let k = optimizers.len();
        let Some(first) = optimizers.first() else { return Err(Error::config("group", "needs at least one model")) };
        for o in optimizers {
            o.validate()?;
            if o.kind.entry() != first.kind.entry() {
                return Err(Error::config("group", "the models of a group share the optimizer kind"));
            }
        }
        let max = Self::max_models(gpu, config, first, max_rows);
        if k != params.len() || k > max {
            let detail = format!("{k} optimizers and {} parameter sets; one group holds at most {max}", params.len());
            return Err(Error::Shape { op: OP, detail });
        }
        let layout = config.layout();
        let n = layout.len;
        if let Some(p) = params.iter().find(|p| p.len() != n) {
            let detail = format!("{} parameters given, layout needs {n}", p.len());
            return Err(Error::Shape { op: if k == 1 { "network" } else { OP }, detail });
        }
        let batch = BatchBuffers::new(gpu, config, loss, k, n, max_rows)?;
        Ok(NetworkGroup {
            parameters: Parameters::new(gpu, optimizers, &params.concat(), n, &batch.strides)?,
            batch,
            config: config.clone(),
            loss,
            optimizers: optimizers.to_vec(),
            layout,
            class_weights: None,
            weight_l2: vec![0.0; k],
            plans: PlanCache::default(),
            mixed: Default::default(),
        })
    }

    /// The number of models.
    pub fn len(&self) -> usize {
        self.optimizers.len()
    }

    /// Whether the group has no models (never: it is built with at least one).
    pub fn is_empty(&self) -> bool {
        self.optimizers.is_empty()
    }

    /// The architecture.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// The largest batch the buffers hold.
    pub fn max_rows(&self) -> usize {
        self.batch.max_rows
    }

    /// Optimizer steps model `m` has taken.
    pub fn steps_done(&self, m: usize) -> u64 {
        self.parameters.steps_done[m]
    }

    /// Freezes model `m` (its parameters and optimizer state no longer change) or thaws it.
    pub fn set_frozen(&mut self, m: usize, frozen: bool) {
        self.parameters.frozen[m] = frozen;
    }

    /// Weights the cross-entropy by class for every model, as PyTorch's `CrossEntropyLoss(weight=w)`: the batch
    /// loss becomes Σ w[yᵢ]·nllᵢ / Σ w[yᵢ]. `None` returns to the unweighted loss. `w` needs one finite weight ≥ 0
    /// per output.
    pub fn set_class_weights(&mut self, gpu: &Gpu, weights: Option<&[f32]>) -> Result<()> {
        self.class_weights = class_weights_tensor(gpu, self.loss, self.config.output(), weights)?;
        // Cached plans bind the loss kernel they were built with.
        self.plans.clear();
        Ok(())
    }

    /// Adds scikit-learn's L2 penalty on the weights (not the biases) to model m's loss, `alphas[m]` each: the
    /// batch loss gains 0.5·alpha·Σ‖W‖²/rows over every layer's weights W and the weight gradient alpha·W/rows,
    /// rows being the step's batch size (a smaller last batch gets a larger share). Zero for every model: no
    /// penalty (and no extra launch). Independent of the optimizer's coupled `weight_decay`, which also decays
    /// the biases.
    pub fn set_weight_l2(&mut self, alphas: &[f64]) -> Result<()> {
        if alphas.len() != self.len() || alphas.iter().any(|a| !a.is_finite() || *a < 0.0) {
            let reason = format!("{} values for {} models; each must be finite and ≥ 0", alphas.len(), self.len());
            return Err(Error::config("weight_l2", reason));
        }
        self.weight_l2 = alphas.to_vec();
        // Cached plans carry the coefficients they were built with.
        self.plans.clear();
        Ok(())
    }

    pub(super) fn check_batch(&self, data: &DeviceData, offset: usize, rows: usize) -> Result<()> {
        check_batch(&self.config, self.loss, self.batch.max_rows, data, offset, rows)
    }

    /// Queues the batch offset and submits the plan of `kind` for rows offset..offset+rows.
    fn submit(&mut self, gpu: &Gpu, kind: PlanKind, data: &DeviceData, offset: usize, rows: usize) -> Result<()> {
        self.check_batch(data, offset, rows)?;
        self.parameters.step.write(gpu, offset as u32);
        let plan = self.plan(gpu, kind, data, rows)?;
        gpu.submit_all(plan);
        Ok(())
    }

    /// One optimizer step of every model not frozen, on rows offset..offset+rows of `data`'s current order, model
    /// m at learning rate `lrs[m]`. Queued, not waited for: one submission; statistics accumulate on the device.
    pub fn train_step(&mut self, gpu: &Gpu, data: &DeviceData, offset: usize, rows: usize, lrs: &[f64]) -> Result<()> {
        self.check_batch(data, offset, rows)?;
        if lrs.len() != self.len() {
            let detail = format!("{} learning rates for {} models", lrs.len(), self.len());
            return Err(Error::Shape { op: "group step", detail });
        }
        // Built (or found in the cache) before anything changes, so a failure leaves the step counts alone.
        self.plan(gpu, PlanKind::Train, data, rows)?;
        let p = &mut self.parameters;
        let records: Vec<ModelHyper> = (0..lrs.len())
            .map(|m| {
                let scalars = self.optimizers[m].step_scalars(p.steps_done[m] + 1, lrs[m]);
                ModelHyper::new(&self.optimizers[m], &scalars, p.frozen[m])
            })
            .collect();
        let records = self.with_skip_records(lrs, records);
        let p = &mut self.parameters;
        p.hyper.write(gpu, &records)?;
        for (done, frozen) in p.steps_done.iter_mut().zip(&p.frozen) {
            *done += u64::from(!*frozen);
        }
        self.submit(gpu, PlanKind::Train, data, offset, rows)
    }

    /// What one training step on batches of `rows` records (builds the plan if needed).
    pub fn step_counts(&mut self, gpu: &Gpu, data: &DeviceData, rows: usize) -> Result<StepCounts> {
        self.check_batch(data, 0, rows)?;
        let plan = self.plan(gpu, PlanKind::Train, data, rows)?;
        Ok(StepCounts {
            launches: plan.len(),
            copies: plan.iter().map(Dispatch::copies).sum(),
            writes: STEP_WRITES,
            submissions: 1,
        })
    }

    /// The shader file (or generated matmul variant) of each launch of a training step on batches of `rows`, in
    /// plan order.
    pub fn plan_files(&mut self, gpu: &Gpu, data: &DeviceData, rows: usize) -> Result<Vec<String>> {
        self.check_batch(data, 0, rows)?;
        Ok(self.plan(gpu, PlanKind::Train, data, rows)?.iter().map(|d| d.file().to_string()).collect())
    }

    /// Times each launch of a training step on batches of `rows` by running it alone `repeats` times; returns
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
        let lrs: Vec<f64> = self.optimizers.iter().map(|o| o.lr).collect();
        self.train_step(gpu, data, 0, rows, &lrs)?;
        let plan = self.plan(gpu, PlanKind::Train, data, rows)?;
        gpu.time_each(plan, repeats)
    }

    /// Computes every model's gradient of the mean loss over a batch into the gradient buffer, without updating;
    /// returns them [K × n], once computed.
    pub async fn gradient_async(
        &mut self,
        gpu: &Gpu,
        data: &DeviceData,
        offset: usize,
        rows: usize,
    ) -> Result<Vec<f32>> {
        self.submit(gpu, PlanKind::Gradient, data, offset, rows)?;
        self.parameters.grads.read_async(gpu).await
    }

    /// Adds a batch's loss and correct count to every model's device statistics, without training.
    pub fn evaluate_batch(&mut self, gpu: &Gpu, data: &DeviceData, offset: usize, rows: usize) -> Result<()> {
        self.submit(gpu, PlanKind::Evaluate, data, offset, rows)
    }

    /// Model `m`'s outputs [rows, outputs] for a batch (after the output activation).
    pub async fn predict_batch_async(
        &mut self,
        gpu: &Gpu,
        data: &DeviceData,
        offset: usize,
        rows: usize,
        m: usize,
    ) -> Result<Vec<f32>> {
        self.submit(gpu, PlanKind::Predict, data, offset, rows)?;
        let last = self.config.layers.len() - 1;
        let at = m * self.batch.strides.layer[last];
        self.batch.h[last].read_range_async(gpu, at, rows * self.config.output()).await
    }

    /// Every model's accumulated [loss sum, correct sum, sample count] without resetting them (one read-back),
    /// once queued steps are done.
    pub async fn peek_stats_async(&self, gpu: &Gpu) -> Result<Vec<[f32; 3]>> {
        let all = self.batch.stats.read_async(gpu).await?;
        Ok(all.chunks(SMALL).map(|s| [s[0], s[1], s[2]]).collect())
    }

    /// Reads and resets every model's accumulated statistics (one read-back), once queued steps are done.
    pub async fn take_stats_async(&self, gpu: &Gpu) -> Result<Vec<[f32; 3]>> {
        let stats = self.peek_stats_async(gpu).await?;
        self.batch.stats.write(gpu, &vec![0.0; self.len() * SMALL])?;
        Ok(stats)
    }

    /// Replaces model `m`'s accumulated statistics (resuming mid-epoch).
    pub fn set_stats(&self, gpu: &Gpu, m: usize, stats: [f32; 3]) -> Result<()> {
        write_at(gpu, &self.batch.stats, m * SMALL, &stats)
    }

    /// Model `m`'s flat parameters, once queued steps are done.
    pub async fn params_async(&self, gpu: &Gpu, m: usize) -> Result<Vec<f32>> {
        let n = self.layout.len;
        self.parameters.params.read_range_async(gpu, m * n, n).await
    }

    /// Replaces model `m`'s flat parameters.
    pub fn set_params(&self, gpu: &Gpu, m: usize, params: &[f32]) -> Result<()> {
        write_model(gpu, &self.parameters.params, m, self.layout.len, params)
    }

    /// Model `m`'s early-stopping copy of its parameters, once queued steps are done.
    pub async fn best_params_async(&self, gpu: &Gpu, m: usize) -> Result<Vec<f32>> {
        let n = self.layout.len;
        self.parameters.best.read_range_async(gpu, m * n, n).await
    }

    /// Replaces model `m`'s early-stopping copy (resume).
    pub fn set_best_params(&self, gpu: &Gpu, m: usize, params: &[f32]) -> Result<()> {
        write_model(gpu, &self.parameters.best, m, self.layout.len, params)
    }

    /// Floats of one model's optimizer state.
    pub fn model_state_len(&self) -> usize {
        self.optimizers[0].state_slots() * self.layout.len
    }

    /// Model `m`'s flat optimizer state, once queued steps are done.
    pub async fn optimizer_state_async(&self, gpu: &Gpu, m: usize) -> Result<Vec<f32>> {
        let len = self.model_state_len();
        if len == 0 {
            return Ok(Vec::new());
        }
        self.parameters.state.read_range_async(gpu, m * len, len).await
    }

    /// Restores model `m`'s optimizer state and step count (resume).
    pub fn set_optimizer_state(&mut self, gpu: &Gpu, m: usize, state: &[f32], steps_done: u64) -> Result<()> {
        write_model(gpu, &self.parameters.state, m, self.model_state_len(), state)?;
        self.parameters.steps_done[m] = steps_done;
        Ok(())
    }

    /// Copies model `m`'s parameters aside on the device (early stopping's best weights), without a read-back.
    pub fn remember_best(&self, gpu: &Gpu, m: usize) {
        self.copy(gpu, &self.parameters.params, &self.parameters.best, m);
    }

    /// Copies model `m`'s remembered parameters back.
    pub fn restore_best(&self, gpu: &Gpu, m: usize) {
        self.copy(gpu, &self.parameters.best, &self.parameters.params, m);
    }

    fn copy(&self, gpu: &Gpu, from: &Tensor, to: &Tensor, m: usize) {
        let bytes = (self.layout.len * 4) as u64;
        let mut enc =
            gpu.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("copy model") });
        enc.copy_buffer_to_buffer(from.buffer(), m as u64 * bytes, to.buffer(), m as u64 * bytes, bytes);
        gpu.queue().submit(Some(enc.finish()));
    }
}

/// Writes model `m`'s `len` floats of a [K × len] buffer.
fn write_model(gpu: &Gpu, t: &Tensor, m: usize, len: usize, data: &[f32]) -> Result<()> {
    if data.len() != len {
        return Err(Error::Shape { op: "write", detail: format!("{} values for a model's {len}", data.len()) });
    }
    write_at(gpu, t, m * len, data)
}

/// Writes `data` at element `offset` of `t` (ordered before the next submission).
fn write_at(gpu: &Gpu, t: &Tensor, offset: usize, data: &[f32]) -> Result<()> {
    if offset + data.len() > t.len() {
        let detail = format!("{} values at {offset} of {}", data.len(), t.len());
        return Err(Error::Shape { op: "write", detail });
    }
    if !data.is_empty() {
        gpu.queue().write_buffer(t.buffer(), (offset * 4) as u64, bytemuck::cast_slice(data));
    }
    Ok(())
}
