"""Shared fixtures of the Python package's tests (run by ctest, which sets
PYTHONPATH to build/python and LTR_BINARY to the ltr command)."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long tests, run by `ctest -L slow`")


@pytest.fixture(scope="session")
def ltr_binary():
    """The ltr command of the same build, to compare the binding with."""
    path = os.environ.get("LTR_BINARY", str(ROOT / "build" / "bin" / "ltr"))
    if not os.path.exists(path):
        pytest.skip(f"no ltr binary at {path} (set LTR_BINARY)")
    return path


@pytest.fixture
def run_ltr(ltr_binary):
    """Runs `ltr ARGS...`; returns the CompletedProcess (text mode)."""
    def run(*args, check=True):
        result = subprocess.run([ltr_binary, *map(str, args)], capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"ltr {' '.join(map(str, args))} failed: {result.stderr}")
        return result
    return run


@pytest.fixture(scope="session")
def shared_data():
    """../shared/data, or a skip saying it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (the real recordings are not beside the project)")
    return SHARED
