//! The f16 element-wise kernels and losses (shaders/half.wgsl, gather_f16.wgsl, gather_vec4_f16.wgsl,
//! loss_f16.wgsl) against their CPU twins (src/reference/half.rs, src/reference/loss_f16.rs) on lavapipe, which has
//! SHADER_F16 (the test fails, never skips, without it). Each f16 value is rounded once where it is stored, in
//! the kernel and in the twin; the tolerances below say where the two can still differ.

mod common;
use common::half::{assert_f16_close, read_f16, upload_f16, zeros_f16, F16Report};
use common::{assert_close, assert_nontrivial, gpu, uniform, upload, zeros, ACTIVATIONS};
use wgtrain::internal::rng::Rng;
use wgtrain::ops::half::{activation_backward_f16, column_sum_f16, gather_rows_f16, loss_f16_models, transpose_f16};
use wgtrain::ops::step::StepBuffer;
use wgtrain::ops::Models;
use wgtrain::reference::f16::{f16, to_f16};
use wgtrain::reference::{half as reference, loss as loss_twin, loss_f16 as loss_f16_twin};
use wgtrain::{Gpu, Loss, Tensor};

fn device() -> &'static Gpu {
    let gpu = gpu();
    assert!(gpu.has_shader_f16(), "the f16 tests need an adapter with SHADER_F16 (lavapipe has it): {}", gpu.adapter());
    gpu
}

/// Element counts: 1, primes, odd (a half-filled last word), and beyond one workgroup.
const SIZES: [usize; 6] = [1, 2, 7, 61, 256, 1031];

/// The product dy·f'(x) is one f32 multiply of exact f16 inputs; the derivative's exp/tanh on the GPU are within a
/// few f32 ulps of the CPU's (loss test tolerances: 1e-6 absolute, 1e-5 relative), and the rounding to f16 can
/// then land one f16 ulp apart ([`assert_f16_close`]).
#[test]
fn activation_backward_f16_matches_twin() {
    let gpu = device();
    let mut worst = F16Report::default();
    for (i, act) in ACTIVATIONS.into_iter().enumerate() {
        for &n in &SIZES {
            let x = to_f16(&uniform(10 + i as u64, n, -3.0, 3.0));
            let dy = to_f16(&uniform(20 + i as u64, n, -2.0, 2.0));
            let (tx, tdy, tdx) = (upload_f16(gpu, &x), upload_f16(gpu, &dy), zeros_f16(gpu, n));
            let d = activation_backward_f16(gpu, act, tx.view(), tdy.view(), tdx.view(), n).unwrap();
            gpu.run(&[&d]).unwrap();
            let want: Vec<f32> = reference::activation_backward_f16(&x, &dy, act).iter().map(|h| h.to_f32()).collect();
            if n > 2 {
                // One or two values may both fall where the derivative is zero (ReLU below 0).
                assert_nontrivial(&format!("{act:?}"), &want);
            }
            let r = assert_f16_close(
                &format!("activation_backward_f16 {act:?} n={n}"),
                &read_f16(gpu, &tdx, n),
                &want,
                1e-6,
                1e-5,
            );
            worst.merge(r);
        }
    }
    eprintln!("activation_backward_f16: {worst}");
}

/// Sums of exact f16 values in f32, rows in the same order in kernel and twin, additions only (nothing to fuse):
/// bit for bit. Model-batched with gaps between models' inputs and outputs.
#[test]
fn column_sum_f16_matches_twin_bit_for_bit() {
    let gpu = device();
    for (i, &(rows, cols)) in [(1, 1), (37, 3), (128, 10), (5, 129), (300, 64)].iter().enumerate() {
        for models in [Models::ONE, Models { count: 3, input: rows * cols + 3, output: cols + 5 }] {
            let x = to_f16(&uniform(30 + i as u64, models.span(models.input, rows * cols), -1.0, 1.0));
            let (tx, tout) = (upload_f16(gpu, &x), zeros(models.span(models.output, cols)));
            let d = column_sum_f16(gpu, tx.view(), tout.view(), rows, cols, &models).unwrap();
            gpu.run(&[&d]).unwrap();
            let want = reference::column_sum_f16(&x, rows, cols, &models);
            assert_nontrivial("column_sum_f16", &want);
            assert_eq!(tout.read(gpu).unwrap(), want, "column_sum_f16 {rows}x{cols} {models:?}");
        }
    }
}

