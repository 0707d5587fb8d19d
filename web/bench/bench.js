// One framework per page load (?fw=wgtrain|tfjs|jaxjs): MLP-A (784-128-64-10, ReLU) trained with Adam (lr 1e-3) on
// batches of 128 MNIST rows taken in file order, the same rows for every framework (decoded by wgtrain's IDX reader).
// Each step ends with a full sync (the loss read back), and is timed with performance.now(); `warmup` steps first.
// The result goes to window.benchResult for web/bench/run.mjs.
import init, { start } from "../dist/pkg/wgtrain_web.js";

const params = new URLSearchParams(location.search);
const fw = params.get("fw");
const WARMUP = Number(params.get("warmup") || 20);
const STEPS = Number(params.get("steps") || 200);
const B = 128, LR = 1e-3, HIDDEN = [128, 64], CLASSES = 10, INPUT = 784;
document.getElementById("fw").textContent = fw;

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** The MNIST training rows through wgtrain's own reader, so that every framework trains on the same numbers. */
async function mnist(engine) {
  const dir = "../dist/data/mnist-10k/";
  const names = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz"];
  const [a, b, c, d] = await Promise.all(names.map((n) => fetchBytes(dir + n)));
  engine.load_mnist(a, b, c, d);
  return { x: engine.train_features(), y: engine.train_targets() };
}

/** torch.nn.Linear's initialisation, U(±1/√fan_in), for the peers (wgtrain uses its own, the same law). */
function linearInit(fanIn, fanOut, seed) {
  let s = seed >>> 0;
  const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 4294967296);
  const bound = 1 / Math.sqrt(fanIn);
  const w = new Float32Array(fanIn * fanOut).map(() => (2 * rand() - 1) * bound);
  const b = new Float32Array(fanOut).map(() => (2 * rand() - 1) * bound);
  return { w, b };
}

/** The first loss and the mean over all steps: a check that the peer trains (the mean falls well below the first). */
function lossNote(losses) {
  const mean = losses.reduce((a, b) => a + b, 0) / losses.length;
  return `first ${losses[0].toFixed(4)}, mean over all steps ${mean.toFixed(4)}`;
}

async function runWgtrain(engine) {
  const config = { hidden: HIDDEN, activation: "relu", optimizer: "adam", lr: LR, schedule: "constant",
    schedule_per: "step", batch_size: B, epochs: 1, seed: 0 };
  const r = JSON.parse(await engine.benchmark_steps(JSON.stringify(config), WARMUP, STEPS));
  return { times: r.times_ms, loss: `first ${r.first_loss.toFixed(4)}, mean over all steps ${r.mean_loss.toFixed(4)}` };
}

async function runTfjs(data) {
  const tf = window.tf;
  if (!(await tf.setBackend("webgpu"))) throw new Error("TensorFlow.js could not start its WebGPU backend");
  await tf.ready();
  const sizes = [INPUT, ...HIDDEN, CLASSES];
  const vars = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const { w, b } = linearInit(sizes[i], sizes[i + 1], 17 + i);
    vars.push([tf.variable(tf.tensor2d(w, [sizes[i], sizes[i + 1]])), tf.variable(tf.tensor1d(b))]);
  }
  const n = Math.floor(data.y.length / B);
  const X = tf.tensor2d(data.x, [data.y.length, INPUT]);
  const Y = tf.oneHot(tf.tensor1d(Int32Array.from(data.y), "int32"), CLASSES).toFloat();
  const xs = [], ys = [];
  for (let i = 0; i < n; i++) {
    xs.push(X.slice([i * B, 0], [B, INPUT]));
    ys.push(Y.slice([i * B, 0], [B, CLASSES]));
  }
  const opt = tf.train.adam(LR);
  const times = [], losses = [];
  for (let i = 0; i < WARMUP + STEPS; i++) {
    const x = xs[i % n], y = ys[i % n];
    const t0 = performance.now();
    const loss = opt.minimize(() => {
      let h = x;
      vars.forEach(([w, b], l) => {
        h = tf.add(tf.matMul(h, w), b);
        if (l + 1 < vars.length) h = tf.relu(h);
      });
      return tf.losses.softmaxCrossEntropy(y, h);
    }, true);
    losses.push((await loss.data())[0]);
    loss.dispose();
    if (i >= WARMUP) times.push(performance.now() - t0);
  }
  return { times, loss: lossNote(losses) };
}

