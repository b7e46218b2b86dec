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
# --- reading recordings ---
def with_axes(name, axes, **sets):
    make(name, activity=x, **sets)
    with h5py.File(name, "a") as f:
        f["activity"].attrs["axes"] = axes
with_axes("axes_abc.h5", "a,b,c")
with_axes("axes_twice.h5", "trial,time,time")
with_axes("axes_tnt.h5", "trial,neuron,time")
make("sessions.h5", s1__activity=x, condition=np.arange(9))
make("tm_shape.h5", activity=x, tm=np.ones((9, 6, 4), dtype="u1"),
     tm0=np.zeros((9, 6, 5), dtype="u1"))
make("mask_bool.h5", activity=x, mask=np.ones((9, 6, 5), dtype=bool),
     condition=np.zeros((9, 1), dtype="i8"))
make("mask_string.h5", activity=x, mask=np.full((9, 6, 5), b"y"))
make("condition_wide.h5", activity=x, condition=np.zeros((9, 2), dtype="i8"))

# --- no silent wrong answers ---
lab = np.arange(9) % 2
make("negative.h5", activity=-np.abs(x) - 0.5)
h = x.copy(); h[0, 0, 0] = 1e308
make("huge_value.h5", activity=h)
make("zeros.h5", activity=np.zeros((9, 6, 5)))
make("counts.h5", activity=rng.poisson(2.0, size=(9, 6, 5)).astype("f8"), condition=lab)
make("zscored.h5", activity=(x - x.mean((0, 1))) / x.std((0, 1)), condition=lab)
make("rates.h5", activity=0.3 * np.tanh(x), condition=lab)
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
shutil.copy("traj.h5", "units_huge.h5.partial")  # what --resume reads
with h5py.File("units_huge.h5.partial", "a") as f:
    f["config"].attrs["units"] = 1e300; f.attrs["complete"] = 0.0
# --- train ---
make("weights_only.h5", weights=rng.normal(size=(3, 4, 4)))
shutil.copy("traj.h5", "short_step.h5")
with h5py.File("short_step.h5", "a") as f:
    del f["step"]; f["step"] = np.arange(2)
# --- fit checkpoints ---
shutil.copy("model.h5", "no_options.h5.partial")  # a checkpoint of before
with h5py.File("no_options.h5.partial", "a") as f:
    f["fit"].attrs["termination"] = "interrupted"
shutil.copy("no_options.h5.partial", "checkpoint.h5.partial")
with h5py.File("checkpoint.h5.partial", "a") as f:
    g = f.require_group("fit/options"); g.attrs["kind"] = "ltr"
    g.attrs["rank"] = 1; g.attrs["recording_file"] = "good.h5"
# --- python fit ---
shutil.copy("model.h5", "heldout_2d.h5")  # the split, read back with the fit
with h5py.File("heldout_2d.h5", "a") as f:
    del f["heldout/train_mask"]; f["heldout/train_mask"] = np.ones((9, 6), "u1")
# --- import ---
def nwb(name, index=(2, 4), rows=3, units=True, start=(0.0, 1.0, np.nan)):
    with h5py.File(name, "w") as f:
        f.attrs["nwb_version"] = "2.4.0"
        if units:
            f["units/spike_times"] = np.array([0.1, 0.5, 1.2, 2.5])
            f["units/spike_times_index"] = np.array(index, "u2")
            f["units/id"] = np.arange(len(index))
        f["intervals/trials/id"] = np.arange(3)
        f["intervals/trials/start_time"] = np.array(start)
        f["intervals/trials/stop_time"] = np.arange(rows) + 0.9
        f["intervals/trials/kind"] = np.array(["a", "b", "a"], dtype=h5py.string_dtype())
nwb("nwb_good.nwb"); nwb("nwb_past_end.nwb", index=(2, 9))
nwb("nwb_decreasing.nwb", index=(3, 2)); nwb("nwb_lengths.nwb", rows=2)
nwb("nwb_no_units.nwb", units=False)
np.save("flat.npy", np.zeros(4)); np.savez("two.npz", a=x, b=x)
# --- import: MATLAB ---
try:
    import scipy.io
    cells = np.empty((2, 1), dtype=object)
    for s in range(2):
        inner = np.empty((3, 2), dtype=object)
        for n in range(3):
            for r in range(2):
                inner[n, r] = np.array([[1.0, 5.0]])
        cells[s, 0] = inner
    scipy.io.savemat("spikes.mat", {"Spikes": cells, "n": 2.0})
    nan_cells = cells.copy(); nan_inner = cells[0, 0].copy(); nan_inner[0, 0] = np.array([[np.nan]])
    nan_cells[0, 0] = nan_inner
    scipy.io.savemat("nan_spikes.mat", {"Spikes": nan_cells})
