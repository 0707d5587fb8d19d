// Shared by every kernel: prepended to each shader file by src/shaders.rs, after the prelude generated from Rust
// (src/shaders/prelude.rs: shared sizes, activation codes, act_forward / act_derivative).
// - flat_workgroup(): kernels are launched on a 2-D grid so that no dimension exceeds 65,535 workgroups;
//   the flat index restores a 1-D numbering.

fn flat_workgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + wid.y * nwg.x;
}

// Flat texture layout (src/texture.rs): float f of a buffer range copied into an rgba32float texture is
// component f % 4 of texel f / 4, and texel t sits at (t % TEXTURE_WIDTH, t / TEXTURE_WIDTH), split with the
// prelude's FLAT_TEXTURE_SHIFT and FLAT_TEXTURE_MASK.

fn flat_texel(t: texture_2d<f32>, i: u32) -> vec4<f32> {
    return textureLoad(t, vec2<u32>(i & FLAT_TEXTURE_MASK, i >> FLAT_TEXTURE_SHIFT), 0);
}
