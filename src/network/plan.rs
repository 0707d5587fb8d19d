//! The dispatch list of a training step (or a gradient, an evaluation or a prediction) of K models, built once per
//! batch size and cached: every matmul and the optimizer are one launch for all K models (the model index is the
//! launch's z; the first layer's input, the batch every model sees, is read once), and so are the loss, its
//! statistics, the bias-gradient column sums and the texture family's dZ transposes. The first layer's forward
//! product and weight gradient, whose input every model shares, are one wide product each where a generated
//! variant covers the shapes (`ops::matmul_wide`), K slices of a batched launch otherwise. Gradient clipping (each
//! model's own norm and max_norm) runs once per model that clips, on that model's slices. With K = 1 each launch
//! is the ordinary single-model launch.

use super::buffers::{PlanKind, Strides, SMALL};
use super::NetworkGroup;
use crate::data::device::DeviceData;
use crate::error::{Error, Result};
use crate::gpu::{Gpu, KernelFamily};
use crate::kernel::{elide_repeated_copies, Dispatch};
use crate::matmul_wgsl::WideAxis;
use crate::ops::activation::{activation_backward, Activation};
use crate::ops::gather::gather_rows;
use crate::ops::loss::{loss_models, weighted_cross_entropy_models};
use crate::ops::matmul::{matmul_activation_backward_models, matmul_forward_models, MatmulShape, ModelStrides};
use crate::ops::matmul_wide::matmul_forward_wide;
use crate::ops::optim::{optimizer_update_models, optimizer_update_models_skipping};
use crate::ops::reduce::{clip_scale, column_sum_models, partial_count, stats_accumulate_models, sum_squares_partial};
use crate::ops::transpose::{transposable, transpose_texture_models};
use crate::ops::weight_l2::weight_l2;
use crate::ops::Models;
use crate::tensor::{Tensor, View};
use crate::texture;

/// Whether a hidden layer's activation derivative can be read off its output instead of its pre-activation, so the
/// forward pass need not store z: identity (no derivative) and ReLU (h > 0 exactly where z > 0).
pub(super) fn derivative_from_output(act: Activation) -> bool {
    matches!(act, Activation::Identity | Activation::Relu)
}

/// Whether the forward pass stores a layer's pre-activation z: the backward pass needs it for the output layer's
/// activation (when there is one) and for hidden layers whose derivative cannot come from the output.
pub(super) fn keeps_pre_activation(act: Activation, output_layer: bool) -> bool {
    if output_layer {
        act != Activation::Identity
    } else {
        !derivative_from_output(act)
    }
}

impl NetworkGroup {
    pub(super) fn plan(&mut self, gpu: &Gpu, kind: PlanKind, data: &DeviceData, rows: usize) -> Result<&Vec<Dispatch>> {
        let key = (kind, rows, data.id);
        if !self.plans.lists.contains_key(&key) {
            let mut plan = self.build_plan(gpu, kind, data, rows)?;
            elide_repeated_copies(gpu, &mut plan)?;
            self.plans.lists.insert(key, plan);
        }
        self.plans.lists.get(&key).ok_or_else(|| Error::Device { kind: "internal", message: "plan cache".into() })
    }

    /// The dispatches of one step of `kind` on batches of `b` rows: gather the batch, forward, then (unless
    /// predicting) loss and statistics, then (training and gradients) backward, then (training) the update.
    fn build_plan(&self, gpu: &Gpu, kind: PlanKind, data: &DeviceData, b: usize) -> Result<Vec<Dispatch>> {
        if self.precision() == crate::precision::Precision::F16 {
            return self.build_plan_f16(gpu, kind, data, b);
        }
        let mut plan = self.gather_batch(gpu, kind, data, b)?;
        self.forward(gpu, b, &mut plan)?;
        if kind == PlanKind::Predict {
            return Ok(plan);
        }
        self.loss_and_statistics(gpu, b, &mut plan)?;
        if kind == PlanKind::Evaluate {
            return Ok(plan);
        }
        // Loss scaling applies to training steps; a gradient is computed unscaled.
        let scaled = kind == PlanKind::Train && self.scales_loss();
        if scaled {
            self.scale_loss_gradient(gpu, b, &mut plan)?;
        }
        self.backward(gpu, b, !scaled, &mut plan)?;
        if kind == PlanKind::Gradient {
            return Ok(plan);
        }
        if scaled {
            // As torch: unscale, then add the penalty and clip the true gradients.
            self.unscale_gradients(gpu, &mut plan)?;
            self.weight_l2_all(gpu, b, &mut plan)?;
        }
        self.update(gpu, scaled, &mut plan)?;
        Ok(plan)
    }

