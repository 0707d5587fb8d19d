//! Choosing a matmul variant per device and shape class: a few candidates for the adapter's kind are timed on the
//! real shape, the fastest is kept for the process and written to `<cache dir>/tune-<adapter>.json` (atomically),
//! so the next process on the same adapter and driver starts with the choice. `WGTRAIN_TUNE=off` takes the
//! heuristic default; `WGTRAIN_MATMUL=<config>` forces one config wherever it fits.
//!
//! Every variant sums over k in the same order (see `matmul_wgsl`), so the choice never changes results.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gpu::{Gpu, KernelFamily};
use crate::matmul_wgsl::{
    cpu_configs, gpu_configs, Elements, MatmulConfig, MatmulVariant, Operands, Pass, F16_FALLBACK,
};
use crate::ops::matmul_kernel::MatmulShape;
#[cfg(not(target_arch = "wasm32"))]
use {
    crate::gpu::cache_dir,
    crate::ops::activation::Activation,
    crate::ops::matmul_kernel::{epilogue_constants, matmul_variant_elements, MatmulOperands, ModelStrides},
    crate::tensor::Tensor,
    std::collections::BTreeMap,
    std::path::PathBuf,
    std::time::Instant,
};

/// A tuned choice: the shape class, the config and the throughput measured for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// The config's name (`MatmulConfig::name`).
    pub variant: String,
    /// GFLOP/s measured on the shape that was tuned (2·M·N·K per launch).
    pub gflops: f64,
}

/// The on-disk form of the tuning cache of one adapter.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    adapter: String,
    choices: BTreeMap<String, Choice>,
}

#[cfg(not(target_arch = "wasm32"))]
const CACHE_VERSION: u32 = 1;

/// Powers of two bound a shape class: products within a factor of two of each other share a choice.
fn bucket(v: usize) -> usize {
    v.next_power_of_two()
}

/// The key of `s`'s shape class on this device's kernel family: layout, alignment and size buckets.
pub fn shape_class(gpu: &Gpu, s: &MatmulShape) -> String {
    let layout = match (s.trans_a, s.trans_b) {
        (false, true) => "nt",
        (false, false) => "nn",
        (true, false) => "tn",
        (true, true) => "tt",
    };
    let aligned: String =
        [('m', s.m), ('n', s.n), ('k', s.k)].iter().filter(|(_, v)| v % 4 == 0).map(|(c, _)| *c).collect();
    format!(
        "{}/{layout}/m{}/n{}/k{}/x4:{}",
        gpu.kernel_family().name(),
        bucket(s.m),
        bucket(s.n),
        bucket(s.k),
        if aligned.is_empty() { "-" } else { &aligned }
    )
}

/// The candidates for `s` on this device, best guess first (the heuristic default). CPU adapters get register
/// blocks with texture operands: for products of at least 256 rows and columns 32×16 and 16×16 (16×32 ran no
/// faster than 32×16 and costs as much compile time), else 16×16 alone, or 8×8 up to two million multiply-adds:
/// timing a product that takes a millisecond would cost more LLVM compile time than it could save. GPUs get the workgroup-tiled family and the
/// untiled 4×4 block with storage buffers.
pub fn candidates(gpu: &Gpu, s: &MatmulShape) -> Vec<MatmulConfig> {
    let facts = s.facts();
    let list = match gpu.kernel_family() {
        KernelFamily::Texture => {
            let all = cpu_configs(Operands::Texture);
            let large = s.m >= 256 && s.n >= 256;
            let pick = |b: (u32, u32)| all.iter().copied().find(|c| c.block == b);
            // Up to two million multiply-adds a launch costs its overhead, not its arithmetic, while the JIT of a
            // 16×16 block costs 0.6–1.2 s on a cold start against 0.1–0.2 s for 8×8.
            let tiny = s.m * s.n * s.k <= 1 << 21;
            let blocks: &[(u32, u32)] = match (large, s.trans_a) {
                _ if tiny => &[(8, 8)],
                (false, _) => &[(16, 16)],
                (true, false) => &[(32, 16), (16, 16)],
                (true, true) => &[(16, 16), (32, 16)],
            };
            blocks.iter().filter_map(|&b| pick(b)).collect()
        }
        KernelFamily::Buffer => {
            let mut all = gpu_configs();
            if gpu.slow_barrier_compiles() {
                all.retain(|c| c.tile_k.is_none());
            }
            // Thin outputs (a 10-class layer) first try the tile that is narrow along N.
            if s.n <= 16 {
                all.sort_by_key(|c| c.workgroup_tile().1 > 16);
            }
            all
        }
    };
    let limits = gpu.limits();
    list.into_iter()
        .filter(|c| c.invocations() <= limits.max_compute_invocations_per_workgroup)
        .filter(|c| c.workgroup_bytes() <= limits.max_compute_workgroup_storage_size)
        .filter(|c| MatmulVariant::for_shape(*c, &facts, Pass::Forward).is_some())
        .collect()
}

