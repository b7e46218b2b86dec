#!/usr/bin/env bash
# Runs ltr on a list of bad inputs and prints one markdown table row per
# case: what was tried, the exit status and the first line of stderr (the
# table in docs/reliability.md). Needs python3 with h5py to craft files.
#   bash fuzz/bad_inputs.sh [path/to/ltr]
set -uo pipefail
ltr=${1:-$(cd "$(dirname "$0")/.." && pwd)/build/bin/ltr}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"

"$ltr" synth --trials 9 --time-bins 6 --neurons 5 -o good.h5 >/dev/null
"$ltr" train --task flipflop --units 6 --steps 4 --batch 2 --record-every 2 -o traj.h5 >/dev/null
"$ltr" fit good.h5 --model ltr --rank 1 --max-iters 3 -o model.h5 >/dev/null
printf 'this is not HDF5\n' > text.h5
: > empty.h5
head -c 3000 good.h5 > truncated.h5
mkdir -p dir.h5
/usr/bin/python3 - <<'PY'
import h5py, numpy as np
rng = np.random.default_rng(0)
x = rng.normal(size=(9, 6, 5))
def make(name, **sets):
    with h5py.File(name, "w") as f:
        for k, v in sets.items():
            f[k.replace("__", "/")] = v
make("rank2.h5", activity=x[0])
with h5py.File("string.h5", "w") as f:
    f["activity"] = np.array([b"a", b"b"], dtype="S1")
y = x.copy(); y[1, 2, 3] = np.nan
make("nan.h5", activity=y)
z = x.copy(); z[0, 0, 0] = np.inf
make("inf.h5", activity=z)
make("mask_shape.h5", activity=x, mask=np.ones((9, 6, 4), dtype="u1"))
make("inputs_shape.h5", activity=x, inputs=np.zeros((8, 6, 2)))
make("condition_neg.h5", activity=x, condition=-np.ones(9, dtype="i8"))
make("condition_len.h5", activity=x, condition=np.zeros(4, dtype="i8"))
make("empty_dataset.h5", activity=np.zeros((0, 6, 5)))
with h5py.File("huge.h5", "w") as f:  # 8 EB declared, nothing stored
    f.create_dataset("activity", shape=(2**20, 2**20, 2**20), dtype="f8",
                     chunks=(1, 1, 16))
with h5py.File("huge_2d.h5", "w") as f:
    f.create_dataset("activity", shape=(100000, 100000, 1000), dtype="f8",
                     chunks=(1, 1, 16))
make("complex.h5", activity=x.astype(np.complex128))
with h5py.File("scalar.h5", "w") as f:
    f["activity"] = 3.0
with h5py.File("group.h5", "w") as f:
    f.create_group("activity")
make("float32.h5", activity=x.astype(np.float32))
# --- sanitizers and fuzzing ---
import shutil
make("label_huge.h5", activity=x, condition=np.full(9, 1e300))
with h5py.File("null_string.h5", "w") as f:
    t = h5py.h5t.C_S1.copy(); t.set_size(h5py.h5t.VARIABLE)
    a = h5py.h5a.create(f.id, b"note", t, h5py.h5s.create(h5py.h5s.SCALAR))
    a.write(np.zeros((), dtype=np.uintp), mtype=t)
shutil.copy("model.h5", "kind_two.h5")
with h5py.File("kind_two.h5", "a") as f:
    f["model"].attrs.create("kind", np.array(["lowrank", "full"], dtype=object),
                            dtype=h5py.string_dtype())
shutil.copy("traj.h5", "units_huge.h5")
with h5py.File("units_huge.h5", "a") as f:
    f["config"].attrs["units"] = 1e300; f.attrs["complete"] = 0.0
PY

row() {  # row DESCRIPTION ARGS...
  local what=$1; shift
  "$ltr" "$@" >out.txt 2>err.txt </dev/null
  local code=$?
  local msg
  msg=$(head -n 1 err.txt | sed "s#$dir/##g; s#|#\\\\|#g")
  local lines
  lines=$(wc -l <err.txt)
  printf '| %s | `ltr %s` | %s | %s |\n' "$what" "$(echo "$*" | sed "s#$dir/##g")" "$code" \
    "${msg:-(none)}$([ "$lines" -gt 1 ] && echo " (+$((lines - 1)) lines)")"
}

