//! The registry of WGSL sources: every shader file, with the generated prelude and `common.wgsl` prepended and
//! shared fragments appended (WGSL has no include).

use std::borrow::Cow;
use std::sync::LazyLock;

use crate::error::{Error, Result};

pub mod prelude;

/// The generated prelude (`prelude`) followed by `shaders/common.wgsl`: prepended to every shader, hand-written or
/// generated.
pub static COMMON: LazyLock<String> =
    LazyLock::new(|| format!("{}\n{}", *prelude::PRELUDE, include_str!("../../shaders/common.wgsl")));

/// A WGSL module ready to compile: a file of `shaders/` or a generated matmul variant (`matmul_wgsl`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shader {
    /// The file name in `shaders/`, or the generated variant's name; the key of the module cache.
    pub file: Cow<'static, str>,
    /// The full source: [`COMMON`] followed by the file.
    pub source: Cow<'static, str>,
    /// Whether every memory access of every entry point is guarded or clamped by the kernel itself, so naga's
    /// runtime bounds checks can be turned off (tested on ragged shapes in tests/).
    pub trusted: bool,
}

impl Shader {
    /// The bindings of group 0 that `entry` statically uses, ascending, read off the WGSL with naga.
    ///
    /// Entry points of one file share declarations but use different subsets, so the bind group of each is
    /// derived instead of written out by hand.
    pub fn entry_bindings(&self, entry: &str) -> Result<Vec<u32>> {
        Ok(self.entry_binding_uses(entry)?.0)
    }

    /// The bindings of group 0 that `entry` statically uses, and those of them it writes, both ascending.
    pub fn entry_binding_uses(&self, entry: &str) -> Result<(Vec<u32>, Vec<u32>)> {
        let invalid =
            |reason: String| Error::Device { kind: "validation", message: format!("{}: {reason}", self.file) };
        let module = naga::front::wgsl::parse_str(&self.source).map_err(|e| invalid(e.emit_to_string(&self.source)))?;
        let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
            .validate(&module)
            .map_err(|e| invalid(format!("{e:?}")))?;
        let index = module
            .entry_points
            .iter()
            .position(|ep| ep.name == entry)
            .ok_or_else(|| invalid(format!("no entry point named {entry}")))?;
        let usage = info.get_entry_point(index);
        let (mut used, mut written) = (Vec::new(), Vec::new());
        for (handle, var) in module.global_variables.iter() {
            let Some(binding) = var.binding.as_ref().filter(|b| b.group == 0).map(|b| b.binding) else { continue };
            if usage[handle].is_empty() {
                continue;
            }
            used.push(binding);
            if usage[handle].intersects(naga::valid::GlobalUse::WRITE | naga::valid::GlobalUse::ATOMIC) {
                written.push(binding);
            }
        }
        used.sort_unstable();
        written.sort_unstable();
        Ok((used, written))
    }
}

macro_rules! shader {
    ($name:ident, $file:literal, $trusted:expr $(, $appended:literal)*) => {
        #[doc = concat!("`shaders/", $file, "`.")]
        pub static $name: LazyLock<Shader> = LazyLock::new(|| Shader {
            file: Cow::Borrowed($file),
            source: Cow::Owned(format!(
                "{}\n{}",
                *COMMON,
                concat!(
                    include_str!(concat!("../../shaders/", $file))
                    $(, "\n", include_str!(concat!("../../shaders/", $appended)))*
                )
            )),
            trusted: $trusted,
        });
    };
}

/// A shader of `shaders/` that declares f16 values: `enable f16;` first (it must precede every declaration), then
/// as [`shader!`]. Compiles only on a device with SHADER_F16 (`Gpu::has_shader_f16`).
macro_rules! shader_f16 {
    ($name:ident, $file:literal $(, $appended:literal)*) => {
        #[doc = concat!("`shaders/", $file, "` (f16).")]
        pub static $name: LazyLock<Shader> = LazyLock::new(|| Shader {
            file: Cow::Borrowed($file),
            source: Cow::Owned(format!(
                "enable f16;\n{}\n{}",
                *COMMON,
                concat!(
                    include_str!(concat!("../../shaders/", $file))
                    $(, "\n", include_str!(concat!("../../shaders/", $appended)))*
                )
            )),
            trusted: false,
        });
    };
}

/// Files that are not shaders of their own but are prepended or appended to others.
pub const FRAGMENTS: &[&str] = &["common.wgsl", "matmul_epilogue.wgsl", "gather_rows.wgsl", "loss_body.wgsl"];

shader!(MATMUL, "matmul.wgsl", true, "matmul_epilogue.wgsl");
shader!(TRANSPOSE, "transpose.wgsl", false);
shader!(ACTIVATION, "activation.wgsl", false);
shader!(LOSS, "loss.wgsl", false, "loss_body.wgsl");
shader!(REDUCE, "reduce.wgsl", false);
shader!(OPTIM, "optim.wgsl", false);
shader!(GATHER, "gather.wgsl", false, "gather_rows.wgsl");
shader!(GATHER_VEC4, "gather_vec4.wgsl", false, "gather_rows.wgsl");
shader!(WEIGHT_L2, "weight_l2.wgsl", false);
shader!(LOSS_SCALE, "loss_scale.wgsl", false);

shader!(REDUCE_SUBGROUP, "reduce_subgroup.wgsl", false);

/// Shaders that need the SUBGROUP feature (validated with naga's SUBGROUP capabilities). naga 30 takes the subgroup
/// built-ins without WGSL's `enable subgroups;` (it rejects the directive as not yet implemented), so a browser
/// build would need the directive added.
pub static SUBGROUP_SHADERS: LazyLock<[Shader; 1]> = LazyLock::new(|| [REDUCE_SUBGROUP.clone()]);

shader_f16!(GATHER_F16, "gather_f16.wgsl", "gather_rows.wgsl");
shader_f16!(GATHER_VEC4_F16, "gather_vec4_f16.wgsl", "gather_rows.wgsl");
shader_f16!(LOSS_F16, "loss_f16.wgsl", "loss_body.wgsl");
shader_f16!(HALF, "half.wgsl");
shader_f16!(CAST_F16, "cast_f16.wgsl");

/// Shaders that declare f16 values (validated with naga's SHADER_FLOAT16 capability, compiled only on devices with
/// SHADER_F16, so not in [`ALL`], whose pipelines every device may compile up front).
pub static F16_SHADERS: LazyLock<[Shader; 5]> =
    LazyLock::new(|| [&GATHER_F16, &GATHER_VEC4_F16, &LOSS_F16, &HALF, &CAST_F16].map(|s| Shader::clone(s)));

/// Every hand-written shader (the generated matmuls: `matmul_wgsl::all_variants`), for validation and for compiling all pipelines up front.
pub static ALL: LazyLock<[Shader; 10]> = LazyLock::new(|| {
    [&MATMUL, &TRANSPOSE, &ACTIVATION, &LOSS, &REDUCE, &OPTIM, &GATHER, &GATHER_VEC4, &WEIGHT_L2, &LOSS_SCALE]
        .map(|s| Shader::clone(s))
});
