//! wgtrain's kernels and trainer in a real browser (headless Chromium through chromedriver, on its WebGPU
//! adapter), against the same CPU twins as the native tests: matmul (both operand families, awkward shapes),
//! activations, losses, optimizers, a whole training run against the CPU reference trainer, and the page's own
//! engine (data set, training, the model download read back, a stopped run resumed from its checkpoint). Run by
//! web/test.sh.
//!
//! Tolerances are the native tests' (tests/matmul.rs, activation.rs, loss.rs, optim.rs, training.rs), with the same
//! reasoning: the twins run the same f32 operations in the same order, so differences come only from FMA
//! contraction and the driver's exp/tanh, while a wrong formula or index is off by orders of magnitude more.

use std::cell::RefCell;
use std::path::Path;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use wgtrain::gpu::KernelFamily;
use wgtrain::internal::rng::Rng;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::ops::activation::{activation_backward, activation_forward};
use wgtrain::ops::loss::loss;
use wgtrain::ops::matmul::{matmul_activation_backward, matmul_forward, MatmulShape};
use wgtrain::ops::optim::{optimizer_update_models, ModelHyper, ModelHyperBuffer};
use wgtrain::reference;
use wgtrain::saved::SavedModel;
use wgtrain::train::{TrainConfig, Trainer};
use wgtrain::{Activation, Gpu, GpuOptions, Loss, OptimizerConfig, Tensor};

wasm_bindgen_test_configure!(run_in_browser);

thread_local! {
    /// One device per kernel family, shared by the tests, so pipelines compile once.
    static DEVICES: RefCell<[Option<&'static Gpu>; 2]> = const { RefCell::new([None, None]) };
}

/// The device for `family` on the browser's adapter; fails (never skips) where the browser has no WebGPU.
async fn device(family: KernelFamily) -> &'static Gpu {
    let slot = usize::from(family == KernelFamily::Buffer);
    if let Some(gpu) = DEVICES.with(|d| d.borrow()[slot]) {
        return gpu;
    }
    let opts = GpuOptions { kernels: Some(family), ..GpuOptions::default() };
    let gpu = match Gpu::request(&opts).await {
        Ok(g) => g,
        Err(e) => panic!("these tests need the browser's WebGPU adapter (Chromium with --enable-unsafe-webgpu): {e}"),
    };
    web_sys_log(&format!("adapter: {} ({} kernels)", gpu.adapter(), family.name()));
    let gpu: &'static Gpu = Box::leak(Box::new(gpu));
    DEVICES.with(|d| d.borrow_mut()[slot] = Some(gpu));
    gpu
}

async fn devices() -> [&'static Gpu; 2] {
    [device(KernelFamily::Texture).await, device(KernelFamily::Buffer).await]
}

fn web_sys_log(message: &str) {
    wasm_bindgen_test::console_log!("{message}");
}

fn uniform(seed: u64, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.uniform(lo, hi)).collect()
}

fn upload(gpu: &Gpu, data: &[f32]) -> Tensor {
    Tensor::from_slice(gpu, "test", data, &[data.len()]).expect("upload")
}

fn zeros(gpu: &Gpu, n: usize) -> Tensor {
    Tensor::zeros(gpu, "test", &[n]).expect("zeros")
}

/// Asserts |got − want| ≤ atol + rtol·|want| element-wise.
fn assert_close(label: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) {
    assert_eq!(got.len(), want.len(), "{label}: length {} vs reference {}", got.len(), want.len());
    let bad: Vec<String> = got
        .iter()
        .zip(want)
        .enumerate()
        // NaN differences fail too.
        .filter(|(_, (g, w))| (*g - *w).abs().is_nan() || (*g - *w).abs() > atol + rtol * w.abs())
        .take(5)
        .map(|(i, (g, w))| format!("[{i}] got {g} want {w}"))
        .collect();
    assert!(bad.is_empty(), "{label}: mismatches (atol {atol:e}, rtol {rtol:e}): {}", bad.join("; "));
}

/// Asserts the reference is not all (near) zero, so a kernel that writes nothing cannot pass.
fn assert_nontrivial(label: &str, v: &[f32]) {
    assert!(v.iter().any(|x| x.abs() > 1e-6), "{label}: reference is all zeros, the test would not catch a no-op");
}

