"""Choosing a CP rank from Python: ltr.rank_ensemble, ltr.cross_validate,
ltr.align, ltr.factor_match_score and ltr.corcondia against the `ltr
decompose` command, planted factors and independent numpy computations."""
import itertools
import pathlib

import h5py
import numpy as np
import pytest

import ltr
from ltr._tensors import CPTensor

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "data" / "example_tca.h5"


def planted(shape=(30, 20, 25), rank=3, noise=0.01, seed=0):
    """A rank-`rank` tensor plus Gaussian noise, and its factors."""
    rng = np.random.default_rng(seed)
    factors = [rng.standard_normal((n, rank)) for n in shape]
    weights = np.linspace(2.0, 1.0, rank)
    clean = np.einsum("r,ir,jr,kr->ijk", weights, *factors)
    x = clean + noise * np.linalg.norm(clean) / np.sqrt(clean.size) * rng.standard_normal(shape)
    return x, (weights, factors)


def write_activity(path, x, mask=None):
    with h5py.File(path, "w") as f:
        f.create_dataset("activity", data=x).attrs["axes"] = "trial,time,neuron"
        if mask is not None:
            f.create_dataset("mask", data=mask.astype(np.uint8))
    return path


def read_group(path, group):
    with h5py.File(path, "r") as f:
        return {k: f[group][k][()] for k in f[group] if isinstance(f[group][k], h5py.Dataset)}


# --- equal to the command ----------------------------------------------------


@pytest.mark.parametrize("method", ["cp-als", "ncp-hals", "cp-opt"])
def test_ensemble_equals_ltr_decompose_bitwise(tmp_path, run_ltr, method):
    x, _ = planted()
    if method == "ncp-hals":
        x = np.abs(x)
    data = write_activity(tmp_path / "x.h5", x)
    out = tmp_path / "ens.h5"
    run_ltr("decompose", data, "--method", method, "--ranks", "1:4", "--restarts", 3,
            "--seed", 7, "--max-iters", 80, "--tol", 1e-7, "-o", out)
    ens = ltr.rank_ensemble(x, range(1, 5), 3, method=method, seed=7, n_iter_max=80,
                            tol=1e-7, progress=False)
    cli = read_group(out, "ensemble")
    np.testing.assert_array_equal(ens.ranks, cli["ranks"])
    for name in ["relative_error", "similarity", "corcondia", "restart"]:
        np.testing.assert_array_equal(getattr(ens, name), cli[name], err_msg=name)
    with h5py.File(out, "r") as f:
        for r, rank in enumerate(ens.ranks):
            for k in range(3):
                g = f[f"ensemble/rank_{rank}/run_{k}"]
                fit = ens.fit(rank, k)
                np.testing.assert_array_equal(fit.weights, g["weights"][()])
                for n in range(3):
                    np.testing.assert_array_equal(fit.factors[n], g[f"factors/{n}"][()])
                assert fit.summary.iterations == g.attrs["iterations"] == ens.iterations[r, k]
                # The file keeps the uint64 seed's bits in an int64 attribute.
                assert fit.summary.seed == ens.seed[r, k] == np.int64(g.attrs["seed"]).astype(np.uint64)
                assert bool(g.attrs["converged"]) == fit.summary.converged == ens.converged[r, k]
                np.testing.assert_array_equal(fit.summary.error_history, g["error_history"][()])
    assert ens.method == method and ens.complete and ens.failure == ""


def test_ensemble_of_the_example_equals_the_command_with_the_same_threads(tmp_path, run_ltr):
    with h5py.File(EXAMPLE, "r") as f:
        x = f["activity"][()]
    by_threads = {}
    for threads in (1, 2):
        out = tmp_path / f"ens{threads}.h5"
        run_ltr("decompose", EXAMPLE, "--ranks", "2:4", "--restarts", 2, "--seed", 3,
                "--max-iters", 60, "--threads", threads, "-o", out)
        cli = read_group(out, "ensemble")
        ens = ltr.rank_ensemble(x, [2, 3, 4], 2, seed=3, n_iter_max=60, threads=threads,
                                progress=False)
        for name in ["relative_error", "similarity", "corcondia", "restart"]:
            np.testing.assert_array_equal(getattr(ens, name), cli[name], err_msg=name)
        by_threads[threads] = ens
    # Another thread count sums the MTTKRPs in another order: the last bits
    # of the 150 x 40 x 50 fits differ (measured: 2e-15), nothing more.
    np.testing.assert_allclose(by_threads[1].relative_error, by_threads[2].relative_error,
                               rtol=1e-12, atol=0)
    np.testing.assert_array_equal(by_threads[1].restart, by_threads[2].restart)


