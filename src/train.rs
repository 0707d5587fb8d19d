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
        (0..self.epochs).map(|e| self.batch_size_at(n, e)).max().unwrap_or(1)
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
            LrSchedule::Plateau(p) => Some(PlateauState::new(p.clone(), config.optimizer.lr)),
            _ => None,
        };
        Ok(Trainer {
            gpu,
            model: model.clone(),
            rng: Rng::new(config.seed),
            config,
            net,
            plateau,
            epochs_done: 0,
            history: History::default(),
            best: None,
            bad_epochs: 0,
            stop: None,
        })
    }

    /// A flag that, once set (e.g. by a Ctrl-C handler), ends training after the current step.
    pub fn set_stop_flag(&mut self, flag: Arc<AtomicBool>) {
        self.stop = Some(flag);
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
        let start = Instant::now();
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
            let order = epoch_order(&mut self.rng, n, self.config.shuffle);
            train.set_order(self.gpu, &order)?;
            let steps = n.div_ceil(b);
            on_event(Event::EpochStart { epoch: epoch + 1, steps, batch_size: b });
            let epoch_start = Instant::now();
            let base = self.plateau.as_ref().map_or(self.config.optimizer.lr, |p| p.lr());
            let mut lr = base;
            for s in 0..steps {
                let offset = s * b;
                let rows = b.min(n - offset);
                lr = self.config.lr_at(base, self.net.steps_done(), epoch);
                self.net.train_step(self.gpu, train, offset, rows, lr)?;
                let loss = match self.config.report_every {
                    Some(k) if k > 0 && (s + 1) % k == 0 => Some(self.peek_loss()?),
                    _ => None,
                };
                let done = (offset + rows) as f64;
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
                samples_per_s: n as f64 / secs.max(1e-9),
                wall_s: start.elapsed().as_secs_f64(),
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

    /// Mean loss and (for classification) accuracy over a data set, in file order.
    pub fn evaluate(&mut self, data: &DeviceData) -> Result<(f64, Option<f64>)> {
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
