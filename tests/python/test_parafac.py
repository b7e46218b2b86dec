"""The single-fit decompositions: ltr.parafac, non_negative_parafac_hals,
cp_opt and tucker equal the `ltr decompose` command on the same inputs,
recover planted factors, accept every array layout, map errors, stop on
Ctrl-C, release the GIL and do not leak."""
import copy
import itertools
import logging
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time
import weakref

import h5py
import numpy as np
import pytest

import ltr


def planted(dims, rank, noise, seed, nonneg=False):
    """A rank-`rank` tensor (normal factors, or their absolute values) plus
    Gaussian noise of relative size `noise`; returns (tensor, factors)."""
    rng = np.random.default_rng(seed)
    factors = [rng.standard_normal((n, rank)) for n in dims]
    if nonneg:
        factors = [np.abs(f) for f in factors]
    x = np.einsum("ir,jr,kr->ijk", *factors)
    e = rng.standard_normal(x.shape)
    x = x + noise * np.linalg.norm(x) / np.linalg.norm(e) * e
    return x, factors


def congruence(true_factors, fitted_factors):
    """The factor match score, in numpy: the best mean over components of the
    product over modes of |cos| between matched columns."""
    rank = true_factors[0].shape[1]
    cos = np.ones((rank, rank))
    for a, b in zip(true_factors, fitted_factors):
        a = a / np.linalg.norm(a, axis=0)
        b = b / np.linalg.norm(b, axis=0)
        cos *= np.abs(a.T @ b)
    return max(np.mean([cos[r, p[r]] for r in range(rank)])
               for p in itertools.permutations(range(rank)))


def write_input(path, x, mask=None):
    with h5py.File(path, "w") as f:
        f["activity"] = x
        if mask is not None:
            f["mask"] = mask.astype(np.uint8)


def read_cp(path):
    with h5py.File(path, "r") as f:
        cp = f["cp"]
        return (cp["weights"][()], [cp["factors"][str(n)][()] for n in range(3)],
                dict(cp.attrs), cp["error_history"][()])


def assert_same_cp(mine, cli_weights, cli_factors, tolerance=1e-12):
    weights, factors = mine
    scale = np.max(np.abs(cli_weights))
    np.testing.assert_allclose(weights, cli_weights, rtol=0, atol=tolerance * scale)
    for a, b in zip(factors, cli_factors):
        np.testing.assert_allclose(a, b, rtol=0, atol=tolerance)


X, TRUE = planted((15, 20, 25), 3, 0.05, seed=1)


# --- equal to the command ----------------------------------------------------

@pytest.mark.parametrize("init", ["random", "nvecs"])
@pytest.mark.parametrize("masked", [False, True])
def test_parafac_equals_the_command(tmp_path, run_ltr, init, masked):
    mask = None
    if masked:
        mask = np.random.default_rng(3).random(X.shape) > 0.2
    write_input(tmp_path / "x.h5", X, mask)
    args = ["decompose", tmp_path / "x.h5", "--method", "cp-als", "--rank", 3,
            "--seed", 7, "--init", init, "--tol", 1e-9, "--max-iters", 80,
            "--threads", 2, "-o", tmp_path / "out.h5"]
    run_ltr(*args, *(["--mask", "mask"] if masked else []))
    weights, factors, attrs, history = read_cp(tmp_path / "out.h5")
    cp = ltr.parafac(X, 3, n_iter_max=80, init="svd" if init == "nvecs" else init,
                     tol=1e-9, random_state=7, mask=mask, normalize_factors=True,
                     threads=2)
    # The same library, options, seed and threads: the same bits.
    assert_same_cp(cp, weights, factors, tolerance=0)
    assert cp.summary.iterations == attrs["iterations"]
    assert cp.summary.relative_error == attrs["relative_error"]
    assert cp.summary.seed == attrs["seed"] == 7
    assert bool(cp.summary.converged) == bool(attrs["converged"])
    assert cp.summary.message == attrs["message"]
    np.testing.assert_array_equal(cp.summary.error_history, history)


