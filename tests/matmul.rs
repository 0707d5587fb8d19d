//! matmul_forward and matmul_activation_backward against src/reference/matmul.rs, with both kernel families
//! (texture and storage-buffer operands), and every generated variant the tuner can pick, named one by one.

mod common;
use common::{assert_close, assert_nontrivial, device, devices, uniform, ACTIVATIONS};
use wgtrain::gpu::KernelFamily;
use wgtrain::matmul_wgsl::{all_configs, MatmulConfig, MatmulVariant, Pass, WideAxis};
use wgtrain::ops::matmul::{
    matmul_activation_backward, matmul_forward, matmul_scalar, matmul_scalar_models, matmul_variant,
    matmul_variant_models, MatmulOperands, MatmulShape, ModelStrides,
};
use wgtrain::ops::matmul_wide::{matmul_wide, wide_variant};
use wgtrain::reference::matmul as reference;
use wgtrain::{Activation, Gpu, Tensor};

fn upload(gpu: &Gpu, data: &[f32]) -> Tensor {
    Tensor::from_slice(gpu, "test", data, &[data.len()]).expect("upload")
}

fn zeros(gpu: &Gpu, n: usize) -> Tensor {
    Tensor::zeros(gpu, "test", &[n]).expect("zeros")
}

/// The kernel and the twin sum over k in the same order; they differ only where the driver contracts a·b + c into
/// an FMA (≤ ½ ulp per step). With entries in [−1, 1] and K ≤ 1024 partial sums stay below ~40, so the expected
/// difference is ~1e-5; 1e-4 leaves margin while a wrong element (off by a whole product, ≥ 1e-2) still fails.
const ATOL: f32 = 1e-4;
const RTOL: f32 = 1e-4;

fn check_forward(gpu: &Gpu, s: MatmulShape, with_bias: bool, act: Activation, seed: u64) {
    let a = uniform(seed, s.m * s.k, -1.0, 1.0);
    let b = uniform(seed + 1, s.k * s.n, -1.0, 1.0);
    let bias = uniform(seed + 2, s.n, -1.0, 1.0);
    let (ta, tb, tbias) = (upload(gpu, &a), upload(gpu, &b), upload(gpu, &bias));
    let (tc, tz) = (zeros(gpu, s.m * s.n), zeros(gpu, s.m * s.n));
    let d =
        matmul_forward(gpu, &s, ta.view(), tb.view(), with_bias.then(|| tbias.view()), act, tc.view(), Some(tz.view()))
            .expect("launch");
    gpu.run(&[&d]).expect("run");
    let (want_c, want_z) = reference::matmul_forward(&s, &a, &b, with_bias.then_some(&bias[..]), act);
    let label = format!("matmul_forward ({}) {s:?} bias={with_bias} {act:?}", d.file());
    assert_nontrivial(&label, &want_z);
    assert_close(&format!("{label} z"), &tz.read(gpu).unwrap(), &want_z, ATOL, RTOL);
    assert_close(&format!("{label} c"), &tc.read(gpu).unwrap(), &want_c, ATOL, RTOL);
}

fn shapes() -> Vec<(usize, usize, usize)> {
    // 1×1×1, primes, sizes around the 32-wide tile, the 16-wide texture block and the 4-wide register block, and
    // MLP-like shapes. Some take the generated kernels (K, N or M multiples of 4 depending on the layout) with
    // ragged other dimensions; (5, 128, 784) and (17, 132, 260) have an operand over one texture row (4,096
    // texels), so the upload takes whole rows plus a partial one.
    vec![
        (1, 1, 1),
        (37, 61, 129),
        (2, 3, 5),
        (31, 33, 7),
        (32, 32, 32),
        (33, 65, 17),
        (128, 10, 64),
        (5, 128, 784),
        (37, 12, 20),
        (33, 44, 8),
        (36, 28, 37),
        (1, 4, 4),
        (4, 4, 1),
        (17, 20, 36),
        (16, 16, 16),
        (48, 12, 8),
        (17, 132, 260),
        (128, 128, 784),
        (10, 64, 128),
        (128, 64, 10),
        (19, 8, 7),
    ]
}

#[test]
fn matmul_forward_matches_reference() {
    for gpu in devices() {
        for (i, (m, n, k)) in shapes().into_iter().enumerate() {
            for ta in [false, true] {
                for tb in [false, true] {
                    let s = MatmulShape { m, n, k, trans_a: ta, trans_b: tb };
                    check_forward(gpu, s, i % 2 == 0, ACTIVATIONS[i % ACTIVATIONS.len()], 10 + i as u64);
                }
            }
        }
    }
}

