//! A group member's whole training state as plain data, so a model can leave one [`GroupTrainer`] and continue in
//! another (successive halving re-packs its survivors into smaller groups) or be saved between epochs and restored.
//! Continuing from a state is the same as never having stopped: the parameters, optimizer state and step count,
//! early stopping's best weights, the schedules' and early stopping's counters, the history and the shuffling
//! random state all come back, and a model in a group trains bitwise as it would alone.

use super::events::StopReason;
use super::group::GroupTrainer;
use super::progress::Progress;
use crate::error::{Error, Result};

/// One model of a group, as it stands between epochs (or mid-epoch: `progress` keeps the position).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MemberState {
    /// The run's position, random state, counters and history, as a lone trainer's checkpoint keeps them.
    pub progress: Progress,
    /// Flat parameters.
    pub params: Vec<f32>,
    /// Flat optimizer state (empty for plain SGD).
    pub optimizer_state: Vec<f32>,
    /// Early stopping's remembered best parameters (empty without early stopping).
    pub best_params: Vec<f32>,
    /// Why the model stopped, if it has.
    pub stop: Option<StopReason>,
}

impl GroupTrainer<'_> {
    /// Every model's state in member order, once queued steps are done.
    pub fn member_states(&self) -> Result<Vec<MemberState>> {
        pollster::block_on(async {
            let mut out = Vec::with_capacity(self.engine.slots.len());
            let mut scales = Vec::with_capacity(self.chunks.len());
            for net in &self.chunks {
                scales.push(net.loss_scale_states_async(self.gpu).await?);
            }
            for (i, s) in self.engine.slots.iter().enumerate() {
                let net = &self.chunks[s.chunk];
                let loss_scale = scales[s.chunk].as_ref().and_then(|v| v.get(s.index).copied());
                // Skipped steps the host has not yet taken off its count are not optimizer steps.
                let uncounted = loss_scale.map_or(0, |l| l.skipped.saturating_sub(net.skipped_counted(s.index)));
                let steps_done = net.steps_done(s.index).saturating_sub(uncounted);
                let stats = net.peek_stats_async(self.gpu).await?[s.index];
                let best_params = match s.config.early_stopping {
                    Some(_) => net.best_params_async(self.gpu, s.index).await?,
                    None => Vec::new(),
                };
                out.push(MemberState {
                    progress: Progress { loss_scale, ..Progress::of(&self.engine, i, steps_done, stats) },
                    params: net.params_async(self.gpu, s.index).await?,
                    optimizer_state: net.optimizer_state_async(self.gpu, s.index).await?,
                    best_params,
                    stop: s.stop,
                });
            }
            Ok(out)
        })
    }

    /// Puts every model back where `states` (one per member, in member order) left it. The states must come from
    /// one position of one shuffle: equal random state, epoch and step, as members of one group (or of groups
    /// with the same data seed, run for the same epochs) have.
    pub fn restore_members(&mut self, states: &[MemberState]) -> Result<()> {
        if states.len() != self.engine.slots.len() {
            let why = format!("{} states for a group of {}", states.len(), self.engine.slots.len());
            return Err(Error::config("group", why));
        }
        let position = |p: &Progress| (p.rng, p.epoch_start_rng, p.epochs_done, p.step_in_epoch);
        if states.iter().any(|s| position(&s.progress) != position(&states[0].progress)) {
            return Err(Error::config("group", "member states stand at different points of the shuffle"));
        }
        for (i, state) in states.iter().enumerate() {
            let (chunk, index) = (self.engine.slots[i].chunk, self.engine.slots[i].index);
            let net = &mut self.chunks[chunk];
            net.set_params(self.gpu, index, &state.params)?;
            net.set_optimizer_state(self.gpu, index, &state.optimizer_state, state.progress.steps_done)?;
            if !state.best_params.is_empty() {
                net.set_best_params(self.gpu, index, &state.best_params)?;
            }
            net.set_stats(self.gpu, index, state.progress.stats.map(f32::from_bits))?;
            if let (Some(scale), true) = (&state.progress.loss_scale, net.scales_loss()) {
                net.set_loss_scale_state(self.gpu, index, scale)?;
            }
            state.progress.apply(&mut self.engine, i);
            self.engine.slots[i].stop = state.stop;
        }
        Ok(())
    }
}
