//! The training-step benchmark behind web/bench.sh: one optimizer step on the loaded data, timed with a full sync
//! per step (the loss statistics read back, as the peers read their loss), so each figure is a finished step.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_time::Instant;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::train::Trainer;
use wgtrain::Activation;

use crate::{js_error, Engine, WebConfig};

#[wasm_bindgen]
impl Engine {
    /// Times `warmup` + `steps` training steps of `config_json`'s model (see [`WebConfig`]) on the loaded data's
    /// training rows, batches taken in file order and cycling; resolves to JSON `{"times_ms": [...], "first_loss",
    /// "mean_loss"}`: the step times after warm-up, the first batch's loss and the mean over every step (a check that
    /// it trains). Each step is queued and then its loss statistics are read back, which waits for it.
    pub fn benchmark_steps(&self, config_json: &str, warmup: usize, steps: usize) -> Promise {
        let gpu = self.gpu;
        let state = self.state.clone();
        let config_json = config_json.to_string();
        future_to_promise(async move {
            let data = state.try_borrow().map_err(|_| js_error("busy"))?.data.clone();
            let data = data.ok_or_else(|| js_error("no data set loaded"))?;
            let web: WebConfig = serde_json::from_str(&config_json).map_err(|e| js_error(format!("settings: {e}")))?;
            let config = web.train_config(data.loss()).map_err(js_error)?;
            let activation = Activation::parse(&web.activation).map_err(js_error)?;
            let model = MlpConfig::new(data.train.n_features, &web.hidden, data.outputs(), activation);
            let params = init_params(&model, Init::Torch, web.seed).map_err(js_error)?;
            let b = web.batch_size.min(data.train.len()).max(1);
            let lr = config.optimizer.lr;
            let mut trainer = Trainer::new(gpu, &model, &params, config, b).map_err(js_error)?;
            let train = trainer.upload(&data.train.features, &data.train.targets).map_err(js_error)?;
            train.reset_order(gpu).map_err(js_error)?;
            trainer.network().prepare(gpu, &train, b).map_err(js_error)?;
            let batches = data.train.len() / b;
            let mut times = Vec::with_capacity(steps);
            let mut first_loss = f64::NAN;
            let mut stats = [0.0; 3];
            for i in 0..warmup + steps {
                let offset = (i % batches.max(1)) * b;
                let started = Instant::now();
                let net = trainer.network();
                net.train_step(gpu, &train, offset, b, lr).map_err(js_error)?;
                stats = net.peek_stats_async(gpu).await.map_err(js_error)?;
                if i >= warmup {
                    times.push(started.elapsed().as_secs_f64() * 1e3);
                }
                if i == 0 {
                    first_loss = f64::from(stats[0]) / f64::from(stats[2]).max(1.0);
                }
            }
            let mean_loss = f64::from(stats[0]) / f64::from(stats[2]).max(1.0);
            let json = serde_json::json!({ "times_ms": times, "first_loss": first_loss, "mean_loss": mean_loss });
            Ok(JsValue::from_str(&json.to_string()))
        })
    }

    /// The loaded training rows' features, row-major (for the benchmark's peers: the same data).
    pub fn train_features(&self) -> Result<js_sys::Float32Array, JsValue> {
        let s = self.state.try_borrow().map_err(|_| js_error("busy"))?;
        let data = s.data.as_ref().ok_or_else(|| js_error("no data set loaded"))?;
        Ok(js_sys::Float32Array::from(&data.train.features[..]))
    }

    /// The loaded training rows' targets (class indices for classification).
    pub fn train_targets(&self) -> Result<js_sys::Float32Array, JsValue> {
        let s = self.state.try_borrow().map_err(|_| js_error("busy"))?;
        let data = s.data.as_ref().ok_or_else(|| js_error("no data set loaded"))?;
        Ok(js_sys::Float32Array::from(&data.train.targets[..]))
    }
}
