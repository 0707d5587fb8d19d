//! torch.optim.lr_scheduler.ReduceLROnPlateau (threshold_mode='rel'), with its state as plain data so that a
//! checkpoint can store it and a resumed run continues exactly where it stopped.

use crate::error::{Error, Result};

/// Settings of ReduceLROnPlateau; `Default` gives torch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlateauConfig {
    /// New lr = max(min_lr, lr·factor); in (0, 1). torch: 0.1.
    pub factor: f64,
    /// Bad epochs tolerated before a reduction. torch: 10.
    pub patience: u64,
    /// Epochs after a reduction during which bad epochs are not counted. torch: 0.
    pub cooldown: u64,
    /// Lower bound of the learning rate. torch: 0.
    pub min_lr: f64,
    /// Relative improvement: better iff a < best·(1−threshold) (min) or a > best·(1+threshold) (max). torch: 1e-4.
    pub threshold: f64,
    /// Maximize the metric (e.g. accuracy) instead of minimizing it. torch: false ('min').
    pub mode_max: bool,
}

impl Default for PlateauConfig {
    fn default() -> Self {
        PlateauConfig { factor: 0.1, patience: 10, cooldown: 0, min_lr: 0.0, threshold: 1e-4, mode_max: false }
    }
}

impl PlateauConfig {
    /// Checks factor ∈ (0, 1), min_lr ≥ 0 and threshold ≥ 0, all finite.
    pub fn validate(&self) -> Result<()> {
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Err(Error::config("plateau factor", format!("must be in (0, 1), got {}", self.factor)));
        }
        if !(self.min_lr >= 0.0 && self.min_lr.is_finite()) {
            return Err(Error::config("plateau min_lr", format!("must be finite and ≥ 0, got {}", self.min_lr)));
        }
        if !(self.threshold >= 0.0 && self.threshold.is_finite()) {
            return Err(Error::config("plateau threshold", format!("must be finite and ≥ 0, got {}", self.threshold)));
        }
        Ok(())
    }
}

/// A reduction happens only when old_lr − new_lr > this (torch's `eps`).
pub const PLATEAU_EPS: f64 = 1e-8;

/// The state of torch.optim.lr_scheduler.ReduceLROnPlateau (threshold_mode='rel'), plain data for checkpoints.
#[derive(Clone, Debug, PartialEq)]
pub struct PlateauState {
    /// The settings.
    pub config: PlateauConfig,
    /// Best metric so far; +∞ (min mode) or −∞ (max mode) before the first step.
    pub best: f64,
    /// Consecutive epochs without improvement.
    pub num_bad_epochs: u64,
    /// Epochs of cooldown left.
    pub cooldown_counter: u64,
    /// The current learning rate.
    pub lr: f64,
}

impl PlateauState {
    /// A fresh state at learning rate `base_lr`.
    pub fn new(config: PlateauConfig, base_lr: f64) -> Self {
        let best = if config.mode_max { f64::NEG_INFINITY } else { f64::INFINITY };
        PlateauState { config, best, num_bad_epochs: 0, cooldown_counter: 0, lr: base_lr }
    }

    /// The current learning rate.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// torch's `is_better` in 'rel' mode; NaN is never better, as in torch.
    pub fn is_better(&self, metric: f64) -> bool {
        if self.config.mode_max {
            metric > self.best * (1.0 + self.config.threshold)
        } else {
            metric < self.best * (1.0 - self.config.threshold)
        }
    }

    /// Records one epoch's metric and returns the learning rate for the next epoch (torch `step`).
    pub fn step(&mut self, metric: f64) -> f64 {
        if self.is_better(metric) {
            self.best = metric;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        // Same order as torch: the cooldown epoch's bad count is discarded after being incremented.
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > self.config.patience {
            let new_lr = (self.lr * self.config.factor).max(self.config.min_lr);
            // torch ignores reductions smaller than eps so that lr stops moving near min_lr.
            if self.lr - new_lr > PLATEAU_EPS {
                self.lr = new_lr;
            }
            self.cooldown_counter = self.config.cooldown;
            self.num_bad_epochs = 0;
        }
        self.lr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} != {b}");
    }

