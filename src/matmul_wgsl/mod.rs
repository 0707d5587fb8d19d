//! The matmul generator: a [`MatmulVariant`] (a small parameter struct) and the WGSL it writes.
//!
//! C[M, N] = op(A)·op(B) with a fused epilogue. Two families come out of one description:
//! - register blocks ([`register_block`]): each invocation computes a block of C straight from its operands,
//!   fully unrolled; with texture operands this is the family CPU drivers (lavapipe) run fastest;
//! - workgroup tiles ([`tiled`]): a workgroup stages coalesced tiles of A and B in workgroup memory and each
//!   invocation computes a register block from them; the family GPUs reward.
//!
//! Every variant sums each output over k in the same order, the canonical one of `reference::matmul`:
//! groups of four consecutive k, `acc + (((a₀b₀ + a₁b₁) + a₂b₂) + a₃b₃)`, the last group zero-padded. So the choice
//! of variant (and so tuning) does not change results on one driver. Nothing generated is checked in: a variant
//! is written and compiled when a plan needs it.

mod configs;
mod elements;
mod epilogue;
pub mod register_block;
pub mod tiled;
pub mod wide;

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::shaders::Shader;
pub use configs::{all_configs, all_variants, cpu_configs, f16_configs, gpu_configs, F16_FALLBACK};
pub use elements::{Element, Elements};
pub use wide::WideAxis;

/// Where a kernel reads its operands A and B (and the backward pass's aux) from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operands {
    /// `array<vec4<f32>>` or `array<f32>` storage buffers.
    Buffer,
    /// Flat rgba32float texture copies of the buffers (`texture`), refreshed before every launch.
    Texture,
}

/// How A and B are stored: which product the kernel computes and along which dimension each is contiguous.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layout {
    /// C = A·Bᵀ: A [M, K], B [N, K] (the forward pass).
    Nt,
    /// C = A·B: A [M, K], B [K, N] (the input gradient dZ·W).
    Nn,
    /// C = Aᵀ·B: A [K, M], B [K, N] (the weight gradient dZᵀ·X).
    Tn,
    /// C = op(A)·B with A read one float at a time through its strides: register blocks whose A rows are not
    /// whole vec4s (a layer of 10 outputs).
    An,
}

impl Layout {
    /// Every layout, for enumeration.
    pub const ALL: [Layout; 4] = [Layout::Nt, Layout::Nn, Layout::Tn, Layout::An];

    /// The short name used in variant names, tuning keys and `wgtrain tune --json`.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Nt => "nt",
            Layout::Nn => "nn",
            Layout::Tn => "tn",
            Layout::An => "an",
        }
    }

    /// The layout of op(A)·op(B) given which operands are stored transposed, for the tiled family (any strides);
    /// None for Aᵀ·Bᵀ, which no plan uses.
    pub fn of(trans_a: bool, trans_b: bool) -> Option<Layout> {
        match (trans_a, trans_b) {
            (false, true) => Some(Layout::Nt),
            (false, false) => Some(Layout::Nn),
            (true, false) => Some(Layout::Tn),
            (true, true) => None,
        }
    }
}

/// Which entry point and epilogue a variant has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pass {
    /// `matmul_forward`: z = op(A)·op(B) + bias (when HAS_BIAS); c = act(z); z stored when STORE_PRE.
    Forward,
    /// `matmul_activation_backward`: c = (op(A)·op(B)) ⊙ act'(aux).
    ActivationBackward,
}

impl Pass {
    /// The WGSL entry point's name.
    pub fn entry(self) -> &'static str {
        match self {
            Pass::Forward => "matmul_forward",
            Pass::ActivationBackward => "matmul_activation_backward",
        }
    }
}

/// The part of a variant that tuning chooses: everything but the layout and the pass, which the launch fixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MatmulConfig {
    /// Where the operands are read from.
    pub operands: Operands,
    /// Rows × columns of C computed by one invocation.
    pub block: (u32, u32),
    /// Invocations per workgroup along columns (x) and rows (y).
    pub workgroup: (u32, u32),
    /// Workgroup-memory tiling with this many k per tile; None reads the operands directly.
    pub tile_k: Option<u32>,
    /// Floats per global load of A and B: 4 (vec4) or 1.
    pub vector: u32,
}

/// One matmul kernel: a config for a layout and a pass, and the way it stores C.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MatmulVariant {
    /// The tunable part.
    pub config: MatmulConfig,
    /// How A and B are stored.
    pub layout: Layout,
    /// Forward or activation-backward epilogue.
    pub pass: Pass,
    /// C (bias, aux, z) stored four floats at a time, which needs N % 4 = 0; else one float at a time.
    pub vec4_store: bool,
    /// Model-batched: the launch computes one product per model, the model being `workgroup_id.z`, each operand
    /// offset by its per-model stride (`a_batch`, `b_batch`, `c_batch`, `bias_batch` in the params, in floats, a
    /// stride of 0 sharing the operand, e.g. the first layer's input). Aux and z share c's stride. Single-model
    /// variants carry no offsets at all, so their inner loops are what they were before batching existed.
    pub batched: bool,
    /// Wide: the models' products stacked along one dimension of one ordinary launch (see [`wide`]); register
    /// blocks in the forward pass only, never batched.
    pub wide: Option<WideAxis>,
    /// Element types of the operands and results ([`Elements::F32`] unless made with [`MatmulVariant::with_elements`]).
    pub elements: Elements,
}

