//! Before the first step: tuning the matmuls a step launches, compiling every pipeline it uses (in parallel) and
//! building its plan, so the first step does not wait on the shader compiler.

use super::buffers::PlanKind;
use super::plan::{keeps_pre_activation, layer_matmuls};
use super::NetworkGroup;
use crate::data::device::DeviceData;
use crate::error::Result;
use crate::gpu::{Constants, Gpu, KernelFamily};
use crate::matmul_wgsl::{MatmulVariant, Pass, WideAxis};
use crate::ops::activation::Activation;
use crate::ops::matmul::{epilogue_constants, MatmulShape, ModelStrides};
use crate::ops::matmul_wide::{group_constant, wide_shape, wide_variant};
use crate::ops::optim::models_constants;
use crate::ops::tune;
use crate::shaders::Shader;

impl NetworkGroup {
    /// Compiles every pipeline a training step and an evaluation use (in parallel), builds the plan for batches
    /// of `rows`, and saves the driver's pipeline cache, so the first step does not wait on the shader compiler.
    pub fn prepare(&mut self, gpu: &Gpu, data: &DeviceData, rows: usize) -> Result<()> {
        let rows = rows.min(data.rows).min(self.batch.max_rows);
        self.check_batch(data, 0, rows)?;
        if !self.plans.compiled {
            let mut kernels = self.fixed_kernels(gpu);
            // Only the variants this network's shapes take, tuned first where they are not yet; f16 steps launch
            // f16 variants, tuned and compiled as the plan below is built.
            if self.precision() == crate::precision::Precision::F32 {
                kernels.extend(self.matmul_kernels(gpu, rows)?);
            }
            gpu.precompile(&kernels)?;
        }
        self.plan(gpu, PlanKind::Train, data, rows)?;
        if !self.plans.compiled {
            gpu.save_pipeline_cache();
            self.plans.compiled = true;
        }
        Ok(())
    }

    /// The kernels of a step other than the matmuls, each reduction in the one form this device launches.
    fn fixed_kernels(&self, gpu: &Gpu) -> Vec<(Shader, &'static str, Constants)> {
        use crate::shaders::{ACTIVATION, GATHER, GATHER_VEC4, LOSS, OPTIM, REDUCE, REDUCE_SUBGROUP, TRANSPOSE};
        let textures = gpu.kernel_family() == KernelFamily::Texture;
        let loss_entry = if self.class_weights.is_some() { "weighted_cross_entropy_loss" } else { self.loss.entry() };
        let mut optim = models_constants(&self.optimizers);
        if self.scales_loss() {
            optim.push(("SKIP_NON_FINITE", 1.0));
        }
        let mut kernels = vec![
            (GATHER.clone(), "gather_rows", Vec::new()),
            (GATHER_VEC4.clone(), "gather_rows", Vec::new()),
            (LOSS.clone(), loss_entry, Vec::new()),
            (REDUCE.clone(), "stats_accumulate", Vec::new()),
            (REDUCE_SUBGROUP.clone(), "stats_accumulate_subgroup", Vec::new()),
            (REDUCE.clone(), "column_sum", Vec::new()),
            (OPTIM.clone(), self.optimizers[0].kind.entry(), optim),
        ];
        if textures {
            kernels.push((TRANSPOSE.clone(), "transpose_texture", Vec::new()));
            kernels.push((REDUCE.clone(), "column_sum_texture", Vec::new()));
        }
        if self.optimizers.iter().any(|o| o.clip_norm.is_some()) {
            kernels.extend([
                (REDUCE.clone(), "sum_squares_partial", Vec::new()),
                (REDUCE_SUBGROUP.clone(), "sum_squares_partial_subgroup", Vec::new()),
                (REDUCE.clone(), "clip_scale", Vec::new()),
            ]);
        }
        if self.config.output_activation != Activation::Identity {
            kernels.push((ACTIVATION.clone(), "activation_backward", Vec::new()));
        }
        if self.scales_loss() {
            use crate::shaders::LOSS_SCALE;
            for entry in ["scale_loss_gradient", "unscale_check", "loss_scale_update"] {
                kernels.push((LOSS_SCALE.clone(), entry, Vec::new()));
            }
        }
        let subgroups = gpu.has_subgroups();
        kernels.retain(|(_, entry, _)| match *entry {
            "stats_accumulate" | "sum_squares_partial" => !subgroups,
            "stats_accumulate_subgroup" | "sum_squares_partial_subgroup" => subgroups,
            _ => true,
        });
        kernels
    }

    /// The generated matmul kernels a training step with batches of `b` rows uses (the same shapes as the plan),
    /// with the variant each shape's tuned config gives, in its model-batched form for several models; tuning
    /// happens here, before the first step.
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
            for (j, (s, pass, mut constants)) in launches.into_iter().enumerate() {
                if let Some(v) = self.first_layer_wide(gpu, i, j, &s)? {
                    constants.push(group_constant(&s, v.wide.unwrap_or(WideAxis::Cols)));
                    kernels.push((v.shader(), pass.entry(), constants));
                    continue;
                }
                let Some(config) = tune::config_for(gpu, &s)? else { continue };
                if let Some(v) = MatmulVariant::for_shape(config, &s.facts(), pass) {
                    let v = if self.len() > 1 { v.for_models() } else { v };
                    kernels.push((v.shader(), pass.entry(), constants));
                }
            }
        }
        let key = |k: &(Shader, &'static str, Constants)| format!("{} {} {:?}", k.0.file, k.1, k.2);
        kernels.sort_by_key(key);
        kernels.dedup_by(|a, b| key(a) == key(b));
        Ok(kernels)
    }

    /// The wide variant the plan launches for launch `j` of layer `i` (the forward product, 0, or the weight
    /// gradient, 1, of the first layer of a group), tuned for the whole product's shape; None where the plan
    /// launches the model-batched form. The group's model strides are whole 64-float blocks (buffers.rs), so only
    /// which operand is shared matters here.
    fn first_layer_wide(&self, gpu: &Gpu, i: usize, j: usize, s: &MatmulShape) -> Result<Option<MatmulVariant>> {
        let (k, n, c) = (self.len(), self.layout.len, self.batch.strides.layer[0]);
        let (axis, strides) = match (i, j) {
            (0, 0) => (WideAxis::Cols, ModelStrides { models: k, a: 0, b: n, c, bias: n }),
            (0, 1) => (WideAxis::Rows, ModelStrides { models: k, a: c, b: 0, c: n, bias: 0 }),
            _ => return Ok(None),
        };
        if k < 2 {
            return Ok(None);
        }
        let Some(config) = tune::config_for(gpu, &wide_shape(s, axis, k))? else { return Ok(None) };
        Ok(wide_variant(config, s, axis, &strides, axis == WideAxis::Cols))
    }
}
