//! The epoch engine shared by a lone [`Trainer`](super::Trainer) and a [`GroupTrainer`](super::GroupTrainer): it
//! walks each epoch's [`EpochBatches`] for one model or many (every model sees the same batches in the same order,
//! from one shuffle), steps every [`NetworkGroup`] holding them, and at each epoch's end applies each model's
//! divergence check, plateau schedule, history and early stopping. A model that stops is frozen (the optimizer
//! leaves it alone) while the others go on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use web_time::Instant;

use super::events::{Event, StopReason};
use super::slot::{mean_stats, Slot};
use crate::batches::EpochBatches;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::history::EpochRecord;
use crate::internal::rng::Rng;
use crate::network::{DeviceData, NetworkGroup};

/// Each model's accumulated statistics over `data` in file order, in batches of the largest size the buffers hold.
pub(super) async fn evaluate_models(gpu: &Gpu, net: &mut NetworkGroup, data: &DeviceData) -> Result<Vec<[f32; 3]>> {
    data.reset_order(gpu)?;
    let mut batches = EpochBatches::in_file_order(data.rows(), net.max_rows());
    while let Some(batch) = batches.next_batch() {
        net.evaluate_batch(gpu, data, batch.offset, batch.rows)?;
    }
    net.take_stats_async(gpu).await
}

/// Where a run stands: every model's state, the shuffling RNG and the position in the current epoch.
pub(super) struct Engine {
    /// In (chunk, index) order.
    pub slots: Vec<Slot>,
    pub rng: Rng,
    /// The shuffling RNG before the current epoch's permutation (to redraw it when resuming mid-epoch).
    pub epoch_start_rng: [u64; 4],
    pub epochs_done: usize,
    pub step_in_epoch: usize,
    pub stop: Option<Arc<AtomicBool>>,
    /// A lone trainer fails when its loss diverges; a group freezes that model and goes on.
    pub diverged_is_error: bool,
}

impl Engine {
    pub fn new(slots: Vec<Slot>, seed: u64, diverged_is_error: bool) -> Self {
        let rng = Rng::new(seed);
        let epoch_start_rng = rng.state();
        Engine { slots, rng, epoch_start_rng, epochs_done: 0, step_in_epoch: 0, stop: None, diverged_is_error }
    }

    fn active(&self) -> usize {
        self.slots.iter().filter(|s| s.stop.is_none()).count()
    }

    fn chunk_active(&self, c: usize) -> bool {
        self.slots.iter().any(|s| s.chunk == c && s.stop.is_none())
    }