#[test]
fn matmul_forward_every_activation_with_bias() {
    for gpu in devices() {
        for (i, act) in ACTIVATIONS.into_iter().enumerate() {
            for (n, k) in [(29, 61), (29, 60), (28, 60)] {
                let s = MatmulShape { m: 37, n, k, trans_a: false, trans_b: true };
                check_forward(gpu, s, true, act, 100 + i as u64);
            }
        }
    }
}

#[test]
fn matmul_activation_backward_matches_reference() {
    for gpu in devices() {
        for (i, (m, n, k)) in shapes().into_iter().enumerate() {
            for (ta, tb) in [(false, false), (false, true), (true, false), (i % 2 == 1, i % 3 == 0)] {
                let act = ACTIVATIONS[i % ACTIVATIONS.len()];
                let s = MatmulShape { m, n, k, trans_a: ta, trans_b: tb };
                let a = uniform(200 + i as u64, m * k, -1.0, 1.0);
                let b = uniform(300 + i as u64, k * n, -1.0, 1.0);
                let aux = uniform(400 + i as u64, m * n, -3.0, 3.0);
                let (ta, tb, taux, tc) = (upload(gpu, &a), upload(gpu, &b), upload(gpu, &aux), zeros(gpu, m * n));
                let d = matmul_activation_backward(gpu, &s, ta.view(), tb.view(), taux.view(), act, tc.view())
                    .expect("launch");
                gpu.run(&[&d]).expect("run");
                let want = reference::matmul_activation_backward(&s, &a, &b, &aux, act);
                let label = format!("matmul_activation_backward ({}) {s:?} {act:?}", d.file());
                assert_nontrivial(&label, &want);
                assert_close(&label, &tc.read(gpu).unwrap(), &want, ATOL, RTOL);
            }
        }
    }
}

/// More than 65,535 workgroups of 32 rows: the launch must spread over a 2-D grid and still cover every row.
#[test]
fn matmul_forward_beyond_65535_workgroups() {
    let m = 65_536 * 32 + 77;
    let gpu = device(KernelFamily::Buffer);
    check_forward(gpu, MatmulShape { m, n: 1, k: 1, trans_a: false, trans_b: false }, true, Activation::Relu, 7);
}

/// Views at an offset into one flat buffer (how the model binds each layer of the parameter buffer).
#[test]
fn matmul_forward_on_offset_views() {
    for gpu in devices() {
        for (m, n, k) in [(3, 5, 7), (3, 5, 8), (19, 20, 12)] {
            let s = MatmulShape { m, n, k, trans_a: false, trans_b: true };
            let align = gpu.limits().min_storage_buffer_offset_alignment as usize / 4;
            let a = uniform(1, s.m * s.k, -1.0, 1.0);
            let b = uniform(2, s.k * s.n, -1.0, 1.0);
            let mut flat = vec![9.0; align + s.k * s.n + 8];
            flat[align..align + s.k * s.n].copy_from_slice(&b);
            let (ta, tflat, tc) = (upload(gpu, &a), upload(gpu, &flat), zeros(gpu, s.m * s.n));
            let b_view = tflat.slice(align, s.k * s.n);
            let d = matmul_forward(gpu, &s, ta.view(), b_view, None, Activation::Identity, tc.view(), None)
                .expect("launch");
            gpu.run(&[&d]).expect("run");
            let (want, _) = reference::matmul_forward(&s, &a, &b, None, Activation::Identity);
            assert_close(&format!("offset view ({}) {s:?}", d.name()), &tc.read(gpu).unwrap(), &want, ATOL, RTOL);
        }
    }
}

#[test]
fn matmul_rejects_bad_shapes() {
    let gpu = device(KernelFamily::Texture);
    let t = zeros(gpu, 4);
    let s = MatmulShape::new(2, 2, 3);
    let err = matmul_forward(gpu, &s, t.view(), t.view(), None, Activation::Identity, t.view(), None).unwrap_err();
    assert!(err.to_string().contains("a has 4 elements, needs 6"), "{err}");
    let err =
        matmul_forward(gpu, &MatmulShape::new(0, 2, 2), t.view(), t.view(), None, Activation::Identity, t.view(), None)
            .unwrap_err();
    assert!(err.to_string().contains("M must be at least 1"), "{err}");
}

