"""The TensorLy drop-in contract: ltr.parafac, non_negative_parafac_hals and
tucker unpack, shape and reconstruct as tensorly.decomposition's functions
do, with the same argument names and defaults; where TensorLy is importable
(it is not a Debian package: fetch github:tensorly/tensorly and put its
source on PYTHONPATH) the same calls run through both and agree."""
import ast
import inspect
import itertools
import re

import numpy as np
import pytest

import ltr


def cp_to_tensor(cp):
    """TensorLy's cp_to_tensor for 3-way tensors, in numpy."""
    weights, factors = cp
    return np.einsum("r,ir,jr,kr->ijk", weights, *factors)


def relative_error(x, m):
    return np.linalg.norm(x - m) / np.linalg.norm(x)


def congruence(fa, fb):
    rank = fa[0].shape[1]
    cos = np.ones((rank, rank))
    for a, b in zip(fa, fb):
        cos *= np.abs((a / np.linalg.norm(a, axis=0)).T @ (b / np.linalg.norm(b, axis=0)))
    return max(np.mean([cos[r, p[r]] for r in range(rank)])
               for p in itertools.permutations(range(rank)))


def planted(dims, rank, noise, seed, nonneg=False):
    rng = np.random.default_rng(seed)
    factors = [rng.standard_normal((n, rank)) for n in dims]
    if nonneg:
        factors = [np.abs(f) for f in factors]
    x = np.einsum("ir,jr,kr->ijk", *factors)
    e = rng.standard_normal(x.shape)
    return x + noise * np.linalg.norm(x) / np.linalg.norm(e) * e


X = planted((20, 25, 30), 3, 0.1, seed=21)


def test_parafac_unpacks_and_reconstructs_as_tensorly():
    cp = ltr.parafac(X, 3)
    assert isinstance(cp, tuple) and len(cp) == 2
    weights, factors = cp
    assert weights.shape == (3,)
    assert isinstance(factors, list) and len(factors) == 3
    assert [f.shape for f in factors] == [(20, 3), (25, 3), (30, 3)]
    np.testing.assert_array_equal(weights, np.ones(3))  # normalize_factors=False
    full = cp_to_tensor(cp)
    np.testing.assert_allclose(ltr.cp_to_tensor(cp), full, rtol=0, atol=1e-12 * np.abs(X).max())
    np.testing.assert_allclose(cp.to_tensor(), full, rtol=0, atol=1e-12 * np.abs(X).max())
    # Noise of 10 %: the model leaves the noise, and reports that error.
    assert 0.09 < relative_error(X, full) < 0.1
    assert abs(relative_error(X, full) - cp.summary.relative_error) < 1e-12
    assert cp.summary.converged
    # TensorLy's positional order: n_iter_max, init, svd, normalize_factors.
    positional = ltr.parafac(X, 3, 7, "random", "truncated_svd", True)
    assert positional.summary.iterations <= 7
    assert abs(np.linalg.norm(positional.factors[0], axis=0) - 1).max() < 1e-12


def test_return_errors_as_tensorly():
    cp, errors = ltr.parafac(X, 3, return_errors=True)
    assert isinstance(cp, ltr.CPTensor) and len(cp) == 2
    assert isinstance(errors, list) and all(type(e) is float for e in errors)
    assert len(errors) == cp.summary.iterations
    assert abs(errors[-1] - relative_error(X, cp_to_tensor(cp))) < 1e-8
    assert all(a >= b - 1e-12 for a, b in zip(errors, errors[1:]))  # ALS is monotone
    _, hals_errors = ltr.non_negative_parafac_hals(np.abs(X), 3, return_errors=True)
    assert isinstance(hals_errors, list) and len(hals_errors) >= 2


def test_hals_and_tucker_unpack_as_tensorly():
    weights, factors = ltr.non_negative_parafac_hals(np.abs(X), 3)
    assert weights.shape == (3,) and [f.shape[0] for f in factors] == [20, 25, 30]
    assert min(f.min() for f in factors) >= 0
    core, factors = ltr.tucker(X, [4, 3, 2])
    assert core.shape == (4, 3, 2) and [f.shape for f in factors] == [(20, 4), (25, 3), (30, 2)]
    for f in factors:
        np.testing.assert_allclose(f.T @ f, np.eye(f.shape[1]), atol=1e-12)
    core, factors = ltr.tucker(X, 3)
    assert core.shape == (3, 3, 3)
    full = np.einsum("pqr,ip,jq,kr->ijk", core, *factors)
    np.testing.assert_allclose(ltr.tucker_to_tensor((core, factors)), full, rtol=0,
                               atol=1e-12 * np.abs(X).max())


