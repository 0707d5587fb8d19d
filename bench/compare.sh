#!/usr/bin/env bash
# Side-by-side training-step times: wgtrain (examples/bench.rs) against PyTorch on the CPU (bench/torch_mlp.py), on
# the same workloads and the same batches of the bundled MNIST subset:
#   MLP-A 784-128-64-10, batch 128;  MLP-B 784-1024-1024-10, batch 1024 (ReLU, cross-entropy, Adam 1e-3).
# Prints each one's median step time and the ratio wgtrain / PyTorch (above 1: wgtrain is slower).
#
# usage: bench/compare.sh [--quick] [--steps N]
#   --quick    a few steps of each (a smoke test; the figures mean little)
#   --steps N  N timed steps in both programs (default: 200; wgtrain without --steps caps each workload's timing
#              at 270 s, see examples/bench.rs)
# BENCH=path/to/bench uses a prebuilt binary instead of `cargo run`. Needs python3 with torch and numpy. Takes six to seven minutes on a 2-core machine with lavapipe.
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

bench_args=(--json)
torch_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) bench_args+=(--quick); torch_args+=(--warmup 2 --steps 3) ;;
        --steps)
            [ $# -ge 2 ] || { echo "compare.sh: --steps needs a number" >&2; exit 2; }
            bench_args+=(--steps "$2"); torch_args+=(--steps "$2"); shift ;;
        *) echo "compare.sh: unknown argument $1 (expected --quick or --steps N)" >&2; exit 2 ;;
    esac
    shift
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -n "${BENCH:-}" ]; then
    # A prebuilt bench binary (BENCH=path), e.g. one built in another cargo profile.
    echo "compare: wgtrain: $BENCH ${bench_args[*]}" >&2
    "$BENCH" "${bench_args[@]}" >"$tmp/wgtrain.json"
else
    echo "compare: wgtrain: cargo run --release --example bench -- ${bench_args[*]}" >&2
    cargo run --release --quiet --example bench -- "${bench_args[@]}" >"$tmp/wgtrain.json"
fi
# torch_mlp.py prints a summary on stderr and the JSON result as its last stdout line.
echo "compare: PyTorch MLP-A" >&2
python3 bench/torch_mlp.py --layers 128,64 --batch 128 ${torch_args[@]+"${torch_args[@]}"} | tail -n 1 >"$tmp/torch_a.json"
echo "compare: PyTorch MLP-B" >&2
python3 bench/torch_mlp.py --layers 1024,1024 --batch 1024 ${torch_args[@]+"${torch_args[@]}"} | tail -n 1 >"$tmp/torch_b.json"

# The raw results, for the record (stderr, so stdout is just the table).
for f in wgtrain torch_a torch_b; do echo "compare: $f.json: $(cat "$tmp/$f.json")" >&2; done

python3 - "$tmp" <<'EOF'
import json, os, sys

tmp = sys.argv[1]
load = lambda name: json.load(open(os.path.join(tmp, name)))
wg, ta, tb = load("wgtrain.json"), load("torch_a.json"), load("torch_b.json")
ad = wg["adapter"]
print(f"wgtrain on {ad['name']} ({ad['backend']}, driver {ad['driver']}); PyTorch: {ta['system']}")
print(f"{'workload':<8} {'batch':>6} {'wgtrain ms':>11} {'torch ms':>9} {'ratio':>7} "
      f"{'wgtrain samples/s':>18} {'torch samples/s':>16} {'first step s (wgtrain / torch)':>31}")
for name, w, t in (("MLP-A", wg["mlp_a"], ta), ("MLP-B", wg["mlp_b"], tb)):
    ratio = w["step_median_ms"] / t["step_median_ms"]
    first = f"{w['first_step_s']:.3f} / {t['first_step_s']:.3f}"
    print(f"{name:<8} {t['batch']:>6} {w['step_median_ms']:>11.3f} {t['step_median_ms']:>9.3f} {ratio:>6.1f}x "
          f"{w['samples_per_s']:>18.0f} {t['samples_per_s']:>16.0f} {first:>31}")
print("ratio = wgtrain median step time / PyTorch median step time (above 1: wgtrain is slower).")
for name, w, t in (("MLP-A", wg["mlp_a"], ta), ("MLP-B", wg["mlp_b"], tb)):
    print(f"{name} step p10–p90 ms: wgtrain {w['step_p10_ms']:.3f}–{w['step_p90_ms']:.3f}, "
          f"torch {t['step_p10_ms']:.3f}–{t['step_p90_ms']:.3f}")
print("first step: wgtrain from a cold start (device, data, pipeline compilation); torch the first step alone.")
print("matmul GFLOP/s (wgtrain): " + ", ".join(f"{m['n']}³ {m['gflops']:.2f}" for m in wg["matmul"]))
EOF
