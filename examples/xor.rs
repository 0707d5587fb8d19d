//! Learns XOR with a 2-8-2 tanh network, softmax cross-entropy and Adam, then prints each prediction and the accuracy.
//!
//! cargo run --release --example xor [-- --epochs N]
//! WGTRAIN_EPOCHS also sets the epoch count (CI uses it to keep the run short). The batch is all four points, so
//! one epoch is one optimizer step.

mod support;

use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::train::{TrainConfig, Trainer};
use wgtrain::{Activation, Gpu, Loss, OptimizerConfig};

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    support::exit_on_error(run());
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let epochs = support::epochs(300)?;
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.adapter());

    let inputs = [[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let labels = [0.0f32, 1.0, 1.0, 0.0];
    let features: Vec<f32> = inputs.iter().flatten().copied().collect();

    // Two logits rather than one sigmoid output, so the class is the argmax as in any multi-class model.
    let model = MlpConfig::new(2, &[8], 2, Activation::Tanh);
    let params = init_params(&model, Init::Torch, 0)?;
    let config = TrainConfig {
        batch_size: Some(4),
        epochs,
        ..TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::adam(0.05))
    };
    let mut trainer = Trainer::new(&gpu, &model, &params, config, 4)?;
    let data = trainer.upload(&features, &labels)?;
    let history = trainer.fit(&data, None, &mut |_| {})?;
    let last_train_loss = history.epochs.last().map_or(f64::NAN, |r| r.train_loss);
    println!(
        "trained 2-8-2 tanh, Adam lr 0.05, {epochs} epochs of one full batch; last epoch loss {last_train_loss:.5}"
    );

    let logits = trainer.predict(&data)?;
    let mut correct = 0;
    for ((x, &label), row) in inputs.iter().zip(&labels).zip(logits.chunks_exact(2)) {
        let class = usize::from(row[1] > row[0]);
        let want = label as usize;
        correct += usize::from(class == want);
        println!(
            "  {} xor {} -> class {class} (logits {:+.3} {:+.3}), expected {want}",
            x[0] as u8, x[1] as u8, row[0], row[1]
        );
    }
    let (loss, _) = trainer.evaluate(&data)?;
    println!("accuracy: {:.0}% ({correct}/4), loss {loss:.5}", 100.0 * correct as f64 / 4.0);
    Ok(())
}
