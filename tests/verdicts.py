"""Shared by the tests of the exercise checks (tests/test_exercises*.py)."""
import html

from helpers import exercises


def run(capsys, check, *args, **kwargs):
    """Call a check; return (True/False, its one-line message). It must print nothing itself."""
    result = check(*args, **kwargs)
    assert capsys.readouterr().out == "", "a check shows its message as its value, it does not print"
    assert isinstance(result, exercises.Verdict)
    lines = repr(result).splitlines()
    assert len(lines) == 1, f"expected a one-line message, got {lines}"
    assert html.escape(lines[0]) in result._repr_html_(), "the HTML form shows the same message"
    return bool(result), lines[0]
