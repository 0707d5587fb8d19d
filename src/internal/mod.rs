//! Helpers the library, its command line, tests and benchmarks share, outside the API a model is trained with:
//! they may change without notice.

#[cfg(not(target_arch = "wasm32"))]
pub mod atomic_file;
pub mod rng;
