// Fused optimizer updates: one dispatch updates every parameter of the flat parameter buffer (torch.optim formulas).
// Bindings: 0 params (hyperparameters), 1 step (per-step scalars), 2 scale ([0] = gradient scale from clip_scale,
// or 1), 3 grad [n], 4 param [n], 5 state [slots · n]. Before every rule the gradient is
//     g = scale·grad + weight_decay·θ + l1·sign(θ)           (weight_decay is torch's coupled L2; l1 is ours)
// sgd_update:     b = g on the first step, else b = μ b + (1 − τ) g;  g = g + μ b (nesterov) or b;  θ −= lr g
// adagrad_update: s += g²;  θ −= clr · g / (√s + eps),  clr = lr / (1 + (t − 1) lr_decay) (host: step.step_size)
// rmsprop_update: v = α v + (1 − α) g²;  centered: ḡ = lerp(ḡ, g, 1 − α), v' = v − ḡ², else v' = v;
//                 momentum: b = μ b + g / (√v' + eps), θ −= lr b;  else θ −= lr g / (√v' + eps)
// adam_update:    AdamW first: θ *= 1 − lr·λ (decoupled, and then no coupled term);  m = lerp(m, g, 1 − β1);
//                 v = β2 v + (1 − β2) g²;  amsgrad: v̂ = max(v̂, v);  θ −= (lr / bc1) · m / (√v̂ / √bc2 + eps)
// lerp(a, b, w) is torch's: a + w (b − a) for w < ½, else b − (b − a)(1 − w).
// State slots: sgd [b]; adagrad [s]; rmsprop [v, ḡ, b]; adam [m, v, v̂max]. CPU twin: src/reference/optim.rs.
// Every rule is element-wise, so each invocation updates four parameters as one vec4 (n is a multiple of 4: the
// flat parameter buffer is padded to 64); on CPU-backed drivers this turns per-lane gathers into vector loads.

struct OptimParams {
    n: u32,
    momentum: f32,
    dampening: f32,
    nesterov: u32,
    weight_decay: f32,
    decoupled_weight_decay: f32,
    l1: f32,
    eps: f32,
    alpha: f32,
    centered: u32,
    beta1: f32,
    beta2: f32,
    amsgrad: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// Pipeline constants (ops::optim::optimizer_constants sets them from the configuration): CPU drivers run both sides
// of every branch under a lane mask, and each storage access there is a loop over the lanes, so an unused state
// slot would still cost a load and a store per element.
override HAS_MOMENTUM: bool = true;
// Read grad, param and state from texture copies (refreshed just before the launch) instead of the buffers: on
// CPU drivers a texel fetch is about ten times cheaper than a storage-buffer load. Writes go to the buffers.
override TEXTURE_INPUTS: bool = false;
override CENTERED: bool = true;
override AMSGRAD: bool = true;

@group(0) @binding(0) var<uniform> params: OptimParams;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> param: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> state: array<vec4<f32>>;
@group(0) @binding(6) var grad_texture: texture_2d<f32>;
@group(0) @binding(7) var param_texture: texture_2d<f32>;
@group(0) @binding(8) var state_texture: texture_2d<f32>;
@group(0) @binding(9) var scale_texture: texture_2d<f32>;

fn load_scale() -> f32 {
    if (TEXTURE_INPUTS) { return flat_texel(scale_texture, 0u).x; }
    return scale[0];
}

fn load_grad(i: u32) -> vec4<f32> {
    if (TEXTURE_INPUTS) { return flat_texel(grad_texture, i); }
    return grad[i];
}

fn load_param(i: u32) -> vec4<f32> {
    if (TEXTURE_INPUTS) { return flat_texel(param_texture, i); }
    return param[i];
}

fn load_state(i: u32) -> vec4<f32> {
    if (TEXTURE_INPUTS) { return flat_texel(state_texture, i); }
    return state[i];
}

fn element_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return flat_workgroup(wid, nwg) * WG_ELEMENTWISE + lid;
}

fn regularized_grad(i: u32, theta: vec4<f32>) -> vec4<f32> {
    return load_scale() * load_grad(i) + params.weight_decay * theta + params.l1 * sign(theta);
}

fn lerp(a: vec4<f32>, b: vec4<f32>, w: f32) -> vec4<f32> {
    if (w < 0.5) { return a + w * (b - a); }
    return b - (b - a) * (1.0 - w);
}

@compute @workgroup_size(WG_ELEMENTWISE)
fn sgd_update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let i = element_index(wid, nwg, lid);
    if (i >= params.n / 4u) { return; }
    let theta = load_param(i);
    var g = regularized_grad(i, theta);
    if (HAS_MOMENTUM) {
        var b = g;
        if (step.first_step == 0u) { b = params.momentum * load_state(i) + (1.0 - params.dampening) * g; }
        state[i] = b;
        g = select(b, g + params.momentum * b, params.nesterov != 0u);
    }
    param[i] = theta - step.lr * g;
}

@compute @workgroup_size(WG_ELEMENTWISE)
fn adagrad_update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let i = element_index(wid, nwg, lid);
    if (i >= params.n / 4u) { return; }
    let theta = load_param(i);
    let g = regularized_grad(i, theta);
    let s = load_state(i) + g * g;
    state[i] = s;
    param[i] = theta - step.step_size * g / (sqrt(s) + params.eps);
}

@compute @workgroup_size(WG_ELEMENTWISE)
fn rmsprop_update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let i = element_index(wid, nwg, lid);
    let n = params.n / 4u;
    if (i >= n) { return; }
    let theta = load_param(i);
    let g = regularized_grad(i, theta);
    let v = params.alpha * load_state(i) + (1.0 - params.alpha) * g * g;
    state[i] = v;
    var avg = v;
    if (CENTERED) {
        let gm = lerp(load_state(n + i), g, 1.0 - params.alpha);
        state[n + i] = gm;
        avg = v - gm * gm;
    }
    let denom = sqrt(avg) + params.eps;
    if (HAS_MOMENTUM) {
        let b = params.momentum * load_state(2u * n + i) + g / denom;
        state[2u * n + i] = b;
        param[i] = theta - step.lr * b;
    } else {
        param[i] = theta - step.lr * g / denom;
    }
}

@compute @workgroup_size(WG_ELEMENTWISE)
fn adam_update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let i = element_index(wid, nwg, lid);
    let n = params.n / 4u;
    if (i >= n) { return; }
    let theta = load_param(i) * (1.0 - step.lr * params.decoupled_weight_decay);
    let g = regularized_grad(i, theta);
    let m = lerp(load_state(i), g, 1.0 - params.beta1);
    let v = params.beta2 * load_state(n + i) + (1.0 - params.beta2) * g * g;
    state[i] = m;
    state[n + i] = v;
    var vhat = v;
    if (AMSGRAD) {
        vhat = max(load_state(2u * n + i), v);
        state[2u * n + i] = vhat;
    }
    param[i] = theta - step.step_size * m / (sqrt(vhat) / step.bias_correction2_sqrt + params.eps);
}
