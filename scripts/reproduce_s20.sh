#!/usr/bin/env bash
# Reproduces S20's rank analyses (functional rank, convergence step, ||dW||,
# shuffle loss, and what dW shares with W0, versus g) with ltr train +
# ltr analyze, in S20's protocol, and prints a table (docs/reproductions.md).
#
# usage: scripts/reproduce_s20.sh [OUTDIR]
# environment (defaults in brackets):
#   TASKS    tasks to run            ["flipflop mante romo"]
#   GS       gains g                 [S20's grid per task: 0, 0.3, ... up to
#                                     2.1 (flipflop), 2.7 (mante), 3.0 (romo)]
#   SEEDS    seeds                   ["0 1 2 3 4"]
#   UNITS    network size N          [256]
#   JOBS     runs in parallel        [1]
#   THREADS  threads per run         [1]
#   LTR      the ltr binary          [build/bin/ltr]
#   TRAIN_FLAGS    extra ltr train flags   ["--read-after-input"]
#   ANALYZE_FLAGS  extra ltr analyze flags ["--fresh-test-batches"]
#   SUMMARY_ONLY=1 only print the table of what is there
# Steps per task follow S20: flipflop 1000, mante 2000, romo 6000 (override
# with STEPS_flipflop etc.), with 200 snapshots (--record-every steps/200).
#
# Resumes: analysed runs are skipped, a trajectory without its analysis is
# continued with `ltr train --resume` (a no-op when complete) and analysed.
# Under mpirun (or srun) every rank takes every SIZE-th run; the runs are
# ordered seed by seed, so a partial grid covers all g. Rank 0 prints the
# table of the runs finished so far; re-run with SUMMARY_ONLY=1 for all.
#
# The table follows S20's figures: a (task, g) averages only the runs that
# converged (training loss below 5 % of its first) and reach a functional
# rank; "k/n" counts them, and "*" marks a g where not all seeds qualify
# (S20 draws such a g not at all). ||dW||_F is given at the final step and
# at S20's last recorded snapshot (steps - steps/200); the shuffle loss over
# the test loss of W0 (ltr's L0) and over the first training batch's loss
# (S20's normalisation).
set -euo pipefail
OUT=${1:-out/s20}
TASKS=${TASKS:-"flipflop mante romo"}
SEEDS=${SEEDS:-"0 1 2 3 4"}
UNITS=${UNITS:-256}
JOBS=${JOBS:-1}
THREADS=${THREADS:-1}
LTR=${LTR:-build/bin/ltr}
TRAIN_FLAGS=${TRAIN_FLAGS:---read-after-input}
ANALYZE_FLAGS=${ANALYZE_FLAGS:---fresh-test-batches}
STEPS_flipflop=${STEPS_flipflop:-1000}
STEPS_mante=${STEPS_mante:-2000}
STEPS_romo=${STEPS_romo:-6000}
GMAX_flipflop=2.1
GMAX_mante=2.7
GMAX_romo=3.0
RANK=${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-${SLURM_PROCID:-0}}}
SIZE=${OMPI_COMM_WORLD_SIZE:-${PMI_SIZE:-${SLURM_NTASKS:-1}}}
mkdir -p "$OUT"

grid() {  # task: its g values
  if [ -n "${GS:-}" ]; then echo "$GS"; return; fi
  local gmax_var=GMAX_$1
  awk -v m="${!gmax_var}" 'BEGIN { for (i = 0; i * 0.3 <= m + 1e-9; ++i)
                                     printf "%g ", i * 0.3 }'
}

run() {  # task g seed
  local task=$1 g=$2 seed=$3
  local steps_var=STEPS_$task
  local steps=${!steps_var}
  local every=$((steps / 200 > 0 ? steps / 200 : 1))
  local base="$OUT/${task}_N${UNITS}_g${g}_s${seed}"
  [ -f "$base.analysis.h5" ] && return 0
  if [ -f "$base.h5" ]; then
    "$LTR" train --resume --threads "$THREADS" -o "$base.h5" >> "$base.log"
  else
    # shellcheck disable=SC2086
    "$LTR" train --task "$task" --units "$UNITS" --g "$g" --seed "$seed" \
      --steps "$steps" --batch 32 --record-every "$every" \
      --threads "$THREADS" $TRAIN_FLAGS -o "$base.h5" > "$base.log"
  fi
  # shellcheck disable=SC2086
  "$LTR" analyze "$base.h5" --cp-max-rank 0 --threads "$THREADS" \
    $ANALYZE_FLAGS -o "$base.analysis.h5" >> "$base.log"
}
export -f run
export OUT UNITS LTR THREADS TRAIN_FLAGS ANALYZE_FLAGS
export STEPS_flipflop STEPS_mante STEPS_romo

