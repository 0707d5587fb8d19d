// Shared by every kernel: prepended to each shader file by src/shaders.rs.
// - Activation codes and their forward/derivative formulas (CPU twin: src/reference/activation.rs).
// - flat_workgroup(): kernels are launched on a 2-D grid so that no dimension exceeds 65,535 workgroups;
//   the flat index restores a 1-D numbering.

const ACT_IDENTITY: u32 = 0u;
const ACT_RELU: u32 = 1u;
const ACT_LEAKY_RELU: u32 = 2u;
const ACT_SIGMOID: u32 = 3u;
const ACT_TANH: u32 = 4u;
const ACT_GELU: u32 = 5u;

// sqrt(2/pi), as torch's gelu(approximate='tanh').
const GELU_K: f32 = 0.7978845608028654;
const GELU_C: f32 = 0.044715;

fn flat_workgroup(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + wid.y * nwg.x;
}

// Some drivers evaluate tanh through exp and overflow to NaN for large |x|; tanh(±15) is ±1 in f32.
fn safe_tanh(x: f32) -> f32 {
    return tanh(clamp(x, -15.0, 15.0));
}

// exp(-|x|) never overflows, so both branches stay finite.
fn stable_sigmoid(x: f32) -> f32 {
    let e = exp(-abs(x));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

fn act_forward(x: f32, kind: u32, slope: f32) -> f32 {
    switch kind {
        case 1u: { return max(x, 0.0); }
        case 2u: { return select(x * slope, x, x > 0.0); }
        case 3u: { return stable_sigmoid(x); }
        case 4u: { return safe_tanh(x); }
        case 5u: { return 0.5 * x * (1.0 + safe_tanh(GELU_K * (x + GELU_C * x * x * x))); }
        default: { return x; }
    }
}

// d act / dx evaluated at the pre-activation x (torch's convention: relu'(0) = 0, leaky'(0) = slope).
fn act_derivative(x: f32, kind: u32, slope: f32) -> f32 {
    switch kind {
        case 1u: { return select(0.0, 1.0, x > 0.0); }
        case 2u: { return select(slope, 1.0, x > 0.0); }
        case 3u: {
            let s = stable_sigmoid(x);
            return s * (1.0 - s);
        }
        case 4u: {
            let t = safe_tanh(x);
            return 1.0 - t * t;
        }
        case 5u: {
            let x2 = x * x;
            let t = safe_tanh(GELU_K * (x + GELU_C * x2 * x));
            return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_K * (1.0 + 3.0 * GELU_C * x2);
        }
        default: { return 1.0; }
    }
}

// Scalars that change every optimizer step, written once per step (src/ops/step.rs: StepScalars).
struct Step {
    lr: f32,
    step_size: f32,
    bias_correction2_sqrt: f32,
    first_step: u32,
    batch_offset: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// Flat texture layout (src/ops/texture.rs): float f of a buffer range copied into an rgba32float texture is
// component f % 4 of texel f / 4, and texel t sits at (t % 4096, t / 4096).
const FLAT_TEXTURE_SHIFT: u32 = 12u;
const FLAT_TEXTURE_MASK: u32 = 4095u;

fn flat_texel(t: texture_2d<f32>, i: u32) -> vec4<f32> {
    return textureLoad(t, vec2<u32>(i & FLAT_TEXTURE_MASK, i >> FLAT_TEXTURE_SHIFT), 0);
}