/// The shape facts a variant's support depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShapeFacts {
    /// Rows of C.
    pub m: usize,
    /// Columns of C.
    pub n: usize,
    /// The contracted dimension.
    pub k: usize,
    /// A stored [K, M].
    pub trans_a: bool,
    /// B stored [N, K].
    pub trans_b: bool,
}

impl MatmulConfig {
    /// Rows and columns of C computed by one workgroup.
    pub fn workgroup_tile(&self) -> (u32, u32) {
        match self.tile_k {
            Some(_) => (self.block.0 * self.workgroup.1, self.block.1 * self.workgroup.0),
            None => (self.block.0, self.block.1),
        }
    }

    /// Invocations per workgroup.
    pub fn invocations(&self) -> u32 {
        self.workgroup.0 * self.workgroup.1
    }

    /// Bytes of workgroup memory one workgroup uses.
    pub fn workgroup_bytes(&self) -> u32 {
        let (bm, bn) = self.workgroup_tile();
        self.tile_k.map_or(0, |bk| (bm + bn) * bk * 4)
    }

    /// A stable name, e.g. `texture_b16x16_w8x1` or `buffer_b4x4_w16x16_k16_v4`; [`MatmulConfig::parse`] reads it
    /// back (tuning cache, checkpoints).
    pub fn name(&self) -> String {
        let ops = match self.operands {
            Operands::Buffer => "buffer",
            Operands::Texture => "texture",
        };
        let mut s = format!("{ops}_b{}x{}_w{}x{}", self.block.0, self.block.1, self.workgroup.0, self.workgroup.1);
        if let Some(k) = self.tile_k {
            let _ = write!(s, "_k{k}");
        }
        let _ = write!(s, "_v{}", self.vector);
        s
    }

    /// Reads a name written by [`MatmulConfig::name`]; None if it is not one a generator can write.
    pub fn parse(name: &str) -> Option<Self> {
        let mut parts = name.split('_');
        let operands = match parts.next()? {
            "buffer" => Operands::Buffer,
            "texture" => Operands::Texture,
            _ => return None,
        };
        let pair = |p: &str, prefix: char| -> Option<(u32, u32)> {
            let (a, b) = p.strip_prefix(prefix)?.split_once('x')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        };
        let block = pair(parts.next()?, 'b')?;
        let workgroup = pair(parts.next()?, 'w')?;
        let mut tile_k = None;
        let mut next = parts.next()?;
        if let Some(k) = next.strip_prefix('k') {
            tile_k = Some(k.parse().ok()?);
            next = parts.next()?;
        }
        let vector = next.strip_prefix('v')?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        let config = MatmulConfig { operands, block, workgroup, tile_k, vector };
        config.is_well_formed().then_some(config)
    }

    /// Whether the generator can write this config (block and tile sizes it knows how to unroll and load).
    pub fn is_well_formed(&self) -> bool {
        let (bm, bn) = self.block;
        let (wx, wy) = self.workgroup;
        let sizes_ok = (1..=64).contains(&bm) && (1..=64).contains(&bn) && wx >= 1 && wy >= 1 && wx * wy <= 1024;
        match self.tile_k {
            None => {
                // Register blocks read vec4s: four rows (Aᵀ·B) and four columns at a time.
                sizes_ok && bm % 4 == 0 && bn % 4 == 0 && self.vector == 4 && wy == 1
            }
            Some(bk) => {
                let (tm, tn) = self.workgroup_tile();
                let loads_ok = |elements: u32| elements % (self.invocations() * self.vector) == 0;
                sizes_ok
                    && self.operands == Operands::Buffer
                    && matches!(self.vector, 1 | 4)
                    && bk % 4 == 0
                    && (4..=64).contains(&bk)
                    && loads_ok(tm * bk)
                    && loads_ok(tn * bk)
            }
        }
    }

    /// Whether this config computes op(A)·op(B) of `s` (alignment rules of its loads); the layout it would use
    /// is [`MatmulConfig::layout_for`].
    pub fn supports(&self, s: &ShapeFacts) -> bool {
        self.layout_for(s).is_some()
    }

    /// The layout this config uses for `s`, or None when it cannot compute it.
    pub fn layout_for(&self, s: &ShapeFacts) -> Option<Layout> {
        match self.tile_k {
            None => register_block::layout_for(s),
            Some(_) => {
                let layout = Layout::of(s.trans_a, s.trans_b)?;
                (self.vector == 1 || tiled::vector_loads_fit(layout, s)).then_some(layout)
            }
        }
    }
}