def test_parafac_em_and_other_methods_equal_the_command(tmp_path, run_ltr):
    mask = np.random.default_rng(4).random(X.shape) > 0.3
    xn, _ = planted((15, 20, 25), 3, 0.05, seed=2, nonneg=True)
    write_input(tmp_path / "x.h5", X, mask)
    write_input(tmp_path / "n.h5", xn)
    common = ["--rank", 3, "--seed", 11, "--tol", 1e-8, "--max-iters", 60, "--threads", 1]
    cases = [
        # parafac's linesearch=False (TensorLy's default) is --acceleration none.
        (["x.h5", "--method", "cp-als", "--mask", "mask", "--missing", "em",
          "--acceleration", "none"],
         lambda: ltr.parafac(X, 3, n_iter_max=60, init="random", tol=1e-8, random_state=11,
                             mask=mask, normalize_factors=True, missing_data="em",
                             threads=1)),
        (["n.h5", "--method", "ncp-hals", "--nonneg-modes", "0,2"],
         lambda: ltr.non_negative_parafac_hals(xn, 3, n_iter_max=60, init="random",
                                               tol=1e-8, random_state=11, nn_modes=[0, 2],
                                               normalize_factors=True, threads=1)),
        (["x.h5", "--method", "cp-opt", "--mask", "mask"],
         lambda: ltr.cp_opt(X, 3, n_iter_max=60, tol=1e-8, random_state=11, mask=mask,
                            normalize_factors=True, threads=1)),
    ]
    for args, fit in cases:
        out = tmp_path / "out.h5"
        run_ltr("decompose", tmp_path / args[0], *args[1:], *common, "-o", out)
        weights, factors, attrs, history = read_cp(out)
        cp = fit()
        assert_same_cp(cp, weights, factors)
        assert cp.summary.iterations == attrs["iterations"], args
        assert abs(cp.summary.relative_error - attrs["relative_error"]) <= 1e-12
        os.remove(out)


def test_tucker_equals_the_command(tmp_path, run_ltr):
    write_input(tmp_path / "x.h5", X)
    run_ltr("decompose", tmp_path / "x.h5", "--method", "tucker-hooi", "--tucker-ranks",
            "4,3,2", "--max-iters", 30, "--tol", 1e-10, "--threads", 2,
            "-o", tmp_path / "t.h5")
    with h5py.File(tmp_path / "t.h5", "r") as f:
        core = f["tucker/core"][()]
        factors = [f["tucker/factors"][str(n)][()] for n in range(3)]
        relative_error = f["tucker"].attrs.get("relative_error")
    t = ltr.tucker(X, [4, 3, 2], n_iter_max=30, tol=1e-10, threads=2)
    core_mine, factors_mine = t
    assert core_mine.shape == (4, 3, 2)
    np.testing.assert_array_equal(core_mine, core)
    for a, b in zip(factors_mine, factors):
        np.testing.assert_array_equal(a, b)
    if relative_error is not None:
        assert t.summary.relative_error == relative_error
    full = ltr.tucker_to_tensor(t)
    np.testing.assert_allclose(full, np.einsum("pqr,ip,jq,kr->ijk", core, *factors),
                               rtol=0, atol=1e-12 * np.abs(full).max())
    err = np.linalg.norm(full - X) / np.linalg.norm(X)
    assert abs(err - t.summary.relative_error) < 1e-10


def test_tucker_return_errors_as_tensorly():
    t, errors = ltr.tucker(X, [4, 3, 2], tol=1e-12, n_iter_max=50, return_errors=True)
    assert isinstance(errors, list) and all(type(e) is float for e in errors)
    assert len(errors) == t.summary.iterations >= 1
    np.testing.assert_array_equal(t.summary.error_history, errors)
    assert all(b <= a + 1e-14 for a, b in zip(errors, errors[1:]))  # HOOI never rises
    assert abs(errors[-1] - t.summary.relative_error) < 1e-8


