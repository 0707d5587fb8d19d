//! The fused optimizer kernels against src/reference/optim.rs: 50 steps for every optimizer and option.

mod common;
use std::collections::BTreeSet;

use common::*;
use wgtrain::gpu::KernelFamily;
use wgtrain::ops::optim::{optimizer_update, optimizer_update_models, ModelHyper, ModelHyperBuffer, OptimParams};
use wgtrain::ops::step::StepBuffer;
use wgtrain::optim::OPTIMIZERS;
use wgtrain::reference::optim as reference;
use wgtrain::{OptimizerConfig, OptimizerKind, Tensor};

/// The kernel and the twin apply the same f32 operations in the same order; sqrt and division are correctly
/// rounded in WGSL on lavapipe but FMA contraction may differ, so after 50 steps differences compound to ~1e-6
/// relative. 2e-5 relative + 1e-6 absolute keeps margin and still fails on a wrong rule (a missing bias
/// correction or momentum term moves parameters by ≥ 1e-3 over 50 steps).
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

/// The entry points of shaders/optim.wgsl that the tests below run (through the table's `entry` and
/// `models_entry`): the table names each of them, and nothing else.
const ENTRY_POINTS: [&str; 10] = [
    "sgd_update",
    "sgd_update_models",
    "adagrad_update",
    "adagrad_update_models",
    "rmsprop_update",
    "rmsprop_update_models",
    "adam_update",
    "adam_update_models",
    "nadam_update",
    "nadam_update_models",
];

#[test]
fn the_table_names_every_optimizer_entry_point() {
    let table: BTreeSet<&str> = OPTIMIZERS.iter().flat_map(|o| [o.entry, o.models_entry]).collect();
    assert_eq!(table, ENTRY_POINTS.into_iter().collect());
}

/// The list above covers every optimizer of the library's table, so a new one cannot go untested.
#[test]
fn every_optimizer_is_tested() {
    for kind in OptimizerKind::all() {
        assert!(configs().iter().any(|(_, c)| c.kind == kind), "{} has no case in configs()", kind.name());
    }
}

#[test]
fn optimizers_match_reference_over_50_steps() {
    for gpu in devices() {
        let upload = |data: &[f32]| Tensor::from_slice(gpu, "test", data, &[data.len()]).expect("upload");
        let n = 1028; // 257 vec4s: a ragged last workgroup of the 256-wide grid
        for (name, cfg) in configs() {
            for scale in [1.0f32, 0.37] {
                let mut param = uniform(1, n, -1.0, 1.0);
                param[0] = 0.0; // sign(0) = 0 for L1
                let initial = param.clone();
                let mut state = vec![cfg.initial_state(); cfg.state_slots() * n];
                let (tp, ts, tg) = (upload(&param), upload(&state), upload(&vec![0.0; n]));
                // Four floats, as the network allocates it, so the texture family can copy it as one texel.
                let tscale = upload(&[scale, 0.0, 0.0, 0.0]);
                let step = StepBuffer::new(gpu, &cfg.step_scalars(1, cfg.lr, 0)).unwrap();
                let d = optimizer_update(gpu, &cfg, &step, tscale.view(), tg.view(), tp.view(), ts.view(), n).unwrap();
                assert_eq!(d.reads_textures(), gpu.kernel_family() == KernelFamily::Texture, "{name}");
                assert_eq!(d.name(), cfg.kind.entry(), "{name}");
                let p = OptimParams::new(&cfg, n as u32);
                for t in 1..=50u64 {
                    let grad = uniform(100 + t, n, -1.0, 1.0);
                    tg.write(gpu, &grad).unwrap();
                    let lr = cfg.lr * 0.98f64.powi(t as i32); // a schedule changes lr through the step uniform only
                    let scalars = cfg.step_scalars(t, lr, 0);
                    step.write(gpu, &scalars);
                    gpu.run(&[&d]).unwrap();
                    reference::optimizer_update(cfg.kind, &p, &scalars, scale, &grad, &mut param, &mut state);
                }
                let label = format!("{name} scale={scale} ({:?})", gpu.kernel_family());
                let moved: Vec<f32> = param.iter().zip(&initial).map(|(a, b)| a - b).collect();
                assert_nontrivial(&label, &moved);
                assert_close(&format!("{label} params"), &tp.read(gpu).unwrap(), &param, ATOL, RTOL);
                assert_close(&format!("{label} state"), &ts.read(gpu).unwrap(), &state, ATOL, RTOL);
            }
        }
    }
}

