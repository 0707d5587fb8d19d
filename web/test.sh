#!/usr/bin/env bash
# Every browser test, in Debian's headless Chromium (its WebGPU adapter here is SwiftShader): builds the page
# (web/build.sh), lints the wasm build, runs the wasm-bindgen tests (kernels against their CPU twins, a training
# run against the CPU reference trainer, the page's engine) through chromedriver, then the end-to-end test that
# trains MNIST through the page with Playwright and checks the downloaded model with `wgtrain eval`, and the page in
# a Chromium without WebGPU (it must say so). Exits non-zero
# on any failure. Needs chromium, chromium-driver, node and npm (.ci/run installs them).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

step() {
    local name=$1
    shift
    echo "web/test.sh: $name"
    local start=$SECONDS
    "$@"
    echo "web/test.sh: $name: $((SECONDS - start)) s"
}

for tool in chromium chromedriver node npm python3; do
    command -v "$tool" >/dev/null || { echo "web/test.sh: $tool is missing (apt-get install chromium chromium-driver nodejs npm)" >&2; exit 1; }
done

node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { echo "web/test.sh: node $(node --version) is too old; playwright-core 1.65 needs 20 or later" >&2; exit 1; }

step "build the page" "$here/build.sh"
step "rustfmt (web crate)" cargo fmt -p wgtrain-web --check
# The workspace's clippy wrapper lints wgtrain itself too, as built for the browser.
step "clippy, wasm32 (wgtrain and the web crate)" \
    cargo clippy --release --target wasm32-unknown-unknown -p wgtrain-web --all-targets -- -D warnings
# WASM_BINDGEN_TEST_TIMEOUT: the whole test binary's limit, in seconds; SwiftShader compiles every pipeline on the CPU.
step "wasm-bindgen tests in headless Chromium" \
    env -C "$here" CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}" WASM_BINDGEN_TEST_TIMEOUT=1200 \
    cargo test --release --target wasm32-unknown-unknown
step "the CLI, for checking the downloaded model" cargo build --release --bin wgtrain
if [ ! -d "$here/node_modules/playwright-core" ]; then
    step "npm ci" npm ci --prefix "$here" --no-audit --no-fund
fi
step "end to end: MNIST through the page (Playwright)" node "$here/e2e/mnist.mjs"
step "the page without WebGPU says so (Playwright)" node "$here/e2e/no_webgpu.mjs"
echo "web/test.sh: all browser tests passed"
