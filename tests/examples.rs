//! Runs every example the way a user does (`cargo run --example NAME`), with WGTRAIN_EPOCHS cut down, and checks
//! what it prints. Examples are not binaries of the package, so there is no CARGO_BIN_EXE_ path to run directly;
//! cargo builds each one (a no-op after `cargo test`, which builds examples too) and runs it.
//!
//! The examples run one at a time: each one keeps the (software) GPU busy, and in parallel on a 2-core machine
//! they would only slow each other down. About 30 s in all on lavapipe, most of it bench's MLP-B steps.

use std::process::Command;
use std::sync::Mutex;

/// Held while an example runs, so that they never overlap.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `examples/NAME.rs` with `args`, WGTRAIN_EPOCHS = `epochs` when given, and returns its stdout; fails the
/// test with both output streams when it exits with an error.
fn run_example(name: &str, args: &[&str], epochs: Option<usize>) -> String {
    // A failed test poisons the lock; the next example can still run.
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args(["run", "--quiet", "--example", name]);
    // The same profile as this test binary, so `cargo test --release` reuses its release build of the examples and
    // a plain `cargo test` does not start a second, optimised build of the whole dependency tree.
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    cmd.arg("--").args(args);
    match epochs {
        Some(e) => cmd.env("WGTRAIN_EPOCHS", e.to_string()),
        None => cmd.env_remove("WGTRAIN_EPOCHS"),
    };
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // Mesa's device-select layer warns without it; harmless, but it would clutter failure messages.
        cmd.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("could not start cargo for example {name}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "example {name} {args:?} exited with {}\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The line that starts with `prefix` (after leading spaces), or a failure that shows the whole output.
fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .map(str::trim_start)
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{out}"))
}

/// The `i`-th whitespace-separated field of `line` after `prefix`, as a number.
fn field(line: &str, prefix: &str, i: usize) -> f64 {
    let rest = line.strip_prefix(prefix).unwrap_or_else(|| panic!("{line:?} does not start with {prefix:?}"));
    let word = rest.split_whitespace().nth(i).unwrap_or_else(|| panic!("no field {i} in {line:?}"));
    word.trim_end_matches(['%', 's', ',']).parse().unwrap_or_else(|e| panic!("field {i} of {line:?}: {e}"))
}

#[test]
fn xor_reaches_full_accuracy() {
    // 100 full-batch Adam steps already reach 100 % with margin (the default is 300).
    let out = run_example("xor", &[], Some(100));
    assert_eq!(out.lines().filter(|l| l.contains(" xor ") && l.contains("-> class")).count(), 4, "{out}");
    assert!(line(&out, "accuracy:").starts_with("accuracy: 100% (4/4)"), "{out}");
}

#[test]
fn linear_regression_learns_weight_two() {
    let out = run_example("linear_regression", &[], Some(100));
    let fixed = line(&out, "fixed");
    let (w, b, mse) = (field(fixed, "fixed", 0), field(fixed, "fixed", 1), field(fixed, "fixed", 2));
    assert!((w - 2.0).abs() < 0.01 && b.abs() < 0.01 && mse < 1e-4, "fixed lr learned w {w} b {b} mse {mse}\n{out}");
    // Exponential: 0.1·0.5^(99/50) at the 100th step; step: 0.1·0.5^floor(99/25).
    let exp = line(&out, "exponential");
    let step = line(&out, "step");
    let lr_exp = exp.split_whitespace().last().and_then(|v| v.parse::<f64>().ok());
    let lr_step = step.split_whitespace().last().and_then(|v| v.parse::<f64>().ok());
    assert!(lr_exp.is_some_and(|lr| (lr - 0.1 * 0.5f64.powf(99.0 / 50.0)).abs() < 1e-4), "{exp}");
    assert!(lr_step.is_some_and(|lr| (lr - 0.0125).abs() < 1e-6), "{step}");
}

#[test]
fn sine_regression_fits_below_1e_3() {
    // 60 epochs reach about 5e-5 on lavapipe; the threshold is the example's promise at its default 150.
    let out = run_example("sine_regression", &[], Some(60));
    let mse = field(line(&out, "final MSE:"), "final MSE:", 0);
    assert!(mse < 1e-3, "final MSE {mse}\n{out}");
    assert!(out.contains("sin(x)") && out.contains("predicted"), "{out}");
}

#[test]
fn optimizers_all_train() {
    let out = run_example("optimizers", &[], Some(20));
    let names = [
        "sgd ",
        "sgd momentum",
        "sgd nesterov",
        "adagrad",
        "rmsprop ",
        "rmsprop centered",
        "adam ",
        "adam amsgrad",
        "adamw",
        "nadam",
    ];
    for name in names {
        let row = line(&out, name);
        // The columns after the name: lr, train loss, accuracy, time. A 3-class guess has loss ln 3 ≈ 1.0986.
        let cols: Vec<&str> = row.split_whitespace().rev().take(4).collect();
        let loss: f64 = cols[2].parse().unwrap_or(f64::NAN);
        assert!(loss.is_finite() && loss < 1.0986, "{name}: train loss {loss} in {row:?}\n{out}");
    }
    // Every optimizer of the library's table is in the comparison.
    for kind in wgtrain::OptimizerKind::all() {
        assert!(out.lines().any(|l| l.trim_start().starts_with(kind.name())), "{} is missing:\n{out}", kind.name());
    }
}

#[test]
fn mnist_prints_test_accuracy() {
    let out = run_example("mnist", &[], Some(1));
    let acc = field(line(&out, "test accuracy:"), "test accuracy:", 0);
    // One epoch of Adam on 8,000 digits lands well above 80 % (tests/mnist.rs checks the full 90 % after 4).
    assert!(acc > 80.0, "test accuracy {acc}%\n{out}");
}

#[test]
fn bench_kernels_quick_prints_gflops() {
    let out = run_example("bench_kernels", &["--quick"], None);
    assert!(out.contains("GFLOP/s"), "{out}");
    for label in ["square 256³", "square 512³", "MLP layer 1 fwd", "MLP layer 2 fwd"] {
        let row = line(&out, label);
        let gflops: f64 = row.split_whitespace().rev().nth(1).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
        assert!(gflops > 0.0, "{label}: {row:?}");
    }
}

#[test]
fn bench_quick_json_has_every_key() {
    let out = run_example("bench", &["--quick", "--json"], None);
    let v: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("bench --json is not one JSON object: {e}\n{out}"));
    for key in ["name", "backend", "driver"] {
        assert!(v["adapter"][key].as_str().is_some_and(|s| !s.is_empty()), "adapter.{key} in {v}");
    }
    for w in ["mlp_a", "mlp_b"] {
        for key in ["step_median_ms", "step_p10_ms", "step_p90_ms", "samples_per_s", "first_step_s"] {
            assert!(v[w][key].as_f64().is_some_and(|x| x > 0.0), "{w}.{key} in {v}");
        }
        let ms = |key: &str| v[w][key].as_f64().unwrap_or(f64::NAN);
        assert!(
            ms("step_p10_ms") <= ms("step_median_ms") && ms("step_median_ms") <= ms("step_p90_ms"),
            "{w}: p10 ≤ median ≤ p90 in {v}"
        );
        // 3 layers: 2 gathers + 3 forward + loss + stats + 3 weight grads + 3 bias sums + 2 input grads + update,
        // and with texture kernels a transpose of dZ before each of the two weight gradients whose sizes allow it.
        let transposes = if v["adapter"]["kernels"] == "texture" { 2 } else { 0 };
        assert_eq!(v[w]["launches_per_step"].as_u64(), Some(16 + transposes), "{w} in {v}");
        assert!(v[w]["host_us_per_step"].as_f64().is_some_and(|x| x > 0.0), "{w}.host_us_per_step in {v}");
        assert!(v[w]["copies_per_step"].as_u64().is_some(), "{w}.copies_per_step in {v}");
        assert_eq!(v[w]["submits_per_step"].as_u64(), Some(1), "{w} in {v}");
    }
    let matmul = v["matmul"].as_array().unwrap_or_else(|| panic!("matmul is not a list in {v}"));
    assert!(!matmul.is_empty(), "{v}");
    for m in matmul {
        assert!(m["n"].as_u64().is_some() && m["gflops"].as_f64().is_some_and(|g| g > 0.0), "{m}");
    }
}

#[test]
fn sweep_prints_the_grid_and_the_best_rate_per_batch_size() {
    let out = run_example("sweep", &[], Some(1));
    line(&out, "best learning rate per batch size:");
    for b in ["32", "128", "512"] {
        let l = line(&out, &format!("batch {b:>3}: lr "));
        assert!(l.contains("test loss"), "{l}");
    }
    let ranked = out.lines().filter(|l| l.trim_start().split(' ').next().is_some_and(|w| w.parse::<usize>().is_ok()));
    assert_eq!(ranked.count(), 15, "15 configurations ranked:\n{out}");
}
