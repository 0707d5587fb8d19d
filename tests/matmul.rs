//! matmul_forward and matmul_activation_backward against src/reference/matmul.rs, with both kernel families:
//! texture operands (shaders/matmul_texture.wgsl) and storage-buffer operands (matmul_vec4.wgsl, matmul.wgsl).

mod common;
use common::{assert_close, assert_nontrivial, device, devices, uniform, ACTIVATIONS};
use wgtrain::gpu::KernelFamily;
use wgtrain::ops::matmul::{matmul_activation_backward, matmul_forward, MatmulShape};
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
    let label = format!("matmul_forward ({}) {s:?} bias={with_bias} {act:?}", d.name());
    if gpu.kernel_family() == KernelFamily::Texture && s.m >= 256 && s.n >= 256 && !s.trans_a {
        assert!(d.name().ends_with("_big"), "{label}: expected a large-block entry point");
    }
    assert_nontrivial(&label, &want_z);
    assert_close(&format!("{label} z"), &tz.read(gpu).unwrap(), &want_z, ATOL, RTOL);
    assert_close(&format!("{label} c"), &tc.read(gpu).unwrap(), &want_c, ATOL, RTOL);
}

fn shapes() -> Vec<(usize, usize, usize)> {
    // 1×1×1, primes, sizes around the 32-wide tile, the 16-wide texture block and the 4-wide register block, and
    // MLP-like shapes. Some take the vec4 / texture kernels (K, N or M multiples of 4 depending on the layout)
    // with ragged other dimensions; (5, 128, 784) and (17, 132, 260) have an operand over one texture row (4,096
    // texels), so the upload takes whole rows plus a partial one. The 64×32 "_big" blocks have their own test
    // (each of their pipelines takes seconds to compile, so they are not multiplied by every activation).
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
                let label = format!("matmul_activation_backward ({}) {s:?} {act:?}", d.name());
                assert_nontrivial(&label, &want);
                assert_close(&label, &tc.read(gpu).unwrap(), &want, ATOL, RTOL);
            }
        }
    }
}

/// The large-block entry points of the texture family, with ragged edges (M = 260 is not a multiple of 64).
#[test]
fn texture_big_blocks_match_reference() {
    let gpu = device(KernelFamily::Texture);
    for (tb, seed) in [(true, 1), (false, 2)] {
        let s = MatmulShape { m: 260, n: 264, k: 36, trans_a: false, trans_b: tb };
        check_forward(gpu, s, true, Activation::Relu, seed);
    }
    let s = MatmulShape { m: 260, n: 264, k: 36, trans_a: false, trans_b: false };
    let (a, b) = (uniform(5, s.m * s.k, -1.0, 1.0), uniform(6, s.k * s.n, -1.0, 1.0));
    let aux = uniform(7, s.m * s.n, -3.0, 3.0);
    let (ta, tb, taux, tc) = (upload(gpu, &a), upload(gpu, &b), upload(gpu, &aux), zeros(gpu, s.m * s.n));
    let d = matmul_activation_backward(gpu, &s, ta.view(), tb.view(), taux.view(), Activation::Relu, tc.view())
        .expect("launch");
    assert_eq!(d.name(), "matmul_activation_backward_nn_big");
    gpu.run(&[&d]).expect("run");
    let want = reference::matmul_activation_backward(&s, &a, &b, &aux, Activation::Relu);
    assert_close("big backward", &tc.read(gpu).unwrap(), &want, ATOL, RTOL);
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

/// Every kernel is exercised by the shapes above: the vec4 one wherever its layout's dimensions are multiples of 4.
#[test]
fn vec4_kernel_is_chosen_where_the_layout_allows() {
    let gpu = device(KernelFamily::Buffer);
    let t = zeros(gpu, 64 * 64);
    let launch = |m, n, k, ta, tb| {
        let s = MatmulShape { m, n, k, trans_a: ta, trans_b: tb };
        matmul_forward(gpu, &s, t.view(), t.view(), None, Activation::Identity, t.view(), None).unwrap().file()
    };
    assert_eq!(launch(37, 13, 20, false, true), "matmul_vec4.wgsl", "NT needs K % 4 = 0 only");
    assert_eq!(launch(37, 12, 20, false, false), "matmul_vec4.wgsl", "NN needs K and N % 4 = 0");
    assert_eq!(launch(36, 28, 37, true, false), "matmul_vec4.wgsl", "TN needs M and N % 4 = 0");
    assert_eq!(launch(37, 13, 20, false, false), "matmul.wgsl");
    assert_eq!(launch(37, 12, 21, false, true), "matmul.wgsl");
    assert_eq!(launch(36, 28, 37, true, true), "matmul.wgsl", "TT always scalar");
}

/// The texture family takes every layout whose alignment rules hold, and falls back to the buffer kernels otherwise.
#[test]
fn texture_kernel_is_chosen_where_the_layout_allows() {
    let gpu = device(KernelFamily::Texture);
    let t = zeros(gpu, 256 * 256);
    let forward = |m, n, k, ta, tb| {
        let s = MatmulShape { m, n, k, trans_a: ta, trans_b: tb };
        matmul_forward(gpu, &s, t.view(), t.view(), None, Activation::Identity, t.view(), None).unwrap().name()
    };
    let backward = |m, n, k, ta, tb| {
        let s = MatmulShape { m, n, k, trans_a: ta, trans_b: tb };
        let d = matmul_activation_backward(gpu, &s, t.view(), t.view(), t.view(), Activation::Relu, t.view());
        (d.as_ref().unwrap().name(), d.unwrap().file())
    };
    assert_eq!(forward(37, 12, 20, false, true), "matmul_forward_nt");
    assert_eq!(forward(256, 256, 8, false, true), "matmul_forward_nt_big");
    assert_eq!(forward(256, 256, 8, false, false), "matmul_forward_nn_big");
    assert_eq!(forward(256, 256, 8, true, false), "matmul_forward_tn", "no large blocks for Aᵀ·B");
    assert_eq!(backward(256, 256, 8, false, false).0, "matmul_activation_backward_nn_big");
    assert_eq!(forward(37, 13, 20, false, true), "matmul_forward_nt_ragged", "NT stores single floats when N % 4 ≠ 0");
    assert_eq!(forward(37, 12, 20, false, false), "matmul_forward_nn");
    assert_eq!(forward(36, 28, 37, true, false), "matmul_forward_tn");
    assert_eq!(backward(37, 12, 20, false, true).0, "matmul_activation_backward_nt");
    assert_eq!(backward(37, 12, 20, false, false).0, "matmul_activation_backward_nn");
    assert_eq!(backward(36, 28, 37, true, false).0, "matmul_activation_backward_tn");
    assert_eq!(forward(37, 12, 10, false, false), "matmul_forward_an", "NN with K % 4 ≠ 0: A read per float");
    assert_eq!(forward(10, 64, 128, true, false), "matmul_forward_an", "TN with M % 4 ≠ 0: A read per float");
    assert_eq!(backward(128, 64, 10, false, false).0, "matmul_activation_backward_an");
    assert_eq!(backward(37, 13, 20, false, true).1, "matmul_vec4.wgsl", "backward needs N % 4 = 0");
    assert_eq!(forward(37, 13, 20, false, false), "matmul_forward", "NN with N % 4 ≠ 0: scalar buffer kernel");
    assert_eq!(forward(36, 28, 37, true, true), "matmul_forward", "TT: scalar buffer kernel");
}