echo '| bad input | command | exit | message (stderr) |'
echo '|---|---|---|---|'
row "missing file" decompose nofile.h5 --rank 2 -o o.h5
row "a directory" info dir.h5
row "not HDF5 (text)" decompose text.h5 --rank 2 -o o.h5
row "empty file (0 bytes)" fit empty.h5 --rank 1 -o o.h5
row "truncated HDF5 (first 3000 bytes)" decompose truncated.h5 --rank 2 -o o.h5
row "truncated HDF5" info truncated.h5
row "dataset missing" decompose good.h5 --dataset /nope --rank 2 -o o.h5
row "a group where a dataset should be" decompose group.h5 --rank 2 -o o.h5
row "wrong rank (2-D activity)" decompose rank2.h5 --rank 2 -o o.h5
row "wrong rank (scalar)" fit scalar.h5 --rank 1 -o o.h5
row "wrong dtype (strings)" decompose string.h5 --rank 2 -o o.h5
row "wrong dtype (complex)" fit complex.h5 --rank 1 -o o.h5
row "float32 activity (accepted)" decompose float32.h5 --rank 2 -o o.h5
row "NaN in activity" decompose nan.h5 --rank 2 -o o.h5
row "NaN in activity" fit nan.h5 --rank 1 -o o.h5
row "Inf in activity" decompose inf.h5 --rank 2 -o o.h5
row "mask of another shape" decompose mask_shape.h5 --rank 2 --mask /mask -o o.h5
row "mask of another shape" fit mask_shape.h5 --rank 1 -o o.h5
row "inputs with other trials" fit inputs_shape.h5 --rank 1 -o o.h5
row "negative condition labels" fit condition_neg.h5 --rank 1 -o o.h5
row "condition of another length" fit condition_len.h5 --rank 1 -o o.h5
row "empty dataset (0 trials)" decompose empty_dataset.h5 --rank 2 -o o.h5
row "empty dataset (0 trials)" fit empty_dataset.h5 --rank 1 -o o.h5
row "huge dims (2^60 entries declared)" decompose huge.h5 --rank 2 -o o.h5
row "huge dims (10^13 entries declared)" fit huge_2d.h5 --rank 1 -o o.h5
row "huge dims" info huge.h5
row "rank 0" decompose good.h5 --rank 0 -o o.h5
row "negative rank" fit good.h5 --rank -2 -o o.h5
row "rank not a number" decompose good.h5 --rank abc -o o.h5
row "rank overflowing int" decompose good.h5 --rank 99999999999 -o o.h5
row "rank above the units" fit good.h5 --rank 9 --units 4 -o o.h5
row "reversed range" decompose good.h5 --ranks 5:2 -o o.h5
row "zero restarts" decompose good.h5 --ranks 1:2 --restarts 0 -o o.h5
row "negative threads" decompose good.h5 --rank 2 --threads -3 -o o.h5
row "alpha 0" fit good.h5 --rank 1 --alpha 0 -o o.h5
row "alpha NaN" fit good.h5 --rank 1 --alpha nan -o o.h5
row "negative max-iters" fit good.h5 --rank 1 --max-iters -1 -o o.h5
row "zero units" train --task flipflop --units 0 -o o.h5
row "zero batch" train --task flipflop --batch 0 -o o.h5
row "negative steps" train --task flipflop --steps -5 -o o.h5
row "zero record-every" train --task flipflop --record-every 0 -o o.h5
row "huge units" train --task flipflop --units 2000000000 --steps 1 -o o.h5
row "unknown task" train --task juggling -o o.h5
row "unknown option" decompose good.h5 --rank 2 --bogus 1 -o o.h5
row "option without its value" fit good.h5 --rank
row "unknown command" frobnicate
row "no output given" decompose good.h5 --rank 2
row "output directory missing" decompose good.h5 --rank 2 -o /nonexistent/o.h5
row "output directory not writable" decompose good.h5 --rank 2 -o /proc/o.h5
row "missing --config file" decompose good.h5 --config nope.cfg
row "train --resume of a recording" train --resume -o good.h5
row "train --resume of a finished run" train --resume -o traj.h5
row "fit --resume of a finished fit" fit --resume -o model.h5
row "fit --resume of a recording" fit --resume -o good.h5
row "simulate a recording as a model" simulate good.h5 -o o.h5
row "analyze a recording as a trajectory" analyze good.h5 -o o.h5
# --- sanitizers and fuzzing ---
row "a word holding a boost placeholder" train --units %value% -o o.h5
row "labels beyond the integer range" fit label_huge.h5 --rank 1 -o o.h5
row "null string attribute (accepted)" info null_string.h5
row "model kind holding two strings" simulate kind_two.h5 -o o.h5
row "training config count beyond int" train --resume -o units_huge.h5
