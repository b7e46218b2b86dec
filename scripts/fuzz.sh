#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan in their
# own tree and runs each for a fixed budget: fuzz_hdf5 (bytes as an HDF5
# input file) and fuzz_cli (words as an ltr command line). Not part of the
# normal build or of scripts/test.sh. Exit status 0 = nothing found;
# otherwise the crashing input is in BUILD/fuzz-artifacts/ (replay it with
# `BUILD/bin/fuzz_hdf5 FILE`). See docs/reliability.md.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET]   run each target (default 120)
#   bash scripts/fuzz.sh --merge                minimise the committed corpus:
#       it becomes the inputs of the committed corpus, of BUILD/fuzz-corpus/
#       (what earlier runs found) and of the seeds that add coverage
#       (libFuzzer -merge=1); hand-named files there are always kept.
#   LTR_FUZZ_BUILD=dir  build tree (default build-fuzz)
#   LTR_FUZZ_TARGETS="fuzz_hdf5"  run only these
#   LTR_JOBS=N  build parallelism (default 2); the fuzzers run one process each
#   LTR_FUZZ_KEEP_GOING=1  go on after a finding (libFuzzer's -fork=1
#       -ignore_crashes=1), so that a timed campaign collects every finding
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${LTR_FUZZ_BUILD:-$root/build-fuzz}
mode=run
seconds=120
case "${1:-}" in
  --merge) mode=merge ;;
  "") ;;
  *) seconds=$1 ;;
esac
targets=${LTR_FUZZ_TARGETS:-"fuzz_hdf5 fuzz_cli"}
export LTR_JOBS=${LTR_JOBS:-2}

bash "$root/scripts/sanitized-build.sh" "$build" ltr_bin fuzz_hdf5 fuzz_cli

# Memory. Corrupt HDF5 metadata can make libhdf5 itself ask for gigabytes
# (one mutated file made it malloc 4 GB) before any ltr code sees a shape.
# So a C malloc above 2 GB returns NULL, as on a machine without that
# memory (libhdf5 then fails with an error, which ltr reports), instead of
# libFuzzer stopping at its -malloc_limit_mb. A C++ `new` above 2 GB, which
# only ltr's own code does, still stops the run: ltr checks declared sizes
# before allocating, so that would be a finding. Memory actually used is
# capped by -rss_limit_mb. Leak checking is off: libhdf5 keeps some memory
# for the process lifetime after errors on corrupt files.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:max_allocation_size_mb=2048:detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
limits=(-rss_limit_mb=4096 -malloc_limit_mb=2048 -timeout=20)

# Seeds, besides the committed corpus: small files of every kind ltr reads,
# written by the instrumented ltr itself (fuzz/corpus/cli holds the
# hand-written command lines).
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
mkdir -p "$build/fuzz-artifacts"

# The committed corpus: fuzz/corpus/cli/ (text files), and the HDF5 files
# as fuzz/corpus/hdf5.tar.xz (about 50 KB each, all variations of a few
# seeds: xz makes megabytes of them a few KB), unpacked here.
committed() {  # committed KIND: the directory holding KIND's corpus
  if [ "$1" = hdf5 ]; then
    rm -rf "$build/fuzz-committed" && mkdir -p "$build/fuzz-committed/hdf5"
    [ ! -e "$root/fuzz/corpus/hdf5.tar.xz" ] ||
      tar -xJf "$root/fuzz/corpus/hdf5.tar.xz" -C "$build/fuzz-committed/hdf5"
    echo "$build/fuzz-committed/hdf5"
  else
    echo "$root/fuzz/corpus/$1"
  fi
}

