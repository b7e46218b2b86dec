"""ltr.analyze, ltr.bounds, ltr.bounds_sweep and ltr.theory_linear: the same
numbers as `ltr analyze`, `ltr bounds` and `ltr theory linear`, the documented
predictions, saves the CLI reads, loads of the CLI's files, errors."""
import h5py
import numpy as np
import pytest

import ltr

ANALYSIS_ATTRIBUTES = ["functional_rank", "convergence_step", "delta_w_norm",
                       "initial_loss", "final_loss", "initial_test_loss",
                       "test_loss", "shuffle_loss", "shuffle_loss_ratio",
                       "io_overlap", "io_overlap_shuffled"]


def same(a, b):
    """Equal arrays, NaN where the other has NaN."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


@pytest.fixture
def trajectory(tmp_path, run_ltr):
    """A small flip-flop run written by `ltr train`."""
    path = tmp_path / "t.h5"
    run_ltr("train", "--task", "flipflop", "--units", 12, "--steps", 10,
            "--batch", 4, "--record-every", 2, "--seed", 2, "--threads", 1, "-o", path)
    return path


def assert_analysis_is_file(a, path):
    with h5py.File(path, "r") as f:
        assert same(a.singular_values, f["delta_w/singular_values"][()])
        assert same(a.truncation_ranks, f["truncation/ranks"][()])
        assert same(a.truncation_loss, f["truncation/loss"][()])
        assert same(a.cp_ranks, f["update_tensor/ranks"][()])
        assert same(a.cp_relative_error, f["update_tensor/relative_error"][()])
        for name in ANALYSIS_ATTRIBUTES:
            assert getattr(a, name) == f.attrs[name], name
        for part in ("left", "right", "left_shuffled", "right_shuffled"):
            assert same(getattr(a, "io_overlap_" + part),
                        f["io_overlap/" + part][()]), part
        assert a.io_overlap_depth == f["io_overlap"].attrs["depth"]
        assert a.io_subspace_dim == f["io_overlap"].attrs["subspace_dim"]


def test_analyze_equals_the_command(tmp_path, run_ltr, trajectory):
    run_ltr("analyze", trajectory, "--test-batch", 16, "--max-rank", 5,
            "--cp-max-rank", 2, "--threads", 1, "-o", tmp_path / "a.h5")
    options = dict(test_batch=16, max_truncation_rank=5, cp_max_rank=2,
                   threads=1, progress=False)
    from_path = ltr.analyze(trajectory, **options)
    assert_analysis_is_file(from_path, tmp_path / "a.h5")
    # The trajectory in memory gives the same bits.
    loaded = ltr._ltr._load_trajectory(str(trajectory))
    assert_analysis_is_file(ltr.analyze(loaded, **options), tmp_path / "a.h5")
    assert from_path.truncation_ranks.tolist() == list(range(6))
    assert "functional rank" in repr(from_path)


def test_analysis_saves_and_loads_back(tmp_path, run_ltr, trajectory):
    a = ltr.analyze(trajectory, test_batch=8, max_truncation_rank=3,
                    cp_max_rank=2, threads=1, progress=False)
    saved = tmp_path / "a.h5"
    a.save(saved)
    assert_analysis_is_file(a, saved)
    assert "analysis" in run_ltr("info", saved).stdout.lower()
    back = ltr._ltr._load_analysis(str(saved))
    assert same(back.singular_values, a.singular_values)
    assert same(back.cp_relative_error, a.cp_relative_error)
    assert back.functional_rank == a.functional_rank
    with pytest.raises(ValueError, match="input"):
        a.save(trajectory)  # never over the trajectory analysed
    with h5py.File(trajectory, "r") as f:
        assert "weights" in f and "delta_w" not in f


def bounds_of_file(path):
    with h5py.File(path, "r") as f:
        d = f["bounds/table"]
        return d[()], dict(d.attrs)


def test_bounds_equal_the_command(tmp_path, run_ltr, trajectory):
    run_ltr("bounds", trajectory, "--cp-max-rank", 3, "--threads", 1,
            "-o", tmp_path / "b.h5")
    table, attrs = bounds_of_file(tmp_path / "b.h5")
    b = ltr.bounds(str(trajectory), cp_max_rank=3, threads=1, progress=False)
    assert same(b.table, table)
    assert ",".join(b.columns) == attrs["columns"]
    assert ";".join(b.case_names) == attrs["cases"]
    assert ",".join(b.bounds) == attrs["bounds"]
    assert b.rank_tolerance == attrs["rank_tolerance"]
    # In memory: the same numbers (a case is named by its file, if any).
    loaded = ltr._ltr._load_trajectory(str(trajectory))
    m = ltr.bounds(loaded, cp_max_rank=3, threads=1, progress=False)
    assert same(m.table, table) and m.case_names == [str(trajectory)]
    trained = ltr.train("flipflop", units=8, steps=2, batch=1, threads=1, progress=False)
    assert ltr.bounds(trained, cp_max_rank=2, threads=1).case_names == ["trajectory"]
    # Columns by name, and the summaries with their rows.
    assert same(b["measured"], table[:, b.columns.index("measured")])
    case = b.cases[0]
    assert case.units == 12 and case.d == table[0, b.columns.index("d")]
    assert [r.bound for r in case.rows] == b.bounds
    assert case.rows[0].status in ("holds", "violated", "unknown")
    assert "prop1_rank" in str(b)


def test_bounds_save_and_load_back(tmp_path, run_ltr, trajectory):
    b = ltr.bounds(trajectory, cp_max_rank=3, threads=1, progress=False)
    saved = tmp_path / "b.h5"
    b.save(saved)
    run_ltr("info", saved)
    table, attrs = bounds_of_file(saved)
    assert same(table, b.table) and attrs["status_codes"] == b.status_codes
    back = ltr._ltr._load_bounds(str(saved))
    assert same(back.table, b.table) and back.columns == b.columns
    assert back.case_names == b.case_names and back.cases == []
    again = tmp_path / "again.h5"
    back.save(again)
    t2, a2 = bounds_of_file(again)
    assert same(t2, table) and a2 == attrs


def test_bounds_sweep_equals_the_command(tmp_path, run_ltr):
    run_ltr("bounds", "--sweep", "--units", 8, "--steps", 3, "--horizon", 3,
            "--batch", 2, "--cp-max-rank", 3, "--threads", 1, "-o", tmp_path / "s.h5")
    table, attrs = bounds_of_file(tmp_path / "s.h5")
    s = ltr.bounds_sweep(units=8, steps=3, horizon=3, batch=2, cp_max_rank=3,
                         threads=1, progress=False)
    assert same(s.table, table)
    assert ";".join(s.case_names) == attrs["cases"]
    assert len(s.cases) == 5 * 2 * 2 * 2
    one = ltr.bounds_sweep(dims=[(2, 1)], optimizers=["sgd"], random_w0=[False],
                           nonlinearities=["identity"], units=8, steps=3,
                           horizon=3, batch=2, cp_max_rank=3, threads=1,
                           progress=False)
    assert len(one.cases) == 1 and one.cases[0].d == 3 and one.cases[0].linear


def theory_of_file(path):
    with h5py.File(path, "r") as f:
        d = f["theory/linear"]
        return d[()], dict(d.attrs)


def test_theory_linear_equals_the_command(tmp_path, run_ltr):
    run_ltr("theory", "linear", "--units", 32, "--g", "0,0.3,0.6", "--seeds", 2,
            "--max-steps", 300, "--threads", 1, "-o", tmp_path / "lin.h5")
    table, attrs = theory_of_file(tmp_path / "lin.h5")
    t = ltr.theory_linear(units=32, gains=[0, 0.3, 0.6], seeds=2, max_steps=300,
                          threads=1, progress=False)
    assert same(t.table, table)
    assert ",".join(t.columns) == attrs["columns"]
    assert t.units == attrs["units"] == 32 and t.seeds == 2 and t.eta0 == attrs["eta0"]
    assert len(t.runs) == 6 and {r.g for r in t.runs} == {0.0, 0.3, 0.6}
    # Threads share the networks: the same bits on two.
    two = ltr.theory_linear(units=32, gains=np.array([0, 0.3, 0.6]), seeds=2,
                            max_steps=300, threads=2, progress=False)
    assert same(two.table, table)


def test_theory_linear_predictions_are_the_documented_formulas():
    # docs/theory.md §1: beta = 1 / (1 - g^2); the ratios are to the first g.
    gains = np.array([0.0, 0.25, 0.5, 0.7])
    z_hat, tau_tilde = 1.0, 0.2
    t = ltr.theory_linear(units=16, gains=gains, z_hat=z_hat, seeds=1,
                          max_steps=20, early_tau_tilde=tau_tilde, threads=1,
                          progress=False)
    beta = 1 / (1 - gains**2)
    # Measured, and predicted, at the step nearest tau~: step * eta0 (the
    # eta0 = 0.009 of Schuessler et al. 2020 for z_hat = 1).
    assert t.eta0 == 0.009
    tau_tilde = max(1, round(tau_tilde / t.eta0)) * t.eta0
    tau = tau_tilde / beta**2
    expected = {
        "g": gains,
        "beta": beta,
        "conv_time_ratio_pred": (1 - gains**2) ** 2,
        "dw_norm_pred": z_hat * (1 - gains**2),
        "dw_norm_ratio_pred": (1 - gains**2) / (1 - gains[0] ** 2),
        "grad_norm_ratio_pred": beta,
        "alignment_pred": np.sqrt(1 - gains**2),
        "shuffle_ratio_pred": gains**4 * (2 - gains**2) ** 2,
        "early_tau": tau,
        "z_pred": z_hat * (tau_tilde - tau_tilde**2 / 2
                           + tau_tilde**3 / 6 * (1 + 8 * z_hat**2 * beta)),
        "s1_pred": z_hat / beta * (tau_tilde - tau_tilde**2 / 2
                                   + tau_tilde**3 / 6 * (1 + 3.5 * z_hat**2 * beta)),
        "s2_pred": np.full_like(gains, z_hat**3 * tau_tilde**3 / 12),
        "eigenvalue_pred": (0.5 + 1 / np.sqrt(3)) * tau**2 * z_hat**2 * beta**3,
    }
    for name, values in expected.items():
        np.testing.assert_allclose(t[name], values, rtol=1e-12, atol=1e-15, err_msg=name)


def test_theory_linear_saves_and_loads_back(tmp_path, run_ltr):
    t = ltr.theory_linear(units=16, gains=0.5, seeds=1, max_steps=50, threads=1,
                          progress=False)
    saved = tmp_path / "lin.h5"
    t.save(saved)
    run_ltr("info", saved)
    table, attrs = theory_of_file(saved)
    assert same(table, t.table) and attrs["units"] == 16 and attrs["seeds"] == 1
    assert np.issubdtype(np.asarray(attrs["units"]).dtype, np.integer)
    back = ltr._ltr._load_linear_theory(str(saved))
    assert same(back.table, t.table) and back.model == t.model and back.runs == []
    again = tmp_path / "again.h5"
    back.save(again)
    t2, a2 = theory_of_file(again)
    assert same(t2, table) and a2 == attrs


def test_errors(tmp_path, trajectory):
    with pytest.raises(OSError):
        ltr.analyze(str(tmp_path / "missing.h5"))
    with pytest.raises(OSError):
        ltr.bounds(tmp_path / "missing.h5")
    with pytest.raises(TypeError, match="trajectory"):
        ltr.analyze(3)
    with pytest.raises(ValueError, match="test_batch must be >= 1"):
        ltr.analyze(trajectory, test_batch=0)
    with pytest.raises(ValueError, match="every g must be in"):
        ltr.theory_linear(units=16, gains=[0.5, 1.5])
    with pytest.raises(ValueError, match="units must be >= 2"):
        ltr.theory_linear(units=-4)
    with pytest.raises(ValueError, match="no default eta0"):
        ltr.theory_linear(units=16, z_hat=0.7)
    with pytest.raises(ValueError, match="estimate_cp_rank"):
        ltr.bounds(trajectory, estimate_cp_rank=False, cp_max_rank=3)
    with pytest.raises(ValueError, match="sgd"):
        ltr.bounds_sweep(optimizers=["lbfgs"])
    t = ltr.theory_linear(units=16, seeds=1, max_steps=5, threads=1, progress=False)
    with pytest.raises(ValueError, match="no column 'nope'"):
        t["nope"]
    with pytest.raises(OSError):
        ltr._ltr._load_bounds(str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError):
        ltr._ltr._load_analysis(str(trajectory))  # a trajectory, not an analysis


def test_ctrl_c_interrupts_theory_linear_within_a_second():
    import os
    import signal
    import threading
    import time

    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            # Minutes of work uninterrupted.
            ltr.theory_linear(units=128, gains=[0.0, 0.5, 0.9], seeds=4,
                              stop_loss_ratio=1e-300, max_steps=1_000_000,
                              threads=1, progress=False)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 3.3  # ~1 s idle; seconds under load


def test_bounds_sweep_argument_types():
    with pytest.raises(TypeError, match="dims"):
        ltr.bounds_sweep(dims=[(1, "2")])
    with pytest.raises(TypeError, match="dims"):
        ltr.bounds_sweep(dims="1,1")
    with pytest.raises(TypeError, match="random_w0"):
        ltr.bounds_sweep(random_w0=[0])
    with pytest.raises(TypeError, match="optimizers"):
        ltr.bounds_sweep(optimizers="sgd")
    with pytest.raises(ValueError, match="N_in, N_out must be >= 1"):
        ltr.bounds_sweep(dims=[[0, 1]])
