//! Trains the same 2-32-32-3 tanh network from the same initial weights on a seeded three-arm spiral with every
//! optimizer wgtrain has, and prints a table of final training loss, accuracy and time.
//!
//! cargo run --release --example optimizers [-- --epochs N]
//! WGTRAIN_EPOCHS also sets the epoch count (CI uses it to keep the run short).

mod support;

use std::time::Instant;

use wgtrain::internal::rng::Rng;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::network::DeviceData;
use wgtrain::train::{TrainConfig, Trainer};
use wgtrain::{Activation, Gpu, Loss, OptimizerConfig};

const CLASSES: usize = 3;
const PER_CLASS: usize = 100;
const BATCH: usize = 32;

/// The cs231n spiral: class j is an arm whose radius grows from 0 to 1 while its angle sweeps 4 radians, with
/// Gaussian angle noise. Not linearly separable, so the hidden layers and the optimizer both matter.
fn spiral(seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = Rng::new(seed);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for class in 0..CLASSES {
        for i in 0..PER_CLASS {
            let r = i as f64 / (PER_CLASS - 1) as f64;
            let t = 4.0 * (class as f64 + r) + 0.2 * rng.normal();
            x.extend([(r * t.sin()) as f32, (r * t.cos()) as f32]);
            y.push(class as f32);
        }
    }
    (x, y)
}

/// Each optimizer at a learning rate in its usual range for a problem this size (torch defaults otherwise), so
/// the table compares the update rules rather than one shared, inevitably unfair, rate.
fn optimizers() -> Vec<(&'static str, OptimizerConfig)> {
    vec![
        ("sgd", OptimizerConfig::sgd(0.1)),
        ("sgd momentum 0.9", OptimizerConfig { momentum: 0.9, ..OptimizerConfig::sgd(0.05) }),
        ("sgd nesterov 0.9", OptimizerConfig { momentum: 0.9, nesterov: true, ..OptimizerConfig::sgd(0.05) }),
        ("adagrad", OptimizerConfig::adagrad(0.1)),
        ("rmsprop", OptimizerConfig::rmsprop(0.005)),
        ("rmsprop centered", OptimizerConfig { centered: true, ..OptimizerConfig::rmsprop(0.005) }),
        ("adam", OptimizerConfig::adam(0.01)),
        ("adam amsgrad", OptimizerConfig { amsgrad: true, ..OptimizerConfig::adam(0.01) }),
        ("adamw (decay 0.01)", OptimizerConfig::adamw(0.01)),
        ("nadam", OptimizerConfig::nadam(0.01)),
    ]
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    support::exit_on_error(run());
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let epochs = support::epochs(100)?;
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.adapter());
    let (features, labels) = spiral(0);
    let n = labels.len();
    let model = MlpConfig::new(2, &[32, 32], CLASSES, Activation::Tanh);
    let params = init_params(&model, Init::Torch, 0)?;
    // One upload shared by every run; each trainer sets its own (identically seeded) shuffle on it.
    let data = DeviceData::upload(&gpu, &features, 2, &labels, 1)?;
    println!(
        "{CLASSES}-arm spiral, {n} points; 2-32-32-{CLASSES} tanh, cross-entropy, batch {BATCH}, {epochs} epochs, \
         same initial weights and shuffles for every optimizer"
    );
    println!("{:<20} {:>8} {:>12} {:>10} {:>9}", "optimizer", "lr", "train loss", "accuracy", "time");
    for (name, optimizer) in optimizers() {
        let lr = optimizer.lr;
        let config = TrainConfig { batch_size: Some(BATCH), epochs, ..TrainConfig::new(Loss::CrossEntropy, optimizer) };
        let mut trainer = Trainer::new(&gpu, &model, &params, config, BATCH)?;
        // Compile this optimizer's pipelines before the clock starts, so the time is training alone.
        trainer.network().prepare(&gpu, &data, BATCH)?;
        let start = Instant::now();
        trainer.fit(&data, None, &mut |_| {})?;
        let secs = start.elapsed().as_secs_f64();
        // Loss and accuracy of the final weights over the whole set, not the running mean of the last epoch.
        let (loss, accuracy) = trainer.evaluate(&data)?;
        println!("{name:<20} {lr:>8} {loss:>12.4} {:>9.1}% {:>8.2}s", 100.0 * accuracy.unwrap_or(f64::NAN), secs);
    }
    Ok(())
}
