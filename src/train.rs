//! The trainer: epochs of shuffled mini-batches on the device, learning-rate and batch-size schedules, validation,
//! early stopping and the history. Loss and accuracy accumulate on the GPU and are read once per epoch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::history::{EpochRecord, History};
use crate::model::MlpConfig;
use crate::network::{DeviceData, Network};
use crate::ops::loss::Loss;
use crate::optim::OptimizerConfig;
use crate::rng::Rng;
use crate::schedule::{BatchGrowth, LrSchedule, PlateauState, Schedule, SchedulePer};

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
}

/// Which validation metric early stopping watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Monitor {
    /// Lower is better.
    ValLoss,
    /// Higher is better.
    ValAccuracy,
}

/// Stop when the monitored metric has not improved by more than `min_delta` for `patience` epochs.
#[derive(Clone, Debug, PartialEq)]
pub struct EarlyStopping {
    /// The metric.
    pub monitor: Monitor,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// The smallest change that counts as an improvement.
    pub min_delta: f64,
    /// Put back the best epoch's weights when training ends.
    pub restore_best: bool,
}

/// How to train: loss, optimizer, schedules, batches and stopping.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// The loss.
    pub loss: Loss,
    /// The optimizer (its `lr` is the schedule's base).
    pub optimizer: OptimizerConfig,
    /// The learning-rate schedule.
    pub schedule: Schedule,
    /// Samples per batch; None = the whole set (batch gradient descent); Some(1) = stochastic gradient descent.
    pub batch_size: Option<usize>,
    /// Grow the batch size every few epochs instead of (or as well as) decaying the learning rate.
    pub batch_growth: Option<BatchGrowth>,
    /// Number of epochs.
    pub epochs: usize,
    /// Shuffle each epoch with a seeded permutation (false: file order).
    pub shuffle: bool,
    /// Seed of the shuffles.
    pub seed: u64,
    /// Early stopping on the validation set.
    pub early_stopping: Option<EarlyStopping>,
    /// Report the running training loss every this many steps (a read-back each time); None = per epoch only.
    pub report_every: Option<usize>,
}

impl TrainConfig {
    /// Batches of 32, 10 epochs, shuffled with seed 0, constant learning rate.
    pub fn new(loss: Loss, optimizer: OptimizerConfig) -> Self {
        TrainConfig {
            loss,
            optimizer,
            schedule: Schedule::default(),
            batch_size: Some(32),
            batch_growth: None,
            epochs: 10,
            shuffle: true,
            seed: 0,
            early_stopping: None,
            report_every: None,
        }
    }

    /// Rejects values that cannot train, naming the field.
    pub fn validate(&self) -> Result<()> {
        self.optimizer.validate()?;
        if self.epochs == 0 {
            return Err(Error::config("epochs", "must be at least 1"));
        }
        if self.batch_size == Some(0) {
            return Err(Error::config("batch_size", "must be at least 1"));
        }
        if let LrSchedule::Plateau(p) = &self.schedule.kind {
            p.validate()?;
        }
        if let Some(es) = &self.early_stopping {
            if !es.min_delta.is_finite() || es.min_delta < 0.0 {
                return Err(Error::config("min_delta", "must be a finite number ≥ 0"));
            }
        }
        Ok(())
    }

    /// The batch size of `epoch` (from 0) for a set of `n` samples.
    pub fn batch_size_at(&self, n: usize, epoch: usize) -> usize {
        let base = self.batch_size.unwrap_or(n).min(n).max(1);
        let b = self.batch_growth.as_ref().map_or(base, |g| g.batch_size(base, epoch as u64));
        b.min(n).max(1)
    }

    /// The largest batch any epoch will use.
    pub fn max_batch(&self, n: usize) -> usize {
        let Some(growth) = &self.batch_growth else { return self.batch_size_at(n, 0) };
        // Growth is monotone and capped, so walk the epochs where it can change, stopping at the cap.
        let cap = n.min(growth.max.max(1));
        let mut best = 1;
        let mut epoch = 0;
        while epoch < self.epochs {
            best = best.max(self.batch_size_at(n, epoch));
            if best >= cap {
                break;
            }
            epoch = epoch.saturating_add(growth.every.max(1) as usize);
        }
        best
    }

    /// The learning rate of optimizer step `t` (from 0) in `epoch` (from 0); `base` is the plateau-adjusted lr.
    pub fn lr_at(&self, base: f64, t: u64, epoch: usize) -> f64 {
        match self.schedule.per {
            SchedulePer::Step => self.schedule.lr(base, t),
            SchedulePer::Epoch => self.schedule.lr(base, epoch as u64),
        }
    }
}

