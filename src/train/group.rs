//! A group: K models of one architecture trained together. Every model sees the same batches in the same order
//! (one shuffle, seeded by the group's data seed); each has its own initial weights, optimizer hyperparameters,
//! schedule, early stopping and divergence check. The models live in a [`NetworkGroup`]: [K × P] parameter,
//! gradient and state buffers, every matmul and the optimizer one launch for all K (per-model learning rates,
//! schedule values and hyperparameters from a per-model buffer written once per step), one submission per step.
//! A model that stops early or diverges is frozen (the optimizer leaves it alone) while the others go on. Groups
//! larger than one [`NetworkGroup`] may hold (device buffer limits) are split into several, each stepped in turn.
//!
//! A model ends with exactly the weights a [`Trainer`](super::Trainer) gives it alone, with the same options, the
//! same initial weights and `seed` set to the group's data seed: each model's products are summed by the same
//! kernels in the same order, so the result is bitwise the same (`tests/group.rs` checks it for every optimizer).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::{early_stop_verdict, epoch_order, mean_stats, TrainConfig, Verdict};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::history::{EpochRecord, History};
use crate::internal::rng::Rng;
use crate::model::MlpConfig;
use crate::network::{DeviceData, NetworkGroup};
use crate::schedule::{LrSchedule, PlateauState};

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

/// Why a model of a group stopped training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// It ran all its epochs.
    Epochs,
    /// Early stopping ended it (its best weights were put back when asked).
    EarlyStop,
    /// Its training loss became NaN or infinite; it was frozen.
    Diverged,
}

impl StopReason {
    /// `epochs`, `early-stop` or `diverged`.
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Epochs => "epochs",
            StopReason::EarlyStop => "early-stop",
            StopReason::Diverged => "diverged",
        }
    }

    /// The inverse of [`StopReason::name`].
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "epochs" => Ok(StopReason::Epochs),
            "early-stop" => Ok(StopReason::EarlyStop),
            "diverged" => Ok(StopReason::Diverged),
            _ => Err(Error::config("stop", format!("{s:?}: expected epochs, early-stop or diverged"))),
        }
    }
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

struct Slot {
    config: TrainConfig,
    /// Which network group holds the model, and its index there.
    chunk: usize,
    index: usize,
    plateau: Option<PlateauState>,
    history: History,
    best: Option<f64>,
    bad_epochs: usize,
    stop: Option<StopReason>,
}

