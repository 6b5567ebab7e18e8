"""The markdown of the notebooks works in both places a learner reads it: the book and JupyterLab.

The book renders MyST with MyST-NB; JupyterLab renders it with jupyterlab-myst 2.7.0, which
tests/lab/test_jupyterlab.py checks in a real JupyterLab. What was found there, and is kept here:

* A solution sits alone in its markdown cell, as a ``:::{dropdown} Solution`` without ``:open:``.
  Both renderers draw it as a closed ``<details>``. Sharing a cell with the next exercise's
  statement leaked it: editing the statement shows the whole cell's source.
* ``{doc}`` gives a link that opens nothing in JupyterLab; ``[](04_....ipynb)`` opens the notebook
  there and shows the chapter's title in the book.
* jupyterlab-myst drops ``{literalinclude}`` silently, so a line above each one names the file.
* Only directives seen to render in JupyterLab are used (an unknown one shows a red error box,
  and ``{margin}`` overlaps the text).
* A widget cell takes seconds to run, and the line above it says so.

scripts/lab_markdown.py converts a notebook to these rules.
"""

import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# Directives checked by hand in JupyterLab 4.6.6 with jupyterlab-myst 2.7.0 (and built by the book).
# Before adding one, look at it in JupyterLab: see tests/lab/README.md.
RENDERED_IN_JUPYTERLAB = {"note", "tip", "important", "seealso", "dropdown", "literalinclude"}

SOLUTION_MARK = re.compile(
    r"^\s*(?:<summary>\s*Solution|(?::{3,}|`{3,})\{(?:dropdown|admonition|toggle)\}\s*Solution"
    r"|#+\s*Solution|\*\*Solution)", re.IGNORECASE | re.MULTILINE)
DIRECTIVE = re.compile(r"^\s*(?::{3,}|`{3,})\{([\w-]+)\}", re.MULTILINE)
CHECK_CALL = re.compile(r"\bexercises\.check_\w+\(")
WIDGET_CALL = re.compile(r"^[^#\n]*precomputed_widget\(", re.MULTILINE)


def cells_of(path):
    return [(c["cell_type"], "".join(c["source"])) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]]


def markdown_of(path):
    return [(i, text) for i, (kind, text) in enumerate(cells_of(path)) if kind == "markdown"]


def lone_dropdown(text):
    """The title of ``text`` if it is exactly one dropdown directive and nothing else, else None."""
    lines = text.strip().split("\n")
    m = re.fullmatch(r"(:{3,}|`{3,})\{dropdown\}\s*(.*)", lines[0])
    if not m or len(lines) < 3:
        return None
    fence = m[1]
    closing = re.compile(re.escape(fence[0]) + "{" + str(len(fence)) + ",}\\s*")
    if not closing.fullmatch(lines[-1]) or any(closing.fullmatch(line) for line in lines[1:-1]):
        return None
    return m[2]


def ids(paths):
    return [p.name for p in paths]


