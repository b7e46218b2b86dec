"""The committed type stub (python/ltr/_ltr.pyi) is in step with the bindings: it is
what scripts/make_stubs.py writes from their signatures, and it parses."""
import ast
import pathlib
import subprocess
import sys

from conftest import ROOT

STUB = ROOT / "python" / "ltr" / "_ltr.pyi"


def test_the_stub_is_what_the_bindings_generate(tmp_path):
    fresh = tmp_path / "_ltr.pyi"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_stubs.py"), str(fresh)],
                   check=True, capture_output=True)
    assert STUB.read_text() == fresh.read_text(), (
        "python/ltr/_ltr.pyi is out of step: run "
        "PYTHONPATH=build/python python3 scripts/make_stubs.py")


def test_the_stub_parses_and_names_every_public_binding():
    import ltr._ltr as ext
    tree = ast.parse(STUB.read_text())
    stubbed = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    public = {name for name in vars(ext) if not name.startswith("_")} - {"__version__"}
    assert public <= stubbed, public - stubbed


def test_help_shows_the_options():
    import ltr
    doc = ltr.parafac.__doc__
    assert "n_iter_max: int = 100" in doc and "random_state" in doc
