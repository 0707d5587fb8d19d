//! A group: K models of one architecture trained together by the epoch engine a lone trainer runs. Every model
//! sees the same batches in the same order (one shuffle, seeded by the group's data seed); each has its own
//! initial weights, optimizer hyperparameters, schedule, early stopping and divergence check. The models live in a
//! [`NetworkGroup`]: [K × P] parameter, gradient and state buffers, every kernel one launch for all K, one
//! submission per step. A model that stops early or diverges is frozen while the others go on. Groups larger than
//! one [`NetworkGroup`] may hold (device buffer limits) are split into several, each stepped in turn.
//!
//! A model ends with exactly the weights a [`Trainer`](super::Trainer) gives it alone, with the same options, the
//! same initial weights and `seed` set to the group's data seed: each model's products are summed by the same
//! kernels in the same order, so the result is bitwise the same (`tests/group.rs` checks it for every optimizer).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::engine::Engine;
use super::events::{Event, StopReason};
use super::slot::Slot;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::history::History;
use crate::model::MlpConfig;
use crate::network::{DeviceData, NetworkGroup};
use crate::train_config::TrainConfig;

/// Device memory a group may use unless told otherwise: larger groups are split (see [`group_capacity`]).
pub const DEFAULT_GROUP_BYTES: u64 = 1 << 30;

/// One model of a group: how it trains and where it starts. `config.seed` is not used for shuffling (the group's
/// data seed is); it is the caller's to use for initialisation.
#[derive(Clone, Debug)]
pub struct GroupMember {
    /// Loss, optimizer, schedule, epochs and early stopping of this model.
    pub config: TrainConfig,
    /// Initial flat parameters (in the architecture's layout).
    pub params: Vec<f32>,
}

/// Where a group's training stands, after each submitted step.
#[derive(Clone, Copy, Debug)]
pub struct GroupProgress {
    /// Epoch from 1.
    pub epoch: usize,
    /// The most epochs any model of the group runs.
    pub epochs: usize,
    /// Step within the epoch, from 1.
    pub step: usize,
    /// Steps in this epoch.
    pub steps: usize,
    /// Models still training.
    pub active: usize,
}

/// What one model of a group ended with.
#[derive(Clone, Debug)]
pub struct MemberOutcome {
    /// One record per finished epoch (a diverged epoch is not recorded, as with [`Trainer`](super::Trainer)).
    pub history: History,
    /// Why it stopped.
    pub stop: StopReason,
    /// The final flat parameters (the best epoch's when early stopping restored them).
    pub params: Vec<f32>,
}

/// K models of one architecture training in lockstep on one device.
pub struct GroupTrainer<'g> {
    pub(super) gpu: &'g Gpu,
    pub(super) chunks: Vec<NetworkGroup>,
    pub(super) engine: Engine,
}

/// How many models of this architecture and optimizer fit in `budget` bytes of device memory (at least 1).
pub fn group_capacity(model: &MlpConfig, config: &TrainConfig, max_batch: usize, budget: u64) -> usize {
    let per = NetworkGroup::device_bytes_per_model(model, &config.optimizer, max_batch).max(1);
    ((budget / per) as usize).max(1)
}

/// The first option two members of a group may not differ in, if any.
fn incompatible(a: &TrainConfig, b: &TrainConfig) -> Option<&'static str> {
    if a.loss != b.loss {
        Some("loss")
    } else if a.batch_size != b.batch_size || a.batch_growth != b.batch_growth {
        Some("batch_size")
    } else if a.optimizer.kind != b.optimizer.kind {
        Some("optimizer")
    } else if a.shuffle != b.shuffle {
        Some("shuffle")
    } else if a.class_weights != b.class_weights {
        Some("class_weights")
    } else if a.precision != b.precision {
        Some("precision")
    } else {
        None
    }
}