    /// Runs up to `max_epochs` more epochs, until every model has run its epochs or stopped. Steps are queued
    /// without waiting; the future yields at each read-back. `on_event` also gets the number of models training.
    pub async fn run(
        &mut self,
        gpu: &Gpu,
        nets: &mut [NetworkGroup],
        train: &DeviceData,
        val: Option<&DeviceData>,
        max_epochs: usize,
        on_event: &mut dyn FnMut(Event<'_>, usize),
    ) -> Result<()> {
        if val.is_none() && self.slots.iter().any(|s| s.config.early_stopping.is_some()) {
            return Err(Error::config("early_stopping", "needs a validation set (--val or --val-split)"));
        }
        // A model that stopped in an earlier call (or before a restore) stays frozen: the end of a run thaws all.
        for s in self.slots.iter().filter(|s| s.stop.is_some()) {
            nets[s.chunk].set_frozen(s.index, true);
        }
        let epochs = self.slots.iter().map(|s| s.config.epochs).max().unwrap_or(0);
        let stop_at = epochs.min(self.epochs_done.saturating_add(max_epochs));
        if let Some(lead) = self.slots.first() {
            let first = lead.config.batch_size_at(train.rows(), self.epochs_done);
            for net in nets.iter_mut() {
                net.prepare(gpu, train, first)?;
            }
        }
        while self.epochs_done < stop_at && self.active() > 0 {
            let mut batches = self.begin_epoch(gpu, nets, train)?;
            let (epoch, steps, batch_size) = (self.epochs_done + 1, batches.steps(), batches.batch_size());
            on_event(Event::EpochStart { epoch, steps, batch_size }, self.active());
            let start = Instant::now();
            let lrs = self.run_steps(gpu, nets, train, &mut batches, start, on_event).await?;
            self.end_epoch(gpu, nets, val, &batches, &lrs, start, on_event).await?;
        }
        for net in nets.iter_mut() {
            (0..net.len()).for_each(|m| net.set_frozen(m, false));
        }
        gpu.wait_async().await
    }

    /// The batches of the next epoch, at the schedule's batch size, in the order drawn from the epoch's starting
    /// random state (so a run resumed mid-epoch sees the same order), from the resume position on; the order is
    /// uploaded for the gathers.
    fn begin_epoch(&mut self, gpu: &Gpu, nets: &[NetworkGroup], train: &DeviceData) -> Result<EpochBatches> {
        let n = train.rows();
        let Some(lead) = self.slots.iter().find(|s| s.stop.is_none()) else {
            return Err(Error::config("group", "no model left to train"));
        };
        let b = lead.config.batch_size_at(n, self.epochs_done);
        let max_rows = nets[lead.chunk].max_rows();
        if b > max_rows {
            return Err(Error::config(
                "batch_size",
                format!("batch of {b} exceeds the {max_rows} the trainer was built for"),
            ));
        }
        if self.step_in_epoch == 0 {
            self.epoch_start_rng = self.rng.state();
        }
        let mut rng = Rng::from_state(self.epoch_start_rng);
        let batches = EpochBatches::new(&mut rng, n, lead.config.shuffle, b, self.step_in_epoch);
        self.rng = rng;
        train.set_order(gpu, batches.order())?;
        Ok(batches)
    }

    /// Queues the epoch's remaining steps of every model still training, reporting each (and, for a lone model,
    /// the running loss every `report_every` steps); returns each model's last learning rate. A set stop flag ends
    /// it after the current step with `Interrupted`.
    async fn run_steps(
        &mut self,
        gpu: &Gpu,
        nets: &mut [NetworkGroup],
        train: &DeviceData,
        batches: &mut EpochBatches,
        start: Instant,
        on_event: &mut dyn FnMut(Event<'_>, usize),
    ) -> Result<Vec<f64>> {
        let epoch = self.epochs_done;
        let bases: Vec<f64> = self.slots.iter().map(Slot::base_lr).collect();
        let mut lrs = bases.clone();
        let active = self.active();
        while let Some(batch) = batches.next_batch() {
            for (c, net) in nets.iter_mut().enumerate() {
                if !self.chunk_active(c) {
                    continue;
                }
                let members = self.slots.iter().enumerate().filter(|(_, s)| s.chunk == c);
                let chunk_lrs: Vec<f64> = members
                    .map(|(i, s)| {
                        lrs[i] = s.config.lr_at(bases[i], net.steps_done(s.index), epoch);
                        lrs[i]
                    })
                    .collect();
                net.train_step(gpu, train, batch.offset, batch.rows, &chunk_lrs)?;
            }
            self.step_in_epoch = batches.position();
            let loss = match (&self.slots[..], nets.first()) {
                ([lone], Some(net)) => match lone.config.report_every {
                    Some(k) if k > 0 && (batch.step + 1) % k == 0 => {
                        Some(mean_stats(net.peek_stats_async(gpu).await?[0], lone.config.loss).0)
                    }
                    _ => None,
                },
                _ => None,
            };
            // A resumed epoch starts part-way; its throughput counts only the rows trained now.
            let samples_per_s = batches.rows_done() as f64 / start.elapsed().as_secs_f64().max(1e-9);
            on_event(Event::Step { step: batch.step + 1, lr: lrs[0], loss, samples_per_s }, active);
            if self.stop.as_ref().is_some_and(|f| f.load(Ordering::SeqCst)) {
                gpu.wait_async().await?;
                let step = self.slots.iter().map(|s| nets[s.chunk].steps_done(s.index)).max().unwrap_or(0);
                return Err(Error::Interrupted { epoch: epoch + 1, step });
            }
        }
        Ok(lrs)
    }

    /// Reads the epoch's statistics, stops (or fails) the models whose loss diverged, validates, steps the plateau
    /// schedules, records the epoch and applies early stopping.
    #[allow(clippy::too_many_arguments)]
    async fn end_epoch(
        &mut self,
        gpu: &Gpu,
        nets: &mut [NetworkGroup],
        val: Option<&DeviceData>,
        batches: &EpochBatches,
        lrs: &[f64],
        start: Instant,
        on_event: &mut dyn FnMut(Event<'_>, usize),
    ) -> Result<()> {
        let epoch = self.epochs_done;
        let mut train_stats = vec![Vec::new(); nets.len()];
        for (c, net) in nets.iter_mut().enumerate() {
            if self.chunk_active(c) {
                train_stats[c] = net.take_stats_async(gpu).await?;
                // Skipped loss-scaled steps come off the step counts.
                net.sync_loss_scale_async(gpu).await?;
            }
        }
        self.step_in_epoch = 0;
        let secs = start.elapsed().as_secs_f64();
        let trained: Vec<usize> = (0..self.slots.len()).filter(|&i| self.slots[i].stop.is_none()).collect();
        self.stop_diverged(nets, &trained, &train_stats, lrs)?;
        let mut val_stats = vec![Vec::new(); nets.len()];
        if let Some(v) = val {
            for (c, net) in nets.iter_mut().enumerate() {
                if self.chunk_active(c) {
                    val_stats[c] = evaluate_models(gpu, net, v).await?;
                }
            }
        }
        for &i in &trained {
            let s = &mut self.slots[i];
            if s.stop.is_some() {
                continue;
            }
            let timing = EpochRecord {
                epoch: epoch + 1,
                lr: lrs[i],
                batch_size: batches.batch_size(),
                samples_per_s: batches.rows_done() as f64 / secs.max(1e-9),
                wall_s: start.elapsed().as_secs_f64(),
                ..EpochRecord::default()
            };
            let val = val_stats[s.chunk].get(s.index).copied();
            s.end_epoch(gpu, &mut nets[s.chunk], timing, train_stats[s.chunk][s.index], val);
        }
        self.epochs_done += 1;
        let active = self.active();
        for &i in &trained {
            if let Some(r) = self.slots[i].history.epochs.last().filter(|r| r.epoch == epoch + 1) {
                on_event(Event::EpochEnd(r), active);
            }
        }
        Ok(())
    }

    /// Fails (a lone trainer) or stops and freezes (a group) each of the `trained` models whose epoch loss is NaN or
    /// infinite.
    fn stop_diverged(
        &mut self,
        nets: &mut [NetworkGroup],
        trained: &[usize],
        train_stats: &[Vec<[f32; 3]>],
        lrs: &[f64],
    ) -> Result<()> {
        for &i in trained {
            let s = &mut self.slots[i];
            let (loss, _) = mean_stats(train_stats[s.chunk][s.index], s.config.loss);
            if loss.is_finite() {
                continue;
            }
            let step = nets[s.chunk].steps_done(s.index);
            if self.diverged_is_error {
                return Err(Error::Diverged { epoch: self.epochs_done + 1, step, lr: lrs[i], loss: loss as f32 });
            }
            // Frozen where it stands, as a run alone would stop with an error here.
            s.stop = Some(StopReason::Diverged);
            nets[s.chunk].set_frozen(s.index, true);
        }
        Ok(())
    }
}