/// A copy: bit for bit, the values between models untouched (zero).
#[test]
fn transpose_f16_matches_twin_bit_for_bit() {
    let gpu = device();
    for (i, &(rows, cols)) in [(1, 1), (3, 5), (37, 10), (64, 33), (17, 256)].iter().enumerate() {
        for models in [Models::ONE, Models { count: 2, input: rows * cols + 1, output: rows * cols + 7 }] {
            let x = to_f16(&uniform(40 + i as u64, models.span(models.input, rows * cols), -1.0, 1.0));
            let n_out = models.span(models.output, rows * cols);
            let (tx, tout) = (upload_f16(gpu, &x), zeros_f16(gpu, n_out));
            let d = transpose_f16(gpu, tx.view(), tout.view(), rows, cols, &models).unwrap();
            gpu.run(&[&d]).unwrap();
            let want = reference::transpose_f16(&x, rows, cols, &models);
            assert_eq!(read_f16(gpu, &tout, n_out), want, "transpose_f16 {rows}x{cols} {models:?}");
        }
    }
}

/// The batch gathered into f16 (rows of 784 take the vec4 kernel, 13 and 1 the scalar one): rounding of each
/// value once, as the cast, so bit for bit.
#[test]
fn gather_rows_f16_matches_twin_bit_for_bit() {
    let gpu = device();
    for (i, &(src_rows, cols, rows, offset)) in
        [(1, 1, 1, 0), (37, 13, 5, 30), (100, 784, 37, 0), (1000, 3, 7, 993)].iter().enumerate()
    {
        let src = uniform(50 + i as u64, src_rows * cols, -1.0, 1.0);
        let mut rng = Rng::new(i as u64);
        let mut indices = rng.permutation(src_rows);
        while indices.len() < offset + rows {
            indices.extend(rng.permutation(src_rows));
        }
        let (ts, ti, to) =
            (upload(&src), Tensor::from_u32(gpu, "indices", &indices).unwrap(), zeros_f16(gpu, rows * cols));
        let step = StepBuffer::new(gpu).unwrap();
        step.write(gpu, offset as u32);
        let d = gather_rows_f16(gpu, &step, ti.view(), ts.view(), to.view(), rows, cols, src_rows, 0).unwrap();
        gpu.run(&[&d]).unwrap();
        let mut want = vec![f16::from_f32(0.0); rows * cols];
        reference::gather_rows_f16(&mut want, &src, cols, &indices, offset, rows, 0);
        assert_eq!(read_f16(gpu, &to, rows * cols), want, "gather_rows_f16 {src_rows}x{cols} rows={rows}");
    }
}

/// The loss tests' f32 tolerances (tests/loss.rs: exp/log within a few ulps, losses O(10)).
const LOSS_ATOL: f32 = 1e-6;
const LOSS_RTOL: f32 = 1e-5;

fn targets(kind: Loss, rows: usize, cols: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    match kind {
        Loss::Mse => (0..rows * cols).map(|_| rng.uniform(-2.0, 2.0)).collect(),
        Loss::Bce => (0..rows * cols).map(|_| if rng.next_f64() < 0.5 { 0.0 } else { 1.0 }).collect(),
        Loss::CrossEntropy => (0..rows).map(|_| (rng.next_u64() % cols as u64) as f32).collect(),
    }
}

fn f32_twin(kind: Loss, t: &[f32], rows: usize, cols: usize) -> impl Fn(&[f32]) -> (Vec<f32>, Vec<f32>) + '_ {
    move |x: &[f32]| match kind {
        Loss::Mse => loss_twin::mse_loss(x, t, rows, cols),
        Loss::Bce => loss_twin::bce_loss(x, t, rows, cols),
        Loss::CrossEntropy => loss_twin::cross_entropy_loss(x, t, rows, cols),
    }
}

