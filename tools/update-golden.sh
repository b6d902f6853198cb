#!/usr/bin/env bash
# Rewrites tests/golden/<name>.txt from the current build after an intended change of output.
set -euo pipefail
cd "$(dirname "$0")/.."
aif=${1:-build/release/aifactory}
grep -v '^#' tests/golden/scenarios.txt | while IFS= read -r line; do
  name=${line%%|*}
  IFS='|' read -r -a args <<<"${line#*|}"
  "$aif" "${args[@]}" > "tests/golden/$name.txt"
  echo "wrote tests/golden/$name.txt"
done
