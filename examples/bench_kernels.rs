//! Matmul throughput: GFLOP/s of `matmul_forward` on square sizes and on the shapes the MNIST MLP runs.
//!
//! cargo run --release --example bench_kernels [-- --quick]
//! Each shape runs once to compile and warm up, then several timed runs; a run is one submission timed from
//! submit to the end of Gpu::wait(), so it is the full device time, and the table shows the median.
//! --quick skips 1024³ and takes fewer runs (for CI, where only "does it run" matters).
//! --variants times every generated config this device's tuner chooses among, on each shape: the first launch
//! (the driver's compile, the cold-start cost) and the GFLOP/s after it.

use std::time::{Duration, Instant};

use wgtrain::internal::rng::Rng;
use wgtrain::matmul_wgsl::{MatmulConfig, Pass};
use wgtrain::ops::matmul::{matmul_forward, matmul_variant, MatmulOperands, MatmulShape};
use wgtrain::ops::tune::candidates;
use wgtrain::{Activation, Gpu, Tensor};

/// Timed runs per shape stop after this much time (or `MAX_RUNS`), but never before `MIN_RUNS`.
const BUDGET: Duration = Duration::from_secs(1);
const MIN_RUNS: usize = 5;
const MAX_RUNS: usize = 50;

/// One row of the table: C[M, N] = A[M, K]·op(B), with B stored [N, K] when `trans_b` (nn.Linear's weight layout).
struct Case {
    label: &'static str,
    shape: MatmulShape,
}

fn cases(quick: bool) -> Vec<Case> {
    let mut v = vec![
        Case { label: "square 256³", shape: MatmulShape::new(256, 256, 256) },
        Case { label: "square 512³", shape: MatmulShape::new(512, 512, 512) },
    ];
    if !quick {
        v.push(Case { label: "square 1024³", shape: MatmulShape::new(1024, 1024, 1024) });
    }
    // The MLP's forward layers: x[B, in]·Wᵀ with W stored [out, in], exactly as the training step runs them.
    v.push(Case {
        label: "MLP layer 1 fwd",
        shape: MatmulShape { m: 128, n: 128, k: 784, trans_a: false, trans_b: true },
    });
    v.push(Case {
        label: "MLP layer 2 fwd",
        shape: MatmulShape { m: 128, n: 64, k: 128, trans_a: false, trans_b: true },
    });
    // The backward pass: weight gradients dZᵀ·X (A transposed) and input gradients dZ·W (untransposed).
    v.push(Case {
        label: "MLP layer 1 dW",
        shape: MatmulShape { m: 128, n: 784, k: 128, trans_a: true, trans_b: false },
    });
    v.push(Case {
        label: "MLP layer 2 dX",
        shape: MatmulShape { m: 128, n: 128, k: 64, trans_a: false, trans_b: false },
    });
    if !quick {
        v.push(Case {
            label: "1024³ A·Bᵀ",
            shape: MatmulShape { trans_b: true, ..MatmulShape::new(1024, 1024, 1024) },
        });
        v.push(Case {
            label: "1024³ Aᵀ·B",
            shape: MatmulShape { trans_a: true, ..MatmulShape::new(1024, 1024, 1024) },
        });
    }
    v
}

/// Median seconds of one M×K×N matmul (the tuned choice, or `config`), how many timed runs it took, and the
/// first launch's seconds; None when `config` cannot compute the shape.
fn time_matmul(
    gpu: &Gpu,
    s: &MatmulShape,
    quick: bool,
    config: Option<MatmulConfig>,
) -> wgtrain::Result<Option<(f64, usize, f64)>> {
    let mut rng = Rng::new(0);
    let mut fill = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect() };
    let a = Tensor::from_slice(gpu, "a", &fill(s.m * s.k), &[s.m * s.k])?;
    let b = Tensor::from_slice(gpu, "b", &fill(s.k * s.n), &[s.k * s.n])?;
    let c = Tensor::zeros(gpu, "c", &[s.m * s.n])?;
    let first = Instant::now();
    let mm = match config {
        None => matmul_forward(gpu, s, a.view(), b.view(), None, Activation::Identity, c.view(), None)?,
        Some(config) => {
            let ops = MatmulOperands { a: a.view(), b: b.view(), bias: None, aux: None, c: c.view(), z: None };
            match matmul_variant(gpu, config, s, Pass::Forward, Activation::Identity, &ops)? {
                Some(d) => d,
                None => return Ok(None),
            }
        }
    };
    // The first run pays for the pipeline's JIT compilation on llvmpipe; keep it out of the figures.
    gpu.run(&[&mm])?;
    let first = first.elapsed().as_secs_f64();
    let (min_runs, max_runs) = if quick { (2, 3) } else { (MIN_RUNS, MAX_RUNS) };
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < min_runs || (times.len() < max_runs && start.elapsed() < BUDGET) {
        let t = Instant::now();
        gpu.submit(&[&mm]);
        gpu.wait()?;
        times.push(t.elapsed().as_secs_f64());
    }
    Ok(Some((median(&mut times), times.len(), first)))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let (mut quick, mut variants) = (false, false);
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--quick" => quick = true,
            "--variants" => variants = true,
            other => return Err(format!("unknown argument {other:?}; expected --quick or --variants").into()),
        }
    }
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.adapter());
    if variants {
        println!("{:<16} {:>16} {:<34} {:>9} {:>9}", "matmul", "M×K×N", "config", "first s", "GFLOP/s");
        for case in cases(quick) {
            let s = &case.shape;
            for config in candidates(&gpu, s) {
                let Some((secs, _, first)) = time_matmul(&gpu, s, quick, Some(config))? else { continue };
                let gflops = 2.0 * (s.m * s.k * s.n) as f64 / secs / 1e9;
                let dims = format!("{}×{}×{}", s.m, s.k, s.n);
                println!("{:<16} {dims:>16} {:<34} {first:>9.2} {gflops:>9.2}", case.label, config.name());
            }
        }
        return Ok(());
    }
    println!("{:<16} {:>16} {:>6} {:>10} {:>9} {:>5}", "matmul", "M×K×N", "B", "median ms", "GFLOP/s", "runs");
    for case in cases(quick) {
        let s = &case.shape;
        let Some((secs, runs, _)) = time_matmul(&gpu, s, quick, None)? else { continue };
        let gflops = 2.0 * (s.m * s.k * s.n) as f64 / secs / 1e9;
        let dims = format!("{}×{}×{}", s.m, s.k, s.n);
        let layout = if s.trans_b { "[N,K]" } else { "[K,N]" };
        println!("{:<16} {dims:>16} {layout:>6} {:>10.3} {gflops:>9.2} {runs:>5}", case.label, secs * 1e3);
    }
    Ok(())
}
