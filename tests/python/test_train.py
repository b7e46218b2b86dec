"""ltr.train and ltr.Trajectory: the same bits as `ltr train`, saves the CLI
reads, loads of the CLI's files, errors and progress."""
import h5py
import numpy as np
import pytest

import ltr

# A small run of each kind: (keyword arguments, the same as `ltr train` flags).
CASES = [
    (dict(task="flipflop", units=16, steps=12, batch=4, record_every=5, seed=3),
     ["--task", "flipflop", "--units", 16, "--steps", 12, "--batch", 4,
      "--record-every", 5, "--seed", 3]),
    (dict(task="fixed-point", units=12, g=0.5, nonlinearity="identity",
          optimizer="momentum", momentum=0.5, learning_rate=0.01, steps=6,
          batch=2, record_every=2, train="rec,out", target=0.5, seed=1),
     ["--task", "fixed-point", "--units", 12, "--g", 0.5, "--nonlinearity",
      "identity", "--optimizer", "momentum", "--momentum", 0.5,
      "--learning-rate", 0.01, "--steps", 6, "--batch", 2, "--record-every", 2,
      "--train", "rec,out", "--target", 0.5, "--seed", 1]),
]

DATASETS = ["weights", "w_in", "w_out", "step", "loss", "grad_norm",
            "checkpoint/x", "checkpoint/moment1", "checkpoint/moment2"]


def read(path, name):
    with h5py.File(path, "r") as f:
        return f[name][()]


def assert_same_file(a, b):
    """Every dataset and /config attribute of two trajectory files equal."""
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        for name in DATASETS:
            assert np.array_equal(fa[name][()], fb[name][()]), name
        assert dict(fa["config"].attrs) == dict(fb["config"].attrs)
        assert fa.attrs["complete"] == fb.attrs["complete"]
        assert fa["checkpoint"].attrs["step"] == fb["checkpoint"].attrs["step"]


@pytest.mark.parametrize("kwargs,flags", CASES)
def test_train_equals_the_command_bit_for_bit(tmp_path, run_ltr, kwargs, flags):
    cli = tmp_path / "cli.h5"
    run_ltr("train", *flags, "--threads", 1, "-o", cli)
    t = ltr.train(**kwargs, threads=1, progress=False)
    assert np.array_equal(t.weights, read(cli, "weights"))
    assert np.array_equal(t.w_in, read(cli, "w_in"))
    assert np.array_equal(t.w_out, read(cli, "w_out"))
    assert np.array_equal(t.steps, read(cli, "step"))
    assert np.array_equal(t.loss, read(cli, "loss"))
    assert np.array_equal(t.grad_norm, read(cli, "grad_norm"))
    # The summary is the run's: every step's loss, complete.
    assert np.array_equal(t.summary.loss, t.loss)
    assert t.summary.complete and t.summary.finite and not t.summary.cancelled
    assert t.summary.steps_done == kwargs["steps"] == len(t.loss)
    assert t.config.task == kwargs["task"] and t.config.threads == 1
    # Saved, it is the command's file (options, checkpoint and all).
    saved = tmp_path / "py.h5"
    t.save(saved)
    assert not (tmp_path / "py.h5.partial").exists()
    assert_same_file(saved, cli)


def test_shapes_views_and_repr():
    t = ltr.train("flipflop", units=8, steps=7, batch=2, record_every=3,
                  threads=1, progress=False)
    assert t.weights.shape == (4, 8, 8)  # steps 0, 3, 6, 7
    assert list(t.steps) == [0, 3, 6, 7]
    assert t.w_in.shape == (4, 8, 2) and t.w_out.shape == (4, 8, 2)
    assert t.loss.shape == (7,) and t.grad_norm.shape == (7,)
    assert not t.weights.flags.writeable
    w = t.weights
    del t
    assert np.isfinite(w).all()  # the view keeps the trajectory alive
    t = ltr.train("flipflop", units=8, steps=2, batch=2, threads=1, progress=False)
    assert "Trajectory(snapshots=2, N=8, task='flipflop'" in repr(t)
    assert "task='flipflop'" in repr(t.config)


def test_loss_decreases():
    t = ltr.train("flipflop", units=32, steps=150, batch=16, record_every=10,
                  seed=0, threads=1, progress=False)
    assert t.loss[-10:].mean() < 0.5 * t.loss[:5].mean()


