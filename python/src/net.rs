//! One network on the shared device, trained an epoch at a time in the order and at the learning rate the
//! Python side chooses (scikit-learn's shuffles and learning-rate rules live there).

use std::sync::atomic::AtomicBool;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use wgtrain::error::Error;
use wgtrain::model::MlpConfig;
use wgtrain::network::{DeviceData, Network};
use wgtrain::{Gpu, Loss, OptimizerConfig};

use crate::convert::{floats, indices, py_err, run_interruptible, to_bytes};
use crate::group::train_epoch_on;

/// The architecture and loss as the Python side names them.
pub fn model_config(input: usize, hidden: Vec<usize>, output: usize, activation: &str) -> PyResult<MlpConfig> {
    let act = wgtrain::Activation::parse(activation).map_err(py_err)?;
    let model = MlpConfig::new(input, &hidden, output, act);
    model.validate().map_err(py_err)?;
    Ok(model)
}

/// Samples on the device: features [rows, inputs] and targets (class index, or one value per output).
#[pyclass(module = "wgtrain._native")]
pub struct Data {
    pub(crate) inner: DeviceData,
}

#[pymethods]
impl Data {
    /// Number of rows.
    #[getter]
    fn rows(&self) -> usize {
        self.inner.rows()
    }
}

/// Uploads `rows` samples for a model with `inputs` inputs and `target_cols` target values per row.
pub fn upload(gpu: &Gpu, x: &[u8], y: &[u8], inputs: usize, target_cols: usize) -> PyResult<Data> {
    let (x, y) = (floats(x, "X")?, floats(y, "y")?);
    Ok(Data { inner: DeviceData::upload(gpu, &x, inputs, &y, target_cols).map_err(py_err)? })
}

/// One network: parameters and optimizer state on the device.
#[pyclass(module = "wgtrain._native")]
pub struct Net {
    gpu: &'static Gpu,
    model: MlpConfig,
    loss: Loss,
    net: Network,
    stop: AtomicBool,
}

/// The optimizer from the Python side's values (torch's names: weight_decay is the coupled L2 term).
#[allow(clippy::too_many_arguments)]
pub fn optimizer(
    kind: &str,
    lr: f64,
    momentum: f64,
    nesterov: bool,
    weight_decay: f64,
    eps: f64,
    beta1: f64,
    beta2: f64,
) -> PyResult<OptimizerConfig> {
    let kind = wgtrain::optim::OptimizerKind::parse(kind).map_err(py_err)?;
    let mut o = OptimizerConfig::new(kind, lr);
    // scikit-learn's estimators carry every solver's values; only those the optimizer has are set (the library
    // rejects a changed value that does not apply).
    let applies = |field: &str| OptimizerConfig::applies(kind, field);
    if applies("momentum") {
        o.momentum = momentum;
    }
    if applies("nesterov") {
        o.nesterov = nesterov;
    }
    if applies("weight_decay") {
        o.weight_decay = weight_decay;
    }
    if applies("eps") {
        o.eps = eps;
    }
    if applies("beta1") {
        o.beta1 = beta1;
    }
    if applies("beta2") {
        o.beta2 = beta2;
    }
    o.validate().map_err(py_err)?;
    Ok(o)
}

