// The training page: form → wgtrain's wasm engine (pkg/wgtrain_web.js) → chart, drawing pad and download.
import init, { start } from "./pkg/wgtrain_web.js";

const $ = (id) => document.getElementById(id);
const ui = {
  dataset: $("dataset"), csvBox: $("csv-box"), drop: $("drop"), csvFile: $("csv-file"), target: $("target"),
  testFraction: $("test-fraction"), dataInfo: $("data-info"), hidden: $("hidden"), activation: $("activation"),
  optimizer: $("optimizer"), lr: $("lr"), schedule: $("schedule"), batch: $("batch"), epochs: $("epochs"),
  seed: $("seed"), train: $("train"), stop: $("stop"), download: $("download"), status: $("status"),
  progress: $("progress"), accuracy: $("accuracy"), testLoss: $("test-loss"), stepMs: $("step-ms"),
  chart: $("chart"), drawBox: $("draw-box"), pad: $("pad"), prediction: $("prediction"), bars: $("bars"),
  clear: $("clear"), adapter: $("adapter"), precision: $("precision"), precisionBox: $("precision-box"),
};

let engine = null;
let loaded = null; // {key, summary}
let csv = null; // {name, bytes}
let training = false;
let history = []; // per epoch: {epoch, train_loss, test_loss, test_accuracy}
let running = []; // running training loss points: {x (fractional epoch), loss}

function setStatus(text) {
  ui.status.textContent = text;
}

function fail(message) {
  setStatus(`error: ${message}`);
}

function noWebGpu(reason) {
  $("no-webgpu").hidden = false;
  $("no-webgpu-reason").textContent = reason ? `(${reason})` : "";
  ui.adapter.textContent = "No WebGPU adapter.";
  fail(`no WebGPU${reason ? ": " + reason : ""}`);
}

async function describeAdapter() {
  // wgpu reports what the browser tells it; GPUAdapterInfo's vendor and architecture name the adapter when the
  // description is empty (Chromium's SwiftShader, for one).
  const adapter = await navigator.gpu.requestAdapter();
  const info = adapter && adapter.info ? adapter.info : {};
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => s);
  const fallback = info.isFallbackAdapter ? " (software fallback adapter)" : "";
  return (parts.length ? parts.join(" / ") : "unnamed adapter") + fallback;
}

async function boot() {
  if (!("gpu" in navigator)) {
    noWebGpu("navigator.gpu is missing");
    return;
  }
  try {
    // Asked first so the message names the browser's refusal (wgtrain's own error speaks of native drivers).
    if (!(await navigator.gpu.requestAdapter())) {
      noWebGpu("the browser offers no WebGPU adapter: WebGPU is turned off, or this GPU is on its blocklist");
      return;
    }
    await init();
    engine = await start();
  } catch (e) {
    noWebGpu(String(e && e.message ? e.message : e));
    return;
  }
  try {
    ui.adapter.textContent = `WebGPU adapter: ${await describeAdapter()}; wgtrain uses its ${engine.kernel_family()} kernels.`;
  } catch (e) {
    ui.adapter.textContent = `WebGPU adapter: ${engine.adapter()}`;
  }
  // Half precision only where the device has SHADER_F16.
  ui.precisionBox.hidden = !engine.has_f16();
  ui.train.disabled = false;
  setStatus("ready");
}

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function loadData() {
  const kind = ui.dataset.value;
  const key = kind === "csv" ? `csv:${csv ? csv.name : ""}:${ui.target.value}:${ui.testFraction.value}` : kind;
  if (loaded && loaded.key === key) return loaded.summary;
  let summary;
  if (kind === "mnist") {
    setStatus("loading MNIST");
    const dir = "data/mnist-10k/";
    const files = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
      "t10k-labels-idx1-ubyte.gz"];
    const [ti, tl, si, sl] = await Promise.all(files.map((f) => fetchBytes(dir + f)));
    summary = engine.load_mnist(ti, tl, si, sl);
  } else if (kind === "xor") {
    summary = engine.load_xor(2000, 1);
  } else {
    if (!csv) throw new Error("drop a CSV file first");
    summary = engine.load_csv(csv.bytes, csv.name, ui.target.value, Number(ui.testFraction.value));
  }
  const s = JSON.parse(summary);
  loaded = { key, summary: s };
  const classes = s.classes ? `${s.classes.length} classes` : "regression";
  ui.dataInfo.textContent = `${s.name}: ${s.train_rows} training rows, ${s.test_rows} test rows, ${s.features} features, ${classes}.`;
  return s;
}

