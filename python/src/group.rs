//! Networks of one architecture, loss and optimizer kind trained together in the same launches (a search's
//! configurations within a fold), an epoch at a time in the order and at the learning rates the Python side
//! chooses; a model that has stopped is frozen while the others go on.

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use wgtrain::error::Error;
use wgtrain::model::MlpConfig;
use wgtrain::network::{DeviceData, NetworkGroup};
use wgtrain::{Gpu, Loss};

use crate::convert::{floats, indices, py_err, run_interruptible, to_bytes};
use crate::net::{model_config, optimizer, upload, Data};

/// One member's optimizer values: (lr, momentum, nesterov, weight_decay, weight_l2, eps, beta1, beta2).
type MemberOptimizer = (f64, f64, bool, f64, f64, f64, f64, f64);

/// A group of networks on the shared device.
#[pyclass(module = "wgtrain._native")]
pub struct Group {
    gpu: &'static Gpu,
    model: MlpConfig,
    loss: Loss,
    group: NetworkGroup,
    stop: AtomicBool,
}

/// Queues one epoch of steps for every unfrozen model, checking `stop` between steps; returns each model's [loss
/// sum, correct sum, count]. A lone network (`Net`) runs it as the group of one it is.
pub(crate) fn train_epoch_on(
    gpu: &Gpu,
    group: &mut NetworkGroup,
    data: &DeviceData,
    order: &[u32],
    batch_size: usize,
    lrs: &[f64],
    stop: &AtomicBool,
) -> Result<Vec<[f32; 3]>, Error> {
    data.set_order(gpu, order)?;
    let n = data.rows();
    let b = batch_size.clamp(1, group.max_rows());
    let mut offset = 0;
    while offset < n {
        let rows = b.min(n - offset);
        group.train_step(gpu, data, offset, rows, lrs)?;
        offset += rows;
        if stop.load(Ordering::SeqCst) {
            // Not waiting for the queued steps: the caller drops (fit) or rebuilds (partial_fit) this network.
            return Err(Error::Interrupted { epoch: 0, step: 0 });
        }
    }
    pollster::block_on(group.take_stats_async(gpu))
}

#[pymethods]
impl Group {
    /// A group with one model per entry of `optimizers` (kind `kind` for all) and `params` (float32 bytes each).
    #[new]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (device, input, hidden, output, activation, loss, kind, optimizers, params, max_batch))]
    fn new(
        py: Python<'_>,
        device: Option<&str>,
        input: usize,
        hidden: Vec<usize>,
        output: usize,
        activation: &str,
        loss: &str,
        kind: &str,
        optimizers: Vec<MemberOptimizer>,
        params: Vec<Vec<u8>>,
        max_batch: usize,
    ) -> PyResult<Self> {
        if optimizers.len() != params.len() {
            return Err(PyValueError::new_err("one parameter vector per optimizer"));
        }
        let gpu = crate::device::gpu(py, device)?;
        let model = model_config(input, hidden, output, activation)?;
        let loss = Loss::parse(loss).map_err(py_err)?;
        let opts = optimizers
            .iter()
            .map(|&(lr, m, nest, wd, _, eps, b1, b2)| optimizer(kind, lr, m, nest, wd, eps, b1, b2))
            .collect::<PyResult<Vec<_>>>()?;
        let params = params.iter().map(|p| floats(p, "params")).collect::<PyResult<Vec<_>>>()?;
        let l2: Vec<f64> = optimizers.iter().map(|o| o.4).collect();
        let mut group =
            py.detach(|| NetworkGroup::new(gpu, &model, loss, &opts, &params, max_batch.max(1))).map_err(py_err)?;
        group.set_weight_l2(&l2).map_err(py_err)?;
        Ok(Group { gpu, model, loss, group, stop: AtomicBool::new(false) })
    }

    /// The most models one group may hold for this architecture and batch size on the shared device.
    #[staticmethod]
    #[allow(clippy::too_many_arguments)]
    fn capacity(
        py: Python<'_>,
        device: Option<&str>,
        input: usize,
        hidden: Vec<usize>,
        output: usize,
        kind: &str,
        max_batch: usize,
    ) -> PyResult<usize> {
        let gpu = crate::device::gpu(py, device)?;
        let model = model_config(input, hidden, output, "relu")?;
        let opt = optimizer(kind, 1e-3, 0.0, false, 0.0, 1e-8, 0.9, 0.999)?;
        Ok(NetworkGroup::max_models(gpu, &model, &opt, max_batch.max(1)))
    }

    /// Uploads samples (float32 bytes) shared by every model.
    fn upload(&self, py: Python<'_>, x: &[u8], y: &[u8]) -> PyResult<Data> {
        let cols = self.loss.target_cols(self.model.output());
        py.detach(|| upload(self.gpu, x, y, self.model.input, cols))
    }

    /// One epoch over `data` in `order` (uint32 bytes), batches of `batch_size`, model m at `lrs[m]`; returns each
    /// model's [loss sum, correct sum, count]. Ctrl-C raises KeyboardInterrupt after the current step.
    fn train_epoch(
        &mut self,
        py: Python<'_>,
        data: PyRef<'_, Data>,
        order: &[u8],
        batch_size: usize,
        lrs: Vec<f64>,
    ) -> PyResult<Vec<[f32; 3]>> {
        let order = indices(order, "order")?;
        let (gpu, group, stop, data) = (self.gpu, &mut self.group, &self.stop, &data.inner);
        run_interruptible(py, stop, move || train_epoch_on(gpu, group, data, &order, batch_size, &lrs, stop))
    }

    /// Stops (or resumes) training model `m`.
    fn set_frozen(&mut self, m: usize, frozen: bool) -> PyResult<()> {
        if m >= self.group.len() {
            return Err(PyValueError::new_err(format!("model {m} of {}", self.group.len())));
        }
        self.group.set_frozen(m, frozen);
        Ok(())
    }

    /// Model `m`'s flat parameters (float32 bytes).
    fn params<'py>(&self, py: Python<'py>, m: usize) -> PyResult<Bound<'py, PyBytes>> {
        if m >= self.group.len() {
            return Err(PyValueError::new_err(format!("model {m} of {}", self.group.len())));
        }
        let p = py.detach(|| pollster::block_on(self.group.params_async(self.gpu, m))).map_err(py_err)?;
        Ok(PyBytes::new(py, &to_bytes(&p)))
    }
}
