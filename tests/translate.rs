//! Metal, DX12, GL and Vulkan without the hardware: every hand-written shader and every generated matmul variant
//! goes through naga's MSL, HLSL, GLSL and SPIR-V back ends, with the options wgpu-hal uses on those platforms and
//! the oldest language version wgpu supports there, so that a construct one of them cannot express fails here
//! instead of on a user's Mac or Windows machine. No adapter is needed.
//!
//! Versions: MSL 2.1 (macOS 10.14, the oldest wgpu supports with compute and read-write storage), HLSL shader
//! model 5.1 (FXC, what DX12 falls back to without DXC), GLSL ES 3.10 (the first GLES with compute shaders, what
//! wgpu's GL back end needs) and GLSL 4.30 desktop (what Mesa's llvmpipe reports is higher), SPIR-V 1.0.
//! Every shader is validated with the capabilities wgpu grants a device created without optional features, except
//! the f16 shaders (`enable f16;`: f16 matmul variants and `shaders::F16_SHADERS`), which get SHADER_FLOAT16, what the device's SHADER_F16 feature grants.
//!
//! f16 per back end, as wgpu-hal 30 exposes SHADER_F16: Metal always (MSL `half`, translated at MSL 2.1 like the
//! rest); DX12 only with shader model 6.2 and native 16-bit ops (HLSL `half` compiled by DXC), so f16 shaders are
//! translated at SM 6.2 instead of 5.1; Vulkan with `shaderFloat16` and 16-bit storage (SPIR-V 1.0 plus the
//! Float16 and StorageBuffer16BitAccess capabilities); GL never: naga's GLSL back end has no 16-bit float type and
//! wgpu's GL adapters do not expose SHADER_F16, so the GLSL tests check that each f16 shader is refused (a GL
//! device never has `Gpu::has_shader_f16`, and f16 launches fail with a clear error there).

use naga::back::{glsl, hlsl, msl, spv};
use naga::valid::{Capabilities, ValidationFlags, Validator};
use naga::{Module, ShaderStage};
use wgtrain::shaders::Shader;

/// Every shader wgtrain can compile: the hand-written files (f16 ones included) and every generated matmul variant.
fn all_shaders() -> Vec<Shader> {
    let mut out: Vec<Shader> = wgtrain::shaders::ALL.to_vec();
    out.extend(wgtrain::shaders::F16_SHADERS.iter().cloned());
    out.extend(wgtrain::matmul_wgsl::all_variants().iter().map(|v| v.shader()));
    out
}

/// Whether the shader declares f16 values (the f16 matmul variants and `shaders::F16_SHADERS`).
fn is_f16(shader: &Shader) -> bool {
    shader.source.starts_with("enable f16;")
}

/// The module with its `override` constants at their defaults (as wgpu does with no pipeline constants given),
/// validated with no optional capabilities.
fn lower(shader: &Shader) -> (Module, naga::valid::ModuleInfo) {
    let module = naga::front::wgsl::parse_str(&shader.source)
        .unwrap_or_else(|e| panic!("{} does not parse:\n{}", shader.file, e.emit_to_string(&shader.source)));
    let caps = if is_f16(shader) { Capabilities::SHADER_FLOAT16 } else { Capabilities::empty() };
    let info = Validator::new(ValidationFlags::all(), caps)
        .validate(&module)
        .unwrap_or_else(|e| panic!("{} does not validate without optional capabilities: {e:?}", shader.file));
    let constants = naga::back::PipelineConstants::default();
    let (module, info) = naga::back::pipeline_constants::process_overrides(&module, &info, None, &constants)
        .unwrap_or_else(|e| panic!("{}: override constants: {e:?}", shader.file));
    (module.into_owned(), info.into_owned())
}

/// Resource slots per entry point, as wgpu-hal's Metal back end assigns them (buffers and textures counted
/// separately, a sizes buffer for runtime-sized arrays), so that a binding Metal cannot place fails.
fn metal_resources(module: &Module) -> msl::EntryPointResourceMap {
    let mut buffers = 0u8;
    let mut textures = 0u8;
    let mut map = msl::BindingMap::default();
    for (_, var) in module.global_variables.iter() {
        let Some(binding) = var.binding else { continue };
        let mut target = msl::BindTarget::default();
        match module.types[var.ty].inner {
            naga::TypeInner::Image { .. } => {
                target.texture = Some(textures);
                textures += 1;
            }
            _ => {
                target.buffer = Some(buffers);
                buffers += 1;
                target.mutable = matches!(
                    var.space,
                    naga::AddressSpace::Storage { access } if access.contains(naga::StorageAccess::STORE)
                );
            }
        }
        map.insert(binding, target);
    }
    module
        .entry_points
        .iter()
        .map(|ep| {
            let resources =
                msl::EntryPointResources { resources: map.clone(), sizes_buffer: Some(buffers), ..Default::default() };
            (ep.name.clone(), resources)
        })
        .collect()
}