/// Shapes for the per-variant test: 1, primes, non-multiples of every tile (8, 16, 32, 64, 128), K not a multiple
/// of the k-tile, and MLP-A's thin 10-output layer.
const VARIANT_SHAPES: [(usize, usize, usize); 11] = [
    (36, 20, 37),
    (12, 8, 130),
    (1, 4, 4),
    (1, 1, 1),
    (5, 12, 8),
    (37, 20, 36),
    (67, 40, 68),
    (130, 12, 20),
    (33, 8, 7),
    (3, 5, 7),
    (128, 10, 64),
];

/// Every generated variant the tuner can pick (each config in each layout, pass and store width it supports)
/// against the CPU twin on ragged shapes, named in the failure message.
#[test]
fn every_generated_variant_matches_reference() {
    let gpu = device(KernelFamily::Buffer);
    let mut seen = std::collections::BTreeSet::new();
    for (c, config) in all_configs().into_iter().enumerate() {
        for (i, &(m, n, k)) in VARIANT_SHAPES.iter().enumerate() {
            for (ta, tb) in [(false, true), (false, false), (true, false)] {
                for pass in [Pass::Forward, Pass::ActivationBackward] {
                    let s = MatmulShape { m, n, k, trans_a: ta, trans_b: tb };
                    let Some(v) = MatmulVariant::for_shape(config, &s.facts(), pass) else { continue };
                    let seed = (1000 * c + 10 * i) as u64 + u64::from(ta) * 3 + u64::from(tb) * 5;
                    let act = ACTIVATIONS[(c + i) % ACTIVATIONS.len()];
                    check_variant(gpu, config, s, pass, act, seed);
                    seen.insert(v.name());
                    // The model-batched form: 3 models (A shared on every other shape, as a first layer's input)
                    // or 1 model launched through the batched form.
                    let models = if i % 2 == 0 { 3 } else { 1 };
                    let name = check_variant_models(gpu, Some(config), s, pass, act, seed, models, i % 4 == 0);
                    seen.insert(name);
                    if pass == Pass::Forward {
                        seen.extend(check_wide(gpu, config, s, act, seed, [2, 3, 5][i % 3]));
                    }
                }
            }
        }
    }
    // The f16 variants are run by tests/matmul_f16.rs (a representative set; all are validated and translated).
    let every: std::collections::BTreeSet<String> = wgtrain::matmul_wgsl::all_variants()
        .iter()
        .filter(|v| !v.elements.uses_f16())
        .map(MatmulVariant::name)
        .collect();
    let missed: Vec<&String> = every.difference(&seen).collect();
    assert!(missed.is_empty(), "variants no shape exercised: {missed:?}");
}

fn check_variant(gpu: &Gpu, config: MatmulConfig, s: MatmulShape, pass: Pass, act: Activation, seed: u64) {
    let a = uniform(seed, s.m * s.k, -1.0, 1.0);
    let b = uniform(seed + 1, s.k * s.n, -1.0, 1.0);
    let bias = uniform(seed + 2, s.n, -1.0, 1.0);
    let aux = uniform(seed + 3, s.m * s.n, -3.0, 3.0);
    let (ta, tb, tbias, taux) = (upload(gpu, &a), upload(gpu, &b), upload(gpu, &bias), upload(gpu, &aux));
    let (tc, tz) = (zeros(gpu, s.m * s.n), zeros(gpu, s.m * s.n));
    let forward = pass == Pass::Forward;
    let ops = MatmulOperands {
        a: ta.view(),
        b: tb.view(),
        bias: forward.then(|| tbias.view()),
        aux: (!forward).then(|| taux.view()),
        c: tc.view(),
        z: forward.then(|| tz.view()),
    };
    let d = matmul_variant(gpu, config, &s, pass, act, &ops).expect("launch").expect("variant supports the shape");
    gpu.run(&[&d]).expect("run");
    let label = format!("{} {s:?} {act:?}", d.file());
    if forward {
        let (want_c, want_z) = reference::matmul_forward(&s, &a, &b, Some(&bias[..]), act);
        assert_close(&format!("{label} z"), &tz.read(gpu).unwrap(), &want_z, ATOL, RTOL);
        assert_close(&format!("{label} c"), &tc.read(gpu).unwrap(), &want_c, ATOL, RTOL);
    } else {
        let want = reference::matmul_activation_backward(&s, &a, &b, &aux, act);
        assert_close(&label, &tc.read(gpu).unwrap(), &want, ATOL, RTOL);
    }
}

