// Fused optimizer updates: one dispatch updates every parameter of K models (a lone network is K = 1), model
// z = workgroup_id.z, each with its own hyperparameters and step scalars from models[z] (torch.optim formulas).
// Bindings: 0 scale (model m's gradient scale from clip_scale, or 1, at m · scale_stride), 1 grad [K × n],
// 2 param [K × n] (model-major), 3 state [K × slots × n] (each model's slots one after another), 4 models_params,
// 5 models (one Hyper per model, written once per step). A frozen model (stopped early or diverged) is left as it
// is. Before every rule the gradient is
//     g = scale·grad + weight_decay·θ + l1·sign(θ)           (weight_decay is torch's coupled L2; l1 is ours)
// sgd:     b = g on the first step, else b = μ b + (1 − τ) g;  g = g + μ b (nesterov) or b;  θ −= lr g
// adagrad: s += g²;  θ −= clr · g / (√s + eps),  clr = lr / (1 + (t − 1) lr_decay) (host: step_size)
// rmsprop: v = α v + (1 − α) g²;  centered: ḡ = lerp(ḡ, g, 1 − α), v' = v − ḡ², else v' = v;
//          momentum: b = μ b + g / (√v' + eps), θ −= lr b;  else θ −= lr g / (√v' + eps)
// adam:    AdamW first: θ *= 1 − lr·λ (decoupled, and then no coupled term);  m = lerp(m, g, 1 − β1);
//          v = β2 v + (1 − β2) g²;  amsgrad: v̂ = max(v̂, v);  θ −= (lr / bc1) · m / (√v̂ / √bc2 + eps)
// nadam:   m = lerp(m, g, 1 − β1);  v = β2 v + (1 − β2) g²;  d = √(v / bc2) + eps;
//          θ −= c_g · g / d;  then θ −= c_m · m / d  (two roundings, as torch's two addcdiv_), with the host's
//          c_g = lr (1 − μ_t) / (1 − Π_{i≤t} μ_i) (grad_step_size), c_m = lr μ_{t+1} / (1 − Π_{i≤t+1} μ_i)
//          (step_size), bc2 = 1 − β2^t (bias_correction2), μ_t = β1 (1 − ½ 0.96^(t ψ))
// lerp(a, b, w) is torch's: a + w (b − a) for w < ½, else b − (b − a)(1 − w).
// State slots: sgd [b]; adagrad [s]; rmsprop [v, ḡ, b]; adam [m, v, v̂max]; nadam [m, v]. CPU twin: src/reference/optim.rs.
// Every rule is element-wise, so each invocation updates four parameters as one vec4 (n is a multiple of 4: the
// flat parameter buffer is padded to 64); on CPU-backed drivers this turns per-lane gathers into vector loads.
// Inputs are read from the storage buffers on every adapter: on lavapipe texture copies of a group's [K × n]
// gradients, parameters and state cost more than the cheaper loads save (see ops::optim).

// Pipeline constants (ops::optim::models_constants sets them: a branch is compiled in when any model of the launch
// takes it): CPU drivers run both sides of every branch under a lane mask, and each storage access there is a loop
// over the lanes, so an unused state slot would still cost a load and a store per element.
override HAS_MOMENTUM: bool = true;
override CENTERED: bool = true;
override AMSGRAD: bool = true;
// Loss-scaled steps (ops::optim::optimizer_update_models_skipping): a model whose found_inf word, scale[m ·
// scale_stride + 2] (loss_scale.wgsl), is set is skipped like a frozen one, and each model's record is the one the
// host wrote for the steps it has skipped since the host last counted them (see `record`).
override SKIP_NON_FINITE: bool = false;
// The records the host writes per model for a loss-scaled step: for 0, 1, 2, 3 skipped steps not yet counted
// (ops::optim::SKIP_RECORDS).
const SKIP_RECORDS: u32 = 4u;

@group(0) @binding(0) var<storage, read> scale: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> param: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> state: array<vec4<f32>>;

// One model's hyperparameters and step scalars (ops::optim::ModelHyper mirrors it).
struct Hyper {
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
    lr: f32,
    step_size: f32,
    bias_correction2_sqrt: f32,
    first_step: u32,
    frozen: u32,
    grad_step_size: f32,
    bias_correction2: f32,
    _pad0: u32,
}

// The most models one launch updates (the uniform array's length; larger groups are split).
const MAX_MODELS: u32 = 256u;

// n: parameters per model; scale_stride: floats between consecutive models' gradient scales; slots: state slots.
struct ModelsParams {
    n: u32,
    scale_stride: u32,
    slots: u32,
    models: u32,
}

@group(0) @binding(4) var<uniform> models_params: ModelsParams;
@group(0) @binding(5) var<uniform> models: array<Hyper, MAX_MODELS>;

// Model m's record: models[m], or in a loss-scaled launch models[m + K·j] with j the skipped steps not yet counted
// (the pending word, scale[m · scale_stride + 9], set by loss_scale_update), whose step scalars count only the
// steps taken, as torch's optimizer, which a skipped step does not call.
fn record(m: u32) -> u32 {
    if (!SKIP_NON_FINITE) { return m; }
    let k = models_params.models;
    let pending = u32(scale[m * models_params.scale_stride + 9u]);
    return m + k * min(pending, min(SKIP_RECORDS, MAX_MODELS / k) - 1u);
}

fn element_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return flat_workgroup(wid, nwg) * WG_ELEMENTWISE + lid;
}

