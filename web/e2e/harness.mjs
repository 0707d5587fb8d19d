// Shared by the end-to-end test and the benchmark: serve a directory on 127.0.0.1 (web/serve.py) and launch Debian's
// headless Chromium with WebGPU on (its only adapter here is SwiftShader, behind the blocklist).
import { spawn } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const webDir = dirname(dirname(fileURLToPath(import.meta.url)));
export const rootDir = dirname(webDir);

/** Starts web/serve.py on a free port; resolves to { url, stop }. */
export function serve(directory) {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", [join(webDir, "serve.py"), directory, "0"], { stdio: ["ignore", "pipe", "inherit"] });
    let buffered = "";
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`serve.py exited with ${code} before printing its address`)));
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      const line = buffered.split("\n")[0];
      if (buffered.includes("\n")) resolve({ url: line.trim(), stop: () => child.kill() });
    });
  });
}

/** Headless Chromium (Playwright's default --headless) with the flags that give it a WebGPU adapter here (without
 * --enable-unsafe-webgpu when `webgpu` is false: then it has none). Playwright starts every launch in a fresh
 * temporary profile (it refuses --user-data-dir in `launch`). */
export async function launch({ webgpu = true } = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--no-first-run", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--disable-quic", ...(webgpu ? ["--enable-unsafe-webgpu"] : [])],
  });
  return { browser, close: () => browser.close() };
}