/// Floats between models in a batched test launch: a model's extent rounded up to four, plus four, so models are
/// neither adjacent nor overlapping and an offset error reads or writes the gap.
fn gap_stride(len: usize) -> usize {
    len.next_multiple_of(4) + 4
}

/// The model-batched form of `config`'s variant (None: the scalar kernel) for `models` models against the CPU
/// twin per model, and bit for bit against the single-model launch on each model's data (same kernel, same
/// order: anything else is an offset bug); returns the kernel's name. The floats between models must stay zero.
#[allow(clippy::too_many_arguments)]
fn check_variant_models(
    gpu: &Gpu,
    config: Option<MatmulConfig>,
    s: MatmulShape,
    pass: Pass,
    act: Activation,
    seed: u64,
    models: usize,
    share_a: bool,
) -> String {
    let (mk, kn, mn) = (s.m * s.k, s.k * s.n, s.m * s.n);
    let strides = ModelStrides {
        models,
        a: if share_a { 0 } else { gap_stride(mk) },
        b: gap_stride(kn),
        c: gap_stride(mn),
        bias: gap_stride(s.n),
    };
    let span = |stride: usize, one: usize| (models - 1) * stride + one;
    let a = uniform(seed, span(strides.a, mk), -1.0, 1.0);
    let b = uniform(seed + 1, span(strides.b, kn), -1.0, 1.0);
    let bias = uniform(seed + 2, span(strides.bias, s.n), -1.0, 1.0);
    let aux = uniform(seed + 3, span(strides.c, mn), -3.0, 3.0);
    let (ta, tb, tbias, taux) = (upload(gpu, &a), upload(gpu, &b), upload(gpu, &bias), upload(gpu, &aux));
    let (tc, tz) = (zeros(gpu, span(strides.c, mn)), zeros(gpu, span(strides.c, mn)));
    let forward = pass == Pass::Forward;
    let ops = MatmulOperands {
        a: ta.view(),
        b: tb.view(),
        bias: forward.then(|| tbias.view()),
        aux: (!forward).then(|| taux.view()),
        c: tc.view(),
        z: forward.then(|| tz.view()),
    };
    let d = match config {
        Some(config) => matmul_variant_models(gpu, config, &s, pass, act, &ops, &strides)
            .expect("launch")
            .expect("variant supports the shape"),
        None => matmul_scalar_models(gpu, &s, pass, act, &ops, &strides).expect("launch"),
    };
    gpu.run(&[&d]).expect("run");
    let label = format!("{} ×{models} {s:?} {act:?}", d.file());
    let (got_c, got_z) = (tc.read(gpu).unwrap(), tz.read(gpu).unwrap());
    if forward {
        let (want_c, want_z) = reference::matmul_forward_models(&s, &strides, &a, &b, Some(&bias[..]), act);
        assert_close(&format!("{label} z"), &got_z, &want_z, ATOL, RTOL);
        assert_close(&format!("{label} c"), &got_c, &want_c, ATOL, RTOL);
    } else {
        let want = reference::matmul_activation_backward_models(&s, &strides, &a, &b, &aux, act);
        assert_close(&label, &got_c, &want, ATOL, RTOL);
    }
    for m in 0..models {
        let one = |v: &[f32], stride: usize, len: usize| upload(gpu, &v[m * stride..m * stride + len]);
        let (ta, tb) = (one(&a, strides.a, mk), one(&b, strides.b, kn));
        let (tbias, taux) = (one(&bias, strides.bias, s.n), one(&aux, strides.c, mn));
        let (tc1, tz1) = (zeros(gpu, mn), zeros(gpu, mn));
        let ops = MatmulOperands {
            a: ta.view(),
            b: tb.view(),
            bias: forward.then(|| tbias.view()),
            aux: (!forward).then(|| taux.view()),
            c: tc1.view(),
            z: forward.then(|| tz1.view()),
        };
        let single = match config {
            Some(config) => matmul_variant(gpu, config, &s, pass, act, &ops).unwrap().unwrap(),
            None => matmul_scalar(gpu, &s, pass, act, &ops).unwrap(),
        };
        gpu.run(&[&single]).unwrap();
        let at = m * strides.c;
        let same = |got: &[f32], want: &[f32]| got.iter().zip(want).all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same(&got_c[at..at + mn], &tc1.read(gpu).unwrap()), "{label}: model {m}'s c differs from alone");
        if forward {
            assert!(same(&got_z[at..at + mn], &tz1.read(gpu).unwrap()), "{label}: model {m}'s z differs from alone");
        }
        if m + 1 < models {
            let gap = &got_c[at + mn..(m + 1) * strides.c];
            assert!(gap.iter().all(|&v| v == 0.0), "{label}: wrote between models {m} and {}", m + 1);
        }
    }
    d.file().to_string()
}