/// One Adam step by hand: m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g², so θ moves by lr·g/(|g| + eps) ≈ lr·sign(g).
#[test]
fn adam_first_step_matches_hand_computation() {
    let cfg = OptimizerConfig::adam(0.1);
    let (tp, tg, ts) = (upload(&[1.0, 1.0, 0.0, 0.0]), upload(&[0.5, -2.0, 0.0, 0.0]), zeros(12));
    let one = upload(&[1.0]);
    let step = StepBuffer::new(gpu(), &cfg.step_scalars(1, cfg.lr, 0)).unwrap();
    let d = optimizer_update(gpu(), &cfg, &step, one.view(), tg.view(), tp.view(), ts.view(), 4).unwrap();
    gpu().run(&[&d]).unwrap();
    assert_close("adam step 1", &tp.read(gpu()).unwrap(), &[0.9, 1.1, 0.0, 0.0], 1e-6, 1e-6);
}

/// One NAdam step by hand: m = 0.1 g, v = 0.001 g², bc2 = 0.001, so the denominator is |g| + eps and θ moves by
/// (c_g + 0.1·c_m)·sign(g), with c_g = lr (1 − μ1) / (1 − μ1) = lr and c_m = lr μ2 / (1 − μ1 μ2).
#[test]
fn nadam_first_step_matches_hand_computation() {
    let cfg = OptimizerConfig::nadam(0.1);
    let (tp, tg, ts) = (upload(&[1.0, 1.0, 0.0, 0.0]), upload(&[0.5, -2.0, 0.0, 0.0]), zeros(8));
    let one = upload(&[1.0]);
    let step = StepBuffer::new(gpu(), &cfg.step_scalars(1, cfg.lr, 0)).unwrap();
    let d = optimizer_update(gpu(), &cfg, &step, one.view(), tg.view(), tp.view(), ts.view(), 4).unwrap();
    gpu().run(&[&d]).unwrap();
    let mu = |t: f64| 0.9 * (1.0 - 0.5 * 0.96f64.powf(0.004 * t));
    let moved = (0.1 + 0.1 * 0.1 * mu(2.0) / (1.0 - mu(1.0) * mu(2.0))) as f32;
    assert_close("nadam step 1", &tp.read(gpu()).unwrap(), &[1.0 - moved, 1.0 + moved, 0.0, 0.0], 1e-6, 1e-6);
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
    let cfg = OptimizerConfig::adam(0.1);
    let t = Tensor::zeros(gpu(), "x", &[30]).unwrap();
    let step = StepBuffer::new(gpu(), &cfg.step_scalars(1, cfg.lr, 0)).unwrap();
    let err = optimizer_update(gpu(), &cfg, &step, t.view(), t.view(), t.view(), t.view(), 5).unwrap_err();
    assert!(err.to_string().contains("multiple of 4"), "{err}");
}