# --- against TensorLy itself ---------------------------------------------------

@pytest.fixture(scope="module")
def tl():
    try:
        import tensorly
    except ImportError:
        pytest.skip("TensorLy is not importable (not a Debian package): fetch "
                    "github:tensorly/tensorly and put its source on PYTHONPATH")
    tensorly.set_backend("numpy")
    return tensorly


def ltr_parameters(function):
    """(name, default) of the parameters before `*` in the pybind11 signature."""
    line = function.__doc__.splitlines()[0]
    params = line[line.index("(") + 1:line.rindex(") ->")].split(", ")
    out = []
    for p in params:
        if p == "*":
            break
        name, _, default = p.partition(" = ")
        out.append((name.split(":")[0],
                    ast.literal_eval(default) if default else inspect.Parameter.empty))
    return out


@pytest.mark.parametrize("name", ["parafac", "non_negative_parafac_hals", "tucker"])
def test_same_names_order_and_defaults_as_tensorly(tl, name):
    import tensorly.decomposition as decomposition
    theirs = [(p.name, p.default)
              for p in inspect.signature(getattr(decomposition, name)).parameters.values()]
    assert ltr_parameters(getattr(ltr, name)) == theirs


def test_the_same_parafac_call_through_both(tl):
    from tensorly.decomposition import parafac
    ours, our_errors = ltr.parafac(X, 3, init="svd", tol=1e-8, return_errors=True)
    theirs, their_errors = parafac(X, 3, init="svd", tol=1e-8, return_errors=True)
    # The same algorithm from the same start: the same error to round-off
    # (measured with TensorLy 0.9.0: 0.0987861095918 for both, 7 iterations
    # each); another TensorLy's start may differ a little.
    assert abs(our_errors[-1] / their_errors[-1] - 1) < 1e-3
    assert congruence(ours.factors, list(theirs.factors)) > 0.99
    # Each side's model goes through the other's functions.
    np.testing.assert_allclose(tl.cp_to_tensor(ours), ltr.cp_to_tensor(ours), rtol=1e-12,
                               atol=1e-12 * np.abs(X).max())
    np.testing.assert_allclose(ltr.cp_to_tensor(theirs), tl.cp_to_tensor(theirs), rtol=1e-12,
                               atol=1e-12 * np.abs(X).max())
    restarted = ltr.parafac(X, 3, init=theirs, n_iter_max=5)
    assert restarted.summary.relative_error <= their_errors[-1] + 1e-9


def test_masked_and_float32_calls_through_both(tl):
    from tensorly.decomposition import parafac
    mask = np.random.default_rng(2).random(X.shape) > 0.2
    ours = ltr.parafac(X, 3, mask=mask, missing_data="em", n_iter_max=300)
    theirs = parafac(X, 3, mask=mask, n_iter_max=300)
    observed = lambda m: np.linalg.norm((X - m)[mask]) / np.linalg.norm(X[mask])
    assert abs(observed(ltr.cp_to_tensor(ours)) / observed(tl.cp_to_tensor(theirs)) - 1) < 0.03
    x32 = X.astype(np.float32)
    ours32, theirs32 = ltr.parafac(x32, 3), parafac(x32, 3)
    assert ours32.weights.dtype == theirs32.weights.dtype == np.float32
    assert ours32.factors[0].dtype == theirs32.factors[0].dtype == np.float32


def test_hals_and_tucker_through_both(tl):
    from tensorly.decomposition import non_negative_parafac_hals, tucker
    xn = planted((20, 25, 30), 3, 0.05, seed=22, nonneg=True)
    ours = ltr.non_negative_parafac_hals(xn, 3, n_iter_max=300)
    theirs = non_negative_parafac_hals(xn, 3, n_iter_max=300)
    assert abs(relative_error(xn, ltr.cp_to_tensor(ours)) /
               relative_error(xn, tl.cp_to_tensor(theirs)) - 1) < 0.03
    (ours_t, our_errors) = ltr.tucker(X, [4, 3, 2], return_errors=True)
    (theirs_t, their_errors) = tucker(X, [4, 3, 2], return_errors=True)
    assert abs(relative_error(X, ltr.tucker_to_tensor(ours_t)) /
               relative_error(X, tl.tucker_to_tensor(theirs_t)) - 1) < 0.01
    assert abs(our_errors[-1] / float(their_errors[-1]) - 1) < 0.01
    assert re.search("HOOI", ours_t.summary.message)
