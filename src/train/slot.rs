//! One model's training state in the epoch engine: its options, where it lives in the device groups, its
//! learning-rate plateau, history and early stopping.

use super::events::StopReason;
use crate::gpu::Gpu;
use crate::history::{EpochRecord, History};
use crate::network::NetworkGroup;
use crate::ops::loss::Loss;
use crate::schedule::{LrSchedule, PlateauState};
use crate::train_config::{EarlyStopping, Monitor, TrainConfig};

/// Mean loss and (for classification) accuracy from accumulated [loss sum, correct sum, count].
pub(super) fn mean_stats(s: [f32; 3], loss: Loss) -> (f64, Option<f64>) {
    let n = f64::from(s[2]).max(1.0);
    (f64::from(s[0]) / n, loss.is_classification().then(|| f64::from(s[1]) / n))
}

/// One model's training state: its options, where it lives, its schedule, history and early stopping.
pub(super) struct Slot {
    pub config: TrainConfig,
    /// Which network group holds the model, and its index there.
    pub chunk: usize,
    pub index: usize,
    pub plateau: Option<PlateauState>,
    pub history: History,
    /// Early stopping: the best monitored value so far, and the epochs since it improved.
    pub best: Option<f64>,
    pub bad_epochs: usize,
    pub stop: Option<StopReason>,
}

impl Slot {
    pub fn new(config: TrainConfig, chunk: usize, index: usize) -> Self {
        let plateau = match &config.schedule.kind {
            LrSchedule::Plateau(p) => Some(PlateauState::new(*p, config.optimizer.lr)),
            _ => None,
        };
        Slot { config, chunk, index, plateau, history: History::default(), best: None, bad_epochs: 0, stop: None }
    }

    /// The learning rate schedules start from: the plateau schedule's current one, or the optimizer's.
    pub fn base_lr(&self) -> f64 {
        self.plateau.as_ref().map_or(self.config.optimizer.lr, |p| p.lr())
    }

    /// Early stopping's rule after an epoch: remembers the weights when the monitored metric improved; true when
    /// patience is spent.
    fn early_stop_check(&mut self, gpu: &Gpu, net: &NetworkGroup, val: (Option<f64>, Option<f64>)) -> bool {
        let Some(es) = &self.config.early_stopping else { return false };
        let Some(value) = monitored(es, val) else { return false };
        let improved = match (self.best, es.monitor) {
            (None, _) => true,
            (Some(b), Monitor::ValLoss) => value < b - es.min_delta,
            (Some(b), Monitor::ValAccuracy) => value > b + es.min_delta,
        };
        if improved {
            self.best = Some(value);
            self.bad_epochs = 0;
            self.history.best_epoch = Some(self.history.epochs.len());
            net.remember_best(gpu, self.index);
            return false;
        }
        self.bad_epochs += 1;
        self.bad_epochs >= es.patience.max(1)
    }

    /// Records an epoch (`timing` with the losses and accuracies from the training and validation statistics),
    /// steps the plateau schedule and applies early stopping; a model that stops (patience spent, or its epochs
    /// run) gets its best weights back when asked and is frozen.
    pub fn end_epoch(
        &mut self,
        gpu: &Gpu,
        net: &mut NetworkGroup,
        timing: EpochRecord,
        train: [f32; 3],
        val: Option<[f32; 3]>,
    ) {
        let (train_loss, train_accuracy) = mean_stats(train, self.config.loss);
        let (val_loss, val_accuracy) = match val.map(|v| mean_stats(v, self.config.loss)) {
            Some((l, a)) => (Some(l), a),
            None => (None, None),
        };
        if let Some(p) = self.plateau.as_mut() {
            p.step(val_loss.unwrap_or(train_loss));
        }
        self.history.epochs.push(EpochRecord { train_loss, train_accuracy, val_loss, val_accuracy, ..timing });
        if self.early_stop_check(gpu, net, (val_loss, val_accuracy)) {
            self.history.stopped_early = true;
            self.stop = Some(StopReason::EarlyStop);
        } else if self.history.epochs.len() >= self.config.epochs {
            self.stop = Some(StopReason::Epochs);
        }
        if self.stop.is_some() {
            let restore = self.config.early_stopping.as_ref().is_some_and(|es| es.restore_best);
            if restore && self.history.best_epoch.is_some() {
                net.restore_best(gpu, self.index);
            }
            net.set_frozen(self.index, true);
        }
    }
}

/// The value early stopping watches, from (validation loss, validation accuracy).
fn monitored(es: &EarlyStopping, (loss, accuracy): (Option<f64>, Option<f64>)) -> Option<f64> {
    match es.monitor {
        Monitor::ValLoss => loss,
        Monitor::ValAccuracy => accuracy,
    }
}