/// The wide launch of `config` for `models` products of shape `s` sharing one operand (A for A·Bᵀ, whose
/// columns are stacked; B otherwise, whose rows are), where a wide variant covers it: against the CPU twin per
/// model, and bit for bit against the model-batched launch of the same config (itself checked against single
/// launches); the floats between models must stay zero. Returns the kernel's name, None where no wide form applies.
fn check_wide(
    gpu: &Gpu,
    config: MatmulConfig,
    s: MatmulShape,
    act: Activation,
    seed: u64,
    models: usize,
) -> Option<String> {
    let (mk, kn, mn) = (s.m * s.k, s.k * s.n, s.m * s.n);
    let (axis, strides) = if s.trans_b {
        (WideAxis::Cols, ModelStrides { models, a: 0, b: gap_stride(kn), c: gap_stride(mn), bias: gap_stride(s.n) })
    } else {
        (WideAxis::Rows, ModelStrides { models, a: gap_stride(mk), b: 0, c: gap_stride(mn), bias: 0 })
    };
    let has_bias = axis == WideAxis::Cols;
    wide_variant(config, &s, axis, &strides, has_bias)?;
    let span = |stride: usize, one: usize| (models - 1) * stride + one;
    let a = uniform(seed, span(strides.a, mk), -1.0, 1.0);
    let b = uniform(seed + 1, span(strides.b, kn), -1.0, 1.0);
    let bias = uniform(seed + 2, span(strides.bias, s.n), -1.0, 1.0);
    let (ta, tb, tbias) = (upload(gpu, &a), upload(gpu, &b), upload(gpu, &bias));
    let outputs = || [zeros(gpu, span(strides.c, mn)), zeros(gpu, span(strides.c, mn))];
    let ([tc, tz], [bc, bz]) = (outputs(), outputs());
    fn ops<'t>(
        a: &'t Tensor,
        b: &'t Tensor,
        bias: Option<&'t Tensor>,
        c: &'t Tensor,
        z: &'t Tensor,
    ) -> MatmulOperands<'t> {
        MatmulOperands {
            a: a.view(),
            b: b.view(),
            bias: bias.map(Tensor::view),
            aux: None,
            c: c.view(),
            z: Some(z.view()),
        }
    }
    let tbias = has_bias.then_some(&tbias);
    let d = matmul_wide(gpu, config, &s, axis, act, &ops(&ta, &tb, tbias, &tc, &tz), &strides)
        .expect("launch")
        .expect("wide form");
    let batched = matmul_variant_models(gpu, config, &s, Pass::Forward, act, &ops(&ta, &tb, tbias, &bc, &bz), &strides)
        .expect("launch")
        .expect("batched form");
    gpu.run(&[&d, &batched]).expect("run");
    let label = format!("{} ×{models} {s:?} {act:?}", d.file());
    let (got_c, got_z) = (tc.read(gpu).unwrap(), tz.read(gpu).unwrap());
    let (want_c, want_z) = reference::matmul_forward_models(&s, &strides, &a, &b, has_bias.then_some(&bias[..]), act);
    assert_close(&format!("{label} z"), &got_z, &want_z, ATOL, RTOL);
    assert_close(&format!("{label} c"), &got_c, &want_c, ATOL, RTOL);
    let same = |got: &[f32], want: &[f32]| got.iter().zip(want).all(|(x, y)| x.to_bits() == y.to_bits());
    assert!(same(&got_c, &bc.read(gpu).unwrap()), "{label}: c differs from the model-batched launch");
    assert!(same(&got_z, &bz.read(gpu).unwrap()), "{label}: z differs from the model-batched launch");
    for m in 0..models - 1 {
        let gap = &got_c[m * strides.c + mn..(m + 1) * strides.c];
        assert!(gap.iter().all(|&v| v == 0.0), "{label}: wrote between models {m} and {}", m + 1);
    }
    Some(d.file().to_string())
}