/// The model-batched entry points (`sgd_update_models` … `nadam_update_models`, one per row of the optimizer
/// table): the configs of each kind above as one group (1 to 5 models with different
/// hyperparameters, momentum on for some and off for others), each with its own schedule and gradient scale, one
/// frozen half-way. Against the twin with the single-model tolerance (the same rule, see ATOL), and bit for bit
/// against the single-model kernel run on each model alone (the same operations in the same order).
#[test]
fn model_batched_optimizers_match_reference_and_single_models() {
    const STEPS: u64 = 20;
    const SCALE_STRIDE: usize = 8;
    for gpu in devices() {
        let upload = |data: &[f32]| Tensor::from_slice(gpu, "test", data, &[data.len()]).expect("upload");
        let n = 1028;
        let all = configs();
        let mut groups: Vec<Vec<(&str, OptimizerConfig)>> = Vec::new();
        for (name, cfg) in &all {
            match groups.iter_mut().find(|g| g[0].1.kind.models_entry() == cfg.kind.models_entry()) {
                Some(g) => g.push((name, cfg.clone())),
                None => groups.push(vec![(name, cfg.clone())]),
            }
        }
        let singles: Vec<_> = groups.iter().map(|g| vec![g[0].clone()]).collect();
        for group in groups.into_iter().chain(singles) {
            let k = group.len();
            let cfgs: Vec<OptimizerConfig> = group.iter().map(|(_, c)| c.clone()).collect();
            let slots = cfgs[0].state_slots();
            let mut param = uniform(7, k * n, -1.0, 1.0);
            param[0] = 0.0;
            let initial = param.clone();
            let mut state: Vec<f32> =
                cfgs.iter().flat_map(|c| std::iter::repeat_n(c.initial_state(), slots * n)).collect();
            let scales: Vec<f32> = (0..k).map(|m| [1.0, 0.37, 2.0][m % 3]).collect();
            let mut scale_buf = vec![0.0; k * SCALE_STRIDE];
            for (m, &sc) in scales.iter().enumerate() {
                scale_buf[m * SCALE_STRIDE] = sc;
            }
            let (tp, ts, tg, tscale) = (upload(&param), upload(&state), upload(&vec![0.0; k * n]), upload(&scale_buf));
            let hyper = ModelHyperBuffer::new(gpu).unwrap();
            let d = optimizer_update_models(
                gpu,
                &cfgs,
                &hyper,
                tscale.view(),
                SCALE_STRIDE,
                tg.view(),
                tp.view(),
                ts.view(),
                n,
            )
            .unwrap();
            assert_eq!(d.name(), cfgs[0].kind.models_entry());
            assert!(!d.reads_textures(), "the model-batched update reads its storage buffers on every adapter");
            // Each model alone through the single-model kernel.
            let alone: Vec<_> = (0..k)
                .map(|m| {
                    let (p, st) =
                        (upload(&param[m * n..(m + 1) * n]), upload(&state[m * slots * n..(m + 1) * slots * n]));
                    let (g, sc) = (upload(&vec![0.0; n]), upload(&[scales[m], 0.0, 0.0, 0.0]));
                    let step = StepBuffer::new(gpu, &cfgs[m].step_scalars(1, cfgs[m].lr, 0)).unwrap();
                    let d =
                        optimizer_update(gpu, &cfgs[m], &step, sc.view(), g.view(), p.view(), st.view(), n).unwrap();
                    (p, st, g, step, d)
                })
                .collect();
            let frozen_model = 1;
            for t in 1..=STEPS {
                let grad = uniform(300 + t, k * n, -1.0, 1.0);
                tg.write(gpu, &grad).unwrap();
                let frozen = |m: usize| m == frozen_model && t > STEPS / 2;
                let steps: Vec<reference::ModelStep> = (0..k)
                    .map(|m| {
                        let lr = cfgs[m].lr * (0.98f64 - 0.01 * m as f64).powi(t as i32);
                        reference::ModelStep {
                            params: OptimParams::new(&cfgs[m], n as u32),
                            step: cfgs[m].step_scalars(t, lr, 0),
                            scale: scales[m],
                            frozen: frozen(m),
                        }
                    })
                    .collect();
                let records: Vec<ModelHyper> =
                    (0..k).map(|m| ModelHyper::new(&cfgs[m], &steps[m].step, steps[m].frozen)).collect();
                hyper.write(gpu, &records).unwrap();
                gpu.run(&[&d]).unwrap();
                reference::optimizer_update_models(cfgs[0].kind, &steps, slots, &grad, &mut param, &mut state);
                for (m, (_, _, g, step, d)) in alone.iter().enumerate() {
                    if frozen(m) {
                        continue;
                    }
                    g.write(gpu, &grad[m * n..(m + 1) * n]).unwrap();
                    step.write(gpu, &steps[m].step);
                    gpu.run(&[d]).unwrap();
                }
            }
            let names: Vec<&str> = group.iter().map(|(name, _)| *name).collect();
            let label = format!("{names:?} ({:?})", gpu.kernel_family());
            let (got_p, got_s) = (tp.read(gpu).unwrap(), ts.read(gpu).unwrap());
            let moved: Vec<f32> = param.iter().zip(&initial).map(|(a, b)| a - b).collect();
            assert_nontrivial(&label, &moved);
            assert_close(&format!("{label} params"), &got_p, &param, ATOL, RTOL);
            assert_close(&format!("{label} state"), &got_s, &state, ATOL, RTOL);
            for (m, (p, st, ..)) in alone.iter().enumerate() {
                let same = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
                let (want_p, want_s) = (p.read(gpu).unwrap(), st.read(gpu).unwrap());
                assert!(same(&got_p[m * n..(m + 1) * n], &want_p), "{label}: model {m}'s params differ from alone");
                assert!(same(&got_s[m * slots * n..(m + 1) * slots * n], &want_s), "{label}: model {m}'s state");
            }
        }
    }
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
