//! wgtrain in the browser: what the training page (web/static) calls through wasm-bindgen. The page picks a data
//! set (the bundled MNIST subset fetched as files, XOR, or a dropped CSV read by the CLI's own reader), trains with
//! wgtrain's async API on the visitor's WebGPU adapter, charts the epochs, predicts drawn digits and downloads the
//! model as the safetensors file `wgtrain train --save` writes. A run can be taken as a resumable checkpoint
//! (`wgtrain::resume`) and continued from one.
//!
//! Nothing here blocks: every read-back is awaited, so the page stays responsive while the GPU trains.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use js_sys::Promise;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use wgtrain::data::preprocess::{usable_rows, PreprocessOptions, Preprocessor};
use wgtrain::data::table::read_table_bytes;
use wgtrain::data::{idx, split_indices, Dataset};
use wgtrain::metrics::softmax;
use wgtrain::resume::{checkpoint_bytes_async, Checkpoint};
use wgtrain::saved::SavedModel;
use wgtrain::train::Trainer;
use wgtrain::{Gpu, GpuOptions, Loss};

mod bench;
mod run;
pub mod xor;

use run::run;
pub use run::WebConfig;

/// A wgtrain error as a JavaScript `Error` with wgtrain's message (it names the file, line, column or option).
fn js_error(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

/// A data set ready to train on: training and test rows, and how raw CSV columns were encoded.
struct Loaded {
    name: String,
    train: Dataset,
    test: Dataset,
    preprocessor: Option<Preprocessor>,
}

/// What the page shows about a loaded data set.
#[derive(Serialize)]
struct DataSummary<'a> {
    name: &'a str,
    train_rows: usize,
    test_rows: usize,
    features: usize,
    classes: Option<&'a [String]>,
    task: &'static str,
}

impl Loaded {
    fn summary(&self) -> String {
        let s = DataSummary {
            name: &self.name,
            train_rows: self.train.len(),
            test_rows: self.test.len(),
            features: self.train.n_features,
            classes: self.train.classes.as_deref(),
            task: if self.train.classes.is_some() { "classification" } else { "regression" },
        };
        serde_json::to_string(&s).unwrap_or_default()
    }

    fn loss(&self) -> Loss {
        self.train.default_loss()
    }

    fn outputs(&self) -> usize {
        self.train.output_width(self.loss())
    }
}

/// A trained (or training) model and what it needs to predict and be saved.
struct Session {
    trainer: Trainer<'static>,
    loss: Loss,
    train: Dataset,
    preprocessor: Option<Preprocessor>,
    /// The settings it was trained with (a checkpoint's options), as JSON.
    config_json: String,
}

impl Session {
    /// The model as the CLI saves it: weights, architecture, classes and the CSV preprocessing.
    async fn saved_model(&self) -> wgtrain::Result<SavedModel> {
        Ok(SavedModel {
            model: self.trainer.model().clone(),
            loss: self.loss,
            params: self.trainer.params_async().await?,
            classes: self.train.classes.clone(),
            feature_names: self.train.feature_names.clone(),
            target_name: self.train.target_name.clone(),
            normalizer: None,
            preprocessor: self.preprocessor.clone(),
        })
    }
}

#[derive(Default)]
struct State {
    data: Option<Rc<Loaded>>,
    /// None while a run or a request holds it.
    session: Option<Session>,
    training: bool,
    session_in_use: bool,
}

/// The page's handle on wgtrain: one device on the browser's adapter, the loaded data and the last model.
#[wasm_bindgen]
pub struct Engine {
    gpu: &'static Gpu,
    state: Rc<RefCell<State>>,
    stop: Arc<AtomicBool>,
}

/// Requests a device on the browser's WebGPU adapter; rejects with a message where there is none.
#[wasm_bindgen]
pub async fn start() -> Result<Engine, JsValue> {
    Engine::create().await
}

impl Engine {
    /// What [`start`] resolves to, for Rust callers (the browser tests).
    pub async fn create() -> Result<Engine, JsValue> {
        let gpu = Gpu::request(&GpuOptions::default()).await.map_err(js_error)?;
        // The device lives as long as the page: trainers borrow it, and the page never drops its engine.
        let gpu: &'static Gpu = Box::leak(Box::new(gpu));
        Ok(Engine { gpu, state: Rc::default(), stop: Arc::new(AtomicBool::new(false)) })
    }
}

