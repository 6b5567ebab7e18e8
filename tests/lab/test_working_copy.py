"""make lab works on a copy, my-notebooks/, that it never overwrites, and needs only Python."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import working_copy  # noqa: E402


@pytest.fixture
def course(tmp_path):
    source = tmp_path / "notebooks"
    source.mkdir()
    for name in ("01_a.ipynb", "02_b.ipynb"):
        (source / name).write_text(f'{{"course": "{name}"}}')
    return source, tmp_path / "my-notebooks"


def test_first_use_copies_every_notebook(course, capsys):
    source, target = course
    working_copy.main(str(source), str(target))
    assert sorted(p.name for p in target.iterdir()) == ["01_a.ipynb", "02_b.ipynb"]
    assert (target / "01_a.ipynb").read_text() == (source / "01_a.ipynb").read_text()
    assert "Copied the 2 notebooks" in capsys.readouterr().out


def test_a_learners_notebook_is_never_overwritten(course, capsys):
    source, target = course
    working_copy.main(str(source), str(target))
    (target / "01_a.ipynb").write_text("my answers")
    (source / "01_a.ipynb").write_text("a newer course version")
    working_copy.main(str(source), str(target))
    assert (target / "01_a.ipynb").read_text() == "my answers"
    assert "nothing was copied or overwritten" in capsys.readouterr().out


def test_later_runs_copy_only_missing_notebooks_and_say_so(course, capsys):
    source, target = course
    working_copy.main(str(source), str(target))
    (target / "02_b.ipynb").unlink()                       # the learner starts chapter 2 afresh
    (source / "03_c.ipynb").write_text('{"course": "new chapter"}')
    (target / "01_a.ipynb").write_text("my answers")
    capsys.readouterr()
    working_copy.main(str(source), str(target))
    out = capsys.readouterr().out
    assert "Copied the 2 missing: 02_b.ipynb, 03_c.ipynb" in out
    assert (target / "01_a.ipynb").read_text() == "my answers"
    assert (target / "03_c.ipynb").read_text() == '{"course": "new chapter"}'


def test_an_empty_source_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no notebooks"):
        working_copy.copy_missing(tmp_path / "empty", tmp_path / "copy")


def test_the_working_copy_is_ignored_by_git():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(["git", "check-ignore", "-q", "my-notebooks/01_linear_projection.ipynb"], cwd=ROOT)
    assert result.returncode == 0, "my-notebooks/ is not in .gitignore"


def test_make_lab_needs_only_the_python_setup():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    plan = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = plan.splitlines()
    for needless in ("npm", "chromium", "apt-get", "stage_assets"):
        assert needless not in plan, f"make lab would run {needless}:\n{plan}"
    copy = next(i for i, line in enumerate(lines) if "scripts/working_copy.py notebooks my-notebooks" in line)
    lab = next(i for i, line in enumerate(lines) if "jupyter lab" in line)
    assert copy < lab and lines[lab].rstrip().endswith("my-notebooks"), plan
    assert ("--allow-root" in lines[lab]) == (os.geteuid() == 0), lines[lab]
