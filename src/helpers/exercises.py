"""Check functions for the exercises in the notebooks.

Each ``check_*`` function takes the learner's answer (and the data of the
exercise) and returns a :class:`Verdict`: true or false, shown in the notebook
as one line of text, when the check is the last line of a cell:

* ``"Correct: ..."`` when the answer is right;
* ``"Not attempted yet: ..."`` when the stub still holds ``None``;
* otherwise a specific explanation of what is wrong, e.g. a shape mismatch
  and the likely cause.

They never raise on a wrong answer, and they are deterministic. The expected
answers come from the math helpers (``helpers.linear`` and friends), so the
checks and the book cannot disagree. The functions are grouped by topic, not
by chapter, so later chapters reuse them.
"""

import numbers

import numpy as np

from .projections import linear

__all__ = [
    "Verdict",
    "check_linear_output",
    "check_row_layout_weight",
    "check_linear_param_count",
    "check_qkv_param_count",
    "check_null_vector",
]

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


def _report(ok, message):
    return Verdict(ok, message)


def _as_array(answer, name):
    """Return ``(array, None)``, or ``(None, message)`` if ``answer`` is not a real-valued array."""
    try:
        a = np.asarray(answer)
    except Exception as error:  # e.g. a ragged nested list
        return None, f"{name} could not be turned into a numpy array ({type(error).__name__}): return an array."
    if a.dtype.kind not in "biuf":
        return None, f"{name} should be a numpy array of numbers, but it is a {type(answer).__name__} of dtype {a.dtype}."
    a = a.astype(float)
    if not np.all(np.isfinite(a)):
        return None, f"{name} contains NaN or inf: check your arithmetic."
    return a, None


def _close(a, b):
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------- projections

def check_linear_output(y, x, w, b=None):
    """Check ``y = x @ w + b`` for a sequence of tokens ``x`` of shape (T, d_in).

    Parameters
    ----------
    y : array_like or None
        The learner's answer, expected shape (T, d_out).
    x : array_like, shape (T, d_in)
    w : array_like, shape (d_in, d_out)
    b : array_like, shape (d_out,), optional

    Returns
    -------
    Verdict
        Truthy if ``y`` matches :func:`helpers.linear` ``(x, w, b)``.

    Used in Chapter 1.
    """
    if y is None:
        return _report(False, NOT_ATTEMPTED)
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    expected = linear(x, w, b)
    y, problem = _as_array(y, "y")
    if problem:
        return _report(False, problem)
    if y.shape != expected.shape:
        hint = ""
        if y.shape == expected.T.shape:
            hint = (": you have one column per token. The course uses rows for tokens, "
                    "so compute x @ W (not W.T @ x.T)")
        elif y.shape == x.shape:
            hint = ": that is the shape of x, so the projection was not applied (did you multiply by W?)"
        elif y.ndim == 1:
            hint = ": you have a single vector; project every row of x at once with x @ W"
        return _report(False, f"y has shape {y.shape} but expected {expected.shape}{hint}.")
    if _close(y, expected):
        return _report(True, f"Correct: y = x @ W + b has shape {expected.shape}, one row of d_out={expected.shape[-1]} numbers per token.")
    if b is not None:
        b = np.asarray(b, dtype=float)
        if _close(y, x @ w):
            return _report(False, "y equals x @ W without the bias: add b (it broadcasts over the rows).")
        if _close(y, x @ w - b):
            return _report(False, "y equals x @ W - b: add the bias, don't subtract it.")
        if _close(y, x @ w + 2 * b):
            return _report(False, "y has the bias added twice: add b once.")
    if x.shape[-1] == w.shape[1] and _close(y, linear(x, w.T, b)):
        return _report(False, "y equals x @ W.T: W already has the course layout (d_in, d_out), so don't transpose it.")
    diff = np.abs(y - expected)
    row = int(np.unravel_index(np.argmax(diff), diff.shape)[0])
    return _report(False, f"y has the right shape {expected.shape} but wrong values: row {row} is off by up to "
                          f"{diff[row].max():.3g}; row t should be x[t] @ W + b.")