/// The row order of one epoch: a seeded permutation, or file order.
pub fn epoch_order(rng: &mut Rng, n: usize, shuffle: bool) -> Vec<u32> {
    if shuffle {
        rng.permutation(n)
    } else {
        (0..n as u32).collect()
    }
}

/// Progress reported during `fit`.
#[derive(Clone, Debug)]
pub enum Event<'a> {
    /// An epoch begins.
    EpochStart {
        /// Epoch number from 1.
        epoch: usize,
        /// Optimizer steps in this epoch.
        steps: usize,
        /// Batch size of this epoch.
        batch_size: usize,
    },
    /// An optimizer step was queued.
    Step {
        /// Step within the epoch, from 1.
        step: usize,
        /// Learning rate used.
        lr: f64,
        /// Running mean training loss of the epoch (only every `report_every` steps).
        loss: Option<f64>,
        /// Samples per second so far in this epoch (queued, not necessarily finished).
        samples_per_s: f64,
    },
    /// An epoch ended.
    EpochEnd(&'a EpochRecord),
}

/// A model being trained: the architecture, its parameters on the device, and the training state.
pub struct Trainer<'g> {
    gpu: &'g Gpu,
    model: MlpConfig,
    config: TrainConfig,
    net: Network,
    rng: Rng,
    plateau: Option<PlateauState>,
    epochs_done: usize,
    epoch_start_rng: [u64; 4],
    step_in_epoch: usize,
    history: History,
    best: Option<f64>,
    bad_epochs: usize,
    stop: Option<Arc<AtomicBool>>,
}

fn mean_stats(s: [f32; 3], loss: Loss) -> (f64, Option<f64>) {
    let n = f64::from(s[2]).max(1.0);
    (f64::from(s[0]) / n, loss.is_classification().then(|| f64::from(s[1]) / n))
}

impl<'g> Trainer<'g> {
    /// A trainer for `model` starting from flat `params`, with buffers for batches of up to `max_batch` rows.
    pub fn new(gpu: &'g Gpu, model: &MlpConfig, params: &[f32], config: TrainConfig, max_batch: usize) -> Result<Self> {
        config.validate()?;
        let net = Network::new(gpu, model, config.loss, &config.optimizer, params, max_batch)?;
        let plateau = match &config.schedule.kind {
            LrSchedule::Plateau(p) => Some(PlateauState::new(*p, config.optimizer.lr)),
            _ => None,
        };
        Ok(Trainer {
            gpu,
            model: model.clone(),
            rng: Rng::new(config.seed),
            net,
            plateau,
            epochs_done: 0,
            epoch_start_rng: Rng::new(config.seed).state(),
            step_in_epoch: 0,
            history: History::default(),
            best: None,
            bad_epochs: 0,
            stop: None,
            config,
        })
    }

    /// A flag that, once set (e.g. by a Ctrl-C handler), ends training after the current step.
    pub fn set_stop_flag(&mut self, flag: Arc<AtomicBool>) {
        self.stop = Some(flag);
    }

    /// The flat optimizer state (waits for queued steps).
    pub fn optimizer_state(&self) -> Result<Vec<f32>> {
        Ok(self.net.optimizer_state(self.gpu)?.0)
    }

    /// Early stopping's remembered best parameters (waits for queued steps).
    pub fn best_params(&self) -> Result<Vec<f32>> {
        self.net.best_params(self.gpu)
    }

