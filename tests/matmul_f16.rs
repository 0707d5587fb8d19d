//! The f16 matmul variants (`Elements::F16`, `Elements::F16_TO_F32`) against their CPU twin,
//! `reference::matmul_f16`, on lavapipe, which has SHADER_F16 (the test fails, never skips, on an adapter without
//! it). Every f16 variant is validated and translated without an adapter (tests/shaders_validate.rs,
//! tests/translate.rs); this file runs a representative set: every f16 config in the three products of f16
//! training (forward A·Wᵀ f16 → f16, input gradient dZ·W f16 → f16 with the activation derivative, weight
//! gradient dZᵀ·X f16 → f32), in single-model and model-batched form, plus the register blocks' one-float A reads
//! (thin layers), on ragged shapes, and the tuned launch on both kernel families' devices.

mod common;
use common::half::{assert_f16_close, read_f16, upload_f16, zeros_f16, F16Report};
use common::{device, uniform, ACTIVATIONS};
use wgtrain::gpu::KernelFamily;
use wgtrain::matmul_wgsl::{f16_configs, Element, Elements, MatmulConfig, MatmulVariant, Pass};
use wgtrain::ops::matmul::{
    matmul_elements, matmul_variant_elements, MatmulOperands, MatmulShape, ModelStrides, F16_FALLBACK,
};
use wgtrain::reference::f16::to_f16;
use wgtrain::reference::matmul_f16 as reference;
use wgtrain::{Activation, Gpu, Tensor};

/// The f32 tolerance of tests/matmul.rs for the product before rounding: kernel and twin sum over k in the same
/// order and differ only where the driver contracts a·b + c into an FMA (entries in [−1, 1], K ≤ 784: ~1e-5).
/// [`assert_f16_close`] adds one f16 ulp of the expected value on top, since two f32 values 1e-5 apart can lie on
/// either side of an f16 rounding boundary. A wrong element (a whole product off, ≥ 1e-2) still fails: one f16
/// ulp is at most 2⁻¹⁰·|value| (≤ 0.03 for these sums).
const ATOL: f32 = 1e-4;
const RTOL: f32 = 1e-4;

/// 1, primes, non-multiples of every tile and of 4, K below and above a k-tile, MLP-A's 10-output layer.
/// (20, 36, 37) gives Aᵀ·B's vec4 loads (M and N multiples of 4) a K that is not.
const SHAPES: [(usize, usize, usize); 8] =
    [(37, 20, 36), (1, 4, 4), (67, 40, 68), (33, 8, 7), (3, 5, 7), (128, 10, 64), (13, 12, 130), (20, 36, 37)];

fn gpu() -> &'static Gpu {
    let gpu = device(KernelFamily::Buffer);
    assert!(gpu.has_shader_f16(), "the f16 tests need an adapter with SHADER_F16 (lavapipe has it): {}", gpu.adapter());
    gpu
}

fn upload(gpu: &Gpu, data: &[f32]) -> Tensor {
    Tensor::from_slice(gpu, "test", data, &[data.len()]).expect("upload")
}