function scheduleSpec(epochs, stepsPerEpoch) {
  switch (ui.schedule.value) {
    case "cosine": return { schedule: `cosine:${Math.max(1, epochs * stepsPerEpoch)}:0`, schedule_per: "step" };
    case "step": return { schedule: "step:2:0.5", schedule_per: "epoch" };
    case "inv-sqrt": return { schedule: "inv-sqrt", schedule_per: "step" };
    default: return { schedule: "constant", schedule_per: "step" };
  }
}

function settings(summary) {
  const hidden = ui.hidden.value.split(",").map((s) => s.trim()).filter((s) => s.length);
  if (!hidden.length || hidden.some((s) => !/^\d+$/.test(s) || Number(s) < 1)) {
    throw new Error(`hidden layers: "${ui.hidden.value}" is not a comma-separated list of widths ≥ 1`);
  }
  const epochs = Number(ui.epochs.value);
  const batch = Number(ui.batch.value);
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error("epochs: a whole number ≥ 1");
  if (!Number.isInteger(batch) || batch < 1) throw new Error("batch size: a whole number ≥ 1");
  const lr = Number(ui.lr.value);
  if (!(lr > 0)) throw new Error("learning rate: a number > 0");
  const steps = Math.ceil(summary.train_rows / Math.min(batch, summary.train_rows));
  return {
    hidden: hidden.map(Number), activation: ui.activation.value, optimizer: ui.optimizer.value, lr,
    ...scheduleSpec(epochs, steps), batch_size: batch, epochs, seed: Number(ui.seed.value) || 0,
    precision: ui.precisionBox.hidden ? "f32" : ui.precision.value,
  };
}

function fmt(v, digits = 4) {
  return v === null || v === undefined || Number.isNaN(v) ? "–" : Number(v).toFixed(digits);
}

async function train() {
  if (training) return;
  training = true;
  ui.train.disabled = true;
  ui.download.disabled = true;
  ui.stop.disabled = false;
  ui.accuracy.textContent = "";
  ui.stepMs.textContent = "";
  ui.testLoss.textContent = "";
  history = [];
  running = [];
  drawChart();
  try {
    const summary = await loadData();
    const config = settings(summary);
    let epoch = 0;
    let steps = 1;
    setStatus("compiling kernels");
    const result = JSON.parse(await engine.train(JSON.stringify(config), (json) => {
      const e = JSON.parse(json);
      if (e.type === "epoch_start") {
        epoch = e.epoch;
        steps = e.steps;
        setStatus(`training: epoch ${epoch} of ${config.epochs}`);
        ui.progress.value = (epoch - 1) / config.epochs;
      } else if (e.type === "step") {
        ui.progress.value = (epoch - 1 + e.step / steps) / config.epochs;
        running.push({ x: epoch - 1 + e.step / steps, loss: e.loss });
        drawChart();
      } else if (e.type === "epoch_end") {
        history.push({ epoch: e.record.epoch, train_loss: e.record.train_loss, test_loss: e.test_loss,
          test_accuracy: e.test_accuracy });
        ui.testLoss.textContent = fmt(e.test_loss);
        ui.progress.value = e.record.epoch / config.epochs;
        drawChart();
      }
    }));
    ui.progress.value = 1;
    ui.accuracy.textContent = result.test_accuracy === null ? "n/a (regression)" : fmt(result.test_accuracy);
    ui.testLoss.textContent = fmt(result.test_loss);
    ui.stepMs.textContent = fmt(result.step_ms_median, 2);
    setStatus(result.stopped ? `done (stopped after ${result.epochs} epochs)` : `done: ${result.epochs} epochs`);
    ui.download.disabled = false;
    ui.drawBox.hidden = loaded.key !== "mnist";
  } catch (e) {
    fail(e && e.message ? e.message : String(e));
  } finally {
    training = false;
    ui.train.disabled = false;
    ui.stop.disabled = true;
  }
}