impl MatmulVariant {
    /// The variant of `config` for `s` and `pass`, or None when the config cannot compute the shape.
    pub fn for_shape(config: MatmulConfig, s: &ShapeFacts, pass: Pass) -> Option<Self> {
        let layout = config.layout_for(s)?;
        // Tiled kernels store single floats: neighbouring invocations store neighbouring columns.
        let vec4_store = s.n % 4 == 0 && config.tile_k.is_none();
        if config.tile_k.is_none() && !vec4_store && layout != Layout::Nt {
            // Register blocks read B four columns at a time except in A·Bᵀ.
            return None;
        }
        Some(MatmulVariant { config, layout, pass, vec4_store, batched: false, wide: None, elements: Elements::F32 })
    }

    /// The wide form of `config` for models of shape `one` stacked along `axis` (see [`wide`]), or None where it
    /// does not apply: workgroup tiles, or alignment rules that fail for one model's extent (a model's vec4 rows
    /// or columns must not straddle two models). The forward A·Bᵀ stacks columns, the products with B [K, N] rows.
    pub fn for_wide(config: MatmulConfig, one: &ShapeFacts, axis: WideAxis) -> Option<Self> {
        if config.tile_k.is_some() {
            return None;
        }
        let v = Self::for_shape(config, one, Pass::Forward)?;
        let fits = match axis {
            WideAxis::Cols => v.layout == Layout::Nt,
            WideAxis::Rows => v.layout != Layout::Nt,
        };
        fits.then_some(MatmulVariant { wide: Some(axis), ..v })
    }

    /// This variant with other element types, or None for f16 with texture operands: those read rgba32float copies
    /// of f32 buffers, so f16 variants read their operands from storage buffers (see [`f16_configs`]).
    pub fn with_elements(self, elements: Elements) -> Option<Self> {
        let texture = self.config.operands == Operands::Texture;
        (!(texture && elements.uses_f16())).then_some(MatmulVariant { elements, ..self })
    }

    /// The model-batched form of this variant (see the `batched` field).
    pub fn for_models(self) -> Self {
        MatmulVariant { batched: true, ..self }
    }

    /// A unique name: the config, the layout, the pass and the store width.
    pub fn name(&self) -> String {
        let pass = match self.pass {
            Pass::Forward => "forward",
            Pass::ActivationBackward => "backward",
        };
        let store = if self.vec4_store { "" } else { "_scalar_store" };
        let models = match (self.batched, self.wide) {
            (true, _) => "_batched".to_string(),
            (false, Some(axis)) => format!("_wide_{}", axis.name()),
            (false, None) => String::new(),
        };
        let elements = self.elements.suffix();
        format!("matmul_{}_{}_{pass}{store}{models}{elements}", self.config.name(), self.layout.name())
    }

    /// The WGSL module of this variant: common.wgsl, then the generated kernel with one entry point.
    pub fn wgsl(&self) -> String {
        let body = match self.config.tile_k {
            None => register_block::write(self),
            Some(_) => tiled::write(self),
        };
        // `enable` directives must precede every declaration, common.wgsl's included.
        let enable = if self.elements.uses_f16() { "enable f16;\n" } else { "" };
        format!("{enable}{}\n{}", *crate::shaders::COMMON, body)
    }

    /// The variant as a shader ready to compile. Generated kernels clamp or guard every index, so naga's runtime
    /// bounds checks are off (tests/matmul.rs runs every variant on ragged shapes against the CPU twin).
    pub fn shader(&self) -> Shader {
        Shader { file: Cow::Owned(self.name()), source: Cow::Owned(self.wgsl()), trusted: true }
    }

    /// Invocations of `rows`×`cols` C blocks: the number of workgroups a launch needs.
    pub fn workgroups(&self, m: usize, n: usize) -> u64 {
        let (bm, bn) = self.config.workgroup_tile();
        let tiles = m.div_ceil(bm as usize) * n.div_ceil(bn as usize);
        match self.config.tile_k {
            Some(_) => tiles as u64,
            None => tiles.div_ceil(self.config.invocations() as usize) as u64,
        }
    }

    /// Column blocks per row of C (`blocks_n` of the params uniform).
    pub fn blocks_n(&self, n: usize) -> usize {
        n.div_ceil(self.config.workgroup_tile().1 as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_names_parse_back() {
        for c in all_configs() {
            assert!(c.is_well_formed(), "{c:?}");
            assert_eq!(MatmulConfig::parse(&c.name()), Some(c), "{}", c.name());
        }
        for bad in ["", "buffer", "gpu_b4x4_w8x1_v4", "texture_b4x4_w8x1_v4_x", "buffer_b3x4_w8x1_v4"] {
            assert_eq!(MatmulConfig::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn gpu_configs_fit_webgpu_default_limits() {
        let limits = wgpu::Limits::default();
        for c in gpu_configs() {
            assert!(c.invocations() <= limits.max_compute_invocations_per_workgroup, "{c:?}");
            assert!(c.workgroup_bytes() <= limits.max_compute_workgroup_storage_size, "{c:?}");
        }
    }
}
