"""The course kit works for a reader: unpack it, follow its README, run a notebook.

`make kit-test` runs this after the book tests. It makes the kit with
scripts/make_kit.py (the same function the book build uses), unpacks it into a
temporary folder, runs the README's commands one by one in a fresh venv (pip's
cache and the machine's wheel folder make the install quick), and instead of
the README's last line, `jupyter lab notebooks`, runs one notebook of the kit
under nbval in strict mode. It takes one to three minutes.
"""
import importlib.util
import os
import pathlib
import shlex
import subprocess
import time
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOTEBOOK = "notebooks/02_dot_products_softmax.ipynb"


def _make_kit_module():
    spec = importlib.util.spec_from_file_location("make_kit", ROOT / "scripts" / "make_kit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_kit = _make_kit_module()


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    out = make_kit.make_kit(tmp_path_factory.mktemp("zip") / "qkv-course-kit.zip")
    unpacked = tmp_path_factory.mktemp("reader")
    with zipfile.ZipFile(out) as zf:
        zf.extractall(unpacked)
    return unpacked / make_kit.NAME


def readme_commands(readme):
    """The README's indented lines: the commands a reader types."""
    return [line.strip() for line in readme.splitlines() if line.startswith("    ")]


def test_kit_holds_what_a_reader_needs(kit):
    names = {p.relative_to(kit).as_posix() for p in kit.rglob("*") if p.is_file()}
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    for needed in ["README.md", "pyproject.toml", "requirements.txt", "requirements-models.txt",
                   "src/helpers/__init__.py", "tests/reference/minilm_layer0.npz",
                   "tests/reference/smollm2_layer0.npz", *(f"notebooks/{n}" for n in notebooks)]:
        assert needed in names, f"the kit lacks {needed}"
    assert not any("__pycache__" in n for n in names), "the kit holds __pycache__ files"
    readme = (kit / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) == 5, readme


def test_kit_is_reproducible(tmp_path):
    a = make_kit.make_kit(tmp_path / "a.zip").read_bytes()
    b = make_kit.make_kit(tmp_path / "b.zip").read_bytes()
    assert a == b, "two kits made from the same files differ"


def test_readme_installs_and_a_notebook_passes_nbval(kit):
    commands = readme_commands((kit / "README.md").read_text(encoding="utf-8"))
    assert commands[0].startswith("python3 -m venv .venv"), commands
    assert commands[-1] == ".venv/bin/jupyter lab notebooks", commands
    # A clean environment: nothing from the course's own venv or sources leaks in.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(ROOT)) and "/.venv" not in p)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    for command in commands[:-1]:
        start = time.monotonic()
        run = subprocess.run(shlex.split(command), cwd=kit, env=env, capture_output=True, text=True)
        assert run.returncode == 0, f"README step failed: {command}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        print(f"{time.monotonic() - start:6.1f} s  {command}")   # shown with pytest -s
    assert (kit / ".venv" / "bin" / "jupyter").exists(), "the README's install gave no jupyter command"
    check = subprocess.run([".venv/bin/python", "-c", "import helpers, pathlib; print(pathlib.Path(helpers.__file__))"],
                           cwd=kit, env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert pathlib.Path(check.stdout.strip()).is_relative_to(kit), \
        f"the kit's venv imports helpers from {check.stdout.strip()}, not from the kit"
    start = time.monotonic()
    nbval = subprocess.run([".venv/bin/python", "-m", "pytest", "--nbval", NOTEBOOK, "-q", "-p", "no:cacheprovider"],
                           cwd=kit, env=env, capture_output=True, text=True)
    print(f"{time.monotonic() - start:6.1f} s  pytest --nbval {NOTEBOOK}")
    assert nbval.returncode == 0, f"nbval failed in the kit:\n{nbval.stdout[-4000:]}\n{nbval.stderr[-2000:]}"
    assert " passed" in nbval.stdout and "failed" not in nbval.stdout, nbval.stdout[-2000:]
