"""ltr.pipeline against `ltr pipeline`, and Ctrl-C during a long call."""
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

import ltr
from conftest import ROOT

EXAMPLE = str(ROOT / "data" / "example_learning.h5")
# A short run: 2 ranks, 1 seed, 30 iterations, 1 CP restart, no figures.
SHORT = dict(ranks=[1, 2], seeds=1, max_iters=30, cp_restarts=1, plots=False, seed=3)


def test_pipeline_equals_the_command(run_ltr, tmp_path):
    result = ltr.pipeline(EXAMPLE, str(tmp_path / "py"), threads=2, progress=False, **SHORT)
    run_ltr("pipeline", EXAMPLE, "-o", tmp_path / "cli", "--ranks", "1:2", "--seeds", 1,
            "--max-iters", 30, "--cp-restarts", 1, "--no-plots", "--seed", 3,
            "--threads", 2, "--progress", 0)
    with h5py.File(tmp_path / "cli" / "summary.h5") as cli:
        assert result.chosen_rank == cli.attrs["chosen_rank"]
        assert result.baseline_test_r2 == cli.attrs["baseline_test_r2"]
        assert result.comparison["factor_match"] == cli.attrs["factor_match"]
        assert result.comparison["update_distance"] == cli.attrs["update_distance"]
        np.testing.assert_array_equal(result.comparison["fitted_trial_factors"],
                                      cli["comparison/fitted_trial_factors"][()])
    assert "learning pipeline summary" in result.table
    assert all(os.path.exists(f) for f in result.files)
    # The summary file loads back with what the run returned.
    summary = ltr.load(str(tmp_path / "py" / "summary.h5"))
    assert summary.factor_match == result.comparison["factor_match"]
    np.testing.assert_array_equal(summary.fitted_trial_factors,
                                  result.comparison["fitted_trial_factors"])


def test_pipeline_progress_goes_to_the_callable(tmp_path):
    lines = []
    ltr.pipeline(EXAMPLE, str(tmp_path / "out"), threads=1, progress=lines.append,
                 progress_every=10, **SHORT)
    assert any(line.startswith("[3/5]") for line in lines)
    assert any("rank 2 seed 3" in line for line in lines)


def test_pipeline_bad_input_raises_oserror_and_valueerror(tmp_path):
    with pytest.raises(OSError, match="no such file"):
        ltr.pipeline(str(tmp_path / "missing.h5"), str(tmp_path / "out"), **SHORT)
    with pytest.raises(ValueError, match="seeds"):
        ltr.pipeline(EXAMPLE, str(tmp_path / "out"), **{**SHORT, "seeds": 0})


CHILD = r"""
import sys, time, ltr
print("started", flush=True)
try:
    ltr.pipeline(sys.argv[1], sys.argv[2], ranks=[1, 2, 3], seeds=1, max_iters=100000,
                 plots=False, progress=False, threads=1)
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted %.3f" % time.time(), flush=True)
    ltr.pipeline(sys.argv[1], sys.argv[3], ranks=[1], seeds=1, max_iters=3,
                 cp_restarts=1, plots=False, progress=False)
    print("usable", flush=True)
"""


def test_ctrl_c_interrupts_a_long_call_within_a_second(tmp_path):
    env = dict(os.environ)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, EXAMPLE, str(tmp_path / "long"), str(tmp_path / "after")],
        stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout.readline().strip() == "started"
    time.sleep(2.0)  # well inside the first fit
    sent = time.time()
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=60)
    lines = out.split()
    assert lines[0] == "interrupted", out
    assert float(lines[1]) - sent < 3.0  # ~0.3 s idle; seconds under load
    assert lines[-1] == "usable"
    # The step that was stopped wrote nothing; no partial file is left over.
    assert not (tmp_path / "long" / "summary.h5").exists()


def test_pipeline_without_true_weights_scores_counts(run_ltr, tmp_path):
    # Poisson counts whose rate depends on the condition and the time bin; no
    # /weights, no /epoch.
    rng = np.random.default_rng(1)
    condition = np.arange(33) % 3
    rate = 0.5 + 0.4 * np.sin(np.arange(12)[None, :, None] / 3 + condition[:, None, None]
                              + np.arange(6)[None, None, :])
    path = tmp_path / "counts.h5"
    with h5py.File(path, "w") as f:
        f["activity"] = rng.poisson(np.broadcast_to(rate, (33, 12, 6))).astype(float)
        f["condition"] = condition
    short = dict(ranks=[1], seeds=1, max_iters=20, cp_restarts=1, plots=False, seed=3)
    result = ltr.pipeline(str(path), str(tmp_path / "py"), loss="poisson", threads=1,
                          progress=False, **short)
    assert not result.has_truth and not result.has_base
    assert result.comparison is None and result.baseline_test_r2 is None
    assert result.scores["grouped_by"] == "condition"
    np.testing.assert_array_equal(result.scores["groups"], [0, 1, 2])
    assert result.scores["test_r2_per_neuron"].shape == (6,)
    assert np.isfinite(result.scores["bits_per_spike"])
    assert not os.path.exists(tmp_path / "py" / "true_update_cp.h5")
    run_ltr("pipeline", path, "-o", tmp_path / "cli", "--ranks", 1, "--seeds", 1,
            "--max-iters", 20, "--cp-restarts", 1, "--no-plots", "--seed", 3,
            "--threads", 1, "--progress", 0, "--loss", "poisson")
    with h5py.File(tmp_path / "cli" / "summary.h5") as cli:
        assert result.scores["bits_per_spike"] == cli.attrs["test_bits_per_spike"]
        assert result.scores["psth_bits_per_spike"] == cli.attrs["psth_test_bits_per_spike"]
    loaded = ltr.load(str(tmp_path / "py" / "summary.h5"))
    np.testing.assert_array_equal(loaded.group_means, result.scores["group_means"])
    assert loaded.bits_per_spike == result.scores["bits_per_spike"]