function drawChart() {
  const c = ui.chart;
  const g = c.getContext("2d");
  const w = c.width, h = c.height, left = 48, right = 48, top = 12, bottom = 28;
  g.clearRect(0, 0, w, h);
  g.font = "11px sans-serif";
  g.strokeStyle = "#999";
  g.strokeRect(left, top, w - left - right, h - top - bottom);
  const epochs = Math.max(1, Number(ui.epochs.value) || 1);
  const losses = running.map((p) => p.loss).concat(history.flatMap((r) => [r.train_loss, r.test_loss]))
    .filter((v) => Number.isFinite(v));
  const maxLoss = losses.length ? Math.max(...losses) * 1.05 : 1;
  const x = (e) => left + (e / epochs) * (w - left - right);
  const yl = (v) => top + (1 - v / maxLoss) * (h - top - bottom);
  const ya = (v) => top + (1 - v) * (h - top - bottom);
  g.fillStyle = "#555";
  g.fillText(fmt(maxLoss, 3), 4, top + 10);
  g.fillText("0", 4, h - bottom);
  g.fillText("1.0", w - right + 6, top + 10);
  g.fillText("0", w - right + 6, h - bottom);
  g.fillText("epoch", w / 2 - 14, h - 8);
  for (let e = 0; e <= epochs; e += Math.max(1, Math.ceil(epochs / 10))) g.fillText(String(e), x(e) - 3, h - bottom + 12);
  const line = (points, color) => {
    if (!points.length) return;
    g.strokeStyle = color;
    g.fillStyle = color;
    g.beginPath();
    points.forEach(([px, py], i) => (i ? g.lineTo(px, py) : g.moveTo(px, py)));
    g.stroke();
    points.forEach(([px, py]) => g.fillRect(px - 2, py - 2, 4, 4));
  };
  line(running.filter((p) => Number.isFinite(p.loss)).map((p) => [x(p.x), yl(p.loss)]), "#1f77b4");
  line(history.filter((r) => Number.isFinite(r.test_loss)).map((r) => [x(r.epoch), yl(r.test_loss)]), "#d62728");
  line(history.filter((r) => r.test_accuracy !== null).map((r) => [x(r.epoch), ya(r.test_accuracy)]), "#2ca02c");
}

// The drawing pad: white strokes on black, as MNIST's digits.
const pad = ui.pad.getContext("2d");
function clearPad() {
  pad.fillStyle = "#000";
  pad.fillRect(0, 0, ui.pad.width, ui.pad.height);
  ui.prediction.textContent = "–";
  ui.bars.textContent = "";
}
clearPad();
let drawing = false;
let last = null;
function point(ev) {
  const r = ui.pad.getBoundingClientRect();
  return [(ev.clientX - r.left) * (ui.pad.width / r.width), (ev.clientY - r.top) * (ui.pad.height / r.height)];
}
ui.pad.addEventListener("pointerdown", (ev) => {
  drawing = true;
  last = point(ev);
  ui.pad.setPointerCapture(ev.pointerId);
});
ui.pad.addEventListener("pointermove", (ev) => {
  if (!drawing) return;
  const p = point(ev);
  pad.strokeStyle = "#fff";
  pad.lineWidth = 20;
  pad.lineCap = "round";
  pad.beginPath();
  pad.moveTo(last[0], last[1]);
  pad.lineTo(p[0], p[1]);
  pad.stroke();
  last = p;
});
ui.pad.addEventListener("pointerup", () => {
  drawing = false;
  predictDrawing();
});
ui.clear.addEventListener("click", clearPad);