    pub(super) fn strides(&self) -> &Strides {
        &self.batch.strides
    }

    /// The batch's features (and targets, unless predicting) gathered once for every model from every chunk of the
    /// data set into x and y, through the epoch order, at the step's batch offset.
    pub(super) fn gather_batch(&self, gpu: &Gpu, kind: PlanKind, data: &DeviceData, b: usize) -> Result<Vec<Dispatch>> {
        let (input, tcols) = (self.config.input, self.loss.target_cols(self.config.output()));
        let (step, order, x, y) = (&self.parameters.step, data.order.view(), self.batch.x.view(), self.batch.y.view());
        let mut plan = Vec::new();
        for c in &data.chunks {
            let (rows, start) = (c.rows, c.row_start);
            plan.push(gather_rows(gpu, step, order, c.features.view(), x, b, input, rows, start)?);
            if kind != PlanKind::Predict {
                plan.push(gather_rows(gpu, step, order, c.targets.view(), y, b, tcols, rows, start)?);
            }
        }
        Ok(plan)
    }

    /// Layer i's input and its per-model stride: the shared batch for the first layer (stride 0), the layer
    /// below's activations else.
    fn layer_input(&self, i: usize) -> (View<'_>, usize) {
        if i == 0 {
            (self.batch.x.view(), 0)
        } else {
            (self.batch.h[i - 1].view(), self.strides().layer[i - 1])
        }
    }

