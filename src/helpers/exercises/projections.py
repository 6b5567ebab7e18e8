"""Exercise checks on linear projections: outputs, weight layouts, parameter counts (chapter 1)."""

import numpy as np

from ..projections import linear
from ._rounded import rounded_like, too_coarse
from ._verdict import (NOT_ATTEMPTED, as_answer_array, close, exercise_check, given, number_matches, read_number,
                       report, resembles, show)

__all__ = ["check_linear_output", "check_row_layout_weight", "check_linear_param_count", "check_qkv_param_count", "check_null_vector"]


# ---------------------------------------------------------------- projections

def _linear_reference(x, w, b):
    """helpers.linear(x, w, b) as a Reference (its value from the helper, its rounding error from the sums)."""
    ref = given(x) @ given(w)
    if b is not None:
        ref = ref + given(b)
    return ref.with_value(linear(x, w, b))


@exercise_check
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
    b = None if b is None else np.asarray(b, dtype=float)
    expected = _linear_reference(x, w, b)
    y, problem = as_answer_array(y, "y")
    if problem:
        return report(False, problem)
    if y.shape != expected.shape:
        message, hint = "", None
        if y.shape == expected.value.T.shape:
            message = ": you have one column per token, but the course keeps one row per token"
            hint = "x has one row per token, and a matrix product keeps the rows of its left factor."
        elif y.shape == x.shape:
            message = ": that is the shape of x, so the projection was not applied"
            hint = f"W maps each token's d_in = {x.shape[-1]} numbers to d_out = {w.shape[-1]} numbers."
        elif y.ndim == 1:
            message = ": you have a single vector, but every token gets its own output row"
            hint = "A matrix product projects all the rows of x at once."
        return report(False, f"y has shape {y.shape} but expected {expected.shape}{message}.", hint)
    if close(y, expected) or rounded_like(y, expected):
        return report(True, f"Correct: y = x @ W + b has shape {expected.shape}, one row of d_out={expected.shape[-1]} numbers per token.")
    if too_coarse(y, expected, "y"):
        return report(False, too_coarse(y, expected, "y"))
    if b is not None:
        if resembles(y, x @ w):
            return report(False, "y equals x @ W without the bias.",
                          "b holds one number per output; numpy adds it to every row.")
        if resembles(y, x @ w - b):
            return report(False, "y equals x @ W - b: the bias is added, not subtracted.")
        if resembles(y, x @ w + 2 * b):
            return report(False, "y has the bias added twice.")
    if x.shape[-1] == w.shape[1] and resembles(y, linear(x, w.T, b)):
        return report(False, "y equals x @ W.T: W already has the course layout (d_in, d_out), so it needs no transpose.")
    diff = np.abs(y - expected.value)
    row = int(np.unravel_index(np.argmax(diff), diff.shape)[0])
    return report(False, f"y has the right shape {expected.shape} but wrong values: row {row} is off by up to "
                         f"{diff[row].max():.3g}; each row should be its token projected by W, plus the bias.",
                  "Row t is x[t] @ W + b.")


@exercise_check
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

    Used in Chapter 1.
    """
    if w is None:
        return report(False, NOT_ATTEMPTED)
    weight = np.asarray(weight, dtype=float)
    d_out, d_in = weight.shape
    expected = given(weight.T)
    w, problem = as_answer_array(w, "W")
    if problem:
        return report(False, problem)
    swap = "A transpose swaps the two axes; every number keeps its value."
    if close(w, expected):
        return report(True, f"Correct: W = weight.T has shape (d_in, d_out) = {expected.shape}, so y = x @ W.")
    if w.shape == weight.shape and resembles(w, weight) and d_in != d_out:
        return report(False, f"W has shape {w.shape}, the PyTorch layout (d_out, d_in): it still needs converting to "
                             f"the course layout (d_in, d_out) = {expected.shape}.", swap)
    if w.shape == weight.shape and resembles(w, weight):
        return report(False, "W is still weight, unchanged: it is square, so no error would warn you, "
                             "but x @ weight gives the wrong numbers. It needs the course layout (d_in, d_out).", swap)
    if w.shape == expected.shape and resembles(w, weight.reshape(expected.shape)):
        return report(False, f"W has the right shape {expected.shape} but you reshaped instead of transposing: "
                             "reshape keeps the order of the numbers in memory, so they land in the wrong places.", swap)
    if w.shape != expected.shape:
        return report(False, f"W has shape {w.shape} but expected (d_in, d_out) = {expected.shape}.")
    return report(False, f"W has the right shape {expected.shape} but different numbers from weight: "
                         "converting the layout moves the numbers, it does not change any of them.", swap)


# ---------------------------------------------------------------- parameter counts

def _linear_count(d_in, d_out, bias):
    """Weights d_in * d_out, plus d_out biases when there is a bias."""
    return d_in * d_out + (d_out if bias else 0)


@exercise_check
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

    No exercise in the book uses it at present (the linear-projection chapter
    asks for :func:`check_qkv_param_count`); it is kept for counting one layer.
    """
    if count is None:
        return report(False, NOT_ATTEMPTED)
    count, problem = read_number(count, "count", whole=True)
    if problem:
        return report(False, problem)
    expected = _linear_count(d_in, d_out, bias)
    if count == expected:
        extra = f" + {d_out} (bias)" if bias else ""
        return report(True, f"Correct: {d_in} x {d_out} (weights){extra} = {expected:,} parameters.")
    if bias and count == d_in * d_out:
        return report(False, f"{show(count)} counts the weights only: the bias adds numbers too.",
                      "A layer has one bias per output.")
    if bias and count == d_in * d_out + d_in:
        return report(False, f"{show(count)} adds d_in biases, but there is one bias per output.")
    if not bias and count == d_in * d_out + d_out:
        return report(False, f"{show(count)} includes a bias, but this layer has none: count only the weights.")
    if count in (d_in + d_out, d_in + d_out + d_out):
        return report(False, f"{show(count)} adds the sizes, but the weight matrix has a number for every pair "
                             "(input, output).")
    return report(False, f"{show(count)} is not right: count the entries of the weight matrix"
                         f"{' and of the bias' if bias else ''}.",
                  f"The weight matrix has shape (d_in, d_out) = ({d_in}, {d_out}).")


