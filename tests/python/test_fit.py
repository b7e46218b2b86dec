"""ltr.fit_rnn, ltr.sweep_ranks, ltr.RnnFit and ltr.RankSweep: the same bits as
`ltr fit` on the same file and options, a planted teacher recovered, held-out
entries that do not reach the fit, simulate against a numpy forward pass of
docs/fit.md's equations, files both ways with the command line, errors."""
import inspect
import warnings

import numpy as np
import pytest

import ltr

h5py = pytest.importorskip("h5py")

# The small problem of these tests: a rank-2 ltr teacher, 8 units seen
# through an identity readout, 30 trials x 20 bins (ltr synth; noise 0.05).
TEACHER = ["--kind", "ltr-teacher", "--units", 8, "--rank", 2, "--trials", 30,
           "--conditions", 4, "--steps", 20, "--seed", 5]
FIT = dict(readout="identity", max_iters=30, seed=1, threads=1)
FIT_FLAGS = ["--model", "ltr", "--rank", 2, "--readout", "identity", "--max-iters", 30,
             "--seed", 1, "--threads", 1]
MODEL_BLOCKS = ["a", "b", "c", "bias", "readout", "offset"]
EXAMPLE = __import__("pathlib").Path(__file__).resolve().parents[2] / "data" / "example_learning.h5"


@pytest.fixture(scope="module")
def teacher(tmp_path_factory, ltr_binary):
    import subprocess
    path = tmp_path_factory.mktemp("teacher") / "teacher.h5"
    subprocess.run([ltr_binary, "synth", *map(str, TEACHER), "-o", str(path)],
                   check=True, capture_output=True)
    return path


