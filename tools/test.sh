#!/usr/bin/env bash
# Builds the dev (Debug, ASan + UBSan) and release presets and runs every test in both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
# Unit, property and fuzz tests under AddressSanitizer and UndefinedBehaviorSanitizer. (The dev
# test preset leaves out one statistical test, the 30-run checkpoint-interval sweep, which takes
# five minutes under the sanitizers; the release preset runs it.)
cmake --preset dev >/dev/null
cmake --build --preset dev
ctest --preset dev
# The same tests optimized, plus the golden whole-scenario tests.
cmake --preset release >/dev/null
cmake --build --preset release
ctest --preset release
