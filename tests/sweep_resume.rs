//! Preempted sweeps: `wgtrain sweep --checkpoint-dir DIR --resume` killed with SIGKILL at spread-out moments (each
//! a little after the run committed a new state) and run again each time (the first run, with no state yet, starts fresh), plainly and by successive halving, ends
//! with results, plot and saved models byte for byte those of an uninterrupted run; and a resume that cannot be honoured (other options, a damaged or
//! foreign directory, no directory) exits 2 with one line naming the problem and writes nothing.

mod support;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// Two groups (adam, sgd) of two learning rates, 10 epochs of 300 steps, a plateau schedule and early stopping
/// (so each group's state holds schedules, best copies and stopped models), optionally halving; about 3 s on
/// lavapipe.
fn args(out: &str, halving: bool) -> Vec<String> {
    let mut a: Vec<String> = [
        "sweep",
        "--data",
        "train.csv",
        "--val-split",
        "0.2",
        "--layers",
        "16",
        "--epochs",
        "10",
        "--batch-size",
        "8",
        "--lr",
        "0.003,0.03",
        "--optimizer",
        "adam,sgd",
        "--schedule",
        "plateau:1:0.5",
        "--early-stop",
        "3",
        "--quiet",
    ]
    .map(String::from)
    .to_vec();
    let outputs = [
        "--results".to_string(),
        format!("{out}.json"),
        "--plot".into(),
        format!("{out}.svg"),
        "--save-best".into(),
        format!("{out}-best.safetensors"),
        "--save-all".into(),
        format!("{out}-all"),
    ];
    a.extend(outputs);
    if halving {
        // Rungs at 2, 4 and 8 epochs, then 10: four configurations, then two, then one.
        a.extend(["--halving", "2", "--min-epochs", "2"].map(String::from));
    }
    a
}

fn spawn(dir: &Path, args: &[String]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_wgtrain"))
        .args(args)
        .current_dir(dir)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn wgtrain")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The outputs of a run: results, plot, best model, and every model of --save-all by name.
fn outputs(d: &Path, out: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> =
        ["json", "svg"].iter().map(|e| (e.to_string(), read(&d.join(format!("{out}.{e}"))))).collect();
    files.push(("best".into(), read(&d.join(format!("{out}-best.safetensors")))));
    let mut all: Vec<_> = std::fs::read_dir(d.join(format!("{out}-all"))).unwrap().map(|e| e.unwrap().path()).collect();
    all.sort();
    files.extend(all.iter().map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), read(p))));
    files
}

/// How many times [`kill_and_resume`] kills a sweep before it lets one run finish.
const KILLS: usize = 4;

/// The sweep's committed state, if any (the manifest is swapped in atomically: old or new, never half).
fn committed(d: &Path) -> Option<Vec<u8>> {
    std::fs::read(d.join("ck/manifest.json")).ok()
}

/// Kills a resumable sweep [`KILLS`] times, each time a little after the run has committed a new state (so every
/// run makes progress, however slow the device is to start), at a different delay each time (mid-step, mid-write),
/// then lets a run finish; returns (kills, resumes that found a state).
fn kill_and_resume(d: &Path, full_time: Duration, out: &str, halving: bool) -> (usize, usize) {
    let mut a = args(out, halving);
    a.extend(["--checkpoint-dir", "ck", "--resume"].map(String::from));
    let (mut kills, mut resumed) = (0, 0);
    while kills < KILLS {
        let before = committed(d);
        resumed += usize::from(before.is_some());
        let mut child = spawn(d, &a);
        let after_commit = full_time.mul_f64([0.01, 0.04, 0.0, 0.07][kills % 4]);
        let mut progressed: Option<Instant> = None;
        while progressed.is_none_or(|t| t.elapsed() < after_commit) {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "run {kills} failed: {status}");
                return (kills, resumed);
            }
            if progressed.is_none() && committed(d) != before {
                progressed = Some(Instant::now());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        // SIGKILL: no handler runs, the process stops wherever it is (mid-step, mid-write).
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
    }
    resumed += usize::from(committed(d).is_some());
    let status = spawn(d, &a).wait().unwrap();
    assert!(status.success(), "the last resumed run failed: {status}");
    (kills, resumed)
}

