#!/usr/bin/env bash
# Times `ltr train --task flipflop` (N = 256, batch 32, 100 bins, Adam) and
# its PyTorch reference (benchmarks/bench_train_torch.py, the same model,
# task, batch and optimiser) in one run, each with its own defaults
# (threads, dtype), alternating the two, and prints the medians and the
# ratio torch / ltr with the load average. See docs/benchmarks.md
# ("Training vs PyTorch").
#   bash benchmarks/bench_train_vs_torch.sh [--steps 300] [--repeats 3] [LTR ...]
# LTR defaults to build/bin/ltr; several binaries (e.g. a portable and a
# native build) are timed in the same rounds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
steps=300 repeats=3 binaries=()
while [ $# -gt 0 ]; do
  case $1 in
    --steps) steps=$2; shift ;;
    --repeats) repeats=$2; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) binaries+=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")") ;;
  esac
  shift
done
[ ${#binaries[@]} -gt 0 ] || binaries=("$root/build/bin/ltr")
python=${PYTHON:-/usr/bin/python3}
"$python" -c 'import torch' 2>/dev/null ||
  { echo "bench_train_vs_torch: PyTorch is missing (apt-get install python3-torch)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

seconds() { # command... -> "wall,cpu" seconds on stdout (cpu = user + sys)
  /usr/bin/time -f "%e %U %S" -o "$dir/time.txt" "$@" >"$dir/out.txt" 2>&1 ||
    { cat "$dir/out.txt" >&2; exit 1; }
  awk '{printf "%s,%.2f", $1, $2 + $3}' "$dir/time.txt"
}
median() { sort -g | awk '{a[NR]=$1} END {printf "%.2f", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "bench_train_vs_torch: flip-flop, N = 256, batch 32, $steps Adam steps, $repeats rounds; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A times
for ((r = 0; r < repeats; r++)); do
  times[torch]+="$(seconds "$python" "$root/benchmarks/bench_train_torch.py" "$steps") "
  [ $r -eq 0 ] && echo "  $(cat "$dir/out.txt")"
  for i in "${!binaries[@]}"; do
    times[$i]+="$(seconds "${binaries[$i]}" train --task flipflop --steps "$steps" -o "$dir/traj.h5") "
  done
done
field() { echo "$1" | tr ' ' '\n' | grep . | cut -d, -f"$2" | median; }
torch=$(field "${times[torch]}" 1) torch_cpu=$(field "${times[torch]}" 2)
echo "  torch (its defaults): median $torch s wall, $torch_cpu s cpu"
for i in "${!binaries[@]}"; do
  t=$(field "${times[$i]}" 1) c=$(field "${times[$i]}" 2)
  ratio=$(echo "$torch / $t" | bc -l | xargs printf '%.1f')
  cpu_ratio=$(echo "$torch_cpu / $c" | bc -l | xargs printf '%.1f')
  echo "  ${binaries[$i]} (defaults): median $t s wall, $c s cpu; torch / ltr = $ratio (wall), $cpu_ratio (cpu)"
done
echo "  load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
