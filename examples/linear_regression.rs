//! Fits y = 2x with a single linear neuron (1 input, 1 output, no hidden layer) by full-batch SGD, once with a fixed
//! learning rate and once each with an exponential and a step decay, and prints what each run learned.
//!
//! cargo run --release --example linear_regression [-- --epochs N]
//! WGTRAIN_EPOCHS also sets the epoch count (CI uses it to keep the run short). With the batch the whole set,
//! one epoch is one optimizer step.

mod support;

use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::schedule::{LrSchedule, Schedule};
use wgtrain::train::{TrainConfig, Trainer};
use wgtrain::{Activation, Gpu, Loss, OptimizerConfig};

/// Points on [-1, 1]; evenly spaced so the run is the same everywhere without a seed.
const POINTS: usize = 64;
/// Base learning rate of every schedule. Full-batch MSE on x in [-1, 1] contracts the weight error by 1 − lr·2·E[x²]
/// = 1 − lr·2/3 per step, so 0.1 converges smoothly and a decayed rate visibly lags behind.
const LR: f64 = 0.1;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    support::exit_on_error(run());
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let epochs = support::epochs(100)?;
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.adapter());

    let x: Vec<f32> = (0..POINTS).map(|i| -1.0 + 2.0 * i as f32 / (POINTS - 1) as f32).collect();
    let y: Vec<f32> = x.iter().map(|v| 2.0 * v).collect();
    // No hidden layer: layers = [1] is the output layer itself, and Identity keeps it linear.
    let model = MlpConfig {
        input: 1,
        layers: vec![1],
        activation: Activation::Identity,
        output_activation: Activation::Identity,
    };
    let params = init_params(&model, Init::Torch, 0)?;
    let layer = model.layout().layers[0];
    println!(
        "fitting y = 2x on {POINTS} points in [-1, 1]: full-batch SGD, lr {LR}, {epochs} steps, start w = {:.4} b = {:.4}",
        params[layer.weight], params[layer.bias]
    );

    // Decay rates chosen so both schedules end near an eighth to a quarter of the base rate after 100 steps.
    let schedules = [
        ("fixed", LrSchedule::Constant),
        ("exponential (γ=0.5 per 50 steps)", LrSchedule::Exponential { every: 50, gamma: 0.5, staircase: false }),
        ("step (×0.5 every 25 steps)", LrSchedule::Step { every: 25, gamma: 0.5 }),
    ];
    println!("{:<34} {:>10} {:>10} {:>12} {:>10}", "schedule", "weight", "bias", "final MSE", "final lr");
    for (name, kind) in schedules {
        let config = TrainConfig {
            batch_size: None,
            epochs,
            schedule: Schedule { kind, ..Schedule::default() },
            ..TrainConfig::new(Loss::Mse, OptimizerConfig::sgd(LR))
        };
        let mut trainer = Trainer::new(&gpu, &model, &params, config, POINTS)?;
        let data = trainer.upload(&x, &y)?;
        let lr = trainer.fit(&data, None, &mut |_| {})?.epochs.last().map_or(f64::NAN, |r| r.lr);
        // The epoch loss is measured before each update; evaluate gives the loss of the final weights.
        let (mse, _) = trainer.evaluate(&data)?;
        let p = trainer.params()?;
        println!("{name:<34} {:>10.6} {:>10.6} {mse:>12.3e} {lr:>10.5}", p[layer.weight], p[layer.bias]);
    }
    println!("target: weight 2, bias 0");
    Ok(())
}
