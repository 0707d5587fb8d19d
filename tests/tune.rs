//! The matmul tuner: it times the candidates and keeps the fastest, persists the choice in the cache directory,
//! reads it back in a new process (here: a new device), ignores corrupt and foreign cache files, and
//! `WGTRAIN_TUNE=off` (GpuOptions::tune = false) takes the heuristic default. One test function: the cache
//! directory is process-wide (WGTRAIN_CACHE_DIR).

use std::path::{Path, PathBuf};

use wgtrain::gpu::KernelFamily;
use wgtrain::matmul_wgsl::MatmulConfig;
use wgtrain::ops::matmul::MatmulShape;
use wgtrain::ops::tune::{candidates, config_for, shape_class};
use wgtrain::{Gpu, GpuOptions};

/// The options the environment asks for (WGTRAIN_BACKEND, WGTRAIN_LIMITS, ...), so CI runs this on each driver.
fn env_options() -> GpuOptions {
    GpuOptions::from_env().unwrap_or_else(|e| panic!("{e}"))
}

fn device(tune: bool) -> Gpu {
    let opts = GpuOptions { kernels: Some(KernelFamily::Texture), tune, ..env_options() };
    Gpu::with_options(&opts).unwrap_or_else(|e| panic!("this test needs a GPU adapter: {e}"))
}

fn cache_file(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok()).map(|e| e.path()).find(|p| {
        p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("tune-") && !n.to_string_lossy().contains(".tmp"))
    })
}

#[test]
fn tuning_chooses_persists_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("WGTRAIN_CACHE_DIR", dir.path());
    // A large product: the CPU tuner has two candidates for it.
    let s = MatmulShape { m: 256, n: 256, k: 64, trans_a: false, trans_b: true };

    let gpu = device(true);
    let cands = candidates(&gpu, &s);
    assert_eq!(cands.len(), 2, "{cands:?}");
    let chosen = config_for(&gpu, &s).unwrap().expect("a generated variant computes the shape");
    assert!(cands.contains(&chosen));
    let path = cache_file(dir.path()).expect("the choice is written to the cache directory");
    let text = std::fs::read_to_string(&path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let key = shape_class(&gpu, &s);
    let entry = &json["choices"][&key];
    assert_eq!(entry["variant"], chosen.name(), "{text}");
    assert!(entry["gflops"].as_f64().unwrap() > 0.0, "{text}");
    drop(gpu);

    // A new device reads the cache instead of timing: plant a choice that is not the default and see it used.
    let planted = *cands.last().unwrap();
    let edited = text.replace(&format!("\"{}\"", chosen.name()), &format!("\"{}\"", planted.name()));
    std::fs::write(&path, edited).unwrap();
    let gpu = device(true);
    assert_eq!(config_for(&gpu, &s).unwrap(), Some(planted), "the cached choice is used");
    drop(gpu);

    // Tuning off: the heuristic default, whatever the cache says.
    let gpu = device(false);
    assert_eq!(config_for(&gpu, &s).unwrap(), Some(cands[0]));
    drop(gpu);

    // A corrupt file and a foreign adapter's file are ignored (with a warning) and replaced by a fresh choice.
    for bad in ["{ not json".to_string(), text.replace("\"adapter\": \"", "\"adapter\": \"another GPU ")] {
        std::fs::write(&path, &bad).unwrap();
        let gpu = device(true);
        let c = config_for(&gpu, &s).unwrap().expect("tuned again");
        assert!(cands.contains(&c));
        let fresh: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(fresh["choices"][&key]["variant"], c.name());
        assert!(MatmulConfig::parse(&c.name()).is_some());
    }

    // `wgtrain tune --json` on this adapter: every choice named, with its measured throughput.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wgtrain"))
        .args(["tune", "--json", "--layers", "32", "--batch-size", "16"])
        .env("WGTRAIN_CACHE_DIR", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["adapter"]["name"].as_str().is_some_and(|n| !n.is_empty()));
    let choices = report["choices"].as_array().unwrap();
    assert!(choices.iter().any(|c| c["m"] == 16 && c["n"] == 32 && c["k"] == 784), "the --layers network is tuned");
    assert!(choices.iter().any(|c| c["m"] == 1024 && c["n"] == 1024), "MLP-B is tuned");
    for c in choices {
        assert!(c["gflops"].as_f64().unwrap() > 0.0, "{c}");
        assert!(["nt", "nn", "tn"].contains(&c["layout"].as_str().unwrap()), "{c}");
        assert!(c["variant"].as_str().is_some_and(|v| MatmulConfig::parse(v).is_some()), "{c}");
    }

    // A checkpoint records the variant of every product it trained with (and `--resume` applies them).
    let ck = dir.path().join("ck.safetensors");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist-10k");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wgtrain"))
        .args(["train", "--data", &data.display().to_string(), "--layers", "32", "--epochs", "1"])
        .args(["--batch-size", "50", "--checkpoint-every", "1", "--quiet", "--save", &ck.display().to_string()])
        .env("WGTRAIN_CACHE_DIR", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, meta) = wgtrain::tensor_file::load_tensors(&ck).unwrap();
    let variants: std::collections::BTreeMap<String, String> =
        serde_json::from_str(meta.get("matmul_variants").expect("matmul_variants recorded")).unwrap();
    assert!(variants.len() >= 3, "{variants:?}");
    assert!(variants.values().all(|v| MatmulConfig::parse(v).is_some()), "{variants:?}");
}