/// An uninterrupted sweep, then the same one killed and resumed until it finishes: every output file equal.
fn killed_sweep_matches(halving: bool) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", clusters_csv(3000, 4));
    let start = Instant::now();
    let o = wgtrain(d, &args("full", halving).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    let full_time = start.elapsed();
    let want = outputs(d, "full");
    if halving {
        let results = String::from_utf8_lossy(&want[0].1).into_owned();
        assert!(results.contains("\"halved\""), "some configurations were halved: {results}");
    }

    let (kills, resumed) = kill_and_resume(d, full_time, "ck", halving);
    eprintln!("halving {halving}: killed {kills} times, resumed {resumed} times (uninterrupted: {full_time:?})");
    // Every kill follows a new commit and the sweep commits at each epoch's end (per group), so all the kills land
    // before the end; every run after the first found a state.
    assert!(kills == KILLS && resumed == KILLS, "the sweep was killed {kills} times and resumed {resumed} times");
    let got = outputs(d, "ck");
    assert_eq!(got.len(), want.len(), "the same files");
    for ((name, g), (_, w)) in got.iter().zip(&want) {
        assert!(g == w, "{name} differs from the uninterrupted sweep's");
    }
    // A finished sweep resumed again trains nothing and writes the same files.
    std::fs::remove_dir_all(d.join("ck-all")).unwrap();
    for end in ["ck.json", "ck.svg", "ck-best.safetensors"] {
        std::fs::remove_file(d.join(end)).unwrap();
    }
    let mut a = args("ck", halving);
    a.extend(["--checkpoint-dir", "ck", "--resume"].map(String::from));
    let o = wgtrain(d, &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(outputs(d, "ck") == want, "a finished sweep resumed again wrote other files");
}

#[test]
fn sigkill_at_random_points_and_resume_match_an_uninterrupted_sweep_bitwise() {
    killed_sweep_matches(false);
}

#[test]
fn a_killed_and_resumed_halving_sweep_matches_too() {
    killed_sweep_matches(true);
}

/// A small sweep on the tiny CSV, for refusals.
const SMALL: [&str; 12] = [
    "sweep",
    "--data",
    "t.csv",
    "--val-split",
    "0.25",
    "--lr",
    "0.01,0.1",
    "--epochs",
    "2",
    "--quiet",
    "--results",
    "r.json",
];

fn run(d: &Path, extra: &[&str]) -> std::process::Output {
    wgtrain(d, &SMALL.iter().chain(extra).copied().collect::<Vec<_>>())
}

/// Every file under `d`, with its contents.
fn snapshot(d: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    fn walk(p: &Path, out: &mut Vec<(std::path::PathBuf, Vec<u8>)>) {
        for e in std::fs::read_dir(p).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(d, &mut out);
    out.sort();
    out
}

/// Runs `extra` and checks: exit 2, one line on stderr containing every one of `names`, nothing written.
fn refused(d: &Path, extra: &[&str], names: &[&str]) {
    let before = snapshot(d);
    let o = run(d, extra);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{extra:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{extra:?}: one line: {err}");
    for n in names {
        assert!(err.contains(n), "{extra:?}: {n:?} not named in {err}");
    }
    assert!(snapshot(d) == before, "{extra:?} wrote something");
}

#[test]
fn resumes_that_cannot_be_honoured_exit_2_naming_the_problem_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "t.csv", clusters_csv(60, 1));
    let o = run(d, &["--checkpoint-dir", "ck", "--resume"]);
    assert!(o.status.success(), "a first run with --resume starts fresh: {}", stderr(&o));
    std::fs::remove_file(d.join("r.json")).unwrap();

    refused(d, &["--resume"], &["--resume", "--checkpoint-dir"]);
    refused(d, &["--checkpoint-dir", "ck"], &["ck", "--resume"]);
    let other = ["sweep", "--data", "t.csv", "--val-split", "0.25", "--lr", "0.01,0.2", "--epochs", "2", "--quiet"];
    let o = wgtrain(
        d,
        &other
            .iter()
            .chain(&["--results", "r.json", "--checkpoint-dir", "ck", "--resume"])
            .copied()
            .collect::<Vec<_>>(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--lr differs") && !d.join("r.json").exists(), "{}", stderr(&o));
    refused(d, &["--checkpoint-dir", "ck", "--resume", "--max-group", "1"], &["--max-group"]);

    let manifest = d.join("ck/manifest.json");
    let text = read(&manifest);
    std::fs::write(&manifest, &text[..text.len() / 2]).unwrap();
    refused(d, &["--checkpoint-dir", "ck", "--resume"], &["manifest.json"]);
    std::fs::write(&manifest, br#"{"magic": "a different program"}"#).unwrap();
    refused(d, &["--checkpoint-dir", "ck", "--resume"], &["manifest.json", "not a wgtrain sweep checkpoint"]);
    std::fs::write(&manifest, &text).unwrap();
    write(d, "ck/notes.txt", "mine");
    refused(d, &["--checkpoint-dir", "ck", "--resume"], &["notes.txt", "not part of a sweep checkpoint"]);
    std::fs::remove_file(d.join("ck/notes.txt")).unwrap();
    std::fs::create_dir(d.join("foreign")).unwrap();
    write(d, "foreign/model.safetensors", "x");
    refused(d, &["--checkpoint-dir", "foreign", "--resume"], &["model.safetensors"]);

    // A finished sweep keeps the finished configurations' weights: damage that file.
    let best = ["--checkpoint-dir", "ck2", "--resume"];
    assert!(run(d, &best).status.success());
    std::fs::remove_file(d.join("r.json")).unwrap();
    let file = std::fs::read_dir(d.join("ck2"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "bin"));
    let file = file.expect("the finished configurations' data file");
    let mut bytes = read(&file);
    bytes[40] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    refused(d, &best, &[&name, "damaged"]);
}