def test_cross_validation_equals_ltr_decompose_cv_bitwise(tmp_path, run_ltr):
    x, _ = planted(seed=1)
    mask = np.random.default_rng(5).random(x.shape) > 0.1
    data = write_activity(tmp_path / "x.h5", x, mask)
    out = tmp_path / "cv.h5"
    run_ltr("decompose", data, "--mask", "/mask", "--ranks", "1:4", "--restarts", 2,
            "--cv", "--test-fraction", 0.2, "--seed", 11, "--max-iters", 50, "-o", out)
    cv = ltr.cross_validate(x, range(1, 5), 2, test_fraction=0.2, seed=11, n_iter_max=50,
                            mask=mask, progress=False)
    cli = read_group(out, "crossval")
    for name in ["ranks", "train_error", "test_error", "restart"]:
        np.testing.assert_array_equal(getattr(cv, name), cli[name], err_msg=name)
    assert cv.test_fraction == 0.2 and cv.complete


def test_cp_apr_cross_validation_lists_restarts_by_training_deviance(tmp_path, run_ltr):
    rng = np.random.default_rng(3)
    rates = np.einsum("ir,jr,kr->ijk", *[rng.gamma(1, 1, (n, 3)) for n in (40, 20, 25)])
    x = rng.poisson(0.15 * rates / rates.mean()).astype(np.float64)
    data = write_activity(tmp_path / "counts.h5", x)
    out = tmp_path / "cv.h5"
    run_ltr("decompose", data, "--method", "cp-apr", "--ranks", "4:5", "--restarts", 6,
            "--cv", "--seed", 1, "--max-iters", 40, "-o", out)
    cv = ltr.cross_validate(x, [4, 5], 6, method="cp-apr", seed=1, n_iter_max=40,
                            progress=False)
    cli = read_group(out, "crossval")
    for name in ["train_error", "test_error", "train_deviance", "test_deviance", "restart"]:
        np.testing.assert_array_equal(getattr(cv, name), cli[name], err_msg=name)
    assert cv.by_deviance
    assert (np.diff(cv.train_deviance, axis=1) >= 0).all()
    # at this seed the squared-error order is another one
    assert (cv.train_error[:, 1:] < cv.train_error[:, :1]).any()


def test_layouts_and_dtypes_give_the_same_ensemble():
    x, _ = planted(shape=(12, 10, 8), seed=2)
    mask = np.random.default_rng(1).random(x.shape) > 0.2
    base = ltr.rank_ensemble(x, [1, 2, 3], 2, mask=mask, seed=4, progress=False)
    fortran = ltr.rank_ensemble(np.asfortranarray(x), [1, 2, 3], 2,
                                mask=np.asfortranarray(mask.astype(np.float64)), seed=4,
                                progress=False)
    np.testing.assert_array_equal(base.relative_error, fortran.relative_error)
    x32 = x.astype(np.float32)
    from32 = ltr.rank_ensemble(x32, [1, 2, 3], 2, mask=mask.astype(np.uint8), seed=4,
                               progress=False)
    same = ltr.rank_ensemble(x32.astype(np.float64), [1, 2, 3], 2, mask=mask, seed=4,
                             progress=False)
    np.testing.assert_array_equal(from32.relative_error, same.relative_error)
    # ranks as a numpy array of int64, or a generator, are the same ranks
    from_array = ltr.rank_ensemble(x, np.arange(1, 4), 2, mask=mask, seed=4, progress=False)
    np.testing.assert_array_equal(from_array.relative_error, base.relative_error)
    assert list(ltr.rank_ensemble(x, (r for r in (1, 2)), progress=False).ranks) == [1, 2]