async function runJaxjs(data) {
  const jax = await import("./node_modules/@jax-js/jax/dist/index.js");
  const { numpy: np, nn, tree } = jax;
  const devices = await jax.init("webgpu");
  if (!devices.includes("webgpu")) throw new Error(`jax-js has no WebGPU device (it found ${devices.join(", ")})`);
  jax.defaultDevice("webgpu");
  const sizes = [INPUT, ...HIDDEN, CLASSES];
  let p = {};
  for (let i = 0; i + 1 < sizes.length; i++) {
    const { w, b } = linearInit(sizes[i], sizes[i + 1], 17 + i);
    p[`w${i}`] = np.array(w).reshape([sizes[i], sizes[i + 1]]);
    p[`b${i}`] = np.array(b);
  }
  const layers = sizes.length - 1;
  const lossFn = (q, x, y) => {
    let h = x;
    for (let l = 0; l < layers; l++) {
      h = np.matmul(h, q[`w${l}`]).add(q[`b${l}`]);
      if (l + 1 < layers) h = nn.relu(h);
    }
    return nn.logSoftmax(h, -1).mul(y).sum().mul(-1 / B);
  };
  const step = jax.jit(jax.valueAndGrad(lossFn));
  // torch.optim.Adam with the bias corrections folded into two scalars: c1 = lr/(1−β1ᵗ), c2 = 1/√(1−β2ᵗ);
  // θ ← θ − c1·m / (√v·c2 + ε).
  const b1 = 0.9, b2 = 0.999, eps = 1e-8;
  const adam = jax.jit((q, g, m, v, c1, c2) => {
    const out = { q: {}, m: {}, v: {} };
    for (const k of Object.keys(q)) {
      const m2 = m[k].mul(b1).add(g[k].ref.mul(1 - b1));
      const v2 = v[k].mul(b2).add(g[k].ref.mul(g[k]).mul(1 - b2));
      out.q[k] = q[k].sub(m2.ref.mul(c1.ref).div(np.sqrt(v2.ref).mul(c2.ref).add(eps)));
      out.m[k] = m2;
      out.v[k] = v2;
    }
    c1.dispose();
    c2.dispose();
    return out;
  });
  let m = tree.map((a) => np.zerosLike(a.ref), p);
  let v = tree.map((a) => np.zerosLike(a.ref), p);
  const n = Math.floor(data.y.length / B);
  const xs = [], ys = [];
  for (let i = 0; i < n; i++) {
    xs.push(np.array(data.x.subarray(i * B * INPUT, (i + 1) * B * INPUT)).reshape([B, INPUT]));
    const onehot = new Float32Array(B * CLASSES);
    for (let r = 0; r < B; r++) onehot[r * CLASSES + data.y[i * B + r]] = 1;
    ys.push(np.array(onehot).reshape([B, CLASSES]));
  }
  await jax.blockUntilReady([p, m, v, xs, ys]);
  const times = [], losses = [];
  for (let i = 0; i < WARMUP + STEPS; i++) {
    const t = i + 1;
    const t0 = performance.now();
    const [loss, grads] = step(tree.ref(p), xs[i % n].ref, ys[i % n].ref);
    const c1 = np.array(LR / (1 - b1 ** t)), c2 = np.array(1 / Math.sqrt(1 - b2 ** t));
    const out = adam(p, grads, m, v, c1, c2);
    p = out.q;
    m = out.m;
    v = out.v;
    losses.push((await loss.data())[0]);
    await jax.blockUntilReady([p, m, v]);
    if (i >= WARMUP) times.push(performance.now() - t0);
  }
  return { times, loss: lossNote(losses) };
}

async function main() {
  const out = document.getElementById("out");
  try {
    await init();
    const engine = await start();
    const data = await mnist(engine);
    const info = (await (await navigator.gpu.requestAdapter()).info) || {};
    const adapter = [info.vendor, info.architecture, info.description].filter((s) => s).join(" / ");
    let run;
    if (fw === "wgtrain") run = await runWgtrain(engine);
    else if (fw === "tfjs") run = await runTfjs(data);
    else if (fw === "jaxjs") run = await runJaxjs(data);
    else throw new Error(`unknown framework ${fw}`);
    const times = run.times;
    const sorted = [...times].sort((a, b) => a - b);
    const mid = sorted.length / 2;
    const median = sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
    window.benchResult = { fw, adapter, steps: times.length, median_ms: median, loss: run.loss };
  } catch (e) {
    window.benchResult = { fw, error: String(e && e.stack ? e.stack : e) };
  }
  out.textContent = JSON.stringify(window.benchResult, null, 1);
}
main();
