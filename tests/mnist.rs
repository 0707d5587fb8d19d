//! The bundled MNIST subset (data/mnist-10k: 8,000 training and 2,000 test digits) trains to ≥ 90 % test accuracy
//! with 784-128-64-10, ReLU and Adam 1e-3 in batches of 128. Measured on lavapipe: 90.0 % after 2 epochs and
//! 92–93 % after 4, about one second per epoch; 4 epochs leave margin for other seeds and drivers.

mod common;
use common::gpu;
use wgtrain::data::idx::read_mnist_dir;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::train::{TrainConfig, Trainer};
use wgtrain::{Activation, Loss, OptimizerConfig, Precision};

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

/// Half precision trains MNIST MLP-A (784-128-64-10) as well as f32: the same seed, initial weights and settings
/// as above in `--precision f16` reach a test accuracy within half a point of f32's (the loss scaler at its
/// defaults: an initial scale of 2^16, no overflow at these gradient sizes). On an adapter without f16 shaders
/// (GL, SwiftShader) f16 is refused, naming the adapter, before anything trains.
#[test]
fn mnist_subset_in_f16_is_within_half_a_point_of_f32() {
    if !gpu().has_shader_f16() {
        let model = MlpConfig::new(784, &[128, 64], 10, Activation::Relu);
        let params = init_params(&model, Init::Torch, 0).unwrap();
        let cfg = TrainConfig {
            precision: Precision::F16,
            ..TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::adam(1e-3))
        };
        let err = Trainer::new(gpu(), &model, &params, cfg, 128).err().expect("f16 without SHADER_F16 is an error");
        let adapter = gpu().adapter().name.clone();
        assert!(err.to_string().contains("SHADER_F16") && err.to_string().contains(&adapter), "{err}");
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist-10k");
    let (train, test) = read_mnist_dir(&dir).expect("bundled MNIST subset");
    let test = test.expect("test files");
    let model = MlpConfig::new(784, &[128, 64], 10, Activation::Relu);
    let params = init_params(&model, Init::Torch, 0).unwrap();
    let accuracy = |precision: Precision| {
        let cfg = TrainConfig {
            batch_size: Some(128),
            epochs: 4,
            precision,
            ..TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::adam(1e-3))
        };
        let mut tr = Trainer::new(gpu(), &model, &params, cfg, 1024).unwrap();
        let (dt, dv) =
            (tr.upload(&train.features, &train.targets).unwrap(), tr.upload(&test.features, &test.targets).unwrap());
        let h = tr.fit(&dt, None, &mut |_| {}).unwrap().clone();
        assert!(h.epochs.windows(2).all(|w| w[1].train_loss < w[0].train_loss), "{precision}: the loss falls");
        let (loss, acc) = tr.evaluate(&dv).unwrap();
        let acc = acc.unwrap();
        eprintln!("mnist {precision}: test accuracy {:.2}% loss {loss:.4}", 100.0 * acc);
        let scaler = pollster::block_on(tr.network().loss_scale_states_async(gpu())).unwrap();
        assert_eq!(scaler.is_some(), precision == Precision::F16);
        (acc, tr.params().unwrap())
    };
    let ((f32_acc, f32_params), (f16_acc, f16_params)) = (accuracy(Precision::F32), accuracy(Precision::F16));
    assert_ne!(f32_params, f16_params, "the f16 run computed in f16");
    assert!((f16_acc - f32_acc).abs() <= 0.005, "f16 {f16_acc} against f32 {f32_acc}");
}