# --- the planted rank ---------------------------------------------------------


def test_planted_rank_is_where_the_error_reaches_the_noise_and_fits_agree():
    noise = 0.05
    x, _ = planted(noise=noise, seed=3)
    ens = ltr.rank_ensemble(x, range(1, 6), 4, seed=1, progress=False)
    best = ens.relative_error[:, 0]
    # The noise is 5 % of the clean tensor's norm: the rank-3 fit explains
    # the rest, the ranks below do not, the ranks above only fit noise.
    assert best[2] == pytest.approx(noise, rel=0.1)
    assert best[1] > 3 * noise
    assert best[2] - best[4] < 0.005
    # Restarts that reach the best error find the planted factors again (one
    # of these four stops early in a poor local minimum, as ALS can).
    near_best = ens.relative_error[2] < best[2] * 1.01
    assert near_best.sum() >= 3
    np.testing.assert_allclose(ens.similarity[2][near_best], 1.0, atol=1e-4)
    assert ens.similarity[4].mean() < 0.9  # a rank too high: fits disagree
    assert ens.corcondia[2, 0] > 95
    assert ens.corcondia[4, 0] < 80
    assert np.isnan(ens.similarity).sum() == 0
    assert ens.objectives(3)[0] == best[2]
    assert len(ens.factors(3)) == 4 and ens.best[2].rank == 3


def test_cross_validation_test_error_is_lowest_near_the_planted_rank():
    x, _ = planted(noise=0.1, seed=4)
    cv = ltr.cross_validate(x, range(1, 7), 2, seed=2, progress=False)
    test = cv.test_error.min(axis=1)
    assert np.argmin(test) + 1 in (3, 4)
    assert test[2] < 0.5 * test[1]
    assert test[2] == pytest.approx(0.1, rel=0.2)
    assert np.all(np.diff(cv.train_error[:, 0]) <= 1e-9)  # more rank, less training error


# --- align, factor match score, corcondia ------------------------------------


def test_align_recovers_a_permutation_and_sign_flips():
    _, (w, factors) = planted(rank=4, seed=5)
    reference = CPTensor(w, factors)
    order = [2, 0, 3, 1]
    flipped = [f[:, order].copy() for f in factors]
    flipped[0][:, 1] *= -1  # a flip in modes 0 and 2 leaves the tensor as it is
    flipped[2][:, 1] *= -1
    flipped[1][:, 3] *= -1
    flipped[2][:, 3] *= -1
    other = (w[order], flipped)
    np.testing.assert_allclose(CPTensor(*other).to_tensor(), reference.to_tensor(),
                               atol=1e-12)
    result = ltr.align(reference, other)
    np.testing.assert_array_equal(result.permutation, [1, 3, 0, 2])
    assert result.score == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(result.component_scores, 1.0, atol=1e-12)
    np.testing.assert_allclose(result.cp.weights, w, atol=1e-12)
    for n in range(3):
        np.testing.assert_allclose(result.cp.factors[n], factors[n], atol=1e-12)
    cp, permutation, score = result
    np.testing.assert_array_equal(permutation, result.permutation)


def numpy_fms(reference, other, penalize):
    """The factor match score as diagnostics.h defines it, by brute force."""
    (wa, fa), (wb, fb) = reference, other
    na = [np.linalg.norm(f, axis=0) for f in fa]
    nb = [np.linalg.norm(f, axis=0) for f in fb]
    la = np.abs(wa) * na[0] * na[1] * na[2]
    lb = np.abs(wb) * nb[0] * nb[1] * nb[2]
    scores = np.ones((len(wa), len(wb)))
    for n in range(3):
        scores *= np.abs((fa[n] / na[n]).T @ (fb[n] / nb[n]))
    if penalize:
        scores *= 1 - np.abs(la[:, None] - lb[None, :]) / np.maximum(la[:, None], lb[None, :])
    scores = np.minimum(scores, 1.0)
    return max(np.mean([scores[r, p[r]] for r in range(len(wa))])
               for p in itertools.permutations(range(len(wb)), len(wa)))


