"""Runs the walk-through of docs/python.md cell by cell, as a notebook would: the
cells that plot only where matplotlib is installed."""
import os
import re

import pytest

from conftest import ROOT


def walkthrough_cells():
    text = (ROOT / "docs" / "python.md").read_text()
    section = text.split("## Walk-through", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_walkthrough_runs(tmp_path, monkeypatch):
    cells = walkthrough_cells()
    assert len(cells) >= 6
    os.symlink(ROOT / "data", tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    try:
        import matplotlib
        matplotlib.use("Agg")
        plotting = True
    except ImportError:
        plotting = False
    namespace = {}
    for cell in cells:
        if "plt" in cell and not plotting:
            continue
        exec(compile(cell, "docs/python.md", "exec"), namespace)
    assert 3 in namespace["ens"].ranks
    assert namespace["fit"].test_r2 > 0.9
    assert (tmp_path / "fit.h5").exists() and (tmp_path / "ensemble.h5").exists()
    if plotting:
        assert (tmp_path / "factors_rank3.png").exists()
    else:
        pytest.skip("matplotlib is not installed: the plotting cells did not run")
