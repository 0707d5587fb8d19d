//! The trainer: epochs of shuffled mini-batches on the device, learning-rate and batch-size schedules, validation,
//! early stopping and the history. Loss and accuracy accumulate on the GPU and are read once per epoch.

// Groups train many models for `wgtrain sweep`: a native command line feature.
#[cfg(not(target_arch = "wasm32"))]
mod group;
mod progress;

pub use crate::batches::epoch_order;
pub use crate::train_config::{buffer_rows, EarlyStopping, Monitor, TrainConfig, EVAL_BUFFER_ROWS};
#[cfg(not(target_arch = "wasm32"))]
pub use group::{
    group_capacity, GroupMember, GroupProgress, GroupTrainer, MemberOutcome, StopReason, DEFAULT_GROUP_BYTES,
};
pub use progress::Progress;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use web_time::Instant;

use crate::batches::EpochBatches;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::history::{EpochRecord, History};
use crate::internal::rng::Rng;
use crate::model::MlpConfig;
use crate::network::{DeviceData, Network};
use crate::ops::loss::Loss;
use crate::schedule::{LrSchedule, PlateauState};

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

/// What early stopping makes of an epoch.
enum Verdict {
    /// The monitored metric improved: remember these weights.
    Improved,
    /// No improvement (or nothing to monitor), patience not yet spent.
    Wait,
    /// Patience spent: stop.
    Stop,
}

/// Early stopping's rule for one epoch's metrics, updating the best value and the count of epochs without
/// improvement (shared by the trainer and the group's models).
fn early_stop_verdict(
    es: &EarlyStopping,
    best: &mut Option<f64>,
    bad_epochs: &mut usize,
    val_loss: Option<f64>,
    val_accuracy: Option<f64>,
) -> Verdict {
    let value = match es.monitor {
        Monitor::ValLoss => val_loss,
        Monitor::ValAccuracy => val_accuracy,
    };
    let Some(value) = value else { return Verdict::Wait };
    let improved = match (*best, es.monitor) {
        (None, _) => true,
        (Some(b), Monitor::ValLoss) => value < b - es.min_delta,
        (Some(b), Monitor::ValAccuracy) => value > b + es.min_delta,
    };
    if improved {
        *best = Some(value);
        *bad_epochs = 0;
        Verdict::Improved
    } else {
        *bad_epochs += 1;
        if *bad_epochs >= es.patience.max(1) {
            Verdict::Stop
        } else {
            Verdict::Wait
        }
    }
}

/// Mean loss and (for classification) accuracy of `net` over a data set in file order, in batches of its largest
/// size.
async fn evaluate_network(gpu: &Gpu, net: &mut Network, data: &DeviceData, loss: Loss) -> Result<(f64, Option<f64>)> {
    data.reset_order(gpu)?;
    let mut batches = EpochBatches::in_file_order(data.rows(), net.max_rows());
    while let Some(batch) = batches.next_batch() {
        net.evaluate_batch(gpu, data, batch.offset, batch.rows)?;
    }
    Ok(mean_stats(net.take_stats_async(gpu).await?, loss))
}

impl<'g> Trainer<'g> {
    /// A trainer for `model` starting from flat `params`, with buffers for batches of up to `max_batch` rows.
    pub fn new(gpu: &'g Gpu, model: &MlpConfig, params: &[f32], config: TrainConfig, max_batch: usize) -> Result<Self> {
        config.validate()?;
        let mut net = Network::new(gpu, model, config.loss, &config.optimizer, params, max_batch)?;
        net.set_class_weights(gpu, config.class_weights.as_deref())?;
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

    /// The flat optimizer state, blocking until queued steps are done (see [`Trainer::optimizer_state_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn optimizer_state(&self) -> Result<Vec<f32>> {
        pollster::block_on(self.optimizer_state_async())
    }

    /// The flat optimizer state, once queued steps are done.
    pub async fn optimizer_state_async(&self) -> Result<Vec<f32>> {
        Ok(self.net.optimizer_state_async(self.gpu).await?.0)
    }

