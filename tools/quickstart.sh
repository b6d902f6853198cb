#!/usr/bin/env bash
# Installs what is missing, builds the release preset and runs the default scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
./build/release/aifactory run --explain --out report "$@"
