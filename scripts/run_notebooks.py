"""Execute notebooks top to bottom and save them with their outputs, without widget state.

Usage: python scripts/run_notebooks.py notebooks/01_linear_projection.ipynb [...]
       python scripts/run_notebooks.py --strip-only notebooks/*.ipynb

Each notebook runs in a fresh python3 kernel with its own folder as the working
directory. Cell timing metadata is not recorded, so a re-run only changes what
really changed. nbval then compares fresh runs against exactly these stored
outputs.

The widget state (the notebook's ``metadata.widgets``, 0.4 to 1.9 MB of
pre-rendered PNG frames per chapter) is not stored: the book executes every
notebook again when it is built and gets its widgets from that run, and nbval
does not compare widget outputs. ``--strip-only`` removes it from notebooks
without executing them, leaving every cell and output as it was.
"""
import argparse
import pathlib

import nbformat

WIDGET_STATE = "widgets"   # the notebook metadata key that holds the widget state


def strip_widget_state(nb):
    """Remove the stored widget state from a notebook node; return True if it had any."""
    return nb.metadata.pop(WIDGET_STATE, None) is not None


def run(path):
    from nbclient import NotebookClient

    path = pathlib.Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=600, store_widget_state=False,
                            record_timing=False, resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    strip_widget_state(nb)
    nbformat.write(nb, path)
    print(f"executed and saved {path}")


def strip(path):
    path = pathlib.Path(path)
    nb = nbformat.read(path, as_version=4)
    before = path.stat().st_size
    if strip_widget_state(nb):
        nbformat.write(nb, path)
        print(f"stripped the widget state of {path}: {before:,} -> {path.stat().st_size:,} bytes")
    else:
        print(f"{path} has no widget state")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--strip-only", action="store_true",
                        help="only remove the widget state; do not execute")
    args = parser.parse_args()
    for notebook in args.notebooks:
        (strip if args.strip_only else run)(notebook)


if __name__ == "__main__":
    main()
