"""Rewrite the markdown cells of the course notebooks so that they read well in JupyterLab too.

Usage: python scripts/lab_markdown.py [NOTEBOOK ...]     (default: notebooks/*.ipynb)

JupyterLab renders MyST with jupyterlab-myst; the book renders it with MyST-NB. A few constructs
differ, and this script moves the notebooks to forms that work in both:

* A solution is a ``:::{dropdown} Solution`` directive in a markdown cell of its own. It was a
  ``<details>`` block sharing a cell with the next exercise's statement, so a double-click on the
  statement showed the solution's source.
* ``{doc}`04_scaled_dot_product_attention` `` becomes ``[](04_scaled_dot_product_attention.ipynb)``.
  The book shows the chapter's title either way; JupyterLab shows the file name, as a link that
  opens the notebook (a ``{doc}`` link opened nothing there).
* jupyterlab-myst cannot read files, so it drops ``{literalinclude}`` without a trace. A line in
  italics above each one names the file, and how to print the source in a running notebook.
* A line above each widget cell says that it draws its pictures when run.

Only markdown cells change, and code cells and their outputs are left as they are. Running the
script again changes nothing, so it can be rerun after the notebooks are re-executed or merged.
"""

import hashlib
import importlib
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent

# --- solutions -------------------------------------------------------------------------------
DETAILS = re.compile(r"<details>\s*<summary>\s*(?P<title>[^<]*?)\s*</summary>\s*\n(?P<body>.*?)\n\s*</details>",
                     re.DOTALL)


def dropdown(title, body):
    """A collapsed MyST dropdown: ``:::`` fences, so the ``` code fences inside need no counting."""
    return f":::{{dropdown}} {title}\n{body.strip()}\n:::"


def new_id(cell_id, part):
    """A stable id for a cell split off ``cell_id``: rerunning the script gives the same ids."""
    return hashlib.sha1(f"{cell_id}/{part}".encode()).hexdigest()[:8]


def split_solutions(cells):
    """Give every ``<details>`` block a dropdown cell of its own. Returns (cells, number converted)."""
    out, converted = [], 0
    for cell in cells:
        text = cell.source if cell.cell_type == "markdown" else ""
        if not DETAILS.search(text):
            out.append(cell)
            continue
        pieces, position = [], 0
        for m in DETAILS.finditer(text):
            pieces.append(text[position:m.start()])
            pieces.append(dropdown(m["title"], m["body"]))
            position = m.end()
            converted += 1
        pieces.append(text[position:])
        pieces = [p.strip("\n") for p in pieces if p.strip()]
        for k, piece in enumerate(pieces):
            part = nbformat.v4.new_markdown_cell(piece)
            part.id = cell.id if k == 0 else new_id(cell.id, k)
            part.metadata = dict(cell.metadata) if k == 0 else {}
            out.append(part)
    return out, converted


# --- {doc} links -----------------------------------------------------------------------------
DOC = re.compile(r"\{doc\}`(?:(?P<text>[^`<]*?)\s*<(?P<target>[^`>]+)>|(?P<bare>[^`]+))`")


def doc_to_link(match, folder):
    target = match["target"] or match["bare"]
    for suffix in (".ipynb", ".md"):
        if (folder / (target + suffix)).is_file():
            return f"[{match['text'] or ''}]({target}{suffix})"
    raise SystemExit(f"{{doc}}`{target}` names no notebook or page next to {folder}")


# --- literalinclude ---------------------------------------------------------------------------
INCLUDE = re.compile(r"(?P<lead>\n*)(?P<fence>```\{literalinclude\} (?P<path>\S+)\n(?P<options>(?::[^\n]*\n)*)```)")
POINTER = "*From `"   # how every line this script writes above a literalinclude starts


def pointer_line(path, options):
    """The line above a literalinclude: the file, and for a helper the ``??`` that prints it."""
    source = Path(path).as_posix().removeprefix("../")
    obj = re.search(r"^:pyobject: (\S+)", options, re.MULTILINE)
    partial = re.search(r"^:(start-at|start-after|end-at|end-before|lines):", options, re.MULTILINE)
    if not source.startswith("src/helpers/") or not obj:
        return f"{POINTER}{source}`.*"        # a test file, or lines that are not one object
    module = "helpers." + Path(source).stem
    name = f"{module}.{obj[1]}"
    importlib.import_module(module)                 # fails loudly if the pointer would be wrong
    whole = "the whole function" if partial else "its source"
    return f"{POINTER}{source}`. In a running notebook, `{name}??` in a cell prints {whole}.*"


def add_pointers(text):
    """Put the pointer line above every literalinclude that has none. Returns (text, number added)."""
    added = 0

    def one(m):
        nonlocal added
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if before.startswith(POINTER):
            return m.group(0)
        added += 1
        lead = m["lead"] if m.start() > 0 else ""
        return f"{lead}{pointer_line(m['path'], m['options'])}\n\n{m['fence']}"

    return INCLUDE.sub(one, text), added


# --- widgets ---------------------------------------------------------------------------------
WIDGET_MARK = "takes a few seconds"     # every widget note says this; the script adds none where it is
WIDGET_NOTE = ("When you run the next cell, it draws every picture of the widget before showing it, "
               f"which {WIDGET_MARK}.")
WIDGET_NOTE_AFTER = f"When you run the next cell, drawing them {WIDGET_MARK}."   # after "...drawn in advance..."


def is_widget_cell(cell):
    return cell.cell_type == "code" and re.search(r"^[^#\n]*precomputed_widget\(", cell.source, re.MULTILINE)


def with_widget_note(text):
    """``text`` with the widget note at the end, or before a last paragraph that leads into the code."""
    *first, last = text.rstrip("\n").split("\n\n")
    if "drawn in advance" in last and last.endswith("without Python."):
        last = f"{last} {WIDGET_NOTE_AFTER}"
    elif last.endswith(":"):
        last = f"{WIDGET_NOTE}\n\n{last}"
    else:
        last = f"{last}\n\n{WIDGET_NOTE}"
    return "\n\n".join(first + [last])


def add_widget_notes(cells):
    """Say above every widget cell that it takes a few seconds. Returns (cells, number added)."""
    out, added = [], 0
    for cell in cells:
        if is_widget_cell(cell):
            above = out[-1] if out else None
            if above is not None and above.cell_type == "markdown":
                if WIDGET_MARK not in above.source:
                    above.source = with_widget_note(above.source)
                    added += 1
            else:
                note = nbformat.v4.new_markdown_cell(WIDGET_NOTE)
                note.id = new_id(cell.id, "widget-note")
                out.append(note)
                added += 1
        out.append(cell)
    return out, added


def convert(path):
    nb = nbformat.read(path, as_version=4)
    counts = {}
    nb.cells, counts["solutions"] = split_solutions(nb.cells)
    counts["doc links"] = counts["source pointers"] = 0
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        cell.source, n = DOC.subn(lambda m: doc_to_link(m, Path(path).parent), cell.source)
        counts["doc links"] += n
        cell.source, n = add_pointers(cell.source)
        counts["source pointers"] += n
    nb.cells, counts["widget notes"] = add_widget_notes(nb.cells)
    if any(counts.values()):
        nbformat.write(nb, path)
    return counts


def main(paths):
    sys.path.insert(0, str(ROOT / "src"))
    paths = paths or sorted(str(p) for p in (ROOT / "notebooks").glob("*.ipynb"))
    for path in paths:
        counts = convert(path)
        print(f"{Path(path).name}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


if __name__ == "__main__":
    main(sys.argv[1:])