/// The scalar kernel's model-batched launch (workgroup z = model), including Aᵀ·Bᵀ, on ragged shapes for 1 and 3
/// models, one with the shared A of a first layer.
#[test]
fn scalar_fallback_models_match_reference_and_single_launches() {
    let gpu = device(KernelFamily::Buffer);
    for (i, &(m, n, k)) in [(3, 5, 7), (37, 20, 36), (1, 1, 1), (33, 8, 7)].iter().enumerate() {
        for (ta, tb) in [(false, true), (true, true), (true, false)] {
            for pass in [Pass::Forward, Pass::ActivationBackward] {
                let s = MatmulShape { m, n, k, trans_a: ta, trans_b: tb };
                let act = ACTIVATIONS[i % ACTIVATIONS.len()];
                for (models, share) in [(1, false), (3, false), (3, true)] {
                    check_variant_models(gpu, None, s, pass, act, 500 + i as u64, models, share);
                }
            }
        }
    }
}

/// The hand-written scalar kernel, the fallback for shapes no variant computes (Aᵀ·Bᵀ, unaligned views).
#[test]
fn scalar_fallback_matches_reference() {
    let gpu = device(KernelFamily::Buffer);
    for (i, &(m, n, k)) in VARIANT_SHAPES.iter().enumerate() {
        for (ta, tb) in [(true, true), (false, true), (true, false)] {
            let s = MatmulShape { m, n, k, trans_a: ta, trans_b: tb };
            let (a, b) = (uniform(i as u64, m * k, -1.0, 1.0), uniform(50 + i as u64, k * n, -1.0, 1.0));
            let (ta, tb, tc) = (upload(gpu, &a), upload(gpu, &b), zeros(gpu, m * n));
            let ops = MatmulOperands { a: ta.view(), b: tb.view(), bias: None, aux: None, c: tc.view(), z: None };
            let d = matmul_scalar(gpu, &s, Pass::Forward, Activation::Identity, &ops).expect("launch");
            assert_eq!(d.file(), "matmul.wgsl");
            gpu.run(&[&d]).expect("run");
            let (want, _) = reference::matmul_forward(&s, &a, &b, None, Activation::Identity);
            assert_close(&format!("scalar {s:?}"), &tc.read(gpu).unwrap(), &want, ATOL, RTOL);
        }
    }
}

/// Each family gets its own kind of variant where the layout allows, and the scalar kernel otherwise.
#[test]
fn each_family_picks_its_variants() {
    let launch = |family, m, n, k, ta, tb| {
        let gpu = device(family);
        let t = zeros(gpu, 1024 * 1024);
        let s = MatmulShape { m, n, k, trans_a: ta, trans_b: tb };
        matmul_forward(gpu, &s, t.view(), t.view(), None, Activation::Identity, t.view(), None)
            .unwrap()
            .file()
            .to_string()
    };
    assert!(launch(KernelFamily::Texture, 37, 12, 20, false, true).starts_with("matmul_texture_b8x8"), "tiny");
    assert!(launch(KernelFamily::Texture, 128, 128, 784, false, true).starts_with("matmul_texture_b16x16"));
    assert!(launch(KernelFamily::Texture, 256, 256, 64, false, false).starts_with("matmul_texture_b32x16"));
    assert!(launch(KernelFamily::Texture, 37, 12, 10, false, false).ends_with("_an_forward"), "K % 4 ≠ 0");
    assert!(launch(KernelFamily::Texture, 1024, 64, 38, false, false).contains("b16x16_w8x1_v4_an"), "not tiny");
    assert_eq!(launch(KernelFamily::Texture, 37, 13, 20, false, false), "matmul.wgsl", "NN with N % 4 ≠ 0");
    assert!(launch(KernelFamily::Buffer, 37, 20, 20, false, true).starts_with("matmul_buffer_b4x4_w16x16_k16_v4"));
    assert!(launch(KernelFamily::Buffer, 128, 10, 64, false, true).starts_with("matmul_buffer_b4x4_w4x16"), "thin N");
    assert!(launch(KernelFamily::Buffer, 37, 13, 21, false, false).contains("_v1_"), "no vec4 loads for ragged K");
    for family in [KernelFamily::Texture, KernelFamily::Buffer] {
        assert_eq!(launch(family, 36, 28, 37, true, true), "matmul.wgsl", "TT: scalar kernel");
    }
}
