//! The dispatch list of a half-precision step: the activations, their gradients and the matmul operands in f16
//! (products accumulated in f32), the master weights, weight gradients and optimizer state in f32.
//!
//! A step casts the f32 weights to their f16 copy and gathers the batch into f16, runs the forward matmuls in f16
//! (the f32 biases added to the f32 accumulator), widens the logits to f32 for the loss and its statistics (so the
//! loss kernels and their reduction order are f32's), multiplies the loss gradient by the loss scale, rounds it to
//! f16, and runs the backward matmuls on f16 operands: the weight gradients dZᵀ·X stored in f32, the input
//! gradients (dZ·W) ⊙ act′ in f16; each layer's bias gradient sums its dZ in f32 (the output layer's from the f32
//! loss gradient). The unscaling, clipping
//! and optimizer are f32's, on the f32 gradients (see precision.rs for the loss scaling).

use super::buffers::{PlanKind, Strides};
use super::plan::keeps_pre_activation;
use super::NetworkGroup;
use crate::data::device::DeviceData;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
use crate::matmul_wgsl::{Elements, Pass};
use crate::model::MlpConfig;
use crate::ops::activation::Activation;
use crate::ops::cast_f16::{cast, CastSide};
use crate::ops::gather::gather_rows;
use crate::ops::half::{column_sum_f16, gather_rows_f16};
use crate::ops::matmul::{matmul_elements, MatmulOperands, MatmulShape, ModelStrides};
use crate::ops::reduce::column_sum_models;
use crate::ops::Models;
use crate::tensor::{Tensor, View};

/// The f16 tensors of a half-precision group (each an f32 tensor of half as many 4-byte words): the batch, every
/// layer's activation, pre-activation and gradient (model strides as the f32 ones, in f16 elements), and the f16
/// copy of the weights, model m's layer weights at f16 element 2·(m·n + weight offset), so each layer's binding
/// starts where its f32 weights do (the binding offsets' alignment).
#[derive(Debug)]
pub(super) struct HalfBuffers {
    x: Tensor,
    h: Vec<Tensor>,
    z: Vec<Tensor>,
    d: Vec<Tensor>,
    weights: Tensor,
}

/// Words of an f32 tensor holding `halfs` f16 values, whole vec4s of f16s.
fn words(halfs: usize) -> usize {
    halfs.div_ceil(8).max(1) * 4
}

impl HalfBuffers {
    pub fn new(gpu: &Gpu, config: &MlpConfig, s: &Strides, k: usize, n: usize, max_rows: usize) -> Result<Self> {
        let per_layer = |name: &str| -> Result<Vec<Tensor>> {
            s.layer.iter().map(|&len| Tensor::zeros(gpu, name, &[words(k * len)])).collect()
        };
        Ok(HalfBuffers {
            x: Tensor::zeros(gpu, "batch x f16", &[words(max_rows * config.input)])?,
            h: per_layer("activation f16")?,
            z: per_layer("pre-activation f16")?,
            d: per_layer("dz f16")?,
            weights: Tensor::zeros(gpu, "weights f16", &[k * n])?,
        })
    }
}

impl NetworkGroup {
    fn half(&self) -> Result<&HalfBuffers> {
        self.mixed.half.as_ref().ok_or_else(|| Error::Device { kind: "internal", message: "f16 buffers".into() })
    }

    /// The half-precision form of `build_plan`: see the module's description.
    pub(super) fn build_plan_f16(
        &self,
        gpu: &Gpu,
        kind: PlanKind,
        data: &DeviceData,
        b: usize,
    ) -> Result<Vec<Dispatch>> {
        let mut plan = self.gather_batch_f16(gpu, kind, data, b)?;
        self.refresh_half_weights(gpu, &mut plan)?;
        self.forward_f16(gpu, b, &mut plan)?;
        self.widen_outputs(gpu, b, &mut plan)?;
        if kind == PlanKind::Predict {
            return Ok(plan);
        }
        self.loss_and_statistics(gpu, b, &mut plan)?;
        if kind == PlanKind::Evaluate {
            return Ok(plan);
        }
        let scaled = kind == PlanKind::Train && self.scales_loss();
        if scaled {
            self.scale_loss_gradient(gpu, b, &mut plan)?;
        }
        self.output_activation_backward(gpu, b, &mut plan)?;
        self.backward_f16(gpu, b, &mut plan)?;
        if !scaled {
            self.weight_l2_all(gpu, b, &mut plan)?;
        }
        if kind == PlanKind::Gradient {
            return Ok(plan);
        }
        if scaled {
            self.unscale_gradients(gpu, &mut plan)?;
            self.weight_l2_all(gpu, b, &mut plan)?;
        }
        self.update(gpu, scaled, &mut plan)?;
        Ok(plan)
    }