// Where one invocation's four parameters live: p indexes param and grad (vec4s), s the first state slot, slot is
// the distance between slots (vec4s); scale is the gradient scale from clip_scale (or 1).
struct Element {
    p: u32,
    s: u32,
    slot: u32,
    scale: f32,
}

// Model wid.z, its i-th vec4 (slot = 0 past the end or when frozen).
fn model_element(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> Element {
    let i = element_index(wid, nwg, lid);
    let n = models_params.n / 4u;
    let m = wid.z;
    let overflowed = SKIP_NON_FINITE && scale[m * models_params.scale_stride + 2u] != 0.0;
    let live = i < n && models[m].frozen == 0u && !overflowed;
    return Element(m * n + i, m * models_params.slots * n + i, select(0u, n, live),
                   scale[m * models_params.scale_stride]);
}

fn regularized_grad(e: Element, h: Hyper, theta: vec4<f32>) -> vec4<f32> {
    return e.scale * grad[e.p] + h.weight_decay * theta + h.l1 * sign(theta);
}

fn lerp(a: vec4<f32>, b: vec4<f32>, w: f32) -> vec4<f32> {
    if (w < 0.5) { return a + w * (b - a); }
    return b - (b - a) * (1.0 - w);
}

fn sgd_rule(e: Element, h: Hyper) {
    let theta = param[e.p];
    var g = regularized_grad(e, h, theta);
    if (HAS_MOMENTUM && h.momentum > 0.0) {
        var b = g;
        if (h.first_step == 0u) { b = h.momentum * state[e.s] + (1.0 - h.dampening) * g; }
        state[e.s] = b;
        g = select(b, g + h.momentum * b, h.nesterov != 0u);
    }
    param[e.p] = theta - h.lr * g;
}

fn adagrad_rule(e: Element, h: Hyper) {
    let theta = param[e.p];
    let g = regularized_grad(e, h, theta);
    let s = state[e.s] + g * g;
    state[e.s] = s;
    param[e.p] = theta - h.step_size * g / (sqrt(s) + h.eps);
}

fn rmsprop_rule(e: Element, h: Hyper) {
    let theta = param[e.p];
    let g = regularized_grad(e, h, theta);
    let v = h.alpha * state[e.s] + (1.0 - h.alpha) * g * g;
    state[e.s] = v;
    var avg = v;
    if (CENTERED && h.centered != 0u) {
        let gm = lerp(state[e.s + e.slot], g, 1.0 - h.alpha);
        state[e.s + e.slot] = gm;
        avg = v - gm * gm;
    }
    let denom = sqrt(avg) + h.eps;
    if (HAS_MOMENTUM && h.momentum > 0.0) {
        let b = h.momentum * state[e.s + 2u * e.slot] + g / denom;
        state[e.s + 2u * e.slot] = b;
        param[e.p] = theta - h.lr * b;
    } else {
        param[e.p] = theta - h.lr * g / denom;
    }
}

fn adam_rule(e: Element, h: Hyper) {
    let theta = param[e.p] * (1.0 - h.lr * h.decoupled_weight_decay);
    let g = regularized_grad(e, h, theta);
    let m = lerp(state[e.s], g, 1.0 - h.beta1);
    let v = h.beta2 * state[e.s + e.slot] + (1.0 - h.beta2) * g * g;
    state[e.s] = m;
    state[e.s + e.slot] = v;
    var vhat = v;
    if (AMSGRAD && h.amsgrad != 0u) {
        vhat = max(state[e.s + 2u * e.slot], v);
        state[e.s + 2u * e.slot] = vhat;
    }
    param[e.p] = theta - h.step_size * m / (sqrt(vhat) / h.bias_correction2_sqrt + h.eps);
}

fn nadam_rule(e: Element, h: Hyper) {
    let theta = param[e.p];
    let g = regularized_grad(e, h, theta);
    let m = lerp(state[e.s], g, 1.0 - h.beta1);
    let v = h.beta2 * state[e.s + e.slot] + (1.0 - h.beta2) * g * g;
    state[e.s] = m;
    state[e.s + e.slot] = v;
    let denom = sqrt(v / h.bias_correction2) + h.eps;
    let after_grad = theta - h.grad_step_size * g / denom;
    param[e.p] = after_grad - h.step_size * m / denom;
}

@compute @workgroup_size(WG_ELEMENTWISE)
fn sgd_update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let e = model_element(wid, nwg, lid);
    if (e.slot == 0u) { return; }
    sgd_rule(e, models[record(wid.z)]);
}

@compute @workgroup_size(WG_ELEMENTWISE)
fn adagrad_update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let e = model_element(wid, nwg, lid);
    if (e.slot == 0u) { return; }
    adagrad_rule(e, models[record(wid.z)]);
}

@compute @workgroup_size(WG_ELEMENTWISE)
fn rmsprop_update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let e = model_element(wid, nwg, lid);
    if (e.slot == 0u) { return; }
    rmsprop_rule(e, models[record(wid.z)]);
}

@compute @workgroup_size(WG_ELEMENTWISE)
fn adam_update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let e = model_element(wid, nwg, lid);
    if (e.slot == 0u) { return; }
    adam_rule(e, models[record(wid.z)]);
}

@compute @workgroup_size(WG_ELEMENTWISE)
fn nadam_update(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
    let e = model_element(wid, nwg, lid);
    if (e.slot == 0u) { return; }
    nadam_rule(e, models[record(wid.z)]);
}
