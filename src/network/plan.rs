//! The dispatch list of a training step (or an evaluation or prediction), built once per batch size and cached,
//! and compiling every pipeline it needs before the first step.

use super::{Network, PlanKind};
use crate::data::device::DeviceData;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::gpu::{Constants, KernelFamily};
use crate::kernel::Dispatch;
use crate::matmul_wgsl::{MatmulVariant, Pass};
use crate::ops::activation::{activation_backward, Activation};
use crate::ops::gather::gather_rows;
use crate::ops::loss::{loss, weighted_cross_entropy};
use crate::ops::matmul::{epilogue_constants, matmul_activation_backward, matmul_forward, MatmulShape};
use crate::ops::optim::{optimizer_constants, optimizer_update};
use crate::ops::reduce::{clip_scale, column_sum, partial_count, stats_accumulate, sum_squares_partial};
use crate::ops::transpose::{transposable, transpose_texture};
use crate::ops::tune;
use crate::shaders::Shader;
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

impl Network {
    pub(super) fn plan(&mut self, gpu: &Gpu, kind: PlanKind, data: &DeviceData, rows: usize) -> Result<&Vec<Dispatch>> {
        let key = (kind, rows, data.id);
        if !self.plans.lists.contains_key(&key) {
            let plan = self.build_plan(gpu, kind, data, rows)?;
            self.plans.lists.insert(key, plan);
        }
        self.plans.lists.get(&key).ok_or_else(|| Error::Device { kind: "internal", message: "plan cache".into() })
    }

    /// The dispatches of one step of `kind` on batches of `b` rows: gather the batch, forward, then (unless
    /// predicting) loss and statistics, then (training and gradients) backward, then (training) the update.
    fn build_plan(&self, gpu: &Gpu, kind: PlanKind, data: &DeviceData, b: usize) -> Result<Vec<Dispatch>> {
        let mut plan = self.gather_batch(gpu, kind, data, b)?;
        self.forward(gpu, b, &mut plan)?;
        if kind == PlanKind::Predict {
            return Ok(plan);
        }
        self.loss_and_statistics(gpu, b, &mut plan)?;
        if kind == PlanKind::Evaluate {
            return Ok(plan);
        }
        self.backward(gpu, b, &mut plan)?;
        if kind == PlanKind::Gradient {
            return Ok(plan);
        }
        self.update(gpu, &mut plan)?;
        Ok(plan)
    }

    /// The batch's features (and targets, unless predicting) gathered from every chunk of the data set into x and y
    /// through the epoch order, at the step's batch offset.
    fn gather_batch(&self, gpu: &Gpu, kind: PlanKind, data: &DeviceData, b: usize) -> Result<Vec<Dispatch>> {
        let tcols = self.loss.target_cols(self.config.output());
        let mut plan = Vec::new();
        for c in &data.chunks {
            let order = data.order.view();
            let input = self.config.input;
            plan.push(gather_rows(
                gpu,
                &self.parameters.step,
                order,
                c.features.view(),
                self.batch.x.view(),
                b,
                input,
                c.rows,
                c.row_start,
            )?);
            if kind != PlanKind::Predict {
                plan.push(gather_rows(
                    gpu,
                    &self.parameters.step,
                    order,
                    c.targets.view(),
                    self.batch.y.view(),
                    b,
                    tcols,
                    c.rows,
                    c.row_start,
                )?);
            }
        }
        Ok(plan)
    }

    /// h_i = act_i(h_{i−1}·W_iᵀ + b_i) layer by layer, storing z_i where the backward pass needs it.
    fn forward(&self, gpu: &Gpu, b: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        let last = self.config.layers.len() - 1;
        for (i, l) in self.layout.layers.iter().enumerate() {
            let input = if i == 0 { self.batch.x.view() } else { self.batch.h[i - 1].view() };
            let s = MatmulShape { m: b, n: l.outputs, k: l.inputs, trans_a: false, trans_b: true };
            let w = self.parameters.params.slice(l.weight, l.outputs * l.inputs);
            let bias = self.parameters.params.slice(l.bias, l.outputs);
            let act = self.config.activation_of(i);
            let z = keeps_pre_activation(act, i == last).then(|| self.batch.z[i].view());
            plan.push(matmul_forward(gpu, &s, input, w, Some(bias), act, self.batch.h[i].view(), z)?);
        }
        Ok(())
    }