/// The bounds-check policies wgpu uses for shaders compiled with its runtime checks on.
fn checked() -> naga::proc::BoundsCheckPolicies {
    let p = naga::proc::BoundsCheckPolicy::ReadZeroSkipWrite;
    naga::proc::BoundsCheckPolicies {
        index: p,
        buffer: p,
        image_load: p,
        binding_array: naga::proc::BoundsCheckPolicy::Unchecked,
    }
}

fn to_msl(shader: &Shader, module: &Module, info: &naga::valid::ModuleInfo) -> Result<(), String> {
    let options = msl::Options {
        lang_version: (2, 1),
        fake_missing_bindings: false,
        per_entry_point_map: metal_resources(module),
        bounds_check_policies: checked(),
        zero_initialize_workgroup_memory: true,
        ..Default::default()
    };
    for ep in &module.entry_points {
        let pipeline = msl::PipelineOptions { entry_point: Some((ep.stage, ep.name.clone())), ..Default::default() };
        let (src, _) = msl::write_string(module, info, &options, &pipeline)
            .map_err(|e| format!("{} ({}): MSL: {e:?}", shader.file, ep.name))?;
        assert!(src.contains("kernel void"), "{} ({}): no kernel in the MSL", shader.file, ep.name);
    }
    Ok(())
}

fn to_hlsl(shader: &Shader, module: &Module, info: &naga::valid::ModuleInfo) -> Result<(), String> {
    // DX12 exposes SHADER_F16 only at shader model 6.2 (DXC): f16 shaders are translated for that.
    let shader_model = if is_f16(shader) { hlsl::ShaderModel::V6_2 } else { hlsl::ShaderModel::V5_1 };
    let options = hlsl::Options { shader_model, ..Default::default() };
    for ep in &module.entry_points {
        let pipeline = hlsl::PipelineOptions { entry_point: Some((ep.stage, ep.name.clone())) };
        let mut src = String::new();
        hlsl::Writer::new(&mut src, &options, &pipeline)
            .write(module, info, None)
            .map_err(|e| format!("{} ({}): HLSL {shader_model:?}: {e:?}", shader.file, ep.name))?;
        assert!(src.contains("[numthreads("), "{} ({}): no compute entry in the HLSL", shader.file, ep.name);
    }
    Ok(())
}

/// The bounds-check policies wgpu-hal's GL back end uses: GLSL clamps buffer and array indices itself, and image
/// loads are checked only where textureQueryLevels exists (desktop GL 4.3 and later, not GLES).
fn gl_policies(version: glsl::Version) -> naga::proc::BoundsCheckPolicies {
    use naga::proc::BoundsCheckPolicy::{ReadZeroSkipWrite, Unchecked};
    let image_load = match version {
        glsl::Version::Desktop(v) if v >= 430 => ReadZeroSkipWrite,
        _ => Unchecked,
    };
    naga::proc::BoundsCheckPolicies { index: Unchecked, buffer: Unchecked, image_load, binding_array: Unchecked }
}

fn to_glsl(
    shader: &Shader,
    module: &Module,
    info: &naga::valid::ModuleInfo,
    version: glsl::Version,
) -> Result<(), String> {
    let options = glsl::Options { version, ..Default::default() };
    for ep in &module.entry_points {
        let pipeline = glsl::PipelineOptions { shader_stage: ep.stage, entry_point: ep.name.clone(), multiview: None };
        let mut src = String::new();
        let written = glsl::Writer::new(&mut src, module, info, &options, &pipeline, gl_policies(version))
            .and_then(|mut w| w.write());
        // GLSL has no f16 in naga's back end (nor SHADER_F16 on wgpu's GL adapters): an f16 shader must be refused,
        // not written with some other type.
        if is_f16(shader) {
            return match written {
                Err(_) => Ok(()),
                Ok(_) => Err(format!("{} ({}): GLSL {version} wrote an f16 shader", shader.file, ep.name)),
            };
        }
        written.map_err(|e| format!("{} ({}): GLSL {version}: {e:?}", shader.file, ep.name))?;
        assert!(src.contains("layout(local_size_x"), "{} ({}): no compute layout in the GLSL", shader.file, ep.name);
    }
    Ok(())
}

