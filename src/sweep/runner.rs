//! Trains a sweep's configurations: in groups of configurations that share a key, each group to its epochs (a
//! plain sweep), or by successive halving ([`Halving`]): every group trains to the first rung, all configurations
//! are ranked together, and the survivors are re-packed into fresh, smaller groups that continue from their exact
//! states (parameters, optimizer state and step count, schedules, early stopping, history and the shuffle's random
//! state), so a survivor's run is bitwise the one it would have had in an uninterrupted group: every group of a
//! sweep shuffles with the same data seed and has run the same epochs, so the batches go on in the same order.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::halving::Halving;
use super::members::{config_result, finish, pack, Finished, GroupRun, Planned, Sizes, SweepState};
use super::results::ConfigResult;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::network::DeviceData;
use crate::train::{GroupMember, GroupProgress, GroupTrainer, MemberState, StopReason, DEFAULT_GROUP_BYTES};

/// How a sweep trains.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// Successive halving, or None to train every configuration to its epochs.
    pub halving: Option<Halving>,
    /// At most this many models per group.
    pub max_group: Option<usize>,
    /// Device memory a group may use.
    pub group_bytes: u64,
    /// Seeds every group's shuffle (and so the batches every configuration sees).
    pub data_seed: u64,
    /// Once set (Ctrl-C), training ends after the current step with [`Error::Interrupted`].
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions { halving: None, max_group: None, group_bytes: DEFAULT_GROUP_BYTES, data_seed: 0, stop: None }
    }
}

/// Where a sweep's training stands, after each step.
#[derive(Clone, Copy, Debug)]
pub struct SweepProgress {
    /// The rung from 1, and the number of rungs (1 for a plain sweep).
    pub rung: (usize, usize),
    /// The group from 1, and the number of groups in this rung.
    pub group: (usize, usize),
    /// Models in the group.
    pub members: usize,
    /// The group's step.
    pub step: GroupProgress,
}

/// Sees the sweep's state between epochs (to save it); an error ends the sweep with it.
pub type StateHook<'f> = dyn FnMut(&SweepState) -> Result<()> + 'f;

/// What one configuration ended with.
#[derive(Clone, Debug)]
pub struct SweepOutcome {
    /// Its result record.
    pub result: ConfigResult,
    /// The weights it ends with.
    pub params: Vec<f32>,
}

/// A sweep of planned configurations on one device.
pub struct SweepRunner<'a> {
    gpu: &'a Gpu,
    plan: &'a [Planned],
    train: &'a Dataset,
    val: Option<&'a Dataset>,
    options: SweepOptions,
    rungs: Vec<usize>,
    /// The data on the device, by target columns (a loss may read one column or one per output).
    uploads: HashMap<usize, (DeviceData, Option<DeviceData>)>,
}

impl<'a> SweepRunner<'a> {
    /// A sweep of `plan` on `train` (validated on `val`).
    pub fn new(
        gpu: &'a Gpu,
        plan: &'a [Planned],
        train: &'a Dataset,
        val: Option<&'a Dataset>,
        options: SweepOptions,
    ) -> Result<Self> {
        let max_epochs =
            plan.iter().map(|p| p.config.epochs).max().ok_or_else(|| Error::config("sweep", "no configurations"))?;
        let rungs = match &options.halving {
            Some(h) => Halving::new(h.eta, h.min_epochs, max_epochs, plan.len())?.rungs(max_epochs),
            None => vec![max_epochs],
        };
        Ok(SweepRunner { gpu, plan, train, val, options, rungs, uploads: HashMap::new() })
    }

    /// The epochs of each rung (one, the most epochs, for a plain sweep).
    pub fn rungs(&self) -> &[usize] {
        &self.rungs
    }

    fn sizes(&self) -> Sizes {
        Sizes {
            train_rows: self.train.len(),
            val_rows: self.val.map_or(0, Dataset::len),
            max_group: self.options.max_group,
            group_bytes: self.options.group_bytes,
        }
    }

    /// The state before any training: every configuration in the first rung's groups.
    pub fn start(&self) -> SweepState {
        let members = (0..self.plan.len()).map(|m| (m, None)).collect();
        SweepState { rung: 0, groups: pack(self.plan, members, self.sizes()), finished: Vec::new() }
    }

    /// Trains from `state` until every configuration is done. `on_epoch`, when given, sees the state after each
    /// epoch of each group and after each rung's ranking (reading every model's state back each epoch for it).
    pub fn run(
        &mut self,
        state: &mut SweepState,
        on_progress: &mut dyn FnMut(SweepProgress),
        mut on_epoch: Option<&mut StateHook<'_>>,
    ) -> Result<()> {
        while state.rung < self.rungs.len() {
            let target = self.rungs[state.rung];
            for g in 0..state.groups.len() {
                if !done(&state.groups[g], target) {
                    self.train_group(state, g, target, on_progress, &mut on_epoch)?;
                }
            }
            self.end_rung(state)?;
            if let Some(f) = on_epoch.as_deref_mut() {
                f(state)?;
            }
        }
        Ok(())
    }

