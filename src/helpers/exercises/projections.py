"""Exercise checks on linear projections: outputs, weight layouts, parameter counts (chapter 1)."""

import numbers

import numpy as np

from ..projections import linear
from ._verdict import NOT_ATTEMPTED, as_answer_array, close, report

__all__ = ["check_linear_output", "check_row_layout_weight", "check_linear_param_count", "check_qkv_param_count", "check_null_vector"]


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
        return report(False, NOT_ATTEMPTED)
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    expected = linear(x, w, b)
    y, problem = as_answer_array(y, "y")
    if problem:
        return report(False, problem)
    if y.shape != expected.shape:
        hint = ""
        if y.shape == expected.T.shape:
            hint = (": you have one column per token. The course uses rows for tokens, "
                    "so compute x @ W (not W.T @ x.T)")
        elif y.shape == x.shape:
            hint = ": that is the shape of x, so the projection was not applied (did you multiply by W?)"
        elif y.ndim == 1:
            hint = ": you have a single vector; project every row of x at once with x @ W"
        return report(False, f"y has shape {y.shape} but expected {expected.shape}{hint}.")
    if close(y, expected):
        return report(True, f"Correct: y = x @ W + b has shape {expected.shape}, one row of d_out={expected.shape[-1]} numbers per token.")
    if b is not None:
        b = np.asarray(b, dtype=float)
        if close(y, x @ w):
            return report(False, "y equals x @ W without the bias: add b (it broadcasts over the rows).")
        if close(y, x @ w - b):
            return report(False, "y equals x @ W - b: add the bias, don't subtract it.")
        if close(y, x @ w + 2 * b):
            return report(False, "y has the bias added twice: add b once.")
    if x.shape[-1] == w.shape[1] and close(y, linear(x, w.T, b)):
        return report(False, "y equals x @ W.T: W already has the course layout (d_in, d_out), so don't transpose it.")
    diff = np.abs(y - expected)
    row = int(np.unravel_index(np.argmax(diff), diff.shape)[0])
    return report(False, f"y has the right shape {expected.shape} but wrong values: row {row} is off by up to "
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
        return report(False, NOT_ATTEMPTED)
    weight = np.asarray(weight, dtype=float)
    d_out, d_in = weight.shape
    expected = weight.T
    w, problem = as_answer_array(w, "W")
    if problem:
        return report(False, problem)
    if close(w, expected):
        return report(True, f"Correct: W = weight.T has shape (d_in, d_out) = {expected.shape}, so y = x @ W.")
    if w.shape == weight.shape and close(w, weight) and d_in != d_out:
        return report(False, f"W has shape {w.shape}, the PyTorch layout (d_out, d_in): did you forget the transpose? "
                              f"Expected (d_in, d_out) = {expected.shape}.")
    if w.shape == weight.shape and close(w, weight):
        return report(False, "W is still weight, unchanged: it is square, so no error would warn you, "
                              "but x @ weight gives the wrong numbers. Transpose it (weight.T).")
    if w.shape == expected.shape and close(w, weight.reshape(expected.shape)):
        return report(False, f"W has the right shape {expected.shape} but you reshaped instead of transposing: "
                              "reshape keeps the order of the numbers in memory, so they land in the wrong places. Use weight.T.")
    if w.shape != expected.shape:
        return report(False, f"W has shape {w.shape} but expected (d_in, d_out) = {expected.shape}.")
    return report(False, f"W has the right shape {expected.shape} but different numbers from weight.T: "
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
        return report(False, problem)
    count = int(count)
    expected = _linear_count(d_in, d_out, bias)
    if count == expected:
        extra = f" + {d_out} (bias)" if bias else ""
        return report(True, f"Correct: {d_in} x {d_out} (weights){extra} = {expected:,} parameters.")
    if bias and count == d_in * d_out:
        return report(False, f"{count:,} counts the weights only: add the bias, d_out = {d_out} more numbers.")
    if bias and count == d_in * d_out + d_in:
        return report(False, f"{count:,} adds d_in biases, but there is one bias per output: add d_out = {d_out}.")
    if not bias and count == d_in * d_out + d_out:
        return report(False, f"{count:,} includes a bias, but this layer has none: count only the weights.")
    if count in (d_in + d_out, d_in + d_out + d_out):
        return report(False, f"{count:,} adds the sizes; the weight matrix has d_in x d_out entries, so multiply them.")
    return report(False, f"{count:,} is not right: expected d_in * d_out{' + d_out' if bias else ''}.")


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
        return report(False, problem)
    count = int(count)
    one = _linear_count(d_model, d_model, bias)
    expected = 3 * one
    if count == expected:
        return report(True, f"Correct: 3 x ({d_model} x {d_model}{f' + {d_model}' if bias else ''}) = {expected:,} parameters.")
    if count == one:
        return report(False, f"{count:,} is one projection: q_proj, k_proj and v_proj are three, so multiply by 3.")
    if bias and count == 3 * d_model * d_model:
        return report(False, f"{count:,} counts the weights only: each of the three projections also has a bias of {d_model} numbers.")
    if bias and count == 3 * d_model * d_model + d_model:
        return report(False, f"{count:,} has one bias, but each of the three projections has its own: 3 biases of {d_model}.")
    if not bias and count == 3 * (d_model * d_model + d_model):
        return report(False, f"{count:,} includes biases, but these projections have none: count only the weights.")
    if count == 4 * one:
        return report(False, f"{count:,} counts four projections: leave out the output projection o_proj, count q, k and v only.")
    if count == 3 * d_model:
        return report(False, f"{count:,} is 3 x d_model: each weight matrix has d_model x d_model entries, not d_model.")
    return report(False, f"{count:,} is not right: each projection has d_model * d_model weights"
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
        return report(False, NOT_ATTEMPTED)
    w = np.asarray(w, dtype=float)
    d_in = w.shape[0]
    x, problem = as_answer_array(x, "x")
    if problem:
        return report(False, problem)
    if x.shape != (d_in,):
        return report(False, f"x has shape {x.shape} but expected (d_in,) = ({d_in},): one input vector.")
    size = float(np.linalg.norm(x))
    if size < 1e-9:
        return report(False, "x is all zeros: every W maps 0 to 0. Find a nonzero x.")
    y = linear(x, w)
    if np.linalg.norm(y) <= 1e-8 * size * max(1.0, float(np.linalg.norm(w))):
        return report(True, f"Correct: x = {np.round(x, 4).tolist()} is not zero, yet x @ W = 0: W cannot tell x from 0.")
    return report(False, f"x @ W = {np.round(y, 4).tolist()}, not zero: look for x whose dot product with every column of W is 0.")
