// The page where the browser grants no WebGPU adapter (headless Chromium without --enable-unsafe-webgpu, whose only
// adapter here is blocklisted): it must say so plainly, set the status to an error, and keep Train disabled.
import { join } from "node:path";
import { serve, launch, webDir } from "./harness.mjs";

const server = await serve(join(webDir, "dist"));
let failed = false;
let close = async () => {};
try {
  const launched = await launch({ webgpu: false });
  close = launched.close;
  const page = await launched.browser.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]').textContent.startsWith("error"),
    null, { timeout: 60_000 });
  const status = await page.getByTestId("status").textContent();
  const message = await page.locator("#no-webgpu").innerText();
  console.log(`no-webgpu: status "${status}"; the page says: ${message.replace(/\s+/g, " ").slice(0, 160)}…`);
  if (!(await page.locator("#no-webgpu").isVisible())) throw new Error("the no-WebGPU message is hidden");
  if (!message.includes("no WebGPU")) throw new Error(`unexpected message: ${message}`);
  if (!(await page.getByTestId("train").isDisabled())) throw new Error("Train is enabled without WebGPU");
  console.log("no-webgpu: passed");
} catch (e) {
  failed = true;
  console.error(`no-webgpu: FAILED: ${e.stack || e}`);
} finally {
  await close();
  server.stop();
}
process.exit(failed ? 1 : 0);