def test_there_are_notebooks_to_check():
    assert len(NOTEBOOKS) >= 10, f"expected the course's notebooks in {ROOT / 'notebooks'}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_a_solution_is_alone_in_its_cell(path):
    for i, text in markdown_of(path):
        if SOLUTION_MARK.search(text):
            assert lone_dropdown(text) is not None, (
                f"{path.name} cell {i}: a solution shares its cell with other text, or is not a "
                f"':::{{dropdown}} Solution' directive; give it a markdown cell of its own:\n{text[:300]}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_every_solution_is_collapsed(path):
    for i, text in markdown_of(path):
        assert "<details" not in text, (
            f"{path.name} cell {i}: raw <details> HTML; use a ':::{{dropdown}}' cell, which the book "
            "and JupyterLab both draw closed")
        if lone_dropdown(text) is not None:
            assert not re.search(r"^:open:", text, re.MULTILINE), f"{path.name} cell {i}: the dropdown is set :open:"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_every_exercise_is_followed_by_its_solution(path):
    cells = cells_of(path)
    checks = [i for i, (kind, text) in enumerate(cells) if kind == "code" and CHECK_CALL.search(text)]
    assert checks, f"{path.name} has no exercise (no exercises.check_... call)"
    for i in checks:
        after = []
        for kind, text in cells[i + 1:]:
            if kind == "code":
                break
            after.append(text)
        solutions = [t for t in after if (lone_dropdown(t) or "").lower().startswith("solution")]
        assert len(solutions) == 1, (
            f"{path.name}: the exercise in cell {i} should be followed, before the next code cell, by "
            f"one ':::{{dropdown}} Solution' cell; found {len(solutions)}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_only_directives_that_render_in_jupyterlab(path):
    for i, text in markdown_of(path):
        assert "{doc}`" not in text, (
            f"{path.name} cell {i}: {{doc}} opens nothing in JupyterLab; write [](name.ipynb) instead")
        for name in DIRECTIVE.findall(text):
            assert name in RENDERED_IN_JUPYTERLAB, (
                f"{path.name} cell {i}: directive {{{name}}} has not been checked in JupyterLab "
                f"(checked: {sorted(RENDERED_IN_JUPYTERLAB)})")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_relative_links_point_to_files(path):
    for i, text in markdown_of(path):
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:|#", target):
                continue
            if target == "../qkv-course-kit.zip":  # built by scripts/make_kit.py; tests/book checks the link works
                continue
            assert (path.parent / target.split("#")[0]).is_file(), f"{path.name} cell {i}: no file {target}"


def pointers(path):
    """(cell, include path, pointer line) for every literalinclude in ``path``."""
    found = []
    for i, text in markdown_of(path):
        lines = text.split("\n")
        for k, line in enumerate(lines):
            m = re.match(r"```\{literalinclude\}\s+(\S+)", line)
            if m:
                above = [x for x in lines[:k] if x.strip()]
                found.append((i, m[1], above[-1] if above else ""))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_every_literalinclude_has_a_line_that_names_its_file(path):
    for i, include, line in pointers(path):
        source = include.removeprefix("../")
        assert (ROOT / source).is_file(), f"{path.name} cell {i}: literalinclude of a missing file {include}"
        assert line.startswith(f"*From `{source}`"), (
            f"{path.name} cell {i}: JupyterLab shows nothing for the literalinclude of {source}; "
            f"the line above it should start with *From `{source}`, not {line[:80]!r}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_the_source_pointers_work_in_their_notebooks(path):
    """``helpers.module.name??`` in a pointer line names a function the notebook's imports reach."""
    package = (ROOT / "src" / "helpers" / "__init__.py").read_text(encoding="utf-8")
    imports = "\n".join(line for kind, text in cells_of(path) if kind == "code"
                        for line in text.split("\n") if re.match(r"(import|from) ", line))
    for i, _, line in pointers(path):
        for name in re.findall(r"`(helpers\.[\w.]+)\?\?`", line):
            module, *attributes = name.split(".")[1:]
            obj = importlib.import_module(f"helpers.{module}")
            for attribute in attributes:
                obj = getattr(obj, attribute, None)
            assert callable(obj), f"{path.name} cell {i}: {name} is not a function of the helpers"
            # `helpers.module` is an attribute of `helpers` once something imports the submodule.
            pattern = rf"from \.?{module} import|from \. import .*\b{module}\b|import \.?{module}\b"
            reached = re.search(pattern, package) or re.search(
                rf"from helpers import .*\b{module}\b|import helpers\.{module}\b|from helpers\.{module} import", imports)
            assert reached, f"{path.name} cell {i}: nothing in the notebook imports helpers.{module}, so {name}?? fails"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_a_line_above_each_widget_cell_says_it_takes_seconds(path):
    cells = cells_of(path)
    widgets = [i for i, (kind, text) in enumerate(cells) if kind == "code" and WIDGET_CALL.search(text)]
    for i in widgets:
        kind, text = cells[i - 1]
        assert kind == "markdown" and "takes a few seconds" in text, (
            f"{path.name}: the cell above the widget cell {i} should say that it takes a few seconds to draw")
