//! Dynamic loss scaling (torch.amp.GradScaler): the three kernels against their CPU twins, and training steps
//! that overflow: skipped (parameters, optimizer state and step count unchanged), the scale halved, and grown
//! again after the interval, each model of a group with its own scaler.

mod common;
use common::*;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::network::{DeviceData, Network, NetworkGroup};
use wgtrain::ops::loss_scale::{loss_scale_update, scale_loss_gradient, scaler_words, unscale_check, word};
use wgtrain::ops::optim::ModelHyperBuffer;
use wgtrain::precision::{LossScaleState, LossScaling};
use wgtrain::reference::loss_scale as reference;
use wgtrain::{Activation, Loss, OptimizerConfig};

/// Floats between models' scaler words (as the network's gradient-scale buffer: one 256-byte binding offset).
const SCALER_STRIDE: usize = 64;

/// The kernels and their twins each do one f32 multiplication per element (by S or by 1/S, both computed the same
/// way), so they agree exactly.
const EXACT: f32 = 0.0;

/// K models' scaler words with scales `scales`, good-step counts `good` and the given configuration.
fn scalers(scales: &[f32], good: &[u32], cfg: &LossScaling) -> Vec<f32> {
    let mut w = vec![0.0; scales.len() * SCALER_STRIDE];
    for (m, (&scale, &good_steps)) in scales.iter().zip(good).enumerate() {
        let state = LossScaleState { scale, good_steps, skipped: m as u64 };
        let at = m * SCALER_STRIDE + word::FOUND_INF;
        w[at..at + word::LEN - word::FOUND_INF].copy_from_slice(&scaler_words(&state, cfg));
        w[m * SCALER_STRIDE] = 1.0;
    }
    w
}

#[test]
fn scale_loss_gradient_matches_its_twin_on_awkward_shapes() {
    let cfg = LossScaling::default();
    for (len, stride, models) in [(1, 1, 1), (7, 64, 3), (31, 31, 2), (513, 576, 1)] {
        let scales: Vec<f32> = (0..models).map(|m| 65536.0 / (1 << m) as f32 * 1.5).collect();
        let words = scalers(&scales, &vec![0; models], &cfg);
        let d = uniform(len as u64, (models - 1) * stride + len, -1.0, 1.0);
        let (tw, td) = (upload(&words), upload(&d));
        let launch = scale_loss_gradient(gpu(), tw.view(), SCALER_STRIDE, td.view(), len, stride, models).unwrap();
        gpu().run(&[&launch]).unwrap();
        let mut want = d.clone();
        reference::scale_loss_gradient(&words, SCALER_STRIDE, &mut want, len, stride, models);
        assert_nontrivial("scaled", &want);
        assert_close(&format!("len={len} models={models}"), &td.read(gpu()).unwrap(), &want, EXACT, EXACT);
    }
}

#[test]
fn unscale_check_matches_its_twin_and_flags_only_the_model_with_a_non_finite_gradient() {
    let cfg = LossScaling::default();
    for (n, stride, models, bad) in [(4, 4, 1, None), (4, 4, 1, Some(0)), (292, 320, 3, Some(1)), (1028, 1028, 2, None)]
    {
        let scales: Vec<f32> = (0..models).map(|m| 1024.0 * (m + 1) as f32).collect();
        let mut words = scalers(&scales, &vec![0; models], &cfg);
        let mut g = uniform(n as u64, (models - 1) * stride + n, -3000.0, 3000.0);
        if let Some(m) = bad {
            g[m * stride + n - 1] = f32::INFINITY;
            g[m * stride] = f32::NAN;
        }
        let (tw, tg) = (upload(&words), upload(&g));
        let launch = unscale_check(gpu(), tw.view(), SCALER_STRIDE, tg.view(), n, stride, models).unwrap();
        gpu().run(&[&launch]).unwrap();
        reference::unscale_check(&mut words, SCALER_STRIDE, &mut g, n, stride, models);
        let got = tg.read(gpu()).unwrap();
        for (i, (a, b)) in got.iter().zip(&g).enumerate() {
            assert!(a == b || (a.is_nan() && b.is_nan()), "n={n}: element {i} is {a}, twin {b}");
        }
        assert_eq!(tw.read(gpu()).unwrap(), words, "n={n}: the scaler words");
        for m in 0..models {
            assert_eq!(words[m * SCALER_STRIDE + word::FOUND_INF] == 1.0, bad == Some(m), "model {m}");
        }
    }
}

