"""The stored notebooks carry no widget state.

The book executes every notebook again when it is built, and gets its widgets
from that run; nbval does not compare widget outputs. State stored in the
notebooks would only add 0.4 to 1.9 MB of PNG frames per chapter to the
repository and to every diff. `make notebooks` strips it after executing.
"""
import pathlib

import nbformat
import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 10, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_widget_state(path):
    nb = nbformat.read(path, as_version=4)
    assert "widgets" not in nb.metadata, (
        f"{path.name} stores widget state ({len(str(nb.metadata['widgets'])):,} characters of it): "
        f"run `python scripts/run_notebooks.py --strip-only notebooks/{path.name}`")
