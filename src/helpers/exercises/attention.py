"""Exercise checks on scaled dot-product attention: the formula, the scale, the memory, the softmax Jacobian (chapter 4)."""

from decimal import Decimal

import numpy as np

from ..attention import softmax
from ._verdict import (NOT_ATTEMPTED, as_answer_array, attention, close, exercise_check, given, number_matches,
                       read_attention_output, read_number, report, resembles, rows_sum_problem, shape_mismatch, show)

__all__ = ["check_attention", "check_dot_product_variance", "check_score_memory", "check_softmax_jacobian"]


# ---------------------------------------------------------------- the formula

def _scores(q, k):
    """The raw scores q @ k^T, shape (T, S)."""
    return q @ k.T


def _weight_mistake(weights, q, k):
    """``(message, hint)`` naming the usual mistake that produces ``weights`` (right shape, wrong values), or None."""
    d_k = q.shape[-1]
    raw = _scores(q, k)
    if resembles(weights, softmax(raw, axis=-1)):
        return (f"weights equals softmax(q @ k.T) without the scale: the scores must shrink by sqrt(d_k) = "
                f"{np.sqrt(d_k):.4g} before the softmax, or a wide head's softmax saturates."), None
    if resembles(weights, softmax(raw / d_k, axis=-1)):
        return (f"weights divides the scores by d_k = {d_k}, not by sqrt(d_k) = {np.sqrt(d_k):.4g}: "
                "the standard deviation of q . k is sqrt(d_k), so that is what brings it back to 1."), None
    if resembles(weights, softmax(raw * np.sqrt(d_k), axis=-1)):
        return "weights multiplies the scores by sqrt(d_k) instead of dividing them by it.", None
    scaled = raw / np.sqrt(d_k)
    if resembles(weights, softmax(scaled, axis=0)):
        return ("weights is a softmax over the wrong axis: its columns sum to 1, not its rows. "
                "Each query (row) needs weights over the keys."), "The keys lie along the last axis."
    if resembles(weights, scaled):
        return ("weights equals the scaled scores: they are not weights yet (positive, and summing to 1 in each row)."
                ), "Softmax turns each row of scores into weights."
    if resembles(weights, np.exp(scaled)) or resembles(weights, np.exp(raw)):
        return "weights is exp(scores) without dividing by the row sums: softmax divides each row by its sum.", None
    if resembles(weights, softmax(raw, axis=-1) / np.sqrt(d_k)):
        return "weights is divided by sqrt(d_k) after the softmax: the scale belongs on the scores, before it.", None
    return None


