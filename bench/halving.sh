#!/usr/bin/env bash
# Successive halving against the full search, on the bundled MNIST subset: the same 27-configuration random search
# of MLP-A (784-128-64-10, ReLU, Adam, batch 128; learning rate log-uniform in [1e-4, 3e-2], L2 (torch's
# weight_decay) uniform in [0, 1e-3], seeds drawn from 0..1000; 9 epochs; validated on the subset's t10k files) run
# by `wgtrain sweep` twice: every configuration for 9 epochs, then with --halving 3 --min-epochs 1 (27 configurations
# for 1 epoch, 9 for 3, 3 for 9). Prints both wall times, their ratio (halving / full) and both best validation
# accuracies.
#
# usage: bench/halving.sh
# WGTRAIN=path/to/wgtrain uses a prebuilt binary instead of building one. Needs python3 (to read the results).
set -euo pipefail
cd "$(dirname "$0")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

if [ -z "${WGTRAIN:-}" ]; then
    cargo build --release --quiet --bin wgtrain
    WGTRAIN=target/release/wgtrain
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

search=(sweep --data data/mnist-10k --val data/mnist-10k --layers 128,64 --activation relu --optimizer adam
    --batch-size 128 --random 27 --lr log:1e-4:3e-2 --l2 0:1e-3 --seed 0:1000 --epochs 9 --quiet)

# Seconds (wall clock) of one sweep; its results go to $tmp/$1.json.
timed() {
    local name=$1
    shift
    local start end
    start=$(date +%s.%N)
    "$WGTRAIN" "${search[@]}" --results "$tmp/$name.json" "$@" >"$tmp/$name.txt"
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.1f}')"
}

"$WGTRAIN" devices >&2
echo "halving.sh: full search (27 × 9 epochs)" >&2
full_s=$(timed full)
echo "halving.sh: successive halving (η 3, first rung 1 epoch)" >&2
halving_s=$(timed halving --halving 3 --min-epochs 1)

python3 - "$tmp/full.json" "$tmp/halving.json" "$full_s" "$halving_s" <<'EOF'
import json, sys
full, halving = (json.load(open(p)) for p in sys.argv[1:3])
full_s, halving_s = float(sys.argv[3]), float(sys.argv[4])
def best(rows):
    return max(r["final"].get("val_accuracy", 0.0) for r in rows)
def rungs(rows):
    counts = {}
    for r in rows:
        counts[r["epochs"]] = counts.get(r["epochs"], 0) + 1
    return ", ".join(f"{n} stopped at {e}" for e, n in sorted(counts.items()))
print(f"full search:     {full_s:7.1f} s   best val accuracy {100 * best(full):.2f} %")
print(f"halving (η 3):   {halving_s:7.1f} s   best val accuracy {100 * best(halving):.2f} %   ({rungs(halving)} epochs)")
print(f"wall-time ratio: {halving_s / full_s:.3f}   accuracy difference: {100 * (best(halving) - best(full)):+.2f} points")
EOF
