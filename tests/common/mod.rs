//! Helpers shared by the kernel tests: one device per test binary, seeded inputs, and a comparison that prints
//! the label, the largest difference and the first mismatches (llm.c style).
#![allow(dead_code)]

use std::io::Write as _;
use std::sync::{Mutex, OnceLock};

use wgtrain::gpu::KernelFamily;
use wgtrain::internal::rng::Rng;
use wgtrain::{Activation, Gpu, GpuOptions, Tensor};

/// Every activation the library has (`Activation::KINDS`, so a new one cannot go untested), with a leaky slope
/// other than torch's default so the slope is exercised.
pub const ACTIVATIONS: [Activation; Activation::KINDS.len()] = {
    let mut out = Activation::KINDS;
    let mut i = 0;
    while i < out.len() {
        if let Activation::LeakyRelu(_) = out[i] {
            out[i] = Activation::LeakyRelu(0.1);
        }
        i += 1;
    }
    out
};
/// Records wgpu's error-level log records (and the Khronos validation layer's, which wgpu-hal logs when
/// `WGPU_DEBUG=1`), so that the device helpers below fail a test run in which wgpu reported a problem that did not
/// come back as an `Err`. Everything else goes to env_logger (`RUST_LOG`, default `warn`), captured per test.
struct TestLogger {
    inner: env_logger::Logger,
    problems: Mutex<Vec<String>>,
}

/// Whether a record is a problem wgpu reported: an error from wgpu, wgpu-core, wgpu-hal or naga.
fn is_wgpu_problem(r: &log::Metadata<'_>) -> bool {
    let t = r.target();
    r.level() <= log::Level::Error && (t.starts_with("wgpu") || t.starts_with("naga"))
}

/// Mesa's EGL loader trying a hardware DRI driver before it settles on llvmpipe, which wgpu's GL back end logs as
/// an error while it lists adapters on a machine without a GPU: Mesa's probing, not a misuse of the API by us.
fn is_egl_probe(r: &log::Record<'_>) -> bool {
    r.target() == "wgpu_hal::gles::egl" && r.args().to_string().contains("DRI2: failed to load driver")
}

impl log::Log for TestLogger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        is_wgpu_problem(m) || self.inner.enabled(m)
    }

    fn log(&self, r: &log::Record<'_>) {
        if is_wgpu_problem(r.metadata()) && !is_egl_probe(r) {
            let line = format!("[{} {}] {}", r.level(), r.target(), r.args());
            // Straight to the process's stderr, past the harness's capture, so CI's log shows it whichever test
            // it lands in.
            let _ = writeln!(std::io::stderr(), "wgpu reported a problem: {line}");
            if let Ok(mut p) = self.problems.lock() {
                p.push(line);
            }
        }
        if self.inner.enabled(r.metadata()) {
            self.inner.log(r);
        }
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

fn logger() -> &'static TestLogger {
    static LOGGER: OnceLock<&'static TestLogger> = OnceLock::new();
    LOGGER.get_or_init(|| {
        let inner =
            env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).is_test(true).build();
        let max = inner.filter().max(log::LevelFilter::Error);
        let logger: &'static TestLogger = Box::leak(Box::new(TestLogger { inner, problems: Mutex::new(Vec::new()) }));
        // Installed before any wgpu instance exists: wgpu-hal sizes its validation-message filter by the log level.
        if log::set_logger(logger).is_ok() {
            log::set_max_level(max);
        }
        logger
    })
}

/// Panics with every wgpu problem logged since the last call (see [`TestLogger`]); the device helpers call it, so
/// a test that logs one fails at its next helper call, or the next test of the binary does.
pub fn assert_no_wgpu_problems() {
    let problems = logger().problems.lock().map(|mut p| std::mem::take(&mut *p)).unwrap_or_default();
    assert!(
        problems.is_empty(),
        "wgpu logged {} error(s) during this test run:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The options the environment asks for (`WGTRAIN_BACKEND`, `WGTRAIN_ADAPTER`, `WGTRAIN_LIMITS`, ...), so that
/// CI runs the same tests on each driver and in each limits mode; a bad variable fails the test.
pub fn env_options() -> GpuOptions {
    GpuOptions::from_env().unwrap_or_else(|e| panic!("{e}"))
}

/// How to get the driver the environment asks for, for the failure message when no adapter is found.
fn install_hint() -> &'static str {
    if std::env::var_os("VK_ICD_FILENAMES").is_some_and(|v| v.to_string_lossy().contains("swiftshader")) {
        " (SwiftShader: `apt-get install -y chromium-common` provides /usr/lib/chromium/vk_swiftshader_icd.json)"
    } else if std::env::var("WGTRAIN_BACKEND").is_ok_and(|v| v.trim().eq_ignore_ascii_case("gl")) {
        " (GL on Mesa's llvmpipe: `apt-get install -y libegl1 libegl-mesa0 libgl1-mesa-dri`)"
    } else {
        " (lavapipe: `apt-get install -y mesa-vulkan-drivers libvulkan1`)"
    }
}

/// The device every test in this binary shares, so pipelines are compiled once. Fails (never skips) without one.
pub fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    logger();
    assert_no_wgpu_problems();
    GPU.get_or_init(|| match Gpu::with_options(&env_options()) {
        Ok(g) => {
            eprintln!("adapter: {}", g.adapter());
            g
        }
        Err(e) => panic!("these tests need a GPU adapter and found none: {e}{}", install_hint()),
    })
}

