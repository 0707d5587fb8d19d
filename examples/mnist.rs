//! Trains 784-128-64-10 (ReLU, softmax cross-entropy, Adam 1e-3, batch 128) on MNIST and prints test accuracy.
//!
//! cargo run --release --example mnist [-- [--epochs N] [DIR]]
//! DIR holds the four IDX files (gzipped or not); the default is the bundled 10k subset in data/mnist-10k.
//! WGTRAIN_EPOCHS also sets the epoch count (CI uses it to keep the run short).

use std::path::PathBuf;
use std::time::Instant;

use wgtrain::data::idx::read_mnist_dir;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::train::{Event, TrainConfig, Trainer};
use wgtrain::{Activation, Gpu, Loss, OptimizerConfig};

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let mut epochs: usize = std::env::var("WGTRAIN_EPOCHS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/mnist-10k");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--epochs" => epochs = args.next().ok_or("--epochs needs a number")?.parse()?,
            _ => dir = PathBuf::from(a),
        }
    }
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.adapter());
    let (train, test) = read_mnist_dir(&dir)?;
    let test = test.ok_or("the MNIST directory has no t10k test files")?;
    println!("data: {} training and {} test images from {}", train.len(), test.len(), dir.display());

    let model = MlpConfig::new(784, &[128, 64], 10, Activation::Relu);
    let params = init_params(&model, Init::Torch, 0)?;
    let config = TrainConfig {
        batch_size: Some(128),
        epochs,
        seed: 0,
        ..TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::adam(1e-3))
    };
    let mut trainer = Trainer::new(&gpu, &model, &params, config, 1024)?;
    let train_data = trainer.upload(&train.features, &train.targets)?;
    let test_data = trainer.upload(&test.features, &test.targets)?;
    trainer.fit(&train_data, Some(&test_data), &mut |event| {
        if let Event::EpochEnd(r) = event {
            println!(
                "epoch {:>2}: train loss {:.4} acc {:.2}%  test loss {:.4} acc {:.2}%  {:.0} samples/s",
                r.epoch,
                r.train_loss,
                100.0 * r.train_accuracy.unwrap_or(0.0),
                r.val_loss.unwrap_or(f64::NAN),
                100.0 * r.val_accuracy.unwrap_or(0.0),
                r.samples_per_s
            );
        }
    })?;
    let (loss, accuracy) = trainer.evaluate(&test_data)?;
    println!(
        "test accuracy: {:.2}% (loss {loss:.4}) after {epochs} epochs, {:.1} s in all",
        100.0 * accuracy.unwrap_or(0.0),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
