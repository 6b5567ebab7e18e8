"""Execute notebooks top to bottom and save them with their outputs.

Usage: python scripts/run_notebooks.py notebooks/01_linear_projection.ipynb [...]

Each notebook runs in a fresh python3 kernel with its own folder as the working
directory. The widget state is stored in the notebook's metadata, which is what
lets the static HTML book show working widgets. Cell timing metadata is not
recorded, so a re-run only changes what really changed. nbval then compares
fresh runs against exactly these stored outputs.
"""
import pathlib
import sys

import nbformat
from nbclient import NotebookClient


def run(path):
    path = pathlib.Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=600, store_widget_state=True,
                            record_timing=False, resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(nb, path)
    print(f"executed and saved {path}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for arg in sys.argv[1:]:
        run(arg)
