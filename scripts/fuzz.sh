#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan in their
# own tree and runs each for a fixed budget: fuzz_hdf5 (bytes as an HDF5
# input file) and fuzz_cli (words as an ltr command line). Not part of the
# normal build or of scripts/test.sh. Exit status 0 = nothing found;
# otherwise the crashing input is in BUILD/fuzz-artifacts/ (replay it with
# `BUILD/bin/fuzz_hdf5 FILE`). See docs/reliability.md.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]     (default 120)
#   LTR_FUZZ_BUILD=dir  build tree (default build-fuzz)
#   LTR_FUZZ_TARGETS="fuzz_hdf5"  run only these
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LTR_FUZZ_BUILD:-$root/build-fuzz}
seconds=${1:-120}
targets=${LTR_FUZZ_TARGETS:-"fuzz_hdf5 fuzz_cli"}
jobs=${LTR_JOBS:-2}

for tool in clang-14 clang++-14; do
  command -v "$tool" >/dev/null || {
    echo "fuzz.sh: $tool not found (apt-get install clang-14 libclang-rt-14-dev)" >&2
    exit 2
  }
done

# -O1 -g: the usual fuzzing trade-off (fast enough, quick to build).
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g" \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DLTR_FUZZ=ON -DLTR_NATIVE=OFF -DLTR_MPI=OFF \
  -DLTR_BUILD_TESTS=OFF -DLTR_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target ltr_bin fuzz_hdf5 fuzz_cli

# Sized allocations that cannot be met throw std::bad_alloc (as in a normal
# build) instead of aborting. Leak checking is off: libhdf5 keeps some
# memory for the process lifetime after errors on corrupt files.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Seeds: small files of every kind ltr reads, written by the instrumented
# ltr itself, and the command lines in fuzz/corpus/cli.
seeds=$build/fuzz-seeds
rm -rf "$seeds" && mkdir -p "$seeds/hdf5" "$seeds/cli"
ltr=$build/bin/ltr
(
  cd "$seeds/hdf5"
  "$ltr" synth --trials 6 --time-bins 5 --neurons 4 -o tca.h5
  "$ltr" synth --kind ltr-teacher --units 4 --trials 3 --steps 4 -o teacher.h5
  "$ltr" fit tca.h5 --model ltr --rank 1 --max-iters 2 -o model.h5
  "$ltr" train --task flipflop --units 4 --steps 4 --batch 2 --record-every 2 -o traj.h5
  "$ltr" decompose tca.h5 --rank 2 --max-iters 5 -o cp.h5
) >/dev/null
cp "$root"/fuzz/corpus/cli/* "$seeds/cli/"

mkdir -p "$build/fuzz-artifacts" "$build/fuzz-corpus/hdf5" "$build/fuzz-corpus/cli"
status=0
for target in $targets; do
  kind=${target#fuzz_}
  echo "== $target: $seconds s"
  # -timeout: one input may take at most 20 s; -rss_limit_mb: 2 GB.
  if ! "$build/bin/$target" -max_total_time="$seconds" -timeout=20 \
      -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/fuzz-artifacts/$target-" \
      "$build/fuzz-corpus/$kind" "$seeds/$kind" 2>"$build/$target.log"; then
    status=1
    echo "$target: FOUND a problem; see $build/$target.log and $build/fuzz-artifacts/" >&2
  fi
  grep -E "^(stat::|Done|INFO: .*corpus)" "$build/$target.log" | tail -6 || true
done
exit $status