impl<'g> GroupTrainer<'g> {
    /// A group of `members` of architecture `model`, shuffled with `data_seed`, with buffers for batches of up to
    /// `max_batch` rows. Members must share the loss, batch size (and growth), optimizer kind, shuffling and class
    /// weights; everything else may differ.
    pub fn new(
        gpu: &'g Gpu,
        model: &MlpConfig,
        members: Vec<GroupMember>,
        data_seed: u64,
        max_batch: usize,
    ) -> Result<Self> {
        let Some(first) = members.first().map(|m| m.config.clone()) else {
            return Err(Error::config("group", "needs at least one model"));
        };
        for (i, m) in members.iter().enumerate() {
            m.config.validate()?;
            if let Some(field) = incompatible(&first, &m.config) {
                let reason = format!("model {i} differs from model 0 in {field}; a group shares it");
                return Err(Error::config("group", reason));
            }
        }
        let per_chunk = NetworkGroup::max_models(gpu, model, &first.optimizer, max_batch);
        let mut slots = Vec::with_capacity(members.len());
        let mut chunks = Vec::new();
        for (c, part) in members.chunks(per_chunk).enumerate() {
            let optimizers: Vec<_> = part.iter().map(|m| m.config.optimizer.clone()).collect();
            let params: Vec<Vec<f32>> = part.iter().map(|m| m.params.clone()).collect();
            let mut net = NetworkGroup::new(gpu, model, first.loss, &optimizers, &params, max_batch)?;
            net.set_class_weights(gpu, first.class_weights.as_deref())?;
            net.set_weight_l2(&part.iter().map(|m| m.config.weight_l2).collect::<Vec<_>>())?;
            net.set_precision(gpu, first.precision)?;
            if first.precision.scales_loss() {
                net.set_loss_scaling(gpu, Some(&part.iter().map(|m| m.config.loss_scaling).collect::<Vec<_>>()))?;
            }
            chunks.push(net);
            slots.extend(part.iter().enumerate().map(|(index, m)| Slot::new(m.config.clone(), c, index)));
        }
        Ok(GroupTrainer { gpu, chunks, engine: Engine::new(slots, data_seed, false) })
    }

    /// The number of models.
    pub fn len(&self) -> usize {
        self.engine.slots.len()
    }

    /// Whether the group has no models (never true: a group is built with at least one).
    pub fn is_empty(&self) -> bool {
        self.engine.slots.is_empty()
    }

    /// A flag that, once set (e.g. by a Ctrl-C handler), ends training after the current step.
    pub fn set_stop_flag(&mut self, flag: Arc<AtomicBool>) {
        self.engine.stop = Some(flag);
    }

    /// Trains every model for its configured epochs, or until it stops early or diverges.
    pub fn fit(
        &mut self,
        train: &DeviceData,
        val: Option<&DeviceData>,
        on_progress: &mut dyn FnMut(GroupProgress),
    ) -> Result<()> {
        self.fit_epochs(train, val, usize::MAX, on_progress)
    }

    /// Like [`GroupTrainer::fit`], but runs at most `max_epochs` more epochs; a later call continues exactly where
    /// this one stopped (a rung of successive halving, a checkpoint between epochs).
    pub fn fit_epochs(
        &mut self,
        train: &DeviceData,
        val: Option<&DeviceData>,
        max_epochs: usize,
        on_progress: &mut dyn FnMut(GroupProgress),
    ) -> Result<()> {
        let epochs = self.engine.slots.iter().map(|s| s.config.epochs).max().unwrap_or(0);
        let (mut epoch, mut steps) = (0, 0);
        let mut on_event = |event: Event<'_>, active: usize| match event {
            Event::EpochStart { epoch: e, steps: s, .. } => (epoch, steps) = (e, s),
            Event::Step { step, .. } => on_progress(GroupProgress { epoch, epochs, step, steps, active }),
            Event::EpochEnd(_) => {}
        };
        pollster::block_on(self.engine.run(self.gpu, &mut self.chunks, train, val, max_epochs, &mut on_event))
    }

    /// Completed epochs (the same for every model: a stopped model's history simply ends earlier).
    pub fn epochs_done(&self) -> usize {
        self.engine.epochs_done
    }

    /// Each model's history, stop reason and final parameters, in member order (waits for queued steps).
    pub fn outcomes(&self) -> Result<Vec<MemberOutcome>> {
        self.engine
            .slots
            .iter()
            .map(|s| {
                Ok(MemberOutcome {
                    history: s.history.clone(),
                    stop: s.stop.unwrap_or(StopReason::Epochs),
                    params: pollster::block_on(self.chunks[s.chunk].params_async(self.gpu, s.index))?,
                })
            })
            .collect()
    }
}
