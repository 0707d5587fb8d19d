// End to end through the page: web/dist served on 127.0.0.1, headless Chromium (playwright-core), MNIST MLP-A
// (784-128-64-10, ReLU, Adam 1e-3, batch 128) for 3 epochs; the page's test accuracy must reach 0.85, and the model
// it downloads must load in the native `wgtrain eval` and score the same on the same 2,000 test digits.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve, launch, webDir, rootDir } from "./harness.mjs";

const MIN_ACCURACY = 0.85;
// Same weights on another adapter (the CLI runs on lavapipe): predictions differ only where two logits are within
// rounding of each other, a handful of the 2,000 digits at most.
const EVAL_TOLERANCE = 0.0025;

const wgtrain = process.env.WGTRAIN_BIN || join(process.env.CARGO_TARGET_DIR || join(rootDir, "target"), "release", "wgtrain");
if (!existsSync(wgtrain)) throw new Error(`${wgtrain} is missing: cargo build --release --bin wgtrain`);

const server = await serve(join(webDir, "dist"));
const work = mkdtempSync(join(tmpdir(), "wgtrain-e2e-"));
let failed = false;
let close = async () => {};
try {
  const launched = await launch();
  close = launched.close;
  const browser = launched.browser;
  const page = await browser.newPage({ acceptDownloads: true });
  page.on("console", (m) => console.log(`page ${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => console.log(`page error: ${e.message}`));
  await page.goto(server.url);
  const status = page.getByTestId("status");
  // The engine is ready once the button is enabled (or the page said why not).
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid="status"]').textContent;
    return s === "ready" || s.startsWith("error");
  }, null, { timeout: 60_000 });
  if ((await status.textContent()).startsWith("error")) throw new Error(`page: ${await status.textContent()}`);
  console.log(`e2e: ${await page.locator("#adapter").textContent()}`);
  await page.getByTestId("dataset").selectOption("mnist");
  await page.locator("#hidden").fill("128,64");
  await page.locator("#activation").selectOption("relu");
  await page.locator("#optimizer").selectOption("adam");
  await page.locator("#lr").fill("0.001");
  await page.locator("#batch").fill("128");
  await page.getByTestId("epochs").fill("3");
  const started = Date.now();
  await page.getByTestId("train").click();
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid="status"]').textContent;
    return s.startsWith("done") || s.startsWith("error");
  }, null, { timeout: 900_000, polling: 500 });
  const finalStatus = await status.textContent();
  if (!finalStatus.startsWith("done")) throw new Error(`page: ${finalStatus}`);
  const accuracy = Number(await page.getByTestId("accuracy").textContent());
  const stepMs = Number(await page.getByTestId("step-ms").textContent());
  console.log(`e2e: ${finalStatus} in ${((Date.now() - started) / 1000).toFixed(1)} s; test accuracy ${accuracy}, median step ${stepMs} ms`);
  if (!(accuracy >= MIN_ACCURACY && accuracy <= 1)) throw new Error(`test accuracy ${accuracy} < ${MIN_ACCURACY}`);
  if (!(stepMs > 0)) throw new Error(`step-ms is not a positive number: ${stepMs}`);

  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#download").click()]);
  const model = join(work, "mnist.safetensors");
  await download.saveAs(model);
  const out = execFileSync(wgtrain, ["eval", "--model", model, "--data", join(rootDir, "data", "mnist-10k"), "--json"], {
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR || "/tmp" },
  }).toString();
  const evaluated = JSON.parse(out.trim().split("\n").pop());
  console.log(`e2e: wgtrain eval of the downloaded model: ${evaluated.samples} samples, accuracy ${evaluated.accuracy}, loss ${evaluated.loss}`);
  if (evaluated.samples !== 2000) throw new Error(`wgtrain eval read ${evaluated.samples} samples, expected the 2000 test digits`);
  if (Math.abs(evaluated.accuracy - accuracy) > EVAL_TOLERANCE) {
    throw new Error(`wgtrain eval accuracy ${evaluated.accuracy} differs from the page's ${accuracy}`);
  }
  console.log("e2e: passed");
} catch (e) {
  failed = true;
  console.error(`e2e: FAILED: ${e.stack || e}`);
} finally {
  await close();
  server.stop();
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
