#!/usr/bin/env bash
# Builds the page (web/build.sh) and serves web/dist on 127.0.0.1; prints the address. PORT=0 picks a free port.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/build.sh"
echo "Open this address in a browser with WebGPU (Ctrl-C stops the server):" >&2
exec python3 "$here/serve.py" "$here/dist" "${PORT:-8000}" -v
