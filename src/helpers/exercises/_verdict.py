"""What every exercise check shares: the Verdict it returns and small answer-parsing utilities."""

import numpy as np

__all__ = ["Verdict", "NOT_ATTEMPTED", "report", "as_answer_array", "close", "shape_mismatch", "ONE_COLUMN_PER_QUERY", "rows_sum_problem"]

NOT_ATTEMPTED = "Not attempted yet: replace None with your answer and run the cell again."

#: The hint for an attention output laid out (d_v, T): a column per query instead of a row.
ONE_COLUMN_PER_QUERY = ": one column per query; compute weights @ v (not v.T @ weights.T)"


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


def shape_mismatch(name, shape, expected, letters, hints=()):
    """The message for an answer of the wrong shape.

    ``letters`` names the expected shape in the book's letters, e.g. "(T, S)";
    ``hints`` is a sequence of ``(wrong_shape, explanation)``: the first one
    whose shape matches is appended, so a known mistake gets its own advice.
    """
    hint = next((text for wrong, text in hints if tuple(shape) == tuple(wrong)), "")
    return f"{name} has shape {shape} but expected {letters} = {expected}{hint}."


def rows_sum_problem(weights):
    """A message if the rows of attention ``weights`` do not sum to 1, else None."""
    sums = weights.sum(axis=-1)
    if np.allclose(sums, 1.0):
        return None
    return (f"the rows of weights sum to {np.round(sums, 4).tolist()}, not 1: "
            "apply softmax along the key axis (axis=-1).")
