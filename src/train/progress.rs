//! Checkpointing a run: where it stands, and putting a trainer back there so it continues bitwise.

use super::engine::Engine;
use super::Trainer;
use crate::error::Result;
use crate::history::History;
use crate::internal::rng::Rng;
use crate::precision::LossScaleState;

/// Where a run stands, besides parameters and optimizer state: what a checkpoint needs to resume bitwise.
/// Floats that may be infinite are kept as bit patterns so the JSON round trip is exact.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    /// The shuffling RNG now.
    pub rng: [u64; 4],
    /// The shuffling RNG before the current epoch's permutation (to redraw it mid-epoch).
    pub epoch_start_rng: [u64; 4],
    /// Completed epochs.
    pub epochs_done: usize,
    /// Steps already taken in the current epoch.
    pub step_in_epoch: usize,
    /// Optimizer steps so far.
    pub steps_done: u64,
    /// The current epoch's accumulated [loss, correct, count] as f32 bits.
    pub stats: [u32; 3],
    /// ReduceLROnPlateau: [best bits, bad epochs, cooldown counter, lr bits].
    pub plateau: Option<[u64; 4]>,
    /// Early stopping: the best monitored value so far, as f64 bits.
    pub best: Option<u64>,
    /// Early stopping's epochs without improvement.
    pub bad_epochs: usize,
    /// The history so far.
    pub history: History,
    /// The dynamic loss scaler (half precision), absent when the loss is not scaled.
    #[serde(default)]
    pub loss_scale: Option<LossScaleState>,
}

impl Trainer<'_> {
    /// The run's position and counters, for a checkpoint; blocks until queued steps are done (see
    /// [`Trainer::progress_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn progress(&self) -> Result<Progress> {
        pollster::block_on(self.progress_async())
    }

    /// The run's position and counters, for a checkpoint, once queued steps are done.
    pub async fn progress_async(&self) -> Result<Progress> {
        let stats = self.net.peek_stats_async(self.gpu).await?;
        let loss_scale = self.net.loss_scale_states_async(self.gpu).await?.map(|s| s[0]);
        // Skipped steps the host has not yet taken off its count are not optimizer steps.
        let uncounted = loss_scale.map_or(0, |s| s.skipped.saturating_sub(self.net.skipped_counted(0)));
        let steps_done = self.net.steps_done().saturating_sub(uncounted);
        Ok(Progress { loss_scale, ..Progress::of(&self.engine, 0, steps_done, stats) })
    }

    /// Continues from a checkpoint: `progress`, flat parameters, optimizer state and early stopping's best weights.
    pub fn restore(
        &mut self,
        progress: &Progress,
        params: &[f32],
        optimizer_state: &[f32],
        best_params: &[f32],
    ) -> Result<()> {
        let net = self.net.group();
        net.set_params(self.gpu, 0, params)?;
        net.set_optimizer_state(self.gpu, 0, optimizer_state, progress.steps_done)?;
        net.set_best_params(self.gpu, 0, best_params)?;
        net.set_stats(self.gpu, 0, progress.stats.map(f32::from_bits))?;
        if let (Some(state), true) = (&progress.loss_scale, net.scales_loss()) {
            net.set_loss_scale_state(self.gpu, 0, state)?;
        }
        progress.apply(&mut self.engine, 0);
        let slot = &mut self.engine.slots[0];
        // A run that early stopping ended stays ended.
        slot.stop = slot.history.stopped_early.then_some(super::events::StopReason::EarlyStop);
        Ok(())
    }
}

impl Progress {
    /// Model `slot` of `engine` with `steps_done` optimizer steps and the epoch's `stats` so far.
    pub(super) fn of(engine: &Engine, slot: usize, steps_done: u64, stats: [f32; 3]) -> Progress {
        let s = &engine.slots[slot];
        Progress {
            rng: engine.rng.state(),
            epoch_start_rng: engine.epoch_start_rng,
            epochs_done: engine.epochs_done,
            step_in_epoch: engine.step_in_epoch,
            steps_done,
            stats: stats.map(f32::to_bits),
            plateau: s
                .plateau
                .as_ref()
                .map(|p| [p.best.to_bits(), p.num_bad_epochs, p.cooldown_counter, p.lr.to_bits()]),
            best: s.best.map(f64::to_bits),
            bad_epochs: s.bad_epochs,
            history: s.history.clone(),
            loss_scale: None,
        }
    }

    /// Puts the run's position and model `slot`'s schedule, early stopping and history back into `engine` (the
    /// device state is the caller's).
    pub(super) fn apply(&self, engine: &mut Engine, slot: usize) {
        engine.rng = Rng::from_state(self.rng);
        engine.epoch_start_rng = self.epoch_start_rng;
        engine.epochs_done = self.epochs_done;
        engine.step_in_epoch = self.step_in_epoch;
        let s = &mut engine.slots[slot];
        if let (Some(p), Some([best, bad, cool, lr])) = (s.plateau.as_mut(), self.plateau) {
            p.best = f64::from_bits(best);
            p.num_bad_epochs = bad;
            p.cooldown_counter = cool;
            p.lr = f64::from_bits(lr);
        }
        s.best = self.best.map(f64::from_bits);
        s.bad_epochs = self.bad_epochs;
        s.history = self.history.clone();
    }
}
