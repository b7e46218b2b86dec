"""ltr.load: every kind of ltr output into the object its function returns."""
import h5py
import numpy as np
import pytest

import ltr
from conftest import ROOT

LEARNING = str(ROOT / "data" / "example_learning.h5")
TCA = str(ROOT / "data" / "example_tca.h5")


def test_each_command_output_loads_as_its_object(run_ltr, tmp_path):
    run_ltr("decompose", TCA, "--rank", 3, "--seed", 1, "-o", tmp_path / "cp.h5")
    run_ltr("train", "--task", "flipflop", "--units", 16, "--steps", 20, "--record-every", 5,
            "--threads", 1, "-o", tmp_path / "train.h5")
    run_ltr("analyze", tmp_path / "train.h5", "-o", tmp_path / "analysis.h5")
    run_ltr("bounds", tmp_path / "train.h5", "-o", tmp_path / "bounds.h5")
    expected = {"cp.h5": ltr.Decomposition, "train.h5": ltr.Trajectory,
                "analysis.h5": ltr.Analysis, "bounds.h5": ltr.BoundsTable}
    for name, kind in expected.items():
        assert isinstance(ltr.load(str(tmp_path / name)), kind), name
    assert isinstance(ltr.load(TCA), ltr.Recording)


def test_a_decomposition_loads_with_the_commands_numbers(run_ltr, tmp_path):
    run_ltr("decompose", TCA, "--rank", 3, "--seed", 1, "-o", tmp_path / "cp.h5")
    loaded = ltr.load(str(tmp_path / "cp.h5"))
    with h5py.File(tmp_path / "cp.h5") as f:
        np.testing.assert_array_equal(loaded.cp.weights, f["cp/weights"][()])
        for n in range(3):
            np.testing.assert_array_equal(loaded.cp.factors[n], f[f"cp/factors/{n}"][()])


def test_kind_picks_one_part_of_a_file_that_holds_several():
    assert ltr.file_kinds(LEARNING) == ["trajectory", "recording"]
    assert isinstance(ltr.load(LEARNING), ltr.Recording)
    trajectory = ltr.load(LEARNING, kind="trajectory")
    assert isinstance(trajectory, ltr.Trajectory)
    with h5py.File(LEARNING) as f:
        np.testing.assert_array_equal(trajectory.weights, f["weights"][()])
    with pytest.raises(ValueError, match="holds no bounds .it holds: trajectory, recording"):
        ltr.load(LEARNING, kind="bounds")


def test_files_that_are_not_ltr_outputs(tmp_path):
    with pytest.raises(OSError, match="no such file"):
        ltr.load(str(tmp_path / "missing.h5"))
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(OSError, match="not an HDF5 file"):
        ltr.load(str(tmp_path / "text.h5"))
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["something"] = np.zeros(3)
    with pytest.raises(ValueError, match="is not an ltr output"):
        ltr.load(str(tmp_path / "other.h5"))
