//! `wgtrain sweep` end to end: a grid on a CSV with results as JSON and CSV, the best model saved and evaluated,
//! three shards run as three processes merging into exactly the unsharded results, random search with ranges, the
//! scheduler's environment, and bad sweeps refused before any training.

mod support;
use std::process::Command;

use support::*;

const GRID: [&str; 16] = [
    "sweep",
    "--data",
    "train.csv",
    "--val-split",
    "0.25",
    "--layers",
    "8;6,4",
    "--lr",
    "0.003,0.03",
    "--optimizer",
    "adam,sgd",
    "--seed",
    "0,1",
    "--epochs",
    "4",
    "--quiet",
];

fn sweep(d: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let args: Vec<&str> = GRID.iter().copied().chain(extra.iter().copied()).collect();
    let o = wgtrain(d, &args);
    assert!(o.status.success(), "sweep {extra:?} failed: {}", stderr(&o));
    o
}

fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("results written")).expect("JSON")
}

#[test]
fn a_grid_ranks_every_configuration_and_saves_the_best() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(120, 3));
    let o =
        sweep(d, &["--results", "r.json", "--save-best", "best.safetensors", "--save-all", "all", "--plot", "p.svg"]);
    let table = stdout(&o);
    assert_eq!(table.lines().count(), 17, "a header and 16 configurations: {table}");
    assert!(table.lines().next().unwrap().contains("layers") && table.contains("val_loss"), "{table}");
    let r = json(&d.join("r.json"));
    let rows = r.as_array().expect("array");
    assert_eq!(rows.len(), 16);
    let losses: Vec<f64> = rows.iter().map(|o| o["final"]["val_loss"].as_f64().expect("val_loss")).collect();
    assert!(losses.windows(2).all(|w| w[0] <= w[1]), "sorted by validation loss: {losses:?}");
    for o in rows {
        for key in ["lr", "layers", "optimizer", "seed", "best_epoch", "epochs", "stop"] {
            assert!(o.get(key).is_some(), "{key} missing in {o}");
        }
        assert!(o["final"]["val_accuracy"].is_number() && o["epochs"] == 4 && o["stop"] == "epochs", "{o}");
    }
    assert_eq!(std::fs::read_dir(d.join("all")).unwrap().count(), 16);
    assert!(std::fs::read_to_string(d.join("p.svg")).unwrap().contains("<polyline"));

    let o = wgtrain(d, &["eval", "--model", "best.safetensors", "--data", "train.csv", "--json"]);
    assert!(o.status.success(), "eval of the best model: {}", stderr(&o));

    let o = sweep(d, &["--results", "r.csv"]);
    let csv = std::fs::read_to_string(d.join("r.csv")).unwrap();
    assert_eq!(csv.lines().count(), 17);
    assert!(
        csv.starts_with("layers,optimizer,lr,seed,loss,accuracy,val_loss,val_accuracy,best_epoch,epochs,stop"),
        "{csv}"
    );
    assert_eq!(stdout(&o), table, "the same sweep gives the same table");
}

#[test]
fn three_shards_in_three_processes_merge_into_the_unsharded_results() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(90, 5));
    let whole = stdout(&sweep(d, &["--results", "whole.json"]));
    let children: Vec<_> = (0..3)
        .map(|i| {
            let shard = format!("{i}/3");
            let out = format!("s{i}.json");
            let mut args: Vec<&str> = GRID.to_vec();
            args.extend(["--shard", &shard, "--results", &out]);
            Command::new(env!("CARGO_BIN_EXE_wgtrain"))
                .args(&args)
                .current_dir(d)
                .env("XDG_RUNTIME_DIR", std::env::temp_dir())
                .output()
                .expect("shard runs")
        })
        .collect();
    for c in &children {
        assert!(c.status.success(), "shard failed: {}", stderr(c));
    }
    let parts: usize = (0..3).map(|i| json(&d.join(format!("s{i}.json"))).as_array().unwrap().len()).sum();
    assert_eq!(parts, 16, "the shards cover the grid once");
    let o = wgtrain(d, &["sweep", "--merge", "s0.json", "s1.json", "s2.json", "--results", "merged.json"]);
    assert!(o.status.success(), "merge failed: {}", stderr(&o));
    assert_eq!(stdout(&o), whole, "the merged table is the unsharded one");
    assert_eq!(json(&d.join("merged.json")), json(&d.join("whole.json")));

    // Groups of one model each (every configuration alone) give the same results: grouping changes no weights.
    let alone = stdout(&sweep(d, &["--max-group", "1", "--results", "alone.json"]));
    assert_eq!(alone, whole);
    assert_eq!(json(&d.join("alone.json")), json(&d.join("whole.json")));

    // Kubernetes Indexed Job: the index comes from the environment.
    let mut args: Vec<&str> = GRID.to_vec();
    args.extend(["--shard", "auto", "--shards", "3", "--results", "k1.json"]);
    let o = Command::new(env!("CARGO_BIN_EXE_wgtrain"))
        .args(&args)
        .current_dir(d)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&d.join("k1.json")), json(&d.join("s1.json")));
}

#[test]
fn random_search_draws_from_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(60, 7));
    let args = [
        "sweep",
        "--data",
        "train.csv",
        "--random",
        "5",
        "--lr",
        "log:1e-4:1e-1",
        "--momentum",
        "0.8:0.99",
        "--optimizer",
        "sgd",
        "--batch-size",
        "8:32",
        "--epochs",
        "2",
        "--quiet",
        "--results",
        "r.json",
    ];
    let o = wgtrain(d, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = json(&d.join("r.json"));
    let rows = r.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    for row in rows {
        let lr = row["lr"].as_f64().unwrap();
        let m = row["momentum"].as_f64().unwrap();
        let b = row["batch-size"].as_u64().unwrap();
        assert!((1e-4..=1e-1).contains(&lr) && (0.8..=0.99).contains(&m) && (8..=32).contains(&b), "{row}");
        assert!(row["final"].get("val_loss").is_none(), "no validation set: {row}");
    }
    let again = wgtrain(d, &args);
    assert_eq!(stdout(&again), stdout(&o), "the draw is seeded");
}

#[test]
fn bad_sweeps_fail_with_one_line_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(30, 1));
    for (args, needle) in [
        (vec!["--lr", "0.1:0.2"], "--random"),
        (vec!["--val-split", "0.1,0.2"], "cannot be a sweep axis"),
        (vec!["--save", "m.safetensors"], "--save-best"),
        (vec!["--shard", "3/3"], "--shard"),
        (vec!["--lr", "0.1", "--lr", "0.2"], "twice"),
        (vec!["--bogus", "1"], "--bogus"),
        (vec!["--early-stop", "2,4"], "validation set"),
        (vec!["--results", "r.txt"], ".json or .csv"),
        (vec!["--merge"], "result files"),
    ] {
        let mut all = vec!["sweep", "--data", "train.csv"];
        all.extend(args);
        let o = wgtrain(d, &all);
        assert_eq!(o.status.code(), Some(2), "{all:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(needle) && err.trim().lines().count() == 1, "{all:?}: {err}");
    }
}

#[test]
fn an_option_of_another_optimizer_fails_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(30, 1));
    let o = wgtrain(d, &["sweep", "--data", "train.csv", "--optimizer", "adam,sgd", "--momentum", "0.9", "--quiet"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("--momentum") && err.contains("adam") && err.trim().lines().count() == 1, "{err}");
}