    /// The loss and its gradient with respect to the logits (into d_last, or dout when an output activation
    /// follows), and the per-row statistics added to the epoch's.
    fn loss_and_statistics(&self, gpu: &Gpu, b: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        let last = self.config.layers.len() - 1;
        let out = self.config.output();
        let dlogits = if self.config.output_activation == Activation::Identity {
            self.batch.d[last].view()
        } else {
            self.batch.dout.view()
        };
        let (logits, y, stats) = (self.batch.h[last].view(), self.batch.y.view(), self.batch.row_stats.view());
        plan.push(match &self.class_weights {
            Some(w) => weighted_cross_entropy(gpu, logits, y, w.view(), dlogits, stats, b, out)?,
            None => loss(gpu, self.loss, logits, y, dlogits, stats, b, out)?,
        });
        plan.push(stats_accumulate(gpu, stats, self.batch.stats.view(), b)?);
        Ok(())
    }

    /// The gradients of every layer, last first: through the output activation, then dW, db and dZ of the layer
    /// below.
    fn backward(&self, gpu: &Gpu, b: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        let last = self.config.layers.len() - 1;
        let out_act = self.config.output_activation;
        if out_act != Activation::Identity {
            let n = b * self.config.output();
            plan.push(activation_backward(
                gpu,
                self.batch.z[last].view(),
                self.batch.dout.view(),
                out_act,
                self.batch.d[last].view(),
                n,
            )?);
        }
        for (i, l) in self.layout.layers.iter().enumerate().rev() {
            let input = if i == 0 { self.batch.x.view() } else { self.batch.h[i - 1].view() };
            // dW = dZᵀ·input: dZ is stored [B, out] = [K, M], so A is transposed; the texture family transposes
            // it first where it can, because its A·B kernel is much faster than its Aᵀ·B one.
            let dw = self.parameters.grads.slice(l.weight, l.outputs * l.inputs);
            if transposes_dz(gpu, b, l.outputs, l.inputs) {
                let dt = self.batch.dt.slice(0, b * l.outputs);
                plan.push(transpose_texture(gpu, self.batch.d[i].view(), dt, b, l.outputs)?);
                let sw = MatmulShape { m: l.outputs, n: l.inputs, k: b, trans_a: false, trans_b: false };
                plan.push(matmul_forward(gpu, &sw, dt, input, None, Activation::Identity, dw, None)?);
            } else {
                let sw = MatmulShape { m: l.outputs, n: l.inputs, k: b, trans_a: true, trans_b: false };
                plan.push(matmul_forward(
                    gpu,
                    &sw,
                    self.batch.d[i].view(),
                    input,
                    None,
                    Activation::Identity,
                    dw,
                    None,
                )?);
            }
            plan.push(column_sum(
                gpu,
                self.batch.d[i].view(),
                self.parameters.grads.slice(l.bias, l.outputs),
                b,
                l.outputs,
            )?);
            if i > 0 {
                // dZ_{i−1} = (dZ_i·W_i) ⊙ act'(Z_{i−1}), the derivative folded into the matmul's epilogue.
                let sx = MatmulShape { m: b, n: l.inputs, k: l.outputs, trans_a: false, trans_b: false };
                let w = self.parameters.params.slice(l.weight, l.outputs * l.inputs);
                let act = self.config.activation_of(i - 1);
                let aux =
                    if derivative_from_output(act) { self.batch.h[i - 1].view() } else { self.batch.z[i - 1].view() };
                plan.push(matmul_activation_backward(
                    gpu,
                    &sx,
                    self.batch.d[i].view(),
                    w,
                    aux,
                    act,
                    self.batch.d[i - 1].view(),
                )?);
            }
        }
        Ok(())
    }

    /// Gradient clipping by global norm (when asked) and the optimizer's update of every parameter.
    fn update(&self, gpu: &Gpu, plan: &mut Vec<Dispatch>) -> Result<()> {
        let n = self.layout.len;
        if let Some(max_norm) = self.optimizer.clip_norm {
            plan.push(sum_squares_partial(gpu, self.parameters.grads.view(), self.parameters.partials.view(), n)?);
            plan.push(clip_scale(
                gpu,
                self.parameters.partials.view(),
                self.parameters.scale.view(),
                partial_count(n),
                max_norm as f32,
            )?);
        }
        let (scale, grads, params, state) = (
            self.parameters.scale.view(),
            self.parameters.grads.view(),
            self.parameters.params.view(),
            self.parameters.state.view(),
        );
        plan.push(optimizer_update(gpu, &self.optimizer, &self.parameters.step, scale, grads, params, state, n)?);
        Ok(())
    }

