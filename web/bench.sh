#!/usr/bin/env bash
# The MLP-A training step (784-128-64-10, Adam, batch 128, the same MNIST rows, a full sync per step, median of 200
# steps after 20 warm-up) of wgtrain's wasm build, TensorFlow.js's WebGPU backend and jax-js's WebGPU device, one
# after the other in the same headless Chromium; prints one JSON line with the three medians and their ratios.
# STEPS and WARMUP override the counts. Installs the peers (web/bench/package-lock.json) when missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/build.sh"
if [ ! -d "$here/bench/node_modules/@jax-js/jax" ] || [ ! -d "$here/bench/node_modules/@tensorflow/tfjs-backend-webgpu" ]; then
    npm ci --prefix "$here/bench" --no-audit --no-fund >&2
fi
node "$here/bench/run.mjs"