    #[test]
    fn plateau_follows_hand_traced_torch_sequence() {
        // torch: ReduceLROnPlateau(opt(lr=1), factor=0.5, patience=1, cooldown=1, min_lr=0.2), threshold 1e-4 rel.
        // epoch metric  better?            bad  cooldown  lr after step
        //  1    10      yes (inf)          0    0         1
        //  2     9      yes (9 < 9.999)    0    0         1
        //  3     9      no                 1    0         1
        //  4     9      no → 2 > 1 reduce  0    1         0.5
        //  5     9      no → 1, cooldown   0    0         0.5
        //  6     8      yes                0    0         0.5
        //  7     8      no                 1    0         0.5
        //  8     8      no → reduce        0    1         0.25
        //  9     8      no → cooldown      0    0         0.25
        // 10     8      no                 1    0         0.25
        // 11     8      no → reduce        0    1         0.2 (max(0.125, 0.2); 0.05 > eps)
        // 12     8      no → cooldown      0    0         0.2
        // 13     8      no                 1    0         0.2
        // 14     8      no → "reduce"      0    1         0.2 (0.2 − 0.2 = 0 ≤ eps: unchanged)
        let cfg = PlateauConfig { factor: 0.5, patience: 1, cooldown: 1, min_lr: 0.2, ..Default::default() };
        let mut s = PlateauState::new(cfg, 1.0);
        let trace = [
            (10.0, 1.0, 0, 0),
            (9.0, 1.0, 0, 0),
            (9.0, 1.0, 1, 0),
            (9.0, 0.5, 0, 1),
            (9.0, 0.5, 0, 0),
            (8.0, 0.5, 0, 0),
            (8.0, 0.5, 1, 0),
            (8.0, 0.25, 0, 1),
            (8.0, 0.25, 0, 0),
            (8.0, 0.25, 1, 0),
            (8.0, 0.2, 0, 1),
            (8.0, 0.2, 0, 0),
            (8.0, 0.2, 1, 0),
            (8.0, 0.2, 0, 1),
        ];
        for (epoch, &(metric, lr, bad, cooldown)) in trace.iter().enumerate() {
            assert_eq!(s.step(metric), lr, "epoch {}", epoch + 1);
            assert_eq!((s.num_bad_epochs, s.cooldown_counter), (bad, cooldown), "epoch {}", epoch + 1);
            assert_eq!(s.lr(), lr);
        }
        assert_eq!(s.best, 8.0);
    }

    #[test]
    fn plateau_threshold_eps_and_max_mode() {
        let cfg = PlateauConfig { patience: 0, ..Default::default() };
        let mut s = PlateauState::new(cfg, 1.0);
        s.step(1.0);
        // 0.99995 is not below 1·(1 − 1e-4): a bad epoch, and patience 0 reduces at once.
        close(s.step(0.99995), 0.1);
        assert_eq!(s.best, 1.0);
        close(s.step(f64::NAN), 0.01);

        // 1.5e-8 → 1.5e-9 drops by more than eps; 1.5e-9 → 1.5e-10 does not, so lr stays.
        let mut s = PlateauState::new(cfg, 1.5e-8);
        s.step(1.0);
        close(s.step(2.0), 1.5e-9);
        close(s.step(2.0), 1.5e-9);

        let cfg = PlateauConfig { patience: 1, factor: 0.5, mode_max: true, ..Default::default() };
        let mut s = PlateauState::new(cfg, 1.0);
        assert_eq!(s.best, f64::NEG_INFINITY);
        let lrs: Vec<f64> = [0.5, 0.6, 0.6, 0.6, 0.7].iter().map(|&m| s.step(m)).collect();
        assert_eq!(lrs, [1.0, 1.0, 1.0, 0.5, 0.5]);
        assert_eq!(s.best, 0.7);
    }

    #[test]
    fn plateau_config_validation() {
        assert!(PlateauConfig::default().validate().is_ok());
        assert!(PlateauConfig { factor: 1.0, ..Default::default() }.validate().is_err());
        assert!(PlateauConfig { min_lr: -1.0, ..Default::default() }.validate().is_err());
        assert!(PlateauConfig { threshold: f64::NAN, ..Default::default() }.validate().is_err());
    }
}