def test_tucker_chooses_ranks_by_error_tolerance():
    x, _ = planted((15, 20, 25), 3, 0.01, seed=5)
    t = ltr.tucker(x, None, error_tolerance=0.05)
    assert t.core.shape == (3, 3, 3)
    assert t.summary.relative_error <= 0.05
    assert ltr.tucker(x, [0, 3, 0], error_tolerance=0.05).core.shape == (3, 3, 3)
    assert ltr.tucker(x, np.int64(2)).core.shape == (2, 2, 2)
    assert ltr.tucker(x, np.array([4, 3, 2])).core.shape == (4, 3, 2)


# --- planted factors ---------------------------------------------------------

def test_planted_factors_are_recovered():
    for fit in (lambda: ltr.parafac(X, 3, random_state=0),
                lambda: ltr.parafac(X, 3, init="random", random_state=1, tol=1e-10,
                                    n_iter_max=500),
                lambda: ltr.cp_opt(X, 3, random_state=2)):
        cp = fit()
        assert congruence(TRUE, cp.factors) > 0.99
        # Noise 5 %: the fit explains all but the noise.
        assert 0.045 < cp.summary.relative_error < 0.05


def test_nonnegative_factors_are_recovered_and_nonnegative():
    x, true = planted((15, 20, 25), 3, 0.02, seed=6, nonneg=True)
    cp = ltr.non_negative_parafac_hals(x, 3, random_state=0, n_iter_max=500, tol=1e-9)
    assert all((f >= 0).all() for f in cp.factors)
    assert congruence(true, cp.factors) > 0.98
    partial = ltr.non_negative_parafac_hals(X, 3, nn_modes=[0], random_state=0)
    assert (partial.factors[0] >= 0).all() and (partial.factors[1] < 0).any()


def test_normalize_factors_false_spreads_the_weights():
    unit = ltr.parafac(X, 3, random_state=0, normalize_factors=True)
    spread = ltr.parafac(X, 3, random_state=0)
    np.testing.assert_array_equal(spread.weights, np.ones(3))
    for u, s in zip(unit.factors, spread.factors):
        np.testing.assert_allclose(s, u * np.cbrt(unit.weights), rtol=1e-14, atol=0)
    np.testing.assert_allclose(spread.to_tensor(), unit.to_tensor(), rtol=0,
                               atol=1e-12 * np.abs(X).max())
    np.testing.assert_allclose(np.linalg.norm(unit.factors[0], axis=0), 1, rtol=1e-14)
    assert (np.diff(unit.weights) <= 0).all()


def test_results_pickle_and_deepcopy():
    cp = ltr.parafac(X, 3, random_state=0)
    t = ltr.tucker(X, [3, 2, 2])
    for result in (cp, t):
        for twin in (pickle.loads(pickle.dumps(result)), copy.deepcopy(result)):
            assert type(twin) is type(result) and len(twin) == 2
            np.testing.assert_array_equal(twin[0], result[0])
            for a, b in zip(twin[1], result[1]):
                np.testing.assert_array_equal(a, b)
            assert str(twin.summary) == str(result.summary)
    twin = pickle.loads(pickle.dumps(cp))
    np.testing.assert_array_equal(twin.summary.error_history, cp.summary.error_history)
    assert (twin.summary.seed, twin.summary.converged) == (cp.summary.seed, cp.summary.converged)


# --- layouts, dtypes, masks, seeds --------------------------------------------

def fit_bits(x, **kw):
    kw = {"init": "random", "random_state": 3, "n_iter_max": 40, "tol": 0,
          "normalize_factors": True, **kw}
    cp = ltr.parafac(x, 3, **kw)
    return cp, np.concatenate([cp.weights] + [f.ravel() for f in cp.factors])


def test_layouts_give_the_same_result():
    _, reference = fit_bits(X)
    for layout in (np.asfortranarray(X), X.transpose(2, 0, 1).copy().transpose(1, 2, 0),
                   X.tolist()):
        np.testing.assert_array_equal(fit_bits(layout)[1], reference)
    big = np.zeros((30, 20, 75))
    big[::2, :, ::3] = X
    view = big[::2, :, ::3]
    assert not view.flags.c_contiguous
    np.testing.assert_array_equal(fit_bits(view)[1], reference)