@exercise_check
def check_attention(weights, out, q, k, v):
    """Check the attention weights and the output of ``softmax(q k^T / sqrt(d_k)) v``.

    Parameters
    ----------
    weights : array_like or None
        The learner's attention weights, expected shape (T, S); each row sums to 1.
    out : array_like or None
        The learner's output, expected shape (T, d_v).
    q : array_like, shape (T, d_k)
    k : array_like, shape (S, d_k)
    v : array_like, shape (S, d_v)

    Returns
    -------
    Verdict
        Truthy if both match :func:`helpers.scaled_dot_product_attention` ``(q, k, v)``;
        otherwise the message names the first problem (shape, rows that do not sum
        to 1, a missing or wrong scale, the wrong softmax axis, ...).

    Used in Chapter 4.
    """
    if weights is None and out is None:
        return report(False, NOT_ATTEMPTED)
    q, k, v = (np.asarray(a, dtype=float) for a in (q, k, v))
    expected_out, expected_w = attention(q, k, v)
    T, S = expected_w.shape
    if weights is None:
        return report(False, "weights is still None: compute the attention weights first, then out.")
    weights, problem = as_answer_array(weights, "weights")
    if problem:
        return report(False, problem)
    rows = "Each row of the weights belongs to one query, each column to one key."
    if weights.shape != expected_w.shape:
        itself = ": that compares a sequence with itself. Scores compare every query (rows of q) with every key (rows of k)"
        return shape_mismatch("weights", weights.shape, expected_w.shape, "(T, S)", [
            ((S, T), ": that is (S, T), transposed: one row per key instead of one per query", rows),
            ((T, T), itself),
            ((S, S), itself),
            (expected_out.shape, ": that is the shape of the output. The weights have one row per query and one "
                                 "column per key"),
        ])
    if not close(weights, expected_w):
        mistake = _weight_mistake(weights, q, k)
        if mistake:
            return report(False, *mistake)
        if rows_sum_problem(weights):
            return report(False, rows_sum_problem(weights))
        return report(False, "the rows of weights sum to 1 but hold the wrong values: each row should be the softmax "
                             "of one query's scaled scores against every key.",
                      "A score is the dot product of a query with a key, scaled by 1/sqrt(d_k).")
    out, verdict = read_attention_output(out, expected_out.shape, [
        (expected_w.shape, ": that is the shape of the weights; the output averages the rows of v with them")])
    if verdict is not None:  # a Verdict is falsy when the answer is wrong
        return verdict
    if close(out, expected_out):
        return report(True, f"Correct: weights has shape (T, S) = {expected_w.shape} with rows summing to 1, "
                            f"and out = weights @ v has shape (T, d_v) = {expected_out.shape}.")
    return report(False, "weights is right but out is not: each output row is the average of the rows of v, "
                         f"weighted by that query's weights, (T, S) with (S, d_v) -> {expected_out.shape}.",
                  "Row t of out is the sum over j of weights[t, j] * v[j].")


# ---------------------------------------------------------------- the scale

def _coarse(value, exact):
    """The number of significant digits (1 or 2) to which ``value`` rounds ``exact``, or None."""
    for n in (1, 2):
        if Decimal(repr(float(value))) == Decimal(f"{exact:.{n}g}"):
            return n
    return None


@exercise_check
def check_dot_product_variance(variance, divisor, d_k):
    """Check the variance of ``q . k`` and the number to divide the scores by.

    The entries of q and k are independent, with mean 0 and variance 1. Then
    ``q . k`` is a sum of d_k independent terms of variance 1, so its variance
    is d_k, its standard deviation sqrt(d_k), and dividing by sqrt(d_k) brings
    the variance back to 1.

    Both answers are read "to the digits given" (:func:`number_matches`):
    the solution prints sqrt(128) as 11.31, so 11.31, 11.314 and 11.313 are
    right, as is any float computation of it; 11 is too coarse.

    Parameters
    ----------
    variance : float or None
        The learner's variance of q . k.
    divisor : float or None
        The learner's number to divide the scores by.
    d_k : int
        The width of q and k.

    Returns
    -------
    Verdict
        Truthy when both numbers are right; displayed as its one-line message.

    Used in Chapter 4.
    """
    if variance is None and divisor is None:
        return report(False, NOT_ATTEMPTED)
    if variance is None:
        return report(False, "var_dot is still None: give the variance of q . k first.")
    variance, problem = read_number(variance, "var_dot")
    if problem:
        return report(False, problem)
    root = float(np.sqrt(d_k))

    def same(value, exact):
        return number_matches(value, exact, 4 * abs(exact), digits=True)

    if not same(variance, d_k):
        if same(variance, root):
            return report(False, f"var_dot = {show(variance)} is the standard deviation sqrt(d_k); the variance is "
                                 "its square.")
        if same(variance, 1.0):
            return report(False, "var_dot = 1 is the variance of one term q_i k_i, but q . k adds d_k independent "
                                 "terms, and variances of independent terms add up.")
        if same(variance, d_k * d_k):
            return report(False, f"var_dot = {show(variance)} is d_k squared: the variances of the d_k terms add up, "
                                 "each term contributing 1, so the total is d_k.")
        if variance == 0:
            return report(False, "var_dot = 0 is the mean of q . k; the variance measures its spread around 0.")
        return report(False, f"var_dot = {show(variance)} is not right: q . k is a sum of d_k = {d_k} independent "
                             "terms, each of variance 1.")
    if divisor is None:
        return report(False, "var_dot is right. Now give divide_by, the number to divide the scores by.")
    divisor, problem = read_number(divisor, "divide_by")
    if problem:
        return report(False, problem)
    if same(divisor, root):
        return report(True, f"Correct: Var(q . k) = d_k = {d_k}, so the standard deviation is sqrt({d_k}) = {root:.4g}; "
                            "dividing by it brings the variance back to 1.")
    if same(divisor, d_k):
        return report(False, f"dividing by d_k = {d_k} divides the variance by d_k squared, leaving 1/d_k = "
                             f"{1 / d_k:.4g}: the scores become too flat. The variance should come back to 1.")
    if same(divisor, 1 / root):
        return report(False, f"{show(divisor)} = 1/sqrt(d_k) is the factor to multiply by; the number to divide by "
                             "is its inverse.")
    digits = _coarse(divisor, root)
    if digits:
        return report(False, f"divide_by = {show(divisor)} is the right number rounded to {digits} significant "
                             f"digit{'s' if digits > 1 else ''}: give at least 3.")
    return report(False, f"divide_by = {show(divisor)} is not right: dividing by c divides the variance by c squared, "
                         "so choose c with c squared = Var(q . k).")