#[pymethods]
impl Net {
    /// A network on the shared device for `device` starting from flat `params` (float32 bytes in the library's
    /// layout), for batches of up to `max_batch` rows; `weight_l2` is the weights-only L2 coefficient (see
    /// `NetworkGroup::set_weight_l2`).
    #[new]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (device, input, hidden, output, activation, loss, kind, lr, momentum, nesterov, weight_decay,
                        weight_l2, eps, beta1, beta2, params, max_batch))]
    fn new(
        py: Python<'_>,
        device: Option<&str>,
        input: usize,
        hidden: Vec<usize>,
        output: usize,
        activation: &str,
        loss: &str,
        kind: &str,
        lr: f64,
        momentum: f64,
        nesterov: bool,
        weight_decay: f64,
        weight_l2: f64,
        eps: f64,
        beta1: f64,
        beta2: f64,
        params: &[u8],
        max_batch: usize,
    ) -> PyResult<Self> {
        let gpu = crate::device::gpu(py, device)?;
        let model = model_config(input, hidden, output, activation)?;
        let loss = Loss::parse(loss).map_err(py_err)?;
        let opt = optimizer(kind, lr, momentum, nesterov, weight_decay, eps, beta1, beta2)?;
        let params = floats(params, "params")?;
        let mut net = py.detach(|| Network::new(gpu, &model, loss, &opt, &params, max_batch.max(1))).map_err(py_err)?;
        net.set_weight_l2(&[weight_l2]).map_err(py_err)?;
        Ok(Net { gpu, model, loss, net, stop: AtomicBool::new(false) })
    }

    /// Uploads samples (float32 bytes) for training or scoring.
    fn upload(&self, py: Python<'_>, x: &[u8], y: &[u8]) -> PyResult<Data> {
        let cols = self.loss.target_cols(self.model.output());
        py.detach(|| upload(self.gpu, x, y, self.model.input, cols))
    }

    /// One epoch over `data` in `order` (uint32 bytes), batches of `batch_size`, at `lr`; returns [loss sum,
    /// correct sum, count]. Ctrl-C raises KeyboardInterrupt after the current step.
    fn train_epoch(
        &mut self,
        py: Python<'_>,
        data: PyRef<'_, Data>,
        order: &[u8],
        batch_size: usize,
        lr: f64,
    ) -> PyResult<[f32; 3]> {
        let order = indices(order, "order")?;
        let (gpu, net, stop, data) = (self.gpu, &mut self.net, &self.stop, &data.inner);
        // A network is a group of one: the group's epoch, with one learning rate, and its one model's sums.
        run_interruptible(py, stop, move || {
            let sums = train_epoch_on(gpu, net, data, &order, batch_size, &[lr], stop)?;
            sums.first()
                .copied()
                .ok_or_else(|| Error::Shape { op: "train_epoch", detail: "no model in the group".into() })
        })
    }

    /// The outputs [rows, outputs] (logits for the classification losses) for features `x` (float32 bytes).
    fn predict<'py>(&mut self, py: Python<'py>, x: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let x = floats(x, "X")?;
        let (gpu, net, model, loss) = (self.gpu, &mut self.net, &self.model, self.loss);
        let out = py
            .detach(|| -> Result<Vec<f32>, Error> {
                let rows = x.len() / model.input.max(1);
                let y = vec![0.0; rows * loss.target_cols(model.output())];
                let data = DeviceData::upload(gpu, &x, model.input, &y, loss.target_cols(model.output()))?;
                data.reset_order(gpu)?;
                let mut out = Vec::with_capacity(rows * model.output());
                let mut offset = 0;
                while offset < rows {
                    let n = net.max_rows().min(rows - offset);
                    out.extend(pollster::block_on(net.predict_batch_async(gpu, &data, offset, n, 0))?);
                    offset += n;
                }
                Ok(out)
            })
            .map_err(py_err)?;
        Ok(PyBytes::new(py, &to_bytes(&out)))
    }

    /// The flat parameters (float32 bytes), once queued steps are done.
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let p = py.detach(|| self.net.params(self.gpu)).map_err(py_err)?;
        Ok(PyBytes::new(py, &to_bytes(&p)))
    }

    /// The library's flat layout: per layer (weight offset, bias offset), and the total length.
    #[staticmethod]
    fn layout(input: usize, hidden: Vec<usize>, output: usize) -> PyResult<(Vec<(usize, usize)>, usize)> {
        let layout = model_config(input, hidden, output, "relu")?.layout();
        Ok((layout.layers.iter().map(|l| (l.weight, l.bias)).collect(), layout.len))
    }

    /// The name of the adapter this network runs on.
    #[getter]
    fn adapter(&self) -> String {
        self.gpu.adapter().name.clone()
    }
}
