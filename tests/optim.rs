//! The fused optimizer kernel against src/reference/optim.rs: every optimizer and option, alone (K = 1, 50 steps)
//! and as groups of models with different hyperparameters, one of them frozen half-way.

mod common;
use std::collections::BTreeSet;

use common::*;
use wgtrain::gpu::Gpu;
use wgtrain::ops::optim::{optimizer_update_models, ModelHyper, ModelHyperBuffer};
use wgtrain::optim::OPTIMIZERS;
use wgtrain::reference::optim as reference;
use wgtrain::{OptimizerConfig, OptimizerKind, Tensor};

const ATOL: f32 = 1e-6;
const RTOL: f32 = 2e-5;

fn configs() -> Vec<(&'static str, OptimizerConfig)> {
    let sgd = OptimizerConfig::sgd(0.05);
    let adagrad = OptimizerConfig::adagrad(0.05);
    let rms = OptimizerConfig::rmsprop(0.01);
    let adam = OptimizerConfig::adam(0.01);
    vec![
        ("sgd", sgd.clone()),
        ("sgd momentum dampening", OptimizerConfig { momentum: 0.9, dampening: 0.1, ..sgd.clone() }),
        ("sgd nesterov l2", OptimizerConfig { momentum: 0.9, nesterov: true, weight_decay: 0.01, ..sgd.clone() }),
        ("sgd l1", OptimizerConfig { l1: 0.01, ..sgd }),
        ("adagrad", adagrad.clone()),
        (
            "adagrad lr_decay init l2",
            OptimizerConfig { lr_decay: 0.01, initial_accumulator_value: 0.1, weight_decay: 0.01, ..adagrad },
        ),
        ("rmsprop", rms.clone()),
        ("rmsprop centered momentum", OptimizerConfig { centered: true, momentum: 0.5, alpha: 0.9, ..rms.clone() }),
        ("rmsprop momentum l2 l1", OptimizerConfig { momentum: 0.9, weight_decay: 0.01, l1: 0.001, ..rms }),
        ("adam", adam.clone()),
        ("adam amsgrad l2", OptimizerConfig { amsgrad: true, weight_decay: 0.05, ..adam.clone() }),
        ("adam betas eps l1", OptimizerConfig { beta1: 0.5, beta2: 0.9, eps: 1e-6, l1: 0.01, ..adam }),
        ("adamw", OptimizerConfig::adamw(0.01)),
        ("adamw amsgrad wd", OptimizerConfig { amsgrad: true, weight_decay: 0.1, ..OptimizerConfig::adamw(0.01) }),
        ("nadam", OptimizerConfig::nadam(0.01)),
        (
            "nadam l2 momentum_decay betas",
            OptimizerConfig { weight_decay: 0.05, momentum_decay: 0.05, beta1: 0.8, ..OptimizerConfig::nadam(0.01) },
        ),
        ("nadam eps beta2 l1", OptimizerConfig { eps: 1e-6, beta2: 0.9, l1: 0.01, ..OptimizerConfig::nadam(0.02) }),
    ]
}

/// The entry points of shaders/optim.wgsl, one per update rule (Adam and AdamW share one): the table names each
/// of them, and nothing else.
const ENTRY_POINTS: [&str; 5] = ["sgd_update", "adagrad_update", "rmsprop_update", "adam_update", "nadam_update"];

#[test]
fn the_table_names_every_optimizer_entry_point() {
    let table: BTreeSet<&str> = OPTIMIZERS.iter().map(|o| o.entry).collect();
    assert_eq!(table, ENTRY_POINTS.into_iter().collect());
}

/// The list above covers every optimizer of the library's table, so a new one cannot go untested.
#[test]
fn every_optimizer_is_tested() {
    for kind in OptimizerKind::all() {
        assert!(configs().iter().any(|(_, c)| c.kind == kind), "{} has no case in configs()", kind.name());
    }
}

/// Floats between consecutive models' gradient scales, as the network lays them out (a multiple of 4).
const SCALE_STRIDE: usize = 8;

/// A run of one launch: `cfgs.len()` models of `n` parameters, model m with gradient scale `scales[m]`, its own
/// decaying learning rate, and frozen from step `frozen_from[m]` on.
struct Run<'a> {
    cfgs: &'a [OptimizerConfig],
    n: usize,
    scales: &'a [f32],
    steps: u64,
    frozen_from: &'a [u64],
}

