#!/usr/bin/env bash
# The README's second command (and CI's): installs what is missing, builds,
# and runs the fast tests (everything not labelled slow). LTR_SANITIZE=1
# then also runs them under the sanitizers (scripts/sanitize.sh; not in CI,
# see docs/reliability.md for what it costs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build -LE slow --output-on-failure -j2
[ "${LTR_SANITIZE:-0}" != 1 ] || bash scripts/sanitize.sh
