//! A sweep's configurations ready to train, how they pack into groups, and where a sweep stands between epochs as
//! plain data ([`SweepState`]): each group of the current rung with its models' states, the rung, and the
//! configurations already done. Saving that state and running on from it continues the sweep exactly.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::results::{ConfigResult, FinalMetrics};
use super::Assignment;
use crate::history::History;
use crate::model::MlpConfig;
use crate::train::{group_capacity, MemberState, StopReason, TrainConfig};

/// One configuration of a sweep, ready to train.
#[derive(Clone, Debug)]
pub struct Planned {
    /// Position in the whole sweep (grid or draw order).
    pub index: usize,
    /// The swept options, as given.
    pub assignment: Assignment,
    /// The architecture.
    pub model: MlpConfig,
    /// How it trains.
    pub config: TrainConfig,
    /// Initial flat parameters.
    pub params: Vec<f32>,
    /// Configurations with equal keys may train in one group.
    pub key: String,
}

impl Planned {
    /// A configuration, keyed by what the models of a group must share: the architecture, loss, batch size (and
    /// growth), optimizer kind, shuffling, class weights and precision.
    pub fn new(index: usize, assignment: Assignment, model: MlpConfig, config: TrainConfig, params: Vec<f32>) -> Self {
        let c = &config;
        let key = format!(
            "{:?}|{}|{:?}|{:?}|{}|{}|{:?}|{}",
            model,
            c.loss.name(),
            c.batch_size,
            c.batch_growth,
            c.optimizer.kind.name(),
            c.shuffle,
            c.class_weights,
            c.precision.name()
        );
        Planned { index, assignment, model, config, params, key }
    }
}

/// One group of the current rung: positions in the plan, and the models' states once it has trained (None: it
/// starts from the planned parameters).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupRun {
    /// Positions in the plan, in sweep order.
    pub members: Vec<usize>,
    /// The models' states after the epochs run so far, in member order.
    pub states: Option<Vec<MemberState>>,
}

/// A configuration that trains no further.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finished {
    /// Position in the plan.
    pub member: usize,
    /// Why it stopped.
    pub stop: StopReason,
    /// Its epochs.
    pub history: History,
    /// The weights it ends with (early stopping's best when it restores them).
    pub params: Vec<f32>,
}

/// Where a sweep stands between epochs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepState {
    /// The rung being trained (0 for a plain sweep, which has one).
    pub rung: usize,
    /// The rung's groups, trained in turn.
    pub groups: Vec<GroupRun>,
    /// The configurations done, in the order they finished.
    pub finished: Vec<Finished>,
}

/// The rows a group's buffers hold and the budget that caps its size.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sizes {
    pub train_rows: usize,
    pub val_rows: usize,
    pub max_group: Option<usize>,
    pub group_bytes: u64,
}

/// Packs plan positions (with their states, if any) into groups: equal keys together in first-seen order, each
/// group cut to what fits in `sizes.group_bytes` of device memory and `sizes.max_group` models.
pub(super) fn pack(plan: &[Planned], members: Vec<(usize, Option<MemberState>)>, sizes: Sizes) -> Vec<GroupRun> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_key: HashMap<&str, Vec<(usize, Option<MemberState>)>> = HashMap::new();
    for (m, state) in members {
        let key = plan[m].key.as_str();
        if !by_key.contains_key(key) {
            order.push(key);
        }
        by_key.entry(key).or_default().push((m, state));
    }
    let mut out = Vec::new();
    for key in order {
        let mut members = by_key.remove(key).unwrap_or_default();
        let Some(&(first, _)) = members.first() else { continue };
        let lead = &plan[first];
        let rows = lead.config.buffer_rows(sizes.train_rows, sizes.val_rows);
        let cap = group_capacity(&lead.model, &lead.config, rows, sizes.group_bytes);
        let cap = cap.min(sizes.max_group.unwrap_or(usize::MAX)).max(1);
        while !members.is_empty() {
            let rest = members.split_off(cap.min(members.len()));
            let states: Option<Vec<MemberState>> = members.iter().map(|(_, s)| s.clone()).collect();
            out.push(GroupRun { members: members.iter().map(|(m, _)| *m).collect(), states });
            members = rest;
        }
    }
    out
}

/// The result of configuration `p` with `history` that stopped for `stop`: the metrics of the epoch whose weights
/// it ends with (early stopping's best when restored), the curve of validation losses (training losses without
/// validation) and the best epoch.
pub fn config_result(p: &Planned, h: &History, stop: StopReason) -> ConfigResult {
    let restored = p.config.early_stopping.as_ref().is_some_and(|e| e.restore_best) && h.best_epoch.is_some();
    let record = if restored { h.best_epoch.and_then(|e| h.epochs.get(e - 1)) } else { h.epochs.last() };
    let metrics = match record {
        Some(r) if stop != StopReason::Diverged => FinalMetrics {
            loss: Some(r.train_loss),
            accuracy: r.train_accuracy,
            val_loss: r.val_loss,
            val_accuracy: r.val_accuracy,
        },
        _ => FinalMetrics::default(),
    };
    let curve: Vec<f64> = h.epochs.iter().map(|r| r.val_loss.unwrap_or(r.train_loss)).collect();
    let best_from_curve =
        curve.iter().enumerate().filter(|(_, v)| v.is_finite()).min_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i + 1);
    ConfigResult {
        index: p.index,
        options: p.assignment.iter().map(|(k, v)| (k.clone(), ConfigResult::option_value(v))).collect(),
        metrics,
        best_epoch: h.best_epoch.or(best_from_curve),
        epochs: h.epochs.len(),
        stop,
        curve,
    }
}

/// Configuration `p`, whose state is `s`, done for `stop`: it keeps early stopping's best weights when it restores
/// them (a model stopped by its epochs or by early stopping already holds them; a halved one is given them here).
pub(super) fn finish(p: &Planned, member: usize, s: MemberState, stop: StopReason) -> Finished {
    let restore = p.config.early_stopping.as_ref().is_some_and(|e| e.restore_best);
    let history = s.progress.history;
    let params = if stop == StopReason::Halved && restore && history.best_epoch.is_some() && !s.best_params.is_empty() {
        s.best_params
    } else {
        s.params
    };
    Finished { member, stop, history, params }
}