// MNIST's preprocessing: the digit's bounding box scaled to fit 20×20, then placed in 28×28 so that its centre of
// mass sits at the centre.
function digitPixels() {
  const { width, height } = ui.pad;
  const src = pad.getImageData(0, 0, width, height).data;
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (src[4 * (y * width + x)] > 20) {
        x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return null;
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1, scale = 20 / Math.max(bw, bh);
  const small = document.createElement("canvas");
  small.width = 28;
  small.height = 28;
  const s = small.getContext("2d");
  s.fillStyle = "#000";
  s.fillRect(0, 0, 28, 28);
  s.imageSmoothingEnabled = true;
  s.imageSmoothingQuality = "high";
  const dw = bw * scale, dh = bh * scale;
  s.drawImage(ui.pad, x0, y0, bw, bh, (28 - dw) / 2, (28 - dh) / 2, dw, dh);
  let img = s.getImageData(0, 0, 28, 28).data;
  let mass = 0, cx = 0, cy = 0;
  for (let i = 0; i < 784; i++) {
    const v = img[4 * i] / 255;
    mass += v; cx += v * (i % 28); cy += v * Math.floor(i / 28);
  }
  const shift = document.createElement("canvas");
  shift.width = 28;
  shift.height = 28;
  const t = shift.getContext("2d");
  t.fillStyle = "#000";
  t.fillRect(0, 0, 28, 28);
  t.drawImage(small, Math.round(13.5 - cx / mass), Math.round(13.5 - cy / mass));
  img = t.getImageData(0, 0, 28, 28).data;
  const pixels = new Float32Array(784);
  for (let i = 0; i < 784; i++) pixels[i] = img[4 * i] / 255;
  return pixels;
}

async function predictDrawing() {
  if (!engine || training || !loaded || loaded.key !== "mnist") return;
  const pixels = digitPixels();
  if (!pixels) return;
  try {
    const probs = await engine.predict(pixels);
    let best = 0;
    probs.forEach((p, i) => { if (p > probs[best]) best = i; });
    ui.prediction.textContent = `${best} (${(100 * probs[best]).toFixed(1)}%)`;
    ui.bars.textContent = "";
    probs.forEach((p, i) => {
      const row = document.createElement("div");
      row.className = "bar";
      row.innerHTML = `<span>${i}</span><span class="fill" style="width:${(100 * p).toFixed(1)}%"></span>`;
      ui.bars.appendChild(row);
    });
  } catch (e) {
    ui.prediction.textContent = `error: ${e && e.message ? e.message : e}`;
  }
}

async function download() {
  try {
    const bytes = await engine.model_bytes();
    const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `${loaded ? loaded.summary.name.replace(/\.csv$/i, "") : "model"}.safetensors`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    fail(e && e.message ? e.message : String(e));
  }
}

function readCsv(file) {
  file.arrayBuffer().then((buf) => {
    csv = { name: file.name, bytes: new Uint8Array(buf) };
    loaded = null;
    $("csv-name").textContent = `${file.name} (${buf.byteLength} bytes)`;
    ui.dataInfo.textContent = "";
  });
}

ui.dataset.addEventListener("change", () => {
  ui.csvBox.hidden = ui.dataset.value !== "csv";
  ui.dataInfo.textContent = "";
});
ui.drop.addEventListener("dragover", (ev) => { ev.preventDefault(); ui.drop.classList.add("over"); });
ui.drop.addEventListener("dragleave", () => ui.drop.classList.remove("over"));
ui.drop.addEventListener("drop", (ev) => {
  ev.preventDefault();
  ui.drop.classList.remove("over");
  if (ev.dataTransfer.files.length) readCsv(ev.dataTransfer.files[0]);
});
ui.csvFile.addEventListener("change", () => { if (ui.csvFile.files.length) readCsv(ui.csvFile.files[0]); });
ui.train.addEventListener("click", train);
ui.stop.addEventListener("click", () => engine && engine.stop());
ui.download.addEventListener("click", download);
drawChart();
boot();
