//! `wgtrain sweep --checkpoint-dir DIR [--resume]`: the sweep runner's state ([`SweepState`]) in a
//! [`SweepCheckpoint`] directory, committed at each epoch's end and after each rung's ranking, with the matmul
//! variants in use. The same command with `--resume` goes on from there and ends bitwise as a run never stopped;
//! on a first run (no state yet) it starts fresh, so a requeued job can always carry `--resume`.

use std::path::Path;

use serde_json::{json, Value};
use wgtrain::sweep::checkpoint::SweepCheckpoint;
use wgtrain::sweep::{Shard, SweepState};
use wgtrain::{Gpu, Result};

/// Options a resumed sweep may change: they decide how it runs or where its end writes its files, not what it
/// computes (every output is written from the final state).
const FREE: [&str; 7] = ["resume", "checkpoint-dir", "quiet", "results", "plot", "save-best", "save-all"];

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

/// Opens `dir` (see [`SweepCheckpoint::open`]): checked before anything is loaded or written.
pub fn open(dir: &Path, words: &[String], shard: Option<Shard>, resume: bool) -> Result<SweepCheckpoint> {
    SweepCheckpoint::open(dir, &option_list(words, shard), resume)
}

/// Makes `gpu` use the matmul variants the interrupted run used (before any plan is built), so the resumed run
/// computes what it would have.
pub fn apply_variants(ck: &SweepCheckpoint, gpu: &Gpu) {
    if let Some(Value::Object(map)) = ck.extra().get("matmul_variants") {
        for (class, variant) in map {
            if let Some(v) = variant.as_str() {
                gpu.set_tuned_choice(class, v);
            }
        }
    }
}

/// Commits `state` with the matmul variants in use.
pub fn commit(ck: &mut SweepCheckpoint, gpu: &Gpu, state: &SweepState) -> Result<()> {
    ck.commit_sweep(state, json!({"matmul_variants": gpu.tuned_choices()}))
}
