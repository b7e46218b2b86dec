"""Decomposition files between Python and the command: every `ltr decompose`
output loads with ltr.load_decomposition, and what Python saves (Ensemble,
CrossValidation, Decomposition, a fit's CPTensor through ltr.save_cp) is read by `ltr info`
and `ltr plot` and loads back identically."""
import pathlib

import h5py
import numpy as np
import pytest

import ltr

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "data" / "example_tca.h5"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The first 40 trials of the example, as a recording (path, array)."""
    with h5py.File(EXAMPLE, "r") as f:
        x = f["activity"][:40]
    path = tmp_path_factory.mktemp("small") / "rec.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("activity", data=x).attrs["axes"] = "trial,time,neuron"
    return path, x


@pytest.fixture(scope="module")
def example():
    with h5py.File(EXAMPLE, "r") as f:
        return f["activity"][()]


def assert_same_ensemble(a, b):
    for name in ["ranks", "relative_error", "similarity", "corcondia", "restart",
                 "iterations", "converged", "seed"]:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.method, a.complete, a.seconds) == (b.method, b.complete, b.seconds)
    for rank in a.ranks:
        for fa, fb in zip(a.factors(rank), b.factors(rank)):
            np.testing.assert_array_equal(fa.weights, fb.weights)
            for n in range(3):
                np.testing.assert_array_equal(fa.factors[n], fb.factors[n])


def test_a_single_fit_from_the_command_loads_as_written(tmp_path, run_ltr):
    out = tmp_path / "cp.h5"
    run_ltr("decompose", EXAMPLE, "--rank", 3, "--seed", 2, "-o", out)
    d = ltr.load_decomposition(out)
    assert d.ensemble is None and d.tucker is None and d.cross_validation is None
    assert d.input == str(EXAMPLE) and d.dataset == "/activity" and d.failure == ""
    fit = d.cp
    with h5py.File(out, "r") as f:
        g = f["cp"]
        np.testing.assert_array_equal(fit.weights, g["weights"][()])
        for n in range(3):
            np.testing.assert_array_equal(fit.factors[n], g[f"factors/{n}"][()])
        assert fit.summary.relative_error == g.attrs["relative_error"]
        assert fit.summary.iterations == g.attrs["iterations"]
        assert fit.summary.message == g.attrs["message"]
        np.testing.assert_array_equal(fit.summary.error_history, g["error_history"][()])
    assert fit.method == "cp-als" and fit.modes == ("trial", "time", "neuron")
    weights, factors = fit  # unpacks as a CPTensor
    assert factors[0].shape == (150, 3)


def test_a_sweep_with_cv_from_the_command_loads_and_equals_python(tmp_path, run_ltr, small):
    data, example = small
    out = tmp_path / "sweep.h5"
    run_ltr("decompose", data, "--ranks", "2:3", "--restarts", 2, "--cv", "--seed", 5,
            "--max-iters", 25, "--threads", 1, "-o", out)
    d = ltr.load_decomposition(out)
    assert d.cp is None and d.ensemble is not None and d.cross_validation is not None
    ens = ltr.rank_ensemble(example, [2, 3], 2, seed=5, n_iter_max=25, threads=1,
                            progress=False)
    for name in ["ranks", "relative_error", "similarity", "corcondia", "restart",
                 "iterations", "seed"]:
        np.testing.assert_array_equal(getattr(d.ensemble, name), getattr(ens, name))
    cv = ltr.cross_validate(example, [2, 3], 2, seed=5, n_iter_max=25, threads=1,
                            progress=False)
    np.testing.assert_array_equal(d.cross_validation.test_error, cv.test_error)
    np.testing.assert_array_equal(d.cross_validation.train_error, cv.train_error)
    assert d.cross_validation.test_fraction == cv.test_fraction == 0.1
    assert d.ensemble.fit(3).modes == ("trial", "time", "neuron")
    assert "ensemble" in repr(d) and "cross_validation" in repr(d)


def test_a_tucker_fit_from_the_command_loads(tmp_path, run_ltr):
    out = tmp_path / "tucker.h5"
    run_ltr("decompose", EXAMPLE, "--method", "tucker-hosvd", "--tucker-ranks", "3,3,3",
            "-o", out)
    t = ltr.load_decomposition(out).tucker
    with h5py.File(out, "r") as f:
        np.testing.assert_array_equal(t.core, f["tucker/core"][()])
        np.testing.assert_array_equal(t.factors[2], f["tucker/factors/2"][()])
        assert t.summary.relative_error == f["tucker"].attrs["relative_error"]
    assert t.method == "tucker-hosvd" and t.core.shape == (3, 3, 3)
    ltr.load_decomposition(out).save(tmp_path / "copy.h5")
    again = ltr.load_decomposition(tmp_path / "copy.h5").tucker
    np.testing.assert_array_equal(again.core, t.core)
    np.testing.assert_array_equal(again.factors[0], t.factors[0])
    assert (again.method, again.summary.relative_error) == (t.method, t.summary.relative_error)


def test_python_saves_are_read_by_the_command_and_load_back_identically(tmp_path, run_ltr,
                                                                       small):
    example = small[1]
    ens = ltr.rank_ensemble(example, [2, 3], 2, seed=1, n_iter_max=30, progress=False)
    cv = ltr.cross_validate(example, [2, 3], 2, seed=1, n_iter_max=30, progress=False)
    ens.save(tmp_path / "ens.h5")
    cv.save(tmp_path / "cv.h5")
    ltr.save_cp(tmp_path / "fit.h5", ens.fit(3))

    info = run_ltr("info", tmp_path / "ens.h5").stdout
    assert "/ensemble/relative_error" in info and "/ensemble/rank_3/run_1/factors/2" in info
    assert "/crossval/test_error" in run_ltr("info", tmp_path / "cv.h5").stdout
    run_ltr("plot", tmp_path / "ens.h5", "-o", tmp_path / "figs")
    run_ltr("plot", tmp_path / "cv.h5", "-o", tmp_path / "figs")
    run_ltr("plot", tmp_path / "fit.h5", "-o", tmp_path / "figs")
    for name in ["tca_rank_error_similarity", "tca_ensemble_rank3_factors",
                 "tca_cv_error_rank", "tca_factors_rank3"]:
        assert (tmp_path / "figs" / f"{name}.png").stat().st_size > 1000, name

    assert_same_ensemble(ltr.load_decomposition(tmp_path / "ens.h5").ensemble, ens)
    back = ltr.load_decomposition(tmp_path / "cv.h5").cross_validation
    np.testing.assert_array_equal(back.test_error, cv.test_error)
    np.testing.assert_array_equal(back.restart, cv.restart)
    assert back.test_fraction == cv.test_fraction
    fit = ltr.load_decomposition(tmp_path / "fit.h5").cp
    np.testing.assert_array_equal(fit.factors[1], ens.fit(3).factors[1])
    assert (fit.summary.relative_error, fit.summary.seed) == (ens.fit(3).summary.relative_error, ens.fit(3).summary.seed)


def test_a_loaded_file_saves_back_the_same_parts(tmp_path, run_ltr, small):
    out = tmp_path / "sweep.h5"
    run_ltr("decompose", small[0], "--ranks", "2:3", "--restarts", 2, "--cv", "--seed", 4,
            "--max-iters", 20, "-o", out)
    d = ltr.load_decomposition(out)
    d.save(tmp_path / "copy.h5")
    again = ltr.load_decomposition(tmp_path / "copy.h5")
    assert_same_ensemble(again.ensemble, d.ensemble)
    np.testing.assert_array_equal(again.cross_validation.test_error,
                                  d.cross_validation.test_error)
    assert (again.input, again.dataset, again.resume_key) == (d.input, d.dataset,
                                                               d.resume_key)
    assert again.ensemble.fit(2).modes == ("trial", "time", "neuron")


def test_save_cp_writes_a_cptensor_as_a_single_fit(tmp_path, run_ltr, example):
    with h5py.File(EXAMPLE, "r") as f:
        weights = f["truth/weights"][()]
        factors = [f[f"truth/factors/{n}"][()] for n in range(3)]
    path = tmp_path / "truth.h5"
    ltr.save_cp(path, (weights, factors), example, axes="trial,time,neuron")
    fit = ltr.load_decomposition(path).cp
    np.testing.assert_array_equal(fit.weights, weights)
    np.testing.assert_array_equal(fit.factors[2], factors[2])
    model = np.einsum("r,ir,jr,kr->ijk", weights, *factors)
    assert fit.summary.relative_error == pytest.approx(
        np.linalg.norm(example - model) / np.linalg.norm(example), rel=1e-12)
    assert fit.method == "cp-als" and fit.modes == ("trial", "time", "neuron")
    run_ltr("plot", path, "-o", tmp_path / "figs")
    assert (tmp_path / "figs" / "tca_factors_rank3.png").exists()
    # A fit with its .summary is written with it.
    ens = ltr.rank_ensemble(example, 2, seed=3, n_iter_max=10, progress=False)
    ltr.save_cp(tmp_path / "fit.h5", ens.fit(2), axes="trial,time,neuron")
    back = ltr.load_decomposition(tmp_path / "fit.h5").cp
    assert (back.summary.relative_error, back.summary.iterations, back.summary.seed) == (
        ens.fit(2).summary.relative_error, ens.fit(2).summary.iterations, ens.fit(2).summary.seed)
    with pytest.raises(ValueError, match="this fit has its relative error"):
        ltr.save_cp(tmp_path / "x.h5", ens.fit(2), example)
    # Without the data the relative error is unknown: NaN, not a number made up.
    ltr.save_cp(tmp_path / "bare.h5", (None, factors))
    assert np.isnan(ltr.load_decomposition(tmp_path / "bare.h5").cp.summary.relative_error)


def test_file_errors(tmp_path, example):
    with pytest.raises(OSError):
        ltr.load_decomposition(tmp_path / "absent.h5")
    with pytest.raises(ValueError, match="holds no decomposition"):
        ltr.load_decomposition(EXAMPLE)
    ens = ltr.rank_ensemble(example[:20], 1, seed=1, n_iter_max=5, progress=False)
    with pytest.raises(OSError):
        ens.save(tmp_path / "no" / "such" / "dir.h5")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="axes"):
        ltr.save_cp(tmp_path / "x.h5", ens.best[0], axes="trial,time")
    with pytest.raises(ValueError, match="but cp is"):
        ltr.save_cp(tmp_path / "x.h5", ens.best[0], example)
    assert list(tmp_path.iterdir()) == []


def test_a_loaded_file_is_never_saved_over_the_recording_it_names(tmp_path, run_ltr):
    data = tmp_path / "rec.h5"
    data.write_bytes(EXAMPLE.read_bytes())
    out = tmp_path / "cp.h5"
    run_ltr("decompose", data, "--rank", 2, "-o", out)
    d = ltr.load_decomposition(out)
    before = data.read_bytes()
    with pytest.raises(ValueError, match="rec.h5"):
        d.save(data)
    assert data.read_bytes() == before


def test_an_interrupted_sweeps_partial_file_loads_incomplete(tmp_path, ltr_binary):
    import signal
    import subprocess
    out = tmp_path / "ens.h5"
    proc = subprocess.Popen([ltr_binary, "decompose", str(EXAMPLE), "--ranks", "1:8",
                             "--restarts", "4", "--threads", "1", "--progress", "-o", str(out)],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    # A fit's line comes as it finishes, just before the sweep records it:
    # after the second line the first fit is recorded.
    proc.stderr.readline()
    proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    partial = tmp_path / "ens.h5.partial"
    assert not out.exists() and partial.exists()
    d = ltr.load_decomposition(partial)
    e = d.ensemble
    assert not e.complete and d.resume_key != ""
    done = e.restart >= 0
    assert 1 <= done.sum() < 32
    assert np.all(np.isnan(e.relative_error[~done])) and np.all(e.iterations[~done] == -1)
    assert np.all(np.isfinite(e.relative_error[done]))
    assert e.best[-1] is None and e.best[0].rank == 1
    assert "interrupted" in repr(e)


def test_one_fit_is_one_object_whether_fitted_loaded_or_from_an_ensemble(tmp_path, example):
    fitted = ltr.parafac(example, 3, init="random", random_state=4, normalize_factors=True)
    fitted.save(tmp_path / "fit.h5", axes="trial,time,neuron")
    loaded = ltr.load(str(tmp_path / "fit.h5")).cp
    member = ltr.rank_ensemble(example, 3, seed=2, n_iter_max=20, progress=False).fit(3)
    for fit in (fitted, loaded, member):
        assert type(fit) is ltr.CPTensor and isinstance(fit.summary, ltr.CpSummary)
    np.testing.assert_array_equal(loaded.factors[0], fitted.factors[0])
    assert loaded.summary.relative_error == fitted.summary.relative_error
    assert loaded.summary.seed == fitted.summary.seed
    assert loaded.modes == ("trial", "time", "neuron")