#[wasm_bindgen]
impl Engine {
    /// The adapter, as `wgtrain devices` describes it.
    pub fn adapter(&self) -> String {
        self.gpu.adapter().to_string()
    }

    /// How the kernels read their inputs on this adapter (texture or buffer).
    pub fn kernel_family(&self) -> String {
        self.gpu.kernel_family().name().to_string()
    }

    /// Whether the device has SHADER_F16, so the page offers f16 training.
    pub fn has_f16(&self) -> bool {
        self.gpu.has_shader_f16()
    }

    /// MNIST from the contents of the four IDX files (plain or gzipped), as `wgtrain train --data DIR` reads them.
    pub fn load_mnist(
        &self,
        train_images: Vec<u8>,
        train_labels: Vec<u8>,
        test_images: Vec<u8>,
        test_labels: Vec<u8>,
    ) -> Result<String, JsValue> {
        let train = idx::digits(
            Path::new("train-images-idx3-ubyte.gz"),
            train_images,
            Path::new("train-labels-idx1-ubyte.gz"),
            train_labels,
        )
        .map_err(js_error)?;
        let test = idx::digits(
            Path::new("t10k-images-idx3-ubyte.gz"),
            test_images,
            Path::new("t10k-labels-idx1-ubyte.gz"),
            test_labels,
        )
        .map_err(js_error)?;
        self.set_data(Loaded { name: "mnist".into(), train, test, preprocessor: None })
    }

    /// Noisy XOR: points in [−1, 1]², class 1 where x·y > 0; `rows` for training and a quarter as many for test.
    pub fn load_xor(&self, rows: usize, seed: u64) -> Result<String, JsValue> {
        let train = xor::dataset(rows, seed);
        let test = xor::dataset((rows / 4).max(1), seed.wrapping_add(1));
        self.set_data(Loaded { name: "xor".into(), train, test, preprocessor: None })
    }

    /// A CSV file's bytes, read by the CLI's reader and encoded by its preprocessor (numeric columns standardised,
    /// text columns one-hot), fitted on the training rows; `test_fraction` of the rows are held out for testing.
    /// `target` names the target column ("" = the last).
    pub fn load_csv(&self, bytes: &[u8], name: &str, target: &str, test_fraction: f64) -> Result<String, JsValue> {
        let path = Path::new(name);
        let table = read_table_bytes(bytes, path).map_err(js_error)?;
        // The library's defaults, as the CLI's: numbers standardised, gaps imputed, text one-hot.
        let opts = PreprocessOptions {
            target: (!target.trim().is_empty()).then(|| target.trim().to_string()),
            ..PreprocessOptions::default()
        };
        let (table, _, _) = usable_rows(&table, &opts).map_err(js_error)?;
        let (train_rows, test_rows) = split_indices(table.len(), test_fraction, 0).map_err(js_error)?;
        let (train_t, test_t) = (table.subset(&train_rows), table.subset(&test_rows));
        let pre = Preprocessor::fit(&train_t, &opts).map_err(js_error)?;
        let (train, _) = pre.transform(&train_t, true).map_err(js_error)?;
        let (test, _) = pre.transform(&test_t, true).map_err(js_error)?;
        if test.is_empty() {
            return Err(js_error(format!("{name}: no rows left for testing; raise the test fraction")));
        }
        self.set_data(Loaded { name: name.to_string(), train, test, preprocessor: Some(pre) })
    }

    fn set_data(&self, loaded: Loaded) -> Result<String, JsValue> {
        let mut state = self.state.try_borrow_mut().map_err(|_| js_error("busy"))?;
        if state.training {
            return Err(js_error("a run is in progress; stop it first"));
        }
        let summary = loaded.summary();
        state.data = Some(Rc::new(loaded));
        state.session = None;
        Ok(summary)
    }

    /// Trains a fresh model on the loaded data with `config_json` (see [`WebConfig`]); `on_event` receives JSON
    /// strings: `{"type":"epoch_start",...}`, `{"type":"step",...}` (with the running loss a few times an epoch)
    /// and `{"type":"epoch_end",...}` with the test loss and accuracy. Resolves to the run's summary as JSON.
    pub fn train(&self, config_json: &str, on_event: js_sys::Function) -> Promise {
        self.start_run(config_json.to_string(), None, on_event)
    }

