#!/usr/bin/env bash
# The walk-throughs of docs/real-data.md on the shared recordings: imports,
# TCA over ranks (ncp-hals and cp-apr, ensemble + cross-validation), a
# Poisson low-tensor-rank RNN fit, the tables of trial factors by condition
# and the figures under docs/figures/real-data/. Skips, with a message, where
# the recordings are absent (a user's clone).
#   bash scripts/real_data.sh [OUT_DIR]     (default out/real-data)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${LTR_SHARED_DATA:-../shared/data}
if [ ! -d "$DATA/nwb" ] || [ ! -d "$DATA/onken_retina" ]; then
  echo "real_data.sh: the shared recordings ($DATA) are not here; skipped"
  exit 0
fi
LTR=${LTR:-./build/bin/ltr}
PY=${PYTHON:-python3}
OUT=${1:-out/real-data}
FIG=docs/figures/real-data
mkdir -p "$OUT" "$FIG"
THREADS=2

# --- (a) human MTL (NWB): encoding trials aligned to the clip onset
"$LTR" import "$DATA/nwb/human_mtl_sub-4_ses-4.nwb" --table encoding_table \
  --align start_time --window -1:6.8 --bin 0.2 \
  --condition-column stimCategory -o "$OUT/mtl.h5"
for m in ncp-hals cp-apr; do
  "$LTR" decompose "$OUT/mtl.h5" --method $m --ranks 1:6 --restarts 3 --cv \
    --max-iters 200 --threads $THREADS -o "$OUT/mtl_tca_$m.h5"
done
"$LTR" fit "$OUT/mtl.h5" --model ltr --ranks 1:3 --units 16 --loss poisson \
  --condition-inputs --max-iters 300 --threads $THREADS -o "$OUT/mtl_fit.h5"

# --- (b) Onken retina (MATLAB): 60 natural images x 30 repeats
"$LTR" import "$DATA/onken_retina/NaturalImages1.mat" --variable Spikes \
  --time-unit ms --window 0.0005:0.3005 --bin 0.01 -o "$OUT/retina.h5"
"$LTR" decompose "$OUT/retina.h5" --method ncp-hals --ranks 1:8 --restarts 2 \
  --cv --threads $THREADS -o "$OUT/retina_tca_ncp-hals.h5"
"$LTR" decompose "$OUT/retina.h5" --method cp-apr --ranks 1:8 --restarts 2 \
  --cv --max-iters 100 --threads $THREADS -o "$OUT/retina_tca_cp-apr.h5"
"$LTR" fit "$OUT/retina.h5" --model ltr --rank 2 --units 16 --loss poisson \
  --condition-inputs --max-iters 100 --threads $THREADS -o "$OUT/retina_fit.h5"

# --- figures: a handful, PNG only
"$LTR" plot "$OUT/mtl_tca_cp-apr.h5" --ranks 2 --format png --prefix mtl_cp-apr_ \
  -o "$OUT/figs"
"$LTR" plot "$OUT/mtl_fit.h5" --format png --prefix mtl_ -o "$OUT/figs"
"$LTR" plot "$OUT/retina_tca_cp-apr.h5" --ranks 4 --format png \
  --prefix retina_cp-apr_ -o "$OUT/figs"
for f in mtl_cp-apr_tca_rank_error_similarity mtl_cp-apr_tca_ensemble_rank2_factors \
  mtl_fit_cv_rank retina_cp-apr_tca_rank_error_similarity \
  retina_cp-apr_tca_ensemble_rank4_factors; do
  cp "$OUT/figs/$f.png" "$FIG/$f.png"
done

# --- the tables of docs/real-data.md
"$PY" scripts/real_data_tables.py "$OUT"