/// See tests/matmul.rs: same summation order as the twin, FMA contraction only.
const MATMUL_TOL: f32 = 1e-4;

/// 1×1×1, primes, tile edges and MLP-A's own products (784-128-64-10 on batches of 128).
const SHAPES: [(usize, usize, usize); 10] = [
    (1, 1, 1),
    (2, 3, 5),
    (37, 61, 129),
    (33, 65, 17),
    (16, 16, 16),
    (17, 132, 260),
    (128, 128, 784),
    (128, 64, 128),
    (128, 10, 64),
    (10, 64, 128),
];

#[wasm_bindgen_test]
async fn matmul_forward_matches_reference() {
    for gpu in devices().await {
        for (i, (m, n, k)) in SHAPES.into_iter().enumerate() {
            for (act, with_bias) in [(Activation::Identity, false), (Activation::Relu, true)] {
                let s = MatmulShape { m, n, k, trans_a: false, trans_b: true };
                let seed = 10 * i as u64;
                let a = uniform(seed, m * k, -1.0, 1.0);
                let b = uniform(seed + 1, k * n, -1.0, 1.0);
                let bias = uniform(seed + 2, n, -1.0, 1.0);
                let (ta, tb, tbias) = (upload(gpu, &a), upload(gpu, &b), upload(gpu, &bias));
                let (tc, tz) = (zeros(gpu, m * n), zeros(gpu, m * n));
                let bias_view = with_bias.then(|| tbias.view());
                let d = matmul_forward(gpu, &s, ta.view(), tb.view(), bias_view, act, tc.view(), Some(tz.view()))
                    .expect("launch");
                gpu.run_async(&[&d]).await.expect("run");
                let (want_c, want_z) =
                    reference::matmul::matmul_forward(&s, &a, &b, with_bias.then_some(&bias[..]), act);
                let label = format!("matmul_forward ({}, {}) {s:?} {act:?}", d.file(), gpu.kernel_family().name());
                assert_nontrivial(&label, &want_z);
                assert_close(&label, &tc.read_async(gpu).await.unwrap(), &want_c, MATMUL_TOL, MATMUL_TOL);
                assert_close(&label, &tz.read_async(gpu).await.unwrap(), &want_z, MATMUL_TOL, MATMUL_TOL);
            }
        }
    }
}

#[wasm_bindgen_test]
async fn matmul_activation_backward_matches_reference() {
    for gpu in devices().await {
        for (i, (m, n, k)) in SHAPES.into_iter().enumerate() {
            for (trans_a, trans_b) in [(false, false), (true, false), (false, true)] {
                let act = [Activation::Relu, Activation::Tanh, Activation::Gelu][i % 3];
                let s = MatmulShape { m, n, k, trans_a, trans_b };
                let a = uniform(200 + i as u64, m * k, -1.0, 1.0);
                let b = uniform(300 + i as u64, k * n, -1.0, 1.0);
                let aux = uniform(400 + i as u64, m * n, -3.0, 3.0);
                let (ta, tb, taux, tc) = (upload(gpu, &a), upload(gpu, &b), upload(gpu, &aux), zeros(gpu, m * n));
                let d = matmul_activation_backward(gpu, &s, ta.view(), tb.view(), taux.view(), act, tc.view())
                    .expect("launch");
                gpu.run_async(&[&d]).await.expect("run");
                let want = reference::matmul::matmul_activation_backward(&s, &a, &b, &aux, act);
                let label = format!("matmul_activation_backward ({}) {s:?} {act:?}", d.file());
                assert_nontrivial(&label, &want);
                assert_close(&label, &tc.read_async(gpu).await.unwrap(), &want, MATMUL_TOL, MATMUL_TOL);
            }
        }
    }
}

