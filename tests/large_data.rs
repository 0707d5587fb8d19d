//! Data sets larger than one storage binding: split into chunks, trained on, and matched against one binding.

mod common;
use common::*;
use wgtrain::internal::rng::Rng;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::network::DeviceData;
use wgtrain::train::{TrainConfig, Trainer};
use wgtrain::{Activation, Loss, OptimizerConfig};

fn task(rows: usize, features: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let x: Vec<f32> = (0..rows * features).map(|_| rng.uniform(-1.0, 1.0)).collect();
    // The class is the sign of the sum of the first four features: learnable, so the loss must fall.
    let y = (0..rows)
        .map(|r| if x[r * features..r * features + 4].iter().sum::<f32>() > 0.0 { 1.0 } else { 0.0 })
        .collect();
    (x, y)
}

#[test]
fn chunked_data_trains_bitwise_like_one_binding() {
    let (x, y) = task(301, 9, 1);
    let model = MlpConfig::new(9, &[16], 2, Activation::Tanh);
    let params = init_params(&model, Init::Torch, 0).unwrap();
    let run = |chunk_bytes: u64| {
        let cfg = TrainConfig {
            batch_size: Some(32),
            epochs: 3,
            ..TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::adam(0.01))
        };
        let mut tr = Trainer::new(gpu(), &model, &params, cfg, 32).unwrap();
        let d = DeviceData::upload_chunked(gpu(), &x, 9, &y, 1, chunk_bytes).unwrap();
        tr.fit(&d, None, &mut |_| {}).unwrap();
        (d.chunk_count(), tr.params().unwrap())
    };
    let (one, whole) = run(1 << 20);
    let (many, chunked) = run(9 * 4 * 50); // 50 rows per chunk: 7 chunks
    assert_eq!((one, many), (1, 7));
    assert_eq!(whole, chunked, "chunking must not change a single bit");
}

/// More than 128 MiB of features (lavapipe's max_storage_buffer_binding_size is exactly 128 MiB).
#[test]
fn dataset_over_128_mib_trains_and_the_loss_falls() {
    let (rows, features) = (36_000, 1000); // 144 MB of f32 features
    let (x, y) = task(rows, features, 2);
    assert!(x.len() * 4 > 128 << 20);
    let model = MlpConfig::new(features, &[8], 2, Activation::Relu);
    let params = init_params(&model, Init::Torch, 0).unwrap();
    let cfg = TrainConfig {
        batch_size: Some(500),
        epochs: 2,
        ..TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::adam(0.01))
    };
    let mut tr = Trainer::new(gpu(), &model, &params, cfg, 500).unwrap();
    let d = tr.upload(&x, &y).unwrap();
    drop(x);
    assert!(
        d.chunk_count() >= 2,
        "the data must be split on this adapter (limit {})",
        gpu().limits().max_storage_buffer_binding_size
    );
    let (before, _) = tr.evaluate(&d).unwrap();
    let h = tr.fit(&d, None, &mut |_| {}).unwrap().clone();
    let (after, acc) = tr.evaluate(&d).unwrap();
    eprintln!("loss {before:.4} → {after:.4}, accuracy {:?}, {} chunks", acc, d.chunk_count());
    assert!(
        after < 0.8 * before,
        "loss must fall: {before} → {after} ({:?})",
        h.epochs.iter().map(|e| e.train_loss).collect::<Vec<_>>()
    );
}
