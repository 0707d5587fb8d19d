//! A group's precision and dynamic loss scaling: each model's scaler lives in its words of the gradient-scale
//! buffer (`ops::loss_scale::word`), and a loss-scaled training step adds three launches: the loss gradient
//! multiplied by S after the loss, the weight gradients divided by S and checked for infinities and NaNs after the
//! backward pass, and the scaler's update after the optimizer (which skips a model whose gradients were not all
//! finite). Nothing is read back during a step.
//!
//! A skipped step is not an optimizer step (torch does not call `optimizer.step()`): its parameters and state
//! stay as they were, and later steps' scalars (Adam's bias corrections, AdaGrad's decay, SGD's first momentum
//! step) count only the steps taken. The host counts the steps it submits and learns of a skip at its next read
//! of the scalers ([`NetworkGroup::sync_loss_scale_async`], at each epoch's end and checkpoint), when it takes it
//! off the model's step count; until then the device counts the pending skips, and the optimizer reads the record
//! the host wrote for that many (up to `ops::optim::SKIP_RECORDS` − 1 pending skips are exact; more are counted
//! as that many until the next read).

use super::buffers::SMALL;
use super::plan_f16::HalfBuffers;
use super::NetworkGroup;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::kernel::Dispatch;
use crate::ops::loss_scale::{
    loss_scale_update, scale_loss_gradient, scaler_words, state_from_words, unscale_check, word,
};
use crate::ops::optim::{ModelHyper, MAX_MODELS, SKIP_RECORDS};
use crate::precision::{LossScaleState, LossScaling, Precision};

/// The precision a group trains in and each model's loss scaling (None: unscaled).
#[derive(Debug, Default)]
pub(super) struct MixedPrecision {
    pub precision: Precision,
    pub scaling: Option<Vec<LossScaling>>,
    /// Per model: the skipped steps already taken off its step count.
    pub skipped_counted: Vec<u64>,
    /// The f16 tensors, allocated when the group is set to f16.
    pub half: Option<super::plan_f16::HalfBuffers>,
}

impl NetworkGroup {
    /// The element type of the group's training steps.
    pub fn precision(&self) -> Precision {
        self.mixed.precision
    }

    /// Trains every model in `precision`. f16 needs a device with wgpu's SHADER_F16 (see [`Gpu::has_shader_f16`]): without
    /// it this fails naming the adapter.
    pub fn set_precision(&mut self, gpu: &Gpu, precision: Precision) -> Result<()> {
        if precision == Precision::F16 && !gpu.has_shader_f16() {
            let reason = format!(
                "f16 needs the SHADER_F16 feature, which adapter {} does not offer (or WGTRAIN_F16=off turned off); \
                 train in f32 on it",
                gpu.adapter().name
            );
            return Err(Error::config("precision", reason));
        }
        self.mixed.half = match precision {
            Precision::F16 => {
                let (s, k, n) = (&self.batch.strides, self.len(), self.layout.len);
                Some(HalfBuffers::new(gpu, &self.config, s, k, n, self.batch.max_rows)?)
            }
            Precision::F32 => None,
        };
        self.mixed.precision = precision;
        self.plans.clear();
        Ok(())
    }

    /// Scales every model's loss dynamically, model m with `scaling[m]` from its initial state (torch's
    /// GradScaler), or (None) not at all.
    pub fn set_loss_scaling(&mut self, gpu: &Gpu, scaling: Option<&[LossScaling]>) -> Result<()> {
        let Some(configs) = scaling else {
            self.mixed.scaling = None;
            self.plans.clear();
            return Ok(());
        };
        if configs.len() != self.len() {
            let reason = format!("{} loss scalings for {} models", configs.len(), self.len());
            return Err(Error::config("loss_scaling", reason));
        }
        configs.iter().try_for_each(LossScaling::validate)?;
        self.mixed.scaling = Some(configs.to_vec());
        self.mixed.skipped_counted = vec![0; self.len()];
        for (m, c) in configs.iter().enumerate() {
            self.set_loss_scale_state(gpu, m, &c.initial_state())?;
        }
        self.plans.clear();
        Ok(())
    }

    /// Whether training steps scale the loss.
    pub fn scales_loss(&self) -> bool {
        self.mixed.scaling.is_some()
    }

