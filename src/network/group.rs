//! K networks of one architecture on the device as one: parameters, gradients, optimizer state and activations in
//! [K × …] buffers (model-major, each model's part 256-byte aligned), and a training step in which every matmul
//! and the optimizer are one launch for all K models (the model index is the launch's z; the first layer's input,
//! the batch every model sees, is read once), and so are the loss, its statistics, the bias-gradient column sums
//! and the texture family's dZ transposes. Gradient clipping (each model's own norm and max_norm) runs once per
//! model that clips, on that model's slices.
//!
//! Each model's kernels are the ones a lone [`Network`](super::Network) runs (the matmul variant tuning picks for
//! the single-model shape, in its model-batched form, summing in the same order), so each model trains bit for bit
//! as it would alone (tests/group.rs).

use std::collections::HashMap;

use super::plan::{derivative_from_output, keeps_pre_activation, transposes_dz};
use super::{DeviceData, PlanKind};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
use crate::model::{Layout, MlpConfig};
use crate::ops::activation::{activation_backward, Activation};
use crate::ops::gather::gather_rows;
use crate::ops::loss::{loss_models, weighted_cross_entropy_models, Loss};
use crate::ops::matmul::{matmul_activation_backward_models, matmul_forward_models, MatmulShape, ModelStrides};
use crate::ops::optim::{optimizer_update_models, ModelHyper, ModelHyperBuffer, MAX_MODELS};
use crate::ops::reduce::{clip_scale, column_sum_models, partial_count, stats_accumulate_models, sum_squares_partial};
use crate::ops::step::{StepBuffer, StepScalars};
use crate::ops::transpose::transpose_texture_models;
use crate::ops::Models;
use crate::optim::OptimizerConfig;
use crate::tensor::{Tensor, View};
use crate::texture;

/// Floats per model of the small per-model buffers (gradient scale, statistics): one 256-byte binding offset.
const SMALL: usize = 64;

/// `n` rounded up to whole 256-byte binding offsets (64 floats), the distance between models in every buffer.
fn aligned(n: usize) -> usize {
    n.max(1).next_multiple_of(SMALL)
}

/// A group of K networks sharing one architecture, loss and optimizer kind, trained in the same launches.
#[derive(Debug)]
pub struct NetworkGroup {
    config: MlpConfig,
    layout: Layout,
    loss: Loss,
    optimizers: Vec<OptimizerConfig>,
    params: Tensor,
    grads: Tensor,
    state: Tensor,
    best: Tensor,
    scale: Tensor,
    partials: Tensor,
    stats: Tensor,
    step: StepBuffer,
    hyper: ModelHyperBuffer,
    max_rows: usize,
    x: Tensor,
    y: Tensor,
    z: Vec<Tensor>,
    h: Vec<Tensor>,
    d: Vec<Tensor>,
    dt: Tensor,
    dout: Tensor,
    row_stats: Tensor,
    class_weights: Option<Tensor>,
    plans: HashMap<(PlanKind, usize, u64), Vec<Dispatch>>,
    steps_done: Vec<u64>,
    frozen: Vec<bool>,
}

/// The per-model strides of a group's buffers for batches of up to `max_rows`.
struct Strides {
    /// Per layer: activations (z, h, d) of one model.
    layer: Vec<usize>,
    /// dZᵀ scratch of one model.
    dt: usize,
    /// Row losses and correct flags.
    row_stats: usize,
    /// Norm partials.
    partials: usize,
}

