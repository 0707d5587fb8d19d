//! Device problems surface as typed errors: limits are named before allocation, and validation errors raised by
//! the driver come back from `Gpu::check` / `Gpu::wait` instead of panicking.

mod common;
use common::gpu;
use wgtrain::model::MlpConfig;
use wgtrain::network::Network;
use wgtrain::{Activation, Error, Loss, OptimizerConfig, Tensor};

#[test]
fn a_buffer_beyond_the_binding_limit_names_the_limit() {
    let max = gpu().limits().max_storage_buffer_binding_size;
    let n = (max / 4) as usize + 1;
    match Tensor::zeros(gpu(), "huge", &[n]) {
        Err(Error::Limit { limit, needed, max: m, .. }) => {
            assert_eq!(limit, "max_storage_buffer_binding_size");
            assert_eq!((needed, m), (n as u64 * 4, max));
        }
        other => panic!("expected a limit error, got {other:?}"),
    }
}

#[test]
fn a_layer_too_large_for_a_binding_names_the_limit() {
    let max = gpu().limits().max_storage_buffer_binding_size as usize;
    // One weight matrix alone exceeds the binding limit.
    let width = (max / 4 / 1000) + 1;
    let model = MlpConfig::new(1000, &[width], 2, Activation::Relu);
    let params = vec![0.0; model.layout().len];
    let err = Network::new(gpu(), &model, Loss::CrossEntropy, &OptimizerConfig::sgd(0.1), &params, 4).unwrap_err();
    assert!(err.to_string().contains("max_storage_buffer_binding_size"), "{err}");
}

#[test]
fn a_driver_validation_error_is_returned_not_raised() {
    let g = gpu();
    let small = Tensor::zeros(g, "small", &[4]).unwrap();
    // Copying past the end of a buffer is a validation error inside wgpu.
    let mut enc = g.device().create_command_encoder(&Default::default());
    enc.copy_buffer_to_buffer(small.buffer(), 0, small.buffer(), 8, 64);
    g.queue().submit(Some(enc.finish()));
    match g.wait() {
        Err(Error::Device { kind, message }) => {
            assert_eq!(kind, "validation");
            assert!(!message.is_empty());
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    g.check().expect("the error is reported once");
}
