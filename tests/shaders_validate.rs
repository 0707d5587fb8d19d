//! Every file in shaders/ parses and validates with naga, with no adapter needed.

use std::collections::BTreeSet;

use wgtrain::shaders::ALL;

#[test]
fn every_shader_validates_with_naga() {
    for shader in ALL {
        let module = naga::front::wgsl::parse_str(shader.source)
            .unwrap_or_else(|e| panic!("{} does not parse:\n{}", shader.file, e.emit_to_string(shader.source)));
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
    let registered: BTreeSet<String> = ALL.iter().map(|s| s.file.to_string()).collect();
    assert_eq!(on_disk, registered, "shaders/ and src/shaders.rs disagree");
}

#[test]
fn entry_bindings_are_derived_per_entry_point() {
    let fwd = wgtrain::kernel::entry_bindings(&wgtrain::shaders::MATMUL, "matmul_forward").expect("reflect");
    let bwd =
        wgtrain::kernel::entry_bindings(&wgtrain::shaders::MATMUL, "matmul_activation_backward").expect("reflect");
    assert_eq!(fwd, vec![0, 1, 2, 3, 5, 6]);
    assert_eq!(bwd, vec![0, 1, 2, 4, 5]);
}