except ImportError:
    pass
open("text.mat", "w").write("not a MAT file")
PY

row() {  # row DESCRIPTION ARGS...
  local what=$1; shift
  "$ltr" "$@" >out.txt 2>err.txt </dev/null
  local code=$?
  # The error (the last line of a failure; warnings come before it), or
  # the first warning of a success; "+N" counts the other lines.
  local msg
  if [ "$code" -ne 0 ]; then
    msg=$(tail -n 1 err.txt)
  else
    msg=$(head -n 1 err.txt)
  fi
  msg=$(echo "$msg" | sed "s#$dir/##g; s#|#\\\\|#g")
  local lines
  lines=$(wc -l <err.txt)
  printf '| %s | `ltr %s` | %s | %s |\n' "$what" "$(echo "$*" | sed "s#$dir/##g")" "$code" \
    "${msg:-(none)}$([ "$lines" -gt 1 ] && echo " (+$((lines - 1)) other lines)")"
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

# --- output safety: inputs are never written, --resume needs OUT.partial ---
ln -sf good.h5 link.h5
ln -f good.h5 hard.h5
cp good.h5 rec.h5.partial
cp model.h5 fin.h5.partial
mkdir -p pipe && cp good.h5 pipe/fit.h5
row "output is the input" decompose good.h5 --rank 2 -o good.h5
row "output is the input (symlink)" fit good.h5 --rank 1 -o link.h5
row "output is the input (hard link)" decompose good.h5 --rank 2 --stream -o hard.h5
row "output is the input (other spelling)" fit good.h5 --ranks 1:2 -o ./good.h5
row "output is the --init model" fit good.h5 --rank 1 --init model.h5 -o model.h5
row "output is the model" simulate model.h5 -o model.h5
row "output is the --inputs recording" simulate model.h5 --inputs good.h5 -o good.h5
row "output is the trajectory" analyze traj.h5 -o traj.h5
row "output is the trajectory" bounds traj.h5 -o traj.h5
row "input is the output's partial file" decompose rec.h5.partial --ranks 1:2 -o rec.h5
row "pipeline output dir holds the input" pipeline pipe/fit.h5 -o pipe
row "decompose --resume without a partial file" decompose good.h5 --ranks 1:2 --resume -o o.h5
row "train --resume of a recording's partial file" train --resume -o rec.h5
row "fit --resume of a finished fit's partial file" fit --resume -o fin.h5

# --- reading recordings ---
row "axes attribute not trial/time/neuron" fit axes_abc.h5 --rank 1 -o o.h5
row "axes attribute naming time twice" fit axes_twice.h5 --rank 1 -o o.h5
row "--axes naming two axes" fit good.h5 --axes trial,time --rank 1 -o o.h5
row "--axes overriding the attribute (accepted)" fit axes_tnt.h5 --axes trial,time,neuron --rank 1 --max-iters 3 -o o.h5
row "dataset missing (lists the 3-way datasets)" fit sessions.h5 --dataset /session1/activity --rank 1 -o o.h5
row "root /condition beside /s1/activity (warning)" fit sessions.h5 --dataset s1/activity --rank 1 --max-iters 3 -o o.h5
row "--condition naming a missing dataset" fit good.h5 --condition /nope --rank 1 -o o.h5
row "--mask in a missing file" fit good.h5 --mask nofile.h5:/mask --rank 1 -o o.h5
row "bool mask, (trials, 1) condition (accepted)" fit mask_bool.h5 --rank 1 --max-iters 3 -o o.h5
row "mask of strings" fit mask_string.h5 --rank 1 -o o.h5
row "condition of shape (trials, 2)" fit condition_wide.h5 --rank 1 -o o.h5
row "--test-mask of another shape" fit tm_shape.h5 --test-mask tm --rank 1 -o o.h5
row "--test-mask holding out nothing" fit tm_shape.h5 --test-mask tm0 --rank 1 -o o.h5
row "--test-mask with --held-out" fit good.h5 --test-mask model.h5:/heldout/test_mask --held-out neurons --rank 1 -o o.h5
row "--test-mask of another fit (accepted)" fit good.h5 --test-mask model.h5:/heldout/test_mask --rank 1 --max-iters 3 -o o.h5

# --- no silent wrong answers ---
row "option ignored by the method (tucker --rank)" decompose good.h5 --method tucker-hosvd --rank 2 -o o.h5
row "option ignored by the method (--tucker-ranks with cp-als)" decompose good.h5 --rank 2 --tucker-ranks 1,2,2 -o o.h5
row "option ignored (--restarts with --rank)" decompose good.h5 --rank 2 --restarts 4 -o o.h5
row "option ignored (--learning-rate with lbfgs)" fit good.h5 --rank 1 --learning-rate 0.01 -o o.h5
row "option ignored (--seeds without --ranks)" fit good.h5 --rank 1 --seeds 3 -o o.h5
row "option ignored (--smoothing-weight without --smoothing)" fit good.h5 --rank 1 --smoothing-weight 0.5 -o o.h5
row "option ignored (--momentum with adam)" train --task flipflop --momentum 0.5 -o o.h5
row "option ignored (--units with --resume)" train --resume --units 8 -o traj.h5
row "value 1e308 (sum of squares overflows)" decompose huge_value.h5 --rank 2 -o o.h5
row "all-zero data" decompose zeros.h5 --rank 2 -o o.h5
row "fit no better than the zero model (nonnegative CP of negative data)" decompose negative.h5 --method ncp-hals --rank 2 -o o.h5
row "fit no better than the neurons' means (Adam at rate 1e6)" fit rates.h5 --rank 1 --optimizer adam --learning-rate 1e6 --max-iters 30 -o o.h5
row "fit diverges (relu, Adam at rate 1e8)" fit rates.h5 --rank 1 --nonlinearity relu --optimizer adam --learning-rate 1e8 --max-iters 100 -o div.h5
row "simulating a diverged model" simulate div.h5 --steps 200 -o sim.h5
row "training diverges (SGD at rate 1e6)" train --task flipflop --units 8 --steps 20 --batch 2 --record-every 2 --optimizer sgd --lr 1e6 -o o.h5
row "warning: counts fitted with mse" fit counts.h5 --rank 1 --max-iters 100 -o o.h5
row "warning: no /condition and no /inputs" fit good.h5 --rank 1 --max-iters 100 -o o.h5
row "warning: z-scored data through tanh with an identity readout" fit zscored.h5 --rank 1 --readout identity --max-iters 100 -o o.h5
# --- consistent command line (threads branch) ---
printf 'rank = 2\nbogus = 1\n' > bogus.cfg
printf 'rank\n' > novalue.cfg
row "config: unknown option" decompose good.h5 --config bogus.cfg -o o.h5
row "config: option without a value" decompose good.h5 --config novalue.cfg -o o.h5
row "missing positional input" decompose --rank 2 -o o.h5
row "--ranks list not increasing" decompose good.h5 --ranks 3,1 -o o.h5
row "--lr and --learning-rate both" train --task flipflop --lr 0.1 --learning-rate 0.2 -o o.h5
# --- sanitizers and fuzzing ---
row "a word holding a boost placeholder" train --units %value% -o o.h5
row "labels beyond the integer range" fit label_huge.h5 --rank 1 -o o.h5
row "null string attribute (accepted)" info null_string.h5
row "model kind holding two strings" simulate kind_two.h5 -o o.h5
row "training config count beyond int" train --resume -o units_huge.h5
# --- train ---
row "bounds of a synthetic trajectory (/weights only)" bounds weights_only.h5 -o o.h5
row "analyze a trajectory whose /step is shorter than /weights" analyze short_step.h5 -o o.h5
# --- fit (resume from the recorded options) ---
row "fit --resume of a checkpoint without recorded options" fit --resume -o no_options.h5
row "fit --resume with --init" fit --resume --init model.h5 -o checkpoint.h5
# --- python fit ---
row "fit file whose /heldout/train_mask is not 3-way" plot heldout_2d.h5 -o figs
# --- import ---
row "import: spike_times_index past the end of spike_times" import nwb_past_end.nwb --window 0:1 -o o.h5
row "import: a decreasing spike_times_index" import nwb_decreasing.nwb --window 0:1 -o o.h5
row "import: table columns of different lengths" import nwb_lengths.nwb --window 0:1 -o o.h5
row "import: no /units" import nwb_no_units.nwb --window 0:1 -o o.h5
row "import: unknown --table" import nwb_good.nwb --table encoding --window 0:1 -o o.h5
row "import: unknown --align column" import nwb_good.nwb --align cue_time --window 0:1 -o o.h5
row "import: --align of a string column" import nwb_good.nwb --align kind --window 0:1 -o o.h5
row "import: unknown unit id" import nwb_good.nwb --units 0,5 --window 0:1 -o o.h5
row "import: a table without --window" import nwb_good.nwb -o o.h5
row "import: window not a whole number of bins" import nwb_good.nwb --window 0:1 --bin 0.3 -o o.h5
row "import: NaN alignment (dropped with a warning)" import nwb_good.nwb --window 0:1 -o o.h5
row "import: no spike in any trial's window (warning)" import nwb_good.nwb --align stop_time --window 10:11 -o o.h5
row "import: a 1-D .npy" import flat.npy -o o.h5
row "import: an NWB option with a .npy" import flat.npy --table trials -o o.h5
row "import: .npz of two arrays without --variable" import two.npz -o o.h5
row "import: HDF5 file that is not NWB" import good.h5 --window 0:1 -o o.h5
row "import: MATLAB file of several variables without --variable" import spikes.mat --window 0:0.01 -o o.h5
row "import: MATLAB variable that is not there" import spikes.mat --variable Spike --window 0:0.01 -o o.h5
row "import: MATLAB spike cells without --window" import spikes.mat --variable Spikes -o o.h5
row "import: MATLAB spike time that is NaN" import nan_spikes.mat --window 0:0.01 --time-unit ms -o o.h5
row "import: a text file named .mat" import text.mat -o o.h5
row "import: --time-unit with an NWB file" import nwb_good.nwb --window 0:1 --time-unit ms -o o.h5
row "import: MATLAB spike cells (accepted)" import spikes.mat --variable Spikes --time-unit ms --window 0:0.01 --bin 0.001 -o o.h5
# --- cp-apr ---
row "cp-apr of negative data" decompose negative.h5 --method cp-apr --rank 2 -o o.h5
row "cp-apr with --tol (it stops on --kkt-tol)" decompose counts.h5 --method cp-apr --rank 2 --tol 1e-5 -o o.h5
row "--kappa without cp-apr" decompose counts.h5 --rank 2 --kappa 0.1 -o o.h5
row "cp-apr with --apr-epsilon 0" decompose counts.h5 --method cp-apr --rank 2 --apr-epsilon 0 -o o.h5
row "cp-apr with --inner-iters 0" decompose counts.h5 --method cp-apr --rank 2 --inner-iters 0 -o o.h5
row "cp-apr of counts (accepted)" decompose counts.h5 --method cp-apr --rank 2 -o o.h5
# --- pipeline without true weights ---
"$ltr" train --task reach --protocol adaptation --units 6 --steps 4 --batch 2 --record-every 2 --baseline-trials 2 --adaptation-trials 2 --washout-trials 2 -o learning.h5 >/dev/null
row "pipeline: --readout with /weights (fitted and true weights share units)" pipeline learning.h5 --readout free -o pipe_out
row "pipeline: --units below 0" pipeline good.h5 --units -1 -o pipe_out
row "pipeline: --loss that does not exist" pipeline good.h5 --loss gauss -o pipe_out
# --- cp acceleration ---
row "unknown --acceleration" decompose good.h5 --rank 2 --acceleration fast -o o.h5
row "--acceleration with cp-opt" decompose good.h5 --method cp-opt --rank 2 --acceleration none -o o.h5
# --- import --format (realdata) ---
row "import: unknown --format" import flat.npy --format hdf5 -o o.h5
# --- s20 protocol ---
row "analyze with --overlap-depth 0" analyze traj.h5 --overlap-depth 0 -o o.h5
row "analyze with --overlap-vectors -1" analyze traj.h5 --overlap-vectors -1 -o o.h5
row "train reach with --read-after-input" train --task reach --units 6 --steps 2 --read-after-input -o o.h5
# --- ensemble starts ---
row "--random-starts without --ranks" decompose good.h5 --rank 2 --random-starts -o o.h5