#[test]
fn loss_scale_update_matches_its_twin_and_leaves_frozen_models_alone() {
    let cfg = LossScaling { growth_interval: 3, ..LossScaling::default() };
    // Model 0 overflowed; 1 reaches the interval; 2 counts on; 3 would grow past f32's range; 4 is frozen.
    let mut words = scalers(&[65536.0, 512.0, 8.0, f32::MAX, 2.0], &[1, 2, 0, 2, 2], &cfg);
    words[word::FOUND_INF] = 1.0;
    words[4 * SCALER_STRIDE + word::FOUND_INF] = 1.0;
    let frozen = [false, false, false, false, true];
    let hyper = ModelHyperBuffer::new(gpu()).unwrap();
    let records: Vec<_> = frozen
        .iter()
        .map(|&f| {
            let o = OptimizerConfig::sgd(0.1);
            wgtrain::ops::optim::ModelHyper::new(&o, &o.step_scalars(1, 0.1), f)
        })
        .collect();
    hyper.write(gpu(), &records).unwrap();
    let tw = upload(&words);
    let launch = loss_scale_update(gpu(), tw.view(), SCALER_STRIDE, &hyper, frozen.len()).unwrap();
    gpu().run(&[&launch]).unwrap();
    reference::loss_scale_update(&mut words, SCALER_STRIDE, &frozen);
    assert_eq!(tw.read(gpu()).unwrap(), words);
    let at = |m: usize, w: usize| words[m * SCALER_STRIDE + w];
    assert_eq!((at(0, word::SCALE), at(0, word::GOOD), at(0, word::SKIPPED)), (32768.0, 0.0, 1.0));
    assert_eq!((at(1, word::SCALE), at(1, word::GOOD)), (1024.0, 0.0));
    assert_eq!((at(2, word::SCALE), at(2, word::GOOD)), (8.0, 1.0));
    assert_eq!((at(3, word::SCALE), at(3, word::GOOD)), (f32::MAX, 0.0));
    assert_eq!((at(4, word::SCALE), at(4, word::GOOD), at(4, word::FOUND_INF)), (2.0, 2.0, 0.0));
}

const INPUT: usize = 5;
const BATCH: usize = 4;

/// 16 rows in four batches of 4, features in ±`gain`; rows 4..8 (the second batch) hold an infinite feature when
/// `poisoned`.
fn data(poisoned: bool, gain: f32) -> DeviceData {
    let mut x = uniform(11, 16 * INPUT, -gain, gain);
    if poisoned {
        x[5 * INPUT + 2] = f32::INFINITY;
    }
    let y: Vec<f32> = (0..16).map(|r| (r % 3) as f32).collect();
    let d = DeviceData::upload(gpu(), &x, INPUT, &y, 1).unwrap();
    d.reset_order(gpu()).unwrap();
    d
}

fn state(net: &NetworkGroup, m: usize) -> LossScaleState {
    pollster::block_on(net.loss_scale_states_async(gpu())).unwrap().expect("scaled")[m]
}

