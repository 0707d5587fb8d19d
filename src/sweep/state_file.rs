//! A [`SweepState`] in a checkpoint directory ([`SweepCheckpoint`]), bit for bit: the floats (each model's
//! parameters, optimizer state and early-stopping copy, and the finished configurations' weights) in safetensors
//! data files — one per group of the current rung (`group-G`) and one for the finished configurations
//! (`finished`) — and everything else as JSON in the manifest, next to the caller's own `extra` JSON. Floats never
//! pass through JSON, so a diverged model's NaN weights come back as they were; a commit rewrites only the data
//! files whose bytes changed (the group that trained this epoch).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::checkpoint::{SweepCheckpoint, MANIFEST};
use super::members::{Finished, GroupRun, SweepState};
use crate::error::{Error, Result};
use crate::history::History;
use crate::tensor_file::{decode_tensors, encode_tensors, NamedTensor};
use crate::train::{MemberState, Progress, StopReason};

/// Metadata key of a data file's JSON part; its presence marks the file as one of these.
const KEY: &str = "wgtrain.sweep_state";
/// Data key of the finished configurations' weights.
const FINISHED: &str = "finished";

/// A member state without its floats (they are tensors of the data file).
#[derive(Serialize, Deserialize)]
struct MemberMeta {
    progress: Progress,
    stop: Option<StopReason>,
}

/// A finished configuration without its weights.
#[derive(Serialize, Deserialize)]
struct FinishedMeta {
    member: usize,
    stop: StopReason,
    history: History,
}

fn group_key(g: usize) -> String {
    format!("group-{g}")
}

/// The bytes of named float vectors and a JSON part; `name` only names the file in errors.
fn encode(name: &Path, vectors: Vec<(String, Vec<f32>)>, meta: Value) -> Result<Vec<u8>> {
    let tensors: Vec<NamedTensor> =
        vectors.into_iter().map(|(name, data)| NamedTensor { name, shape: vec![data.len()], data }).collect();
    encode_tensors(name, &tensors, &BTreeMap::from([(KEY.to_string(), meta.to_string())]))
}

/// The float vectors by name and the JSON part of bytes written by [`encode`].
fn decode<T: for<'de> Deserialize<'de>>(name: &Path, bytes: &[u8]) -> Result<(BTreeMap<String, Vec<f32>>, T)> {
    let (tensors, meta) = decode_tensors(name, bytes)?;
    let location = || Some(format!("metadata {KEY:?}"));
    let json = meta.get(KEY).ok_or_else(|| Error::parse(name, location(), "missing: not a sweep state file"))?;
    let meta = serde_json::from_str(json).map_err(|e| Error::parse(name, location(), e.to_string()))?;
    Ok((tensors.into_iter().map(|t| (t.name, t.data)).collect(), meta))
}

/// Takes tensor `key` out of `floats`, or says it is missing from `name`.
fn take(floats: &mut BTreeMap<String, Vec<f32>>, name: &Path, key: String) -> Result<Vec<f32>> {
    floats.remove(&key).ok_or_else(|| Error::parse(name, Some(format!("tensor {key}")), "missing"))
}

/// The bytes of one group's member states (see the module documentation); `name` only names the file in errors.
pub fn encode_members(name: &Path, states: &[MemberState]) -> Result<Vec<u8>> {
    let mut vectors = Vec::with_capacity(3 * states.len());
    let mut meta = Vec::with_capacity(states.len());
    for (i, s) in states.iter().enumerate() {
        vectors.push((format!("member.{i}.params"), s.params.clone()));
        vectors.push((format!("member.{i}.optimizer_state"), s.optimizer_state.clone()));
        vectors.push((format!("member.{i}.best_params"), s.best_params.clone()));
        meta.push(MemberMeta { progress: s.progress.clone(), stop: s.stop });
    }
    let meta = serde_json::to_value(meta).map_err(|e| Error::config("sweep state", e.to_string()))?;
    encode(name, vectors, meta)
}

/// Member states from bytes written by [`encode_members`]; errors name `name`.
pub fn decode_members(name: &Path, bytes: &[u8]) -> Result<Vec<MemberState>> {
    let (mut floats, meta): (_, Vec<MemberMeta>) = decode(name, bytes)?;
    let mut out = Vec::with_capacity(meta.len());
    for (i, m) in meta.into_iter().enumerate() {
        out.push(MemberState {
            progress: m.progress,
            stop: m.stop,
            params: take(&mut floats, name, format!("member.{i}.params"))?,
            optimizer_state: take(&mut floats, name, format!("member.{i}.optimizer_state"))?,
            best_params: take(&mut floats, name, format!("member.{i}.best_params"))?,
        });
    }
    if let Some(extra) = floats.keys().next() {
        return Err(Error::parse(name, Some(format!("tensor {extra}")), "belongs to no model"));
    }
    Ok(out)
}

