//! The fused optimizer kernels against src/reference/optim.rs: 50 steps for every optimizer and option.

mod common;
use common::*;
use wgtrain::gpu::KernelFamily;
use wgtrain::ops::optim::{optimizer_update, OptimParams};
use wgtrain::ops::step::StepBuffer;
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
    ]
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
                let entry = match cfg.kind {
                    OptimizerKind::Sgd => "sgd_update",
                    OptimizerKind::Adagrad => "adagrad_update",
                    OptimizerKind::RmsProp => "rmsprop_update",
                    OptimizerKind::Adam | OptimizerKind::AdamW => "adam_update",
                };
                assert_eq!(d.name(), entry, "{name}");
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
    ];
    for (cfg, field) in cases {
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains(field), "{field}: {err}");
    }
    assert_eq!(OptimizerKind::parse("AdamW").unwrap(), OptimizerKind::AdamW);
}

#[test]
fn optimizer_update_needs_whole_vec4s() {
    let cfg = OptimizerConfig::adam(0.1);
    let t = Tensor::zeros(gpu(), "x", &[30]).unwrap();
    let step = StepBuffer::new(gpu(), &cfg.step_scalars(1, cfg.lr, 0)).unwrap();
    let err = optimizer_update(gpu(), &cfg, &step, t.view(), t.view(), t.view(), t.view(), 5).unwrap_err();
    assert!(err.to_string().contains("multiple of 4"), "{err}");
}
