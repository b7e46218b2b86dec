#!/usr/bin/env bash
# The README's second command (and CI's): installs what is missing, builds,
# and runs the fast tests (everything not labelled slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build -LE slow --output-on-failure -j2
