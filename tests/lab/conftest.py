"""tests/lab drives a live JupyterLab in Chromium: `make lab-test`, after the book tests in `make test`.

`make unit` runs `pytest tests`, which would start that server too; so the live test is left out of
any run that does not name tests/lab (or a file in it) on the command line.
"""
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _named(config):
    for arg in config.args:
        path = Path(arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_collection_modifyitems(config, items):
    if _named(config):
        return
    live = [item for item in items if Path(str(item.path)).resolve().parent == HERE
            and item.path.name == "test_jupyterlab.py"]
    if live:
        config.hook.pytest_deselected(items=live)
        items[:] = [item for item in items if item not in live]
