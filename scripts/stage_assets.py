"""Copy the pinned offline web assets from web/node_modules into build_assets/vendor.

Run by `make assets` after `npm ci --prefix web`. Sphinx then serves
build_assets/ as a static path, so the built site holds its own MathJax 3,
require.js and ipywidgets HTML manager and makes no request to another host.
"""
import pathlib
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODULES = ROOT / "web" / "node_modules"
OUT = ROOT / "build_assets" / "vendor"

COPIES = [
    (MODULES / "mathjax" / "es5", OUT / "mathjax"),
    (MODULES / "requirejs" / "require.js", OUT / "require.js"),
    (MODULES / "@jupyter-widgets" / "html-manager" / "dist", OUT / "html-manager"),
    (ROOT / "web" / "qkv-widgets-config.js", OUT / "qkv-widgets-config.js"),
    (ROOT / "web" / "qkv.css", OUT.parent / "qkv.css"),  # the book's own styles, at _static/qkv.css
    (ROOT / "web" / "qkv.js", OUT.parent / "qkv.js"),    # click a shrunk figure to see it at full size
]
SKIP = shutil.ignore_patterns("*.map", "embed.js", "embed.js.LICENSE.txt", "libembed-amd.js")


def main():
    missing = [str(src) for src, _ in COPIES if not src.exists()]
    if missing:
        sys.exit("missing web assets (run `npm ci --prefix web`): " + ", ".join(missing))
    if OUT.parent.exists():
        shutil.rmtree(OUT.parent)
    OUT.mkdir(parents=True)
    for src, dst in COPIES:
        if src.is_dir():
            shutil.copytree(src, dst, ignore=SKIP)
        else:
            shutil.copy2(src, dst)
    print(f"staged offline assets in {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
