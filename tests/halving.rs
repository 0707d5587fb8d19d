//! `wgtrain sweep --halving`: successive halving on a small CSV. The rungs are r, r·η, … up to --epochs; at each
//! rung the best ⌊n/η⌋ go on and the rest stop "halved" with the epochs of their rung; a survivor, re-packed into a
//! smaller group, ends bitwise as the same configuration does in a plain sweep of the same epochs (and a halved
//! one's curve is the plain run's up to its rung), with plateau and step schedules, two optimizers and early
//! stopping in play. Shards halve within their slice and merge; bad halving options are refused before training.

mod support;
use serde_json::Value;
use support::*;

const GRID: [&str; 18] = [
    "sweep",
    "--data",
    "train.csv",
    "--val-split",
    "0.25",
    "--layers",
    "8",
    "--lr",
    "0.003,0.03",
    "--optimizer",
    "adam,sgd",
    "--seed",
    "0,1",
    "--schedule",
    "plateau:0:0.5;step:7:0.8",
    "--batch-size",
    "16",
    "--quiet",
];

fn sweep(d: &std::path::Path, extra: &[&str]) -> Vec<Value> {
    let args: Vec<&str> = GRID.iter().copied().chain(extra.iter().copied()).collect();
    let o = wgtrain(d, &args);
    assert!(o.status.success(), "sweep {extra:?} failed: {}", stderr(&o));
    let out = extra.iter().position(|a| *a == "--results").map(|i| extra[i + 1]).expect("--results given");
    let text = std::fs::read_to_string(d.join(out)).expect("results written");
    serde_json::from_str::<Value>(&text).expect("JSON").as_array().expect("array").clone()
}

fn by_index(rows: &[Value], index: u64) -> &Value {
    rows.iter().find(|r| r["index"] == index).expect("every configuration has a result")
}

/// Every halved configuration stopped at a rung with the plain run's curve so far; every other one is the plain
/// run's result exactly (JSON numbers print the shortest text that round-trips, so equal text is equal bits).
fn check_against_plain(halved: &[Value], plain: &[Value], rungs: &[u64]) {
    assert_eq!(halved.len(), plain.len());
    for h in halved {
        let p = by_index(plain, h["index"].as_u64().unwrap());
        let epochs = h["epochs"].as_u64().unwrap();
        if h["stop"] == "halved" {
            assert!(rungs[..rungs.len() - 1].contains(&epochs), "halved at a rung: {h}");
            let curve = h["curve"].as_array().unwrap();
            assert_eq!(curve[..], p["curve"].as_array().unwrap()[..epochs as usize], "{h} vs {p}");
        } else {
            assert_eq!(h, p, "a survivor ends as in the plain sweep");
        }
    }
}

#[test]
fn halving_keeps_the_best_and_survivors_match_a_plain_sweep_bitwise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(160, 3));
    let extra = ["--epochs", "8", "--halving", "2", "--results", "h.json", "--save-best", "b.safetensors"];
    let halved = sweep(d, &[&extra[..], &["--plot", "h.svg", "--max-group", "5"]].concat());
    let plain = sweep(d, &["--epochs", "8", "--results", "p.json"]);
    assert_eq!(halved.len(), 16);
    // 16 → 8 → 4 → 2 over rungs of 1, 2, 4 and 8 epochs.
    let rungs = [1, 2, 4, 8];
    for (rung, count) in [(1, 8), (2, 4), (4, 2)] {
        let n = halved.iter().filter(|r| r["stop"] == "halved" && r["epochs"] == rung).count();
        assert_eq!(n, count, "halved at {rung} epochs");
    }
    let full: Vec<&Value> = halved.iter().filter(|r| r["epochs"] == 8).collect();
    assert_eq!(full.len(), 2);
    assert!(full.iter().all(|r| r["stop"] == "epochs"), "{full:?}");
    check_against_plain(&halved, &plain, &rungs);
    // Each rung kept the lowest validation losses at that rung.
    for (i, &rung) in rungs[..3].iter().enumerate() {
        let at = |r: &Value| r["curve"][rung as usize - 1].as_f64().unwrap();
        let stopped = halved.iter().filter(|r| r["epochs"] == rung);
        let went_on: Vec<&Value> = halved.iter().filter(|r| r["epochs"].as_u64().unwrap() > rung).collect();
        let worst_kept = went_on.iter().map(|r| at(r)).fold(f64::NEG_INFINITY, f64::max);
        assert!(stopped.clone().all(|r| at(r) >= worst_kept), "rung {i}: halved ones rank below the survivors");
    }
    assert!(d.join("b.safetensors").exists() && d.join("h.svg").exists());
    let o = wgtrain(d, &["eval", "--model", "b.safetensors", "--data", "train.csv", "--json"]);
    assert!(o.status.success(), "eval of the best model: {}", stderr(&o));
}

