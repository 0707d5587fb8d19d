//! The configs each kind of adapter chooses among, and every variant the generator can write (for the
//! adapter-free validation and translation tests).

use super::{Elements, Layout, MatmulConfig, MatmulVariant, Operands, Pass, WideAxis};

/// The register-block configs CPU adapters choose among (texture operands): 16×16 blocks for most shapes, 32×16
/// for large products, 8×8 for tiny ones (16×32 ran no faster than 32×16 at the same compile cost). Measured on
/// lavapipe (2-core EPYC, the other core busy), A·Bᵀ at 1024³: 16×16 18 GFLOP/s, 32×16 22, 16×32 20, 32×32 26 and 64×32 (the old default) a little more; but LLVM compiles
/// a 16×16 pipeline in about 0.5 s, 32×16 in 1.6 s, 32×32 in 4–10 s and 64×32 in about 40 s, which a cold start
/// with tuning cannot afford.
pub fn cpu_configs(operands: Operands) -> Vec<MatmulConfig> {
    [(16, 16), (32, 16), (8, 8)]
        .into_iter()
        .map(|block| MatmulConfig { operands, block, workgroup: (8, 1), tile_k: None, vector: 4 })
        .collect()
}

/// The configs GPUs choose among: workgroup tiles of 64×64 and 128×64 (256 invocations), a 32×32 tile and a
/// thin 64×16 one for narrow outputs, with vec4 or scalar global loads, and the untiled 4×4 register block.
pub fn gpu_configs() -> Vec<MatmulConfig> {
    let tiled = |block, workgroup, k, vector| MatmulConfig {
        operands: Operands::Buffer,
        block,
        workgroup,
        tile_k: Some(k),
        vector,
    };
    vec![
        tiled((4, 4), (16, 16), 16, 4),
        tiled((8, 4), (16, 16), 16, 4),
        tiled((4, 4), (16, 16), 32, 4),
        tiled((4, 4), (8, 8), 16, 4),
        tiled((4, 4), (4, 16), 16, 1),
        tiled((4, 4), (16, 16), 16, 1),
        MatmulConfig { operands: Operands::Buffer, block: (4, 4), workgroup: (64, 1), tile_k: None, vector: 4 },
    ]
}

/// Every config any adapter may be given, for the adapter-free validation test.
pub fn all_configs() -> Vec<MatmulConfig> {
    let mut all = cpu_configs(Operands::Texture);
    all.extend(gpu_configs());
    all.sort();
    all.dedup();
    all
}

/// The config f16 products fall back to where the tuned one cannot compute the shape: workgroup tiles with scalar
/// loads compute any M, N and K in every layout but Aᵀ·Bᵀ (the f32 fallback, shaders/matmul.wgsl, reads f32 only).
pub const F16_FALLBACK: MatmulConfig =
    MatmulConfig { operands: Operands::Buffer, block: (4, 4), workgroup: (16, 16), tile_k: Some(16), vector: 1 };

/// The configs f16 variants are made of: every config with storage-buffer operands (a texture config's register
/// block reads the same operands from buffers instead), since the texture copies are rgba32float.
pub fn f16_configs() -> Vec<MatmulConfig> {
    let mut all: Vec<MatmulConfig> =
        all_configs().into_iter().map(|c| MatmulConfig { operands: Operands::Buffer, ..c }).collect();
    all.sort();
    all.dedup();
    all
}

/// Every variant of every config: each layout the config supports, both passes, both store widths, single-model
/// and model-batched, and (f32) the wide forms of the register blocks; in f32, then in f16 ([`Elements::F16`] in both
/// passes, [`Elements::F16_TO_F32`] in the forward pass, the weight gradient's) for every [`f16_configs`] config.
pub fn all_variants() -> Vec<MatmulVariant> {
    let mut out = variants_of(&all_configs(), Elements::F32, &[Pass::Forward, Pass::ActivationBackward]);
    let f16 = f16_configs();
    out.extend(variants_of(&f16, Elements::F16, &[Pass::Forward, Pass::ActivationBackward]));
    out.extend(variants_of(&f16, Elements::F16_TO_F32, &[Pass::Forward]));
    out
}

/// The variants of `configs` with `elements` in `passes`: each layout the config supports, both store widths,
/// single-model and model-batched (and in f32, the wide forms).
fn variants_of(configs: &[MatmulConfig], elements: Elements, passes: &[Pass]) -> Vec<MatmulVariant> {
    let mut out = Vec::new();
    for &config in configs {
        for layout in Layout::ALL {
            if config.tile_k.is_some() && layout == Layout::An {
                continue;
            }
            for &pass in passes {
                for vec4_store in [true, false] {
                    let register = config.tile_k.is_none();
                    if (register && !vec4_store && layout != Layout::Nt) || (!register && vec4_store) {
                        continue;
                    }
                    for batched in [false, true] {
                        out.push(MatmulVariant { config, layout, pass, vec4_store, batched, wide: None, elements });
                    }
                    let axis = if layout == Layout::Nt { WideAxis::Cols } else { WideAxis::Rows };
                    if register && pass == Pass::Forward && elements == Elements::F32 {
                        let wide = Some(axis);
                        out.push(MatmulVariant { config, layout, pass, vec4_store, batched: false, wide, elements });
                    }
                }
            }
        }
    }
    out
}