/// The key of `s`'s shape class with `elements`: [`shape_class`] for f32, followed by the elements' name suffix
/// (`/f16`, `/f16_out_f32`) otherwise, so f16 products are tuned apart from f32 ones.
pub fn shape_class_for(gpu: &Gpu, s: &MatmulShape, elements: Elements) -> String {
    let key = shape_class(gpu, s);
    match elements.suffix().strip_prefix('_') {
        Some(suffix) => format!("{key}/{suffix}"),
        None => key,
    }
}

/// The candidates for `s` with `elements`: [`candidates`] for f32; for f16 the same configs reading storage buffers
/// (f16 variants have no texture form), then [`F16_FALLBACK`], each that computes the shape in f16.
pub fn candidates_for(gpu: &Gpu, s: &MatmulShape, elements: Elements) -> Vec<MatmulConfig> {
    let f32_list = candidates(gpu, s);
    if !elements.uses_f16() {
        return f32_list;
    }
    let mut out: Vec<MatmulConfig> = Vec::new();
    let buffers = f32_list.into_iter().map(|c| MatmulConfig { operands: Operands::Buffer, ..c });
    for c in buffers.chain([F16_FALLBACK]) {
        let computes = MatmulVariant::for_shape(c, &s.facts(), Pass::Forward).and_then(|v| v.with_elements(elements));
        if computes.is_some() && !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The config for `s` on this device: forced, remembered, read from the cache file, or tuned now; None when no
/// generated variant computes the shape (the scalar kernel then runs).
pub fn config_for(gpu: &Gpu, s: &MatmulShape) -> Result<Option<MatmulConfig>> {
    config_for_elements(gpu, s, Elements::F32)
}

/// [`config_for`] for a product with `elements` (f16 products are tuned and remembered apart from f32 ones).
pub fn config_for_elements(gpu: &Gpu, s: &MatmulShape, elements: Elements) -> Result<Option<MatmulConfig>> {
    if let Some(name) = gpu.forced_matmul() {
        let config = MatmulConfig::parse(name).ok_or_else(|| Error::BadEnv {
            name: "WGTRAIN_MATMUL",
            value: name.to_string(),
            reason: "not a matmul config name (for example texture_b16x16_w8x1_v4 or buffer_b4x4_w16x16_k16_v4)".into(),
        })?;
        // f16 reads the forced config's operands from storage buffers.
        let config = if elements.uses_f16() { MatmulConfig { operands: Operands::Buffer, ..config } } else { config };
        let variant =
            MatmulVariant::for_shape(config, &s.facts(), Pass::Forward).and_then(|v| v.with_elements(elements));
        if variant.is_some() {
            return Ok(Some(config));
        }
        // Where the forced config cannot compute the shape, the usual choice runs.
    }
    let cands = candidates_for(gpu, s, elements);
    let Some(&default) = cands.first() else { return Ok(None) };
    // A choice already made on this device (or restored from a checkpoint) wins, tuning on or off.
    let key = shape_class_for(gpu, s, elements);
    let remembered =
        |gpu: &Gpu| gpu.tuned_choice(&key).and_then(|n| MatmulConfig::parse(&n)).filter(|c| cands.contains(c));
    if let Some(c) = remembered(gpu) {
        return Ok(Some(c));
    }
    if !gpu.tuning_enabled() || cands.len() == 1 {
        // Remembered like a tuned choice, so a checkpoint records every product's variant.
        gpu.set_tuned_choice(&key, &default.name());
        return Ok(Some(default));
    }
    #[cfg(target_arch = "wasm32")]
    {
        // Not reached: a browser's device never tunes (see `Gpu::tuning_enabled`).
        Ok(Some(default))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        load_cache_once(gpu);
        if let Some(c) = remembered(gpu) {
            return Ok(Some(c));
        }
        Ok(tune_elements(gpu, s, elements)?.map(|(config, _)| config))
    }
}

/// Times every candidate on `s`, keeps the fastest for its shape class (in memory and in the cache file), and
/// returns it with its GFLOP/s; None when no generated variant computes the shape. Native only: it times launches
/// by waiting on each.
#[cfg(not(target_arch = "wasm32"))]
pub fn tune(gpu: &Gpu, s: &MatmulShape) -> Result<Option<(MatmulConfig, f64)>> {
    tune_elements(gpu, s, Elements::F32)
}

/// [`tune`] for a product with `elements` (its operands sized in words, as f16 views count: zeros either way).
#[cfg(not(target_arch = "wasm32"))]
pub fn tune_elements(gpu: &Gpu, s: &MatmulShape, elements: Elements) -> Result<Option<(MatmulConfig, f64)>> {
    let cands = candidates_for(gpu, s, elements);
    if cands.is_empty() {
        return Ok(None);
    }
    // Timed with the epilogue a training step most often gives this layout (a hidden layer's forward product; a
    // weight gradient otherwise), so the winner's pipeline is already compiled when the step needs it.
    let (act, has_bias) = if s.trans_b { (Activation::Relu, true) } else { (Activation::Identity, false) };
    let a = Tensor::zeros(gpu, "tune a", &[s.m * s.k])?;
    let b = Tensor::zeros(gpu, "tune b", &[s.k * s.n])?;
    let bias = Tensor::zeros(gpu, "tune bias", &[s.n])?;
    let c = Tensor::zeros(gpu, "tune c", &[s.m * s.n])?;
    let ops = MatmulOperands {
        a: a.view(),
        b: b.view(),
        bias: has_bias.then(|| bias.view()),
        aux: None,
        c: c.view(),
        z: None,
    };
    let flops = 2.0 * (s.m * s.n * s.k) as f64;
    let constants = epilogue_constants(act, has_bias, false);
    // Compile every candidate first, on all cores (GPU drivers compile at pipeline creation; CPU drivers such as
    // lavapipe compile at the first launch).
    let compile: Vec<_> = cands
        .iter()
        .filter_map(|c| MatmulVariant::for_shape(*c, &s.facts(), Pass::Forward)?.with_elements(elements))
        .map(|v| (v.shader(), Pass::Forward.entry(), constants.clone()))
        .collect();
    gpu.precompile(&compile)?;
    let mut best: Option<(MatmulConfig, f64)> = None;
    for config in cands {
        let single = &ModelStrides::SINGLE;
        let Some(d) = matmul_variant_elements(gpu, config, s, Pass::Forward, act, &ops, single, elements)? else {
            continue;
        };
        // The first launch pays the driver's compile; then enough launches in one submission to last ~30 ms.
        let started = Instant::now();
        gpu.run(&[&d])?;
        let once = started.elapsed().as_secs_f64().max(1e-6);
        let reps = ((0.03 / once) as usize).clamp(2, 50);
        let started = Instant::now();
        gpu.run(&vec![&d; reps])?;
        let secs = started.elapsed().as_secs_f64() / reps as f64;
        let gflops = flops / secs.max(1e-9) / 1e9;
        log::debug!("tune {s:?}: {} {gflops:.2} GFLOP/s", config.name());
        if best.is_none_or(|(_, g)| gflops > g) {
            best = Some((config, gflops));
        }
    }
    if let Some((config, gflops)) = best {
        let key = shape_class_for(gpu, s, elements);
        gpu.set_tuned_choice(&key, &config.name());
        save_choice(gpu, &key, Choice { variant: config.name(), gflops });
    }
    Ok(best)
}

/// The adapter as the cache file records it: a foreign file (another adapter or driver) is ignored.
#[cfg(not(target_arch = "wasm32"))]
fn adapter_id(gpu: &Gpu) -> String {
    let a = gpu.adapter();
    format!("{} | {} | {} | {}", a.name, a.backend, a.device_type, a.driver)
}

#[cfg(not(target_arch = "wasm32"))]
fn cache_path(gpu: &Gpu) -> Option<PathBuf> {
    let id: String = adapter_id(gpu)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
        .collect();
    let short: String = id.chars().take(120).collect();
    Some(cache_dir()?.join(format!("tune-{short}.json")))
}

#[cfg(not(target_arch = "wasm32"))]
fn read_cache(gpu: &Gpu) -> Option<CacheFile> {
    let path = cache_path(gpu)?;
    let bytes = std::fs::read(&path).ok()?;
    match serde_json::from_slice::<CacheFile>(&bytes) {
        Ok(f) if f.version == CACHE_VERSION && f.adapter == adapter_id(gpu) => Some(f),
        Ok(_) => {
            log::warn!("{}: tuning cache of another adapter, driver or version; ignored", path.display());
            None
        }
        Err(e) => {
            log::warn!("{}: corrupt tuning cache ({e}); ignored", path.display());
            None
        }
    }
}

/// Reads the cache file into the device's memory once per device.
#[cfg(not(target_arch = "wasm32"))]
fn load_cache_once(gpu: &Gpu) {
    gpu.once_tuning_loaded(|| {
        if let Some(file) = read_cache(gpu) {
            for (key, choice) in file.choices {
                if MatmulConfig::parse(&choice.variant).is_some() {
                    gpu.set_tuned_choice(&key, &choice.variant);
                }
            }
        }
    });
}

/// Adds one choice to the cache file (read, merge, write atomically); failures only warn, the cache being an
/// optimisation.
#[cfg(not(target_arch = "wasm32"))]
fn save_choice(gpu: &Gpu, key: &str, choice: Choice) {
    let Some(path) = cache_path(gpu) else { return };
    let mut file = read_cache(gpu).unwrap_or(CacheFile {
        version: CACHE_VERSION,
        adapter: adapter_id(gpu),
        choices: BTreeMap::new(),
    });
    file.choices.insert(key.to_string(), choice);
    let written = serde_json::to_vec_pretty(&file).map_err(|e| e.to_string()).and_then(|bytes| {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        crate::internal::atomic_file::write_atomic(&path, &bytes).map_err(|e| e.to_string())
    });
    if let Err(e) = written {
        log::warn!("could not write the tuning cache {}: {e}", path.display());
    }
}
