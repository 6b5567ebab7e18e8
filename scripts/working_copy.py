"""Copy the course notebooks to the learner's own folder, never overwriting a notebook already there.

Usage: python scripts/working_copy.py [SOURCE [TARGET]]     (default: notebooks my-notebooks)

`make lab` runs this, then opens TARGET in JupyterLab. The learner's answers are saved in TARGET,
which git ignores, so the tracked notebooks (and the outputs nbval compares) never change. On later
runs only the notebooks missing from TARGET are copied: a new chapter, or one the learner deleted
to start it afresh.
"""

import shutil
import sys
from pathlib import Path


def copy_missing(source, target):
    """Copy every ``*.ipynb`` of ``source`` that ``target`` lacks. Returns (copied, kept) file names."""
    source, target = Path(source), Path(target)
    names = sorted(p.name for p in source.glob("*.ipynb"))
    if not names:
        raise SystemExit(f"no notebooks in {source}/")
    target.mkdir(exist_ok=True)
    copied, kept = [], []
    for name in names:
        if (target / name).exists():
            kept.append(name)
        else:
            shutil.copyfile(source / name, target / name)
            copied.append(name)
    return copied, kept


def main(source="notebooks", target="my-notebooks"):
    copied, kept = copy_missing(source, target)
    if not kept:
        print(f"Copied the {len(copied)} notebooks of the course to {target}/. Work there: your answers are "
              f"saved in {target}/, which git ignores, and {source}/ stays as the course ships it.")
    elif copied:
        print(f"{target}/ already holds {len(kept)} of the notebooks; they stay as you left them. "
              f"Copied the {len(copied)} missing: {', '.join(copied)}.")
    else:
        print(f"{target}/ already holds all {len(kept)} notebooks; nothing was copied or overwritten. "
              f"To start a chapter afresh, delete its file in {target}/ and run make lab again.")


if __name__ == "__main__":
    main(*sys.argv[1:3])