/// K models of one architecture training in lockstep on one device.
pub struct GroupTrainer<'g> {
    gpu: &'g Gpu,
    slots: Vec<Slot>,
    chunks: Vec<NetworkGroup>,
    rng: Rng,
    shuffle: bool,
    epochs_done: usize,
    stop: Option<Arc<AtomicBool>>,
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
            chunks.push(net);
            for (index, m) in part.iter().enumerate() {
                let plateau = match &m.config.schedule.kind {
                    LrSchedule::Plateau(p) => Some(PlateauState::new(*p, m.config.optimizer.lr)),
                    _ => None,
                };
                slots.push(Slot {
                    config: m.config.clone(),
                    chunk: c,
                    index,
                    plateau,
                    history: History::default(),
                    best: None,
                    bad_epochs: 0,
                    stop: None,
                });
            }
        }
        Ok(GroupTrainer {
            gpu,
            slots,
            chunks,
            rng: Rng::new(data_seed),
            shuffle: first.shuffle,
            epochs_done: 0,
            stop: None,
        })
    }

    /// The number of models.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the group has no models (never true: a group is built with at least one).
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// A flag that, once set (e.g. by a Ctrl-C handler), ends training after the current step.
    pub fn set_stop_flag(&mut self, flag: Arc<AtomicBool>) {
        self.stop = Some(flag);
    }

    /// Trains every model for its configured epochs, or until it stops early or diverges.
    pub fn fit(
        &mut self,
        train: &DeviceData,
        val: Option<&DeviceData>,
        on_progress: &mut dyn FnMut(GroupProgress),
    ) -> Result<()> {
        if val.is_none() && self.slots.iter().any(|s| s.config.early_stopping.is_some()) {
            return Err(Error::config("early_stopping", "needs a validation set (--val or --val-split)"));
        }
        let n = train.rows();
        let epochs = self.slots.iter().map(|s| s.config.epochs).max().unwrap_or(0);
        let first = self.slots.first().map_or(1, |s| s.config.batch_size_at(n, 0));
        for c in &mut self.chunks {
            c.prepare(self.gpu, train, first)?;
        }
        while self.epochs_done < epochs {
            let epoch = self.epochs_done;
            let Some(lead) = self.slots.iter().find(|s| s.stop.is_none()) else { break };
            let b = lead.config.batch_size_at(n, epoch);
            let max_rows = self.chunks[lead.chunk].max_rows();
            if b > max_rows {
                return Err(Error::config(
                    "batch_size",
                    format!("batch of {b} exceeds the {max_rows} the group was built for"),
                ));
            }
            let order = epoch_order(&mut self.rng, n, self.shuffle);
            train.set_order(self.gpu, &order)?;
            let steps = n.div_ceil(b);
            let start = Instant::now();
            let active = self.slots.iter().filter(|s| s.stop.is_none()).count();
            for s in 0..steps {
                let offset = s * b;
                let rows = b.min(n - offset);
                for (c, net) in self.chunks.iter_mut().enumerate() {
                    let members = self.slots.iter().filter(|s| s.chunk == c);
                    if members.clone().all(|s| s.stop.is_some()) {
                        continue;
                    }
                    let lrs: Vec<f64> = members
                        .map(|slot| {
                            let base = slot.plateau.as_ref().map_or(slot.config.optimizer.lr, |p| p.lr());
                            slot.config.lr_at(base, net.steps_done(slot.index), epoch)
                        })
                        .collect();
                    net.train_step(self.gpu, train, offset, rows, &lrs)?;
                }
                on_progress(GroupProgress { epoch: epoch + 1, epochs, step: s + 1, steps, active });
                if self.stop.as_ref().is_some_and(|f| f.load(Ordering::SeqCst)) {
                    self.gpu.wait()?;
                    let step = self.slots.iter().map(|s| self.chunks[s.chunk].steps_done(s.index)).max().unwrap_or(0);
                    return Err(Error::Interrupted { epoch: epoch + 1, step });
                }
            }
            for (c, net) in self.chunks.iter_mut().enumerate() {
                if self.slots.iter().filter(|s| s.chunk == c).all(|s| s.stop.is_some()) {
                    continue;
                }
                let train_stats = pollster::block_on(net.take_stats_async(self.gpu))?;
                let val_stats = match val {
                    Some(v) => Some(evaluate_group(self.gpu, net, v)?),
                    None => None,
                };
                for slot in self.slots.iter_mut().filter(|s| s.chunk == c && s.stop.is_none()) {
                    let m = slot.index;
                    let val_stats = val_stats.as_ref().map(|v| v[m]);
                    slot.end_epoch(self.gpu, net, train_stats[m], val_stats, epoch, b, n, start)?;
                    if slot.stop.is_some() {
                        net.set_frozen(m, true);
                    }
                }
            }
            self.epochs_done += 1;
        }
        self.gpu.wait()
    }

    /// Each model's history, stop reason and final parameters, in member order (waits for queued steps).
    pub fn outcomes(&self) -> Result<Vec<MemberOutcome>> {
        self.slots
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

impl Slot {
    /// Takes the epoch's training and validation statistics and applies the plateau schedule, early stopping and
    /// divergence.
    #[allow(clippy::too_many_arguments)]
    fn end_epoch(
        &mut self,
        gpu: &Gpu,
        net: &NetworkGroup,
        train_stats: [f32; 3],
        val_stats: Option<[f32; 3]>,
        epoch: usize,
        b: usize,
        n: usize,
        start: Instant,
    ) -> Result<()> {
        let (train_loss, train_accuracy) = mean_stats(train_stats, self.config.loss);
        if !train_loss.is_finite() {
            // Frozen where it stands, as a run alone would stop with an error here.
            self.stop = Some(StopReason::Diverged);
            return Ok(());
        }
        let base = self.plateau.as_ref().map_or(self.config.optimizer.lr, |p| p.lr());
        let lr = self.config.lr_at(base, net.steps_done(self.index).saturating_sub(1), epoch);
        let (val_loss, val_accuracy) = match val_stats {
            Some(v) => {
                let (l, a) = mean_stats(v, self.config.loss);
                (Some(l), a)
            }
            None => (None, None),
        };
        if let Some(p) = self.plateau.as_mut() {
            p.step(val_loss.unwrap_or(train_loss));
        }
        let secs = start.elapsed().as_secs_f64();
        self.history.epochs.push(EpochRecord {
            epoch: epoch + 1,
            train_loss,
            train_accuracy,
            val_loss,
            val_accuracy,
            lr,
            batch_size: b,
            samples_per_s: n as f64 / secs.max(1e-9),
            wall_s: secs,
        });
        if self.early_stop_check(gpu, net, val_loss, val_accuracy) {
            self.history.stopped_early = true;
            self.stop = Some(StopReason::EarlyStop);
        } else if self.history.epochs.len() >= self.config.epochs {
            self.stop = Some(StopReason::Epochs);
        }
        if self.stop.is_some() {
            if let Some(es) = &self.config.early_stopping {
                if es.restore_best && self.history.best_epoch.is_some() {
                    net.restore_best(gpu, self.index);
                }
            }
        }
        Ok(())
    }

    /// The trainer's early-stopping rule, per model.
    fn early_stop_check(
        &mut self,
        gpu: &Gpu,
        net: &NetworkGroup,
        val_loss: Option<f64>,
        val_accuracy: Option<f64>,
    ) -> bool {
        let Some(es) = &self.config.early_stopping else { return false };
        match early_stop_verdict(es, &mut self.best, &mut self.bad_epochs, val_loss, val_accuracy) {
            Verdict::Improved => {
                self.history.best_epoch = Some(self.history.epochs.len());
                net.remember_best(gpu, self.index);
                false
            }
            Verdict::Wait => false,
            Verdict::Stop => true,
        }
    }
}

/// Each model's statistics over `data` in file order, in batches of the group's largest size.
fn evaluate_group(gpu: &Gpu, net: &mut NetworkGroup, data: &DeviceData) -> Result<Vec<[f32; 3]>> {
    data.reset_order(gpu)?;
    let mut batches = crate::batches::EpochBatches::in_file_order(data.rows(), net.max_rows());
    while let Some(batch) = batches.next_batch() {
        net.evaluate_batch(gpu, data, batch.offset, batch.rows)?;
    }
    pollster::block_on(net.take_stats_async(gpu))
}
