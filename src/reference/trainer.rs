//! CPU reference trainer: the same epochs, batch order, schedules, clipping and optimizer rules as
//! [`crate::train::Trainer`], computed with the twins in f32. Used by tests to check the GPU trainer step for step.

use super::network::loss_and_gradient;
use super::optim::optimizer_update;
use crate::batches::EpochBatches;
use crate::internal::rng::Rng;
use crate::model::MlpConfig;
use crate::ops::optim::ModelHyper;
use crate::train_config::TrainConfig;

/// Trains from `params` on rows of `features` [n, input] / `targets` [n, target_cols] for at most `max_steps`
/// optimizer steps (or all epochs), returning the final flat parameters. Plateau schedules and early stopping,
/// which depend on validation, are not modelled.
pub fn train(
    model: &MlpConfig,
    params: &[f32],
    cfg: &TrainConfig,
    features: &[f32],
    targets: &[f32],
    max_steps: u64,
) -> Vec<f32> {
    let layout = model.layout();
    let input = model.input;
    let tcols = cfg.loss.target_cols(model.output());
    let n = targets.len() / tcols;
    let mut params = params.to_vec();
    let opt = &cfg.optimizer;
    let mut state = vec![opt.initial_state(); opt.state_slots() * layout.len];
    let mut rng = Rng::new(cfg.seed);
    let mut t = 0u64;
    for epoch in 0..cfg.epochs {
        let mut batches = EpochBatches::new(&mut rng, n, cfg.shuffle, cfg.batch_size_at(n, epoch), 0);
        while let Some(batch) = batches.next_batch() {
            if t >= max_steps {
                return params;
            }
            let (chunk, rows) = (batches.indices(batch), batch.rows);
            let x: Vec<f32> =
                chunk.iter().flat_map(|&i| features[i as usize * input..(i as usize + 1) * input].to_vec()).collect();
            let y: Vec<f32> =
                chunk.iter().flat_map(|&i| targets[i as usize * tcols..(i as usize + 1) * tcols].to_vec()).collect();
            let (_, grads) = loss_and_gradient::<f32>(model, &layout, cfg.loss, &params, &x, &y, rows);
            let scale = match opt.clip_norm {
                Some(max) => {
                    let norm = grads.iter().map(|&g| f64::from(g) * f64::from(g)).sum::<f64>().sqrt() as f32;
                    (max as f32 / (norm + 1e-6)).min(1.0)
                }
                None => 1.0,
            };
            let lr = cfg.lr_at(opt.lr, t, epoch);
            t += 1;
            let hyper = ModelHyper::new(opt, &opt.step_scalars(t, lr), false);
            optimizer_update(opt.kind, &hyper, scale, &grads, &mut params, &mut state);
        }
    }
    params
}
