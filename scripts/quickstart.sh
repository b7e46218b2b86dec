#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the
# main job on the shipped example data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
mkdir -p out
# The learning-over-trials pipeline on the shipped reach-adaptation recording
# (data/README.md says how it was made): ltr fits over ranks 1-6 with
# held-out blocks, CP of the fitted and true weight updates, the rank bounds,
# figures and out/pipeline/report.html.
./build/bin/ltr pipeline data/example_learning.h5 -o out/pipeline --threads 0