if [ "${SUMMARY_ONLY:-0}" != 1 ]; then
  i=0
  for task in $TASKS; do for seed in $SEEDS; do for g in $(grid "$task"); do
    [ $((i % SIZE)) -eq "$RANK" ] && echo "$task $g $seed"
    i=$((i + 1))
  done; done; done | xargs -r -P "$JOBS" -n 3 bash -c 'run "$@"' _
  [ "$RANK" -eq 0 ] || exit 0
fi

/usr/bin/python3 - "$OUT" "$SEEDS" <<'PY'
import collections, glob, sys
import h5py, numpy as np

seeds = len(sys.argv[2].split())
rows = collections.defaultdict(list)
for f in sorted(glob.glob(sys.argv[1] + "/*.analysis.h5")):
    task, n, g, seed = f.split("/")[-1][:-len(".analysis.h5")].split("_")
    with h5py.File(f, "r") as h:
        a = h.attrs
        sv = h["delta_w/singular_values"][:]
        with h5py.File(f[:-len(".analysis.h5")] + ".h5", "r") as t:
            steps = int(t["config"].attrs["steps"])
            every = int(t["config"].attrs["record_every"])
        # S20's last snapshot: steps - steps/200 (ltr's snapshot k is step
        # k * every, the last one the final step).
        k = min(len(sv) - 1, max(0, (steps - every) // every))
        rows[(task, int(n[1:]), float(g[1:]))].append(dict(
            rank=a["functional_rank"], conv=a["convergence_step"],
            dw=a["delta_w_norm"], dw_snap=float(np.sqrt((sv[k] ** 2).sum())),
            shuff=a["shuffle_loss_ratio"],
            shuff_train=a["shuffle_loss"] / a["initial_loss"],
            ov=a.get("io_overlap", np.nan),
            ov_sh=a.get("io_overlap_shuffled", np.nan),
            loss=a["final_loss"]))
print("| task | N | g | runs used | functional rank | convergence step "
      "| ‖ΔW‖_F final | ‖ΔW‖_F S20 snapshot | L_shuff/L0 (test) "
      "| L_shuff/L_train(0) | overlap with W0-propagated I/O "
      "| same, shuffled W0 | final loss |")
print("|" + "---|" * 13)
for (task, n, g), rs in sorted(rows.items()):
    ok = [r for r in rs if r["conv"] > 0 and r["rank"] > 0]
    mark = "" if len(ok) == seeds else " *"
    def ms(key, fmt):
        v = np.array([r[key] for r in ok], dtype=float)
        return f"{v.mean():{fmt}} ± {v.std():{fmt}}" if len(v) else "–"
    print(f"| {task} | {n} | {g:g} | {len(ok)}/{len(rs)}{mark} | "
          f"{ms('rank', '.1f')} | {ms('conv', '.0f')} | {ms('dw', '.2f')} | "
          f"{ms('dw_snap', '.2f')} | {ms('shuff', '.2f')} | "
          f"{ms('shuff_train', '.2f')} | {ms('ov', '.2f')} | "
          f"{ms('ov_sh', '.2f')} | "
          f"{np.median([r['loss'] for r in rs]):.2g} |")

# S20's U-shape: the mean convergence step over g and where it is smallest
# (the grid point, and the vertex of the parabola through it and its two
# neighbours); and ||dW|| relative to g = 0 (S20's normalisation).
print()
for task, n in sorted({(t, n) for t, n, _ in rows}):
    gs, conv, dw = [], [], []
    for (t, m, g), rs in sorted(rows.items()):
        ok = [r for r in rs if r["conv"] > 0 and r["rank"] > 0]
        if (t, m) == (task, n) and ok:
            gs.append(g)
            conv.append(np.mean([r["conv"] for r in ok]))
            dw.append(np.mean([r["dw_snap"] for r in ok]))
    if not gs:
        continue
    i = int(np.argmin(conv))
    line = (f"- {task}, N = {n}: mean convergence step "
            + ", ".join(f"{c:.0f}" for c in conv) + " at g = "
            + ", ".join(f"{g:g}" for g in gs) + f"; smallest at g = {gs[i]:g}")
    if 0 < i < len(gs) - 1:
        a, b, _ = np.polyfit(gs[i - 1:i + 2], conv[i - 1:i + 2], 2)
        line += f" (parabola through its neighbours: g = {-b / (2 * a):.2f})"
    if gs[0] == 0:
        line += ("; ‖ΔW‖/‖ΔW‖(g=0) " +
                 ", ".join(f"{d / dw[0]:.2f}" for d in dw))
    print(line)
PY