    /// Each configuration's result and final weights, in plan order.
    pub fn outcomes(&self, state: &SweepState) -> Vec<SweepOutcome> {
        let mut done: Vec<&Finished> = state.finished.iter().collect();
        done.sort_by_key(|f| f.member);
        done.iter()
            .map(|f| SweepOutcome {
                result: config_result(&self.plan[f.member], &f.history, f.stop),
                params: f.params.clone(),
            })
            .collect()
    }

    /// Trains group `g` of the current rung up to `target` epochs, from its states if it has them.
    fn train_group(
        &mut self,
        state: &mut SweepState,
        g: usize,
        target: usize,
        on_progress: &mut dyn FnMut(SweepProgress),
        on_epoch: &mut Option<&mut StateHook<'_>>,
    ) -> Result<()> {
        let (gpu, plan) = (self.gpu, self.plan);
        let run = &state.groups[g];
        let lead = &plan[run.members[0]];
        let members = run
            .members
            .iter()
            .enumerate()
            .map(|(i, &m)| {
                let params = run.states.as_ref().map_or(&plan[m].params, |s| &s[i].params).clone();
                GroupMember { config: plan[m].config.clone(), params }
            })
            .collect();
        let rows = lead.config.buffer_rows(self.train.len(), self.val.map_or(0, Dataset::len));
        let mut trainer = GroupTrainer::new(gpu, &lead.model, members, self.options.data_seed, rows)?;
        if let Some(states) = &run.states {
            trainer.restore_members(states)?;
        }
        if let Some(flag) = &self.options.stop {
            trainer.set_stop_flag(flag.clone());
        }
        let (rung, group, size) = ((state.rung + 1, self.rungs.len()), (g + 1, state.groups.len()), run.members.len());
        let (train, val) = self.upload(lead)?;
        let mut report = |step| on_progress(SweepProgress { rung, group, members: size, step });
        match on_epoch.as_deref_mut() {
            None => {
                trainer.fit_epochs(train, val.as_ref(), target.saturating_sub(trainer.epochs_done()), &mut report)?;
                state.groups[g].states = Some(trainer.member_states()?);
            }
            Some(f) => {
                while trainer.epochs_done() < target {
                    let before = trainer.epochs_done();
                    trainer.fit_epochs(train, val.as_ref(), 1, &mut report)?;
                    state.groups[g].states = Some(trainer.member_states()?);
                    f(state)?;
                    if trainer.epochs_done() == before {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// The training and validation data on the device for `p`'s loss, uploaded once.
    fn upload(&mut self, p: &Planned) -> Result<&(DeviceData, Option<DeviceData>)> {
        let tcols = p.config.loss.target_cols(p.model.output());
        if !self.uploads.contains_key(&tcols) {
            let up = |d: &Dataset| DeviceData::upload(self.gpu, &d.features, d.n_features, &d.targets, tcols);
            let data = (up(self.train)?, self.val.map(up).transpose()?);
            self.uploads.insert(tcols, data);
        }
        self.uploads.get(&tcols).ok_or_else(|| Error::config("sweep", "data upload missing"))
    }

    /// Ends the current rung: at the last, every configuration is done; before it, all are ranked and the best
    /// go on, re-packed into fresh groups (see [`Halving`]).
    fn end_rung(&self, state: &mut SweepState) -> Result<()> {
        let mut entrants: Vec<(usize, MemberState)> = Vec::new();
        for run in std::mem::take(&mut state.groups) {
            let states = run.states.ok_or_else(|| Error::config("sweep", "a group of the rung has not trained"))?;
            entrants.extend(run.members.into_iter().zip(states));
        }
        entrants.sort_by_key(|(m, _)| *m);
        let last = state.rung + 1 >= self.rungs.len();
        let keep = match (&self.options.halving, last) {
            (Some(h), false) => {
                let scores: Vec<f64> = entrants
                    .iter()
                    .map(|(m, s)| {
                        config_result(&self.plan[*m], &s.progress.history, s.stop.unwrap_or(StopReason::Epochs)).score()
                    })
                    .collect();
                h.survivors(&scores)
            }
            _ => Vec::new(),
        };
        let mut survivors = Vec::new();
        for (pos, (m, s)) in entrants.into_iter().enumerate() {
            let p = &self.plan[m];
            match s.stop {
                Some(stop) => state.finished.push(finish(p, m, s, stop)),
                None if keep.contains(&pos) => survivors.push((m, Some(s))),
                None if last => state.finished.push(finish(p, m, s, StopReason::Epochs)),
                None => state.finished.push(finish(p, m, s, StopReason::Halved)),
            }
        }
        state.groups = pack(self.plan, survivors, self.sizes());
        state.rung += 1;
        Ok(())
    }
}

/// Whether a group has nothing left to train in a rung of `target` epochs.
fn done(run: &GroupRun, target: usize) -> bool {
    run.states.as_ref().is_some_and(|s| s.iter().all(|m| m.stop.is_some() || m.progress.epochs_done >= target))
}
