"""The binding's machinery: version, threads, progress, errors."""
import logging
import subprocess

import numpy as np
import pytest

import ltr


def test_version_equals_the_command(ltr_binary):
    out = subprocess.run([ltr_binary, "--version"], capture_output=True, text=True, check=True)
    assert ltr.__version__ in out.stdout.split()
    assert ltr.__version__.count(".") == 2


def test_usable_cores_is_at_least_one():
    assert ltr.usable_cores() >= 1


def small_tensor():
    rng = np.random.default_rng(0)
    a, b, c = (rng.random((n, 2)) for n in (6, 5, 4))
    return np.einsum("ir,jr,kr->ijk", a, b, c)


def test_threads_must_be_none_or_a_positive_int():
    x = small_tensor()
    for bad, kind in ((0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(kind, match="threads"):
            ltr.rank_ensemble(x, [1], threads=bad)
    a = ltr.rank_ensemble(x, [1, 2], 2, seed=3, threads=1)
    b = ltr.rank_ensemble(x, [1, 2], 2, seed=3, threads=None)
    assert a.relative_error.shape == b.relative_error.shape == (2, 2)


def test_progress_goes_to_the_ltr_logger_by_default(caplog):
    with caplog.at_level(logging.INFO, logger="ltr"):
        ltr.rank_ensemble(small_tensor(), [1, 2], 2, seed=1)
    lines = [r.getMessage() for r in caplog.records if r.name == "ltr"]
    assert len(lines) == 4 and all("rank" in line for line in lines)


def test_progress_false_is_silent_and_a_callable_gets_each_line(caplog):
    with caplog.at_level(logging.INFO, logger="ltr"):
        ltr.rank_ensemble(small_tensor(), [1, 2], 2, seed=1, progress=False)
    assert not [r for r in caplog.records if r.name == "ltr"]
    lines = []
    ltr.rank_ensemble(small_tensor(), [1, 2], 2, seed=1, progress=lines.append)
    assert len(lines) == 4 and all(isinstance(line, str) for line in lines)
    with pytest.raises(TypeError, match="progress must be None"):
        ltr.rank_ensemble(small_tensor(), [1], progress="stderr")


def test_library_errors_map_to_python_exceptions(tmp_path):
    with pytest.raises(OSError, match="no such file"):
        ltr.load(str(tmp_path / "absent.h5"))
    directory = tmp_path / "dir.h5"
    directory.mkdir()
    with pytest.raises(OSError, match="it is a directory"):
        ltr.load(str(directory))
    with pytest.raises(ValueError, match="rank must be >= 1"):
        ltr.parafac(small_tensor(), 0)
    with pytest.raises(ValueError, match="3-D"):
        ltr.parafac(np.zeros((3, 3)), 1)
    with pytest.raises(TypeError, match="real numbers"):
        ltr.parafac(np.array([[["a"]]]), 1)


def test_results_own_their_memory_and_inputs_are_untouched():
    x = small_tensor()
    before = x.copy()
    weights, factors = ltr.parafac(x, 2, random_state=0, normalize_factors=True)
    np.testing.assert_array_equal(x, before)
    assert all(f.flags.owndata is False and f.base is not None for f in factors)
    del x  # the factors do not refer to the input
    assert factors[0].shape == (6, 2) and np.isfinite(weights).all()


def test_a_wrong_argument_type_is_a_one_line_type_error():
    x = small_tensor()
    cases = [(lambda: ltr.rank_ensemble(x, [1], restarts=2.5),
              "rank_ensemble: restarts must be int, not float (2.5)"),
             (lambda: ltr.parafac(x, 2, n_iter_max="5"),
              "parafac: n_iter_max must be int, not str ('5')"),
             (lambda: ltr.rank_ensemble(x, [1], bogus=1),
              "rank_ensemble: unexpected argument 'bogus'"),
             (lambda: ltr.rank_ensemble(x, [1]).save(3),
              "Ensemble.save: path must be os.PathLike, not int (3)")]
    for call, message in cases:
        with pytest.raises(TypeError) as error:
            call()
        assert str(error.value) == message
    # The wrappers keep the signature in the docstring for help().
    assert ltr.parafac.__doc__.startswith("parafac(tensor")
