//! wgtrain: train small MLPs on any GPU through WebGPU (wgpu), with every WGSL kernel checked against a CPU twin.
//!
//! The host API is async at its core (`Gpu::request`, `Trainer::fit_async`, `Trainer::evaluate_async`,
//! `Tensor::read_async`), since nothing may block in a browser; on native targets the blocking forms used below
//! (`Gpu::new`, `Trainer::fit`, `Tensor::read`) wrap them with `pollster::block_on`.
//!
//! ```no_run
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

#[cfg(not(target_arch = "wasm32"))]
pub mod atomic_file;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod gpu;
pub mod history;
pub mod kernel;
pub mod matmul_wgsl;
pub mod metrics;
pub mod model;
pub mod network;
pub mod ops;
pub mod optim;
pub mod plateau;
pub mod plot;
pub mod reference;
pub mod rng;
pub mod saved;
pub mod schedule;
pub mod shaders;
#[cfg(not(target_arch = "wasm32"))]
pub mod sweep;
pub mod tensor;
pub mod texture;
pub mod train;

pub use error::{Error, Result};
#[cfg(not(target_arch = "wasm32"))]
pub use gpu::list_adapters;
pub use gpu::{list_adapters_async, AdapterSummary, Gpu, GpuOptions, LimitsMode};
pub use kernel::{Dispatch, Kernel};
pub use ops::activation::Activation;
pub use ops::loss::Loss;
pub use optim::{OptimizerConfig, OptimizerKind};
pub use tensor::{Tensor, View};