# ---------------------------------------------------------------- the cost

@exercise_check
def check_score_memory(nbytes, B, H, T, bytes_per_number=4):
    """Check the memory, in bytes, of a score matrix of shape (B, H, T, T).

    Parameters
    ----------
    nbytes : int or None
        The learner's answer, in bytes.
    B, H, T : int
        Batch size, number of heads, sequence length (self-attention: S = T).
    bytes_per_number : int, default 4
        4 for float32, 8 for float64, 2 for float16.

    Returns
    -------
    Verdict
        Truthy when the answer is right; otherwise the message names the likely
        slip (forgot the bytes per number, the heads, the batch, or used T
        instead of T squared).

    Used in Chapter 4.
    """
    if nbytes is None:
        return report(False, NOT_ATTEMPTED)
    nbytes, problem = read_number(nbytes, "score_bytes")
    if problem:
        return report(False, problem)
    b = bytes_per_number
    expected = B * H * T * T * b

    def same(x):  # five products, each rounded once in a float computation
        return number_matches(nbytes, x, 6 * abs(x))

    if same(expected):
        return report(True, f"Correct: B x H x T x T x {b} bytes = {B} x {H} x {T} x {T} x {b} = {expected:,} bytes "
                            f"({expected / 2**20:,.0f} MiB).")
    slips = [
        (B * H * T * T, f"counts numbers, not bytes: each float32 number takes {b} bytes"),
        (B * T * T * b, f"leaves out the heads: every one of the H = {H} heads has its own T x T score matrix"),
        (H * T * T * b, f"leaves out the batch: every one of the B = {B} sequences has its own score matrices"),
        (T * T * b, "is one T x T matrix: there is one for each of the B sequences and each of the H heads"),
        (B * H * T * b, "uses T instead of T squared: every query has a score for every key, T x T per head"),
        (2 * expected, "is twice the answer: either 8 bytes per number (float64, but these scores are float32, "
                       "4 bytes) or two T x T matrices (scores and weights, but the question asks for the scores only)"
         if b == 4 else "counts two T x T matrices (scores and weights); the question asks for the scores only"),
        (B * H * T * T * 8, f"uses 8 bytes per number (float64); these numbers take {b} bytes each"),
        (expected / 2**20, "is in MiB (2**20 bytes); give the answer in bytes"),
        (expected / 10**6, "is in MB (10**6 bytes); give the answer in bytes"),
        (expected / 2**30, "is in GiB (2**30 bytes); give the answer in bytes"),
    ]
    for value, why in slips:
        if same(value):
            return report(False, f"{show(nbytes)} {why}.")
    return report(False, f"{show(nbytes)} is not right: the scores have B x H x T x T numbers of {b} bytes each.")


