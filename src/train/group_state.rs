//! A group's whole training state between (or within) epochs, as bytes: each model's parameters, optimizer state
//! and early-stopping copy, and its [`Progress`] (step count, accumulated statistics, plateau schedule, early
//! stopping, history) with its stop reason; the engine's position and shuffling RNG travel in every model's
//! progress. Restored into a fresh [`GroupTrainer`] built with the same members, training goes on bitwise as if it
//! had never stopped (`tests/group_resume.rs`).
//!
//! The bytes are a safetensors file, as a lone trainer's checkpoint ([`crate::resume`]): tensors
//! `member.{i}.params`, `member.{i}.optimizer_state` and `member.{i}.best_params`, and the metadata key
//! `wgtrain.group_state` holding the format version and the models' progress as JSON.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::events::StopReason;
use super::group::GroupTrainer;
use super::progress::{progress_of, restore_position, restore_slot, Progress};
use crate::error::{Error, Result};
use crate::tensor_file::{decode_tensors, encode_tensors, NamedTensor};

/// Metadata key of the progress JSON; its presence marks the file as a group state.
const KEY: &str = "wgtrain.group_state";
/// The format version this code writes and reads.
const VERSION: u32 = 1;

/// One model's state in a [`GroupState`].
#[derive(Clone, Debug, PartialEq)]
pub struct MemberState {
    /// Position, counters, schedules and history.
    pub progress: Progress,
    /// Why it stopped, if it has.
    pub stop: Option<StopReason>,
    /// Flat parameters.
    pub params: Vec<f32>,
    /// Flat optimizer state.
    pub optimizer_state: Vec<f32>,
    /// Early stopping's remembered parameters.
    pub best_params: Vec<f32>,
}

/// A group's state, in member order (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupState {
    /// One per model.
    pub members: Vec<MemberState>,
}

/// The JSON part of the bytes.
#[derive(Serialize, Deserialize)]
struct Meta {
    version: u32,
    members: Vec<MetaMember>,
}

#[derive(Serialize, Deserialize)]
struct MetaMember {
    progress: Progress,
    stop: Option<String>,
}

impl GroupState {
    /// Epochs the group has completed.
    pub fn epochs_done(&self) -> usize {
        self.members.first().map_or(0, |m| m.progress.epochs_done)
    }

    /// The safetensors bytes of this state; `name` only names the file in errors.
    pub fn to_bytes(&self, name: &Path) -> Result<Vec<u8>> {
        let mut tensors = Vec::with_capacity(3 * self.members.len());
        let mut members = Vec::with_capacity(self.members.len());
        for (i, m) in self.members.iter().enumerate() {
            for (part, data) in
                [("params", &m.params), ("optimizer_state", &m.optimizer_state), ("best_params", &m.best_params)]
            {
                tensors.push(NamedTensor {
                    name: format!("member.{i}.{part}"),
                    shape: vec![data.len()],
                    data: data.clone(),
                });
            }
            members.push(MetaMember { progress: m.progress.clone(), stop: m.stop.map(|s| s.name().to_string()) });
        }
        let json = serde_json::to_string(&Meta { version: VERSION, members })
            .map_err(|e| Error::config("group state", e.to_string()))?;
        encode_tensors(name, &tensors, &BTreeMap::from([(KEY.to_string(), json)]))
    }

