#!/usr/bin/env bash
# Builds the dev preset (Debug, ASan + UBSan) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev
ctest --preset dev