    /// The device this trainer runs on.
    pub fn gpu(&self) -> &'g Gpu {
        self.gpu
    }

    /// The device network (parameters, optimizer state).
    pub fn network(&mut self) -> &mut Network {
        &mut self.net
    }

    /// The architecture.
    pub fn model(&self) -> &MlpConfig {
        &self.model
    }

    /// The history so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The flat parameters.
    pub fn params(&self) -> Result<Vec<f32>> {
        self.net.params(self.gpu)
    }

    /// Uploads samples for this model's loss: targets are one value per row (class index or value) unless the
    /// loss is mse or bce with several outputs, where each row has one value per output.
    pub fn upload(&self, features: &[f32], targets: &[f32]) -> Result<DeviceData> {
        let tcols = self.config.loss.target_cols(self.model.output());
        DeviceData::upload(self.gpu, features, self.model.input, targets, tcols)
    }

    /// Trains for the configured epochs (continuing from where a previous call or a resume stopped).
    pub fn fit(
        &mut self,
        train: &DeviceData,
        val: Option<&DeviceData>,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<&History> {
        self.fit_epochs(train, val, usize::MAX, on_event)
    }

    /// Like [`Trainer::fit`], but runs at most `max_epochs` more epochs (checkpointing between calls, tests).
    pub fn fit_epochs(
        &mut self,
        train: &DeviceData,
        val: Option<&DeviceData>,
        max_epochs: usize,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<&History> {
        if self.config.early_stopping.is_some() && val.is_none() {
            return Err(Error::config("early_stopping", "needs a validation set (--val or --val-split)"));
        }
        let n = train.rows();
        let first = self.config.batch_size_at(n, self.epochs_done);
        self.net.prepare(self.gpu, train, first)?;
        let stop_at = self.config.epochs.min(self.epochs_done.saturating_add(max_epochs));
        while self.epochs_done < stop_at && !self.history.stopped_early {
            let epoch = self.epochs_done;
            let b = self.config.batch_size_at(n, epoch);
            if b > self.net.max_rows() {
                return Err(Error::config(
                    "batch_size",
                    format!("batch of {b} exceeds the {} the trainer was built for", self.net.max_rows()),
                ));
            }
            if self.step_in_epoch == 0 {
                self.epoch_start_rng = self.rng.state();
            }
            // Redrawn from the epoch's starting state, so a run resumed mid-epoch sees the same order.
            let mut rng = Rng::from_state(self.epoch_start_rng);
            let order = epoch_order(&mut rng, n, self.config.shuffle);
            self.rng = rng;
            train.set_order(self.gpu, &order)?;
            let steps = n.div_ceil(b);
            on_event(Event::EpochStart { epoch: epoch + 1, steps, batch_size: b });
            let epoch_start = Instant::now();
            // A resumed epoch starts part-way; its throughput counts only the rows trained now.
            let first_step = self.step_in_epoch;
            let base = self.plateau.as_ref().map_or(self.config.optimizer.lr, |p| p.lr());
            let mut lr = base;
            for s in self.step_in_epoch..steps {
                let offset = s * b;
                let rows = b.min(n - offset);
                lr = self.config.lr_at(base, self.net.steps_done(), epoch);
                self.net.train_step(self.gpu, train, offset, rows, lr)?;
                self.step_in_epoch = s + 1;
                let loss = match self.config.report_every {
                    Some(k) if k > 0 && (s + 1) % k == 0 => Some(self.peek_loss()?),
                    _ => None,
                };
                let done = (offset + rows - first_step * b) as f64;
                on_event(Event::Step {
                    step: s + 1,
                    lr,
                    loss,
                    samples_per_s: done / epoch_start.elapsed().as_secs_f64().max(1e-9),
                });
                if self.stop.as_ref().is_some_and(|f| f.load(Ordering::SeqCst)) {
                    self.gpu.wait()?;
                    return Err(Error::Interrupted { epoch: epoch + 1, step: self.net.steps_done() });
                }
            }
            let stats = self.net.take_stats(self.gpu)?;
            self.step_in_epoch = 0;
            let secs = epoch_start.elapsed().as_secs_f64();
            let (train_loss, train_accuracy) = mean_stats(stats, self.config.loss);
            if !train_loss.is_finite() {
                return Err(Error::Diverged {
                    epoch: epoch + 1,
                    step: self.net.steps_done(),
                    lr,
                    loss: train_loss as f32,
                });
            }
            let (val_loss, val_accuracy) = match val {
                Some(v) => {
                    let (l, a) = self.evaluate(v)?;
                    (Some(l), a)
                }
                None => (None, None),
            };
            if let Some(p) = self.plateau.as_mut() {
                p.step(val_loss.unwrap_or(train_loss));
            }
            let record = EpochRecord {
                epoch: epoch + 1,
                train_loss,
                train_accuracy,
                val_loss,
                val_accuracy,
                lr,
                batch_size: b,
                samples_per_s: (n - first_step * b) as f64 / secs.max(1e-9),
                wall_s: epoch_start.elapsed().as_secs_f64(),
            };
            self.history.epochs.push(record);
            self.epochs_done += 1;
            if let Some(r) = self.history.epochs.last() {
                on_event(Event::EpochEnd(r));
            }
            if self.early_stop_check(val_loss, val_accuracy) {
                self.history.stopped_early = true;
                break;
            }
        }
        let finished = self.history.stopped_early || self.epochs_done >= self.config.epochs;
        if let Some(es) = &self.config.early_stopping {
            if finished && es.restore_best && self.history.best_epoch.is_some() {
                self.net.restore_best(self.gpu);
            }
        }
        self.gpu.wait()?;
        Ok(&self.history)
    }

    /// Updates the early-stopping state after an epoch; true when training should stop.
    fn early_stop_check(&mut self, val_loss: Option<f64>, val_accuracy: Option<f64>) -> bool {
        let Some(es) = self.config.early_stopping.clone() else { return false };
        let value = match es.monitor {
            Monitor::ValLoss => val_loss,
            Monitor::ValAccuracy => val_accuracy,
        };
        let Some(value) = value else { return false };
        let improved = match (self.best, es.monitor) {
            (None, _) => true,
            (Some(best), Monitor::ValLoss) => value < best - es.min_delta,
            (Some(best), Monitor::ValAccuracy) => value > best + es.min_delta,
        };
        if improved {
            self.best = Some(value);
            self.history.best_epoch = Some(self.epochs_done);
            self.bad_epochs = 0;
            self.net.remember_best(self.gpu);
            false
        } else {
            self.bad_epochs += 1;
            self.bad_epochs >= es.patience.max(1)
        }
    }

    fn peek_loss(&self) -> Result<f64> {
        let s = self.net.take_stats(self.gpu)?;
        // take_stats resets the accumulator; put the running sums back so the epoch figure stays whole.
        crate::network::restore_stats(self.gpu, &self.net, s)?;
        Ok(mean_stats(s, self.config.loss).0)
    }

    /// The run's position and counters, for a checkpoint (waits for queued steps).
    pub fn progress(&self) -> Result<Progress> {
        let stats = self.net.take_stats(self.gpu)?;
        crate::network::restore_stats(self.gpu, &self.net, stats)?;
        Ok(Progress {
            rng: self.rng.state(),
            epoch_start_rng: self.epoch_start_rng,
            epochs_done: self.epochs_done,
            step_in_epoch: self.step_in_epoch,
            steps_done: self.net.steps_done(),
            stats: stats.map(f32::to_bits),
            plateau: self
                .plateau
                .as_ref()
                .map(|p| [p.best.to_bits(), p.num_bad_epochs, p.cooldown_counter, p.lr.to_bits()]),
            best: self.best.map(f64::to_bits),
            bad_epochs: self.bad_epochs,
            history: self.history.clone(),
        })
    }

    /// Continues from a checkpoint: `progress`, flat parameters, optimizer state and early stopping's best weights.
    pub fn restore(
        &mut self,
        progress: &Progress,
        params: &[f32],
        optimizer_state: &[f32],
        best_params: &[f32],
    ) -> Result<()> {
        self.net.set_params(self.gpu, params)?;
        self.net.set_optimizer_state(self.gpu, optimizer_state, progress.steps_done)?;
        self.net.set_best_params(self.gpu, best_params)?;
        crate::network::restore_stats(self.gpu, &self.net, progress.stats.map(f32::from_bits))?;
        self.rng = Rng::from_state(progress.rng);
        self.epoch_start_rng = progress.epoch_start_rng;
        self.epochs_done = progress.epochs_done;
        self.step_in_epoch = progress.step_in_epoch;
        if let (Some(p), Some([best, bad, cool, lr])) = (self.plateau.as_mut(), progress.plateau) {
            p.best = f64::from_bits(best);
            p.num_bad_epochs = bad;
            p.cooldown_counter = cool;
            p.lr = f64::from_bits(lr);
        }
        self.best = progress.best.map(f64::from_bits);
        self.bad_epochs = progress.bad_epochs;
        self.history = progress.history.clone();
        Ok(())
    }

    /// Whether every configured epoch has run (or early stopping ended the run).
    pub fn finished(&self) -> bool {
        self.history.stopped_early || self.epochs_done >= self.config.epochs
    }

    /// Mean loss and (for classification) accuracy over a data set, in file order.
    pub fn evaluate(&mut self, data: &DeviceData) -> Result<(f64, Option<f64>)> {
        data.reset_order(self.gpu)?;
        let b = self.net.max_rows();
        let mut offset = 0;
        while offset < data.rows() {
            let rows = b.min(data.rows() - offset);
            self.net.evaluate_batch(self.gpu, data, offset, rows)?;
            offset += rows;
        }
        Ok(mean_stats(self.net.take_stats(self.gpu)?, self.config.loss))
    }

    /// The network's outputs [rows, outputs] for a data set, in file order.
    pub fn predict(&mut self, data: &DeviceData) -> Result<Vec<f32>> {
        data.reset_order(self.gpu)?;
        let b = self.net.max_rows();
        let mut out = Vec::with_capacity(data.rows() * self.model.output());
        let mut offset = 0;
        while offset < data.rows() {
            let rows = b.min(data.rows() - offset);
            out.extend(self.net.predict_batch(self.gpu, data, offset, rows)?);
            offset += rows;
        }
        Ok(out)
    }
}
