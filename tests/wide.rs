//! The first layer of a group as one wide product: on awkward shapes (K from 1 to 16; 1, prime and
//! non-multiple-of-4 inputs; hidden widths that are not multiples of 4; ragged batches) every model's gradient
//! matches the CPU twin, and its gradient and its weights after training steps are bit for bit those of the model
//! trained alone, whether the group takes the wide product or falls back to the model-batched launch.

mod common;
use common::*;
use wgtrain::gpu::KernelFamily;
use wgtrain::internal::rng::Rng;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::network::{DeviceData, Network, NetworkGroup};
use wgtrain::reference::network::loss_and_gradient;
use wgtrain::{Activation, Gpu, Loss, OptimizerConfig};

/// GPU vs f32 twin gradients: the same summation order, FMA contraction only (as in tests/training.rs); a model
/// reading another's weights or writing another's rows is off by whole products.
const GRAD_ATOL: f32 = 1e-5;
const GRAD_RTOL: f32 = 1e-4;
const CLASSES: usize = 3;
const STEPS: usize = 3;

/// (models, inputs, hidden width, batch rows).
const CASES: [(usize, usize, usize, usize); 10] = [
    (1, 8, 6, 11),
    (2, 8, 6, 11),
    (3, 12, 5, 7),
    (5, 16, 12, 16),
    (16, 20, 7, 13),
    (2, 1, 6, 11),
    (3, 7, 8, 9),
    (5, 6, 4, 16),
    (16, 13, 9, 5),
    (3, 4, 1, 3),
];

fn batch(input: usize, rows: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let x = (0..rows * input).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let y = (0..rows).map(|_| (rng.next_u64() % CLASSES as u64) as f32).collect();
    (x, y)
}

fn bits_equal(label: &str, got: &[f32], want: &[f32]) {
    let differ = got.iter().zip(want).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
    assert!(got.len() == want.len() && differ == 0, "{label}: {differ} of {} values differ from alone", want.len());
}

/// Launches of a group step that are wide products.
fn wide_launches(group: &mut NetworkGroup, gpu: &Gpu, data: &DeviceData, rows: usize) -> usize {
    group.plan_files(gpu, data, rows).expect("plan").iter().filter(|f| f.contains("_wide_")).count()
}

fn check(gpu: &Gpu, (k, input, hidden, rows): (usize, usize, usize, usize)) {
    // Tanh stores the first layer's pre-activation too; the second hidden layer keeps the first one's output a
    // layer's input.
    let cfg = MlpConfig::new(input, &[hidden, 5], CLASSES, Activation::Tanh);
    let layout = cfg.layout();
    let n = layout.len;
    let params: Vec<Vec<f32>> = (0..k).map(|m| init_params(&cfg, Init::Torch, 7 + m as u64).unwrap()).collect();
    let optimizers: Vec<OptimizerConfig> = (0..k).map(|m| OptimizerConfig::adam(0.01 + 0.003 * m as f64)).collect();
    let (x, y) = batch(input, 2 * rows, (k * 100 + input * 10 + hidden) as u64);
    let data = DeviceData::upload(gpu, &x, input, &y, 1).unwrap();
    let label = format!("{} K={k} in={input} H={hidden} B={rows}", gpu.kernel_family().name());
    let mut group = NetworkGroup::new(gpu, &cfg, Loss::CrossEntropy, &optimizers, &params, rows).unwrap();
    group.prepare(gpu, &data, rows).unwrap();
    let wide = wide_launches(&mut group, gpu, &data, rows);
    // The texture family's register blocks cover the first layer of any group whose input width is a multiple
    // of 4 (its A·Bᵀ reads four inputs a load); the storage-buffer family's tuned config may be a workgroup tile,
    // which has no wide form.
    if gpu.kernel_family() == KernelFamily::Texture {
        let want = if k > 1 && input % 4 == 0 { 2 } else { 0 };
        assert_eq!(wide, want, "{label}: wide launches in a step");
    }
    let grads = pollster::block_on(group.gradient_async(gpu, &data, 0, rows)).unwrap();
    for step in 0..STEPS {
        let lrs: Vec<f64> = optimizers.iter().map(|o| o.lr).collect();
        group.train_step(gpu, &data, (step % 2) * rows, rows, &lrs).unwrap();
    }
    for (m, p) in params.iter().enumerate() {
        let got = &grads[m * n..(m + 1) * n];
        let (_, want) = loss_and_gradient(&cfg, &layout, Loss::CrossEntropy, p, &x[..rows * input], &y[..rows], rows);
        assert_nontrivial(&label, &want);
        assert_close(&format!("{label} model {m} gradient vs twin"), got, &want, GRAD_ATOL, GRAD_RTOL);
        let mut alone = Network::new(gpu, &cfg, Loss::CrossEntropy, &optimizers[m], p, rows).unwrap();
        bits_equal(&format!("{label} model {m} gradient"), got, &alone.gradient(gpu, &data, 0, rows).unwrap());
        for step in 0..STEPS {
            alone.train_step(gpu, &data, (step % 2) * rows, rows, optimizers[m].lr).unwrap();
        }
        let trained = pollster::block_on(group.params_async(gpu, m)).unwrap();
        bits_equal(&format!("{label} model {m} weights after {STEPS} steps"), &trained, &alone.params(gpu).unwrap());
    }
}

#[test]
fn each_model_of_a_wide_first_layer_matches_the_twin_and_itself_alone() {
    for gpu in devices() {
        for case in CASES {
            check(gpu, case);
        }
    }
}
