//! Training-step benchmark on the bundled MNIST subset, for comparison with bench/torch_mlp.py (see bench/compare.sh).
//!
//! cargo run --release --example bench [-- [--json] [--steps N] [--quick] [--sweep K] [--profile | --profile-b |
//! --profile-sweep K]]
//!
//! Workloads (ReLU, softmax cross-entropy, Adam 1e-3, as in torch_mlp.py):
//!   MLP-A 784-128-64-10, batch 128;  MLP-B 784-1024-1024-10, batch 1024.
//! Batches are consecutive slices of the training set in file order, wrapping around (no shuffle), so both programs
//! see the same batches. Each step is one `Network::train_step` (one queue submission) followed by `Gpu::wait()`,
//! and is timed across both, so the device's work counts in full rather than only the queueing. The figure is the
//! median over 200 steps after a warm-up of 20, except that by default each workload stops warming up after 10 s and
//! stops timing after 270 s: on 2-core lavapipe an MLP-B step takes 1.3 s on an idle machine and over 2 s on a busy
//! one, and 220 of them could keep the run past eight minutes (a run that hits the budget reports fewer timed steps;
//! the JSON says how many). `--steps N` times exactly N steps after a full warm-up of 20, however long that takes.
//!
//! first_step_s is the time from a cold start to the end of the first training step: for MLP-A from process start,
//! for MLP-B from the creation of its own fresh device; both include device creation, reading the data and compiling
//! the pipelines (Mesa caches compiled shaders on disk; MESA_SHADER_CACHE_DISABLE=true gives the truly cold figure).
//! Then matmul GFLOP/s for N×N×N products, N = 256 … 2048.
//!
//! --json prints one JSON object on stdout (progress goes to stderr); --quick runs a few steps and small matmuls;
//! --matmul N,N,… times those sizes instead (bench/gpu.sh: 1024,4096).
//!
//! Where the adapter has SHADER_F16, each workload is also timed in half precision on its device right after its
//! f32 run (`--precision f16`: f16 activations and matmul operands, f32 master weights, the loss scaler) and
//! reported as `"mlp_a_f16"` / `"mlp_b_f16": {"step_median_ms", …}`.
//!
//! --sweep K also times a group step of K MLP-A models at batch 128 (what `wgtrain sweep` runs: a `NetworkGroup`,
//! every matmul and the optimizer one launch for all K, one submission, then `Gpu::wait()`), on MLP-A's device
//! right after MLP-A, interleaved with K single steps of the same models, and reports it as
//! `"sweep_K": {"step_median_ms", "per_model_ms", "k"}` beside `mlp_a`; compare with K × mlp_a.step_median_ms.
//!
//! Each workload also reports the host's share of a step: `host_us_per_step`, the median time `train_step` takes
//! to record and submit the step without waiting for the device, `host_us_per_launch` (that over the launches),
//! and what a step records: `launches_per_step`, `copies_per_step` (buffer-to-texture copies), `writes_per_step`
//! (queued buffer writes) and `submits_per_step`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use wgtrain::data::idx::read_mnist_dir;
use wgtrain::internal::rng::Rng;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::network::{DeviceData, Network, NetworkGroup, StepCounts};
use wgtrain::ops::matmul::{matmul_forward, MatmulShape};
use wgtrain::precision::LossScaling;
use wgtrain::{Activation, Gpu, Loss, OptimizerConfig, Precision, Tensor};

const WARMUP: usize = 20;
const STEPS: usize = 200;
/// Without --steps, warm-up ends after this long (but after at least `MIN_WARMUP` steps) ...
const WARMUP_BUDGET: Duration = Duration::from_secs(10);
const MIN_WARMUP: usize = 3;
/// ... and timing ends after this long: the default run of both workloads and the matmuls stays near five minutes.
const TIMED_BUDGET: Duration = Duration::from_secs(270);
const QUICK_WARMUP: usize = 2;
const QUICK_STEPS: usize = 3;
const MATMUL_SIZES: [usize; 4] = [256, 512, 1024, 2048];
const QUICK_MATMUL_SIZES: [usize; 2] = [128, 256];
/// Timed matmul runs stop after this much time, but never before `MATMUL_MIN_RUNS` (2048³ takes seconds a run).
const MATMUL_BUDGET: Duration = Duration::from_secs(1);
const MATMUL_MIN_RUNS: usize = 3;
const MATMUL_MAX_RUNS: usize = 30;