impl Strides {
    fn new(config: &MlpConfig, n: usize, max_rows: usize) -> Self {
        let widest = config.layers.iter().copied().max().unwrap_or(1);
        Strides {
            layer: config.layers.iter().map(|&w| aligned(max_rows * w)).collect(),
            dt: aligned(max_rows * widest),
            row_stats: aligned(2 * max_rows),
            partials: aligned(partial_count(n)),
        }
    }
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
        let rows = max_rows.max(1);
        let s = Strides::new(config, n, rows);
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
            if o.kind.models_entry() != first.kind.models_entry() {
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
        let mut flat = Vec::with_capacity(k * n);
        for p in params {
            if p.len() != n {
                let detail = format!("{} parameters given, layout needs {n}", p.len());
                return Err(Error::Shape { op: OP, detail });
            }
            flat.extend_from_slice(p);
        }
        let max_rows = max_rows.max(1);
        let s = Strides::new(config, n, max_rows);
        let last = config.layers.len() - 1;
        let slots = first.state_slots();
        let mut state = Vec::with_capacity(k * slots * n);
        for o in optimizers {
            state.extend(std::iter::repeat_n(o.initial_state(), slots * n));
        }
        let state = if state.is_empty() {
            Tensor::zeros(gpu, "group optimizer state", &[4])?
        } else {
            Tensor::from_slice(gpu, "group optimizer state", &state, &[state.len()])?
        };
        let mut scale = vec![0.0; k * SMALL];
        scale.iter_mut().step_by(SMALL).for_each(|v| *v = 1.0);
        let out = config.output();
        let per_layer = |name: &str| -> Result<Vec<Tensor>> {
            s.layer.iter().map(|&len| Tensor::zeros(gpu, name, &[k * len])).collect()
        };
        Ok(NetworkGroup {
            config: config.clone(),
            loss,
            optimizers: optimizers.to_vec(),
            params: Tensor::from_slice(gpu, "group params", &flat, &[k * n])?,
            grads: Tensor::zeros(gpu, "group grads", &[k * n])?,
            state,
            best: Tensor::from_slice(gpu, "group best params", &flat, &[k * n])?,
            scale: Tensor::from_slice(gpu, "group gradient scale", &scale, &[k * SMALL])?,
            partials: Tensor::zeros(gpu, "group norm partials", &[k * s.partials])?,
            stats: Tensor::zeros(gpu, "group epoch stats", &[k * SMALL])?,
            step: StepBuffer::new(gpu, &StepScalars::default())?,
            hyper: ModelHyperBuffer::new(gpu)?,
            x: Tensor::zeros(gpu, "batch x", &[max_rows, config.input])?,
            y: Tensor::zeros(gpu, "batch y", &[max_rows, loss.target_cols(out)])?,
            z: per_layer("group pre-activation")?,
            h: per_layer("group activation")?,
            d: per_layer("group dz")?,
            dt: Tensor::zeros(gpu, "group dz transposed", &[k * s.dt])?,
            dout: Tensor::zeros(gpu, "group d output", &[k * s.layer[last]])?,
            row_stats: Tensor::zeros(gpu, "group row stats", &[k * s.row_stats])?,
            max_rows,
            layout,
            class_weights: None,
            plans: HashMap::new(),
            steps_done: vec![0; k],
            frozen: vec![false; k],
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

    /// The largest batch the buffers hold.
    pub fn max_rows(&self) -> usize {
        self.max_rows
    }

    /// Optimizer steps model `m` has taken.
    pub fn steps_done(&self, m: usize) -> u64 {
        self.steps_done[m]
    }

    /// Freezes model `m` (its parameters and optimizer state no longer change) or thaws it.
    pub fn set_frozen(&mut self, m: usize, frozen: bool) {
        self.frozen[m] = frozen;
    }

    /// Weights the cross-entropy by class for every model, as [`Network::set_class_weights`](super::Network).
    pub fn set_class_weights(&mut self, gpu: &Gpu, weights: Option<&[f32]>) -> Result<()> {
        self.class_weights = super::class_weights_tensor(gpu, self.loss, self.config.output(), weights)?;
        self.plans.clear();
        Ok(())
    }

    fn check_batch(&self, data: &DeviceData, offset: usize, rows: usize) -> Result<()> {
        super::check_batch(&self.config, self.loss, self.max_rows, data, offset, rows)
    }

    fn plan(&mut self, gpu: &Gpu, kind: PlanKind, data: &DeviceData, rows: usize) -> Result<&Vec<Dispatch>> {
        let key = (kind, rows, data.id);
        if !self.plans.contains_key(&key) {
            let plan = self.build_plan(gpu, kind, data, rows)?;
            self.plans.insert(key, plan);
        }
        self.plans.get(&key).ok_or_else(|| Error::Device { kind: "internal", message: "plan cache".into() })
    }

    /// Builds the step plan once (compiling its kernels) so the first step does not wait on the compiler.
    pub fn prepare(&mut self, gpu: &Gpu, data: &DeviceData, rows: usize) -> Result<()> {
        let rows = rows.min(data.rows).min(self.max_rows);
        self.check_batch(data, 0, rows)?;
        self.plan(gpu, PlanKind::Train, data, rows)?;
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
        self.plan(gpu, PlanKind::Train, data, rows)?;
        let records: Vec<ModelHyper> = (0..self.len())
            .map(|m| {
                let t = self.steps_done[m] + 1;
                let scalars = self.optimizers[m].step_scalars(t, lrs[m], offset as u32);
                ModelHyper::new(&self.optimizers[m], &scalars, self.frozen[m])
            })
            .collect();
        self.hyper.write(gpu, &records)?;
        self.step.write(gpu, &StepScalars { batch_offset: offset as u32, ..Default::default() });
        for (done, frozen) in self.steps_done.iter_mut().zip(&self.frozen) {
            *done += u64::from(!*frozen);
        }
        let plan = self.plan(gpu, PlanKind::Train, data, rows)?;
        gpu.submit_all(plan);
        Ok(())
    }

    /// Times each launch of a group step on batches of `rows` by running it alone `repeats` times; returns (shader
    /// file, entry point, median milliseconds) in plan order. Diagnostic, as [`Network::profile_step`](super::Network):
    /// it waits after every launch, and repeating the optimizer launch changes the parameters.
    pub fn profile_step(
        &mut self,
        gpu: &Gpu,
        data: &DeviceData,
        rows: usize,
        repeats: usize,
    ) -> Result<Vec<(String, &'static str, f64)>> {
        self.check_batch(data, 0, rows)?;
        let lrs: Vec<f64> = self.optimizers.iter().map(|o| o.lr).collect();
        self.train_step(gpu, data, 0, rows, &lrs)?;
        let plan = self.plan(gpu, PlanKind::Train, data, rows)?;
        gpu.time_each(plan, repeats)
    }

    /// Each model's mean loss (and accuracy for classification) over `data`, in batches of the group's largest
    /// size; the training statistics must have been taken first.
    pub fn evaluate(&mut self, gpu: &Gpu, data: &DeviceData) -> Result<Vec<[f32; 3]>> {
        data.reset_order(gpu)?;
        let b = self.max_rows;
        let mut offset = 0;
        while offset < data.rows() {
            let rows = b.min(data.rows() - offset);
            self.check_batch(data, offset, rows)?;
            self.step.write(gpu, &StepScalars { batch_offset: offset as u32, ..Default::default() });
            let plan = self.plan(gpu, PlanKind::Evaluate, data, rows)?;
            gpu.submit_all(plan);
            offset += rows;
        }
        self.take_stats(gpu)
    }

    /// Reads and resets every model's accumulated [loss sum, correct sum, sample count] (one read-back).
    pub fn take_stats(&self, gpu: &Gpu) -> Result<Vec<[f32; 3]>> {
        let all = self.stats.read(gpu)?;
        self.stats.write(gpu, &vec![0.0; all.len()])?;
        Ok(all.chunks(SMALL).map(|s| [s[0], s[1], s[2]]).collect())
    }

    /// Model `m`'s flat parameters (waits for queued steps).
    pub fn params(&self, gpu: &Gpu, m: usize) -> Result<Vec<f32>> {
        let n = self.layout.len;
        self.params.read_range(gpu, m * n, n)
    }

    /// Copies model `m`'s parameters aside on the device (early stopping's best weights).
    pub fn remember_best(&self, gpu: &Gpu, m: usize) {
        self.copy(gpu, &self.params, &self.best, m);
    }

    /// Copies model `m`'s remembered parameters back.
    pub fn restore_best(&self, gpu: &Gpu, m: usize) {
        self.copy(gpu, &self.best, &self.params, m);
    }

    fn copy(&self, gpu: &Gpu, from: &Tensor, to: &Tensor, m: usize) {
        let bytes = (self.layout.len * 4) as u64;
        let mut enc =
            gpu.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("copy model") });
        enc.copy_buffer_to_buffer(from.buffer(), m as u64 * bytes, to.buffer(), m as u64 * bytes, bytes);
        gpu.queue().submit(Some(enc.finish()));
    }

    /// One step's launches for batches of `b` rows: gather, forward, loss and statistics, and unless evaluating,
    /// backward and the optimizer (the single network's plan, each launch for all K models).
    fn build_plan(&self, gpu: &Gpu, kind: PlanKind, data: &DeviceData, b: usize) -> Result<Vec<Dispatch>> {
        let s = Strides::new(&self.config, self.layout.len, self.max_rows);
        let mut plan = self.gather_batch(gpu, data, b)?;
        self.forward(gpu, &s, b, &mut plan)?;
        self.loss_and_statistics(gpu, &s, b, &mut plan)?;
        if kind == PlanKind::Evaluate {
            return Ok(plan);
        }
        self.backward(gpu, &s, b, &mut plan)?;
        self.update(gpu, &s, &mut plan)?;
        Ok(plan)
    }

    /// The batch's features and targets, gathered once for every model.
    fn gather_batch(&self, gpu: &Gpu, data: &DeviceData, b: usize) -> Result<Vec<Dispatch>> {
        let (input, tcols) = (self.config.input, self.loss.target_cols(self.config.output()));
        let order = data.order.view();
        let mut plan = Vec::new();
        for c in &data.chunks {
            let (rows, start) = (c.rows, c.row_start);
            plan.push(gather_rows(gpu, &self.step, order, c.features.view(), self.x.view(), b, input, rows, start)?);
            plan.push(gather_rows(gpu, &self.step, order, c.targets.view(), self.y.view(), b, tcols, rows, start)?);
        }
        Ok(plan)
    }

    /// Layer i's input and its per-model stride: the shared batch for the first layer (stride 0), the layer
    /// below's activations else.
    fn layer_input(&self, s: &Strides, i: usize) -> (View<'_>, usize) {
        if i == 0 {
            (self.x.view(), 0)
        } else {
            (self.h[i - 1].view(), s.layer[i - 1])
        }
    }

    /// Model-batched span of a [K × n] buffer from `offset`, `one` floats per model: the view a launch binds.
    fn span<'t>(&self, t: &'t Tensor, offset: usize, one: usize) -> View<'t> {
        t.slice(offset, (self.len() - 1) * self.layout.len + one)
    }

    fn forward(&self, gpu: &Gpu, s: &Strides, b: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        let (k, n, last) = (self.len(), self.layout.len, self.config.layers.len() - 1);
        for (i, l) in self.layout.layers.iter().enumerate() {
            let (a, a_stride) = self.layer_input(s, i);
            let sh = MatmulShape { m: b, n: l.outputs, k: l.inputs, trans_a: false, trans_b: true };
            let strides = ModelStrides { models: k, a: a_stride, b: n, c: s.layer[i], bias: n };
            let w = self.span(&self.params, l.weight, l.outputs * l.inputs);
            let bias = self.span(&self.params, l.bias, l.outputs);
            let act = self.config.activation_of(i);
            let z = keeps_pre_activation(act, i == last).then(|| self.z[i].view());
            plan.push(matmul_forward_models(gpu, &sh, &strides, a, w, Some(bias), act, self.h[i].view(), z)?);
        }
        Ok(())
    }

    /// The gradient buffer the loss writes: d of the output layer, or dout when an output activation follows.
    fn dlogits(&self) -> &Tensor {
        if self.config.output_activation == Activation::Identity {
            &self.d[self.config.layers.len() - 1]
        } else {
            &self.dout
        }
    }

    fn loss_and_statistics(&self, gpu: &Gpu, s: &Strides, b: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        let (k, last, out) = (self.len(), self.config.layers.len() - 1, self.config.output());
        // dout, z, h and d of the output layer share one stride.
        let per_model = Models { count: k, input: s.layer[last], output: s.row_stats };
        let (logits, dl, rs, y) = (self.h[last].view(), self.dlogits().view(), self.row_stats.view(), self.y.view());
        plan.push(match &self.class_weights {
            Some(w) => weighted_cross_entropy_models(gpu, logits, y, w.view(), dl, rs, b, out, &per_model)?,
            None => loss_models(gpu, self.loss, logits, y, dl, rs, b, out, &per_model)?,
        });
        let per_model = Models { count: k, input: s.row_stats, output: SMALL };
        plan.push(stats_accumulate_models(gpu, rs, self.stats.view(), b, &per_model)?);
        Ok(())
    }

    fn backward(&self, gpu: &Gpu, s: &Strides, b: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        let (k, n, last) = (self.len(), self.layout.len, self.config.layers.len() - 1);
        let out_act = self.config.output_activation;
        if out_act != Activation::Identity {
            // Element-wise, so one launch over every model's [B, out] (and the padding between them).
            let len = k * s.layer[last];
            let (z, dout, d) = (self.z[last].slice(0, len), self.dout.slice(0, len), self.d[last].slice(0, len));
            plan.push(activation_backward(gpu, z, dout, out_act, d, len)?);
        }
        for (i, l) in self.layout.layers.iter().enumerate().rev() {
            self.weight_gradient(gpu, s, b, i, plan)?;
            let dz = self.d[i].view();
            let per_model = Models { count: k, input: s.layer[i], output: n };
            let db = self.span(&self.grads, l.bias, l.outputs);
            plan.push(column_sum_models(gpu, dz, db, b, l.outputs, &per_model)?);
            if i > 0 {
                // dZ_{i−1} = (dZ_i·W_i) ⊙ act'(Z_{i−1}), as the single network does.
                let sx = MatmulShape { m: b, n: l.inputs, k: l.outputs, trans_a: false, trans_b: false };
                let strides = ModelStrides { models: k, a: s.layer[i], b: n, c: s.layer[i - 1], bias: 0 };
                let w = self.span(&self.params, l.weight, l.outputs * l.inputs);
                let act = self.config.activation_of(i - 1);
                let aux = if derivative_from_output(act) { self.h[i - 1].view() } else { self.z[i - 1].view() };
                let c = self.d[i - 1].view();
                plan.push(matmul_activation_backward_models(gpu, &sx, &strides, dz, w, aux, act, c)?);
            }
        }
        Ok(())
    }

    /// dW_i = dZ_iᵀ·X_i: as A·B on a transposed dZ where the single network transposes it too, else as Aᵀ·B.
    fn weight_gradient(&self, gpu: &Gpu, s: &Strides, b: usize, i: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        let (k, n, l) = (self.len(), self.layout.len, &self.layout.layers[i]);
        let (input, input_stride) = self.layer_input(s, i);
        let dw = self.span(&self.grads, l.weight, l.outputs * l.inputs);
        let dz = self.d[i].view();
        let (a, a_stride, trans_a) = if transposes_dz(gpu, b, l.outputs, l.inputs) && texture::fits(gpu, k * s.layer[i])
        {
            let per_model = Models { count: k, input: s.layer[i], output: s.dt };
            plan.push(transpose_texture_models(gpu, dz, self.dt.view(), b, l.outputs, &per_model)?);
            (self.dt.view(), s.dt, false)
        } else {
            (dz, s.layer[i], true)
        };
        let sw = MatmulShape { m: l.outputs, n: l.inputs, k: b, trans_a, trans_b: false };
        let strides = ModelStrides { models: k, a: a_stride, b: input_stride, c: n, bias: 0 };
        plan.push(matmul_forward_models(gpu, &sw, &strides, a, input, None, Activation::Identity, dw, None)?);
        Ok(())
    }

    /// Clipping (per model that clips, on its own slices), then one optimizer launch for all K.
    fn update(&self, gpu: &Gpu, s: &Strides, plan: &mut Vec<Dispatch>) -> Result<()> {
        let n = self.layout.len;
        for (m, o) in self.optimizers.iter().enumerate() {
            if let Some(max_norm) = o.clip_norm {
                let partials = self.partials.slice(m * s.partials, partial_count(n));
                plan.push(sum_squares_partial(gpu, self.grads.slice(m * n, n), partials, n)?);
                let scale = self.scale.slice(m * SMALL, 4);
                plan.push(clip_scale(gpu, partials, scale, partial_count(n), max_norm as f32)?);
            }
        }
        let (hyper, scale, grads, params, state) =
            (&self.hyper, self.scale.view(), self.grads.view(), self.params.view(), self.state.view());
        plan.push(optimizer_update_models(gpu, &self.optimizers, hyper, scale, SMALL, grads, params, state, n)?);
        Ok(())
    }
}