/// See tests/activation.rs: exp and tanh within a few ulp on O(1) values.
#[wasm_bindgen_test]
async fn activations_match_reference() {
    let gpu = device(KernelFamily::Texture).await;
    let acts = [
        Activation::Identity,
        Activation::Relu,
        Activation::LeakyRelu(0.2),
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Gelu,
    ];
    for (i, act) in acts.into_iter().enumerate() {
        for n in [1, 257, 1000] {
            let mut x = uniform(i as u64 * 10 + n as u64, n, -6.0, 6.0);
            x[0] = 0.7; // one positive input, so relu's output is not all zeros for n = 1
            let dy = uniform(99 + n as u64, n, -1.0, 1.0);
            let (tx, tdy, ty, tdx) = (upload(gpu, &x), upload(gpu, &dy), zeros(gpu, n), zeros(gpu, n));
            let f = activation_forward(gpu, tx.view(), act, ty.view(), n).unwrap();
            let b = activation_backward(gpu, tx.view(), tdy.view(), act, tdx.view(), n).unwrap();
            gpu.run_async(&[&f, &b]).await.unwrap();
            let want_y = reference::activation::activation_forward(&x, act);
            let want_dx = reference::activation::activation_backward(&x, &dy, act);
            let label = format!("{act:?} n={n}");
            assert_nontrivial(&label, &want_y);
            assert_close(&format!("{label} forward"), &ty.read_async(gpu).await.unwrap(), &want_y, 1e-5, 1e-5);
            assert_close(&format!("{label} backward"), &tdx.read_async(gpu).await.unwrap(), &want_dx, 1e-5, 1e-5);
        }
    }
}

/// See tests/loss.rs: per-row sums in the twin's order, losses O(10) at most.
#[wasm_bindgen_test]
async fn losses_match_reference() {
    let gpu = device(KernelFamily::Texture).await;
    for kind in [Loss::Mse, Loss::Bce, Loss::CrossEntropy] {
        for (i, (rows, cols)) in [(1, 2), (37, 3), (64, 10), (129, 7)].into_iter().enumerate() {
            let seed = 50 + i as u64;
            let logits = uniform(seed, rows * cols, -4.0, 4.0);
            let mut rng = Rng::new(seed + 1);
            let targets: Vec<f32> = match kind {
                Loss::Mse => (0..rows * cols).map(|_| rng.uniform(-2.0, 2.0)).collect(),
                Loss::Bce => (0..rows * cols).map(|_| (rng.next_u64() % 2) as f32).collect(),
                Loss::CrossEntropy => (0..rows).map(|_| (rng.next_u64() % cols as u64) as f32).collect(),
            };
            let (tl, tt) = (upload(gpu, &logits), upload(gpu, &targets));
            let (td, ts) = (zeros(gpu, rows * cols), zeros(gpu, 2 * rows));
            let d = loss(gpu, kind, tl.view(), tt.view(), td.view(), ts.view(), rows, cols).unwrap();
            gpu.run_async(&[&d]).await.unwrap();
            let (want_d, want_s) = match kind {
                Loss::Mse => reference::loss::mse_loss(&logits, &targets, rows, cols),
                Loss::Bce => reference::loss::bce_loss(&logits, &targets, rows, cols),
                Loss::CrossEntropy => reference::loss::cross_entropy_loss(&logits, &targets, rows, cols),
            };
            let label = format!("{kind:?} {rows}x{cols}");
            assert_nontrivial(&label, &want_d);
            assert_close(&format!("{label} dlogits"), &td.read_async(gpu).await.unwrap(), &want_d, 1e-6, 1e-5);
            assert_close(&format!("{label} row stats"), &ts.read_async(gpu).await.unwrap(), &want_s, 1e-6, 1e-5);
        }
    }
}

