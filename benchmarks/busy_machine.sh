#!/usr/bin/env bash
# Times ltr decompose, fit and train with the default --threads beside
# --threads 1, on a machine kept busy by two spinning shell loops (and, with
# --idle, also on the idle machine), and prints the median wall times and
# their ratio. Several ltr binaries may be given (e.g. before and after a
# change): their runs are interleaved so that they see the same load.
#   bash benchmarks/busy_machine.sh [--idle] [--repeats N] [--busy K] [LTR ...]
# LTR defaults to build/bin/ltr. Inputs are made with `ltr synth` and
# `ltr train` at sizes where one thread takes 1-3 s on an idle 2-core Xeon.
# See docs/scaling.md ("Threads on a busy machine").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
repeats=3 idle=0 busy=2 binaries=()
while [ $# -gt 0 ]; do
  case $1 in
    --idle) idle=1 ;;
    --repeats) repeats=$2; shift ;;
    --busy) busy=$2; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) binaries+=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")") ;;
  esac
  shift
done
[ ${#binaries[@]} -gt 0 ] || binaries=("$root/build/bin/ltr")
dir=$(mktemp -d)
loops=()
stop_loops() { for p in "${loops[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done; loops=(); }
trap 'stop_loops; rm -rf "$dir"' EXIT
cd "$dir"

ltr=${binaries[0]}
"$ltr" synth --trials 200 --time-bins 50 --neurons 100 --seed 1 -o tca.h5 >/dev/null
"$ltr" synth --kind ltr-teacher --units 60 --rank 2 --trials 120 --steps 50 \
  --seed 1 -o rec.h5 >/dev/null

# name|arguments (outputs go to out.h5, overwritten)
commands=(
  "decompose|decompose tca.h5 --ranks 1:3 --restarts 2 --tol 0 --max-iters 200 --seed 2"
  "fit|fit rec.h5 --model ltr --rank 2 --max-iters 200 --tol 0 --max-seconds 600 --seed 2"
  "train|train --task flipflop --units 128 --steps 200 --batch 32 --record-every 50 --seed 2"
)

seconds() {  # seconds LTR ARGS...: wall time of one run
  local start end
  start=$(date +%s.%N)
  "$@" -o out.h5 >/dev/null 2>err.txt || { cat err.txt >&2; exit 1; }
  end=$(date +%s.%N)
  rm -f out.h5
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}

median() { sort -g | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.2f", m}'; }

measure() {  # measure LOAD: one table
  local load=$1
  if [ "$load" = busy ]; then
    for _ in $(seq "$busy"); do sh -c 'while :; do :; done' & loops+=($!); done
    sleep 1
  fi
  echo
  echo "$load machine ($(nproc) cores$([ "$load" = busy ] && echo ", $busy spinning loops"); $(uptime | sed 's/.*load average/load average/'))"
  printf '| %-9s | %-34s | %11s | %12s | %5s |\n' command binary "default (s)" "1 thread (s)" ratio
  echo '|-----------|------------------------------------|-------------|--------------|-------|'
  for entry in "${commands[@]}"; do
    local name=${entry%%|*} args=${entry#*|}
    declare -A times=()
    for r in $(seq "$repeats"); do
      for b in "${!binaries[@]}"; do
        # shellcheck disable=SC2086
        times[$b,d]+="$(seconds "${binaries[$b]}" $args) "
        # shellcheck disable=SC2086
        times[$b,1]+="$(seconds "${binaries[$b]}" $args --threads 1) "
      done
    done
    for b in "${!binaries[@]}"; do
      local d one
      d=$(tr ' ' '\n' <<<"${times[$b,d]}" | grep . | median)
      one=$(tr ' ' '\n' <<<"${times[$b,1]}" | grep . | median)
      printf '| %-9s | %-34s | %11s | %12s | %5s |\n' "$name" \
        "${binaries[$b]#"$root"/}" "$d" "$one" \
        "$(awk -v a="$d" -v b="$one" 'BEGIN { printf "%.2f", a / b }')"
    done
    unset times
  done
  stop_loops
}

echo "median of $repeats runs; ratio = default threads / --threads 1"
measure busy
[ "$idle" = 1 ] && measure idle
exit 0