/// Runs `run` on the kernel and on the twin; compares parameters and state with ATOL/RTOL and checks that the
/// parameters moved.
fn check_against_twin(gpu: &Gpu, label: &str, run: &Run) {
    let upload = |data: &[f32]| Tensor::from_slice(gpu, "test", data, &[data.len()]).expect("upload");
    let (cfgs, n, k) = (run.cfgs, run.n, run.cfgs.len());
    let slots = cfgs[0].state_slots();
    let mut param = uniform(7 + n as u64, k * n, -1.0, 1.0);
    param[0] = 0.0; // sign(0) = 0 for L1
    let initial = param.clone();
    let mut state: Vec<f32> = cfgs.iter().flat_map(|c| std::iter::repeat_n(c.initial_state(), slots * n)).collect();
    let mut scale_buf = vec![0.0; k * SCALE_STRIDE];
    for (m, &sc) in run.scales.iter().enumerate() {
        scale_buf[m * SCALE_STRIDE] = sc;
    }
    let (tp, ts, tg, tscale) = (upload(&param), upload(&state), upload(&vec![0.0; k * n]), upload(&scale_buf));
    let hyper = ModelHyperBuffer::new(gpu).unwrap();
    let d = optimizer_update_models(gpu, cfgs, &hyper, tscale.view(), SCALE_STRIDE, tg.view(), tp.view(), ts.view(), n)
        .unwrap();
    assert_eq!(d.name(), cfgs[0].kind.entry(), "{label}");
    assert!(!d.reads_textures(), "{label}: the optimizer reads its storage buffers on every adapter");
    for t in 1..=run.steps {
        let grad = uniform(300 + t, k * n, -1.0, 1.0);
        tg.write(gpu, &grad).unwrap();
        let records: Vec<ModelHyper> = (0..k)
            .map(|m| {
                // A schedule changes lr through the per-model record only.
                let lr = cfgs[m].lr * (0.98f64 - 0.01 * m as f64).powi(t as i32);
                ModelHyper::new(&cfgs[m], &cfgs[m].step_scalars(t, lr), t >= run.frozen_from[m])
            })
            .collect();
        hyper.write(gpu, &records).unwrap();
        gpu.run(&[&d]).unwrap();
        reference::optimizer_update_models(cfgs[0].kind, &records, run.scales, slots, &grad, &mut param, &mut state);
    }
    let label = format!("{label} n={n} ({:?})", gpu.kernel_family());
    let moved: Vec<f32> = param.iter().zip(&initial).map(|(a, b)| a - b).collect();
    assert_nontrivial(&label, &moved);
    assert_close(&format!("{label} params"), &tp.read(gpu).unwrap(), &param, ATOL, RTOL);
    assert_close(&format!("{label} state"), &ts.read(gpu).unwrap(), &state, ATOL, RTOL);
}

/// Every configuration alone (K = 1, as a lone network runs it) over 50 steps, with gradient scales 1 and 0.37,
/// on 257 vec4s (a prime count: a ragged last workgroup of the 256-wide grid) and on one vec4.
#[test]
fn optimizers_match_reference_over_50_steps() {
    for gpu in devices() {
        for (name, cfg) in configs() {
            for (n, scale) in [(1028, 1.0f32), (1028, 0.37), (4, 0.37)] {
                let run =
                    Run { cfgs: std::slice::from_ref(&cfg), n, scales: &[scale], steps: 50, frozen_from: &[u64::MAX] };
                check_against_twin(gpu, &format!("{name} scale={scale}"), &run);
            }
        }
    }
}

/// The configs of each kind above as one group (1 to 5 models with different hyperparameters, momentum on for some
/// and off for others), each with its own schedule and gradient scale, model 1 frozen half-way: against the twin
/// with the same tolerance (the same rule, see ATOL), on 257 vec4s and on 7 (both prime) per model. A kernel
/// that kept updating the frozen model would differ from the twin, which leaves it as it is.
#[test]
fn model_batched_optimizers_match_reference() {
    const STEPS: u64 = 20;
    let mut groups: Vec<Vec<(&str, OptimizerConfig)>> = Vec::new();
    for (name, cfg) in configs() {
        match groups.iter_mut().find(|g| g[0].1.kind.entry() == cfg.kind.entry()) {
            Some(g) => g.push((name, cfg)),
            None => groups.push(vec![(name, cfg)]),
        }
    }
    let kinds: BTreeSet<&str> = groups.iter().map(|g| g[0].1.kind.entry()).collect();
    assert_eq!(kinds, ENTRY_POINTS.into_iter().collect(), "every entry point runs as a group");
    for gpu in devices() {
        for group in &groups {
            let k = group.len();
            let cfgs: Vec<OptimizerConfig> = group.iter().map(|(_, c)| c.clone()).collect();
            let scales: Vec<f32> = (0..k).map(|m| [1.0, 0.37, 2.0][m % 3]).collect();
            let frozen_from: Vec<u64> = (0..k).map(|m| if m == 1 { STEPS / 2 + 1 } else { u64::MAX }).collect();
            let names: Vec<&str> = group.iter().map(|(name, _)| *name).collect();
            for n in [1028, 28] {
                let run = Run { cfgs: &cfgs, n, scales: &scales, steps: STEPS, frozen_from: &frozen_from };
                check_against_twin(gpu, &format!("{names:?}"), &run);
            }
        }
    }
}

