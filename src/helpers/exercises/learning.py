"""Exercise checks on learning attention: softmax's backward pass, a gradient by finite differences, reading a QK circuit (chapter 9).

The expected answers come from :mod:`helpers.grad` (the backward passes) and
from the weights the exercise gives, so a check and the book cannot disagree.
Each check recognises the usual slips (only the diagonal of softmax's
Jacobian, a sum over the wrong axis, a central difference divided by h
instead of 2h, a circuit read down its columns, ...) and names them.
"""

import numpy as np

from ..grad import scaled_dot_product_attention_backward
from ._verdict import (NOT_ATTEMPTED, as_answer_array, close, exercise_check, given, listed, report, resembles,
                       shape_mismatch)

__all__ = ["check_softmax_backward", "check_finite_difference", "check_circuit_matches"]


# ---------------------------------------------------------------- softmax's backward pass

def _softmax_backward_reference(weights, d_weights):
    """``a * (da - sum_i a_i da_i)`` as a :class:`Reference`, row by row."""
    a, da = given(weights), given(d_weights)
    return a * (da - (a * da).sum(axis=-1, keepdims=True))


def _softmax_backward_mistake(answer, a, da):
    """``(message, hint)`` naming the usual mistake that gives ``answer``, or None."""
    weighted = (a * da).sum(axis=-1, keepdims=True)
    if resembles(answer, a * da):
        return ("d_scores keeps only the diagonal of the Jacobian, a_j da_j: raising score j also lowers every "
                "other weight, because the weights must still sum to 1."), (
                "Subtract, inside the bracket, the weighted average of da over the row (weighted by a).")
    if resembles(answer, da):
        return ("d_scores equals d_weights, as if softmax passed the gradient through unchanged. Each score moves "
                "every weight of its row."), "The Jacobian of chapter 4 is diag(a) - a a^T, one per row."
    if resembles(answer, -(a * (da - weighted))):
        return "d_scores has the wrong sign: raising score j raises weight j, so a positive da_j must give a " \
               "positive push to score j.", None
    if resembles(answer, da - weighted):
        return ("d_scores is missing the factor a_j in front: an entry whose weight is 0 (a masked key) must get "
                "no gradient, since moving its score changes nothing."), None
    if resembles(answer, a * (da - da.sum(axis=-1, keepdims=True))):
        return ("d_scores subtracts the plain sum of da over the row; the subtracted term is weighted by the "
                "weights a_i."), "It is the weighted average sum_i a_i da_i."
    if resembles(answer, a * (da - (a * da).sum(axis=0, keepdims=True))):
        return ("d_scores sums over the wrong axis: softmax ran along each row (over the keys), so the sum "
                "sum_i a_i da_i runs along each row too."), "The keys lie along the last axis."
    return None


@exercise_check
def check_softmax_backward(d_scores, weights, d_weights):
    """Check the gradient of the scores from that of the softmax weights, ``a * (da - sum_i a_i da_i)``.

    Parameters
    ----------
    d_scores : array_like or None
        The learner's answer, expected shape (T, S).
    weights : array_like, shape (T, S)
        Softmax weights ``a``, one row per query (each row sums to 1; a masked key has weight 0).
    d_weights : array_like, shape (T, S)
        The gradient of the loss with respect to the weights, ``da``.

    Returns
    -------
    Verdict
        Truthy when the answer matches :func:`helpers.grad.softmax_backward`;
        otherwise names the mistake (only the diagonal of the Jacobian, a
        missing factor a_j, the wrong axis, the wrong sign, ...).

    Used in Chapter 9.
    """
    if d_scores is None:
        return report(False, NOT_ATTEMPTED)
    a, da = np.asarray(weights, dtype=float), np.asarray(d_weights, dtype=float)
    expected = _softmax_backward_reference(a, da)
    answer, problem = as_answer_array(d_scores, "d_scores")
    if problem:
        return report(False, problem)
    T, S = expected.shape
    if answer.shape != expected.shape:
        return shape_mismatch("d_scores", answer.shape, expected.shape, "(T, S)", [
            ((S, T), ": that is (S, T), transposed. d_scores has the shape of the scores, one row per query"),
            ((T, S, S), ": that is one Jacobian per row. Multiply each by its row of da to get one gradient per score",
             "Row t of d_scores is da[t] @ J_t, and J_t = diag(a[t]) - a[t] a[t]^T."),
            ((S, S), ": that is a Jacobian. d_scores has one entry per score, the shape of the weights"),
        ])
    if close(answer, expected):
        return report(True, f"Correct: d_scores has shape (T, S) = {expected.shape}; each row sums to 0, and the "
                            "masked key (weight 0) gets exactly 0.")
    mistake = _softmax_backward_mistake(answer, a, da)
    if mistake:
        return report(False, *mistake)
    sums = answer.sum(axis=-1)
    if np.max(np.abs(sums)) > 1e-3 * np.max(np.abs(answer)):  # not 0 to 3 digits
        return report(False, f"the rows of d_scores sum to {listed(sums, 0.0)}, but they must sum to 0: adding the "
                             "same number to every score of a row leaves softmax unchanged, so the loss cannot "
                             "change in that direction.", "d_scores_j = a_j (da_j - sum_i a_i da_i).")
    return report(False, "d_scores has the right shape and rows summing to 0, but wrong values.",
                  "d_scores_j = a_j (da_j - sum_i a_i da_i), row by row.")