/// See tests/optim.rs: 30 steps of each rule; a missing bias correction or momentum term is off by ≥ 1e-3.
#[wasm_bindgen_test]
async fn optimizers_match_reference_over_30_steps() {
    let configs = [
        ("sgd momentum nesterov", OptimizerConfig { momentum: 0.9, nesterov: true, ..OptimizerConfig::sgd(0.05) }),
        ("adagrad", OptimizerConfig::adagrad(0.05)),
        ("rmsprop centered", OptimizerConfig { centered: true, momentum: 0.5, ..OptimizerConfig::rmsprop(0.01) }),
        ("adam", OptimizerConfig::adam(0.01)),
        ("adamw amsgrad", OptimizerConfig { amsgrad: true, ..OptimizerConfig::adamw(0.01) }),
    ];
    for gpu in devices().await {
        let n = 1028;
        for (name, cfg) in &configs {
            let mut param = uniform(1, n, -1.0, 1.0);
            let initial = param.clone();
            let mut state = vec![cfg.initial_state(); cfg.state_slots() * n];
            let (tp, ts, tg) = (upload(gpu, &param), upload(gpu, &state), upload(gpu, &vec![0.0; n]));
            let scale = 0.37;
            let tscale = upload(gpu, &[scale, 0.0, 0.0, 0.0]);
            let hyper = ModelHyperBuffer::new(gpu).unwrap();
            let cfgs = [cfg.clone()];
            let d = optimizer_update_models(gpu, &cfgs, &hyper, tscale.view(), 4, tg.view(), tp.view(), ts.view(), n)
                .unwrap();
            for t in 1..=30u64 {
                let grad = uniform(100 + t, n, -1.0, 1.0);
                tg.write(gpu, &grad).unwrap();
                let record = ModelHyper::new(cfg, &cfg.step_scalars(t, cfg.lr * 0.98f64.powi(t as i32)), false);
                hyper.write(gpu, &[record]).unwrap();
                gpu.run_async(&[&d]).await.unwrap();
                reference::optim::optimizer_update(cfg.kind, &record, scale, &grad, &mut param, &mut state);
            }
            let label = format!("{name} ({})", gpu.kernel_family().name());
            let moved: Vec<f32> = param.iter().zip(&initial).map(|(a, b)| a - b).collect();
            assert_nontrivial(&label, &moved);
            assert_close(&format!("{label} params"), &tp.read_async(gpu).await.unwrap(), &param, 1e-6, 2e-5);
            assert_close(&format!("{label} state"), &ts.read_async(gpu).await.unwrap(), &state, 1e-6, 2e-5);
        }
    }
}

/// See tests/training.rs: the whole step (forward, loss, backward, clipping, optimizer, shuffled batches with a
/// ragged last one) against the CPU reference trainer; adaptive optimizers amplify per-step rounding to ~1e-5.
#[wasm_bindgen_test]
async fn trainer_matches_cpu_reference_trainer_over_30_steps() {
    let model = MlpConfig::new(6, &[11, 7], 4, Activation::Tanh);
    let params = init_params(&model, Init::Torch, 5).unwrap();
    let mut rng = Rng::new(6);
    let rows = 29;
    let x: Vec<f32> = (0..rows * 6).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let y: Vec<f32> = (0..rows).map(|_| (rng.next_u64() % 4) as f32).collect();
    for gpu in devices().await {
        let cfg = TrainConfig {
            batch_size: Some(8),
            ..TrainConfig::new(
                Loss::CrossEntropy,
                OptimizerConfig { clip_norm: Some(0.5), ..OptimizerConfig::adam(0.01) },
            )
        };
        let mut tr = Trainer::new(gpu, &model, &params, cfg.clone(), 8).unwrap();
        let d = tr.upload(&x, &y).unwrap();
        while tr.network().steps_done() < 30 {
            tr.fit_epochs_async(&d, None, 1, &mut |_| {}).await.unwrap();
        }
        let steps = tr.network().steps_done();
        let got = tr.params_async().await.unwrap();
        let want = reference::trainer::train(&model, &params, &cfg, &x, &y, steps);
        let moved: Vec<f32> = want.iter().zip(&params).map(|(a, b)| a - b).collect();
        let label = format!("adam, clipped ({}) after {steps} steps", gpu.kernel_family().name());
        assert_nontrivial(&label, &moved);
        assert_close(&label, &got, &want, 1e-5, 1e-4);
    }
}

