#!/usr/bin/env bash
# The figures of docs/pipeline.md: the main job with its defaults on the
# shipped example, and three of the figures its step 5 draws, copied to
# docs/figures/pipeline/.
#   bash scripts/pipeline_figures.sh [OUT_DIR]     (default out/pipeline)
set -euo pipefail
cd "$(dirname "$0")/.."
LTR=${LTR:-./build/bin/ltr}
OUT=${1:-out/pipeline}
FIG=docs/figures/pipeline
mkdir -p "$FIG"
"$LTR" pipeline data/example_learning.h5 -o "$OUT"
for f in fit_fit_cv_rank summary_comparison_trial_factors_rank2 \
  summary_comparison_by_rank; do
  cp "$OUT/figures/$f.png" "$FIG/$f.png"
done