# ---------------------------------------------------------------- a gradient by finite differences

#: The relative error a finite-difference estimate may have: central differences with a step between
#: about 1e-3 and 1e-7 in float64 land far below it, a forward difference with a small step just below.
FD_TOLERANCE = 1e-5
_FD_TEXT = "1e-5"  # FD_TOLERANCE as the messages write it


def _relative(a, b):
    """||a - b|| / ||b||, for arrays of the same shape (b not zero)."""
    return float(np.linalg.norm(np.asarray(a, dtype=float) - b) / np.linalg.norm(b))


@exercise_check
def check_finite_difference(dq_fd, q, k, v, d_out):
    """Check a finite-difference estimate of ``dL/dq`` for ``L(q) = sum(d_out * attention(q, k, v))``.

    An estimate is not exact: a central difference with step h carries a
    truncation error of order h**2 and a rounding error of order eps / h.
    So this check, unlike the others, accepts any answer within a relative
    error of 1e-5 (:data:`FD_TOLERANCE`) of the exact gradient, which every
    sensible step in float64 reaches (and the exact gradient itself).

    Parameters
    ----------
    dq_fd : array_like or None
        The learner's estimate, expected shape (T, d_k).
    q : array_like, shape (T, d_k)
    k : array_like, shape (S, d_k)
    v : array_like, shape (S, d_v)
    d_out : array_like, shape (T, d_v)
        The weights of the loss: ``L = sum(d_out * out)``, so ``dL/d out = d_out``.

    Returns
    -------
    Verdict
        Truthy when the estimate is within 1e-5 (relative) of
        :func:`helpers.grad.scaled_dot_product_attention_backward`'s ``dq``;
        otherwise names the mistake (a factor 2 from the step, the wrong
        sign, entries left at 0, a step too large or too small, ...).

    Used in Chapter 9.
    """
    if dq_fd is None:
        return report(False, NOT_ATTEMPTED)
    q, k, v, d_out = (np.asarray(x, dtype=float) for x in (q, k, v, d_out))
    exact = scaled_dot_product_attention_backward(q, k, v, d_out)[0]  # (T, d_k)
    answer, problem = as_answer_array(dq_fd, "dq_fd")
    if problem:
        return report(False, problem)
    T, d_k = exact.shape
    d_v = v.shape[-1]
    if answer.shape != exact.shape:
        return shape_mismatch("dq_fd", answer.shape, exact.shape, "(T, d_k)", [
            ((d_k, T), ": that is (d_k, T), transposed. A gradient has the shape of what it is the gradient of, q"),
            ((T, d_v), ": that is the shape of the output. The gradient with respect to q has the shape of q"),
            ((), ": one number. Estimate the derivative for every entry of q, in a loop over its entries"),
        ])
    error = _relative(answer, exact)
    if error <= FD_TOLERANCE or close(answer, given(exact)):
        return report(True, f"Correct: dq_fd has shape (T, d_k) = {exact.shape} and matches the backward pass "
                            f"to a relative error below {_FD_TEXT}.")
    if resembles(answer, 2 * exact, rtol=1e-2):
        return report(False, "dq_fd is twice the gradient: a central difference, L(q + h) - L(q - h), spans a "
                             "distance of 2h, so it is divided by 2h.")
    if resembles(answer, exact / 2, rtol=1e-2):
        return report(False, "dq_fd is half the gradient: a forward difference, L(q + h) - L(q), spans only h, so "
                             "it is divided by h, not 2h.")
    if resembles(answer, -exact, rtol=1e-2):
        return report(False, "dq_fd has the wrong sign: the difference is the loss with the entry raised minus "
                             "the loss with it lowered.")
    untouched = (answer == 0) & (exact != 0)
    if untouched.any():
        return report(False, f"dq_fd is 0 in {int(untouched.sum())} of its {answer.size} entries where the gradient "
                             "is not: nudge every entry of q in turn, one at a time, and fill in its derivative.",
                      "Loop over every (row, column) index of q.")
    if error < 0.1:
        return report(False, f"dq_fd is close, but its relative error is {error:.1e}, above {_FD_TEXT}: "
                             "either the step h is too large (the error shrinks like h**2) or too small for the "
                             "precision (rounding error grows like eps / h; in float32 eps is about 1e-7, so "
                             "compute in float64).", "h = 1e-6 in float64 gives about 1e-10.")
    return report(False, f"dq_fd is far from the gradient (relative error {error:.2g}). Nudge one entry of q by "
                         "+h and -h, compute the loss L = sum(d_out * out) both times, and divide the difference "
                         "by 2h.", "Only q changes; k, v and d_out stay fixed.")