/// One launch of `config`'s variant with `elements` for `models` models (gaps between them) against the twin;
/// returns the variant's name.
#[allow(clippy::too_many_arguments)]
fn check(
    gpu: &Gpu,
    config: MatmulConfig,
    s: MatmulShape,
    pass: Pass,
    elements: Elements,
    act: Activation,
    seed: u64,
    models: usize,
    worst: &mut F16Report,
) -> String {
    let (mk, kn, mn) = (s.m * s.k, s.k * s.n, s.m * s.n);
    let gap = |len: usize| if models > 1 { len.next_multiple_of(4) + 4 } else { 0 };
    let strides = ModelStrides { models, a: gap(mk), b: gap(kn), c: gap(mn), bias: gap(s.n) };
    let span = |stride: usize, one: usize| (models - 1) * stride + one;
    let a = to_f16(&uniform(seed, span(strides.a, mk), -1.0, 1.0));
    let b = to_f16(&uniform(seed + 1, span(strides.b, kn), -1.0, 1.0));
    let bias = uniform(seed + 2, span(strides.bias, s.n), -1.0, 1.0);
    let aux = to_f16(&uniform(seed + 3, span(strides.c, mn), -3.0, 3.0));
    let (ta, tb, tbias, taux) = (upload_f16(gpu, &a), upload_f16(gpu, &b), upload(gpu, &bias), upload_f16(gpu, &aux));
    let out_len = span(strides.c, mn);
    let out = |gpu| match elements.output {
        Element::F16 => zeros_f16(gpu, out_len),
        Element::F32 => Tensor::zeros(gpu, "test", &[out_len]).expect("zeros"),
    };
    let (tc, tz) = (out(gpu), out(gpu));
    let forward = pass == Pass::Forward;
    let ops = MatmulOperands {
        a: ta.view(),
        b: tb.view(),
        bias: forward.then(|| tbias.view()),
        aux: (!forward).then(|| taux.view()),
        c: tc.view(),
        z: forward.then(|| tz.view()),
    };
    let d = matmul_variant_elements(gpu, config, &s, pass, act, &ops, &strides, elements)
        .expect("launch")
        .expect("variant supports the shape");
    gpu.run(&[&d]).expect("run");
    let label = format!("{} ×{models} {s:?} {act:?}", d.file());
    let read = |t: &Tensor| -> Vec<f32> {
        match elements.output {
            Element::F16 => read_f16(gpu, t, out_len).iter().map(|h| h.to_f32()).collect(),
            Element::F32 => t.read(gpu).expect("read"),
        }
    };
    let mut compare = |what: &str, t: &Tensor, want: &[f32]| {
        let got = read(t);
        common::assert_nontrivial(&label, want);
        match elements.output {
            Element::F16 => worst.merge(assert_f16_close(&format!("{label} {what}"), &to_f16(&got), want, ATOL, RTOL)),
            Element::F32 => common::assert_close(&format!("{label} {what}"), &got, want, ATOL, RTOL),
        }
    };
    if forward {
        let (want_c, want_z) =
            reference::matmul_forward_models(&s, &strides, &a, &b, Some(&bias), act, elements.output);
        compare("z", &tz, &want_z);
        compare("c", &tc, &want_c);
    } else {
        let want = reference::matmul_activation_backward_models(&s, &strides, &a, &b, &aux, act, elements.output);
        compare("c", &tc, &want);
    }
    d.file().to_string()
}

/// The products of f16 training, each as the training step lays it out: (trans_a, trans_b, pass, elements).
const PRODUCTS: [(bool, bool, Pass, Elements); 3] = [
    (false, true, Pass::Forward, Elements::F16),
    (false, false, Pass::ActivationBackward, Elements::F16),
    (true, false, Pass::Forward, Elements::F16_TO_F32),
];

/// Every f16 config in the three products on every shape it computes, one model, and three models on every other
/// shape; every config must have run each product at least once.
#[test]
fn f16_variants_match_twin() {
    let gpu = gpu();
    let mut worst = F16Report::default();
    let mut names = std::collections::BTreeSet::new();
    for (c, config) in f16_configs().into_iter().enumerate() {
        for (p, &(ta, tb, pass, elements)) in PRODUCTS.iter().enumerate() {
            let mut ran = false;
            for (i, &(m, n, k)) in SHAPES.iter().enumerate() {
                let s = MatmulShape { m, n, k, trans_a: ta, trans_b: tb };
                if MatmulVariant::for_shape(config, &s.facts(), pass).is_none() {
                    continue;
                }
                let act = ACTIVATIONS[(c + i + p) % ACTIVATIONS.len()];
                let seed = (1000 * c + 100 * p + 10 * i) as u64;
                let models = if i % 2 == 0 { 1 } else { 3 };
                names.insert(check(gpu, config, s, pass, elements, act, seed, models, &mut worst));
                ran = true;
            }
            assert!(ran, "{} ran no shape in product {p}", config.name());
        }
    }
    eprintln!("f16 variants: {} kernels; {worst}", names.len());
}