fn to_spirv(shader: &Shader, module: &Module, info: &naga::valid::ModuleInfo) -> Result<(), String> {
    let options = spv::Options { lang_version: (1, 0), bounds_check_policies: checked(), ..Default::default() };
    for ep in &module.entry_points {
        let pipeline = spv::PipelineOptions { shader_stage: ep.stage, entry_point: ep.name.clone() };
        let words = spv::write_vec(module, info, &options, Some(&pipeline))
            .map_err(|e| format!("{} ({}): SPIR-V: {e:?}", shader.file, ep.name))?;
        assert_eq!(words.first(), Some(&0x0723_0203), "{} ({}): not SPIR-V", shader.file, ep.name);
    }
    Ok(())
}

/// Runs one back end over every shader and reports every failure at once.
fn translate_all(backend: &str, f: impl Fn(&Shader, &Module, &naga::valid::ModuleInfo) -> Result<(), String>) {
    let shaders = all_shaders();
    assert!(shaders.len() > 40, "only {} shaders", shaders.len());
    let mut failures = Vec::new();
    let mut entries = 0;
    for shader in &shaders {
        let (module, info) = lower(shader);
        assert!(module.entry_points.iter().all(|ep| ep.stage == ShaderStage::Compute), "{}", shader.file);
        entries += module.entry_points.len();
        if let Err(e) = f(shader, &module, &info) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{backend}: {} of {} shaders fail:\n{}",
        failures.len(),
        shaders.len(),
        failures.join("\n")
    );
    let f16 = shaders.iter().filter(|s| is_f16(s)).count();
    eprintln!("{backend}: {} shaders ({f16} of them f16), {entries} entry points", shaders.len());
}

#[test]
fn every_shader_translates_to_metal_msl_2_1() {
    translate_all("MSL", to_msl);
}

#[test]
fn every_shader_translates_to_dx12_hlsl_sm_5_1() {
    translate_all("HLSL", to_hlsl);
}

#[test]
fn every_shader_translates_to_glsl_es_3_10() {
    translate_all("GLSL ES", |s, m, i| to_glsl(s, m, i, glsl::Version::Embedded { version: 310, is_webgl: false }));
}

#[test]
fn every_shader_translates_to_desktop_glsl_4_30() {
    translate_all("GLSL", |s, m, i| to_glsl(s, m, i, glsl::Version::Desktop(430)));
}

#[test]
fn every_shader_translates_to_spirv_1_0() {
    translate_all("SPIR-V", to_spirv);
}

/// Every entry point fits WebGPU's default limits (what `WGTRAIN_LIMITS=webgpu` requests and a browser grants
/// without asking): storage buffers and sampled textures per stage, invocations per workgroup and workgroup memory,
/// with the override constants at their defaults.
#[test]
fn every_entry_point_fits_webgpu_default_limits() {
    let limits = wgpu::Limits::default();
    let mut failures = Vec::new();
    let (mut most_storage, mut most_workgroup_bytes) = (0, 0);
    for shader in all_shaders() {
        let (module, info) = lower(&shader);
        for (i, ep) in module.entry_points.iter().enumerate() {
            let usage = info.get_entry_point(i);
            let used = || module.global_variables.iter().filter(|(h, _)| !usage[*h].is_empty()).map(|(_, v)| v);
            let storage = used().filter(|v| matches!(v.space, naga::AddressSpace::Storage { .. })).count();
            let textures = used().filter(|v| matches!(module.types[v.ty].inner, naga::TypeInner::Image { .. })).count();
            let workgroup_bytes: u32 = used()
                .filter(|v| v.space == naga::AddressSpace::WorkGroup)
                .map(|v| module.types[v.ty].inner.size(module.to_ctx()))
                .sum();
            let invocations: u32 = ep.workgroup_size.iter().product();
            most_storage = most_storage.max(storage);
            most_workgroup_bytes = most_workgroup_bytes.max(workgroup_bytes);
            let checks = [
                ("storage buffers", storage as u32, limits.max_storage_buffers_per_shader_stage),
                ("sampled textures", textures as u32, limits.max_sampled_textures_per_shader_stage),
                ("invocations per workgroup", invocations, limits.max_compute_invocations_per_workgroup),
                ("workgroup memory bytes", workgroup_bytes, limits.max_compute_workgroup_storage_size),
            ];
            for (what, n, max) in checks {
                if n > max {
                    failures
                        .push(format!("{} ({}): {n} {what}, WebGPU's default limit is {max}", shader.file, ep.name));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The counts are not vacuous: matmul binds 5 storage buffers and the tiled variants share tiles.
    assert!(most_storage >= 5 && most_workgroup_bytes > 0, "{most_storage} storage buffers, {most_workgroup_bytes} B");
    eprintln!(
        "at most {most_storage} storage buffers and {most_workgroup_bytes} bytes of workgroup memory per entry point"
    );
}
