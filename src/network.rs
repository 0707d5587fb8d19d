//! The MLP on the device: parameters, gradients and optimizer state in flat buffers, activation buffers sized for
//! the largest batch, and the dispatch lists ("plans") of a training step, built once per batch size and reused.
//! A training step is one write of the step uniform and one queue submission; nothing is read back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
use crate::model::{Layout, MlpConfig};
use crate::ops::activation::{activation_backward, Activation};
use crate::ops::gather::gather_rows;
use crate::ops::loss::{loss, Loss};
use crate::ops::matmul::{matmul_activation_backward, matmul_forward, MatmulShape};
use crate::ops::optim::optimizer_update;
use crate::ops::reduce::{clip_scale, column_sum, partial_count, stats_accumulate, sum_squares_partial};
use crate::ops::step::{StepBuffer, StepScalars};
use crate::optim::OptimizerConfig;
use crate::tensor::Tensor;

/// Part of a data set small enough for one storage binding: rows row_start..row_start + rows.
#[derive(Debug)]
struct Chunk {
    row_start: usize,
    rows: usize,
    features: Tensor,
    targets: Tensor,
}

/// A table of samples uploaded once: features [n, n_features], targets [n, target_cols], and the row order.
/// A table larger than the adapter's max_storage_buffer_binding_size is split into chunks of whole rows.
#[derive(Debug)]
pub struct DeviceData {
    id: u64,
    chunks: Vec<Chunk>,
    order: Tensor,
    rows: usize,
    n_features: usize,
    target_cols: usize,
}

impl DeviceData {
    /// Uploads `rows` samples; the row order starts as file order.
    pub fn upload(gpu: &Gpu, features: &[f32], n_features: usize, targets: &[f32], target_cols: usize) -> Result<Self> {
        let limit = gpu.limits().max_storage_buffer_binding_size;
        Self::upload_chunked(gpu, features, n_features, targets, target_cols, limit)
    }

