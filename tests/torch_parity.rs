//! PyTorch parity, step for step: initial weights, ten batches, the loss of each of the ten steps and the weights
//! after them, produced by tests/fixtures/torch_parity/make_fixtures.py and make_weighted_ce.py (class-weighted
//! cross-entropy) with torch 2.15. The test itself needs no Python.

mod common;
use common::*;
use serde_json::Value;
use wgtrain::model::MlpConfig;
use wgtrain::network::{DeviceData, Network};
use wgtrain::optim::HyperValue;
use wgtrain::{Activation, Loss, OptimizerConfig, OptimizerKind};

/// The parity bar: wgtrain's weights match torch's to a relative 1e-4. A weight that crosses zero during the
/// ten steps has no meaningful relative error, so the floor is 1e-4 of the typical weight scale (≈ 0.1 here):
/// 1e-5. Measured worst case: 1.2e-6 absolute (adam_clip, a weight of 7e-4 after crossing zero; Adam divides by
/// √v̂ so the f32 rounding of torch's norm-of-norms clip coefficient shows up there).
const RTOL: f32 = 1e-4;
const ATOL: f32 = 1e-5;
/// Each step's loss (the batch's mean, before the update) against torch's. The loss is one f32 number of order one,
/// computed from weights that so far agree to a few ulps-times-steps and summed in another order (per-row values
/// accumulated, then Σ / count, against torch's one reduction), so it is held ten times tighter than the weights:
/// 1e-5 relative with a floor of 1e-6 for a loss near zero. Measured worst case over every fixture and both kernel
/// families: 1.8e-6 absolute, 1.5e-6 relative (adam_clip step 5, adamw step 7); consecutive steps' losses in the
/// fixtures differ by at least 1.9e-3, so a step out of order or a batch's loss taken from the wrong weights fails.
const LOSS_RTOL: f32 = 1e-5;
const LOSS_ATOL: f32 = 1e-6;

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number") as f32).collect()
}

fn layers(v: &Value) -> Vec<(Vec<f32>, Vec<f32>)> {
    v.as_array().expect("layers").iter().map(|l| (floats(&l["weight"]), floats(&l["bias"]))).collect()
}

/// The fixture's torch kwargs as wgtrain's configuration: every key but `lr` and `betas` is a hyperparameter of the
/// library's table under the same name, so a new optimizer's fixture needs no code here.
fn optimizer(name: &str, h: &Value) -> OptimizerConfig {
    let kind = OptimizerKind::parse(name).expect("optimizer");
    let mut c = OptimizerConfig::new(kind, h["lr"].as_f64().expect("lr"));
    for (key, v) in h.as_object().expect("hparams") {
        match (key.as_str(), v) {
            ("lr", _) => {}
            ("betas", _) => (c.beta1, c.beta2) = (v[0].as_f64().expect("beta1"), v[1].as_f64().expect("beta2")),
            // torch's switch between coupled and decoupled decay is the table's `decoupled_decay` column.
            ("decoupled_weight_decay", Value::Bool(b)) => assert_eq!(*b, kind.spec().decoupled_decay, "{name}"),
            (_, Value::Bool(b)) => c.set(key, HyperValue::Flag(*b)).expect("a hyperparameter"),
            _ => c.set(key, HyperValue::Number(v.as_f64().expect("a number"))).expect("a hyperparameter"),
        }
    }
    c.validate().expect("the fixture's hyperparameters are valid");
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
            // The loss of this step's batch, before its update (torch's l.item()); for class weights the per-row
            // values must average to torch's Σ w[yᵢ]·nllᵢ / Σ w[yᵢ].
            let [sum, _, count] = net.take_stats(gpu).unwrap();
            let want = fx["losses"][step].as_f64().unwrap() as f32;
            let family = gpu.kernel_family();
            assert_close(
                &format!("{name} ({family:?}) step {step} loss"),
                &[sum / count],
                &[want],
                LOSS_ATOL,
                LOSS_RTOL,
            );
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
    nadam,
    nadam_wd_momentum_decay,
    weighted_ce
);

/// Every optimizer of the library's table has a fixture, so a new one cannot go without PyTorch parity.
#[test]
fn every_optimizer_has_a_fixture() {
    let dir = format!("{}/tests/fixtures/torch_parity", env!("CARGO_MANIFEST_DIR"));
    let mut covered = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let fx: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json");
            covered.push(fx["optimizer"].as_str().expect("optimizer").to_string());
        }
    }
    for kind in OptimizerKind::all() {
        assert!(covered.iter().any(|c| c == kind.name()), "no fixture for {}", kind.name());
    }
}

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