@exercise_check
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

    Used in Chapter 1.
    """
    if count is None:
        return report(False, NOT_ATTEMPTED)
    count, problem = read_number(count, "n_qkv", whole=True)
    if problem:
        return report(False, problem)
    one = _linear_count(d_model, d_model, bias)
    expected = 3 * one
    if count == expected:
        return report(True, f"Correct: 3 x ({d_model} x {d_model}{f' + {d_model}' if bias else ''}) = {expected:,} parameters.")
    if count == one:
        return report(False, f"{show(count)} is one projection: q_proj, k_proj and v_proj are three.")
    if bias and count == 3 * d_model * d_model:
        return report(False, f"{show(count)} counts the weights only: each of the three projections also has a bias "
                             f"of {d_model} numbers.")
    if bias and count == 3 * d_model * d_model + d_model:
        return report(False, f"{show(count)} has one bias, but each of the three projections has its own.")
    if not bias and count == 3 * (d_model * d_model + d_model):
        return report(False, f"{show(count)} includes biases, but these projections have none: count only the weights.")
    if count == 4 * one:
        return report(False, f"{show(count)} counts four projections: the output projection o_proj is not one of "
                             "q, k and v.")
    if count == 3 * d_model:
        return report(False, f"{show(count)} is 3 x d_model: a weight matrix holds a number for every pair "
                             "(input, output), not one per output.")
    return report(False, f"{show(count)} is not right: count each projection's weights"
                         f"{' and bias' if bias else ''}, and there are three projections.",
                  f"Each weight matrix is d_model x d_model = {d_model} x {d_model}.")


# ---------------------------------------------------------------- rank and null space

@exercise_check
def check_null_vector(x, w):
    """Check that ``x`` is a nonzero input with ``x @ w == 0`` (a null-space direction of ``w``).

    "Zero" is judged against the size of the terms: each entry of ``x @ w``
    must be zero within the rounding of ``x``'s dtype, relative to
    ``|x| @ |w|`` (the rule of :func:`close`), so ``[3e-10, -1e-10]`` counts as
    nonzero and ``[1e300, 1e300]`` does not pass by overflowing.

    A null vector with rounded entries, such as ``[1, -0.3333]`` for
    ``[1, -1/3]``, is right to the digits written: it passes when the null
    vector nearest to it (keeping entries written as whole numbers exact)
    matches it entry by entry under the rule of :func:`number_matches`.

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
    if not np.any(x):
        return report(False, "x is all zeros: every W maps 0 to 0. Find a nonzero x.")
    unit = (x / np.max(np.abs(x))).astype(np.float64)  # same direction, largest entry 1: no overflow
    y = linear(unit, w)
    # x @ W must be zero within the rounding of x's dtype, relative to the size of its terms |x| @ |W|
    zero = (given(unit) @ given(w)).with_value(np.zeros_like(y))
    shown = "[" + ", ".join(f"{v:.4g}" for v in x.tolist()) + "]"
    if close(y.astype(x.dtype), zero):
        return report(True, f"Correct: x = {shown} is not zero, yet x @ W = 0: W cannot tell x from 0.")
    nearest = _nearest_null_vector(x, w)
    if nearest is not None and all(number_matches(v, float(e), digits=True) or (v == e)
                                   for v, e in zip(x, nearest)):
        return report(True, f"Correct: x = {shown} is a null vector of W rounded to the digits you gave: "
                            "W sends that direction to 0, so W cannot tell x from 0.")
    product = f"x @ W = [{', '.join(f'{v:.4g}' for v in linear(x.astype(np.float64), w).tolist())}]"
    equations = "Write x @ W = 0 as one equation per column of W, set one entry of x to 1 and solve for the others."
    if nearest is not None and np.linalg.norm(x - nearest) <= 0.05 * np.linalg.norm(x):
        return report(False, f"{product}, not zero. x is close to a direction that W sends to zero, but not on "
                             "it: a rounded entry must be right to its last digit, with at least 3 significant "
                             "digits.", "An exact fraction, computed by Python, needs no rounding at all.")
    return report(False, f"{product}, not zero: x must be perpendicular to every column of W.", equations)


def _nearest_null_vector(x, w):
    """The vector n with ``n @ w = 0`` nearest to ``x`` (entries of x written as whole numbers kept), or None.

    With a one-dimensional null space spanned by u, n = c u, where c makes the
    largest whole-number entry of x exact if there is one, and is the
    projection x . u otherwise. With a larger null space, n is the projection
    of x onto it. None when w has no null space or x is not finite.
    """
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        return None
    u_full, singular, _ = np.linalg.svd(w)
    rank = int(np.sum(singular > singular.max(initial=0.0) * max(w.shape) * np.finfo(float).eps))
    basis = u_full[:, rank:]  # (d_in, d_in - rank): the inputs that w sends to zero
    if basis.shape[1] == 0:
        return None
    if basis.shape[1] == 1:
        u = basis[:, 0]
        whole = [i for i in range(len(x)) if x[i] != 0 and float(x[i]).is_integer() and abs(u[i]) > 1e-12]
        if whole:
            i = max(whole, key=lambda j: abs(u[j]))
            return u * (x[i] / u[i])
        return u * (x @ u)
    return basis @ (basis.T @ x)
