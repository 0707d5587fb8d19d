//! PyTorch parity: initial weights, ten batches and the weights after ten optimizer steps, produced by
//! tests/fixtures/torch_parity/make_fixtures.py and make_weighted_ce.py (class-weighted cross-entropy; its
//! per-step losses are checked too) with torch 2.15. The test itself needs no Python.

mod common;
use common::*;
use serde_json::Value;
use wgtrain::model::MlpConfig;
use wgtrain::network::{DeviceData, Network};
use wgtrain::{Activation, Loss, OptimizerConfig, OptimizerKind};

/// The parity bar: wgtrain's weights match torch's to a relative 1e-4. A weight that crosses zero during the
/// ten steps has no meaningful relative error, so the floor is 1e-4 of the typical weight scale (≈ 0.1 here):
/// 1e-5. Measured worst case: 1.2e-6 absolute (adam_clip, a weight of 7e-4 after crossing zero; Adam divides by
/// √v̂ so the f32 rounding of torch's norm-of-norms clip coefficient shows up there).
const RTOL: f32 = 1e-4;
const ATOL: f32 = 1e-5;

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number") as f32).collect()
}

fn layers(v: &Value) -> Vec<(Vec<f32>, Vec<f32>)> {
    v.as_array().expect("layers").iter().map(|l| (floats(&l["weight"]), floats(&l["bias"]))).collect()
}

fn optimizer(name: &str, h: &Value) -> OptimizerConfig {
    let f = |k: &str| h.get(k).and_then(Value::as_f64);
    let b = |k: &str| h.get(k).and_then(Value::as_bool).unwrap_or(false);
    let mut c = OptimizerConfig::new(OptimizerKind::parse(name).expect("optimizer"), f("lr").expect("lr"));
    c.momentum = f("momentum").unwrap_or(c.momentum);
    c.dampening = f("dampening").unwrap_or(c.dampening);
    c.nesterov = b("nesterov");
    c.weight_decay = f("weight_decay").unwrap_or(c.weight_decay);
    c.lr_decay = f("lr_decay").unwrap_or(c.lr_decay);
    c.initial_accumulator_value = f("initial_accumulator_value").unwrap_or(c.initial_accumulator_value);
    c.eps = f("eps").unwrap_or(c.eps);
    c.alpha = f("alpha").unwrap_or(c.alpha);
    c.centered = b("centered");
    c.amsgrad = b("amsgrad");
    if let Some(betas) = h.get("betas").and_then(Value::as_array) {
        c.beta1 = betas[0].as_f64().expect("beta1");
        c.beta2 = betas[1].as_f64().expect("beta2");
    }
    c
}

fn check_fixture(name: &str) {
    let path = format!("{}/tests/fixtures/torch_parity/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let fx: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json");
    let dims: Vec<usize> = fx["dims"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let act = Activation::parse(fx["activation"].as_str().unwrap()).expect("activation");
    let loss = Loss::parse(fx["loss"].as_str().unwrap()).expect("loss");
    let mut opt = optimizer(fx["optimizer"].as_str().unwrap(), &fx["hparams"]);
    opt.clip_norm = fx["clip_norm"].as_f64();
    let model = MlpConfig {
        input: dims[0],
        layers: dims[1..].to_vec(),
        activation: act,
        output_activation: Activation::Identity,
    };
    let layout = model.layout();
    let params = layout.pack(&layers(&fx["initial"])).expect("initial weights fit");
    let batches = fx["batches"].as_array().unwrap();
    let (mut x, mut y, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
    for b in batches {
        x.extend(floats(&b["x"]));
        y.extend(floats(&b["y"]));
        sizes.push(b["batch_size"].as_u64().unwrap() as usize);
    }
    let max = sizes.iter().copied().max().unwrap();
    // Both kernel families, so the storage-buffer kernels (what GPUs run) stay covered end to end on lavapipe.
    for gpu in devices() {
        let mut net = Network::new(gpu, &model, loss, &opt, &params, max).expect("network");
        let weights = fx.get("class_weight").map(floats);
        net.set_class_weights(gpu, weights.as_deref()).expect("class weights");
        let data = DeviceData::upload(gpu, &x, dims[0], &y, loss.target_cols(model.output())).expect("data");
        let mut offset = 0;
        for (step, &rows) in sizes.iter().enumerate() {
            net.train_step(gpu, &data, offset, rows, opt.lr).expect("step");
            offset += rows;
            if weights.is_some() {
                // The weighted loss's per-row values must average to torch's Σ w[yᵢ]·nllᵢ / Σ w[yᵢ].
                let [sum, _, count] = net.take_stats(gpu).unwrap();
                let want = fx["losses"][step].as_f64().unwrap() as f32;
                assert_close(&format!("{name} step {step} loss"), &[sum / count], &[want], ATOL, RTOL);
            }
        }
        let got = layout.unpack(&net.params(gpu).unwrap());
        let family = gpu.kernel_family();
        for (i, ((gw, gb), (ww, wb))) in got.iter().zip(layers(&fx["final"])).enumerate() {
            assert_close(&format!("{name} ({family:?}) layer {i} weight"), gw, &ww, ATOL, RTOL);
            assert_close(&format!("{name} ({family:?}) layer {i} bias"), gb, &wb, ATOL, RTOL);
        }
        let moved: Vec<f32> = got[0].0.iter().zip(&layers(&fx["initial"])[0].0).map(|(a, b)| a - b).collect();
        assert_nontrivial(name, &moved);
    }
}

macro_rules! parity {
    ($($name:ident),*) => {$(
        #[test]
        fn $name() {
            check_fixture(stringify!($name));
        }
    )*};
}

parity!(
    sgd_plain,
    sgd_momentum,
    sgd_nesterov,
    adagrad,
    rmsprop,
    rmsprop_centered,
    adam,
    adam_wd_amsgrad,
    adamw,
    adam_clip,
    weighted_ce
);

/// The fixture's weights are scikit-learn's "balanced" formula over its labels, as `--class-weight balanced` uses.
#[test]
fn balanced_weights_match_the_fixture() {
    let path = format!("{}/tests/fixtures/torch_parity/weighted_ce.json", env!("CARGO_MANIFEST_DIR"));
    let fx: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json");
    let targets: Vec<f32> = fx["batches"].as_array().unwrap().iter().flat_map(|b| floats(&b["y"])).collect();
    let data = wgtrain::data::Dataset {
        features: vec![0.0; targets.len()],
        n_features: 1,
        classes: Some(vec!["0".into(), "1".into(), "2".into()]),
        feature_names: vec!["x".into()],
        target_name: "y".into(),
        targets,
    };
    assert_close("balanced", &data.balanced_class_weights().unwrap(), &floats(&fx["class_weight"]), 0.0, 1e-6);
}