def test_delta_w_singular_values_are_numpys():
    t = ltr.train("flipflop", units=16, steps=20, batch=4, record_every=5,
                  threads=1, progress=False)
    a = ltr.analyze(t, test_batch=8, max_truncation_rank=3, cp_max_rank=0,
                    threads=1, progress=False)
    for k in range(t.snapshots):
        s = np.linalg.svd(t.weights[k] - t.weights[0], compute_uv=False)
        np.testing.assert_allclose(a.singular_values[k], s, rtol=0, atol=1e-12)
    assert a.singular_values[-1, 0] > 0


def test_saved_trajectory_is_read_by_the_command_and_loads_back(tmp_path, run_ltr):
    t = ltr.train("flipflop", units=12, steps=10, batch=4, record_every=5,
                  threads=1, progress=False)
    path = tmp_path / "t.h5"
    t.save(str(path))
    info = run_ltr("info", path)
    assert "trajectory" in info.stdout.lower()
    run_ltr("analyze", path, "--test-batch", 8, "--max-rank", 3,
            "--cp-max-rank", 0, "--threads", 1, "-o", tmp_path / "a.h5")
    a = ltr.analyze(t, test_batch=8, max_truncation_rank=3, cp_max_rank=0,
                    threads=1, progress=False)
    assert np.array_equal(a.singular_values,
                          read(tmp_path / "a.h5", "delta_w/singular_values"))
    assert np.array_equal(a.truncation_loss, read(tmp_path / "a.h5", "truncation/loss"))

    back = ltr._ltr._load_trajectory(str(path))
    for name in ["weights", "w_in", "w_out", "steps", "loss", "grad_norm"]:
        assert np.array_equal(getattr(back, name), getattr(t, name)), name
    assert back.path == str(path) and back.summary is None and back.complete
    again = tmp_path / "again.h5"
    back.save(again)
    assert_same_file(again, path)
    with pytest.raises(ValueError, match="same file|is the input|over"):
        back.save(path)


def test_a_file_of_the_command_loads(tmp_path, run_ltr):
    cli = tmp_path / "cli.h5"
    run_ltr("train", "--task", "romo", "--units", 10, "--steps", 4, "--batch", 2,
            "--threads", 1, "-o", cli)
    t = ltr._ltr._load_trajectory(str(cli))
    assert t.config.task == "romo" and t.config.units == 10
    assert np.array_equal(t.weights, read(cli, "weights"))
    assert t.snapshots == 2 and t.units == 10


def test_errors():
    with pytest.raises(ValueError, match="flipflop.*mante"):
        ltr.train("flip-flopp", units=8, steps=1)
    with pytest.raises(ValueError, match="units must be >= 1"):
        ltr.train(units=-1, steps=1)
    with pytest.raises(ValueError, match="momentum needs optimizer='momentum'"):
        ltr.train(units=8, steps=1, momentum=0.5)
    with pytest.raises(ValueError, match="target needs task='fixed-point'"):
        ltr.train(units=8, steps=1, target=2.0)
    with pytest.raises(ValueError, match="in, rec, out"):
        ltr.train(units=8, steps=1, train="in,hidden")
    with pytest.raises(TypeError):
        ltr.train(units="8")
    with pytest.raises(OSError):
        ltr._ltr._load_trajectory("/nonexistent/t.h5")
    t = ltr.train(units=8, steps=1, batch=1, threads=1, progress=False)
    with pytest.raises(OSError):
        t.save("/nonexistent/dir/t.h5")
    with pytest.raises(TypeError, match="path"):
        t.save(3)


def test_a_raising_progress_callable_stops_training_and_is_raised():
    lines = []

    def progress(line):
        lines.append(line)
        if len(lines) == 2:
            raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        ltr.train(units=8, steps=10_000, batch=1, record_every=1, threads=1,
                  progress=progress)
    assert len(lines) == 2 and lines[0].startswith("step 1 of 10000")


def test_progress_goes_to_a_callable():
    lines = []
    ltr.train(units=8, steps=4, batch=1, record_every=2, threads=1,
              progress=lines.append)
    assert lines[0].startswith("step 2 of 4: loss") and len(lines) == 2


def test_ctrl_c_interrupts_training_within_a_second():
    import os
    import signal
    import threading
    import time

    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            ltr.train(units=64, steps=1_000_000, batch=8, record_every=1000,
                      threads=1, progress=False)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 3.3  # ~1 s idle; seconds under load
    # The module still works after the interrupt.
    assert ltr.train(units=8, steps=1, batch=1, threads=1, progress=False).complete


