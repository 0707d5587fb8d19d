//! The bundled MNIST subset (data/mnist-10k: 8,000 training and 2,000 test digits) trains to ≥ 90 % test accuracy
//! with 784-128-64-10, ReLU and Adam 1e-3 in batches of 128. Measured on lavapipe: 90.0 % after 2 epochs and
//! 92–93 % after 4, about one second per epoch; 4 epochs leave margin for other seeds and drivers.

mod common;
use common::gpu;
use wgtrain::data::idx::read_mnist_dir;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::train::{TrainConfig, Trainer};
use wgtrain::{Activation, Loss, OptimizerConfig};

#[test]
fn mnist_subset_reaches_90_percent_test_accuracy() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist-10k");
    let (train, test) = read_mnist_dir(&dir).expect("bundled MNIST subset");
    let test = test.expect("test files");
    assert_eq!((train.len(), test.len()), (8000, 2000));
    let model = MlpConfig::new(784, &[128, 64], 10, Activation::Relu);
    let params = init_params(&model, Init::Torch, 0).unwrap();
    let cfg = TrainConfig {
        batch_size: Some(128),
        epochs: 4,
        ..TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::adam(1e-3))
    };
    let mut tr = Trainer::new(gpu(), &model, &params, cfg, 1024).unwrap();
    let (dt, dv) =
        (tr.upload(&train.features, &train.targets).unwrap(), tr.upload(&test.features, &test.targets).unwrap());
    let h = tr.fit(&dt, None, &mut |_| {}).unwrap().clone();
    assert!(h.epochs.windows(2).all(|w| w[1].train_loss < w[0].train_loss), "training loss falls every epoch");
    let (loss, acc) = tr.evaluate(&dv).unwrap();
    let acc = acc.unwrap();
    eprintln!("mnist: test accuracy {:.2}% loss {loss:.4}", 100.0 * acc);
    assert!(acc >= 0.90, "test accuracy {acc}");
}
