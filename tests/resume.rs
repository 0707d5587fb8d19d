//! Interrupted training: SIGKILL at several points and --resume ends bitwise where an uninterrupted run ends;
//! Ctrl-C (SIGINT) writes a checkpoint and exits 130; a diverging run names epoch, step and learning rate and
//! leaves the last good checkpoint in place.

mod support;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;
use wgtrain::tensor_file::load_tensors;

/// 6 epochs of the MNIST subset with a small network, checkpointing every epoch; about 4 s on lavapipe.
fn args(save: &str) -> Vec<String> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist-10k");
    let mut a: Vec<String> = ["train", "--data"].map(String::from).to_vec();
    a.push(data.display().to_string());
    a.extend(
        [
            "--layers",
            "32",
            "--epochs",
            "6",
            "--batch-size",
            "50",
            "--val-split",
            "0.1",
            "--schedule",
            "plateau:1:0.5",
            "--checkpoint-every",
            "1",
            "--quiet",
            "--save",
            save,
        ]
        .map(String::from),
    );
    a
}

fn weights(path: &Path) -> Vec<(String, Vec<u32>)> {
    let (tensors, _) = load_tensors(path).expect("final model");
    tensors
        .into_iter()
        .filter(|t| t.name.starts_with("layers."))
        .map(|t| (t.name, t.data.iter().map(|v| v.to_bits()).collect()))
        .collect()
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

#[test]
fn sigkill_and_resume_match_an_uninterrupted_run_bitwise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let start = Instant::now();
    let o = wgtrain(d, &args("full.safetensors").iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    let full_time = start.elapsed();
    let reference = weights(&d.join("full.safetensors"));

    // Kill at spread-out moments of the run (before the first checkpoint too), resuming from whatever survived.
    let mut kills = 0;
    let mut resumed = 0;
    let mut done = false;
    for attempt in 0..40 {
        let mut a = args("ck.safetensors");
        if d.join("ck.safetensors").exists() {
            a.extend(["--resume".to_string(), "ck.safetensors".to_string()]);
            resumed += 1;
        }
        let mut child = spawn(d, &a);
        let delay = full_time.mul_f64([0.15, 0.35, 0.3, 0.45][attempt % 4]);
        let deadline = Instant::now() + delay;
        let mut finished = None;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().unwrap() {
                finished = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        match finished {
            Some(status) => {
                assert!(status.success(), "resumed run failed: {status}");
                done = true;
                break;
            }
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
            }
        }
    }
    // Start-up can take most of a short delay (pipeline creation), so the kills may not let the run reach its end:
    // finish it with one last resume rather than compare a checkpoint from the middle of training.
    if !done {
        let mut a = args("ck.safetensors");
        if d.join("ck.safetensors").exists() {
            a.extend(["--resume".to_string(), "ck.safetensors".to_string()]);
            resumed += 1;
        }
        let status = spawn(d, &a).wait().unwrap();
        assert!(status.success(), "final resumed run failed: {status}");
    }
    assert!(kills >= 2 && resumed >= 2, "the run was killed {kills} times and resumed {resumed} times");
    assert_eq!(weights(&d.join("ck.safetensors")), reference, "resumed weights differ from the uninterrupted run");
}

#[test]
fn sigint_writes_a_checkpoint_and_resume_finishes_identically() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = wgtrain(d, &args("full.safetensors").iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    let mut child = spawn(d, &args("ck.safetensors"));
    std::thread::sleep(Duration::from_millis(1500));
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "Ctrl-C ends with status 130");
    assert!(d.join("ck.safetensors").exists(), "the interrupted run wrote its checkpoint");
    let mut a = args("ck.safetensors");
    a.extend(["--resume".to_string(), "ck.safetensors".to_string()]);
    let o = wgtrain(d, &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(weights(&d.join("ck.safetensors")), weights(&d.join("full.safetensors")));
}

#[test]
fn divergence_names_epoch_step_and_lr_and_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "lin.csv", linear_csv());
    // Full-batch gradient descent on a linear model with lr 1.2 overshoots more each step (the curvature is ~1.7).
    let o = wgtrain(
        d,
        &[
            "train",
            "--data",
            "lin.csv",
            "--layers",
            "",
            "--optimizer",
            "sgd",
            "--lr",
            "1.2",
            "--batch-size",
            "full",
            "--epochs",
            "500",
            "--checkpoint-every",
            "1",
            "--save",
            "m.safetensors",
            "--quiet",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("diverged at epoch") && err.contains("step") && err.contains("learning rate 1.2"), "{err}");
    assert!(err.contains("last good checkpoint is m.safetensors"), "{err}");
    let (tensors, _) = load_tensors(&d.join("m.safetensors")).expect("the checkpoint survives");
    assert!(tensors.iter().all(|t| t.data.iter().all(|v| v.is_finite())), "checkpoint holds finite weights");
    let o = wgtrain(d, &["eval", "--model", "m.safetensors", "--data", "lin.csv", "--json"]);
    assert!(o.status.success(), "the surviving checkpoint evaluates: {}", stderr(&o));
}

#[test]
fn resuming_on_changed_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "p.csv", penguins_csv(60, 2));
    let train = ["train", "--data", "p.csv", "--layers", "4", "--epochs", "2", "--checkpoint-every", "1", "--quiet"];
    let o = wgtrain(d, &[&train[..], &["--save", "ck.safetensors"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    for (data, flag) in [(penguins_csv(60, 3), None), (penguins_csv(60, 2), Some("--no-normalize"))] {
        write(d, "p.csv", data);
        let mut args = vec!["train", "--resume", "ck.safetensors"];
        args.extend(flag);
        let o = wgtrain(d, &args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(e.contains("--resume") && e.contains("prepared differently from p.csv"), "{e}");
    }
    // The same data and options resume (and have nothing left to do).
    let o = wgtrain(d, &["train", "--resume", "ck.safetensors"]);
    assert!(o.status.success(), "{}", stderr(&o));
}