    /// The batch's features gathered (and rounded) straight into the f16 x, and its targets (unless predicting) into
    /// the f32 y, from every chunk of the data set, as `gather_batch` does for f32.
    fn gather_batch_f16(&self, gpu: &Gpu, kind: PlanKind, data: &DeviceData, b: usize) -> Result<Vec<Dispatch>> {
        let (input, tcols) = (self.config.input, self.loss.target_cols(self.config.output()));
        let (step, order, x, y) =
            (&self.parameters.step, data.order.view(), self.half()?.x.view(), self.batch.y.view());
        let mut plan = Vec::new();
        for c in &data.chunks {
            let (rows, start) = (c.rows, c.row_start);
            plan.push(gather_rows_f16(gpu, step, order, c.features.view(), x, b, input, rows, start)?);
            if kind != PlanKind::Predict {
                plan.push(gather_rows(gpu, step, order, c.targets.view(), y, b, tcols, rows, start)?);
            }
        }
        Ok(plan)
    }

    /// Every layer's f32 weights rounded into the f16 copy the matmuls read (the biases stay f32).
    fn refresh_half_weights(&self, gpu: &Gpu, plan: &mut Vec<Dispatch>) -> Result<()> {
        let (k, n, half) = (self.len(), self.layout.len, self.half()?);
        for l in &self.layout.layers {
            let src = CastSide { view: self.parameters.params.view(), offset: l.weight, stride: n };
            let dst = CastSide { view: half.weights.view(), offset: 2 * l.weight, stride: 2 * n };
            plan.push(cast(gpu, true, src, dst, l.outputs * l.inputs, k)?);
        }
        Ok(())
    }

    /// Layer i's f16 weights of every model: the view and the distance between models in f16 elements.
    fn half_weights(&self, i: usize) -> Result<(View<'_>, usize)> {
        let (k, n, l) = (self.len(), self.layout.len, &self.layout.layers[i]);
        let len = (k - 1) * n + (l.outputs * l.inputs).div_ceil(2);
        Ok((self.half()?.weights.slice(l.weight, len), 2 * n))
    }

    /// Layer i's f16 input and its per-model stride: the shared batch for the first layer (stride 0).
    fn half_input(&self, i: usize) -> Result<(View<'_>, usize)> {
        let half = self.half()?;
        Ok(if i == 0 { (half.x.view(), 0) } else { (half.h[i - 1].view(), self.strides().layer[i - 1]) })
    }

    /// h_i = act_i(h_{i−1}·W_iᵀ + b_i) in f16 (f32 accumulation and bias), storing z_i where needed.
    fn forward_f16(&self, gpu: &Gpu, b: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        let (k, n, last, half) = (self.len(), self.layout.len, self.config.layers.len() - 1, self.half()?);
        for (i, l) in self.layout.layers.iter().enumerate() {
            let ((a, a_stride), (w, w_stride)) = (self.half_input(i)?, self.half_weights(i)?);
            let sh = MatmulShape { m: b, n: l.outputs, k: l.inputs, trans_a: false, trans_b: true };
            let strides = ModelStrides { models: k, a: a_stride, b: w_stride, c: self.strides().layer[i], bias: n };
            let act = self.config.activation_of(i);
            let z = keeps_pre_activation(act, i == last).then(|| half.z[i].view());
            let bias = Some(self.span(&self.parameters.params, l.bias, l.outputs));
            let ops = MatmulOperands { a, b: w, bias, aux: None, c: half.h[i].view(), z };
            plan.push(matmul_elements(gpu, &sh, Pass::Forward, act, &ops, &strides, Elements::F16)?);
        }
        Ok(())
    }

