#!/usr/bin/env bash
# Configures and builds TARGETS in BUILD with clang-14, AddressSanitizer and
# UndefinedBehaviorSanitizer (-DLTR_FUZZ=ON: every object also carries
# libFuzzer's coverage hooks, which cost little). scripts/sanitize.sh and
# scripts/fuzz.sh both build this way, so with ccache one compile of the
# library serves both trees. Installs what is missing first.
#
#   bash scripts/sanitized-build.sh BUILD TARGET...
#   LTR_JOBS=N  build parallelism (default: nproc)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$1
shift
bash "$root/scripts/install-deps.sh" clang-14 libclang-rt-14-dev libomp-14-dev
# -O1 -g: the usual trade-off (fast enough to run, quick to build, exact
# stack traces). MPI off: the fuzz targets run without mpirun.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g" \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DLTR_FUZZ=ON -DLTR_NATIVE=OFF -DLTR_MPI=OFF -DLTR_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" -j"${LTR_JOBS:-$(nproc)}" --target "$@"