    /// The generated matmul kernels a training step with batches of `b` rows uses (the same shapes as
    /// `build_plan`), with the variant each shape's tuned config gives; tuning happens here, before the first step.
    fn matmul_kernels(&self, gpu: &Gpu, b: usize) -> Result<Vec<(Shader, &'static str, Constants)>> {
        let cfg = &self.config;
        let last = cfg.layers.len() - 1;
        let mut kernels = Vec::new();
        for (i, l) in self.layout.layers.iter().enumerate() {
            let [forward, weight_grad, input_grad] = layer_matmuls(gpu, b, l.inputs, l.outputs);
            let act = cfg.activation_of(i);
            let mut launches = vec![
                (forward, Pass::Forward, epilogue_constants(act, true, keeps_pre_activation(act, i == last))),
                (weight_grad, Pass::Forward, epilogue_constants(Activation::Identity, false, false)),
            ];
            if i > 0 {
                let constants = epilogue_constants(cfg.activation_of(i - 1), false, false);
                launches.push((input_grad, Pass::ActivationBackward, constants));
            }
            for (s, pass, constants) in launches {
                let Some(config) = tune::config_for(gpu, &s)? else { continue };
                if let Some(v) = MatmulVariant::for_shape(config, &s.facts(), pass) {
                    kernels.push((v.shader(), pass.entry(), constants));
                }
            }
        }
        let key = |k: &(Shader, &'static str, Constants)| format!("{} {} {:?}", k.0.file, k.1, k.2);
        kernels.sort_by_key(key);
        kernels.dedup_by(|a, b| key(a) == key(b));
        Ok(kernels)
    }

    /// Compiles every pipeline a training step and an evaluation use (in parallel), builds the plan for batches
    /// of `rows`, and saves the driver's pipeline cache, so the first step does not wait on the shader compiler.
    pub fn prepare(&mut self, gpu: &Gpu, data: &DeviceData, rows: usize) -> Result<()> {
        use crate::shaders::{ACTIVATION, GATHER, GATHER_VEC4, LOSS, OPTIM, REDUCE, REDUCE_SUBGROUP, TRANSPOSE};
        let textures = gpu.kernel_family() == KernelFamily::Texture;
        let mut kernels = vec![
            (GATHER.clone(), "gather_rows", Vec::new()),
            (GATHER_VEC4.clone(), "gather_rows", Vec::new()),
            (LOSS.clone(), self.loss_entry(), Vec::new()),
            (REDUCE.clone(), "stats_accumulate", Vec::new()),
            (REDUCE_SUBGROUP.clone(), "stats_accumulate_subgroup", Vec::new()),
            (REDUCE.clone(), "column_sum", Vec::new()),
            (OPTIM.clone(), self.optimizer.kind.entry(), optimizer_constants(&self.optimizer, textures)),
        ];
        if textures {
            kernels.push((TRANSPOSE.clone(), "transpose_texture", Vec::new()));
            kernels.push((REDUCE.clone(), "column_sum_texture", Vec::new()));
        }
        if self.optimizer.clip_norm.is_some() {
            kernels.extend([
                (REDUCE.clone(), "sum_squares_partial", Vec::new()),
                (REDUCE_SUBGROUP.clone(), "sum_squares_partial_subgroup", Vec::new()),
                (REDUCE.clone(), "clip_scale", Vec::new()),
            ]);
        }
        if self.config.output_activation != Activation::Identity {
            kernels.push((ACTIVATION.clone(), "activation_backward", Vec::new()));
        }
        // Each reduction in the one form this device launches.
        let subgroups = gpu.has_subgroups();
        kernels.retain(|(_, entry, _)| match *entry {
            "stats_accumulate" | "sum_squares_partial" => !subgroups,
            "stats_accumulate_subgroup" | "sum_squares_partial_subgroup" => subgroups,
            _ => true,
        });
        if !self.plans.compiled {
            // Only the variants this network's shapes take, tuned first where they are not yet.
            kernels.extend(self.matmul_kernels(gpu, rows.min(data.rows))?);
        }
        self.check_batch(data, 0, rows.min(data.rows))?;
        if !self.plans.compiled {
            gpu.precompile(&kernels)?;
        }
        self.plan(gpu, PlanKind::Train, data, rows.min(data.rows))?;
        if !self.plans.compiled {
            gpu.save_pipeline_cache();
            self.plans.compiled = true;
        }
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