    /// Model-batched span of a [K × n] buffer from `offset`, `one` floats per model: the view a launch binds.
    pub(super) fn span<'t>(&self, t: &'t Tensor, offset: usize, one: usize) -> View<'t> {
        t.slice(offset, (self.len() - 1) * self.layout.len + one)
    }

    /// h_i = act_i(h_{i−1}·W_iᵀ + b_i) layer by layer, storing z_i where the backward pass needs it.
    fn forward(&self, gpu: &Gpu, b: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        let (k, n, last) = (self.len(), self.layout.len, self.config.layers.len() - 1);
        let params = &self.parameters.params;
        for (i, l) in self.layout.layers.iter().enumerate() {
            let (a, a_stride) = self.layer_input(i);
            let sh = MatmulShape { m: b, n: l.outputs, k: l.inputs, trans_a: false, trans_b: true };
            let strides = ModelStrides { models: k, a: a_stride, b: n, c: self.strides().layer[i], bias: n };
            let w = self.span(params, l.weight, l.outputs * l.inputs);
            let bias = self.span(params, l.bias, l.outputs);
            let act = self.config.activation_of(i);
            let z = keeps_pre_activation(act, i == last).then(|| self.batch.z[i].view());
            let h = self.batch.h[i].view();
            // The first layer's K products share their input: one product K·H wide where a variant covers it.
            let wide = match i {
                0 => matmul_forward_wide(gpu, &sh, WideAxis::Cols, &strides, a, w, Some(bias), act, h, z)?,
                _ => None,
            };
            match wide {
                Some(d) => plan.push(d),
                None => plan.push(matmul_forward_models(gpu, &sh, &strides, a, w, Some(bias), act, h, z)?),
            }
        }
        Ok(())
    }

    /// The gradient buffer the loss writes: d of the output layer, or dout when an output activation follows.
    pub(super) fn dlogits(&self) -> &Tensor {
        if self.config.output_activation == Activation::Identity {
            &self.batch.d[self.config.layers.len() - 1]
        } else {
            &self.batch.dout
        }
    }

    /// The loss and its gradient with respect to the logits, and the per-row statistics added to the epoch's.
    pub(super) fn loss_and_statistics(&self, gpu: &Gpu, b: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        let (k, last, out, s) = (self.len(), self.config.layers.len() - 1, self.config.output(), self.strides());
        // dout, z, h and d of the output layer share one stride.
        let per_model = Models { count: k, input: s.layer[last], output: s.row_stats };
        let (logits, dl, y) = (self.batch.h[last].view(), self.dlogits().view(), self.batch.y.view());
        let rs = self.batch.row_stats.view();
        plan.push(match &self.class_weights {
            Some(w) => weighted_cross_entropy_models(gpu, logits, y, w.view(), dl, rs, b, out, &per_model)?,
            None => loss_models(gpu, self.loss, logits, y, dl, rs, b, out, &per_model)?,
        });
        let per_model = Models { count: k, input: s.row_stats, output: SMALL };
        plan.push(stats_accumulate_models(gpu, rs, self.batch.stats.view(), b, &per_model)?);
        Ok(())
    }

    /// The gradients of every layer, last first: through the output activation, then dW (with the weights-only L2
    /// term when `with_l2`), db and dZ of the layer below.
    fn backward(&self, gpu: &Gpu, b: usize, with_l2: bool, plan: &mut Vec<Dispatch>) -> Result<()> {
        let (k, n, s) = (self.len(), self.layout.len, self.strides());
        self.output_activation_backward(gpu, b, plan)?;
        let l2 = if with_l2 { self.weight_l2_coefficients(gpu, b)? } else { None };
        for (i, l) in self.layout.layers.iter().enumerate().rev() {
            self.weight_gradient(gpu, b, i, plan)?;
            if let Some(coef) = &l2 {
                self.weight_l2_layer(gpu, coef, i, plan)?;
            }
            let dz = self.batch.d[i].view();
            let per_model = Models { count: k, input: s.layer[i], output: n };
            let db = self.span(&self.parameters.grads, l.bias, l.outputs);
            plan.push(column_sum_models(gpu, dz, db, b, l.outputs, &per_model)?);
            if i > 0 {
                // dZ_{i−1} = (dZ_i·W_i) ⊙ act'(Z_{i−1}), the derivative folded into the matmul's epilogue.
                let sx = MatmulShape { m: b, n: l.inputs, k: l.outputs, trans_a: false, trans_b: false };
                let strides = ModelStrides { models: k, a: s.layer[i], b: n, c: s.layer[i - 1], bias: 0 };
                let w = self.span(&self.parameters.params, l.weight, l.outputs * l.inputs);
                let act = self.config.activation_of(i - 1);
                let (h, z) = (&self.batch.h[i - 1], &self.batch.z[i - 1]);
                let aux = if derivative_from_output(act) { h.view() } else { z.view() };
                let c = self.batch.d[i - 1].view();
                plan.push(matmul_activation_backward_models(gpu, &sx, &strides, dz, w, aux, act, c)?);
            }
        }
        Ok(())
    }

    /// Layer i's weights-only L2 gradient term of every model, coefficients `coef`.
    pub(super) fn weight_l2_layer(&self, gpu: &Gpu, coef: &Tensor, i: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        let (l, p) = (&self.layout.layers[i], &self.parameters);
        let len = l.outputs * l.inputs;
        let (w, dw) = (self.span(&p.params, l.weight, len), self.span(&p.grads, l.weight, len));
        plan.push(weight_l2(gpu, coef.view(), w, dw, len, self.layout.len, self.len())?);
        Ok(())
    }

    /// Every layer's weights-only L2 gradient term, last layer first (none when no model has a penalty).
    pub(super) fn weight_l2_all(&self, gpu: &Gpu, b: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        if let Some(coef) = self.weight_l2_coefficients(gpu, b)? {
            for i in (0..self.layout.layers.len()).rev() {
                self.weight_l2_layer(gpu, &coef, i, plan)?;
            }
        }
        Ok(())
    }

    /// The loss gradient through the output activation, when there is one: d = dout ⊙ act'(z).
    pub(super) fn output_activation_backward(&self, gpu: &Gpu, b: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        let (k, last, s) = (self.len(), self.config.layers.len() - 1, self.strides());
        let out_act = self.config.output_activation;
        if out_act != Activation::Identity {
            // Element-wise, so one launch over every model's [B, out] (and the padding between them).
            let len = (k - 1) * s.layer[last] + b * self.config.output();
            let (z, dout, d) =
                (self.batch.z[last].slice(0, len), self.batch.dout.slice(0, len), self.batch.d[last].slice(0, len));
            plan.push(activation_backward(gpu, z, dout, out_act, d, len)?);
        }
        Ok(())
    }

    /// Each model's coefficient alpha_m / b of the weights-only L2 gradient on batches of `b` rows, on the device
    /// (None when no model has a penalty). Built with the plan, which is cached per batch size.
    pub(super) fn weight_l2_coefficients(&self, gpu: &Gpu, b: usize) -> Result<Option<Tensor>> {
        if self.weight_l2.iter().all(|&a| a == 0.0) {
            return Ok(None);
        }
        let coef: Vec<f32> = self.weight_l2.iter().map(|&a| (a / b as f64) as f32).collect();
        Ok(Some(Tensor::from_slice(gpu, "weight L2 coefficients", &coef, &[coef.len()])?))
    }

    /// dW_i = dZ_iᵀ·X_i: dZ is stored [B, out] = [K, M], so A is transposed; the texture family transposes it first
    /// where it can, because its A·B kernel is much faster than its Aᵀ·B one.
    fn weight_gradient(&self, gpu: &Gpu, b: usize, i: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        let (k, n, l, s) = (self.len(), self.layout.len, &self.layout.layers[i], self.strides());
        let (input, input_stride) = self.layer_input(i);
        let dw = self.span(&self.parameters.grads, l.weight, l.outputs * l.inputs);
        let dz = self.batch.d[i].view();
        let transposes = transposes_dz(gpu, b, l.outputs, l.inputs) && texture::fits(gpu, k * s.layer[i]);
        let (a, a_stride, trans_a) = if transposes {
            let per_model = Models { count: k, input: s.layer[i], output: s.dt };
            plan.push(transpose_texture_models(gpu, dz, self.batch.dt.view(), b, l.outputs, &per_model)?);
            (self.batch.dt.view(), s.dt, false)
        } else {
            (dz, s.layer[i], true)
        };
        let sw = MatmulShape { m: l.outputs, n: l.inputs, k: b, trans_a, trans_b: false };
        let strides = ModelStrides { models: k, a: a_stride, b: input_stride, c: n, bias: 0 };
        let ident = Activation::Identity;
        // The first layer's K weight gradients share X: one product K·H tall where a variant covers it.
        let wide = match i {
            0 => matmul_forward_wide(gpu, &sw, WideAxis::Rows, &strides, a, input, None, ident, dw, None)?,
            _ => None,
        };
        match wide {
            Some(d) => plan.push(d),
            None => plan.push(matmul_forward_models(gpu, &sw, &strides, a, input, None, ident, dw, None)?),
        }
        Ok(())
    }

    /// Clipping (per model that clips, on its own slices), then one optimizer launch for all K; a loss-scaled
    /// step skips the models whose gradients were not all finite, then updates the scalers.
    pub(super) fn update(&self, gpu: &Gpu, scaled: bool, plan: &mut Vec<Dispatch>) -> Result<()> {
        let (n, p) = (self.layout.len, &self.parameters);
        for (m, o) in self.optimizers.iter().enumerate() {
            if let Some(max_norm) = o.clip_norm {
                let partials = p.partials.slice(m * self.strides().partials, partial_count(n));
                plan.push(sum_squares_partial(gpu, p.grads.slice(m * n, n), partials, n)?);
                let scale = p.scale.slice(m * SMALL, 4);
                plan.push(clip_scale(gpu, partials, scale, partial_count(n), max_norm as f32)?);
            }
        }
        let (scale, grads, params, state) = (p.scale.view(), p.grads.view(), p.params.view(), p.state.view());
        let (cfgs, hyper) = (&self.optimizers, &p.hyper);
        if scaled {
            plan.push(optimizer_update_models_skipping(gpu, cfgs, hyper, scale, SMALL, grads, params, state, n)?);
            return self.update_loss_scale(gpu, plan);
        }
        plan.push(optimizer_update_models(gpu, cfgs, hyper, scale, SMALL, grads, params, state, n)?);
        Ok(())
    }
}

/// Whether a layer's weight gradient goes through dZᵀ: on the texture family, where the dimensions are multiples
/// of 4, its A·B kernel is much faster than its Aᵀ·B one.
pub(super) fn transposes_dz(gpu: &Gpu, b: usize, outputs: usize, inputs: usize) -> bool {
    gpu.kernel_family() == KernelFamily::Texture
        && transposable(b, outputs)
        && inputs % 4 == 0
        && texture::fits(gpu, b * outputs)
}

/// The three products of a layer of `inputs` → `outputs` on batches of `b` rows, as a training step launches them:
/// the forward X·Wᵀ, the weight gradient dZᵀ·X (or dZᵀ transposed first, then A·B) and the input gradient dZ·W.
pub fn layer_matmuls(gpu: &Gpu, b: usize, inputs: usize, outputs: usize) -> [MatmulShape; 3] {
    let trans_a = !transposes_dz(gpu, b, outputs, inputs);
    [
        MatmulShape { m: b, n: outputs, k: inputs, trans_a: false, trans_b: true },
        MatmulShape { m: outputs, n: inputs, k: b, trans_a, trans_b: false },
        MatmulShape { m: b, n: inputs, k: outputs, trans_a: false, trans_b: false },
    ]
}