/// A step on an infinite gradient is skipped: parameters, Adam's state and step count stay (the next step's bias
/// corrections count it out before the host knows of it), the scale halves; the run then matches, bit for bit, an
/// unscaled run that never saw the batch (scales are powers of two, so scaling and unscaling are exact), and the
/// scale doubles after `growth_interval` good steps.
#[test]
fn an_overflowing_step_is_skipped_the_scale_halves_and_grows_back() {
    let config = MlpConfig::new(INPUT, &[8], 3, Activation::Tanh);
    let params = init_params(&config, Init::Torch, 5).unwrap();
    let opt = OptimizerConfig::adam(0.01);
    let scaling = LossScaling { growth_interval: 2, ..LossScaling::default() };
    let (bad, clean) = (data(true, 1.0), data(false, 1.0));
    let mut scaled = Network::new(gpu(), &config, Loss::CrossEntropy, &opt, &params, BATCH).unwrap();
    scaled.set_loss_scaling(gpu(), Some(&[scaling])).unwrap();
    let mut plain = Network::new(gpu(), &config, Loss::CrossEntropy, &opt, &params, BATCH).unwrap();

    scaled.train_step(gpu(), &bad, 0, BATCH, 0.01).unwrap();
    plain.train_step(gpu(), &clean, 0, BATCH, 0.01).unwrap();
    let (before, state_before) =
        (scaled.params(gpu()).unwrap(), pollster::block_on(scaled.optimizer_state_async(gpu(), 0)));
    assert_eq!(state(&scaled, 0), LossScaleState { scale: 65536.0, good_steps: 1, skipped: 0 });

    scaled.train_step(gpu(), &bad, BATCH, BATCH, 0.01).unwrap();
    assert_eq!(scaled.params(gpu()).unwrap(), before, "a skipped step leaves the parameters");
    assert_eq!(pollster::block_on(scaled.optimizer_state_async(gpu(), 0)).unwrap(), state_before.unwrap());
    assert_eq!(state(&scaled, 0), LossScaleState { scale: 32768.0, good_steps: 0, skipped: 1 });
    assert_eq!(scaled.steps_done(), 2, "the host counts submitted steps until it reads the scaler");

    // Adam's next step on the device uses t = 2 (the skip not counted), before the host reads the scaler.
    scaled.train_step(gpu(), &bad, 2 * BATCH, BATCH, 0.01).unwrap();
    plain.train_step(gpu(), &clean, 2 * BATCH, BATCH, 0.01).unwrap();
    assert_eq!(scaled.params(gpu()).unwrap(), plain.params(gpu()).unwrap(), "the skipped step was not counted");
    pollster::block_on(scaled.group().sync_loss_scale_async(gpu())).unwrap();
    assert_eq!(scaled.steps_done(), 2, "a skipped step is not an optimizer step");
    scaled.train_step(gpu(), &bad, 3 * BATCH, BATCH, 0.01).unwrap();
    plain.train_step(gpu(), &clean, 3 * BATCH, BATCH, 0.01).unwrap();
    assert_eq!(state(&scaled, 0), LossScaleState { scale: 65536.0, good_steps: 0, skipped: 1 }, "grown back");
    let got = scaled.params(gpu()).unwrap();
    assert_nontrivial("params", &got);
    assert_eq!(got, plain.params(gpu()).unwrap(), "the skipped batch left no trace");
    let (a, b) = (scaled.optimizer_state_async(gpu(), 0), plain.optimizer_state_async(gpu(), 0));
    assert_eq!(pollster::block_on(a).unwrap(), pollster::block_on(b).unwrap());
    assert_eq!(scaled.steps_done(), plain.steps_done());
}

/// In a group each model has its own scaler: an overflow in one model (a huge initial scale) skips that model
/// only, and the other trains on.
#[test]
fn each_model_of_a_group_scales_on_its_own() {
    let config = MlpConfig::new(INPUT, &[8], 3, Activation::Relu);
    let params: Vec<Vec<f32>> = (0..2).map(|m| init_params(&config, Init::Torch, 9 + m).unwrap()).collect();
    let opts = [OptimizerConfig::sgd(0.1), OptimizerConfig::sgd(0.1)];
    let mut group = NetworkGroup::new(gpu(), &config, Loss::CrossEntropy, &opts, &params, BATCH).unwrap();
    // The true class's loss gradient is about −0.67/4 per row; times 2^127 and a hidden activation of order 10² (the
    // features are in ±1000) each product of the output layer's weight gradient is far past f32's range.
    let huge = LossScaling { init_scale: 2f64.powi(127), ..LossScaling::default() };
    group.set_loss_scaling(gpu(), Some(&[LossScaling::default(), huge])).unwrap();
    let d = data(false, 1000.0);
    group.train_step(gpu(), &d, 0, BATCH, &[0.1, 0.1]).unwrap();
    let after: Vec<Vec<f32>> = (0..2).map(|m| pollster::block_on(group.params_async(gpu(), m)).unwrap()).collect();
    assert_ne!(after[0], params[0], "model 0 stepped");
    assert_eq!(after[1], params[1], "model 1 overflowed and was skipped");
    assert_eq!(state(&group, 0), LossScaleState { scale: 65536.0, good_steps: 1, skipped: 0 });
    assert_eq!(state(&group, 1), LossScaleState { scale: 2f32.powi(126), good_steps: 0, skipped: 1 });
}
