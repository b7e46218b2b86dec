#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the
# main job on the shipped example data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
mkdir -p out
# A TCA-style rank selection on the planted example recording (data/README.md
# says how it was made): nonnegative CP for ranks 1-6, 3 restarts each.
./build/bin/ltr decompose data/example_tca.h5 --method ncp-hals --ranks 1:6 \
  --restarts 3 --cv --seed 1 -o out/example_decompose.h5
echo "output: out/example_decompose.h5 (ltr info out/example_decompose.h5)"