/// One f16 loss launch with loss scale `scale`; returns (dlogits, row_stats) from the GPU and the twin.
#[allow(clippy::type_complexity)]
fn run_loss(
    gpu: &Gpu,
    kind: Loss,
    logits: &[f16],
    t: &[f32],
    rows: usize,
    cols: usize,
    models: &Models,
    scale: f32,
) -> ((Vec<f16>, Vec<f32>), (Vec<f16>, Vec<f32>)) {
    let n = models.span(models.input, rows * cols);
    let (tl, tt, td) = (upload_f16(gpu, logits), upload(t), zeros_f16(gpu, n));
    let (ts, tscale) = (zeros(models.span(models.output, 2 * rows)), upload(&[scale]));
    let d = loss_f16_models(gpu, kind, tl.view(), tt.view(), td.view(), ts.view(), tscale.view(), rows, cols, models)
        .unwrap();
    gpu.run(&[&d]).unwrap();
    let got = (read_f16(gpu, &td, n), ts.read(gpu).unwrap());
    let want = loss_f16_twin::loss_f16_models(f32_twin(kind, t, rows, cols), logits, rows, cols, models, scale);
    (got, want)
}

/// Gradients: the f32 loss tolerances scaled by the loss scale (the scale is a power of two, so the product is
/// exact) plus one f16 ulp of rounding; the f32 row losses as in tests/loss.rs. Model-batched, scales 1 and 2¹⁶.
#[test]
fn losses_f16_match_twin() {
    let gpu = device();
    let mut worst = F16Report::default();
    for kind in [Loss::Mse, Loss::Bce, Loss::CrossEntropy] {
        for (i, &(rows, cols)) in [(1, 2), (37, 3), (64, 10), (129, 7)].iter().enumerate() {
            for (models, scale) in
                [(Models::ONE, 1.0), (Models { count: 3, input: rows * cols + 5, output: 2 * rows + 1 }, 65536.0)]
            {
                let logits = to_f16(&uniform(60 + i as u64, models.span(models.input, rows * cols), -4.0, 4.0));
                let t = targets(kind, rows, cols, 70 + i as u64);
                let ((dl, stats), (want_dl, want_stats)) = run_loss(gpu, kind, &logits, &t, rows, cols, &models, scale);
                let label = format!("{kind:?} f16 {rows}x{cols} ×{} scale {scale}", models.count);
                let want_dl: Vec<f32> = want_dl.iter().map(|h| h.to_f32()).collect();
                assert_nontrivial(&label, &want_dl);
                let r = assert_f16_close(&format!("{label} dlogits"), &dl, &want_dl, LOSS_ATOL * scale, LOSS_RTOL);
                worst.merge(r);
                assert_close(&format!("{label} row stats"), &stats, &want_stats, LOSS_ATOL, LOSS_RTOL);
            }
        }
    }
    eprintln!("losses f16 (gradients, absolute differences at scales 1 and 2¹⁶): {worst}");
}

/// A loss scale too large for f16 turns the scaled gradients into ±∞ (the dynamic loss scaler's signal to skip the
/// step and halve the scale), in kernel and twin alike, while the f32 losses stay finite and unscaled.
#[test]
fn loss_f16_gradient_overflows_to_infinity() {
    let gpu = device();
    let (rows, cols) = (4, 3);
    let logits = to_f16(&[3.0, -1.0, 0.5, 0.0, 2.0, -2.0, 1.0, 1.0, 1.0, -3.0, 0.0, 3.0]);
    let t = vec![0.0, 2.0, 1.0, 0.0];
    let ((dl, stats), (want_dl, want_stats)) =
        run_loss(gpu, Loss::CrossEntropy, &logits, &t, rows, cols, &Models::ONE, 2f32.powi(24));
    assert!(dl.iter().any(|h| h.is_infinite()), "{dl:?}");
    assert_eq!(dl, want_dl);
    assert!(stats.iter().all(|v| v.is_finite()));
    assert_close("row stats", &stats, &want_stats, LOSS_ATOL, LOSS_RTOL);
}
