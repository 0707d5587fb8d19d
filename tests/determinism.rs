//! Tuning may pick any matmul variant, so every variant must give the same training: MLP-A (784-128-64-10, ReLU,
//! Adam 1e-3, batches of 128) trained for one epoch on the bundled MNIST digits with texture register blocks,
//! storage-buffer register blocks and workgroup-tiled kernels ends with bit-identical weights. Every matmul sums
//! over k in the same order (groups of four; see src/matmul_wgsl), and the other kernels read the same values
//! from textures or buffers, so nothing but the memory path differs. The texture runs also check the copy elision:
//! a launch that would copy a range already copied, and unchanged since, reads the earlier copy instead.

use wgtrain::data::idx::read_mnist_dir;
use wgtrain::gpu::KernelFamily;
use wgtrain::model::{init_params, Init, MlpConfig};
use wgtrain::train::{TrainConfig, Trainer};
use wgtrain::{Activation, Gpu, GpuOptions, Loss, OptimizerConfig};

/// The options the environment asks for (WGTRAIN_BACKEND, WGTRAIN_LIMITS, ...), so CI runs this on each driver.
fn env_options() -> GpuOptions {
    GpuOptions::from_env().unwrap_or_else(|e| panic!("{e}"))
}

fn train_one_epoch(kernels: KernelFamily, matmul: Option<&str>) -> (Vec<f32>, Vec<String>, usize) {
    let opts = GpuOptions { kernels: Some(kernels), matmul: matmul.map(str::to_string), tune: false, ..env_options() };
    let gpu = Gpu::with_options(&opts).unwrap_or_else(|e| panic!("this test needs a GPU adapter: {e}"));
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist-10k");
    let (train, _) = read_mnist_dir(&dir).expect("bundled MNIST subset");
    let model = MlpConfig::new(784, &[128, 64], 10, Activation::Relu);
    let params = init_params(&model, Init::Torch, 0).unwrap();
    let cfg = TrainConfig {
        batch_size: Some(128),
        epochs: 1,
        ..TrainConfig::new(Loss::CrossEntropy, OptimizerConfig::adam(1e-3))
    };
    let mut tr = Trainer::new(&gpu, &model, &params, cfg, 128).unwrap();
    let data = tr.upload(&train.features, &train.targets).unwrap();
    tr.fit(&data, None, &mut |_| {}).unwrap();
    let kernels: Vec<String> =
        tr.network().plan_files(&gpu, &data, 128).unwrap().into_iter().filter(|f| f.starts_with("matmul")).collect();
    let copies = tr.network().group().step_counts(&gpu, &data, 128).unwrap().copies;
    (tr.params().unwrap(), kernels, copies)
}

#[test]
fn every_matmul_family_trains_to_the_same_weights() {
    let (reference, ref_kernels, copies) = train_one_epoch(KernelFamily::Texture, None);
    assert!(ref_kernels.iter().all(|k| k.starts_with("matmul_texture")), "{ref_kernels:?}");
    // Without elision a step records 25 copies (a range longer than a texture row takes two): the batch and the
    // weights of the last two layers twice, and an activation or dZ once for each launch that reads it. Copying
    // each range once per change leaves 13.
    assert_eq!(copies, 13, "texture copies per step");
    let runs = [
        (KernelFamily::Buffer, "buffer_b4x4_w64x1_v4", "untiled storage-buffer register blocks"),
        (KernelFamily::Buffer, "buffer_b4x4_w16x16_k16_v4", "workgroup tiles, vec4 loads"),
        (KernelFamily::Buffer, "buffer_b4x4_w4x16_k16_v1", "thin workgroup tiles, scalar loads"),
        (KernelFamily::Texture, "texture_b32x16_w8x1_v4", "32×16 texture register blocks"),
    ];
    for (family, config, what) in runs {
        let (weights, kernels, copies) = train_one_epoch(family, Some(config));
        if family == KernelFamily::Buffer {
            assert_eq!(copies, 0, "{what}: a buffer plan copies nothing");
        }
        assert!(kernels.iter().any(|k| k.contains(config)), "{what}: {config} not launched: {kernels:?}");
        let differing = weights.iter().zip(&reference).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
        let max = weights.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert_eq!(differing, 0, "{what} ({config}): {differing} of {} weights differ, max |Δ| {max:e}", weights.len());
    }
}