struct Workload {
    key: &'static str,
    name: &'static str,
    hidden: &'static [usize],
    batch: usize,
}

const WORKLOADS: [Workload; 2] = [
    Workload { key: "mlp_a", name: "MLP-A 784-128-64-10", hidden: &[128, 64], batch: 128 },
    Workload { key: "mlp_b", name: "MLP-B 784-1024-1024-10", hidden: &[1024, 1024], batch: 1024 },
];

#[derive(Serialize)]
struct AdapterJson {
    name: String,
    backend: String,
    driver: String,
    /// The kernel family: "texture" (CPU adapters) or "buffer".
    kernels: &'static str,
}

#[derive(Serialize)]
struct StepJson {
    step_median_ms: f64,
    /// The 10th and 90th percentile step times: on 2-core lavapipe whole stretches of steps have run up to 1.8×
    /// slower than the rest, and these show how much of a run that was.
    step_p10_ms: f64,
    step_p90_ms: f64,
    samples_per_s: f64,
    #[serde(flatten)]
    host: HostJson,
    first_step_s: f64,
    /// How many steps the median is over, and how many ran before them (they can end early under the time budget).
    steps: usize,
    warmup: usize,
}

/// How many steps to run: up to `warmup` and `steps`, cut short by the time budgets when there are any.
#[derive(Clone, Copy)]
struct StepPlan {
    warmup: usize,
    steps: usize,
    budgets: Option<(Duration, Duration)>,
}

/// The host's share of a step: recording and submitting it, without waiting for the device.
#[derive(Serialize)]
struct HostJson {
    /// Median microseconds from the call to `train_step` to its return (the submission queued, not run).
    host_us_per_step: f64,
    /// `host_us_per_step` over the launches recorded.
    host_us_per_launch: f64,
    launches_per_step: usize,
    /// Buffer-to-texture copies recorded before launches (the texture family's operand refreshes).
    copies_per_step: usize,
    /// Host-to-device buffer writes queued with the step.
    writes_per_step: usize,
    submits_per_step: usize,
}

impl HostJson {
    fn new(counts: StepCounts, recorded: &mut [f64]) -> Self {
        let us = median(recorded) * 1e6;
        HostJson {
            host_us_per_step: us,
            host_us_per_launch: us / counts.launches.max(1) as f64,
            launches_per_step: counts.launches,
            copies_per_step: counts.copies,
            writes_per_step: counts.writes,
            submits_per_step: counts.submissions,
        }
    }
}

#[derive(Serialize)]
struct SweepJson {
    step_median_ms: f64,
    per_model_ms: f64,
    k: usize,
    /// The median time of one single step of each of the same K models (K submissions and waits), measured
    /// between the group steps.
    k_single_steps_ms: f64,
    #[serde(flatten)]
    host: HostJson,
}

/// A workload in half precision (`--precision f16`: f16 activations and matmul operands, f32 master weights, the
/// loss scaler), where the adapter has SHADER_F16: `mlp_a_f16` and `mlp_b_f16`.
#[derive(Serialize)]
struct HalfJson {
    step_median_ms: f64,
    step_p10_ms: f64,
    step_p90_ms: f64,
    #[serde(flatten)]
    host: HostJson,
    steps: usize,
    warmup: usize,
}

#[derive(Serialize)]
struct MatmulJson {
    n: usize,
    gflops: f64,
}

