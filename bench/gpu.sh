#!/usr/bin/env bash
# wgtrain on a machine with an NVIDIA GPU (Vulkan) beside PyTorch on CUDA, same workloads, one ratio table.
# Runs from prebuilt binaries (BIN, default .devbin/, else target/release/; `bench` there or in BIN/examples/) and
# the working tree; writes the raw results to OUT (default: a temporary folder) and prints the table last.
# docs/gpu-benchmark.md says what the machine needs and how to prepare it.
#   MLP-A 784-128-64-10, batch 128; MLP-B 784-1024-1024-10, batch 1024 (ReLU, cross-entropy, Adam 1e-3);
#   FP32 matmul 1024³ and 4096³: ours (tuned) against torch.matmul (cuBLAS, TF32 off).
# Targets: MLP-A step ≤ 0.5× PyTorch's; MLP-B throughput ≥ 0.7× PyTorch's; matmul 4096³ ≥ 50 % of cuBLAS.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}" PYTHONUNBUFFERED=1
BIN="${BIN:-}"
if [ -z "$BIN" ]; then
    if [ -x .devbin/bench ]; then BIN=.devbin; else BIN=target/release; fi
fi
BENCH="$BIN/bench"
[ -x "$BENCH" ] || BENCH="$BIN/examples/bench"
[ -x "$BENCH" ] && [ -x "$BIN/wgtrain" ] || { echo "gpu.sh: $BIN/wgtrain and $BIN/bench (or $BIN/examples/bench) are needed (see docs/gpu-benchmark.md)" >&2; exit 2; }
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
export WGTRAIN_BENCH_DATA="$PWD/data/mnist-10k" WGTRAIN_CACHE_DIR="$OUT/cache"

echo "gpu.sh: adapters" >&2
"$BIN/wgtrain" devices | tee "$OUT/devices.txt" >&2
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | tee "$OUT/nvidia.txt" >&2 || true
echo "gpu.sh: wgtrain tune" >&2
timeout 120 "$BIN/wgtrain" tune --json >"$OUT/tune.json"
echo "gpu.sh: wgtrain bench" >&2
timeout 200 "$BENCH" --json --steps 200 --matmul 1024,4096 >"$OUT/wgtrain.json"
echo "gpu.sh: PyTorch CUDA" >&2
python3 bench/torch_mlp.py --device cuda --layers 128,64 --batch 128 | tail -n 1 >"$OUT/torch_a.json"
python3 bench/torch_mlp.py --device cuda --layers 1024,1024 --batch 1024 | tail -n 1 >"$OUT/torch_b.json"
python3 bench/torch_mlp.py --device cuda --matmul 1024,4096 | tail -n 1 >"$OUT/torch_matmul.json"

python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
load = lambda n: json.load(open(os.path.join(out, n)))
wg, ta, tb, tm = load("wgtrain.json"), load("torch_a.json"), load("torch_b.json"), load("torch_matmul.json")
ad = wg["adapter"]
print(f"wgtrain on {ad['name']} ({ad['backend']}, driver {ad['driver']}, kernels {ad['kernels']}); PyTorch: {ta['system']}")
print(f"{'measure':<28} {'wgtrain':>12} {'torch CUDA':>12} {'ratio':>8} {'target':>10}")
a, b = wg["mlp_a"], wg["mlp_b"]
ra = a["step_median_ms"] / ta["step_median_ms"]
print(f"{'MLP-A step median ms':<28} {a['step_median_ms']:>12.3f} {ta['step_median_ms']:>12.3f} {ra:>7.2f}x {'<= 0.5x':>10}")
rb = b["samples_per_s"] / tb["samples_per_s"]
print(f"{'MLP-B samples/s':<28} {b['samples_per_s']:>12.0f} {tb['samples_per_s']:>12.0f} {rb:>7.2f}x {'>= 0.7x':>10}")
ours = {m["n"]: m["gflops"] for m in wg["matmul"]}
for n in (1024, 4096):
    theirs = tm["matmul_gflops"].get(str(n))
    if n in ours and theirs:
        target = ">= 0.5x" if n == 4096 else ""
        print(f"{f'matmul {n}³ GFLOP/s':<28} {ours[n]:>12.1f} {theirs:>12.1f} {ours[n] / theirs:>7.2f}x {target:>10}")
print(f"MLP-A p10–p90 ms: wgtrain {a['step_p10_ms']:.3f}–{a['step_p90_ms']:.3f}, torch {ta['step_p10_ms']:.3f}–{ta['step_p90_ms']:.3f}")
print(f"first step s: wgtrain MLP-A {a['first_step_s']:.2f}, MLP-B {b['first_step_s']:.2f}")
PY