    /// Early stopping's remembered best parameters, blocking (see [`Trainer::best_params_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn best_params(&self) -> Result<Vec<f32>> {
        pollster::block_on(self.best_params_async())
    }

    /// Early stopping's remembered best parameters, once queued steps are done.
    pub async fn best_params_async(&self) -> Result<Vec<f32>> {
        self.net.best_params_async(self.gpu).await
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

    /// The flat parameters, blocking until queued steps are done (see [`Trainer::params_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn params(&self) -> Result<Vec<f32>> {
        pollster::block_on(self.params_async())
    }

    /// The flat parameters, once queued steps are done.
    pub async fn params_async(&self) -> Result<Vec<f32>> {
        self.net.params_async(self.gpu).await
    }

    /// Uploads samples for this model's loss: targets are one value per row (class index or value) unless the
    /// loss is mse or bce with several outputs, where each row has one value per output.
    pub fn upload(&self, features: &[f32], targets: &[f32]) -> Result<DeviceData> {
        let tcols = self.config.loss.target_cols(self.model.output());
        DeviceData::upload(self.gpu, features, self.model.input, targets, tcols)
    }

    /// Trains for the configured epochs (continuing from where a previous call or a resume stopped), blocking
    /// until done (the blocking form of [`Trainer::fit_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn fit(
        &mut self,
        train: &DeviceData,
        val: Option<&DeviceData>,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<&History> {
        self.fit_epochs(train, val, usize::MAX, on_event)
    }

    /// Like [`Trainer::fit`], but runs at most `max_epochs` more epochs (checkpointing between calls, tests).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn fit_epochs(
        &mut self,
        train: &DeviceData,
        val: Option<&DeviceData>,
        max_epochs: usize,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<&History> {
        pollster::block_on(self.fit_epochs_async(train, val, max_epochs, on_event))
    }

    /// Trains for the configured epochs (continuing from where a previous call or a resume stopped). Steps are
    /// queued without waiting; the future yields at each read-back (the epoch's statistics, `report_every`).
    pub async fn fit_async(
        &mut self,
        train: &DeviceData,
        val: Option<&DeviceData>,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<&History> {
        self.fit_epochs_async(train, val, usize::MAX, on_event).await
    }

    /// Like [`Trainer::fit_async`], but runs at most `max_epochs` more epochs.
    pub async fn fit_epochs_async(
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
            let mut batches = self.begin_epoch(train)?;
            let (epoch, steps, batch_size) = (self.epochs_done + 1, batches.steps(), batches.batch_size());
            on_event(Event::EpochStart { epoch, steps, batch_size });
            let epoch_start = Instant::now();
            let lr = self.run_steps(train, &mut batches, epoch_start, on_event).await?;
            let (val_loss, val_accuracy) = self.end_epoch(val, &batches, lr, epoch_start).await?;
            if let Some(r) = self.history.epochs.last() {
                on_event(Event::EpochEnd(r));
            }
            if self.early_stop_check(val_loss, val_accuracy) {
                self.history.stopped_early = true;
                break;
            }
        }
        if let Some(es) = &self.config.early_stopping {
            if self.finished() && es.restore_best && self.history.best_epoch.is_some() {
                self.net.restore_best(self.gpu);
            }
        }
        self.gpu.wait_async().await?;
        Ok(&self.history)
    }

    /// The batches of the next epoch, at the schedule's batch size, in the order drawn from the epoch's starting
    /// random state (so a run resumed mid-epoch sees the same order), from the resume position on; the order is
    /// uploaded for the gathers.
    fn begin_epoch(&mut self, train: &DeviceData) -> Result<EpochBatches> {
        let n = train.rows();
        let b = self.config.batch_size_at(n, self.epochs_done);
        if b > self.net.max_rows() {
            return Err(Error::config(
                "batch_size",
                format!("batch of {b} exceeds the {} the trainer was built for", self.net.max_rows()),
            ));
        }
        if self.step_in_epoch == 0 {
            self.epoch_start_rng = self.rng.state();
        }
        let mut rng = Rng::from_state(self.epoch_start_rng);
        let batches = EpochBatches::new(&mut rng, n, self.config.shuffle, b, self.step_in_epoch);
        self.rng = rng;
        train.set_order(self.gpu, batches.order())?;
        Ok(batches)
    }

    /// Queues the epoch's remaining steps, reporting each (and the running loss every `report_every` steps);
    /// returns the last learning rate. A set stop flag ends it after the current step with `Interrupted`.
    async fn run_steps(
        &mut self,
        train: &DeviceData,
        batches: &mut EpochBatches,
        epoch_start: Instant,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<f64> {
        let epoch = self.epochs_done;
        let base = self.plateau.as_ref().map_or(self.config.optimizer.lr, |p| p.lr());
        let mut lr = base;
        while let Some(batch) = batches.next_batch() {
            lr = self.config.lr_at(base, self.net.steps_done(), epoch);
            self.net.train_step(self.gpu, train, batch.offset, batch.rows, lr)?;
            self.step_in_epoch = batches.position();
            let loss = match self.config.report_every {
                Some(k) if k > 0 && (batch.step + 1) % k == 0 => Some(self.peek_loss().await?),
                _ => None,
            };
            // A resumed epoch starts part-way; its throughput counts only the rows trained now.
            let samples_per_s = batches.rows_done() as f64 / epoch_start.elapsed().as_secs_f64().max(1e-9);
            on_event(Event::Step { step: batch.step + 1, lr, loss, samples_per_s });
            if self.stop.as_ref().is_some_and(|f| f.load(Ordering::SeqCst)) {
                self.gpu.wait_async().await?;
                return Err(Error::Interrupted { epoch: epoch + 1, step: self.net.steps_done() });
            }
        }
        Ok(lr)
    }

    /// Reads the epoch's statistics (failing on a non-finite loss), validates, steps the plateau schedule and
    /// records the epoch; returns the validation loss and accuracy.
    async fn end_epoch(
        &mut self,
        val: Option<&DeviceData>,
        batches: &EpochBatches,
        lr: f64,
        epoch_start: Instant,
    ) -> Result<(Option<f64>, Option<f64>)> {
        let epoch = self.epochs_done;
        let stats = self.net.take_stats_async(self.gpu).await?;
        self.step_in_epoch = 0;
        let secs = epoch_start.elapsed().as_secs_f64();
        let (train_loss, train_accuracy) = mean_stats(stats, self.config.loss);
        if !train_loss.is_finite() {
            let step = self.net.steps_done();
            return Err(Error::Diverged { epoch: epoch + 1, step, lr, loss: train_loss as f32 });
        }
        let (val_loss, val_accuracy) = match val {
            Some(v) => {
                let (l, a) = self.evaluate_async(v).await?;
                (Some(l), a)
            }
            None => (None, None),
        };
        if let Some(p) = self.plateau.as_mut() {
            p.step(val_loss.unwrap_or(train_loss));
        }
        self.history.epochs.push(EpochRecord {
            epoch: epoch + 1,
            train_loss,
            train_accuracy,
            val_loss,
            val_accuracy,
            lr,
            batch_size: batches.batch_size(),
            samples_per_s: batches.rows_done() as f64 / secs.max(1e-9),
            wall_s: epoch_start.elapsed().as_secs_f64(),
        });
        self.epochs_done += 1;
        Ok((val_loss, val_accuracy))
    }

    /// Updates the early-stopping state after an epoch; true when training should stop.
    fn early_stop_check(&mut self, val_loss: Option<f64>, val_accuracy: Option<f64>) -> bool {
        let Some(es) = &self.config.early_stopping else { return false };
        match early_stop_verdict(es, &mut self.best, &mut self.bad_epochs, val_loss, val_accuracy) {
            Verdict::Improved => {
                self.history.best_epoch = Some(self.epochs_done);
                self.net.remember_best(self.gpu);
                false
            }
            Verdict::Wait => false,
            Verdict::Stop => true,
        }
    }

    async fn peek_loss(&self) -> Result<f64> {
        let s = self.net.peek_stats_async(self.gpu).await?;
        Ok(mean_stats(s, self.config.loss).0)
    }

    /// Whether every configured epoch has run (or early stopping ended the run).
    pub fn finished(&self) -> bool {
        self.history.stopped_early || self.epochs_done >= self.config.epochs
    }

    /// Mean loss and (for classification) accuracy over a data set, in file order; blocking (see
    /// [`Trainer::evaluate_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn evaluate(&mut self, data: &DeviceData) -> Result<(f64, Option<f64>)> {
        pollster::block_on(self.evaluate_async(data))
    }

    /// Mean loss and (for classification) accuracy over a data set, in file order.
    pub async fn evaluate_async(&mut self, data: &DeviceData) -> Result<(f64, Option<f64>)> {
        evaluate_network(self.gpu, &mut self.net, data, self.config.loss).await
    }

    /// The network's outputs [rows, outputs] for a data set, in file order; blocking (see
    /// [`Trainer::predict_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn predict(&mut self, data: &DeviceData) -> Result<Vec<f32>> {
        pollster::block_on(self.predict_async(data))
    }

    /// The network's outputs [rows, outputs] for a data set, in file order.
    pub async fn predict_async(&mut self, data: &DeviceData) -> Result<Vec<f32>> {
        data.reset_order(self.gpu)?;
        let mut batches = EpochBatches::in_file_order(data.rows(), self.net.max_rows());
        let mut out = Vec::with_capacity(data.rows() * self.model.output());
        while let Some(batch) = batches.next_batch() {
            out.extend(self.net.predict_batch_async(self.gpu, data, batch.offset, batch.rows).await?);
        }
        Ok(out)
    }
}