def check_row_layout_weight(w, weight):
    """Check that ``w`` is a PyTorch-layout ``weight`` (d_out, d_in) converted to the course layout (d_in, d_out).

    ``nn.Linear(d_in, d_out).weight`` has shape (d_out, d_in) and computes
    ``x @ weight.T + bias``; the course's ``w`` is ``weight.T``.

    Parameters
    ----------
    w : array_like or None
        The learner's answer, expected shape (d_in, d_out).
    weight : array_like, shape (d_out, d_in)
        The weight as PyTorch stores it.

    Returns
    -------
    Verdict
        Truthy when the answer is right; displayed as its one-line message.

    Used in Chapters 1 and 7.
    """
    if w is None:
        return _report(False, NOT_ATTEMPTED)
    weight = np.asarray(weight, dtype=float)
    d_out, d_in = weight.shape
    expected = weight.T
    w, problem = _as_array(w, "W")
    if problem:
        return _report(False, problem)
    if _close(w, expected):
        return _report(True, f"Correct: W = weight.T has shape (d_in, d_out) = {expected.shape}, so y = x @ W.")
    if w.shape == weight.shape and _close(w, weight) and d_in != d_out:
        return _report(False, f"W has shape {w.shape}, the PyTorch layout (d_out, d_in): did you forget the transpose? "
                              f"Expected (d_in, d_out) = {expected.shape}.")
    if w.shape == weight.shape and _close(w, weight):
        return _report(False, "W is still weight, unchanged: it is square, so no error would warn you, "
                              "but x @ weight gives the wrong numbers. Transpose it (weight.T).")
    if w.shape == expected.shape and _close(w, weight.reshape(expected.shape)):
        return _report(False, f"W has the right shape {expected.shape} but you reshaped instead of transposing: "
                              "reshape keeps the order of the numbers in memory, so they land in the wrong places. Use weight.T.")
    if w.shape != expected.shape:
        return _report(False, f"W has shape {w.shape} but expected (d_in, d_out) = {expected.shape}.")
    return _report(False, f"W has the right shape {expected.shape} but different numbers from weight.T: "
                          "only transpose, don't change any values.")


# ---------------------------------------------------------------- parameter counts

def _count_problem(count, name):
    if count is None:
        return NOT_ATTEMPTED
    if isinstance(count, bool) or not isinstance(count, numbers.Real):
        return f"{name} should be a single number (an int), but it is a {type(count).__name__}."
    if int(count) != count:
        return f"{name} = {count} is not a whole number: parameters come in whole numbers."
    return None


def _linear_count(d_in, d_out, bias):
    """Weights d_in * d_out, plus d_out biases when there is a bias."""
    return d_in * d_out + (d_out if bias else 0)


def check_linear_param_count(count, d_in, d_out, bias=True):
    """Check the number of parameters of one linear layer ``d_in -> d_out``.

    Parameters
    ----------
    count : int or None
        The learner's answer.
    d_in, d_out : int
    bias : bool
        Whether the layer has a bias vector.

    Returns
    -------
    Verdict
        Truthy when the answer is right; displayed as its one-line message.

    Used in Chapters 1 and 6.
    """
    problem = _count_problem(count, "count")
    if problem:
        return _report(False, problem)
    count = int(count)
    expected = _linear_count(d_in, d_out, bias)
    if count == expected:
        extra = f" + {d_out} (bias)" if bias else ""
        return _report(True, f"Correct: {d_in} x {d_out} (weights){extra} = {expected:,} parameters.")
    if bias and count == d_in * d_out:
        return _report(False, f"{count:,} counts the weights only: add the bias, d_out = {d_out} more numbers.")
    if bias and count == d_in * d_out + d_in:
        return _report(False, f"{count:,} adds d_in biases, but there is one bias per output: add d_out = {d_out}.")
    if not bias and count == d_in * d_out + d_out:
        return _report(False, f"{count:,} includes a bias, but this layer has none: count only the weights.")
    if count in (d_in + d_out, d_in + d_out + d_out):
        return _report(False, f"{count:,} adds the sizes; the weight matrix has d_in x d_out entries, so multiply them.")
    return _report(False, f"{count:,} is not right: expected d_in * d_out{' + d_out' if bias else ''}.")