#[derive(Serialize)]
struct Report {
    adapter: AdapterJson,
    mlp_a: StepJson,
    mlp_b: StepJson,
    /// `sweep_K` for --sweep K.
    #[serde(flatten)]
    sweeps: std::collections::BTreeMap<String, SweepJson>,
    /// `mlp_a_f16` and `mlp_b_f16`, where the adapter has SHADER_F16.
    #[serde(flatten)]
    halves: std::collections::BTreeMap<String, HalfJson>,
    matmul: Vec<MatmulJson>,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The 10th and 90th percentiles of `sorted` (ascending, non-empty).
fn percentiles(sorted: &[f64]) -> (f64, f64) {
    (sorted[sorted.len() / 10], sorted[sorted.len() * 9 / 10])
}

/// Times one workload's training step in f16 on `gpu` (as `--precision f16` trains: Adam 1e-3 with the loss
/// scaler), after its f32 run on the same device; each step waited for, as in [`bench_mlp`].
fn bench_f16(gpu: &Gpu, dir: &Path, w: &Workload, plan: StepPlan) -> Result<HalfJson, Box<dyn std::error::Error>> {
    let (train, _) = read_mnist_dir(dir)?;
    let model = MlpConfig::new(784, w.hidden, 10, Activation::Relu);
    let params = init_params(&model, Init::Torch, 0)?;
    let mut net = Network::new(gpu, &model, Loss::CrossEntropy, &OptimizerConfig::adam(1e-3), &params, w.batch)?;
    net.set_precision(gpu, Precision::F16)?;
    net.set_loss_scaling(gpu, Some(&[LossScaling::default()]))?;
    let data = DeviceData::upload(gpu, &train.features, train.n_features, &train.targets, 1)?;
    net.prepare(gpu, &data, w.batch)?;
    let counts = net.group().step_counts(gpu, &data, w.batch)?;
    let batches = (train.len() / w.batch).max(1);
    let mut recorded = Vec::new();
    let mut step = |i: usize| -> wgtrain::Result<f64> {
        let t = Instant::now();
        net.train_step(gpu, &data, (i % batches) * w.batch, w.batch, 1e-3)?;
        recorded.push(t.elapsed().as_secs_f64());
        gpu.wait()?;
        Ok(t.elapsed().as_secs_f64())
    };
    let (warmup_budget, timed_budget) = plan.budgets.unwrap_or((Duration::MAX, Duration::MAX));
    let warmup_start = Instant::now();
    let mut warmup = 0;
    while warmup < plan.warmup.max(1) && (warmup < MIN_WARMUP || warmup_start.elapsed() < warmup_budget) {
        step(warmup)?;
        warmup += 1;
    }
    let mut times = Vec::with_capacity(plan.steps);
    let timed_start = Instant::now();
    while times.len() < plan.steps && (times.is_empty() || timed_start.elapsed() < timed_budget) {
        times.push(step(warmup + times.len())?);
    }
    let steps = times.len();
    let med = median(&mut times);
    let (p10, p90) = percentiles(&times);
    let host = HostJson::new(counts, &mut recorded[warmup..]);
    eprintln!(
        "  {}_f16: {steps} timed steps, median {:.2} ms (p10 {:.2}, p90 {:.2})",
        w.key,
        med * 1e3,
        p10 * 1e3,
        p90 * 1e3
    );
    Ok(HalfJson { step_median_ms: med * 1e3, step_p10_ms: p10 * 1e3, step_p90_ms: p90 * 1e3, host, steps, warmup })
}

/// Times one workload from a cold start (`origin`): a fresh device, the data, the network, then the steps.
fn bench_mlp(
    origin: Instant,
    dir: &Path,
    w: &Workload,
    plan: StepPlan,
) -> Result<(StepJson, Gpu), Box<dyn std::error::Error>> {
    let phase = Instant::now();
    let gpu = Gpu::new()?;
    let device_s = phase.elapsed().as_secs_f64();
    let (train, _) = read_mnist_dir(dir)?;
    let model = MlpConfig::new(784, w.hidden, 10, Activation::Relu);
    let optimizer = OptimizerConfig::adam(1e-3);
    let params = init_params(&model, Init::Torch, 0)?;
    let mut net = Network::new(&gpu, &model, Loss::CrossEntropy, &optimizer, &params, w.batch)?;
    let data = DeviceData::upload(&gpu, &train.features, train.n_features, &train.targets, 1)?;
    let data_s = phase.elapsed().as_secs_f64() - device_s;
    // What `Trainer::fit` does before its first step: tune, compile every pipeline (in parallel), build the plan.
    net.prepare(&gpu, &data, w.batch)?;
    let prepare_s = phase.elapsed().as_secs_f64() - device_s - data_s;
    let counts = net.group().step_counts(&gpu, &data, w.batch)?;
    // Whole batches only, as torch_mlp.py does (len // batch); step i takes batch i mod that.
    let batches = train.len() / w.batch;
    if batches == 0 {
        return Err(format!("{} training samples do not fill one batch of {}", train.len(), w.batch).into());
    }
    // Host time to record and submit each step, to tell the host's share from the device's.
    let mut recorded = Vec::new();
    let mut step = |i: usize| -> wgtrain::Result<f64> {
        let t = Instant::now();
        net.train_step(&gpu, &data, (i % batches) * w.batch, w.batch, 1e-3)?;
        recorded.push(t.elapsed().as_secs_f64());
        gpu.wait()?;
        Ok(t.elapsed().as_secs_f64())
    };
    let (warmup_budget, timed_budget) = plan.budgets.unwrap_or((Duration::MAX, Duration::MAX));
    let warmup_start = Instant::now();
    step(0)?;
    let first_step_s = origin.elapsed().as_secs_f64();
    eprintln!(
        "  {}: first step after {first_step_s:.2} s: device {device_s:.2} s, data and network {data_s:.2} s, \
         tuning and compiling {prepare_s:.2} s, the step itself {:.2} s",
        w.key,
        warmup_start.elapsed().as_secs_f64()
    );
    let mut warmup = 1;
    while warmup < plan.warmup && (warmup < MIN_WARMUP || warmup_start.elapsed() < warmup_budget) {
        step(warmup)?;
        warmup += 1;
    }
    let mut times = Vec::with_capacity(plan.steps);
    let report_every = (plan.steps / 4).max(1);
    let timed_start = Instant::now();
    while times.len() < plan.steps && (times.is_empty() || timed_start.elapsed() < timed_budget) {
        times.push(step(warmup + times.len())?);
        if times.len() % report_every == 0 {
            let mut sorted = times.clone();
            let med = median(&mut sorted);
            let (p10, p90) = percentiles(&sorted);
            eprintln!(
                "  {}: {} timed steps, median so far {:.2} ms (p10 {:.2}, p90 {:.2})",
                w.key,
                times.len(),
                med * 1e3,
                p10 * 1e3,
                p90 * 1e3
            );
        }
    }
    let steps = times.len();
    let med = median(&mut times);
    let host = HostJson::new(counts, &mut recorded[warmup..]);
    let (p10, p90) = percentiles(&times);
    let stats = StepJson {
        step_median_ms: med * 1e3,
        step_p10_ms: p10 * 1e3,
        step_p90_ms: p90 * 1e3,
        samples_per_s: w.batch as f64 / med,
        host,
        first_step_s,
        steps,
        warmup,
    };
    Ok((stats, gpu))
}

/// Times a group step of `k` MLP-A models (Adam 1e-3, seeds 0..k) in a `NetworkGroup`: every matmul and the
/// optimizer one launch for all k, one submission, then one wait; the models see the same batches, as in a group.
fn bench_sweep(gpu: &Gpu, dir: &Path, k: usize, plan: StepPlan) -> Result<SweepJson, Box<dyn std::error::Error>> {
    let w = &WORKLOADS[0];
    let (train, _) = read_mnist_dir(dir)?;
    let model = MlpConfig::new(784, w.hidden, 10, Activation::Relu);
    let optimizer = OptimizerConfig::adam(1e-3);
    let data = DeviceData::upload(gpu, &train.features, train.n_features, &train.targets, 1)?;
    let params = (0..k).map(|s| init_params(&model, Init::Torch, s as u64)).collect::<wgtrain::Result<Vec<_>>>()?;
    let mut group = NetworkGroup::new(gpu, &model, Loss::CrossEntropy, &vec![optimizer.clone(); k], &params, w.batch)?;
    group.prepare(gpu, &data, w.batch)?;
    let counts = group.step_counts(gpu, &data, w.batch)?;
    let mut nets = params
        .iter()
        .map(|p| Network::new(gpu, &model, Loss::CrossEntropy, &optimizer, p, w.batch))
        .collect::<wgtrain::Result<Vec<_>>>()?;
    for n in &mut nets {
        n.prepare(gpu, &data, w.batch)?;
    }
    let batches = (train.len() / w.batch).max(1);
    let lrs = vec![1e-3; k];
    // Host time to record and submit the group step, to tell the host's share from the device's.
    let mut recorded = Vec::new();
    // After each group step, the same K models take one single step each (a submission and a wait apiece), so
    // the two are compared in the same stretch of time: on a shared 2-core machine the load moves a lot.
    let mut singles = Vec::new();
    let mut step = |i: usize| -> wgtrain::Result<f64> {
        let offset = (i % batches) * w.batch;
        let t = Instant::now();
        group.train_step(gpu, &data, offset, w.batch, &lrs)?;
        recorded.push(t.elapsed().as_secs_f64());
        gpu.wait()?;
        let group = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for n in nets.iter_mut() {
            n.train_step(gpu, &data, offset, w.batch, 1e-3)?;
            gpu.wait()?;
        }
        singles.push(t.elapsed().as_secs_f64());
        Ok(group)
    };
    let (warmup_budget, timed_budget) = plan.budgets.unwrap_or((Duration::MAX, Duration::MAX));
    let start = Instant::now();
    let mut warmup = 0;
    while warmup < plan.warmup.max(1) && (warmup < MIN_WARMUP || start.elapsed() < warmup_budget) {
        step(warmup)?;
        warmup += 1;
    }
    let mut times = Vec::new();
    let timed_start = Instant::now();
    while times.len() < plan.steps && (times.is_empty() || timed_start.elapsed() < timed_budget) {
        times.push(step(warmup + times.len())?);
    }
    let med = median(&mut times) * 1e3;
    let host = HostJson::new(counts, &mut recorded[warmup..]);
    let rec = host.host_us_per_step / 1e3;
    let single = median(&mut singles[warmup..]) * 1e3;
    eprintln!(
        "  sweep_{k}: {} timed steps, median {med:.2} ms ({:.2} ms a model; recording and submitting {rec:.2} ms); \
         interleaved, the same {k} models one step each: {single:.2} ms (ratio {:.2})",
        times.len(),
        med / k as f64,
        med / single
    );
    Ok(SweepJson { step_median_ms: med, per_model_ms: med / k as f64, k, k_single_steps_ms: single, host })
}

/// Median GFLOP/s of an N×N×N matmul_forward, each run timed from submit to the end of Gpu::wait().
fn bench_matmul(gpu: &Gpu, n: usize) -> wgtrain::Result<f64> {
    let mut rng = Rng::new(0);
    let mut fill = || -> Vec<f32> { (0..n * n).map(|_| rng.uniform(-1.0, 1.0)).collect() };
    let a = Tensor::from_slice(gpu, "a", &fill(), &[n, n])?;
    let b = Tensor::from_slice(gpu, "b", &fill(), &[n, n])?;
    let c = Tensor::zeros(gpu, "c", &[n, n])?;
    let mm = matmul_forward(
        gpu,
        &MatmulShape::new(n, n, n),
        a.view(),
        b.view(),
        None,
        Activation::Identity,
        c.view(),
        None,
    )?;
    // Warm-up: the first run includes compiling the pipeline.
    gpu.run(&[&mm])?;
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < MATMUL_MIN_RUNS || (times.len() < MATMUL_MAX_RUNS && start.elapsed() < MATMUL_BUDGET) {
        let t = Instant::now();
        gpu.submit(&[&mm]);
        gpu.wait()?;
        times.push(t.elapsed().as_secs_f64());
    }
    Ok(2.0 * (n * n * n) as f64 / median(&mut times) / 1e9)
}

/// `--profile` / `--profile-b`: the median time of each kernel of an MLP-A / MLP-B training step, launched alone, to
/// show where a step spends its time (the sum exceeds a real step, which overlaps nothing but pays one wait per
/// launch here).
fn profile(workload: usize) -> Result<(), Box<dyn std::error::Error>> {
    let gpu = Gpu::new()?;
    let dir = data_dir();
    let (train, _) = read_mnist_dir(&dir)?;
    let w = &WORKLOADS[workload];
    let model = MlpConfig::new(784, w.hidden, 10, Activation::Relu);
    let params = init_params(&model, Init::Torch, 0)?;
    let mut net = Network::new(&gpu, &model, Loss::CrossEntropy, &OptimizerConfig::adam(1e-3), &params, w.batch)?;
    let data = DeviceData::upload(&gpu, &train.features, train.n_features, &train.targets, 1)?;
    net.prepare(&gpu, &data, w.batch)?;
    println!(
        "adapter: {}\n{}: kernels of one training step, each launched alone (median of 20, MLP-B 5)",
        gpu.adapter(),
        w.name
    );
    let mut total = 0.0;
    let repeats = if workload == 0 { 20 } else { 5 };
    for (file, entry, ms) in net.profile_step(&gpu, &data, w.batch, repeats)? {
        println!("{:>9.3} ms  {file}:{entry}", ms);
        total += ms;
    }
    println!("{total:>9.3} ms  sum");
    Ok(())
}

/// `--profile-sweep K`: as `--profile` for the launches of one group step of K MLP-A models.
fn profile_sweep(k: usize) -> Result<(), Box<dyn std::error::Error>> {
    let gpu = Gpu::new()?;
    let (train, _) = read_mnist_dir(&data_dir())?;
    let w = &WORKLOADS[0];
    let model = MlpConfig::new(784, w.hidden, 10, Activation::Relu);
    let params = (0..k).map(|s| init_params(&model, Init::Torch, s as u64)).collect::<wgtrain::Result<Vec<_>>>()?;
    let optimizers = vec![OptimizerConfig::adam(1e-3); k];
    let mut group = NetworkGroup::new(&gpu, &model, Loss::CrossEntropy, &optimizers, &params, w.batch)?;
    let data = DeviceData::upload(&gpu, &train.features, train.n_features, &train.targets, 1)?;
    group.prepare(&gpu, &data, w.batch)?;
    println!(
        "adapter: {}
{k} × {}: launches of one group step, each alone (median of 10)",
        gpu.adapter(),
        w.name
    );
    let mut total = 0.0;
    for (file, entry, ms) in group.profile_step(&gpu, &data, w.batch, 10)? {
        println!("{:>9.3} ms  {file}:{entry}", ms);
        total += ms;
    }
    println!("{total:>9.3} ms  sum");
    Ok(())
}

/// The bundled MNIST subset: `WGTRAIN_BENCH_DATA` when set (a prebuilt binary run from another checkout, as
/// bench/gpu.sh does), else the repository's data/mnist-10k.
fn data_dir() -> std::path::PathBuf {
    std::env::var_os("WGTRAIN_BENCH_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist-10k"))
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    // Taken first, so MLP-A's first_step_s covers everything from process start.
    let origin = Instant::now();
    if let Err(e) = run(origin) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(origin: Instant) -> Result<(), Box<dyn std::error::Error>> {
    let (mut json, mut quick, mut steps, mut sweep) = (false, false, None, None);
    let mut sizes_arg: Option<Vec<usize>> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--json" => json = true,
            "--quick" => quick = true,
            "--profile" => return profile(0),
            "--profile-sweep" => {
                let k: usize = args.next().ok_or("--profile-sweep needs a number of models")?.parse()?;
                return profile_sweep(k.max(1));
            }
            "--profile-b" => return profile(1),
            "--matmul" => {
                let list = args.next().ok_or("--matmul needs a comma list of sizes")?;
                let sizes = list.split(',').map(|v| v.trim().parse::<usize>()).collect::<Result<Vec<_>, _>>()?;
                if sizes.is_empty() || sizes.contains(&0) {
                    return Err("--matmul sizes must be at least 1".into());
                }
                sizes_arg = Some(sizes);
            }
            "--sweep" => {
                let k: usize = args.next().ok_or("--sweep needs a number of models")?.parse()?;
                if k == 0 {
                    return Err("--sweep needs at least 1 model".into());
                }
                sweep = Some(k);
            }
            "--steps" => {
                let n: usize = args.next().ok_or("--steps needs a number")?.parse()?;
                if n == 0 {
                    return Err("--steps must be at least 1".into());
                }
                steps = Some(n);
            }
            other => {
                return Err(format!(
                "unknown argument {other:?}; expected --json, --steps N, --quick, --sweep K, --matmul N,N or --profile"
            )
                .into())
            }
        }
    }
    let plan = match (quick, steps) {
        (true, n) => StepPlan { warmup: QUICK_WARMUP, steps: n.unwrap_or(QUICK_STEPS), budgets: None },
        (false, Some(n)) => StepPlan { warmup: WARMUP, steps: n, budgets: None },
        (false, None) => StepPlan { warmup: WARMUP, steps: STEPS, budgets: Some((WARMUP_BUDGET, TIMED_BUDGET)) },
    };
    let sizes: &[usize] = match &sizes_arg {
        Some(s) => s,
        None if quick => &QUICK_MATMUL_SIZES,
        None => &MATMUL_SIZES,
    };
    let dir = data_dir();

    let mut results = Vec::new();
    let mut sweeps = std::collections::BTreeMap::new();
    let mut halves = std::collections::BTreeMap::new();
    let mut gpu = None;
    for (i, w) in WORKLOADS.iter().enumerate() {
        eprintln!("{}: batch {}, warm-up {}, {} timed steps", w.name, w.batch, plan.warmup, plan.steps);
        // MLP-A starts from process start; MLP-B from now, on a device of its own (the previous one is dropped).
        let start = if i == 0 { origin } else { Instant::now() };
        drop(gpu.take());
        let (stats, g) = bench_mlp(start, &dir, w, plan)?;
        results.push(stats);
        if let (0, Some(k)) = (i, sweep) {
            eprintln!("{k} × MLP-A in one group: batch {}", w.batch);
            sweeps.insert(format!("sweep_{k}"), bench_sweep(&g, &dir, k, plan)?);
        }
        if g.has_shader_f16() {
            eprintln!("{} in f16", w.name);
            halves.insert(format!("{}_f16", w.key), bench_f16(&g, &dir, w, plan)?);
        }
        gpu = Some(g);
    }
    let gpu = gpu.ok_or("no workload ran")?;
    let mut matmul = Vec::new();
    for &n in sizes {
        eprintln!("matmul {n}³");
        matmul.push(MatmulJson { n, gflops: bench_matmul(&gpu, n)? });
    }

    let info = gpu.adapter();
    let mut results = results.into_iter();
    let report = Report {
        adapter: AdapterJson {
            name: info.name.clone(),
            backend: info.backend.clone(),
            driver: info.driver.clone(),
            kernels: gpu.kernel_family().name(),
        },
        mlp_a: results.next().ok_or("MLP-A result missing")?,
        mlp_b: results.next().ok_or("MLP-B result missing")?,
        sweeps,
        halves,
        matmul,
    };
    if json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!("adapter: {info}, {} kernels", report.adapter.kernels);
    println!(
        "{:<24} {:>6} {:>14} {:>15} {:>10} {:>11} {:>8} {:>13} {:>13}",
        "workload",
        "batch",
        "step median ms",
        "p10–p90 ms",
        "samples/s",
        "launches",
        "host µs",
        "first step s",
        "timed+warm-up"
    );
    for (w, r) in WORKLOADS.iter().zip([&report.mlp_a, &report.mlp_b]) {
        println!(
            "{:<24} {:>6} {:>14.3} {:>15} {:>10.0} {:>11} {:>8} {:>13.3} {:>13}",
            w.name,
            w.batch,
            r.step_median_ms,
            format!("{:.2}–{:.2}", r.step_p10_ms, r.step_p90_ms),
            r.samples_per_s,
            r.host.launches_per_step,
            format!("{:.0}", r.host.host_us_per_step),
            r.first_step_s,
            format!("{}+{}", r.steps, r.warmup)
        );
    }
    println!("each step is one submission, timed from submit to the end of Gpu::wait(); the figure is the median");
    for s in report.sweeps.values() {
        println!(
            "group of {} MLP-A models: step {:.3} ms ({:.3} ms a model) vs {} single steps {:.3} ms: ratio {:.2}",
            s.k,
            s.step_median_ms,
            s.per_model_ms,
            s.k,
            s.k as f64 * report.mlp_a.step_median_ms,
            s.step_median_ms / (s.k as f64 * report.mlp_a.step_median_ms)
        );
    }
    for (key, h) in &report.halves {
        println!(
            "{key}: step median {:.3} ms (p10–p90 {:.2}–{:.2}), {} launches, host {:.0} µs",
            h.step_median_ms, h.step_p10_ms, h.step_p90_ms, h.host.launches_per_step, h.host.host_us_per_step
        );
    }
    println!("{:<14} {:>9}", "matmul", "GFLOP/s");
    for m in &report.matmul {
        println!("{:<14} {:>9.2}", format!("{0}×{0}×{0}", m.n), m.gflops);
    }
    Ok(())
}
