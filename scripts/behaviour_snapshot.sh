#!/usr/bin/env bash
# Runs a fixed set of ltr commands on small inputs and prints a digest of every output
# (scripts/h5digest.py). Record it before a refactoring and diff it after:
#   bash scripts/behaviour_snapshot.sh build/bin/ltr /tmp/before > before.txt
# Every command is seeded and runs with a fixed thread count, so the bits are reproducible.
set -euo pipefail
LTR=$(realpath "${1:?usage: behaviour_snapshot.sh LTR DIR}")
DIR=${2:?usage: behaviour_snapshot.sh LTR DIR}
HERE=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$DIR" && mkdir -p "$DIR" && cd "$DIR"
T="--threads 2"
run() { "$LTR" "$@" > /dev/null 2>> log.txt || echo "exit $? from: ltr $*" >> exits.txt; }

run synth --kind tca --seed 3 -o tca.h5
run decompose tca.h5 --rank 3 --seed 1 $T -o als.h5
run decompose tca.h5 --method ncp-hals --rank 3 --seed 1 $T -o hals.h5
run decompose tca.h5 --method cp-opt --rank 3 --seed 1 $T -o opt.h5
run decompose tca.h5 --ranks 1:4 --restarts 2 --cv --seed 1 $T -o ensemble.h5
run decompose tca.h5 --method tucker-hooi --tucker-ranks 3,3,3 $T -o tucker.h5
run synth --kind ltr-teacher --units 12 --rank 2 --steps 30 --seed 2 -o teacher.h5
run fit teacher.h5 --model ltr --rank 2 --max-iters 60 --seed 1 $T -o fit.h5
run fit teacher.h5 --model ltr --rank 2 --optimizer adam --max-iters 80 --seed 1 $T -o fit_adam.h5
run fit teacher.h5 --model lowrank --rank 2 --max-iters 40 --seed 1 $T -o fit_lowrank.h5
run fit teacher.h5 --model ltr --ranks 1:2 --seeds 1 --max-iters 40 --seed 1 $T -o sweep.h5
run simulate fit.h5 --inputs teacher.h5 --seed 4 -o simulated.h5
run train --task flipflop --units 32 --steps 40 --batch 8 --record-every 5 --seed 1 -o ff.h5
run train --task mante --units 24 --optimizer sgd --steps 20 --batch 4 --seed 2 -o mante.h5
run train --task reach --protocol adaptation --units 16 --steps 30 --baseline-trials 5 \
    --adaptation-trials 10 --washout-trials 5 --seed 1 -o reach.h5
run analyze ff.h5 --test-batch 64 --max-rank 6 --cp-max-rank 2 $T -o analysis.h5
run bounds ff.h5 --cp-max-rank 3 $T -o bounds.h5
run bounds --sweep --units 16 --steps 5 $T -o bounds_sweep.h5
run theory linear --units 64 --g 0:0.3:0.6 --seeds 2 -o theory.h5
run pipeline "$HERE/data/example_learning.h5" --ranks 1:2 --seeds 1 --max-iters 60 \
    --max-seconds 1000 --cp-restarts 2 --no-plots --progress 0 $T -o pipeline
cat exits.txt 2> /dev/null || true
/usr/bin/python3 "$HERE/scripts/h5digest.py" *.h5 pipeline/*.h5