def test_a_synthetic_trajectory_loads_but_is_not_a_training_run(tmp_path, run_ltr):
    path = tmp_path / "syn.h5"
    run_ltr("synth", "--kind", "trajectory", "--units", 10, "-o", path)
    t = ltr._ltr._load_trajectory(str(path))
    assert np.array_equal(t.weights, read(path, "weights"))
    assert t.config is None and t.w_in.shape == (0, 0, 0)
    with pytest.raises(ValueError, match="no /config"):
        t.save(tmp_path / "copy.h5")
    with pytest.raises(ValueError, match="no /config"):
        ltr.analyze(t)


def test_ltr_plot_draws_a_saved_trajectory(tmp_path, run_ltr):
    import shutil
    if shutil.which("gnuplot") is None:
        pytest.skip("gnuplot is not installed")
    t = ltr.train(units=8, steps=10, batch=2, threads=1, progress=False)
    t.save(tmp_path / "t.h5")
    out = run_ltr("plot", tmp_path / "t.h5", "-o", tmp_path / "plots")
    assert "wrote" in out.stdout and any((tmp_path / "plots").iterdir())


def test_no_leak_over_1000_calls():
    import gc

    def resident_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 1e6

    def once():
        t = ltr.train(units=8, steps=2, batch=1, threads=1, progress=False)
        a = ltr.analyze(t, test_batch=2, max_truncation_rank=1, cp_max_rank=0,
                        threads=1, progress=False)
        return t.weights.sum() + a.singular_values.sum() + t.summary.loss.sum()

    for _ in range(100):
        once()
    gc.collect()
    before = resident_mb()
    for _ in range(1000):
        once()
    gc.collect()
    assert resident_mb() - before < 2.0


def test_a_diverging_run_warns_and_equals_the_command(tmp_path, run_ltr):
    flags = ["--task", "flipflop", "--units", 8, "--steps", 50, "--batch", 2,
             "--optimizer", "sgd", "--learning-rate", 1e6, "--threads", 1]
    cli = tmp_path / "cli.h5"
    result = run_ltr("train", *flags, "-o", cli, check=False)
    assert result.returncode == 1 and "diverged" in result.stderr
    with pytest.warns(RuntimeWarning, match="diverged.*1e10-fold"):
        t = ltr.train("flipflop", units=8, steps=50, batch=2, optimizer="sgd",
                      learning_rate=1e6, threads=1, progress=False)
    assert not t.summary.finite and not t.complete
    assert np.array_equal(t.loss, read(cli, "loss"))
    t.save(tmp_path / "py.h5")
    assert_same_file(tmp_path / "py.h5", cli)


def numpy_loss(w, w_in, w_out, batch, alpha=0.5):
    """The MSE of rnn.h's rate RNN (x0 = 0, bias 0, phi = tanh), in numpy."""
    inputs, targets, mask = batch["inputs"], batch["targets"], batch["mask"]
    total = 0.0
    for u, y, m in zip(inputs, targets, mask):
        x = np.zeros(w.shape[0])
        for t in range(y.shape[0]):
            r = np.tanh(x)
            total += 0.5 * np.sum(m[t] * (w_out.T @ r - y[t]) ** 2)
            x = (1 - alpha) * x + alpha * (w @ r + w_in @ u[t])
    return total / mask.sum()


def test_task_batch_is_the_batch_of_a_training_step():
    t = ltr.train("flipflop", units=10, steps=4, batch=3, record_every=1,
                  seed=7, threads=1, progress=False)
    for s in range(4):
        batch = ltr.task_batch("flipflop", 3, seed=7, step=s)
        assert batch["inputs"].shape[0] == 3 and batch["labels"].shape == (3,)
        loss = numpy_loss(t.weights[s], t.w_in[s], t.w_out[s], batch)
        assert loss == pytest.approx(t.loss[s], rel=1e-12)
    other = ltr.task_batch("flipflop", 3, seed=7, step=9)
    assert not np.array_equal(other["inputs"], batch["inputs"])
    with pytest.raises(ValueError, match="flipflop"):
        ltr.task_batch("nope")
    with pytest.raises(ValueError, match="curl needs task='reach'"):
        ltr.task_batch("romo", 2, curl=0.5)
    with pytest.raises(ValueError, match="count must be >= 1"):
        ltr.task_batch("romo", 0)
    romo = ltr.task_batch("romo", 4, seed=1)
    assert set(np.unique(romo["mask"])) <= {0.0, 1.0}
