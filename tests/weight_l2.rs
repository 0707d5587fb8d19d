//! The weights-only L2 gradient term against src/reference/weight_l2.rs, its gradient in a network, and a group
//! with per-model penalties training each model as alone.

mod common;
use common::*;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::network::{DeviceData, Network, NetworkGroup};
use wgtrain::ops::weight_l2::weight_l2;
use wgtrain::reference::weight_l2 as reference;
use wgtrain::{Activation, Loss, OptimizerConfig};

/// One multiply and one add per element: the GPU may fuse them (one rounding instead of two), so results differ by
/// at most an ulp of the O(1) values; 1e-6 absolute and relative is a few ulp, while a wrong coefficient, model or
/// offset is off by ≥ 1e-3 on these inputs.
const ATOL: f32 = 1e-6;
const RTOL: f32 = 1e-6;

#[test]
fn weight_l2_matches_reference_on_awkward_shapes() {
    // (len, stride, models): one element, primes, a stride with a gap, more than one workgroup per model.
    for (len, stride, models) in [(1, 1, 1), (1, 64, 3), (7, 7, 2), (13, 64, 5), (257, 320, 3), (1000, 1024, 1)] {
        let span = (models - 1) * stride + len;
        let seed = (len * 31 + models) as u64;
        let coef: Vec<f32> = (0..models).map(|m| 0.05 * (m as f32 + 1.0)).collect();
        let w = uniform(seed, span, -2.0, 2.0);
        let dw = uniform(seed + 1, span, -1.0, 1.0);
        let (tc, tw, tdw) = (upload(&coef), upload(&w), upload(&dw));
        let d = weight_l2(gpu(), tc.view(), tw.view(), tdw.view(), len, stride, models).unwrap();
        gpu().run(&[&d]).unwrap();
        let mut want = dw.clone();
        reference::weight_l2(&coef, &w, &mut want, len, stride);
        assert_nontrivial("dw", &want);
        assert_close(
            &format!("len={len} stride={stride} models={models}"),
            &tdw.read(gpu()).unwrap(),
            &want,
            ATOL,
            RTOL,
        );
        // The gaps between models' slices are left alone.
        let got = tdw.read(gpu()).unwrap();
        for i in (0..span).filter(|i| i % stride >= len) {
            assert_eq!(got[i], dw[i], "gap element {i} changed");
        }
    }
}

#[test]
fn weight_l2_rejects_overlapping_models_and_short_views() {
    let t = upload(&[0.0; 8]);
    assert!(weight_l2(gpu(), t.view(), t.view(), t.view(), 4, 2, 2).is_err());
    assert!(weight_l2(gpu(), t.view(), t.view(), t.view(), 9, 9, 1).is_err());
    assert!(weight_l2(gpu(), t.view(), t.view(), t.view(), 0, 1, 1).is_err());
}

const ROWS: usize = 37;
const INPUT: usize = 5;
const CLASSES: usize = 3;
/// 37 rows in batches of 10: three full batches and a last one of 7, whose penalty share is alpha·W/7.
const BATCH: usize = 10;

fn setup(models: usize) -> (MlpConfig, DeviceData, Vec<Vec<f32>>) {
    let config = MlpConfig::new(INPUT, &[7, 4], CLASSES, Activation::Tanh);
    let x = uniform(3, ROWS * INPUT, -1.0, 1.0);
    let y: Vec<f32> = (0..ROWS).map(|r| (r * 7 % CLASSES) as f32).collect();
    let data = DeviceData::upload(gpu(), &x, INPUT, &y, 1).unwrap();
    let params = (0..models).map(|m| init_params(&config, Init::Torch, 40 + m as u64).unwrap()).collect();
    (config, data, params)
}

/// Two epochs of steps (batches of BATCH, a smaller last one) in a fixed shuffled order.
fn train(group: &mut NetworkGroup, data: &DeviceData, lrs: &[f64]) {
    let order: Vec<u32> = (0..ROWS as u32).map(|i| (i * 11) % ROWS as u32).collect();
    for _ in 0..2 {
        data.set_order(gpu(), &order).unwrap();
        let mut offset = 0;
        while offset < ROWS {
            let rows = BATCH.min(ROWS - offset);
            group.train_step(gpu(), data, offset, rows, lrs).unwrap();
            offset += rows;
        }
    }
}

/// The penalty's gradient is alpha·W/rows on every weight and nothing on the biases, for a smaller batch too.
#[test]
fn weight_l2_adds_alpha_w_over_rows_to_the_weight_gradient_only() {
    let (config, data, params) = setup(1);
    let opt = OptimizerConfig::sgd(0.1);
    let mut net = Network::new(gpu(), &config, Loss::CrossEntropy, &opt, &params[0], BATCH).unwrap();
    data.reset_order(gpu()).unwrap();
    let alpha = 0.3;
    for rows in [BATCH, 7] {
        net.set_weight_l2(&[0.0]).unwrap();
        let plain = net.gradient(gpu(), &data, 0, rows).unwrap();
        net.set_weight_l2(&[alpha]).unwrap();
        let penalised = net.gradient(gpu(), &data, 0, rows).unwrap();
        let mut want = plain.clone();
        for l in &config.layout().layers {
            for j in l.weight..l.weight + l.outputs * l.inputs {
                want[j] += (alpha / rows as f64) as f32 * params[0][j];
            }
        }
        assert_nontrivial("gradient", &want);
        assert_close(&format!("rows={rows}"), &penalised, &want, ATOL, RTOL);
        for l in &config.layout().layers {
            let biases = l.bias..l.bias + l.outputs;
            assert_eq!(penalised[biases.clone()], plain[biases], "rows={rows}: the biases are not penalised");
        }
    }
    assert!(net.set_weight_l2(&[-1.0]).is_err() && net.set_weight_l2(&[0.1, 0.1]).is_err());
}

/// Each model of a group with its own alpha (one without) trains bit for bit as it would alone: the penalty is
/// element-wise on the model's own slices, with its own coefficient.
#[test]
fn a_group_with_weight_l2_trains_each_model_as_alone() {
    let alphas = [0.0, 0.05, 0.4];
    let (config, data, params) = setup(alphas.len());
    let opts: Vec<OptimizerConfig> =
        (0..alphas.len()).map(|m| OptimizerConfig::adam(1e-2 * (m as f64 + 1.0))).collect();
    let lrs: Vec<f64> = opts.iter().map(|o| o.lr).collect();
    let mut group = NetworkGroup::new(gpu(), &config, Loss::CrossEntropy, &opts, &params, BATCH).unwrap();
    group.set_weight_l2(&alphas).unwrap();
    train(&mut group, &data, &lrs);
    for m in 0..alphas.len() {
        let mut alone = Network::new(gpu(), &config, Loss::CrossEntropy, &opts[m], &params[m], BATCH).unwrap();
        alone.set_weight_l2(&alphas[m..=m]).unwrap();
        train(alone.group(), &data, &lrs[m..=m]);
        let want = alone.params(gpu()).unwrap();
        let got = pollster::block_on(group.params_async(gpu(), m)).unwrap();
        assert!(got == want, "model {m} (alpha {}) differs from its lone run", alphas[m]);
        if alphas[m] > 0.0 {
            let mut plain = Network::new(gpu(), &config, Loss::CrossEntropy, &opts[m], &params[m], BATCH).unwrap();
            train(plain.group(), &data, &lrs[m..=m]);
            assert!(plain.params(gpu()).unwrap() != want, "model {m}: alpha {} changed nothing", alphas[m]);
        }
    }
}