    /// Parses bytes written by [`GroupState::to_bytes`]; errors name `name` and what is wrong.
    pub fn from_bytes(name: &Path, bytes: &[u8]) -> Result<GroupState> {
        let (tensors, meta) = decode_tensors(name, bytes)?;
        let json = meta
            .get(KEY)
            .ok_or_else(|| Error::parse(name, Some(format!("metadata {KEY:?}")), "missing: not a group state"))?;
        let bad = |why: String| Error::parse(name, Some(format!("metadata {KEY:?}")), why);
        let meta: Meta = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        if meta.version != VERSION {
            return Err(bad(format!("format version {}, this build reads {VERSION}", meta.version)));
        }
        let mut by_name: BTreeMap<String, Vec<f32>> = tensors.into_iter().map(|t| (t.name, t.data)).collect();
        let mut take = |i: usize, part: &str| {
            let key = format!("member.{i}.{part}");
            by_name.remove(&key).ok_or_else(|| Error::parse(name, Some(format!("tensor {key}")), "missing"))
        };
        let mut members = Vec::with_capacity(meta.members.len());
        for (i, m) in meta.members.into_iter().enumerate() {
            let stop = m.stop.as_deref().map(StopReason::parse).transpose().map_err(|e| bad(e.to_string()))?;
            let (params, optimizer_state, best_params) =
                (take(i, "params")?, take(i, "optimizer_state")?, take(i, "best_params")?);
            if best_params.len() != params.len() {
                let why = format!("has {} values, the parameters {}", best_params.len(), params.len());
                return Err(Error::parse(name, Some(format!("tensor member.{i}.best_params")), why));
            }
            members.push(MemberState { progress: m.progress, stop, params, optimizer_state, best_params });
        }
        if let Some(extra) = by_name.keys().next() {
            return Err(Error::parse(name, Some(format!("tensor {extra}")), "belongs to no model of the group"));
        }
        let first = members.first().map(|m| (m.progress.epochs_done, m.progress.step_in_epoch, m.progress.rng));
        if members.iter().any(|m| Some((m.progress.epochs_done, m.progress.step_in_epoch, m.progress.rng)) != first) {
            return Err(bad("the models disagree on the group's position".into()));
        }
        Ok(GroupState { members })
    }
}

impl GroupTrainer<'_> {
    /// Whether training is over: every model has stopped (its epochs run, early stopping or divergence).
    pub fn finished(&self) -> bool {
        let epochs = self.engine.slots.iter().map(|s| s.config.epochs).max().unwrap_or(0);
        self.engine.epochs_done >= epochs || self.engine.slots.iter().all(|s| s.stop.is_some())
    }

    /// The group's whole state, once queued steps are done (blocking).
    pub fn state(&self) -> Result<GroupState> {
        pollster::block_on(self.state_async())
    }

    async fn state_async(&self) -> Result<GroupState> {
        let mut stats = Vec::with_capacity(self.chunks.len());
        for net in &self.chunks {
            stats.push(net.peek_stats_async(self.gpu).await?);
        }
        let mut members = Vec::with_capacity(self.engine.slots.len());
        for s in &self.engine.slots {
            let net = &self.chunks[s.chunk];
            members.push(MemberState {
                progress: progress_of(&self.engine, s, net.steps_done(s.index), stats[s.chunk][s.index]),
                stop: s.stop,
                params: net.params_async(self.gpu, s.index).await?,
                optimizer_state: net.optimizer_state_async(self.gpu, s.index).await?,
                best_params: net.best_params_async(self.gpu, s.index).await?,
            });
        }
        Ok(GroupState { members })
    }

    /// Puts this group (built with the same members as the one `state` was taken from) where that one stood, so
    /// that training continues bitwise. Checks the number of models and every length first, changing nothing
    /// when one is wrong.
    pub fn restore(&mut self, state: &GroupState) -> Result<()> {
        if state.members.len() != self.engine.slots.len() {
            let why = format!("holds {} models, the group has {}", state.members.len(), self.engine.slots.len());
            return Err(Error::config("group state", why));
        }
        for (i, (s, m)) in self.engine.slots.iter().zip(&state.members).enumerate() {
            let net = &self.chunks[s.chunk];
            let (params, opt) = (net.config().layout().len, net.model_state_len());
            if m.params.len() != params || m.optimizer_state.len() != opt {
                let why = format!(
                    "model {i} has {} parameters and {} optimizer values; the group's has {params} and {opt}",
                    m.params.len(),
                    m.optimizer_state.len()
                );
                return Err(Error::config("group state", why));
            }
        }
        for (s, m) in self.engine.slots.iter_mut().zip(&state.members) {
            let net = &mut self.chunks[s.chunk];
            net.set_params(self.gpu, s.index, &m.params)?;
            net.set_optimizer_state(self.gpu, s.index, &m.optimizer_state, m.progress.steps_done)?;
            net.set_best_params(self.gpu, s.index, &m.best_params)?;
            net.set_stats(self.gpu, s.index, m.progress.stats.map(f32::from_bits))?;
            restore_slot(s, &m.progress);
            s.stop = m.stop;
        }
        if let Some(first) = state.members.first() {
            restore_position(&mut self.engine, &first.progress);
        }
        Ok(())
    }
}