    /// Replaces model `m`'s scaler (resume); its skipped steps count as already taken off its step count.
    pub fn set_loss_scale_state(&mut self, gpu: &Gpu, m: usize, state: &LossScaleState) -> Result<()> {
        let Some(cfg) = self.mixed.scaling.as_ref().and_then(|c| c.get(m)).copied() else {
            return Err(Error::config("loss_scaling", format!("model {m} does not scale its loss")));
        };
        let at = ((m * SMALL + word::FOUND_INF) * 4) as u64;
        let words = scaler_words(state, &cfg);
        gpu.queue().write_buffer(self.parameters.scale.buffer(), at, bytemuck::cast_slice(&words));
        self.mixed.skipped_counted[m] = state.skipped;
        Ok(())
    }

    /// Every model's scaler (None when the group does not scale its loss), once queued steps are done.
    pub async fn loss_scale_states_async(&self, gpu: &Gpu) -> Result<Option<Vec<LossScaleState>>> {
        if !self.scales_loss() {
            return Ok(None);
        }
        let words = self.parameters.scale.read_async(gpu).await?;
        Ok(Some(words.chunks(SMALL).take(self.len()).map(state_from_words).collect()))
    }

    /// Model `m`'s skipped steps already taken off its step count.
    pub fn skipped_counted(&self, m: usize) -> u64 {
        self.mixed.skipped_counted.get(m).copied().unwrap_or(0)
    }

    /// Reads every model's scaler and takes the steps skipped since the last read off its step count (one
    /// read-back; nothing when the loss is not scaled).
    pub async fn sync_loss_scale_async(&mut self, gpu: &Gpu) -> Result<()> {
        let Some(states) = self.loss_scale_states_async(gpu).await? else { return Ok(()) };
        for (m, s) in states.iter().enumerate() {
            let new = s.skipped.saturating_sub(self.mixed.skipped_counted[m]);
            self.parameters.steps_done[m] = self.parameters.steps_done[m].saturating_sub(new);
            self.mixed.skipped_counted[m] = s.skipped;
            // Counted now: the next steps' records start from the corrected count.
            let at = ((m * SMALL + word::PENDING) * 4) as u64;
            gpu.queue().write_buffer(self.parameters.scale.buffer(), at, bytemuck::bytes_of(&0.0f32));
        }
        Ok(())
    }

    /// The optimizer's records for a step: `records` (model m's at m), and for a loss-scaled step, after them, each
    /// model's records as if its last j = 1, 2, … steps had been skipped (record m + K·j; see
    /// `ops::optim::SKIP_RECORDS`), from which the optimizer takes the one its pending skips say.
    pub(super) fn with_skip_records(&self, lrs: &[f64], mut records: Vec<ModelHyper>) -> Vec<ModelHyper> {
        if !self.scales_loss() {
            return records;
        }
        let (k, p) = (self.len(), &self.parameters);
        for j in 1..SKIP_RECORDS.min(MAX_MODELS / k) as u64 {
            for (m, o) in self.optimizers.iter().enumerate() {
                let t = (p.steps_done[m] + 1).saturating_sub(j).max(1);
                records.push(ModelHyper::new(o, &o.step_scalars(t, lrs[m]), p.frozen[m]));
            }
        }
        records
    }

    /// The loss gradient (of batches of `b` rows) multiplied by each model's scale, after the loss.
    pub(super) fn scale_loss_gradient(&self, gpu: &Gpu, b: usize, plan: &mut Vec<Dispatch>) -> Result<()> {
        let last = self.config.layers.len() - 1;
        let (d, stride) = (self.dlogits().view(), self.strides().layer[last]);
        let scaler = self.parameters.scale.view();
        plan.push(scale_loss_gradient(gpu, scaler, SMALL, d, b * self.config.output(), stride, self.len())?);
        Ok(())
    }

    /// The weight gradients divided by each model's scale and checked for infinities and NaNs.
    pub(super) fn unscale_gradients(&self, gpu: &Gpu, plan: &mut Vec<Dispatch>) -> Result<()> {
        let (p, n) = (&self.parameters, self.layout.len);
        plan.push(unscale_check(gpu, p.scale.view(), SMALL, p.grads.view(), n, n, self.len())?);
        Ok(())
    }

    /// Each model's scaler updated after the optimizer.
    pub(super) fn update_loss_scale(&self, gpu: &Gpu, plan: &mut Vec<Dispatch>) -> Result<()> {
        let p = &self.parameters;
        plan.push(loss_scale_update(gpu, p.scale.view(), SMALL, &p.hyper, self.len())?);
        Ok(())
    }
}
