//! `wgtrain sweep --checkpoint-dir DIR [--resume]`: the sweep's state in a [`SweepCheckpoint`] directory, committed
//! at each epoch's end: the groups finished, their results, the best model so far, the training group's whole
//! state ([`GroupState`]) and the matmul variants in use. The same command with `--resume` goes on from there and
//! ends bitwise as a run never stopped; on a first run (no state yet) it starts fresh, so a requeued job can always
//! carry `--resume`.

use std::path::Path;

use serde_json::{json, Value};
use wgtrain::saved::SavedModel;
use wgtrain::sweep::checkpoint::{SweepCheckpoint, MANIFEST};
use wgtrain::sweep::{ConfigResult, Shard};
use wgtrain::train::{GroupState, GroupTrainer};
use wgtrain::{Error, Gpu, Result};

/// Options a resumed sweep may change: they decide how it runs or where its end writes the table, not what it
/// computes (--save-best and --save-all are written as groups finish, so they stay).
const FREE: [&str; 5] = ["resume", "checkpoint-dir", "quiet", "results", "plot"];

/// The sweep's saved state and the writer of its next commits.
pub struct Resumable {
    ck: SweepCheckpoint,
    /// Groups finished (in the sweep's group order).
    groups_done: usize,
    results: Vec<ConfigResult>,
    /// The best saved model's configuration index and score bits, with the model.
    best: Option<(usize, u64)>,
}

/// The sweep's options as (name, value) in command-line order, for comparing a resume with the run it continues:
/// every word after `sweep` but [`FREE`] ones, `--shard auto` replaced by the shard it resolved to.
pub fn option_list(words: &[String], shard: Option<Shard>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for w in words {
        match w.strip_prefix("--") {
            Some(flag) => {
                let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
                out.push((name.to_string(), value.to_string()));
            }
            None => match out.last_mut() {
                Some((_, v)) if v.is_empty() => *v = w.clone(),
                Some((_, v)) => {
                    v.push(' ');
                    v.push_str(w);
                }
                None => out.push((String::new(), w.clone())),
            },
        }
    }
    out.retain(|(n, _)| !FREE.contains(&n.as_str()));
    if let (Some(s), Some(entry)) = (shard, out.iter_mut().find(|(n, _)| n == "shard")) {
        entry.1 = format!("{}/{}", s.index, s.count);
    }
    out
}

impl Resumable {
    /// Opens `dir` (see [`SweepCheckpoint::open`]) and reads the sweep's state from it when resuming.
    pub fn open(dir: &Path, options: &[(String, String)], resume: bool) -> Result<Resumable> {
        let ck = SweepCheckpoint::open(dir, options, resume)?;
        let manifest = dir.join(MANIFEST);
        let mut r = Resumable { ck, groups_done: 0, results: Vec::new(), best: None };
        if !r.ck.resumed() {
            return Ok(r);
        }
        let state = r.ck.state().clone();
        let bad = |key: &str| Error::parse(&manifest, Some(format!("state.{key}")), "missing or malformed");
        r.groups_done = state.get("groups_done").and_then(Value::as_u64).ok_or_else(|| bad("groups_done"))? as usize;
        let results = state.get("results").and_then(Value::as_array).ok_or_else(|| bad("results"))?;
        r.results = results.iter().map(|v| ConfigResult::from_json(v, &manifest)).collect::<Result<_>>()?;
        r.best = match state.get("best") {
            Some(Value::Null) => None,
            Some(b) => {
                let field = |k: &str| b.get(k).and_then(Value::as_u64).ok_or_else(|| bad("best"));
                Some((field("index")? as usize, field("score_bits")?))
            }
            None => return Err(bad("best")),
        };
        Ok(r)
    }

    /// Makes `gpu` use the matmul variants the interrupted run used (before any plan is built), so the resumed
    /// run computes what it would have.
    pub fn apply_variants(&self, gpu: &Gpu) {
        if let Some(Value::Object(map)) = self.ck.state().get("matmul_variants") {
            for (class, variant) in map {
                if let Some(v) = variant.as_str() {
                    gpu.set_tuned_choice(class, v);
                }
            }
        }
    }

    /// Groups already finished.
    pub fn groups_done(&self) -> usize {
        self.groups_done
    }

    /// Results of the finished groups.
    pub fn results(&self) -> &[ConfigResult] {
        &self.results
    }

    /// The best model saved so far, with its score and configuration index.
    pub fn best(&self) -> Result<Option<(f64, usize, SavedModel)>> {
        let Some((index, bits)) = self.best else { return Ok(None) };
        let bytes = self.ck.data("best").ok_or_else(|| {
            Error::parse(self.ck.dir().join(MANIFEST), Some("files.best".into()), "missing: the best model so far")
        })?;
        Ok(Some((f64::from_bits(bits), index, SavedModel::from_bytes(&self.ck.data_path("best"), bytes)?)))
    }

    fn key(group: usize) -> String {
        format!("group-{group}")
    }

    /// Puts `trainer` (group `group`, built as when its state was saved) where the interrupted run left it.
    pub fn restore_group(&self, group: usize, trainer: &mut GroupTrainer<'_>) -> Result<()> {
        let key = Self::key(group);
        match self.ck.data(&key) {
            Some(bytes) => trainer.restore(&GroupState::from_bytes(&self.ck.data_path(&key), bytes)?),
            None => Ok(()),
        }
    }

    /// Commits group `group`'s state after an epoch.
    pub fn save_group(&mut self, gpu: &Gpu, group: usize, trainer: &GroupTrainer<'_>) -> Result<()> {
        let key = Self::key(group);
        let bytes = trainer.state()?.to_bytes(&self.ck.data_path(&key))?;
        self.ck.put(&key, bytes)?;
        self.commit(gpu)
    }

    /// Commits the end of group `group`: its results join the finished ones, and `best` (configuration index,
    /// score, model) replaces the saved best when given.
    pub fn finish_group(
        &mut self,
        gpu: &Gpu,
        group: usize,
        results: &[ConfigResult],
        best: Option<(usize, f64, &SavedModel)>,
    ) -> Result<()> {
        self.ck.remove(&Self::key(group));
        self.groups_done = group + 1;
        self.results = results.to_vec();
        if let Some((index, score, model)) = best {
            if self.best != Some((index, score.to_bits())) {
                self.ck.put("best", model.to_bytes(&self.ck.data_path("best"))?)?;
                self.best = Some((index, score.to_bits()));
            }
        }
        self.commit(gpu)
    }

    fn commit(&mut self, gpu: &Gpu) -> Result<()> {
        let best = self.best.map_or(Value::Null, |(index, bits)| json!({"index": index, "score_bits": bits}));
        let state = json!({
            "groups_done": self.groups_done,
            "results": self.results.iter().map(ConfigResult::to_json).collect::<Vec<_>>(),
            "best": best,
            "matmul_variants": gpu.tuned_choices(),
        });
        self.ck.commit(state)
    }
}
