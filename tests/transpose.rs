//! transpose_texture against src/reference/transpose.rs (texture family only: the buffer family never transposes).

mod common;
use common::{device, uniform};
use wgtrain::gpu::KernelFamily;
use wgtrain::ops::transpose::{transpose_texture, transpose_texture_models};
use wgtrain::ops::Models;
use wgtrain::reference::transpose as reference;
use wgtrain::Tensor;

/// A transpose moves values without arithmetic, so the result must be bit-for-bit the twin's.
#[test]
fn transpose_texture_matches_reference_exactly() {
    let gpu = device(KernelFamily::Texture);
    // Square, tall, wide, one block, and one over a texture row (4,096 texels = 16,384 floats).
    for (rows, cols) in [(4, 4), (8, 12), (128, 64), (1024, 16), (132, 788)] {
        let x = uniform((rows * cols) as u64, rows * cols, -1.0, 1.0);
        let tx = Tensor::from_slice(gpu, "x", &x, &[rows * cols]).unwrap();
        let out = Tensor::zeros(gpu, "out", &[rows * cols]).unwrap();
        gpu.run(&[&transpose_texture(gpu, tx.view(), out.view(), rows, cols).unwrap()]).unwrap();
        assert_eq!(out.read(gpu).unwrap(), reference::transpose_texture(&x, rows, cols), "{rows}×{cols}");
    }
}

#[test]
fn transpose_texture_rejects_ragged_shapes() {
    let gpu = device(KernelFamily::Texture);
    let t = Tensor::zeros(gpu, "t", &[64]).unwrap();
    let err = transpose_texture(gpu, t.view(), t.view(), 6, 4).unwrap_err();
    assert!(err.to_string().contains("multiples of 4"), "{err}");
}

/// The model-batched transpose (workgroup z = model) for 1 and 3 models, the gaps between models left alone:
/// bit for bit the twin's.
#[test]
fn transpose_texture_models_match_reference_exactly() {
    let gpu = device(KernelFamily::Texture);
    for (rows, cols) in [(4, 4), (8, 12), (132, 20)] {
        for count in [1, 3] {
            let n = rows * cols;
            let models = Models { count, input: n + 8, output: n + 4 };
            let x = uniform((n + count) as u64, models.span(models.input, n), -1.0, 1.0);
            let tx = Tensor::from_slice(gpu, "x", &x, &[x.len()]).unwrap();
            let out = Tensor::zeros(gpu, "out", &[models.span(models.output, n)]).unwrap();
            let d = transpose_texture_models(gpu, tx.view(), out.view(), rows, cols, &models).unwrap();
            assert_eq!(d.name(), "transpose_texture");
            gpu.run(&[&d]).unwrap();
            let want = reference::transpose_texture_models(&x, rows, cols, &models);
            assert_eq!(out.read(gpu).unwrap(), want, "{rows}×{cols} ×{count}");
        }
    }
}