#[test]
fn early_stopping_and_halving_together_still_match_the_plain_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(120, 9));
    let common = ["--epochs", "9", "--early-stop", "2"];
    let halved = sweep(d, &[&common[..], &["--halving", "3", "--min-epochs", "2", "--results", "h.json"]].concat());
    let plain = sweep(d, &[&common[..], &["--results", "p.json"]].concat());
    check_against_plain(&halved, &plain, &[2, 6, 9]);
    assert!(halved.iter().any(|r| r["stop"] == "halved"));
}

#[test]
fn each_shard_halves_its_slice_and_the_shards_merge() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(90, 4));
    let mut parts = Vec::new();
    for i in 0..2 {
        let (shard, out) = (format!("{i}/2"), format!("s{i}.json"));
        let rows = sweep(d, &["--epochs", "4", "--halving", "2", "--shard", &shard, "--results", &out]);
        // 8 per shard: 4 halved at 1 epoch, 2 at 2, 2 trained to 4.
        let at = |e: u64| rows.iter().filter(|r| r["epochs"] == e).count();
        assert_eq!((rows.len(), at(1), at(2), at(4)), (8, 4, 2, 2), "shard {i}");
        parts.extend(rows);
    }
    let o = wgtrain(d, &["sweep", "--merge", "s0.json", "s1.json", "--results", "m.json"]);
    assert!(o.status.success(), "merge: {}", stderr(&o));
    let merged: Value = serde_json::from_str(&std::fs::read_to_string(d.join("m.json")).unwrap()).unwrap();
    assert_eq!(merged.as_array().unwrap().len(), 16);
    assert_eq!(merged.as_array().unwrap().iter().filter(|r| r["stop"] == "halved").count(), 12);
}

#[test]
fn bad_halving_options_fail_with_one_line_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(30, 1));
    for (args, needle) in [
        (vec!["--lr", "0.01,0.1", "--halving", "1"], "--halving"),
        (vec!["--lr", "0.01,0.1", "--halving", "3"], "--halving"),
        (vec!["--lr", "0.01,0.1", "--halving", "2", "--epochs", "4", "--min-epochs", "5"], "--min-epochs"),
        (vec!["--lr", "0.01,0.1", "--halving", "2", "--min-epochs", "0"], "--min-epochs"),
        (vec!["--lr", "0.01,0.1", "--min-epochs", "2"], "--halving"),
        (vec!["--lr", "0.01,0.1", "--halving", "two"], "--halving"),
    ] {
        let mut all = vec!["sweep", "--data", "train.csv", "--results", "r.json", "--save-all", "all"];
        all.extend(args);
        let o = wgtrain(d, &all);
        assert_eq!(o.status.code(), Some(2), "{all:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(needle) && err.trim().lines().count() == 1, "{all:?}: {err}");
        assert!(!d.join("r.json").exists() && !d.join("all").exists(), "{all:?} wrote nothing");
    }
}