    /// Like [`DeviceData::upload`], with chunks of at most `max_chunk_bytes` (tests use small chunks).
    pub fn upload_chunked(
        gpu: &Gpu,
        features: &[f32],
        n_features: usize,
        targets: &[f32],
        target_cols: usize,
        max_chunk_bytes: u64,
    ) -> Result<Self> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let rows = targets.len() / target_cols.max(1);
        if rows == 0 || n_features == 0 || features.len() != rows * n_features || targets.len() != rows * target_cols {
            return Err(Error::Shape {
                op: "upload data",
                detail: format!(
                    "{} feature values and {} targets do not make rows of {n_features} features and {target_cols} targets",
                    features.len(),
                    targets.len()
                ),
            });
        }
        let row_bytes = (n_features.max(target_cols) * 4) as u64;
        let chunk_rows = (max_chunk_bytes / row_bytes) as usize;
        if chunk_rows == 0 {
            return Err(Error::Limit {
                what: format!("one sample of {n_features} features"),
                limit: "max_storage_buffer_binding_size",
                needed: row_bytes,
                max: max_chunk_bytes,
            });
        }
        let mut chunks = Vec::new();
        for row_start in (0..rows).step_by(chunk_rows) {
            let n = chunk_rows.min(rows - row_start);
            let f = &features[row_start * n_features..(row_start + n) * n_features];
            let t = &targets[row_start * target_cols..(row_start + n) * target_cols];
            chunks.push(Chunk {
                row_start,
                rows: n,
                features: Tensor::from_slice(gpu, "features", f, &[n, n_features])?,
                targets: Tensor::from_slice(gpu, "targets", t, &[n, target_cols])?,
            });
        }
        let order: Vec<u32> = (0..rows as u32).collect();
        Ok(DeviceData {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            chunks,
            order: Tensor::from_u32(gpu, "order", &order)?,
            rows,
            n_features,
            target_cols,
        })
    }

    /// Number of samples.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of storage bindings the table is split over.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Puts the rows back in file order (after a shuffled epoch), for evaluation and prediction.
    pub fn reset_order(&self, gpu: &Gpu) -> Result<()> {
        let order: Vec<u32> = (0..self.rows as u32).collect();
        self.order.write_u32(gpu, &order)
    }

    /// Sets the order in which batches take rows (a permutation of 0..rows), e.g. each epoch's shuffle.
    pub fn set_order(&self, gpu: &Gpu, order: &[u32]) -> Result<()> {
        if order.len() != self.rows || order.iter().any(|&i| i as usize >= self.rows) {
            return Err(Error::Shape { op: "set_order", detail: format!("order must hold {} row indices", self.rows) });
        }
        self.order.write_u32(gpu, order)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum PlanKind {
    Train,
    Gradient,
    Evaluate,
    Predict,
}

/// An MLP's parameters, gradients, optimizer state and per-batch buffers on the device.
#[derive(Debug)]
pub struct Network {
    config: MlpConfig,
    layout: Layout,
    loss: Loss,
    optimizer: OptimizerConfig,
    params: Tensor,
    grads: Tensor,
    state: Tensor,
    best: Tensor,
    scale: Tensor,
    partials: Tensor,
    stats: Tensor,
    step: StepBuffer,
    max_rows: usize,
    x: Tensor,
    y: Tensor,
    z: Vec<Tensor>,
    h: Vec<Tensor>,
    d: Vec<Tensor>,
    dout: Tensor,
    row_stats: Tensor,
    plans: HashMap<(PlanKind, usize, u64), Vec<Dispatch>>,
    steps_done: u64,
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
        let max_rows = max_rows.max(1);
        let n = layout.len;
        let out = config.output();
        let state_len = optimizer.state_slots() * n;
        // Checked before any host allocation: a too-wide network fails with the limit, not an abort.
        crate::tensor::check_buffer_size(gpu, "optimizer state", state_len as u64 * 4)?;
        let state = if optimizer.initial_state() == 0.0 {
            Tensor::zeros(gpu, "optimizer state", &[state_len])?
        } else {
            Tensor::from_slice(gpu, "optimizer state", &vec![optimizer.initial_state(); state_len], &[state_len])?
        };
        let per_layer = |name: &str| -> Result<Vec<Tensor>> {
            config.layers.iter().map(|&w| Tensor::zeros(gpu, name, &[max_rows, w])).collect()
        };
        Ok(Network {
            config: config.clone(),
            loss,
            optimizer: optimizer.clone(),
            params: Tensor::from_slice(gpu, "params", params, &[n])?,
            grads: Tensor::zeros(gpu, "grads", &[n])?,
            state,
            best: Tensor::from_slice(gpu, "best params", params, &[n])?,
            scale: Tensor::from_slice(gpu, "gradient scale", &[1.0, 0.0], &[2])?,
            partials: Tensor::zeros(gpu, "norm partials", &[partial_count(n)])?,
            stats: Tensor::zeros(gpu, "epoch stats", &[3])?,
            step: StepBuffer::new(gpu, &StepScalars::default())?,
            x: Tensor::zeros(gpu, "batch x", &[max_rows, config.input])?,
            y: Tensor::zeros(gpu, "batch y", &[max_rows, loss.target_cols(out)])?,
            z: per_layer("pre-activation")?,
            h: per_layer("activation")?,
            d: per_layer("dz")?,
            dout: Tensor::zeros(gpu, "d output", &[max_rows, out])?,
            row_stats: Tensor::zeros(gpu, "row stats", &[2 * max_rows])?,
            max_rows,
            layout,
            plans: HashMap::new(),
            steps_done: 0,
        })
    }

    /// The architecture.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// Optimizer steps taken so far.
    pub fn steps_done(&self) -> u64 {
        self.steps_done
    }

    /// The largest batch the buffers hold.
    pub fn max_rows(&self) -> usize {
        self.max_rows
    }

    fn check_batch(&self, data: &DeviceData, offset: usize, rows: usize) -> Result<()> {
        let out = self.config.output();
        if data.n_features != self.config.input || data.target_cols != self.loss.target_cols(out) {
            return Err(Error::Shape {
                op: "batch",
                detail: format!(
                    "data has {} features and {} target columns; the network takes {} inputs and {} targets",
                    data.n_features,
                    data.target_cols,
                    self.config.input,
                    self.loss.target_cols(out)
                ),
            });
        }
        if rows == 0 || rows > self.max_rows || offset + rows > data.rows {
            return Err(Error::Shape {
                op: "batch",
                detail: format!(
                    "rows {offset}..{} of {} with batches of at most {}",
                    offset + rows,
                    data.rows,
                    self.max_rows
                ),
            });
        }
        Ok(())
    }

    fn plan(&mut self, gpu: &Gpu, kind: PlanKind, data: &DeviceData, rows: usize) -> Result<&Vec<Dispatch>> {
        let key = (kind, rows, data.id);
        if !self.plans.contains_key(&key) {
            let plan = self.build_plan(gpu, kind, data, rows)?;
            self.plans.insert(key, plan);
        }
        self.plans.get(&key).ok_or_else(|| Error::Device { kind: "internal", message: "plan cache".into() })
    }

    fn build_plan(&self, gpu: &Gpu, kind: PlanKind, data: &DeviceData, b: usize) -> Result<Vec<Dispatch>> {
        let cfg = &self.config;
        let last = cfg.layers.len() - 1;
        let out = cfg.output();
        let tcols = self.loss.target_cols(out);
        let mut plan = Vec::new();
        for c in &data.chunks {
            let order = data.order.view();
            plan.push(gather_rows(
                gpu,
                &self.step,
                order,
                c.features.view(),
                self.x.view(),
                b,
                cfg.input,
                c.rows,
                c.row_start,
            )?);
            if kind != PlanKind::Predict {
                plan.push(gather_rows(
                    gpu,
                    &self.step,
                    order,
                    c.targets.view(),
                    self.y.view(),
                    b,
                    tcols,
                    c.rows,
                    c.row_start,
                )?);
            }
        }
        for (i, l) in self.layout.layers.iter().enumerate() {
            let input = if i == 0 { self.x.view() } else { self.h[i - 1].view() };
            let s = MatmulShape { m: b, n: l.outputs, k: l.inputs, trans_a: false, trans_b: true };
            let w = self.params.slice(l.weight, l.outputs * l.inputs);
            let bias = self.params.slice(l.bias, l.outputs);
            let act = cfg.activation_of(i);
            let keep_z = act != Activation::Identity;
            plan.push(matmul_forward(
                gpu,
                &s,
                input,
                w,
                Some(bias),
                act,
                self.h[i].view(),
                keep_z.then(|| self.z[i].view()),
            )?);
        }
        if kind == PlanKind::Predict {
            return Ok(plan);
        }
        let out_act = cfg.output_activation;
        let dlogits = if out_act == Activation::Identity { self.d[last].view() } else { self.dout.view() };
        plan.push(loss(gpu, self.loss, self.h[last].view(), self.y.view(), dlogits, self.row_stats.view(), b, out)?);
        plan.push(stats_accumulate(gpu, self.row_stats.view(), self.stats.view(), b)?);
        if kind == PlanKind::Evaluate {
            return Ok(plan);
        }
        if out_act != Activation::Identity {
            plan.push(activation_backward(
                gpu,
                self.z[last].view(),
                self.dout.view(),
                out_act,
                self.d[last].view(),
                b * out,
            )?);
        }
        for (i, l) in self.layout.layers.iter().enumerate().rev() {
            let input = if i == 0 { self.x.view() } else { self.h[i - 1].view() };
            // dW = dZᵀ·input: dZ is stored [B, out] = [K, M], so A is transposed.
            let sw = MatmulShape { m: l.outputs, n: l.inputs, k: b, trans_a: true, trans_b: false };
            let dw = self.grads.slice(l.weight, l.outputs * l.inputs);
            plan.push(matmul_forward(gpu, &sw, self.d[i].view(), input, None, Activation::Identity, dw, None)?);
            plan.push(column_sum(gpu, self.d[i].view(), self.grads.slice(l.bias, l.outputs), b, l.outputs)?);
            if i > 0 {
                // dZ_{i−1} = (dZ_i·W_i) ⊙ act'(Z_{i−1}), the derivative folded into the matmul's epilogue.
                let sx = MatmulShape { m: b, n: l.inputs, k: l.outputs, trans_a: false, trans_b: false };
                let w = self.params.slice(l.weight, l.outputs * l.inputs);
                let act = cfg.activation_of(i - 1);
                let aux = if act == Activation::Identity { self.h[i - 1].view() } else { self.z[i - 1].view() };
                plan.push(matmul_activation_backward(gpu, &sx, self.d[i].view(), w, aux, act, self.d[i - 1].view())?);
            }
        }
        if kind == PlanKind::Gradient {
            return Ok(plan);
        }
        let n = self.layout.len;
        if let Some(max_norm) = self.optimizer.clip_norm {
            plan.push(sum_squares_partial(gpu, self.grads.view(), self.partials.view(), n)?);
            plan.push(clip_scale(gpu, self.partials.view(), self.scale.view(), partial_count(n), max_norm as f32)?);
        }
        plan.push(optimizer_update(
            gpu,
            &self.optimizer,
            &self.step,
            self.scale.view(),
            self.grads.view(),
            self.params.view(),
            self.state.view(),
            n,
        )?);
        Ok(plan)
    }

    /// Compiles every pipeline a training step and an evaluation use (in parallel), builds the plan for batches
    /// of `rows`, and saves the driver's pipeline cache, so the first step does not wait on the shader compiler.
    pub fn prepare(&mut self, gpu: &Gpu, data: &DeviceData, rows: usize) -> Result<()> {
        use crate::shaders::{ACTIVATION, GATHER, GATHER_VEC4, LOSS, MATMUL, MATMUL_VEC4, OPTIM, REDUCE};
        let mut kernels = vec![
            (&GATHER, "gather_rows"),
            (&GATHER_VEC4, "gather_rows"),
            (&MATMUL, "matmul_forward"),
            (&MATMUL, "matmul_activation_backward"),
            (&MATMUL_VEC4, "matmul_forward"),
            (&MATMUL_VEC4, "matmul_activation_backward"),
            (&LOSS, self.loss.entry()),
            (&REDUCE, "stats_accumulate"),
            (&REDUCE, "column_sum"),
            (&OPTIM, self.optimizer.kind.entry()),
        ];
        if self.optimizer.clip_norm.is_some() {
            kernels.extend([(&REDUCE, "sum_squares_partial"), (&REDUCE, "clip_scale")]);
        }
        if self.config.output_activation != Activation::Identity {
            kernels.push((&ACTIVATION, "activation_backward"));
        }
        gpu.precompile(&kernels)?;
        self.check_batch(data, 0, rows.min(data.rows))?;
        self.plan(gpu, PlanKind::Train, data, rows.min(data.rows))?;
        gpu.save_pipeline_cache();
        Ok(())
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
        self.step.write(gpu, &scalars);
        let plan = self.plan(gpu, kind, data, rows)?;
        gpu.submit_all(plan);
        Ok(())
    }

    /// The number of kernel launches in one training step on batches of `rows` (builds the plan if needed).
    pub fn dispatches_per_step(&mut self, gpu: &Gpu, data: &DeviceData, rows: usize) -> Result<usize> {
        self.check_batch(data, 0, rows)?;
        Ok(self.plan(gpu, PlanKind::Train, data, rows)?.len())
    }

    /// Times each kernel of a training step on batches of `rows` by running it alone `repeats` times; returns
    /// (shader file, entry point, median milliseconds) in plan order. Diagnostic: it waits after every launch, and
    /// repeating the optimizer launch changes the parameters.
    pub fn profile_step(
        &mut self,
        gpu: &Gpu,
        data: &DeviceData,
        rows: usize,
        repeats: usize,
    ) -> Result<Vec<(&'static str, &'static str, f64)>> {
        self.check_batch(data, 0, rows)?;
        self.step.write(gpu, &self.optimizer.step_scalars(self.steps_done + 1, self.optimizer.lr, 0));
        let plan = self.plan(gpu, PlanKind::Train, data, rows)?;
        let mut out = Vec::with_capacity(plan.len());
        for d in plan {
            gpu.run(&[d])?;
            let mut times: Vec<f64> = (0..repeats.max(1))
                .map(|_| {
                    let t = std::time::Instant::now();
                    gpu.run(&[d]).map(|_| t.elapsed().as_secs_f64() * 1e3)
                })
                .collect::<Result<_>>()?;
            times.sort_by(f64::total_cmp);
            out.push((d.file(), d.name(), times[times.len() / 2]));
        }
        Ok(out)
    }

    /// One optimizer step on rows offset..offset+rows of `data`'s current order, at learning rate `lr`.
    /// Queued, not waited for: loss and accuracy accumulate on the device (see [`Network::take_stats`]).
    pub fn train_step(&mut self, gpu: &Gpu, data: &DeviceData, offset: usize, rows: usize, lr: f64) -> Result<()> {
        let t = self.steps_done + 1;
        let scalars = self.optimizer.step_scalars(t, lr, offset as u32);
        self.submit(gpu, PlanKind::Train, data, offset, rows, scalars)?;
        self.steps_done = t;
        Ok(())
    }

    /// Computes the gradient of the mean loss over a batch into the gradient buffer, without updating.
    pub fn gradient(&mut self, gpu: &Gpu, data: &DeviceData, offset: usize, rows: usize) -> Result<Vec<f32>> {
        let scalars = StepScalars { batch_offset: offset as u32, ..Default::default() };
        self.submit(gpu, PlanKind::Gradient, data, offset, rows, scalars)?;
        self.grads.read(gpu)
    }

    /// Adds a batch's loss and correct count to the device statistics, without training.
    pub fn evaluate_batch(&mut self, gpu: &Gpu, data: &DeviceData, offset: usize, rows: usize) -> Result<()> {
        let scalars = StepScalars { batch_offset: offset as u32, ..Default::default() };
        self.submit(gpu, PlanKind::Evaluate, data, offset, rows, scalars)
    }

    /// The network outputs [rows, outputs] for a batch (after the output activation).
    pub fn predict_batch(&mut self, gpu: &Gpu, data: &DeviceData, offset: usize, rows: usize) -> Result<Vec<f32>> {
        let scalars = StepScalars { batch_offset: offset as u32, ..Default::default() };
        self.submit(gpu, PlanKind::Predict, data, offset, rows, scalars)?;
        let last = self.config.layers.len() - 1;
        self.h[last].read_range(gpu, 0, rows * self.config.output())
    }

    /// Reads and resets the accumulated [loss sum, correct sum, sample count] (waits for queued steps).
    pub fn take_stats(&self, gpu: &Gpu) -> Result<[f32; 3]> {
        let s = self.stats.read(gpu)?;
        self.stats.write(gpu, &[0.0; 3])?;
        Ok([s[0], s[1], s[2]])
    }

    /// The flat parameters (waits for queued steps).
    pub fn params(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        self.params.read(gpu)
    }

    /// Replaces the flat parameters.
    pub fn set_params(&self, gpu: &Gpu, params: &[f32]) -> Result<()> {
        self.params.write(gpu, params)
    }

    /// The flat optimizer state and the step count, for checkpoints.
    pub fn optimizer_state(&self, gpu: &Gpu) -> Result<(Vec<f32>, u64)> {
        Ok((self.state.read(gpu)?, self.steps_done))
    }

    /// The length of the flat optimizer state and the step count, without a read-back.
    pub fn optimizer_state_len(&self) -> (usize, u64) {
        (self.state.len(), self.steps_done)
    }

    /// Restores optimizer state saved by [`Network::optimizer_state`].
    pub fn set_optimizer_state(&mut self, gpu: &Gpu, state: &[f32], steps_done: u64) -> Result<()> {
        self.state.write(gpu, state)?;
        self.steps_done = steps_done;
        Ok(())
    }

    /// Early stopping's remembered parameters.
    pub fn best_params(&self, gpu: &Gpu) -> Result<Vec<f32>> {
        self.best.read(gpu)
    }

    /// Replaces early stopping's remembered parameters (resume).
    pub fn set_best_params(&self, gpu: &Gpu, params: &[f32]) -> Result<()> {
        self.best.write(gpu, params)
    }

    /// Copies the parameters aside on the device (early stopping's best weights), without a read-back.
    pub fn remember_best(&self, gpu: &Gpu) {
        copy(gpu, &self.params, &self.best);
    }

    /// Copies the remembered parameters back.
    pub fn restore_best(&self, gpu: &Gpu) {
        copy(gpu, &self.best, &self.params);
    }
}

fn copy(gpu: &Gpu, from: &Tensor, to: &Tensor) {
    let mut enc = gpu.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("copy params") });
    enc.copy_buffer_to_buffer(from.buffer(), 0, to.buffer(), 0, (from.len() * 4) as u64);
    gpu.queue().submit(Some(enc.finish()));
}

/// Writes accumulated statistics back (after a mid-epoch peek).
pub(crate) fn restore_stats(gpu: &Gpu, net: &Network, s: [f32; 3]) -> Result<()> {
    net.stats.write(gpu, &s)
}
