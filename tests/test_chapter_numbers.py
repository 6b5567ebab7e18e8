"""Typed chapter numbers must agree with the table of contents.

Chapters move (this round inserted three), and a typed "see Chapter 8" then
points at the wrong page without any warning from the build. So:

* the chapters in ``_toc.yml`` are numbered by their position, and each file's
  two-digit prefix and its title ``# N. ...`` must equal that position;
* in the prose (notebook markdown and ``book/*.md``), every number in a
  "Chapter N" or "Chapters M and N" mention must be linked in the same
  paragraph, by a link to that chapter's file (``[](NN_name.ipynb)``, or
  ``{doc}`` to it), so the number and the target cannot drift apart;
* in the helpers, a docstring that says a function or check is taught or used
  in chapter N must name something chapter N's notebook actually uses.
"""
import ast
import json
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
MENTION = re.compile(r"\b[Cc]hapters?\s+(\d+(?:\s*(?:,|and|or|to|–|-)\s*\d+)*)")
NUMBER = re.compile(r"\d+")
# A link to a chapter file: [](07_positions.ipynb), [text](../notebooks/07_positions.ipynb),
# {doc}`07_positions`, {doc}`text <../notebooks/07_positions>`.
LINK = re.compile(r"(?:\]\(|{doc}`(?:[^`<]*<)?)(?:\.\./notebooks/|notebooks/)?(\d\d)_[a-z0-9_]+(?:\.ipynb)?[)>`]")


def toc_chapters():
    """The chapter files in reading order: ['notebooks/01_linear_projection', ...]."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    part = next(p for p in toc["parts"] if p.get("caption") == "Chapters")
    return [c["file"] for c in part["chapters"]]


CHAPTERS = toc_chapters()
NUMBER_OF = {pathlib.Path(f).name: i for i, f in enumerate(CHAPTERS, start=1)}


def notebook_markdown(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [("".join(c["source"]), i) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown"]


def notebook_text(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join("".join(c["source"]) for c in nb["cells"])


def prose_documents():
    docs = [ROOT / f"{f}.ipynb" for f in CHAPTERS]
    docs += sorted((ROOT / "book").glob("*.md"))
    return docs


def paragraphs(text):
    """Split markdown into paragraphs, dropping fenced code blocks (code may say anything)."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()]


@pytest.mark.parametrize("position,file", list(enumerate(CHAPTERS, start=1)), ids=CHAPTERS)
def test_file_prefix_and_title_match_the_toc(position, file):
    path = ROOT / f"{file}.ipynb"
    assert path.exists(), f"{file} is in _toc.yml but {path.name} does not exist"
    prefix = int(pathlib.Path(file).name[:2])
    assert prefix == position, f"{file} is chapter {position} in _toc.yml but its file name says {prefix:02d}"
    first = notebook_markdown(path)[0][0].splitlines()[0]
    title = re.match(r"# (\d+)\. ", first)
    assert title and int(title.group(1)) == position, \
        f"{path.name}: the title {first!r} should start with '# {position}. ' (its place in _toc.yml)"


@pytest.mark.parametrize("path", prose_documents(), ids=lambda p: p.name)
def test_typed_chapter_numbers_are_linked_to_that_chapter(path):
    if path.suffix == ".ipynb":
        chunks = [(text, f"cell {i}") for text, i in notebook_markdown(path)]
    else:
        chunks = [(path.read_text(encoding="utf-8"), "")]
    problems = []
    for text, where in chunks:
        for para in paragraphs(text):
            if re.match(r"#\s*\d+\.\s", para):  # the title; checked against the TOC above
                para = para.split("\n", 1)[1] if "\n" in para else ""
            linked = {int(n) for n in LINK.findall(para)}
            for mention in MENTION.finditer(para):
                for n in (int(x) for x in NUMBER.findall(mention.group(1))):
                    if n not in linked:
                        problems.append(f"{where}: '{mention.group(0)}' has no link to chapter {n}'s file "
                                        f"in the same paragraph: ...{para[max(0, mention.start() - 40):mention.end() + 40]!r}...")
            for n in linked:
                assert 1 <= n <= len(CHAPTERS), f"{path.name} {where}: a link to chapter {n}, which _toc.yml does not have"
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def _docstring_mentions():
    """(module file, name, chapter numbers) for every docstring in src/helpers that names chapters."""
    out = []
    for py in sorted((ROOT / "src" / "helpers").rglob("*.py")):
        tree = ast.parse(py.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                doc = ast.get_docstring(node) or ""
                numbers = {int(n) for m in MENTION.finditer(doc) for n in NUMBER.findall(m.group(1))}
                if numbers:
                    out.append((py.relative_to(ROOT).as_posix(), node.name, sorted(numbers)))
    return out


@pytest.mark.parametrize("module,name,numbers", _docstring_mentions(), ids=lambda v: str(v))
def test_helper_docstrings_name_a_chapter_that_uses_them(module, name, numbers):
    """'Taught in chapter N' must point at a chapter whose notebook uses the function (or its class)."""
    texts = {n: notebook_text(ROOT / f"{CHAPTERS[n - 1]}.ipynb") for n in numbers if 1 <= n <= len(CHAPTERS)}
    missing = [n for n in numbers if n not in texts]
    assert not missing, f"{module}:{name} names chapter(s) {missing}, which _toc.yml does not have"
    if not any(re.search(rf"\b{re.escape(name)}\b", t) for t in texts.values()):
        where = ", ".join(f"{n} ({pathlib.Path(CHAPTERS[n - 1]).name})" for n in numbers)
        pytest.fail(f"{module}:{name} says it belongs to chapter(s) {where}, but none of those notebooks uses {name}")
