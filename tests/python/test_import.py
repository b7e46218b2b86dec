"""ltr.import_recording against `ltr import`: the same recording, bit for bit, from
the shared NWB and MATLAB files; errors as the command's."""
import h5py
import numpy as np
import pytest

import ltr

CASES = [
    ("nwb/human_mtl_sub-4_ses-4.nwb", dict(window=(-0.5, 1.5), bin=0.05, table="encoding_table",
                                            condition_column="stimCategory"),
     ["--table", "encoding_table", "--window", "-0.5:1.5", "--bin", "0.05",
      "--condition-column", "stimCategory"]),
    ("nwb/alm_sub-anm369963_ses-20170228.nwb", dict(window=(-1.0, 2.0), bin=0.02,
                                                    condition_column="type", zscore=True),
     ["--window", "-1:2", "--bin", "0.02", "--condition-column", "type", "--zscore"]),
    ("onken_retina/NaturalImages1.mat", dict(window=(0.0, 0.3), bin=0.01, variable="Spikes",
                                             time_unit=1e-3),
     ["--window", "0:0.3", "--bin", "0.01", "--variable", "Spikes", "--time-unit", "ms"]),
]


@pytest.mark.parametrize("name, keywords, flags", CASES)
def test_import_equals_the_command(shared_data, run_ltr, tmp_path, name, keywords, flags):
    source = str(shared_data / name)
    recording, info = ltr.import_recording(source, output=str(tmp_path / "py.h5"), **keywords)
    run_ltr("import", source, *flags, "-o", tmp_path / "cli.h5")
    with h5py.File(tmp_path / "py.h5") as py, h5py.File(tmp_path / "cli.h5") as cli:
        for key in cli:
            if isinstance(cli[key], h5py.Dataset):
                np.testing.assert_array_equal(py[key][()], cli[key][()], err_msg=key)
        assert dict(py["import"].attrs) == dict(cli["import"].attrs)
        np.testing.assert_array_equal(recording.activity, cli["activity"][()])
    assert len(info["trial_ids"]) == recording.trials


def test_import_errors_are_the_commands(shared_data, tmp_path):
    mtl = str(shared_data / "nwb" / "human_mtl_sub-4_ses-4.nwb")
    with pytest.raises(ValueError, match="no table 'trials'.*encoding_table"):
        ltr.import_recording(mtl, (0.0, 1.0))
    with pytest.raises(OSError, match="no such file"):
        ltr.import_recording(str(tmp_path / "absent.nwb"), (0.0, 1.0))
    with pytest.raises(ValueError, match="is the input"):
        ltr.import_recording(mtl, (0.0, 1.0), table="encoding_table", output=mtl)
    with pytest.raises(TypeError, match="window"):
        ltr.import_recording(mtl, "0:1")
