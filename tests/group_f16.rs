//! Half precision in a group: each model of an f16 group trains bit for bit as it does alone in f16 (the same f16
//! kernels in their model-batched form, each model with its own loss scaler).

mod common;
use common::*;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::network::{DeviceData, Network, NetworkGroup};
use wgtrain::precision::LossScaling;
use wgtrain::{Activation, Loss, OptimizerConfig, Precision};

const ROWS: usize = 45;
const INPUT: usize = 12;
const BATCH: usize = 16;

#[test]
fn each_model_of_an_f16_group_trains_as_it_does_alone() {
    let config = MlpConfig::new(INPUT, &[20, 8], 3, Activation::Tanh);
    let x = uniform(21, ROWS * INPUT, -1.0, 1.0);
    let y: Vec<f32> = (0..ROWS).map(|r| (r % 3) as f32).collect();
    let data = DeviceData::upload(gpu(), &x, INPUT, &y, 1).unwrap();
    let opts = [OptimizerConfig::adam(0.01), OptimizerConfig::adam(0.003)];
    let params: Vec<Vec<f32>> = (0..2).map(|m| init_params(&config, Init::Torch, 30 + m).unwrap()).collect();
    let scaling = [LossScaling { growth_interval: 2, ..LossScaling::default() }, LossScaling::default()];
    let lrs = [0.01, 0.003];
    let steps = |step: &mut dyn FnMut(usize, usize)| {
        for _ in 0..2 {
            for offset in (0..ROWS).step_by(BATCH) {
                step(offset, BATCH.min(ROWS - offset));
            }
        }
    };
    data.reset_order(gpu()).unwrap();
    let mut group = NetworkGroup::new(gpu(), &config, Loss::CrossEntropy, &opts, &params, BATCH).unwrap();
    group.set_precision(gpu(), Precision::F16).unwrap();
    group.set_loss_scaling(gpu(), Some(&scaling)).unwrap();
    steps(&mut |offset, rows| group.train_step(gpu(), &data, offset, rows, &lrs).unwrap());
    let states = pollster::block_on(group.loss_scale_states_async(gpu())).unwrap().unwrap();
    for m in 0..2 {
        let mut alone = Network::new(gpu(), &config, Loss::CrossEntropy, &opts[m], &params[m], BATCH).unwrap();
        alone.set_precision(gpu(), Precision::F16).unwrap();
        alone.set_loss_scaling(gpu(), Some(&scaling[m..m + 1])).unwrap();
        steps(&mut |offset, rows| alone.train_step(gpu(), &data, offset, rows, lrs[m]).unwrap());
        let want = alone.params(gpu()).unwrap();
        assert_nontrivial("params", &want);
        assert_ne!(want, params[m], "model {m} trained");
        assert_eq!(pollster::block_on(group.params_async(gpu(), m)).unwrap(), want, "model {m}");
        let alone_state = pollster::block_on(alone.loss_scale_states_async(gpu())).unwrap().unwrap()[0];
        assert_eq!(states[m], alone_state, "model {m}'s scaler");
    }
    // Model 0 grows every 2 good steps, model 1 not within these 6.
    assert!(states[0].scale > states[1].scale, "{states:?}");
}