if [ "$mode" = merge ]; then
  for target in $targets; do
    kind=${target#fuzz_}
    from=$(committed "$kind")
    merged=$build/fuzz-merged/$kind
    rm -rf "$merged" && mkdir -p "$merged" "$build/fuzz-corpus/$kind"
    # Hand-named seeds stay; libFuzzer names what it adds by SHA-1.
    find "$from" -type f ! -regex '.*/[0-9a-f]\{40\}' -exec cp {} "$merged/" \;
    "$build/bin/$target" -merge=1 "${limits[@]}" "$merged" "$from" \
      "$build/fuzz-corpus/$kind" "$seeds/$kind" 2>"$build/$target-merge.log"
    if [ "$kind" = hdf5 ]; then
      tar -cJf "$root/fuzz/corpus/hdf5.tar.xz" -C "$merged" --sort=name \
        --mtime=@0 --owner=0 --group=0 --numeric-owner .
    else
      rm -rf "$from" && cp -r "$merged" "$from"
    fi
    echo "$target: $(find "$merged" -type f | wc -l) inputs," \
      "$(cat "$merged"/* | wc -c) bytes; fuzz/corpus/ holds" \
      "$(du -cb "$root/fuzz/corpus/$kind"* | tail -1 | cut -f1) bytes"
  done
  exit 0
fi

mkdir -p "$build/fuzz-corpus/hdf5" "$build/fuzz-corpus/cli"
# Replays each saved input of TARGET and sorts it by the first frame of its
# stack outside the sanitizers, libFuzzer and libc: inside the HDF5 C
# library (not instrumented, not ltr's to fix; renamed TARGET-hdf5-*) or
# anywhere else, ltr's code or the HDF5 C++ wrapper ltr calls (a finding,
# fails the run). A first sort only: look at each stack.
triage() {
  local target=$1 file stack
  for file in "$build/fuzz-artifacts/$target-"{crash,leak,oom,timeout}-*; do
    [ -e "$file" ] || continue
    if "$build/bin/$target" "${limits[@]}" "$file" >"$build/replay.log" 2>&1; then
      echo "$target: $file does not reproduce (a timeout on a loaded machine?)"
      continue
    fi
    stack=$(grep -E "^ +#[0-9]+ " "$build/replay.log" |
      grep -v -E "__interceptor_|__sanitizer_|fuzzer::|libc\.so|sysdeps/" |
      head -1 || true)
    if [[ "$stack" == *libhdf5_serial.so* ]]; then
      mv "$file" "${file/$target-/$target-hdf5-}"
    else
      status=1
      echo "$target: FOUND a problem in ltr: $file (see $build/$target.log)" >&2
    fi
  done
  local inside=$(ls "$build/fuzz-artifacts/" | grep -c "^$target-hdf5-" || true)
  [ "$inside" = 0 ] || echo "$target: $inside crashes inside libhdf5 on corrupt files" \
    "(not fixable in ltr): $build/fuzz-artifacts/$target-hdf5-*"
}

keep_going=()
[ "${LTR_FUZZ_KEEP_GOING:-0}" = 1 ] && keep_going=(-fork=1 -ignore_crashes=1)
status=0
for target in $targets; do
  kind=${target#fuzz_}
  echo "== $target: $seconds s ($(date -u +%FT%TZ); $(uptime | sed 's/.*load/load/'))"
  rm -f "$build/fuzz-artifacts/$target-"*
  # New inputs go to the first directory; the committed corpus and the
  # seeds are read only.
  "$build/bin/$target" -max_total_time="$seconds" "${limits[@]}" \
    "${keep_going[@]}" -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$target-" \
    "$build/fuzz-corpus/$kind" "$(committed "$kind")" "$seeds/$kind" \
    2>"$build/$target.log" && rc=0 || rc=$?
  if [ "$rc" != 0 ] && ! ls "$build/fuzz-artifacts/" | grep -q "^$target-"; then
    status=1
    echo "$target: exit status $rc and no input saved; see $build/$target.log" >&2
  fi
  triage "$target"
  grep -E "^(stat::|Done|INFO: .*corpus|INFO: exiting|#[0-9]+: cov)" \
    "$build/$target.log" | tail -4 || true
done
exit $status