/// The register blocks' A read one float at a time through its strides (`an`): the weight gradient of a layer
/// whose output count is not a multiple of 4 (dZ [B, 10]ᵀ·X), and the input gradient through such a layer.
#[test]
fn f16_register_blocks_read_a_through_strides() {
    let gpu = gpu();
    let mut worst = F16Report::default();
    for config in f16_configs().into_iter().filter(|c| c.tile_k.is_none()) {
        for (i, (ta, pass, elements)) in
            [(true, Pass::Forward, Elements::F16_TO_F32), (false, Pass::ActivationBackward, Elements::F16)]
                .into_iter()
                .enumerate()
        {
            let s = MatmulShape { m: 10, n: 36, k: 37, trans_a: ta, trans_b: false };
            let name = check(gpu, config, s, pass, elements, Activation::Tanh, 70 + i as u64, 1 + 2 * i, &mut worst);
            assert!(name.contains("_an_"), "{name}");
        }
    }
    eprintln!("f16 an variants: {worst}");
}

/// The tuned launch (`matmul_elements`) on both kernel families' devices (the texture family's configs read
/// buffers in f16), including shapes its register blocks cannot compute (ragged N in A·B, ragged N in Aᵀ·B),
/// which the fallback does.
#[test]
fn f16_tuned_launch_matches_twin() {
    let mut worst = F16Report::default();
    for family in [KernelFamily::Texture, KernelFamily::Buffer] {
        let gpu = device(family);
        for (i, &(m, n, k, ta, tb)) in [
            (37, 10, 784, false, true),
            (37, 784, 10, false, false),
            (10, 784, 37, true, false),
            (37, 13, 21, false, false),
            (13, 7, 37, true, false),
            (1, 1, 1, false, true),
        ]
        .iter()
        .enumerate()
        {
            let s = MatmulShape { m, n, k, trans_a: ta, trans_b: tb };
            let a = to_f16(&uniform(i as u64, m * k, -1.0, 1.0));
            let b = to_f16(&uniform(50 + i as u64, k * n, -1.0, 1.0));
            let bias = uniform(90 + i as u64, n, -1.0, 1.0);
            let (tta, ttb, tbias, tc, tz) = (
                upload_f16(gpu, &a),
                upload_f16(gpu, &b),
                upload(gpu, &bias),
                zeros_f16(gpu, m * n),
                zeros_f16(gpu, m * n),
            );
            let ops = MatmulOperands {
                a: tta.view(),
                b: ttb.view(),
                bias: Some(tbias.view()),
                aux: None,
                c: tc.view(),
                z: Some(tz.view()),
            };
            let act = Activation::Relu;
            let d = matmul_elements(gpu, &s, Pass::Forward, act, &ops, &ModelStrides::SINGLE, Elements::F16)
                .expect("launch");
            gpu.run(&[&d]).expect("run");
            let label = format!("tuned f16 ({}) {s:?}", d.file());
            // The texture family's register blocks need N % 4 = 0 in A·B and Aᵀ·B: the fallback computes these.
            if family == KernelFamily::Texture && ((m, n) == (37, 13) || (m, ta) == (13, true)) {
                assert!(d.file().starts_with(&format!("matmul_{}", F16_FALLBACK.name())), "{label}");
            }
            let (want_c, want_z) = reference::matmul_forward(&s, &a, &b, Some(&bias), act, Element::F16);
            worst.merge(assert_f16_close(&format!("{label} z"), &read_f16(gpu, &tz, m * n), &want_z, ATOL, RTOL));
            worst.merge(assert_f16_close(&format!("{label} c"), &read_f16(gpu, &tc, m * n), &want_c, ATOL, RTOL));
        }
    }
    eprintln!("f16 tuned launches: {worst}");
}

/// f16 views are counted in halfs: a view one word short of the operand is an error naming it, before launch.
#[test]
fn f16_sizes_are_checked_in_halfs() {
    let gpu = gpu();
    let t = zeros_f16(gpu, 6);
    let s = MatmulShape::new(2, 2, 4);
    let ops = MatmulOperands { a: t.view(), b: t.view(), bias: None, aux: None, c: t.view(), z: None };
    let err = matmul_elements(gpu, &s, Pass::Forward, Activation::Identity, &ops, &ModelStrides::SINGLE, Elements::F16)
        .unwrap_err();
    assert!(err.to_string().contains("a holds 6 f16 elements (3 words), needs 8"), "{err}");
}