@pytest.mark.parametrize("penalize", [False, True])
def test_factor_match_score_equals_numpy_on_random_fits(penalize):
    rng = np.random.default_rng(6)
    for trial in range(10):
        ra, rb = 3, 3 + trial % 2
        a = (rng.uniform(0.5, 3, ra), [rng.standard_normal((n, ra)) for n in (7, 6, 5)])
        b = (rng.uniform(0.5, 3, rb), [rng.standard_normal((n, rb)) for n in (7, 6, 5)])
        b[1][0][:, 0] = a[1][0][:, 1] * 2 + 0.1 * rng.standard_normal(7)  # a closer pair
        assert ltr.factor_match_score(a, b, penalize_weights=penalize) == pytest.approx(
            numpy_fms(a, b, penalize), abs=1e-12)


def test_corcondia_of_the_ensembles_best_fit_is_the_ensembles():
    x, _ = planted(seed=7)
    ens = ltr.rank_ensemble(x, [2, 3, 4], 2, seed=1, progress=False)
    for r, best in enumerate(ens.best):
        assert ltr.corcondia(x, best) == ens.corcondia[r, 0]
    assert ltr.corcondia(x, ens.best[1], threads=1) == pytest.approx(100, abs=0.1)


# --- errors -------------------------------------------------------------------


def one_line(error):
    text = str(error.value)
    assert "\n" not in text
    return text


def test_bad_arguments_raise_one_line_errors():
    x, cp = planted(shape=(8, 7, 6))
    with pytest.raises(ValueError) as e:
        ltr.rank_ensemble(x, [1, 2], method="als")
    assert "cp-als" in one_line(e) and "ncp-hals" in one_line(e)
    with pytest.raises(ValueError) as e:
        ltr.rank_ensemble(x, [1, 2], method="tucker-hooi")
    assert "ltr.tucker" in one_line(e)
    with pytest.raises(ValueError) as e:
        ltr.rank_ensemble(x, [0, 1])
    assert ">= 1" in one_line(e)
    with pytest.raises(ValueError) as e:
        ltr.rank_ensemble(x, [1, 100])
    assert "rank 100" in one_line(e)
    with pytest.raises(ValueError) as e:
        ltr.rank_ensemble(x, [3, 2])
    assert "increasing" in one_line(e)
    with pytest.raises(ValueError) as e:
        ltr.rank_ensemble(x, 2, 0)
    assert "restarts" in one_line(e)
    with pytest.raises(TypeError):
        ltr.rank_ensemble(x, "1:3")
    with pytest.raises(ValueError) as e:
        ltr.rank_ensemble(x, 2, mask=np.ones((8, 7, 5), bool))
    assert "mask" in one_line(e)
    with pytest.raises(ValueError) as e:
        ltr.rank_ensemble(x, 2, init="svd")
    assert "nvecs" in one_line(e)
    with pytest.raises(ValueError) as e:
        ltr.rank_ensemble(x, 2, nonneg_modes=[0])
    assert "ncp-hals" in one_line(e)
    with pytest.raises(ValueError) as e:
        ltr.rank_ensemble(x, 2, missing="em")
    assert "mask" in one_line(e)
    with pytest.raises(ValueError) as e:
        ltr.rank_ensemble(x[0], 2)
    assert "3-D" in one_line(e)
    with pytest.raises(ValueError) as e:
        ltr.cross_validate(x, [1, 2], test_fraction=0.95)
    assert "test_fraction" in one_line(e)
    with pytest.raises(ValueError) as e:
        ltr.align(cp, (cp[0], [cp[1][0][:4], cp[1][1], cp[1][2]]))
    assert "Align" in one_line(e)
    with pytest.raises(ValueError) as e:
        ltr.factor_match_score(cp, (cp[0][:2], [f[:, :2] for f in cp[1]]))
    assert "less than" in one_line(e)
    with pytest.raises(TypeError):
        ltr.align(cp, 3)
    for run in (ltr.rank_ensemble, ltr.cross_validate):  # not a relative error of 0
        with pytest.raises(ValueError) as e:
            run(np.zeros((8, 7, 6)), [1, 2], progress=False)
        assert "zero at every observed entry" in one_line(e)
    with pytest.raises(ValueError) as e:
        ltr.corcondia(x[:4], cp)
    assert "Corcondia" in one_line(e)