# ---------------------------------------------------------------- the gradient

@exercise_check
def check_softmax_jacobian(jac, p):
    """Check the Jacobian of softmax, ``J = diag(p) - p p^T``, for the weights ``p``.

    Entry ``J[i, j]`` is the derivative of ``p[i]`` with respect to score ``j``.

    Parameters
    ----------
    jac : array_like or None
        The learner's answer, expected shape (S, S).
    p : array_like, shape (S,)
        Softmax weights (non-negative, summing to 1).

    Returns
    -------
    Verdict
        Truthy when the answer is right; displayed as its one-line message.

    Used in Chapter 4.
    """
    if jac is None:
        return report(False, NOT_ATTEMPTED)
    p = np.asarray(p, dtype=float)
    S = p.shape[-1]
    pp = given(p)
    expected = given(np.diag(p)) - pp[:, None] * pp[None, :]
    jac, problem = as_answer_array(jac, "J")
    if problem:
        return report(False, problem)
    if jac.shape != expected.shape:
        message = ""
        if jac.shape in ((S,), ()):
            message = ": J has one entry per pair (output i, score j), so it is an S x S matrix"
        return report(False, f"J has shape {jac.shape} but expected (S, S) = {expected.shape}{message}.")
    if close(jac, expected):
        return report(True, f"Correct: J = diag(p) - p p^T has shape {expected.shape}, and each row sums to 0.")
    if resembles(jac, expected.value):
        return report(False, f"J is close to the Jacobian but not exact (off by up to "
                             f"{np.max(np.abs(jac - expected.value)):.2g}): a finite-difference estimate, perhaps? "
                             "The exercise asks for the exact derivative, a formula in p.")
    outer = "The missing part is the outer product of p with itself."
    if resembles(jac, np.diag(p)):
        return report(False, "J equals diag(p): that ignores the normalisation. Raising score j also raises the sum "
                             "every weight is divided by, which lowers every p[i].", outer)
    if resembles(jac, -np.outer(p, p)):
        return report(False, "J equals -p p^T: the diagonal misses the direct effect of score i on its own weight "
                             "p[i].", "That direct effect adds p[i] to entry [i, i].")
    if resembles(jac, -expected.value):
        return report(False, "J has the wrong sign: raising score i must raise p[i], so the diagonal entries are "
                             "positive.", "Raising score j lowers every other weight p[i], so the entries off the "
                                          "diagonal are negative.")
    if resembles(jac, np.diag(p) - p @ p):
        return report(False, "J subtracts the single number p @ p from every entry: for a 1-D p, p.T does nothing, "
                             "so p @ p.T is a dot product, not a matrix.",
                      "numpy has a function for the outer product of two vectors.")
    if resembles(jac, np.diag(p) - np.outer(p, p) * (1 - np.eye(S))):
        return report(False, "J is right off the diagonal, but not on it: p[i] also changes through the sum it is "
                             "divided by.", "Differentiate p_i = exp(z_i) / sum_j exp(z_j) with respect to z_i: "
                                            "the numerator and the sum both depend on z_i.")
    sums = jac.sum(axis=-1)
    if np.max(np.abs(sums)) > 1e-3 * np.max(np.abs(jac)):  # not 0 to 3 digits
        return report(False, f"the rows of J sum to [{', '.join(f'{v:.3g}' for v in sums)}], but they must sum to 0: "
                             "the weights always sum to 1, so no change of the scores can change their total.")
    return report(False, "J has the right shape and rows summing to 0 but wrong values.",
                  "Compare one entry on the diagonal and one off it with the chapter's formula "
                  "J_ij = p_i (delta_ij - p_j).")
