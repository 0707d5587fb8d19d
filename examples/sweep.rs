//! A learning-rate × batch-size grid on the bundled MNIST subset: the four learning rates of each batch size train
//! together as one group (one submission per step for all four), and the table shows how the best learning rate
//! grows with the batch size (plain SGD: a larger batch has a less noisy gradient and takes a larger step).
//!
//! cargo run --release --example sweep [-- --epochs N]
//! WGTRAIN_EPOCHS also sets the epoch count (CI uses it to keep the run short).

mod support;

use std::path::Path;
use std::time::Instant;

use wgtrain::data::idx::read_mnist_dir;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::network::DeviceData;
use wgtrain::sweep::{self, Axis, AxisValues, ConfigResult, FinalMetrics};
use wgtrain::train::{GroupMember, GroupTrainer, TrainConfig};
use wgtrain::{Activation, Gpu, Loss, OptimizerConfig};

const LRS: [&str; 5] = ["0.03", "0.1", "0.3", "1", "3"];
const BATCHES: [&str; 3] = ["32", "128", "512"];
const SEED: u64 = 0;

fn main() {
    support::exit_on_error(run());
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let epochs = support::epochs(3)?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist-10k");
    let (train, test) = read_mnist_dir(&dir)?;
    let test = test.ok_or("the MNIST subset has no t10k files")?;
    let gpu = Gpu::new()?;
    println!("adapter: {}", gpu.adapter());
    let model = MlpConfig::new(784, &[64], 10, Activation::Relu);
    let list = |name: &str, v: &[&str]| Axis {
        name: name.into(),
        values: AxisValues::List(v.iter().map(|s| s.to_string()).collect()),
    };
    // Batch size first: the grid varies its first axis slowest, so each batch size's learning rates are adjacent.
    let grid = sweep::grid(&[list("batch-size", &BATCHES), list("lr", &LRS)])?;
    let train_d = DeviceData::upload(&gpu, &train.features, train.n_features, &train.targets, 1)?;
    let test_d = DeviceData::upload(&gpu, &test.features, test.n_features, &test.targets, 1)?;
    let mut results = Vec::new();
    for (g, chunk) in grid.chunks(LRS.len()).enumerate() {
        let start = Instant::now();
        let batch: usize = chunk[0][0].1.parse()?;
        let members = chunk
            .iter()
            .map(|c| -> wgtrain::Result<GroupMember> {
                let mut config =
                    TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::sgd(c[1].1.parse().unwrap_or(0.1)));
                config.batch_size = Some(batch);
                config.epochs = epochs;
                config.seed = SEED;
                Ok(GroupMember { config, params: init_params(&model, Init::Torch, SEED)? })
            })
            .collect::<wgtrain::Result<Vec<_>>>()?;
        let mut group = GroupTrainer::new(&gpu, &model, members, SEED, batch.max(1024))?;
        group.fit(&train_d, Some(&test_d), &mut |_| {})?;
        for (i, (c, o)) in chunk.iter().zip(group.outcomes()?).enumerate() {
            let last = o.history.epochs.last();
            results.push(ConfigResult {
                index: g * LRS.len() + i,
                options: c.iter().map(|(k, v)| (k.clone(), ConfigResult::option_value(v))).collect(),
                metrics: FinalMetrics {
                    loss: last.map(|r| r.train_loss),
                    accuracy: last.and_then(|r| r.train_accuracy),
                    val_loss: last.and_then(|r| r.val_loss),
                    val_accuracy: last.and_then(|r| r.val_accuracy),
                },
                best_epoch: o
                    .history
                    .epochs
                    .iter()
                    .filter_map(|r| r.val_loss.map(|v| (r.epoch, v)))
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(e, _)| e),
                epochs: o.history.epochs.len(),
                stop: o.stop,
                curve: o.history.epochs.iter().filter_map(|r| r.val_loss).collect(),
            });
        }
        println!(
            "batch {batch:>3}: {} models in one group, {epochs} epochs, {:.1} s",
            LRS.len(),
            start.elapsed().as_secs_f64()
        );
    }
    let mut ranked = results.clone();
    sweep::sort_results(&mut ranked);
    println!("\nevery configuration, best test loss first:");
    print!("{}", sweep::table(&ranked));
    println!("\nbest learning rate per batch size:");
    for b in BATCHES {
        let best = ranked.iter().find(|r| r.options[0].1 == ConfigResult::option_value(b)).ok_or("no result")?;
        println!(
            "batch {b:>3}: lr {} (test loss {:.4}, accuracy {:.2}%)",
            best.options[1].1,
            best.metrics.val_loss.unwrap_or(f64::NAN),
            100.0 * best.metrics.val_accuracy.unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
