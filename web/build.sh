#!/usr/bin/env bash
# Builds the training page into web/dist/: wgtrain's wasm engine (release, wasm32-unknown-unknown), its
# wasm-bindgen glue, the static files and the bundled MNIST subset. Installs what is missing: the wasm32 target and
# wasm-bindgen-cli at the version Cargo.lock resolves (without --locked, which fails on this registry's index).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}

version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
[ -n "$version" ] || { echo "build.sh: no wasm-bindgen in Cargo.lock" >&2; exit 1; }
if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{ print $2 }')" != "$version" ]; then
  echo "build.sh: installing wasm-bindgen-cli $version" >&2
  cargo install wasm-bindgen-cli --version "$version"
fi
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

cargo build --release --target wasm32-unknown-unknown -p wgtrain-web
dist=web/dist
rm -rf "$dist"
mkdir -p "$dist/pkg" "$dist/data/mnist-10k"
wasm-bindgen --target web --no-typescript --out-dir "$dist/pkg" "$target_dir/wasm32-unknown-unknown/release/wgtrain_web.wasm"
cp web/static/* "$dist/"
cp data/mnist-10k/*.gz "$dist/data/mnist-10k/"
cp data/README.md "$dist/data/"
wasm="$dist/pkg/wgtrain_web_bg.wasm"
echo "build.sh: $dist ready; $wasm is $(wc -c < "$wasm") bytes, $(gzip -9 -c "$wasm" | wc -c) gzipped" >&2