/// One step of `cfg` (K = 1) on four parameters with gradient scale 1; returns the parameters.
fn one_step(cfg: &OptimizerConfig, param: &[f32; 4], grad: &[f32; 4]) -> Vec<f32> {
    let (tp, tg, ts) = (upload(param), upload(grad), zeros(4 * cfg.state_slots()));
    let one = upload(&[1.0, 0.0, 0.0, 0.0]);
    let hyper = ModelHyperBuffer::new(gpu()).unwrap();
    hyper.write(gpu(), &[ModelHyper::new(cfg, &cfg.step_scalars(1, cfg.lr), false)]).unwrap();
    let cfgs = [cfg.clone()];
    let d = optimizer_update_models(gpu(), &cfgs, &hyper, one.view(), 4, tg.view(), tp.view(), ts.view(), 4).unwrap();
    gpu().run(&[&d]).unwrap();
    tp.read(gpu()).unwrap()
}

/// One Adam step by hand: m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g², so θ moves by lr·g/(|g| + eps) ≈ lr·sign(g).
#[test]
fn adam_first_step_matches_hand_computation() {
    let got = one_step(&OptimizerConfig::adam(0.1), &[1.0, 1.0, 0.0, 0.0], &[0.5, -2.0, 0.0, 0.0]);
    assert_close("adam step 1", &got, &[0.9, 1.1, 0.0, 0.0], 1e-6, 1e-6);
}

/// One NAdam step by hand: m = 0.1 g, v = 0.001 g², bc2 = 0.001, so the denominator is |g| + eps and θ moves by
/// (c_g + 0.1·c_m)·sign(g), with c_g = lr (1 − μ1) / (1 − μ1) = lr and c_m = lr μ2 / (1 − μ1 μ2).
#[test]
fn nadam_first_step_matches_hand_computation() {
    let got = one_step(&OptimizerConfig::nadam(0.1), &[1.0, 1.0, 0.0, 0.0], &[0.5, -2.0, 0.0, 0.0]);
    let mu = |t: f64| 0.9 * (1.0 - 0.5 * 0.96f64.powf(0.004 * t));
    let moved = (0.1 + 0.1 * 0.1 * mu(2.0) / (1.0 - mu(1.0) * mu(2.0))) as f32;
    assert_close("nadam step 1", &got, &[1.0 - moved, 1.0 + moved, 0.0, 0.0], 1e-6, 1e-6);
}

#[test]
fn invalid_hyperparameters_name_the_field() {
    let cases = [
        (OptimizerConfig::sgd(0.0), "lr"),
        (OptimizerConfig { beta1: 1.0, ..OptimizerConfig::adam(0.1) }, "beta1"),
        (OptimizerConfig { beta2: -0.1, ..OptimizerConfig::adam(0.1) }, "beta2"),
        (OptimizerConfig { momentum: -1.0, ..OptimizerConfig::sgd(0.1) }, "momentum"),
        (OptimizerConfig { nesterov: true, ..OptimizerConfig::sgd(0.1) }, "nesterov"),
        (OptimizerConfig { eps: f64::NAN, ..OptimizerConfig::adam(0.1) }, "eps"),
        (OptimizerConfig { clip_norm: Some(0.0), ..OptimizerConfig::adam(0.1) }, "clip_norm"),
        (OptimizerConfig { momentum_decay: f64::INFINITY, ..OptimizerConfig::nadam(0.1) }, "momentum_decay"),
    ];
    for (cfg, field) in cases {
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains(field), "{field}: {err}");
    }
    assert_eq!(OptimizerKind::parse("AdamW").unwrap(), OptimizerKind::AdamW);
    assert_eq!(OptimizerKind::parse(" NAdam").unwrap(), OptimizerKind::NAdam);
    let err = OptimizerKind::parse("adamax").unwrap_err().to_string();
    assert!(err.contains("sgd, adagrad, rmsprop, adam, adamw or nadam"), "{err}");
}

#[test]
fn optimizer_update_needs_whole_vec4s() {
    let t = Tensor::zeros(gpu(), "x", &[30]).unwrap();
    let hyper = ModelHyperBuffer::new(gpu()).unwrap();
    let cfgs = [OptimizerConfig::adam(0.1)];
    let err = optimizer_update_models(gpu(), &cfgs, &hyper, t.view(), 4, t.view(), t.view(), t.view(), 5).unwrap_err();
    assert!(err.to_string().contains("multiple"), "{err}");
}

#[test]
fn model_batched_optimizer_refuses_mixed_kinds_and_too_many_models() {
    let t = Tensor::zeros(gpu(), "x", &[64]).unwrap();
    let hyper = ModelHyperBuffer::new(gpu()).unwrap();
    let mixed = [OptimizerConfig::adam(0.1), OptimizerConfig::sgd(0.1)];
    let err = optimizer_update_models(gpu(), &mixed, &hyper, t.view(), 4, t.view(), t.view(), t.view(), 4).unwrap_err();
    assert!(err.to_string().contains("share the optimizer kind"), "{err}");
    let many = vec![OptimizerConfig::sgd(0.1); wgtrain::ops::optim::MAX_MODELS + 1];
    assert!(hyper.write(gpu(), &vec![ModelHyper::default(); many.len()]).is_err());
    let err = optimizer_update_models(gpu(), &many, &hyper, t.view(), 4, t.view(), t.view(), t.view(), 4).unwrap_err();
    assert!(err.to_string().contains("at most"), "{err}");
}