    /// Continues the run a checkpoint (the bytes of [`Engine::checkpoint_bytes`]) was taken from, on the loaded
    /// data, with the checkpoint's settings; events and the summary as for [`Engine::train`]. The same run
    /// uninterrupted ends with the same weights.
    pub fn resume(&self, checkpoint: Vec<u8>, on_event: js_sys::Function) -> Promise {
        match Checkpoint::from_bytes(Path::new("checkpoint.safetensors"), &checkpoint) {
            Ok(ck) => self.start_run(ck.options.clone(), Some(ck), on_event),
            Err(e) => Promise::reject(&js_error(e)),
        }
    }

    /// The trained model with the optimizer state and the run's position, as a resumable checkpoint's bytes (the
    /// model file with more in it: `wgtrain eval` and `predict` load it too).
    pub fn checkpoint_bytes(&self) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let session = take_session(&state)?;
            let name = Path::new("checkpoint.safetensors");
            let bytes = match session.saved_model().await {
                Ok(saved) => checkpoint_bytes_async(&session.trainer, saved, &session.config_json, name).await,
                Err(e) => Err(e),
            };
            put_session(&state, session);
            Ok(js_sys::Uint8Array::from(&bytes.map_err(js_error)?[..]).into())
        })
    }
}

impl Engine {
    /// A run of [`Engine::train`] or [`Engine::resume`] on the loaded data.
    fn start_run(&self, config_json: String, resume: Option<Checkpoint>, on_event: js_sys::Function) -> Promise {
        let gpu = self.gpu;
        let state = self.state.clone();
        let stop = self.stop.clone();
        future_to_promise(async move {
            let data = {
                let mut s = state.try_borrow_mut().map_err(|_| js_error("busy"))?;
                if s.training || s.session_in_use {
                    return Err(js_error("a run or a request is already in progress"));
                }
                let data = s.data.clone().ok_or_else(|| js_error("no data set loaded"))?;
                s.training = true;
                s.session = None;
                data
            };
            stop.store(false, Ordering::SeqCst);
            let result = run(gpu, &data, &config_json, resume.as_ref(), &on_event, stop).await;
            let mut s = state.borrow_mut();
            s.training = false;
            let (session, summary) = result?;
            s.session = Some(session);
            Ok(JsValue::from_str(&serde_json::to_string(&summary).unwrap_or_default()))
        })
    }
}

#[wasm_bindgen]
impl Engine {
    /// Ends the current run after the step in flight; its model stays available.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// The trained model as the safetensors bytes `wgtrain train --save` writes (loads in `wgtrain eval`).
    pub fn model_bytes(&self) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let session = take_session(&state)?;
            let saved = session.saved_model().await;
            put_session(&state, session);
            let bytes = saved.and_then(|m| m.to_bytes(Path::new("model.safetensors"))).map_err(js_error)?;
            Ok(js_sys::Uint8Array::from(&bytes[..]).into())
        })
    }

    /// The model's outputs for one row of features (for a classifier, softmax probabilities per class).
    pub fn predict(&self, features: Vec<f32>) -> Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let mut session = take_session(&state)?;
            let out = match session.trainer.upload(&features, &[0.0]) {
                Ok(row) => session.trainer.predict_async(&row).await,
                Err(e) => Err(e),
            };
            let loss = session.loss;
            put_session(&state, session);
            let mut out = out.map_err(js_error)?;
            if loss == Loss::CrossEntropy {
                out = softmax(&out).into_iter().map(|p| p as f32).collect();
            }
            Ok(js_sys::Float32Array::from(&out[..]).into())
        })
    }
}

/// Takes the trained model out of the state for an awaited use (put back with [`put_session`]), so that no
/// `RefCell` borrow is held while the GPU works and the page can call in meanwhile.
fn take_session(state: &RefCell<State>) -> Result<Session, JsValue> {
    let mut s = state.try_borrow_mut().map_err(|_| js_error("busy"))?;
    if s.training {
        return Err(js_error("a run is in progress"));
    }
    if s.session_in_use {
        return Err(js_error("busy with the previous request"));
    }
    let session = s.session.take().ok_or_else(|| js_error("no trained model yet"))?;
    s.session_in_use = true;
    Ok(session)
}

fn put_session(state: &RefCell<State>, session: Session) {
    let mut s = state.borrow_mut();
    s.session = Some(session);
    s.session_in_use = false;
}
