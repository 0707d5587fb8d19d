//! The trainer: epochs of shuffled mini-batches on the device, learning-rate and batch-size schedules, validation,
//! early stopping and the history. Loss and accuracy accumulate on the GPU and are read once per epoch. A lone
//! [`Trainer`] and a [`GroupTrainer`] of K models run the same epoch engine (`engine.rs`) on the same device
//! networks (a lone model is a group of one).

mod engine;
mod events;
// Groups train many models for `wgtrain sweep`: a native command line feature.
#[cfg(not(target_arch = "wasm32"))]
mod group;
#[cfg(not(target_arch = "wasm32"))]
mod member_state;
mod progress;
mod slot;

pub use crate::batches::epoch_order;
pub use crate::train_config::{buffer_rows, EarlyStopping, Monitor, TrainConfig, EVAL_BUFFER_ROWS};
pub use events::{Event, StopReason};
#[cfg(not(target_arch = "wasm32"))]
pub use group::{group_capacity, GroupMember, GroupProgress, GroupTrainer, MemberOutcome, DEFAULT_GROUP_BYTES};
#[cfg(not(target_arch = "wasm32"))]
pub use member_state::MemberState;
pub use progress::Progress;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use engine::{evaluate_models, Engine};
use slot::{mean_stats, Slot};

use crate::batches::EpochBatches;
use crate::error::Result;
use crate::gpu::Gpu;
use crate::history::History;
use crate::model::MlpConfig;
use crate::network::{DeviceData, Network};

/// A model being trained: the architecture, its parameters on the device, and the training state.
pub struct Trainer<'g> {
    gpu: &'g Gpu,
    model: MlpConfig,
    net: Network,
    engine: Engine,
}

impl<'g> Trainer<'g> {
    /// A trainer for `model` starting from flat `params`, with buffers for batches of up to `max_batch` rows.
    pub fn new(gpu: &'g Gpu, model: &MlpConfig, params: &[f32], config: TrainConfig, max_batch: usize) -> Result<Self> {
        config.validate()?;
        let mut net = Network::new(gpu, model, config.loss, &config.optimizer, params, max_batch)?;
        net.set_class_weights(gpu, config.class_weights.as_deref())?;
        net.set_weight_l2(&[config.weight_l2])?;
        net.set_precision(gpu, config.precision)?;
        if config.precision.scales_loss() {
            net.set_loss_scaling(gpu, Some(&[config.loss_scaling]))?;
        }
        let seed = config.seed;
        Ok(Trainer { gpu, model: model.clone(), net, engine: Engine::new(vec![Slot::new(config, 0, 0)], seed, true) })
    }

    fn slot(&self) -> &Slot {
        &self.engine.slots[0]
    }

    /// A flag that, once set (e.g. by a Ctrl-C handler), ends training after the current step.
    pub fn set_stop_flag(&mut self, flag: Arc<AtomicBool>) {
        self.engine.stop = Some(flag);
    }

    /// The flat optimizer state, blocking until queued steps are done (see [`Trainer::optimizer_state_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn optimizer_state(&self) -> Result<Vec<f32>> {
        pollster::block_on(self.optimizer_state_async())
    }

    /// The flat optimizer state, once queued steps are done.
    pub async fn optimizer_state_async(&self) -> Result<Vec<f32>> {
        self.net.optimizer_state_async(self.gpu, 0).await
    }

    /// Early stopping's remembered best parameters, blocking (see [`Trainer::best_params_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn best_params(&self) -> Result<Vec<f32>> {
        pollster::block_on(self.best_params_async())
    }

    /// Early stopping's remembered best parameters, once queued steps are done.
    pub async fn best_params_async(&self) -> Result<Vec<f32>> {
        self.net.best_params_async(self.gpu, 0).await
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
        &self.slot().history
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
        let tcols = self.slot().config.loss.target_cols(self.model.output());
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
        let nets = std::slice::from_mut(self.net.group());
        self.engine.run(self.gpu, nets, train, val, max_epochs, &mut |e, _| on_event(e)).await?;
        Ok(&self.slot().history)
    }

    /// Whether every configured epoch has run (or early stopping ended the run).
    pub fn finished(&self) -> bool {
        self.slot().history.stopped_early || self.engine.epochs_done >= self.slot().config.epochs
    }

    /// Mean loss and (for classification) accuracy over a data set, in file order; blocking (see
    /// [`Trainer::evaluate_async`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn evaluate(&mut self, data: &DeviceData) -> Result<(f64, Option<f64>)> {
        pollster::block_on(self.evaluate_async(data))
    }

    /// Mean loss and (for classification) accuracy over a data set, in file order.
    pub async fn evaluate_async(&mut self, data: &DeviceData) -> Result<(f64, Option<f64>)> {
        let stats = evaluate_models(self.gpu, self.net.group(), data).await?;
        Ok(mean_stats(stats[0], self.slot().config.loss))
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
            out.extend(self.net.predict_batch_async(self.gpu, data, batch.offset, batch.rows, 0).await?);
        }
        Ok(out)
    }
}
