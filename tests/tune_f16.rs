//! Tuning f16 products: they are timed among configs reading storage buffers (f16 variants have no texture form)
//! and the f16 fallback, and remembered under their own shape-class key, apart from f32 products of the same
//! shape. Needs an adapter with SHADER_F16 (lavapipe); fails, never skips, without one. One test function: the
//! cache directory is process-wide (WGTRAIN_CACHE_DIR).

use wgtrain::gpu::KernelFamily;
use wgtrain::matmul_wgsl::{Elements, Operands, F16_FALLBACK};
use wgtrain::ops::matmul::MatmulShape;
use wgtrain::ops::tune::{candidates_for, config_for_elements, shape_class, shape_class_for};
use wgtrain::{Gpu, GpuOptions};

#[test]
fn f16_products_are_tuned_apart_from_f32() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("WGTRAIN_CACHE_DIR", dir.path());
    let opts = GpuOptions { kernels: Some(KernelFamily::Texture), tune: true, ..GpuOptions::from_env().unwrap() };
    let gpu = Gpu::with_options(&opts).unwrap_or_else(|e| panic!("this test needs a GPU adapter: {e}"));
    assert!(gpu.has_shader_f16(), "this test needs an adapter with SHADER_F16 (lavapipe has it): {}", gpu.adapter());
    let s = MatmulShape { m: 37, n: 20, k: 36, trans_a: false, trans_b: true };
    for elements in [Elements::F16, Elements::F16_TO_F32] {
        let cands = candidates_for(&gpu, &s, elements);
        assert!(cands.len() >= 2, "{cands:?}");
        assert!(cands.iter().all(|c| c.operands == Operands::Buffer), "{cands:?}");
        assert_eq!(cands.last(), Some(&F16_FALLBACK));
        let chosen = config_for_elements(&gpu, &s, elements).unwrap().expect("an f16 variant computes the shape");
        assert!(cands.contains(&chosen));
        let key = shape_class_for(&gpu, &s, elements);
        assert_ne!(key, shape_class(&gpu, &s));
        assert_eq!(gpu.tuned_choice(&key), Some(chosen.name()));
        let path = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("tune-") && !n.to_string_lossy().contains(".tmp"))
        });
        let text = std::fs::read_to_string(path.expect("the choice is written to the cache directory")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["choices"][&key]["variant"], chosen.name(), "{text}");
    }
    assert_eq!(gpu.tuned_choice(&shape_class(&gpu, &s)), None, "f16 tuning chose nothing for f32 products");
}
