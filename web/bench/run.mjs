// web/bench.sh's driver: serves web/ on 127.0.0.1 and loads web/bench/index.html once per framework, one after the
// other in the same headless Chromium; prints one JSON line with the medians and their ratios.
import { join } from "node:path";
import { serve, launch, webDir } from "../e2e/harness.mjs";

const WARMUP = Number(process.env.WARMUP || 20);
const STEPS = Number(process.env.STEPS || 200);
const server = await serve(webDir);
let code = 0;
let close = async () => {};
try {
  const launched = await launch();
  close = launched.close;
  const results = {};
  for (const fw of ["wgtrain", "tfjs", "jaxjs"]) {
    const page = await launched.browser.newPage();
    page.on("pageerror", (e) => console.error(`${fw} page error: ${e.message}`));
    await page.goto(`${server.url}bench/index.html?fw=${fw}&warmup=${WARMUP}&steps=${STEPS}`);
    await page.waitForFunction(() => window.benchResult, null, { timeout: 1_800_000, polling: 1000 });
    results[fw] = await page.evaluate(() => window.benchResult);
    await page.close();
    if (results[fw].error) throw new Error(`${fw}: ${results[fw].error}`);
    console.error(`bench: ${fw}: median ${results[fw].median_ms.toFixed(3)} ms over ${results[fw].steps} steps; loss ${results[fw].loss}`);
  }
  const w = results.wgtrain.median_ms, t = results.tfjs.median_ms, j = results.jaxjs.median_ms;
  const round = (v) => Math.round(v * 1000) / 1000;
  console.log(JSON.stringify({
    model: "MLP-A 784-128-64-10 relu, Adam lr 1e-3, batch 128, MNIST rows in file order, full sync per step",
    browser: launched.browser.version(),
    adapter: results.wgtrain.adapter,
    warmup: WARMUP,
    steps: STEPS,
    wgtrain_step_median_ms: round(w),
    tfjs_webgpu_step_median_ms: round(t),
    jaxjs_webgpu_step_median_ms: round(j),
    wgtrain_over_tfjs_webgpu: round(w / t),
    wgtrain_over_jaxjs_webgpu: round(w / j),
    tfjs_webgpu_over_wgtrain: round(t / w),
    jaxjs_webgpu_over_wgtrain: round(j / w),
  }));
} catch (e) {
  console.error(`bench: FAILED: ${e.stack || e}`);
  code = 1;
} finally {
  await close();
  server.stop();
}
process.exit(code);