/// One device per kernel family (texture or storage-buffer inputs), shared by the tests of a binary, so that both
/// families are checked on the same adapter. Fails (never skips) without an adapter.
pub fn device(kind: KernelFamily) -> &'static Gpu {
    static DEVICES: [OnceLock<Gpu>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = &DEVICES[usize::from(kind == KernelFamily::Buffer)];
    logger();
    assert_no_wgpu_problems();
    slot.get_or_init(|| {
        // The heuristic choice, not tuning: tests/tune.rs tests the tuner, and every variant is named in
        // tests/matmul.rs.
        let opts = GpuOptions { kernels: Some(kind), tune: false, ..env_options() };
        Gpu::with_options(&opts)
            .unwrap_or_else(|e| panic!("these tests need a GPU adapter and found none: {e}{}", install_hint()))
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
    assert_no_wgpu_problems();
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
    assert_no_wgpu_problems();
    assert!(v.iter().any(|x| x.abs() > 1e-6), "{label}: reference is all zeros, the test would not catch a no-op");
}

/// Helpers of the f16 kernel tests: f16 tensors packed two to a word, and the comparison with the f16 twins.
pub mod half {
    use wgtrain::reference::f16::{f16, pack, ulps, unpack};
    use wgtrain::{Gpu, Tensor};

    /// Uploads f16 values packed two to a word (a view of ⌈n/2⌉ words).
    pub fn upload_f16(gpu: &Gpu, data: &[f16]) -> Tensor {
        Tensor::from_u32(gpu, "test f16", &pack(data)).expect("upload")
    }

    /// A zero tensor with room for `n` f16 values.
    pub fn zeros_f16(gpu: &Gpu, n: usize) -> Tensor {
        Tensor::zeros(gpu, "test f16", &[n.div_ceil(2)]).expect("zeros")
    }

    /// The first `n` f16 values of a tensor.
    pub fn read_f16(gpu: &Gpu, t: &Tensor, n: usize) -> Vec<f16> {
        let words: Vec<u32> = t.read(gpu).expect("read").iter().map(|w| w.to_bits()).collect();
        unpack(&words, n)
    }

    /// How far kernel results were from the twin's, for the tests' reports: values compared, values not bit for
    /// bit equal, the largest distance in f16 ulps overall and among values of magnitude at least 1/16 (where one
    /// f16 ulp is at least 2⁻¹⁴, above the f32 differences), and the largest absolute difference.
    #[derive(Clone, Copy, Debug, Default)]
    pub struct F16Report {
        pub count: usize,
        pub differ: usize,
        pub max_ulps: u32,
        pub max_ulps_large: u32,
        pub max_diff: f32,
    }

    impl F16Report {
        /// Both reports together.
        pub fn merge(&mut self, o: F16Report) {
            self.count += o.count;
            self.differ += o.differ;
            self.max_ulps = self.max_ulps.max(o.max_ulps);
            self.max_ulps_large = self.max_ulps_large.max(o.max_ulps_large);
            self.max_diff = self.max_diff.max(o.max_diff);
        }
    }

    impl std::fmt::Display for F16Report {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(
                f,
                "{} of {} values differ from the twin; at most {} f16 ulps ({} where |value| ≥ 1/16), {:e} absolute",
                self.differ, self.count, self.max_ulps, self.max_ulps_large, self.max_diff
            )
        }
    }

    /// Asserts each stored f16 is within `atol` + `rtol`·|want| of the twin's value (the f32 tolerance of the
    /// product before rounding) plus one f16 ulp of it (the f32 values on either side of a rounding boundary may
    /// round to neighbouring f16s); returns how far apart they were, for the report.
    pub fn assert_f16_close(label: &str, got: &[f16], want: &[f32], atol: f32, rtol: f32) -> F16Report {
        super::assert_no_wgpu_problems();
        assert_eq!(got.len(), want.len(), "{label}: length {} vs reference {}", got.len(), want.len());
        let mut report = F16Report { count: got.len(), ..F16Report::default() };
        let mut bad = Vec::new();
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            let w16 = f16::from_f32(w);
            let apart = ulps(g, w16);
            let ulp = (f16::from_bits(w16.to_bits() + 1).to_f32() - w16.to_f32()).abs();
            let d = (g.to_f32() - w).abs();
            let ok = g.to_f32() == w || (apart.is_some() && d <= atol + rtol * w.abs() + ulp);
            if !ok && bad.len() < 5 {
                bad.push(format!("[{i}] got {g} want {w} ({apart:?} ulps)"));
            }
            let apart = apart.unwrap_or(u32::MAX);
            report.differ += usize::from(g.to_bits() != w16.to_bits());
            report.max_ulps = report.max_ulps.max(apart);
            if w.abs() >= 1.0 / 16.0 {
                report.max_ulps_large = report.max_ulps_large.max(apart);
            }
            if d.is_finite() {
                report.max_diff = report.max_diff.max(d);
            }
        }
        assert!(bad.is_empty(), "{label}: mismatches (atol {atol:e}, rtol {rtol:e}, + 1 f16 ulp): {}", bad.join("; "));
        report
    }
}