def test_float32_in_float32_out():
    x32 = X.astype(np.float32)
    cp32, bits32 = fit_bits(x32)
    _, bits64 = fit_bits(x32.astype(np.float64))
    assert cp32.weights.dtype == np.float32
    assert all(f.dtype == np.float32 for f in cp32.factors)
    np.testing.assert_array_equal(bits32, bits64.astype(np.float32))
    assert ltr.cp_to_tensor(cp32).dtype == np.float32
    t32 = ltr.tucker(x32, 2)
    assert t32.core.dtype == np.float32 and t32.factors[0].dtype == np.float32


def test_bool_int_and_float_masks_agree_and_missing_may_be_nan():
    mask = np.random.default_rng(8).random(X.shape) > 0.25
    _, reference = fit_bits(X, mask=mask)
    for m in (mask.astype(np.int32), mask.astype(np.float64), np.asfortranarray(mask),
              mask.astype(np.uint8)):
        np.testing.assert_array_equal(fit_bits(X, mask=m)[1], reference)
    holes = X.copy()
    holes[~mask] = np.nan
    np.testing.assert_array_equal(fit_bits(holes, mask=mask)[1], reference)
    with pytest.raises(ValueError, match="0/1"):
        ltr.parafac(X, 3, mask=mask * 2.0)
    with pytest.raises(ValueError, match="mask has shape"):
        ltr.parafac(X, 3, mask=mask[:, :, :3])


def test_threads_do_not_change_the_bits():
    np.testing.assert_array_equal(fit_bits(X, threads=1)[1], fit_bits(X, threads=2)[1])


def test_random_state_forms():
    a = fit_bits(X, random_state=5)
    assert a[0].summary.seed == 5
    np.testing.assert_array_equal(a[1], fit_bits(X, random_state=np.int64(5))[1])
    # A RandomState or Generator draws the seed, reproducibly.
    r1 = fit_bits(X, random_state=np.random.RandomState(0))
    r2 = fit_bits(X, random_state=np.random.RandomState(0))
    np.testing.assert_array_equal(r1[1], r2[1])
    g1 = fit_bits(X, random_state=np.random.default_rng(0))
    np.testing.assert_array_equal(g1[1], fit_bits(X, random_state=g1[0].summary.seed)[1])
    # None draws from numpy's global state, as TensorLy does.
    np.random.seed(12)
    n1 = fit_bits(X, random_state=None)
    np.random.seed(12)
    n2 = fit_bits(X, random_state=None)
    np.testing.assert_array_equal(n1[1], n2[1])
    assert fit_bits(X, random_state=None)[0].summary.seed != n1[0].summary.seed
    with pytest.raises(TypeError, match="random_state"):
        ltr.parafac(X, 3, random_state=1.5)
    with pytest.raises(ValueError, match="random_state"):
        ltr.parafac(X, 3, random_state=-1)


def test_init_from_a_cp_tensor():
    start = ltr.parafac(X, 3, n_iter_max=2, init="random", random_state=0, tol=0)
    resumed = ltr.parafac(X, 3, init=start, n_iter_max=5, tol=0)
    assert resumed.summary.iterations == 5
    as_pair = ltr.parafac(X, 3, init=(None, list(start.factors)), n_iter_max=5, tol=0)
    np.testing.assert_array_equal(as_pair.factors[0], resumed.factors[0])
    with pytest.raises(ValueError, match="rank"):
        ltr.parafac(X, 2, init=start)


# --- errors ---------------------------------------------------------------------

