#!/usr/bin/env bash
# Reproduces S20's rank analyses (functional rank, convergence step, ||dW||,
# shuffle loss versus g) with ltr train + ltr analyze, and prints a table.
#
# usage: scripts/reproduce_s20.sh [OUTDIR] 
# environment (defaults in brackets):
#   TASKS   tasks to run            ["flipflop mante romo"]
#   GS      gains g                 ["0 0.9 1.8"]
#   SEEDS   seeds                   ["0 1 2"]
#   UNITS   network size N          [256]
#   JOBS    runs in parallel        [2]
#   LTR     the ltr binary          [build/bin/ltr]
# Steps per task follow S20: flipflop 1000, mante 2000, romo 6000 (override
# with STEPS_flipflop etc.). Runs whose analysis exists are skipped, so the
# script can be re-run to continue.
set -euo pipefail
OUT=${1:-out/s20}
TASKS=${TASKS:-"flipflop mante romo"}
GS=${GS:-"0 0.9 1.8"}
SEEDS=${SEEDS:-"0 1 2"}
UNITS=${UNITS:-256}
JOBS=${JOBS:-2}
LTR=${LTR:-build/bin/ltr}
STEPS_flipflop=${STEPS_flipflop:-1000}
STEPS_mante=${STEPS_mante:-2000}
STEPS_romo=${STEPS_romo:-6000}
mkdir -p "$OUT"

run() {  # task g seed
  local task=$1 g=$2 seed=$3
  local steps_var=STEPS_$task
  local base="$OUT/${task}_N${UNITS}_g${g}_s${seed}"
  [ -f "$base.analysis.h5" ] && return 0
  "$LTR" train --task "$task" --units "$UNITS" --g "$g" --seed "$seed" \
    --steps "${!steps_var}" --batch 32 --record-every 10 -o "$base.h5" \
    > "$base.log"
  "$LTR" analyze "$base.h5" --cp-max-rank 0 -o "$base.analysis.h5" >> "$base.log"
}
export -f run
export OUT UNITS LTR STEPS_flipflop STEPS_mante STEPS_romo

for task in $TASKS; do for g in $GS; do for seed in $SEEDS; do
  echo "$task $g $seed"
done; done; done | xargs -P "$JOBS" -n 3 bash -c 'run "$@"' _

/usr/bin/python3 - "$OUT" <<'PY'
import glob, sys, collections, h5py, numpy as np
rows = collections.defaultdict(list)
for f in sorted(glob.glob(sys.argv[1] + "/*.analysis.h5")):
    name = f.split("/")[-1].replace(".analysis.h5", "")
    task, n, g, seed = name.split("_")
    with h5py.File(f, "r") as h:
        a = h.attrs
        rows[(task, float(g[1:]))].append(
            (a["functional_rank"], a["convergence_step"], a["delta_w_norm"],
             a["shuffle_loss_ratio"], a["final_loss"]))
print("| task | g | seeds | functional rank | convergence step | ||dW||_F | L_shuff/L0 | final loss |")
print("|---|---|---|---|---|---|---|---|")
for (task, g), r in sorted(rows.items()):
    r = np.array(r, dtype=float)
    m, s = r.mean(0), r.std(0)
    print(f"| {task} | {g:g} | {len(r)} | {m[0]:.1f} ± {s[0]:.1f} | "
          f"{m[1]:.0f} ± {s[1]:.0f} | {m[2]:.2f} ± {s[2]:.2f} | "
          f"{m[3]:.2f} ± {s[3]:.2f} | {m[4]:.2g} |")
PY
