//! Every file in shaders/ parses and validates with naga, with no adapter needed.

use std::collections::BTreeSet;

use wgtrain::shaders::ALL;

#[test]
fn every_shader_validates_with_naga() {
    for shader in ALL.iter() {
        let module = naga::front::wgsl::parse_str(&shader.source)
            .unwrap_or_else(|e| panic!("{} does not parse:\n{}", shader.file, e.emit_to_string(&shader.source)));
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty())
            .validate(&module)
            .unwrap_or_else(|e| panic!("{} does not validate: {e:?}", shader.file));
        assert!(!module.entry_points.is_empty(), "{} has no entry point", shader.file);
    }
}

#[test]
fn every_wgsl_file_is_registered() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("shaders/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".wgsl") && !wgtrain::shaders::FRAGMENTS.contains(&n.as_str()))
        .collect();
    let registered: BTreeSet<String> = ALL
        .iter()
        .chain(wgtrain::shaders::SUBGROUP_SHADERS.iter())
        .chain(wgtrain::shaders::F16_SHADERS.iter())
        .map(|s| s.file.to_string())
        .collect();
    assert_eq!(on_disk, registered, "shaders/ and src/shaders.rs disagree");
}

#[test]
fn entry_bindings_are_derived_per_entry_point() {
    let fwd = wgtrain::shaders::MATMUL.entry_bindings("matmul_forward").expect("reflect");
    let bwd = wgtrain::shaders::MATMUL.entry_bindings("matmul_activation_backward").expect("reflect");
    assert_eq!(fwd, vec![0, 1, 2, 3, 5, 6]);
    assert_eq!(bwd, vec![0, 1, 2, 4, 5]);
}

/// Every matmul variant the generator can be asked for (every config any adapter's tuner may pick, in every layout,
/// pass and store width, in f32 and f16) parses and validates, with the bindings its launcher binds. f16 variants
/// validate with exactly the capability wgpu's SHADER_F16 feature gives naga (SHADER_FLOAT16), and not without it.
#[test]
fn every_matmul_variant_validates_with_naga() {
    use naga::valid::{Capabilities, ValidationFlags, Validator};
    use wgtrain::matmul_wgsl::{all_variants, Element, Operands, Pass};
    let variants = all_variants();
    let f16 = variants.iter().filter(|v| v.elements.uses_f16()).count();
    assert!(variants.len() - f16 > 40, "only {} f32 variants", variants.len() - f16);
    assert!(f16 > 40, "only {f16} f16 variants");
    for v in variants {
        let shader = v.shader();
        let module = naga::front::wgsl::parse_str(&shader.source)
            .unwrap_or_else(|e| panic!("{} does not parse:\n{}", shader.file, e.emit_to_string(&shader.source)));
        let caps = if v.elements.uses_f16() { Capabilities::SHADER_FLOAT16 } else { Capabilities::empty() };
        Validator::new(ValidationFlags::all(), caps)
            .validate(&module)
            .unwrap_or_else(|e| panic!("{} does not validate: {e:?}", shader.file));
        if v.elements.uses_f16() {
            assert!(Validator::new(ValidationFlags::all(), Capabilities::empty()).validate(&module).is_err());
            assert!(shader.source.starts_with("enable f16;"), "{}", shader.file);
            let halfs = v.elements.input == Element::F16;
            assert_eq!(shader.source.contains("a: array<vec4<f16>>") || shader.source.contains("a: array<f16>"), halfs);
        }
        assert_eq!(module.entry_points.len(), 1, "{}", shader.file);
        let bindings = shader.entry_bindings(v.pass.entry()).expect("reflect");
        let want: &[u32] = match v.pass {
            Pass::Forward => &[0, 1, 2, 3, 5, 6],
            Pass::ActivationBackward => &[0, 1, 2, 4, 5],
        };
        assert_eq!(bindings, want, "{}", shader.file);
        let textures = module
            .global_variables
            .iter()
            .filter(|(_, g)| matches!(module.types[g.ty].inner, naga::TypeInner::Image { .. }));
        let expected = match (v.config.operands, v.pass) {
            (Operands::Buffer, _) => 0,
            (Operands::Texture, Pass::Forward) => 2,
            (Operands::Texture, Pass::ActivationBackward) => 3,
        };
        assert_eq!(textures.count(), expected, "{}", shader.file);
    }
}

/// Every entry point of every hand-written shader is named in a test file that compares kernels with their CPU
/// twins (the generated matmuls are named one by one in tests/matmul.rs).
#[test]
fn every_entry_point_is_named_in_a_test() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let sources: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/ exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| std::fs::read_to_string(e.path()).expect("readable"))
        .filter(|src| src.contains("reference"))
        .collect();
    let every = ALL.iter().chain(wgtrain::shaders::SUBGROUP_SHADERS.iter()).chain(wgtrain::shaders::F16_SHADERS.iter());
    for shader in every {
        let module = naga::front::wgsl::parse_str(&shader.source).expect("parses");
        for ep in &module.entry_points {
            let quoted = format!("\"{}\"", ep.name);
            let named = sources.iter().any(|src| src.contains(&quoted) || src.contains(&format!("{}(", ep.name)));
            assert!(named, "{}: entry point {} is not named in any test against a CPU twin", shader.file, ep.name);
        }
    }
}

/// The subgroup shaders validate with the capabilities wgpu's SUBGROUP feature gives, and not without them.
#[test]
fn subgroup_shaders_validate_with_subgroup_capabilities() {
    use naga::valid::{Capabilities, ValidationFlags, Validator};
    for shader in wgtrain::shaders::SUBGROUP_SHADERS.iter() {
        let module = naga::front::wgsl::parse_str(&shader.source)
            .unwrap_or_else(|e| panic!("{} does not parse:\n{}", shader.file, e.emit_to_string(&shader.source)));
        let caps = Capabilities::SUBGROUP;
        let mut v = Validator::new(ValidationFlags::all(), caps);
        v.subgroup_stages(naga::valid::ShaderStages::COMPUTE);
        v.subgroup_operations(naga::valid::SubgroupOperationSet::BASIC | naga::valid::SubgroupOperationSet::ARITHMETIC);
        v.validate(&module).unwrap_or_else(|e| panic!("{} does not validate: {e:?}", shader.file));
        assert!(Validator::new(ValidationFlags::all(), Capabilities::empty()).validate(&module).is_err());
    }
}

/// The f16 shaders validate with the capability wgpu's SHADER_F16 feature gives (SHADER_FLOAT16), and not without.
#[test]
fn f16_shaders_validate_with_the_f16_capability() {
    use naga::valid::{Capabilities, ValidationFlags, Validator};
    for shader in wgtrain::shaders::F16_SHADERS.iter() {
        let module = naga::front::wgsl::parse_str(&shader.source)
            .unwrap_or_else(|e| panic!("{} does not parse:\n{}", shader.file, e.emit_to_string(&shader.source)));
        Validator::new(ValidationFlags::all(), Capabilities::SHADER_FLOAT16)
            .validate(&module)
            .unwrap_or_else(|e| panic!("{} does not validate: {e:?}", shader.file));
        assert!(Validator::new(ValidationFlags::all(), Capabilities::empty()).validate(&module).is_err());
        assert!(!module.entry_points.is_empty(), "{} has no entry point", shader.file);
    }
}