def test_a_fit_no_better_than_zero_warns():
    # A nonnegative fit of a negative tensor is the zero model.
    with pytest.warns(RuntimeWarning):
        ens = ltr.rank_ensemble(-np.abs(planted(shape=(5, 4, 3))[0]), 1, method="ncp-hals",
                                progress=False)
    assert "zero model" in ens.failure


def test_a_raising_progress_callable_stops_the_ensemble_and_is_reraised(tmp_path):
    x, _ = planted()
    lines = []

    def progress(line):
        lines.append(line)
        if len(lines) == 3:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        ltr.rank_ensemble(x, range(1, 7), 5, progress=progress)
    assert len(lines) == 3 and lines[0].startswith("ensemble: rank 1 restart 0")
    assert list(tmp_path.iterdir()) == []  # nothing written

    with pytest.raises(RuntimeError, match="stop here"):
        lines.clear()
        ltr.cross_validate(x, range(1, 7), 5, progress=progress)
    assert lines[0] == "cross-validation: rank 1 restart 0 done"


def test_ctrl_c_stops_an_ensemble_within_a_second():
    import signal
    import threading
    import time
    x, _ = planted(shape=(60, 50, 40), rank=5)
    timer = threading.Timer(0.3, lambda: signal.raise_signal(signal.SIGINT))
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        ltr.rank_ensemble(x, range(1, 11), 20, tol=0, n_iter_max=500, progress=False)
    assert time.monotonic() - start < 3.3  # ~1 s idle; seconds under load
    timer.join()


def test_results_do_not_leak_over_a_thousand_calls():
    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    x, cp = planted(shape=(400, 30, 20))
    ens = ltr.rank_ensemble(x, [2, 3], 2, seed=1, n_iter_max=20, progress=False)

    def calls():
        a = ltr.align(cp, cp)
        a.cp, a.permutation, ens.relative_error, ens.best, ens.fit(3), ens.iterations
        ltr.factor_match_score(cp, a.cp)

    for _ in range(100):
        calls()
    before = rss_mb()
    for _ in range(1000):
        calls()
    # Each round returns ~40 kB of factors (450 rows): a leak would be 40 MB.
    assert rss_mb() - before < 5


def test_cp_apr_runs_in_the_ensemble_with_its_poisson_deviance():
    rng = np.random.default_rng(5)
    rates = np.einsum("ir,jr,kr->ijk", rng.random((12, 2)), rng.random((10, 2)),
                      rng.random((8, 2))) * 3
    counts = rng.poisson(rates).astype(float)
    ens = ltr.rank_ensemble(counts, [1, 2], 2, method="cp-apr", seed=1, threads=1,
                            progress=False)
    fit = ens.fit(2)
    assert fit.method == "cp-apr"
    m = np.maximum(fit.to_tensor(), 1e-10)
    safe = np.where(counts > 0, counts, 1)
    deviance = 2 * np.sum(np.where(counts > 0, counts * np.log(safe / m), 0) - counts + m)
    assert fit.summary.poisson_deviance == pytest.approx(deviance, rel=1e-9)
    assert fit.summary.deviance_history[-1] == pytest.approx(deviance, rel=1e-9)
    assert np.all(np.diff(fit.summary.deviance_history) <= 1e-9 * deviance)
    # cp-apr's restarts are ranked by deviance, best first, in ens.poisson_deviance
    table = ens.poisson_deviance
    assert table.shape == (2, 2)
    assert table[1, 0] == fit.summary.poisson_deviance
    assert np.all(table[:, 0] <= table[:, 1])
