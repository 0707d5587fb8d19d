//! wgtrain: train small MLPs on any GPU through WebGPU (wgpu), with every WGSL kernel checked against a CPU twin
//! and training that matches PyTorch step for step.
//!
//! Training a model: XOR with one hidden layer, as `torch.nn.Linear` layers with their default init and
//! `torch.optim.Adam`.
//!
//! ```
//! use wgtrain::model::{init_params, Init, MlpConfig};
//! use wgtrain::train::{TrainConfig, Trainer};
//! use wgtrain::{Activation, Gpu, Loss, OptimizerConfig};
//!
//! # fn main() -> wgtrain::Result<()> {
//! let gpu = Gpu::new()?; // WGTRAIN_BACKEND / WGTRAIN_ADAPTER choose the adapter
//! let model = MlpConfig::new(2, &[8], 2, Activation::Tanh); // 2 → 8 (tanh) → 2 logits
//! let params = init_params(&model, Init::Torch, 0)?; // nn.Linear's default init, seeded
//! let config =
//!     TrainConfig { batch_size: Some(4), epochs: 300, ..TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::adam(0.05)) };
//! let mut trainer = Trainer::new(&gpu, &model, &params, config, 4)?;
//! let xor = trainer.upload(&[0., 0., 0., 1., 1., 0., 1., 1.], &[0., 1., 1., 0.])?;
//! trainer.fit(&xor, None, &mut |_| {})?;
//! let (loss, accuracy) = trainer.evaluate(&xor)?;
//! assert!(loss < 0.1 && accuracy == Some(1.0), "loss {loss}, accuracy {accuracy:?}");
//! # Ok(())
//! # }
//! ```
//!
//! Where things are: [`model`] describes the network and its parameters, [`optim`] the optimizers (one config type
//! each, torch's names and defaults), [`schedule`] learning-rate and batch-size schedules, [`train`] the trainer,
//! [`data`] CSV / IDX readers and preprocessing, [`saved`] model files (named tensors in [`tensor_file`]),
//! [`resume`] resumable training checkpoints. Underneath: [`gpu`] (the device), [`tensor`] (buffers), the launchers
//! in [`ops`] (each returns a [`Dispatch`]) with their CPU twins in [`reference`]. Helpers outside that API live in
//! [`internal`]; the WGSL sources and the matmul generator (`shaders`, `matmul_wgsl`) are public only for the
//! project's own shader tests and benchmarks and hidden from these docs.
//!
//! The host API is async at its core (`Gpu::request`, `Trainer::fit_async`, `Trainer::evaluate_async`,
//! `Tensor::read_async`), since nothing may block in a browser; on native targets the blocking forms used here
//! (`Gpu::new`, `Trainer::fit`, `Tensor::read`) wrap them with `pollster::block_on`.
//!
//! One kernel by hand:
//!
//! ```
//! use wgtrain::{Gpu, Tensor};
//! use wgtrain::ops::{activation::Activation, matmul::{matmul_forward, MatmulShape}};
//!
//! # fn main() -> wgtrain::Result<()> {
//! let gpu = Gpu::new()?; // WGTRAIN_BACKEND / WGTRAIN_ADAPTER choose the adapter
//! let a = Tensor::from_slice(&gpu, "a", &[1.0, 2.0, 3.0, 4.0], &[2, 2])?;
//! let b = Tensor::from_slice(&gpu, "b", &[1.0, 0.0, 0.0, 1.0], &[2, 2])?;
//! let c = Tensor::zeros(&gpu, "c", &[2, 2])?;
//! let mm = matmul_forward(&gpu, &MatmulShape::new(2, 2, 2), a.view(), b.view(), None, Activation::Relu, c.view(), None)?;
//! gpu.run(&[&mm])?;
//! assert_eq!(c.read(&gpu)?, vec![1.0, 2.0, 3.0, 4.0]);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod activation;
pub mod batches;
pub mod data;
pub mod error;
pub mod gpu;
pub mod history;
pub mod internal;
mod kernel;
#[doc(hidden)]
pub mod matmul_wgsl;
pub mod metrics;
pub mod model;
pub mod network;
pub mod ops;
pub mod optim;
pub mod plot;
pub mod precision;
pub mod reference;
pub mod resume;
pub mod saved;
pub mod schedule;
#[doc(hidden)]
pub mod shaders;
#[cfg(not(target_arch = "wasm32"))]
pub mod sweep;
pub mod tensor;
pub mod tensor_file;
mod texture;
pub mod train;
mod train_config;

pub use activation::Activation;
pub use error::{Error, Result};
#[cfg(not(target_arch = "wasm32"))]
pub use gpu::list_adapters;
pub use gpu::{list_adapters_async, AdapterSummary, Gpu, GpuOptions, LimitsMode};
pub use kernel::{Dispatch, Kernel};
pub use ops::loss::Loss;
pub use optim::{OptimizerConfig, OptimizerKind};
pub use precision::Precision;
pub use tensor::{Tensor, View};