@pytest.mark.parametrize("call, error, message", [
    (lambda: ltr.parafac(X, 0), ValueError, "rank must be >= 1, got 0"),
    (lambda: ltr.parafac(X[0], 2), ValueError, r"tensor must be 3-D, got shape \(20, 25\)"),
    (lambda: ltr.parafac(X, 2, init="pca"), ValueError, "init must be 'svd', 'nvecs', 'random'"),
    (lambda: ltr.parafac([["a", "b"]], 2), TypeError, "tensor must hold real numbers"),
    (lambda: ltr.parafac(X, 2, init=5), TypeError, "init must be a CPTensor"),
    (lambda: ltr.parafac(X, 10**6), ValueError, "exceeds"),
    (lambda: ltr.parafac(X, 2, n_iter_max=0), ValueError, "n_iter_max must be >= 1"),
    (lambda: ltr.parafac(X, 2, tol=-1), ValueError, "tol must be finite"),
    (lambda: ltr.parafac(np.full((3, 4, 5), np.nan), 2), ValueError, "NaN"),
    (lambda: ltr.parafac(X, 2, missing_data="fill"), ValueError, "exact"),
    (lambda: ltr.parafac(X, 2, threads=0), ValueError, "threads must be >= 1"),
    (lambda: ltr.non_negative_parafac_hals(X, 2, nn_modes=None), ValueError, "nn_modes"),
    (lambda: ltr.non_negative_parafac_hals(X, 2, nn_modes=[3]), ValueError, "mode 3"),
    (lambda: ltr.tucker(X, [2, 2]), ValueError, "3 entries"),
    (lambda: ltr.tucker(X, [2, 2, 99]), ValueError, "rank 99"),
    (lambda: ltr.tucker(X, "2"), TypeError, "rank must be"),
    (lambda: ltr.cp_to_tensor(5), TypeError, "cp_tensor must be"),
    (lambda: ltr.tucker_to_tensor((np.ones((2, 2, 2)), [np.ones((3, 2))] * 2 + [np.ones((3, 1))])),
     ValueError, "factor 2 has 1 columns"),
])
def test_errors_map_to_exceptions(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("function, option, value", [
    (ltr.parafac, "orthogonalise", True),
    (ltr.parafac, "sparsity", 0.1),
    (ltr.parafac, "l2_reg", 0.01),
    (ltr.parafac, "fixed_modes", [0]),
    (ltr.parafac, "cvg_criterion", "rec_error"),
    (ltr.parafac, "svd", "randomized_svd"),
    (ltr.parafac, "svd_mask_repeats", 2),
    (ltr.parafac, "callback", print),
    (ltr.non_negative_parafac_hals, "exact", True),
    (ltr.non_negative_parafac_hals, "sparsity_coefficients", [1, 1, 1]),
    (ltr.non_negative_parafac_hals, "fixed_modes", [1]),
    (ltr.tucker, "fixed_factors", [0]),
    (ltr.tucker, "init", "random"),
    (ltr.tucker, "random_state", 0),
    (ltr.tucker, "mask", np.ones((15, 20, 25))),
])
def test_unsupported_options_are_refused_not_ignored(function, option, value):
    with pytest.raises(ValueError, match=f"{option}=.* is not supported by ltr"):
        function(X, 2, **{option: value})


def test_docstrings_show_the_options():
    for name in ("n_iter_max", "init", "tol", "random_state", "mask", "normalize_factors",
                 "return_errors", "threads", "progress", "Returns", "Raises"):
        assert name in ltr.parafac.__doc__
    assert "nn_modes" in ltr.non_negative_parafac_hals.__doc__
    assert "error_tolerance" in ltr.tucker.__doc__
    assert "n_iter_max: int = 500" in ltr.cp_opt.__doc__  # CpOptions' default


def test_verbose_logs_each_iteration(caplog):
    lines = []
    cp = ltr.parafac(X, 3, verbose=1, progress=lines.append, random_state=0)
    assert len(lines) == cp.summary.iterations + 1
    assert lines[0].startswith("parafac iteration 1: relative error")
    assert lines[-1] == "parafac: " + cp.summary.message
    with caplog.at_level(logging.INFO, logger="ltr"):
        ltr.tucker(X, 2, verbose=1)
    assert any("HOOI" in r.getMessage() for r in caplog.records)
    silent = []
    ltr.parafac(X, 3, random_state=0, progress=silent.append)
    assert silent == []  # verbose=0: nothing


# --- Python citizenship ---------------------------------------------------------

CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    import ltr
    x = np.random.default_rng(0).standard_normal((300, 300, 300))
    print("started", flush=True)
    try:
        ltr.parafac(x, 5, n_iter_max=10**6, tol=0, init="random", random_state=0)
        print("finished", flush=True)
    except KeyboardInterrupt:
        print("interrupted", time.monotonic(), flush=True)
    cp = ltr.parafac(x[:10, :10, :10], 2, random_state=0)
    print("small", cp.summary.iterations, flush=True)
""")


def test_ctrl_c_interrupts_within_seconds():
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "started"
        time.sleep(1.5)
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    lines = out.split("\n")
    assert lines[0].startswith("interrupted"), out + err
    delay = float(lines[0].split()[1]) - sent
    # The fit would run for hours: a prompt stop is a few iterations (0.1-0.3 s
    # idle; seconds under a busy machine's load), not a timing target.
    assert 0 <= delay < 3.0, f"KeyboardInterrupt {delay:.2f} s after SIGINT"
    assert lines[1].startswith("small "), out + err  # the interpreter still works
    assert child.returncode == 0


def test_the_gil_is_released():
    x, _ = planted((80, 90, 100), 5, 0.1, seed=9)
    count = [0]
    stop = threading.Event()

    def counter():
        while not stop.is_set():
            count[0] += 1

    thread = threading.Thread(target=counter)
    thread.start()
    try:
        time.sleep(0.05)
        before = count[0]
        cp = ltr.parafac(x, 5, init="random", tol=0, n_iter_max=150, random_state=0)
        during = count[0] - before
    finally:
        stop.set()
        thread.join()
    assert cp.summary.iterations == 150
    assert cp.summary.seconds > 0.05
    # A held GIL would let the counter run only at the call's edges.
    assert during > 10000, during


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_no_leak_over_a_thousand_calls():
    # 64 kB in, 64 kB out per call: a leaked copy would add 64 MB or more.
    x, _ = planted((20, 20, 20), 2, 0.1, seed=10)
    mask = np.ones(x.shape, dtype=bool)
    for _ in range(100):  # warm up allocators and caches
        ltr.parafac(x, 2, n_iter_max=5, mask=mask, random_state=0, return_errors=True)
    refs = (sys.getrefcount(x), sys.getrefcount(mask))
    before = rss_mb()
    for _ in range(1000):
        cp, errors = ltr.parafac(x, 2, n_iter_max=5, mask=mask, random_state=0,
                                 return_errors=True)
        full = ltr.cp_to_tensor(cp)
    growth = rss_mb() - before
    assert (sys.getrefcount(x), sys.getrefcount(mask)) == refs
    assert growth < 4, f"RSS grew by {growth:.1f} MB over 1000 calls"
    # The results are freed with their last reference.
    alive = [weakref.ref(a) for a in (cp.weights, *cp.factors, full)]
    del cp, errors, full
    assert [r() for r in alive] == [None] * len(alive)


def test_linesearch_maps_to_the_library_line_search():
    # TensorLy's keyword, its default False: plain sweeps; True: Bro's line
    # search (CpOptions::acceleration), an error no worse; the iteration
    # counts are tested in C++ (test_cp_acceleration.cpp). Rank 5 on planted
    # rank 4: a fit that crawls, where points are tried (not where ALS
    # converges in a few sweeps).
    x, _ = planted((30, 25, 20), 4, 0.05, 22)
    plain = ltr.parafac(x, 5, n_iter_max=2000, init="random", tol=1e-9, random_state=2)
    fast = ltr.parafac(x, 5, n_iter_max=2000, init="random", tol=1e-9, random_state=2,
                       linesearch=True)
    assert plain.summary.extrapolations == 0
    assert fast.summary.extrapolations > 0
    assert fast.summary.relative_error <= plain.summary.relative_error * (1 + 1e-6)
    hals = ltr.non_negative_parafac_hals(np.abs(x), 3, init="random", random_state=2,
                                         acceleration="none")
    assert hals.summary.extrapolations == 0
    with pytest.raises(ValueError, match="acceleration"):
        ltr.rank_ensemble(x, [2], 1, acceleration="fast")