def quiet_fit(*args, **kwargs):
    """fit_rnn with the data's warnings silenced (tests of warnings say so)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ltr.fit_rnn(*args, **kwargs)


def read_fit(path):
    with h5py.File(path, "r") as f:
        out = {name: f["model"][name][()] for name in f["model"]}
        out["fit"] = dict(f["fit"].attrs)
        out["loss"] = f["fit/loss"][()]
        out["train_mask"] = f["heldout/train_mask"][()]
        out["test_mask"] = f["heldout/test_mask"][()]
        out["root"] = dict(f.attrs)
    return out


def assert_same_model(fit, stored):
    for name in MODEL_BLOCKS:
        np.testing.assert_array_equal(getattr(fit, name), stored[name], err_msg=name)
    np.testing.assert_array_equal(fit.x0.T, stored["x0"])  # file: conditions x N


# --- The same bits as the command line --------------------------------------

def test_fit_equals_the_command_on_the_same_file(teacher, tmp_path, run_ltr):
    run_ltr("fit", teacher, *FIT_FLAGS, "-o", tmp_path / "cli.h5")
    cli = read_fit(tmp_path / "cli.h5")
    fit = quiet_fit(ltr.load_recording(teacher), "ltr", 2, **FIT)
    assert_same_model(fit, cli)
    assert fit.train_loss == cli["fit"]["train_loss"]
    assert fit.test_loss == cli["fit"]["test_loss"]
    assert fit.test_r2 == cli["fit"]["test_r2"]
    assert fit.iterations == cli["fit"]["iterations"] == 30
    assert fit.termination == cli["fit"]["termination"]
    np.testing.assert_array_equal(fit.history["loss"], cli["loss"])
    np.testing.assert_array_equal(fit.train_mask, cli["train_mask"].astype(bool))
    np.testing.assert_array_equal(fit.test_mask, cli["test_mask"].astype(bool))
    assert fit.input == str(teacher)


# Other models, losses, optimisers and splits: flags and the same keywords.
CASES = {
    "full": (["--model", "full"], dict(model="full", rank=None)),
    "lowrank orthonormal": (["--model", "lowrank", "--rank", 2, "--readout", "orthonormal",
                             "--units", 5, "--held-out", "neurons", "--held-out-seed", 3],
                            dict(model="lowrank", rank=2, readout="orthonormal", units=5,
                                 held_out="neurons", held_out_seed=3)),
    "ltr adam gp": (["--model", "ltr", "--rank", 2, "--optimizer", "adam", "--lr", 0.01,
                     "--lr-decay", 0.1, "--smoothing", "gp", "--smoothing-length", 5,
                     "--l2-w", 0.01, "--l2-inputs", 0.1, "--condition-inputs", "--start",
                     "data", "--base-gain", 0.5],
                    dict(model="ltr", rank=2, optimizer="adam", learning_rate=0.01,
                         lr_decay=0.1, smoothing="gp", smoothing_length=5.0, l2_w=0.01,
                         l2_inputs=0.1, condition_inputs=True, start="data",
                         base_gain=0.5)),
}


@pytest.mark.parametrize("case", CASES)
def test_every_kind_of_fit_equals_the_command(case, teacher, tmp_path, run_ltr):
    flags, kwargs = CASES[case]
    run_ltr("fit", teacher, *flags, "--max-iters", 20, "--seed", 4, "--threads", 2,
            "-o", tmp_path / "cli.h5")
    cli = read_fit(tmp_path / "cli.h5")
    model, rank = kwargs.pop("model"), kwargs.pop("rank")
    fit = quiet_fit(ltr.load_recording(teacher), model, rank, max_iters=20, seed=4,
                    threads=2, **kwargs)
    blocks = ["w"] if model == "full" else ["a", "b"] + (["c"] if model == "ltr" else [])
    for name in blocks + ["bias", "readout", "offset"] + (["w0"] if "gp" in case else []):
        np.testing.assert_array_equal(getattr(fit, name), cli[name], err_msg=name)
    if "gp" in case:  # the file holds h as conditions x N
        np.testing.assert_array_equal(fit.h.T, cli["h"])
    np.testing.assert_array_equal(fit.history["loss"], cli["loss"])
    assert fit.test_loss == cli["fit"]["test_loss"]
    assert fit.optimizer == cli["fit"]["optimizer"]


def test_inputs_and_epochs_of_the_example_recording_as_the_command(tmp_path, run_ltr):
    data = ltr.load_recording(EXAMPLE) if EXAMPLE.exists() else pytest.skip("no example")
    assert data.inputs is not None and data.epoch is not None
    flags = ["--model", "ltr", "--rank", 3, "--units", 10, "--smoothing", "second-diff",
             "--smoothing-weight", 0.1, "--max-iters", 4, "--seed", 2, "--threads", 2]
    run_ltr("fit", EXAMPLE, *flags, "-o", tmp_path / "cli.h5")
    cli = read_fit(tmp_path / "cli.h5")
    with h5py.File(EXAMPLE, "r") as f:
        arrays = {name: f[name][()] for name in ["activity", "inputs", "condition", "epoch"]}
    fit = quiet_fit(arrays.pop("activity"), "ltr", 3, units=10, smoothing="second-diff",
                    smoothing_weight=0.1, max_iters=4, seed=2, threads=2, **arrays)
    assert fit.w_in.shape == (10, data.inputs.shape[2])
    for name in ["a", "b", "c", "w_in", "readout"]:
        np.testing.assert_array_equal(getattr(fit, name), cli[name], err_msg=name)
    np.testing.assert_array_equal(fit.history["loss"], cli["loss"])


def test_arrays_in_any_layout_give_the_recordings_bits(teacher):
    with h5py.File(teacher, "r") as f:
        activity, condition = f["activity"][()], f["condition"][()]
    reference = quiet_fit(ltr.load_recording(teacher), "ltr", 2, **FIT)
    fits = {
        "C order": quiet_fit(activity, "ltr", 2, condition=condition, **FIT),
        "Fortran order": quiet_fit(np.asfortranarray(activity), "ltr", 2,
                                   condition=condition.astype(np.int32), **FIT),
        "trial,neuron,time": quiet_fit(activity.transpose(0, 2, 1).copy(), "ltr", 2,
                                       condition=condition, axes="trial,neuron,time",
                                       **FIT),
        "neurons x trials x bins view": quiet_fit(activity.transpose(2, 0, 1), "ltr", 2,
                                                  condition=condition,
                                                  axes="cells, trials, bins", **FIT),
    }
    for layout, fit in fits.items():
        for name in MODEL_BLOCKS + ["x0"]:
            np.testing.assert_array_equal(getattr(fit, name), getattr(reference, name),
                                          err_msg=f"{layout}: {name}")
        assert fit.test_loss == reference.test_loss, layout
    # float32 in: the same fit as its values in float64.
    x32 = activity.astype(np.float32)
    a = quiet_fit(x32, "ltr", 2, condition=condition, **FIT)
    b = quiet_fit(x32.astype(np.float64), "ltr", 2, condition=condition, **FIT)
    np.testing.assert_array_equal(a.c, b.c)
    assert a.train_loss == b.train_loss


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_sweep_equals_the_command_and_reads_back(teacher, tmp_path, run_ltr):
    flags = ["--model", "ltr", "--ranks", "1:2", "--seeds", 2, "--readout", "identity",
             "--max-iters", 15, "--threads", 1]
    run_ltr("fit", teacher, *flags, "-o", tmp_path / "cli.h5")
    sweep = ltr.sweep_ranks(ltr.load_recording(teacher), [1, 2], seeds=2,
                            readout="identity", max_iters=15, threads=1)
    with h5py.File(tmp_path / "cli.h5", "r") as f:
        for name in ["train_loss", "test_loss", "test_r2"]:
            np.testing.assert_array_equal(getattr(sweep, name), f["cv"][name][()])
        np.testing.assert_array_equal(sweep.ranks, f["cv/ranks"][()])
        assert sweep.chosen_rank == f["cv"].attrs["chosen_rank"]
    assert_same_model(sweep.best, read_fit(tmp_path / "cli.h5"))
    assert sweep.train_loss.shape == (2, 2)

    sweep.save(tmp_path / "py.h5")
    back = ltr.load_fit(tmp_path / "py.h5")
    assert isinstance(back, ltr.RankSweep)
    np.testing.assert_array_equal(back.test_loss, sweep.test_loss)
    assert back.chosen_rank == sweep.chosen_rank
    np.testing.assert_array_equal(back.best.c, sweep.best.c)
    cli = ltr.load_fit(tmp_path / "cli.h5")
    np.testing.assert_array_equal(cli.test_r2, sweep.test_r2)
    assert run_ltr("info", tmp_path / "py.h5").returncode == 0


# --- Truth --------------------------------------------------------------------

def test_a_planted_teacher_is_recovered_to_its_noise_floor(teacher):
    fit = quiet_fit(ltr.load_recording(teacher), "ltr", 2, readout="identity",
                    smoothing="second-diff", smoothing_weight=0.1, max_iters=400,
                    seed=1, threads=1)
    truth = ltr.load_fit(teacher)  # the teacher's /model, no statistics
    assert not truth.has_statistics
    with h5py.File(teacher, "r") as f:
        y, condition = f["activity"][()], f["condition"][()]
    test = fit.test_mask
    def r2(prediction):
        residual = y[test] - prediction[test]
        return 1 - residual @ residual / np.sum((y[test] - y[test].mean()) ** 2)
    floor = r2(truth.predict(condition=condition, steps=y.shape[1], threads=1))
    assert fit.test_r2 == pytest.approx(r2(fit.predict(condition=condition, steps=20)),
                                        abs=1e-12)
    assert floor > 0.98
    assert fit.test_r2 > floor - 0.005, (fit.test_r2, floor)
    # The dynamics: noise-free predictions of every entry near the teacher's.
    clean = truth.predict(condition=condition, steps=20)
    fitted = fit.predict(condition=condition, steps=20)
    relative = np.linalg.norm(fitted - clean) / np.linalg.norm(clean - clean.mean())
    assert relative < 0.1, relative


def test_held_out_entries_do_not_reach_the_fit(teacher):
    rec = ltr.load_recording(teacher)
    y = rec.activity.copy()
    rng = np.random.default_rng(0)
    mask = rng.random(y.shape) > 0.05  # 5 % unobserved
    kwargs = dict(condition=rec.condition, mask=mask, **FIT)
    a = quiet_fit(y, "ltr", 2, **kwargs)
    unused = ~a.train_mask  # held-out, guard and unobserved entries
    assert 0.3 < unused.mean() < 0.6
    changed = y.copy()
    changed[unused] = rng.normal(0, 10, unused.sum())
    changed[~mask] = np.nan  # unobserved: not even finite
    b = quiet_fit(changed, "ltr", 2, **kwargs)
    for name in MODEL_BLOCKS + ["x0"]:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.train_loss == b.train_loss
    np.testing.assert_array_equal(a.history["loss"], b.history["loss"])
    assert a.test_loss != b.test_loss  # scored on the changed entries

    # A given split: the test mask's entries are never trained on.
    given = np.zeros(y.shape, bool)
    given[::3, 5:9, :4] = True
    c = quiet_fit(y, "ltr", 2, test_mask=given, condition=rec.condition, **FIT)
    changed = y.copy()
    changed[given] += 3.0
    d = quiet_fit(changed, "ltr", 2, test_mask=given.astype(np.uint8),
                  condition=rec.condition, **FIT)
    np.testing.assert_array_equal(c.c, d.c)
    np.testing.assert_array_equal(c.test_mask, given)
    assert c.test_metrics.count == given.sum()


def numpy_forward(fit, inputs, condition, steps):
    """docs/fit.md's model, step by step: x[0] = x0[:, c]; x[t+1] = (1 - alpha) x[t]
    + alpha (W_k tanh(x[t]) + W_in u[t] + h[:, c] + bias); y[t] = C tanh(x[t]) + d."""
    a, b, c = fit.a, fit.b, fit.c
    out = np.zeros((len(condition), steps, fit.neurons))
    for k, cond in enumerate(condition):
        w = (a * c[k]) @ b.T
        x = fit.x0[:, cond].copy()
        for t in range(steps):
            out[k, t] = fit.readout @ np.tanh(x) + fit.offset
            drive = w @ np.tanh(x) + fit.w_in @ inputs[k, t] + fit.h[:, cond] + fit.bias
            x = (1 - fit.alpha) * x + fit.alpha * drive
    return out


def test_simulate_and_predict_equal_a_numpy_forward_pass(teacher):
    rec = ltr.load_recording(teacher)
    rng = np.random.default_rng(1)
    inputs = rng.normal(size=rec.activity.shape[:2] + (3,))
    fit = quiet_fit(rec.activity, "ltr", 2, inputs=inputs, condition=rec.condition,
                    condition_inputs=True, readout="free", units=6, max_iters=25,
                    threads=1)
    assert fit.w_in.shape == (6, 3) and fit.h.shape == (6, 4)
    assert fit.readout.shape == (8, 6) and fit.x0.shape == (6, 4)
    expected = numpy_forward(fit, inputs, rec.condition, 20)
    simulated = fit.simulate(inputs, rec.condition)
    assert isinstance(simulated, ltr.Recording)
    np.testing.assert_allclose(simulated.activity, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(simulated.condition, rec.condition)
    np.testing.assert_array_equal(simulated.inputs, inputs)
    predicted = fit.predict(inputs, rec.condition, threads=2)
    np.testing.assert_allclose(predicted, expected, rtol=0, atol=1e-12)
    # A Recording drives it as well: its inputs and conditions.
    drive = ltr.Recording(rec.activity, inputs=inputs, condition=rec.condition)
    np.testing.assert_array_equal(fit.simulate(drive).activity, simulated.activity)
    np.testing.assert_array_equal(fit.predict(drive), predicted)
    # Process noise: a draw of its own, reproducible by seed.
    noisy = fit.simulate(inputs, rec.condition, noise=0.1, seed=4).activity
    assert np.abs(noisy - expected).max() > 1e-3
    np.testing.assert_array_equal(
        noisy, fit.simulate(inputs, rec.condition, noise=0.1, seed=4).activity)


# --- Files --------------------------------------------------------------------

def test_saved_fits_are_read_by_the_command_and_load_back(teacher, tmp_path, run_ltr):
    fit = quiet_fit(ltr.load_recording(teacher), "ltr", 2, **FIT)
    path = tmp_path / "model.h5"
    fit.save(path)
    assert run_ltr("info", path).returncode == 0
    if __import__("shutil").which("gnuplot"):
        run_ltr("plot", path, "-o", tmp_path / "figures")
        assert list((tmp_path / "figures").glob("*.png"))
    run_ltr("simulate", "--model", path, "--steps", 20, "-o", tmp_path / "sim.h5")
    with h5py.File(tmp_path / "sim.h5", "r") as f:
        np.testing.assert_array_equal(f["activity"][()], fit.simulate(steps=20).activity)
    stored = read_fit(path)
    assert_same_model(fit, stored)
    assert stored["root"]["input"] == str(teacher)
    assert "failure" not in stored["root"]
    back = ltr.load_fit(path)
    assert isinstance(back, ltr.RnnFit) and back.has_statistics
    for name in MODEL_BLOCKS + ["x0", "train_mask", "test_mask"]:
        np.testing.assert_array_equal(getattr(back, name), getattr(fit, name), err_msg=name)
    for name in ["train_loss", "test_loss", "null_train_loss", "iterations", "termination",
                 "objective", "initialization"]:
        assert getattr(back, name) == getattr(fit, name), name
    np.testing.assert_array_equal(back.history["loss"], fit.history["loss"])
    assert back.failure == "" and back.test_metrics.r2 == fit.test_metrics.r2
    # A loaded fit saves the same layout again, and --init starts from it.
    back.save(tmp_path / "again.h5")
    assert_same_model(ltr.load_fit(tmp_path / "again.h5"), stored)
    run_ltr("fit", teacher, "--model", "ltr", "--rank", 2, "--readout", "identity",
            "--max-iters", 1, "--threads", 1, "--init", path, "-o", tmp_path / "warm.h5")
    warm = quiet_fit(ltr.load_recording(teacher), "ltr", 2, readout="identity",
                     max_iters=1, init=back, threads=1)
    np.testing.assert_array_equal(warm.c, read_fit(tmp_path / "warm.h5")["c"])
    # Never over its recording.
    with pytest.raises(ValueError):
        fit.save(teacher)


def test_recordings_round_trip_with_the_command(tmp_path, run_ltr):
    rng = np.random.default_rng(2)
    activity = np.tanh(rng.normal(size=(12, 15, 5))) * 0.8
    mask = rng.random(activity.shape) > 0.1
    stored = activity.transpose(0, 2, 1)  # trial, neuron, time
    rec = ltr.Recording(stored, mask=mask.transpose(0, 2, 1), condition=np.arange(12) % 3,
                        epoch=np.repeat([0, 1], 6), dt=0.02, axes="trial,neuron,time")
    np.testing.assert_array_equal(rec.activity, activity)
    np.testing.assert_array_equal(rec.mask, mask)
    assert rec.activity.flags.writeable is False
    assert "12 trials x 15 time bins x 5 neurons" in repr(rec)
    rec.save(tmp_path / "rec.h5")
    with h5py.File(tmp_path / "rec.h5", "r") as f:
        np.testing.assert_array_equal(f["activity"][()], activity)
        assert f.attrs["dt"] == 0.02
    back = ltr.load_recording(tmp_path / "rec.h5")
    for name in ["activity", "mask", "condition", "epoch"]:
        np.testing.assert_array_equal(getattr(back, name), getattr(rec, name))
    assert back.dt == 0.02 and back.file == str(tmp_path / "rec.h5")
    out = run_ltr("fit", tmp_path / "rec.h5", "--model", "lowrank", "--rank", 2,
                  "--max-iters", 5, "-o", tmp_path / "m.h5")
    assert "with /mask, /condition, /epoch" in out.stdout
    # A file in another order with its axes attribute reads canonical.
    with h5py.File(tmp_path / "tnt.h5", "w") as f:
        f["s1/activity"] = stored
        f["s1/activity"].attrs["axes"] = "trial,neuron,time"
        f["s1/seen"] = mask.transpose(0, 2, 1)
    other = ltr.load_recording(tmp_path / "tnt.h5", dataset="/s1/activity", mask="seen")
    np.testing.assert_array_equal(other.activity, activity)
    np.testing.assert_array_equal(other.mask, mask)
    assert other.condition is None and other.inputs is None
    with pytest.raises(ValueError):
        back.save(tmp_path / "rec.h5")  # its own file


# --- Warnings, errors, progress --------------------------------------------------

def test_the_librarys_warnings_are_python_warnings():
    rng = np.random.default_rng(3)
    counts = rng.poisson(2.0, size=(6, 12, 4)).astype(float)
    with pytest.warns(UserWarning) as caught:
        ltr.fit_rnn(counts, "lowrank", 1, max_iters=3, threads=1)
    lines = [str(w.message) for w in caught]
    assert any("count" in line for line in lines), lines
    assert any("/condition" in line for line in lines), lines
    assert all("\n" not in line for line in lines)


def test_a_fit_of_pure_noise_warns_as_the_command_does(teacher):
    # Gaussian noise around each neuron's mean: only the means can be
    # predicted, so the held-out mse cannot beat the neurons' training means.
    rng = np.random.default_rng(3)
    noise = 0.2 * np.arange(4) - 0.3 + rng.normal(0, 0.3, size=(30, 10, 4))
    with pytest.warns(UserWarning) as caught:
        fit = ltr.fit_rnn(noise, "ltr", 1, units=4, max_iters=200,
                          condition=np.zeros(30, dtype=int), threads=1)
    lines = [str(w.message) for w in caught if "held-out" in str(w.message)]
    assert len(lines) == 1 and "no better than each neuron's training mean" in lines[0]
    train, test = fit.train_mask, fit.test_mask
    means = np.array([noise[..., n][train[..., n]].mean() for n in range(4)])
    null_mse = np.mean((noise - means)[test] ** 2)
    assert f"against {null_mse:.4g}" in lines[0], (lines[0], null_mse)
    # A planted teacher fitted well gets no such warning.
    with warnings.catch_warnings(record=True) as good:
        warnings.simplefilter("always")
        ltr.fit_rnn(ltr.load_recording(teacher), "ltr", 2, readout="identity",
                    max_iters=100, seed=1, threads=1)
    assert not [w for w in good if "held-out" in str(w.message)]


def error_of(call, kind):
    with pytest.raises(kind) as caught:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    message = str(caught.value)
    assert message and "\n" not in message, message
    return message


def test_errors_map_to_python_exceptions_with_one_line():
    x = np.tanh(np.random.default_rng(4).normal(size=(6, 12, 4)))
    fit = lambda *a, **k: ltr.fit_rnn(*a, **{"max_iters": 2, "threads": 1, **k})
    assert "3-D" in error_of(lambda: fit(x[0], "ltr", 2), ValueError)
    message = error_of(lambda: fit(x, "tensor", 2), ValueError)
    assert "full" in message and "lowrank" in message and "ltr" in message
    assert "relu" in error_of(lambda: fit(x, "ltr", 2, nonlinearity="sigmoid"), ValueError)
    assert "mask" in error_of(lambda: fit(x, "ltr", 2, mask=np.ones((6, 12, 5))), ValueError)
    assert "test_mask" in error_of(
        lambda: fit(x, "ltr", 2, test_mask=np.ones((6, 4, 12))), ValueError)
    assert "rank" in error_of(lambda: fit(x, "ltr"), ValueError)
    assert "rank" in error_of(lambda: fit(x, "full", 2), ValueError)
    assert "larger than" in error_of(lambda: fit(x, "ltr", 9), ValueError)
    assert "adam" in error_of(lambda: fit(x, "ltr", 2, learning_rate=0.1), ValueError)
    assert "ltr" in error_of(lambda: fit(x, "lowrank", 2, smoothing="gp"), ValueError)
    assert "test_mask" in error_of(
        lambda: fit(x, "ltr", 2, test_mask=x > 0.5, held_out="neurons"), ValueError)
    assert "inputs" in error_of(lambda: fit(x, "ltr", 2, inputs=np.ones((5, 12, 1))),
                                ValueError)
    assert "condition" in error_of(lambda: fit(x, "ltr", 2, condition=[0, 1]), ValueError)
    assert "condition" in error_of(lambda: fit(x, "ltr", 2, condition=[0, -1, 0, 0, 0, 0]),
                                   ValueError)
    assert "axes" in error_of(lambda: fit(x, "ltr", 2, axes="trial,time,time"), ValueError)
    assert "non-finite" in error_of(lambda: fit(np.where(x > 0.9, np.nan, x), "ltr", 2),
                                    ValueError)
    assert "alpha" in error_of(lambda: fit(x, "ltr", 2, alpha="fast"), TypeError)
    assert "number" in error_of(lambda: fit("data", "ltr", 2), TypeError)
    assert "itres" in error_of(lambda: fit(x, "ltr", 2, max_itres=3), TypeError)
    assert "progress_every" in error_of(lambda: fit(x, "ltr", 2, progress=print), ValueError)
    assert "ranks" in error_of(lambda: ltr.sweep_ranks(x, [1, 2], rank=2), TypeError)
    assert "held-out" in error_of(lambda: ltr.sweep_ranks(x, [1, 2], held_out="none"),
                                  ValueError)
    assert "checkpoint" in error_of(lambda: fit(x, "ltr", 2, checkpoint_every=5), ValueError)
    assert "checkpoint" in error_of(
        lambda: ltr.sweep_ranks(x, [1], checkpoint="/tmp/x.h5"), ValueError)
    error_of(lambda: fit(x, "ltr", 2, checkpoint="/nonexistent/dir/c.h5"), OSError)
    error_of(lambda: ltr.load_recording("/nonexistent/rec.h5"), OSError)
    error_of(lambda: ltr.load_fit("/nonexistent/fit.h5"), OSError)
    model = ltr.fit_rnn(x, "ltr", 2, max_iters=2, threads=1, condition=np.zeros(6, int))
    assert "inputs" in error_of(lambda: model.simulate(np.ones((6, 12, 2))), ValueError)
    assert "trials" in error_of(lambda: model.simulate(trials=7, steps=3), ValueError)
    error_of(lambda: model.save("/nonexistent/dir/m.h5"), OSError)


def test_a_failing_progress_callable_stops_the_fit_and_is_raised():
    x = np.tanh(np.random.default_rng(5).normal(size=(10, 20, 6)))
    lines = []
    def progress(line):
        lines.append(line)
        if len(lines) == 3:
            raise RuntimeError("stop here")
    with pytest.raises(RuntimeError, match="stop here"):
        ltr.fit_rnn(x, "ltr", 2, condition=np.zeros(10, int), max_iters=100000, tol=0,
                    gradient_tol=0, parameter_tol=0, progress_every=1, progress=progress,
                    threads=1)
    assert len(lines) == 3 and all(isinstance(line, str) for line in lines)


def test_every_keyword_has_the_librarys_default():
    defaults = ltr._ltr._fit_defaults()
    signature = inspect.signature(ltr.fit_rnn).parameters
    options = {name: p.default for name, p in signature.items()
               if name not in ltr._fit._DATA}
    assert options == defaults
    assert defaults["model"] == "ltr" and defaults["max_iters"] == 2000
    assert defaults["tol"] == 1e-9 and defaults["held_out"] == "blocks"
    assert "model" in ltr.fit_rnn.__doc__ and "Returns an ltr.RnnFit" in ltr.fit_rnn.__doc__


def test_checkpoints_and_ctrl_c_leave_a_fit_that_loads(tmp_path):
    import os
    import signal
    import threading
    import time
    x = np.tanh(np.random.default_rng(6).normal(size=(10, 20, 6)))
    path = tmp_path / "fit.h5.partial"
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        ltr.fit_rnn(x, "ltr", 2, condition=np.zeros(10, int), optimizer="adam",
                    max_iters=10**8, checkpoint=path, checkpoint_every=1000, threads=1)
    assert time.monotonic() - start < 3.5  # ~1 s idle; seconds under load
    stopped = ltr.load_fit(path)
    assert stopped.termination == "interrupted" and stopped.iterations > 0
    assert np.isfinite(stopped.c).all()
    # ... from which a new fit starts.
    warm = ltr.fit_rnn(x, "ltr", 2, condition=np.zeros(10, int), init=str(path),
                       max_iters=3, threads=1)
    assert warm.initialization == "given"


def test_no_references_or_memory_leak_over_a_thousand_calls():
    import gc
    import sys
    x = np.tanh(np.random.default_rng(7).normal(size=(8, 10, 5)))
    fit = quiet_fit(x, "ltr", 2, condition=np.zeros(8, int), max_iters=2, threads=1)
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096
    def calls(n):
        for _ in range(n):
            fit.a, fit.c, fit.history, fit.test_metrics, fit.train_mask
            fit.predict(steps=10, threads=1)
            fit.simulate(steps=10).activity
            quiet_fit(x, "lowrank", 1, condition=np.zeros(8, int), max_iters=1, threads=1)
    calls(50)
    gc.collect()
    references, before = sys.getrefcount(fit), rss()
    calls(1000)
    gc.collect()
    assert sys.getrefcount(fit) == references
    assert rss() - before < 8 * 2**20, (rss() - before) / 2**20
    view = fit.a
    del fit
    assert view.base is not None and view.sum() == view.sum()  # the view keeps it alive


def test_the_readout_preconditioner_keywords():
    x = np.tanh(np.random.default_rng(5).normal(size=(8, 12, 5)))
    fit = lambda **k: ltr.fit_rnn(x, "ltr", 1, units=4, max_iters=30,
                                  condition=np.zeros(8, dtype=int), threads=1,
                                  **k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = fit(precondition_readout=True, precondition_every=10)
    # Restarts every 10 iterations; the history runs on across them.
    assert s.iterations == 30
    assert "precondition_every" in error_of(
        lambda: fit(precondition_readout=True, precondition_every=0), ValueError)
    assert "L-BFGS" in error_of(
        lambda: fit(optimizer="adam", precondition_readout=True), ValueError)