/// The page's engine end to end: XOR loaded, trained through `Engine::train` (the events arrive), accuracy high,
/// and the downloaded bytes parse as the model the CLI would load.
#[wasm_bindgen_test]
async fn engine_trains_xor_and_its_download_loads() {
    let engine = wgtrain_web::Engine::create().await.expect("the browser's WebGPU adapter");
    let summary = engine.load_xor(2000, 3).expect("xor");
    assert!(summary.contains("\"train_rows\":2000"), "{summary}");
    let events = std::rc::Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = events.clone();
    let on_event = wasm_bindgen::closure::Closure::<dyn FnMut(String)>::new(move |e: String| sink.borrow_mut().push(e));
    let config = r#"{"hidden":[16,16],"activation":"tanh","optimizer":"adam","lr":0.01,"schedule":"constant",
        "schedule_per":"step","batch_size":64,"epochs":30,"seed":0}"#;
    let result = JsFuture::from(engine.train(config, on_event.as_ref().unchecked_ref::<js_sys::Function>().clone()))
        .await
        .expect("training");
    let summary: serde_json::Value = serde_json::from_str(&result.as_string().unwrap()).unwrap();
    let accuracy = summary["test_accuracy"].as_f64().expect("an accuracy");
    assert!(accuracy >= 0.95, "xor test accuracy {accuracy}: {summary}");
    let epoch_ends = events.borrow().iter().filter(|e| e.contains("\"epoch_end\"")).count();
    assert_eq!(epoch_ends, 30, "one epoch_end per epoch");
    let bytes = JsFuture::from(engine.model_bytes()).await.expect("model bytes");
    let bytes = js_sys::Uint8Array::new(&bytes).to_vec();
    let saved = SavedModel::from_bytes(Path::new("model.safetensors"), &bytes).expect("a wgtrain model file");
    assert_eq!(saved.model.layers, vec![16, 16, 2]);
    assert_eq!(saved.classes, Some(vec!["0".to_string(), "1".to_string()]));
    let probs = JsFuture::from(engine.predict(vec![0.5, 0.5])).await.expect("predict");
    let probs = js_sys::Float32Array::new(&probs).to_vec();
    assert!(probs[1] > 0.5, "x·y > 0 is class 1: {probs:?}");
}

/// A CSV through the page's engine: the CLI's reader and preprocessor (a text column one-hot encoded, numbers
/// standardised, text labels), trained, and the download carries the preprocessing; a malformed file is refused
/// with the line named.
#[wasm_bindgen_test]
async fn engine_trains_on_a_csv_with_a_text_column() {
    let engine = wgtrain_web::Engine::create().await.expect("the browser's WebGPU adapter");
    let mut rng = Rng::new(9);
    let mut csv = String::from("x,colour,label\n");
    for _ in 0..600 {
        let x = rng.uniform(-3.0, 3.0);
        let red = rng.next_u64() % 2 == 0;
        // The class needs both columns: the sign of x, flipped for red rows.
        let label = if (x > 0.0) != red { "yes" } else { "no" };
        csv.push_str(&format!("{x},{},{label}\n", if red { "red" } else { "blue" }));
    }
    let summary = engine.load_csv(csv.as_bytes(), "colours.csv", "", 0.25).expect("csv");
    assert!(summary.contains("\"features\":3"), "x plus two one-hot colour columns: {summary}");
    let config = r#"{"hidden":[16],"activation":"relu","optimizer":"adam","lr":0.02,"schedule":"cosine:2000:0",
        "schedule_per":"step","batch_size":32,"epochs":40,"seed":1}"#;
    let ignore = wasm_bindgen::closure::Closure::<dyn FnMut(String)>::new(|_: String| {});
    let result = JsFuture::from(engine.train(config, ignore.as_ref().unchecked_ref::<js_sys::Function>().clone()))
        .await
        .expect("training");
    let summary: serde_json::Value = serde_json::from_str(&result.as_string().unwrap()).unwrap();
    let accuracy = summary["test_accuracy"].as_f64().expect("an accuracy");
    assert!(accuracy >= 0.9, "csv test accuracy {accuracy}: {summary}");
    let bytes = JsFuture::from(engine.model_bytes()).await.expect("model bytes");
    let saved = SavedModel::from_bytes(Path::new("m.safetensors"), &js_sys::Uint8Array::new(&bytes).to_vec()).unwrap();
    assert_eq!(saved.classes, Some(vec!["no".to_string(), "yes".to_string()]));
    assert!(saved.preprocessor.is_some(), "the model carries the CSV preprocessing");
    let err = engine.load_csv(b"a,b\n1,2\n3\n", "bad.csv", "", 0.2).expect_err("a short row");
    let message = format!("{:?}", err);
    assert!(message.contains("bad.csv") && message.contains("line 3"), "{message}");
}