impl SweepCheckpoint {
    /// Commits `state` with the caller's `extra` JSON (see the module documentation).
    pub fn commit_sweep(&mut self, state: &SweepState, extra: Value) -> Result<()> {
        let mut groups = Vec::with_capacity(state.groups.len());
        let mut keys = Vec::new();
        for (g, run) in state.groups.iter().enumerate() {
            if let Some(states) = &run.states {
                let key = group_key(g);
                let bytes = encode_members(&self.data_path(&key), states)?;
                self.put(&key, bytes)?;
                keys.push(key);
            }
            groups.push(json!({"members": run.members, "trained": run.states.is_some()}));
        }
        let finished: Vec<FinishedMeta> = state
            .finished
            .iter()
            .map(|f| FinishedMeta { member: f.member, stop: f.stop, history: f.history.clone() })
            .collect();
        let weights = state.finished.iter().enumerate().map(|(i, f)| (format!("finished.{i}"), f.params.clone()));
        let bytes = encode(&self.data_path(FINISHED), weights.collect(), Value::Null)?;
        self.put(FINISHED, bytes)?;
        keys.push(FINISHED.to_string());
        self.retain(&keys);
        let to_json = |e: serde_json::Error| Error::config("sweep state", e.to_string());
        let finished = serde_json::to_value(finished).map_err(to_json)?;
        self.commit(json!({"rung": state.rung, "groups": groups, "finished": finished, "extra": extra}))
    }

    /// The caller's `extra` JSON of the last commit (`Null` on a fresh start).
    pub fn extra(&self) -> &Value {
        self.state().get("extra").unwrap_or(&Value::Null)
    }

    /// The committed sweep state, checked against a plan of `plan_len` configurations; None on a fresh start.
    pub fn sweep_state(&self, plan_len: usize) -> Result<Option<SweepState>> {
        if !self.resumed() {
            return Ok(None);
        }
        let manifest = self.dir().join(MANIFEST);
        let bad = |key: &str, why: String| Error::parse(&manifest, Some(format!("state.{key}")), why);
        let state = self.state();
        let rung = state.get("rung").and_then(Value::as_u64).ok_or_else(|| bad("rung", "missing".into()))? as usize;
        let groups = state.get("groups").and_then(Value::as_array).ok_or_else(|| bad("groups", "missing".into()))?;
        let mut runs = Vec::with_capacity(groups.len());
        for (g, v) in groups.iter().enumerate() {
            let members: Vec<usize> = v
                .get("members")
                .and_then(|m| serde_json::from_value(m.clone()).ok())
                .ok_or_else(|| bad("groups", format!("group {g} has no members")))?;
            let states = match v.get("trained").and_then(Value::as_bool) {
                Some(true) => {
                    let key = group_key(g);
                    let path = self.data_path(&key);
                    let bytes =
                        self.data(&key).ok_or_else(|| bad("groups", format!("{key}'s data file is missing")))?;
                    let states = decode_members(&path, bytes)?;
                    if states.len() != members.len() {
                        let why = format!("holds {} models, the group has {}", states.len(), members.len());
                        return Err(Error::parse(path, None, why));
                    }
                    Some(states)
                }
                _ => None,
            };
            runs.push(GroupRun { members, states });
        }
        let finished: Vec<FinishedMeta> = state
            .get("finished")
            .and_then(|f| serde_json::from_value(f.clone()).ok())
            .ok_or_else(|| bad("finished", "missing or malformed".into()))?;
        let path = self.data_path(FINISHED);
        let bytes = self.data(FINISHED).ok_or_else(|| bad("finished", "the data file is missing".into()))?;
        let (mut weights, _): (_, Value) = decode(&path, bytes)?;
        let mut done = Vec::with_capacity(finished.len());
        for (i, f) in finished.into_iter().enumerate() {
            let params = take(&mut weights, &path, format!("finished.{i}"))?;
            done.push(Finished { member: f.member, stop: f.stop, history: f.history, params });
        }
        let mut members = runs.iter().flat_map(|r| r.members.iter()).chain(done.iter().map(|f| &f.member));
        if let Some(m) = members.find(|&&m| m >= plan_len) {
            return Err(bad("groups", format!("configuration {m} is not one of the sweep's {plan_len}")));
        }
        if runs.iter().any(|r| r.members.is_empty()) {
            return Err(bad("groups", "a group has no members".into()));
        }
        Ok(Some(SweepState { rung, groups: runs, finished: done }))
    }
}
