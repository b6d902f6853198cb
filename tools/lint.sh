#!/usr/bin/env bash
# clang-tidy (checks in .clang-tidy; every finding is an error) over the library and CLI sources.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
[ -f "$build/compile_commands.json" ] || { echo "no $build/compile_commands.json: configure first" >&2; exit 2; }
command -v clang-tidy >/dev/null || { echo "clang-tidy not installed (apt-get install clang-tidy)" >&2; exit 2; }
findings=$(find src -name '*.cc' ! -name '*_test.cc' -print0 |
  xargs -0 -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet 2>/dev/null || true)
if grep -q ': error: ' <<<"$findings"; then
  echo "$findings"
  echo "clang-tidy found problems" >&2
  exit 1
fi
echo "clang-tidy: no findings"
