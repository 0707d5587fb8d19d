//! Regresses sin(x) on [-3, 3] with a 1-32-32-1 tanh network, MSE and Adam under a cosine learning-rate schedule,
//! then prints the final MSE and a few predictions against the truth.
//!
//! cargo run --release --example sine_regression [-- --epochs N]
//! WGTRAIN_EPOCHS also sets the epoch count (CI uses it to keep the run short).

mod support;

use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::schedule::{LrSchedule, Schedule};
use wgtrain::train::{Event, TrainConfig, Trainer};
use wgtrain::{Activation, Gpu, Loss, OptimizerConfig};

/// Training points, evenly spaced on [-3, 3].
const POINTS: usize = 256;
const BATCH: usize = 32;
/// Adam's base rate; the cosine schedule takes it to 0 by the last step, which settles the fit below 1e-3.
const LR: f64 = 0.01;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    support::exit_on_error(run());
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let epochs = support::epochs(150)?;
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.adapter());

    let x: Vec<f32> = (0..POINTS).map(|i| -3.0 + 6.0 * i as f32 / (POINTS - 1) as f32).collect();
    let y: Vec<f32> = x.iter().map(|v| v.sin()).collect();
    let model = MlpConfig::new(1, &[32, 32], 1, Activation::Tanh);
    let params = init_params(&model, Init::Torch, 0)?;
    // The schedule counts optimizer steps, so its period is the whole run: it reaches its minimum at the last step.
    let total_steps = (epochs * POINTS.div_ceil(BATCH)) as u64;
    let config = TrainConfig {
        batch_size: Some(BATCH),
        epochs,
        schedule: Schedule { kind: LrSchedule::Cosine { period: total_steps, min: 0.0 }, ..Schedule::default() },
        ..TrainConfig::new(Loss::Mse, OptimizerConfig::adam(LR))
    };
    println!(
        "1-32-32-1 tanh on sin(x), {POINTS} points, batch {BATCH}, Adam lr {LR} with cosine decay to 0 over {total_steps} steps"
    );
    let mut trainer = Trainer::new(&gpu, &model, &params, config, POINTS)?;
    let data = trainer.upload(&x, &y)?;
    let report_every = (epochs / 5).max(1);
    trainer.fit(&data, None, &mut |event| {
        if let Event::EpochEnd(r) = event {
            if r.epoch % report_every == 0 || r.epoch == epochs {
                println!("epoch {:>4}: train loss {:.3e}  lr {:.5}", r.epoch, r.train_loss, r.lr);
            }
        }
    })?;
    let (mse, _) = trainer.evaluate(&data)?;
    println!("final MSE: {mse:.3e} over the {POINTS} training points");

    // A separate table for the samples, so the training set's shuffled row order does not matter here.
    let samples = [-3.0f32, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0];
    let truth: Vec<f32> = samples.iter().map(|v| v.sin()).collect();
    let sample_data = trainer.upload(&samples, &truth)?;
    let predicted = trainer.predict(&sample_data)?;
    println!("{:>6} {:>10} {:>10} {:>10}", "x", "sin(x)", "predicted", "error");
    for ((x, t), p) in samples.iter().zip(&truth).zip(&predicted) {
        println!("{x:>6.2} {t:>10.5} {p:>10.5} {:>+10.5}", p - t);
    }
    Ok(())
}