def check_qkv_param_count(count, d_model, bias=True):
    """Check the total number of parameters of q_proj, k_proj and v_proj, each ``d_model -> d_model``.

    Parameters
    ----------
    count : int or None
        The learner's answer.
    d_model : int
    bias : bool
        Whether each projection has a bias vector.

    Returns
    -------
    Verdict
        Truthy when the answer is right; displayed as its one-line message.

    Used in Chapters 1 and 6.
    """
    problem = _count_problem(count, "n_qkv")
    if problem:
        return _report(False, problem)
    count = int(count)
    one = _linear_count(d_model, d_model, bias)
    expected = 3 * one
    if count == expected:
        return _report(True, f"Correct: 3 x ({d_model} x {d_model}{f' + {d_model}' if bias else ''}) = {expected:,} parameters.")
    if count == one:
        return _report(False, f"{count:,} is one projection: q_proj, k_proj and v_proj are three, so multiply by 3.")
    if bias and count == 3 * d_model * d_model:
        return _report(False, f"{count:,} counts the weights only: each of the three projections also has a bias of {d_model} numbers.")
    if bias and count == 3 * d_model * d_model + d_model:
        return _report(False, f"{count:,} has one bias, but each of the three projections has its own: 3 biases of {d_model}.")
    if not bias and count == 3 * (d_model * d_model + d_model):
        return _report(False, f"{count:,} includes biases, but these projections have none: count only the weights.")
    if count == 4 * one:
        return _report(False, f"{count:,} counts four projections: leave out the output projection o_proj, count q, k and v only.")
    if count == 3 * d_model:
        return _report(False, f"{count:,} is 3 x d_model: each weight matrix has d_model x d_model entries, not d_model.")
    return _report(False, f"{count:,} is not right: each projection has d_model * d_model weights"
                          f"{' + d_model biases' if bias else ''}, and there are three.")


# ---------------------------------------------------------------- rank and null space

def check_null_vector(x, w):
    """Check that ``x`` is a nonzero input with ``x @ w == 0`` (a null-space direction of ``w``).

    Parameters
    ----------
    x : array_like or None
        The learner's answer, shape (d_in,).
    w : array_like, shape (d_in, d_out)
        A rank-deficient weight matrix.

    Returns
    -------
    Verdict
        Truthy when the answer is right; displayed as its one-line message.

    Used in Chapter 1.
    """
    if x is None:
        return _report(False, NOT_ATTEMPTED)
    w = np.asarray(w, dtype=float)
    d_in = w.shape[0]
    x, problem = _as_array(x, "x")
    if problem:
        return _report(False, problem)
    if x.shape != (d_in,):
        return _report(False, f"x has shape {x.shape} but expected (d_in,) = ({d_in},): one input vector.")
    size = float(np.linalg.norm(x))
    if size < 1e-9:
        return _report(False, "x is all zeros: every W maps 0 to 0. Find a nonzero x.")
    y = linear(x, w)
    if np.linalg.norm(y) <= 1e-8 * size * max(1.0, float(np.linalg.norm(w))):
        return _report(True, f"Correct: x = {np.round(x, 4).tolist()} is not zero, yet x @ W = 0: W cannot tell x from 0.")
    return _report(False, f"x @ W = {np.round(y, 4).tolist()}, not zero: look for x whose dot product with every column of W is 0.")
