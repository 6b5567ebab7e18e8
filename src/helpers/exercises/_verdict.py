"""What every exercise check shares: the Verdict it returns and small answer-parsing utilities."""

import numpy as np

__all__ = ["Verdict", "NOT_ATTEMPTED", "report", "as_answer_array", "close"]

NOT_ATTEMPTED = "Not attempted yet: replace None with your answer and run the cell again."


class Verdict:
    """The outcome of a check: truthy when the answer is right, displayed as its message.

    Returning an object (rather than printing and returning a bool) makes a
    check cell show exactly one line, ``Correct: ...`` or what is wrong,
    instead of the message followed by ``True`` or ``False``.
    """

    def __init__(self, ok, message):
        self.ok = bool(ok)
        self.message = message

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return self.message


def report(ok, message):
    return Verdict(ok, message)


def as_answer_array(answer, name, *, finite=True):
    """Return ``(array, None)``, or ``(None, message)`` if ``answer`` is not a real-valued array.

    With ``finite=False``, NaN and inf are kept (for checks that diagnose them).
    """
    try:
        a = np.asarray(answer)
    except Exception as error:  # e.g. a ragged nested list
        return None, f"{name} could not be turned into a numpy array ({type(error).__name__}): return an array."
    if a.dtype.kind not in "biuf":
        return None, f"{name} should be a numpy array of numbers, but it is a {type(answer).__name__} of dtype {a.dtype}."
    a = a.astype(float)
    if finite and not np.all(np.isfinite(a)):
        return None, f"{name} contains NaN or inf: check your arithmetic."
    return a, None


def close(a, b):
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=1e-8)