# ---------------------------------------------------------------- reading a QK circuit

@exercise_check
def check_circuit_matches(matches, embed, w_q, w_k):
    """Check which key token each query token looks for, read from the QK circuit ``E W_q W_k^T E^T``.

    Parameters
    ----------
    matches : sequence of int or None
        The learner's answer: for each token i as a query, the index of the
        token it scores highest as a key (length N).
    embed : array_like, shape (N, D)
        The tokens' embeddings, one row per token.
    w_q, w_k : array_like, shape (D, d)
        The head's query and key projections.

    Returns
    -------
    Verdict
        Truthy when ``matches[i]`` is the argmax of row i of the circuit;
        otherwise names the mistake (the circuit read down its columns, the
        smallest score, the diagonal assumed, scores instead of indices).

    Used in Chapter 9.
    """
    if matches is None:
        return report(False, NOT_ATTEMPTED)
    e, w_q, w_k = (np.asarray(x, dtype=float) for x in (embed, w_q, w_k))
    circuit = (e @ w_q) @ (e @ w_k).T  # (N, N): row = token as a query, column = token as a key
    n = circuit.shape[0]
    expected = circuit.argmax(axis=1)
    answer, problem = as_answer_array(matches, "matches")
    if problem:
        return report(False, problem)
    if answer.shape == (n, n):
        return report(False, f"matches has shape {answer.shape}: that is the whole circuit. Give one key index per "
                             f"query token, {n} numbers.", "For each row, which column holds the largest score?")
    if answer.ndim != 1 or len(answer) != n:
        return report(False, f"matches has shape {answer.shape}, but there are N = {n} tokens: give one key index "
                             "per query token, a flat list.")
    if np.array_equal(answer, expected):
        return report(True, f"Correct: {expected.tolist()}. Row i of E W_q W_k^T E^T holds token i's scores as a "
                            "query against every token as a key; its largest entry is the key it looks for.")
    if resembles(answer, circuit.max(axis=1)) and not np.all(answer == np.round(answer)):
        return report(False, "matches holds the largest scores themselves; the question asks which key (its index) "
                             "gets them.")
    if np.any(answer != np.round(answer)) or answer.min() < 0 or answer.max() > n - 1:
        return report(False, f"every entry must be a token index 0 .. {n - 1}, but matches holds "
                             f"{listed(answer, -1.0)}.")
    if np.array_equal(answer, circuit.argmax(axis=0)):
        return report(False, "matches reads the circuit down its columns: that gives, for each key token, the query "
                             "that looks for it most. The rows are the queries.",
                      "The circuit is (E W_q)(E W_k)^T: W_q sits on the row side.")
    if np.array_equal(answer, circuit.argmin(axis=1)):
        return report(False, "matches picks the smallest score of each row: the key the head avoids most, not the "
                             "one it looks for.")
    if np.array_equal(answer, np.arange(n)):
        return report(False, "matches assumes every token looks for itself (a diagonal circuit). This head's circuit "
                             "is not diagonal: read the numbers.")
    wrong = int(np.flatnonzero(answer != expected)[0])
    return report(False, f"token {wrong} as a query looks for key {int(expected[wrong])}, not {int(answer[wrong])}: "
                         "compare the entries of its row.", "Scaling the scores or taking softmax would not change "
                                                            "which entry is largest.")
