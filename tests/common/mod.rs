//! Helpers shared by the kernel tests: one device per test binary, seeded inputs, and a comparison that prints
//! the label, the largest difference and the first mismatches (llm.c style).
#![allow(dead_code)]

use std::sync::OnceLock;

use wgtrain::gpu::KernelFamily;
use wgtrain::rng::Rng;
use wgtrain::{Activation, Gpu, GpuOptions, Tensor};

/// Every activation, with a leaky slope other than torch's default so the slope is exercised.
pub const ACTIVATIONS: [Activation; 6] = [
    Activation::Identity,
    Activation::Relu,
    Activation::LeakyRelu(0.1),
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Gelu,
];

/// The device every test in this binary shares, so pipelines are compiled once. Fails (never skips) without one.
pub fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| match Gpu::new() {
        Ok(g) => {
            eprintln!("adapter: {}", g.adapter());
            g
        }
        Err(e) => panic!("these tests need a GPU adapter and found none: {e}"),
    })
}

/// One device per kernel family (texture or storage-buffer inputs), shared by the tests of a binary, so that both
/// families are checked on the same adapter. Fails (never skips) without an adapter.
pub fn device(kind: KernelFamily) -> &'static Gpu {
    static DEVICES: [OnceLock<Gpu>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = &DEVICES[usize::from(kind == KernelFamily::Buffer)];
    slot.get_or_init(|| {
        // The heuristic choice, not tuning: tests/tune.rs tests the tuner, and every variant is named in
        // tests/matmul.rs.
        let opts = GpuOptions { kernels: Some(kind), tune: false, ..GpuOptions::default() };
        Gpu::with_options(&opts).unwrap_or_else(|e| panic!("these tests need a GPU adapter and found none: {e}"))
    })
}

/// A device whose reductions keep the workgroup-memory paths (no subgroup operations), so both forms are tested on
/// adapters that have subgroups.
pub fn device_without_subgroups() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| {
        let opts = GpuOptions { subgroups: false, tune: false, ..GpuOptions::default() };
        Gpu::with_options(&opts).unwrap_or_else(|e| panic!("these tests need a GPU adapter and found none: {e}"))
    })
}

/// Both kernel families' devices.
pub fn devices() -> [&'static Gpu; 2] {
    [device(KernelFamily::Texture), device(KernelFamily::Buffer)]
}

/// `n` values uniform in [lo, hi) from `seed`.
pub fn uniform(seed: u64, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.uniform(lo, hi)).collect()
}

/// Uploads `data` as a 1-D tensor.
pub fn upload(data: &[f32]) -> Tensor {
    Tensor::from_slice(gpu(), "test", data, &[data.len()]).expect("upload")
}

/// A zero tensor of `n` elements.
pub fn zeros(n: usize) -> Tensor {
    Tensor::zeros(gpu(), "test", &[n]).expect("zeros")
}

/// Asserts |got − want| ≤ atol + rtol·|want| element-wise, and that the reference is not trivially all zeros.
pub fn assert_close(label: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) {
    assert_eq!(got.len(), want.len(), "{label}: length {} vs reference {}", got.len(), want.len());
    let mut max_diff = 0.0f32;
    let mut bad = Vec::new();
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let d = (g - w).abs();
        if d.is_nan() || d > atol + rtol * w.abs() {
            if bad.len() < 5 {
                bad.push(format!("[{i}] got {g} want {w} (diff {d:e})"));
            }
            max_diff = f32::NAN;
        } else if !max_diff.is_nan() {
            max_diff = max_diff.max(d);
        }
    }
    assert!(bad.is_empty(), "{label}: mismatches (atol {atol:e}, rtol {rtol:e}): {}", bad.join("; "));
}

/// Asserts the data is not all (near) zero, so a kernel that writes nothing cannot pass by accident.
pub fn assert_nontrivial(label: &str, v: &[f32]) {
    assert!(v.iter().any(|x| x.abs() > 1e-6), "{label}: reference is all zeros, the test would not catch a no-op");
}
