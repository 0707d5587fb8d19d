//! What to train with: the loss, optimizer, schedules, batch sizes and stopping rule (`train::TrainConfig`), kept
//! below the trainer so the CPU reference trainer can read it.

use crate::error::{Error, Result};
use crate::ops::loss::Loss;
use crate::optim::OptimizerConfig;
use crate::precision::{LossScaling, Precision};
use crate::schedule::{BatchGrowth, LrSchedule, Schedule, SchedulePer};

/// The most rows of an evaluation set a front end sizes the trainer's buffers for; larger sets are evaluated in
/// chunks of the buffer size, so this caps device memory without limiting the set.
pub const EVAL_BUFFER_ROWS: usize = 1024;

/// Rows to allocate for training batches of up to `batch_rows` rows and evaluation of `eval_rows` rows: the larger of
/// the batch and the evaluation set capped at [`EVAL_BUFFER_ROWS`], at least 1.
pub fn buffer_rows(batch_rows: usize, eval_rows: usize) -> usize {
    batch_rows.max(eval_rows.min(EVAL_BUFFER_ROWS)).max(1)
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
    /// Cross-entropy class weights w[c] (PyTorch's `CrossEntropyLoss(weight=…)`): the loss is
    /// Σ w[yᵢ]·nllᵢ / Σ w[yᵢ] over each batch. None = unweighted.
    pub class_weights: Option<Vec<f32>>,
    /// scikit-learn's `alpha`: an L2 penalty on the weights only (not the biases), independent of the optimizer.
    /// Each batch's loss gains 0.5·weight_l2·Σ‖W‖²/rows and each weight's gradient weight_l2·W/rows, rows being
    /// that batch's size (the statistics report the data loss alone). 0 = none.
    pub weight_l2: f64,
    /// The step's element type: f32 (the default) or f16 where the adapter has `SHADER_F16` (see [`Precision`]).
    pub precision: Precision,
    /// The dynamic loss scaling half precision trains with (torch.amp.GradScaler's defaults); unused in f32.
    pub loss_scaling: LossScaling,
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
            class_weights: None,
            weight_l2: 0.0,
            precision: Precision::F32,
            loss_scaling: LossScaling::default(),
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
        if let Some(w) = &self.class_weights {
            if self.loss != Loss::CrossEntropy {
                return Err(Error::config("class_weights", "apply to the cross-entropy loss only"));
            }
            if w.iter().any(|v| !v.is_finite() || *v < 0.0) || !w.iter().any(|v| *v > 0.0) {
                return Err(Error::config("class_weights", "must be finite, ≥ 0 and not all 0"));
            }
        }
        if !self.weight_l2.is_finite() || self.weight_l2 < 0.0 {
            return Err(Error::config("weight_l2", "must be a finite number ≥ 0"));
        }
        if self.precision.scales_loss() {
            self.loss_scaling.validate()?;
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

    /// Rows the trainer's buffers need for `train_rows` training rows (the largest batch any epoch uses) and an
    /// evaluation set of `eval_rows` rows (0 for none): see [`buffer_rows`].
    pub fn buffer_rows(&self, train_rows: usize, eval_rows: usize) -> usize {
        buffer_rows(self.max_batch(train_rows), eval_rows)
    }

    /// The learning rate of optimizer step `t` (from 0) in `epoch` (from 0); `base` is the plateau-adjusted lr.
    pub fn lr_at(&self, base: f64, t: u64, epoch: usize) -> f64 {
        match self.schedule.per {
            SchedulePer::Step => self.schedule.lr(base, t),
            SchedulePer::Epoch => self.schedule.lr(base, epoch as u64),
        }
    }
}