/// Checkpoints through the page's engine: a run stopped after its second epoch, its checkpoint bytes resumed on the
/// same data, ends with the weights of the same run uninterrupted; the checkpoint loads as a model file, and
/// resuming on another data set is refused.
#[wasm_bindgen_test]
async fn engine_resumes_a_stopped_run_from_its_checkpoint() {
    let engine = std::rc::Rc::new(wgtrain_web::Engine::create().await.expect("the browser's WebGPU adapter"));
    let config = r#"{"hidden":[8],"activation":"tanh","optimizer":"adam","lr":0.01,"schedule":"constant",
        "schedule_per":"step","batch_size":32,"epochs":5,"seed":2}"#;
    let weights = |bytes: wasm_bindgen::JsValue| {
        let bytes = js_sys::Uint8Array::new(&bytes).to_vec();
        let saved = SavedModel::from_bytes(Path::new("m.safetensors"), &bytes).expect("a wgtrain model file");
        saved.params.iter().map(|v| v.to_bits()).collect::<Vec<u32>>()
    };
    engine.load_xor(400, 5).expect("xor");
    let ignore = wasm_bindgen::closure::Closure::<dyn FnMut(String)>::new(|_: String| {});
    let ignore_fn = ignore.as_ref().unchecked_ref::<js_sys::Function>().clone();
    JsFuture::from(engine.train(config, ignore_fn.clone())).await.expect("uninterrupted run");
    let uninterrupted = weights(JsFuture::from(engine.model_bytes()).await.expect("model bytes"));

    // The handler runs inside the run, so stopping at the second epoch's end stops before the third's first step.
    let epoch_ends = std::rc::Rc::new(std::cell::Cell::new(0));
    let (ends, stopper) = (epoch_ends.clone(), engine.clone());
    let stop_after_two = wasm_bindgen::closure::Closure::<dyn FnMut(String)>::new(move |e: String| {
        if e.contains("\"type\":\"epoch_end\"") {
            ends.set(ends.get() + 1);
            if ends.get() == 2 {
                stopper.stop();
            }
        }
    });
    let stop_fn = stop_after_two.as_ref().unchecked_ref::<js_sys::Function>().clone();
    let result = JsFuture::from(engine.train(config, stop_fn)).await.expect("stopped run");
    let summary: serde_json::Value = serde_json::from_str(&result.as_string().unwrap()).unwrap();
    assert_eq!(summary["stopped"], true, "{summary}");
    let checkpoint = JsFuture::from(engine.checkpoint_bytes()).await.expect("checkpoint bytes");
    let checkpoint = js_sys::Uint8Array::new(&checkpoint).to_vec();
    SavedModel::from_bytes(Path::new("ck.safetensors"), &checkpoint).expect("a checkpoint is a model file too");

    let result = JsFuture::from(engine.resume(checkpoint.clone(), ignore_fn.clone())).await.expect("resumed run");
    let summary: serde_json::Value = serde_json::from_str(&result.as_string().unwrap()).unwrap();
    assert_eq!((summary["stopped"].clone(), summary["epochs"].clone()), (false.into(), 5.into()), "{summary}");
    let resumed = weights(JsFuture::from(engine.model_bytes()).await.expect("model bytes"));
    assert!(resumed == uninterrupted, "the resumed run ends with other weights than the uninterrupted one");

    let csv =
        "x,colour,label\n1,red,yes\n2,blue,no\n3,red,yes\n4,blue,no\n5,red,no\n6,blue,yes\n7,red,no\n8,blue,yes\n";
    engine.load_csv(csv.as_bytes(), "other.csv", "", 0.25).expect("csv");
    let err = JsFuture::from(engine.resume(checkpoint, ignore_fn)).await.expect_err("other data");
    let message = format!("{err:?}");
    assert!(message.contains("checkpoint"), "{message}");
}