    /// `len` elements of f16 `src` widened into the same elements of f32 `dst` (every model's span at once).
    fn widen(&self, gpu: &Gpu, src: &Tensor, dst: &Tensor, len: usize) -> Result<Dispatch> {
        let (s, d) =
            (CastSide { view: src.view(), offset: 0, stride: 0 }, CastSide { view: dst.view(), offset: 0, stride: 0 });
        cast(gpu, false, s, d, len, 1)
    }

    /// The output layer's h (and z, where the output activation's derivative needs it) widened to f32, where the
    /// loss, the statistics and predictions read them.
    fn widen_outputs(&self, gpu: &Gpu, b: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        let (last, half) = (self.config.layers.len() - 1, self.half()?);
        let len = (self.len() - 1) * self.strides().layer[last] + b * self.config.output();
        plan.push(self.widen(gpu, &half.h[last], &self.batch.h[last], len)?);
        if keeps_pre_activation(self.config.output_activation, true) {
            plan.push(self.widen(gpu, &half.z[last], &self.batch.z[last], len)?);
        }
        Ok(())
    }

    /// The gradients of every layer, last first, from the f32 loss gradient d of the output layer (scaled): dZ
    /// rounded to f16, dW = dZᵀ·X (f16 operands, f32 result), db the column sums of dZ in f32, and the layer
    /// below's dZ = (dZ·W) ⊙ act′ in f16.
    fn backward_f16(&self, gpu: &Gpu, b: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        let (k, n, last, s, half) =
            (self.len(), self.layout.len, self.config.layers.len() - 1, self.strides(), self.half()?);
        let grads = &self.parameters.grads;
        for (i, l) in self.layout.layers.iter().enumerate().rev() {
            let per_model = Models { count: k, input: s.layer[i], output: n };
            let db = self.span(grads, l.bias, l.outputs);
            if i == last {
                // The loss gradient is f32: its column sums come from it, then it is rounded for the matmuls.
                plan.push(column_sum_models(gpu, self.batch.d[i].view(), db, b, l.outputs, &per_model)?);
                let len = (k - 1) * s.layer[i] + b * l.outputs;
                let src = CastSide { view: self.batch.d[i].view(), offset: 0, stride: 0 };
                plan.push(cast(gpu, true, src, CastSide { view: half.d[i].view(), offset: 0, stride: 0 }, len, 1)?);
            } else {
                plan.push(column_sum_f16(gpu, half.d[i].view(), db, b, l.outputs, &per_model)?);
            }
            let (input, input_stride) = self.half_input(i)?;
            let sw = MatmulShape { m: l.outputs, n: l.inputs, k: b, trans_a: true, trans_b: false };
            let strides = ModelStrides { models: k, a: s.layer[i], b: input_stride, c: n, bias: 0 };
            let dw = self.span(grads, l.weight, l.outputs * l.inputs);
            let ops = MatmulOperands { a: half.d[i].view(), b: input, bias: None, aux: None, c: dw, z: None };
            let id = Activation::Identity;
            plan.push(matmul_elements(gpu, &sw, Pass::Forward, id, &ops, &strides, Elements::F16_TO_F32)?);
            if i > 0 {
                let sx = MatmulShape { m: b, n: l.inputs, k: l.outputs, trans_a: false, trans_b: false };
                let (w, w_stride) = self.half_weights(i)?;
                let strides = ModelStrides { models: k, a: s.layer[i], b: w_stride, c: s.layer[i - 1], bias: 0 };
                let act = self.config.activation_of(i - 1);
                let aux = if super::plan::derivative_from_output(act) { &half.h[i - 1] } else { &half.z[i - 1] };
                let c = half.d[i - 1].view();
                let ops = MatmulOperands { a: half.d[i].view(), b: w, bias: None, aux: Some(aux.view()), c, z: None };
                plan.push(matmul_elements(gpu, &sx, Pass::ActivationBackward, act, &ops, &strides, Elements::F16)?);
            }
        }
        Ok(())
    }
}
