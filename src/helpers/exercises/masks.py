"""Exercise checks on masks and cross-attention: causal and padding masks, masked softmax (chapter 5)."""

import numpy as np

from ..attention import scaled_dot_product_attention, softmax
from ..masks import causal_mask, padding_mask
from ..projections import linear
from ._verdict import (NOT_ATTEMPTED, as_answer_array, attention, close, exercise_check, given, listed,
                       kind, read_attention_output, report, resembles, rows_sum_problem, shape_mismatch, to_array)

__all__ = ["check_causal_mask", "check_padding_mask", "check_masked_softmax", "check_cross_attention"]


# ---------------------------------------------------------------- reading a mask

def _as_mask(answer, name):
    """Return ``(array, None)`` for an array of True/False (or 1/0), or ``(None, message)``."""
    a, problem = to_array(answer, name, "an array of True and False")
    if problem:
        return None, problem
    if a.dtype.kind not in "biuf":
        return None, f"{name} should be a boolean numpy array, but it is {kind(answer)} of dtype {a.dtype}."
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        return None, f"{name} contains NaN or inf: a mask holds only True and False."
    if a.dtype != np.bool_ and not np.all((a == 0) | (a == 1)):
        return None, (f"{name} holds numbers other than 0 and 1 (e.g. {a[(a != 0) & (a != 1)].flat[0]}): "
                      "a mask holds only True (may attend) and False (forbidden).")
    return a, None


def _dtype_problem(a, name):
    """The message for a mask with the right pattern but a non-boolean dtype, or None."""
    if a.dtype == np.bool_:
        return None
    return (f"{name} has the right pattern but dtype {a.dtype}, not bool: the helpers reject a non-boolean mask "
            "with a ValueError, and ~ on an integer array gives -1 and -2, not False and True.")


#: The hint for a mask of the right pattern but the wrong dtype.
DTYPE_HINT = "np.ones, np.zeros and np.tril keep the dtype they are given; .astype converts an array."
TRIANGLE_HINT = "np.tril keeps the lower triangle; its k sets the last diagonal it keeps (k=0: the main one)."


# ---------------------------------------------------------------- the causal mask

@exercise_check
def check_causal_mask(mask, T):
    """Check a causal mask of shape (T, T): True on and below the diagonal (True = may attend).

    Parameters
    ----------
    mask : array_like of bool or None
        The learner's answer, expected shape (T, T).
    T : int
        Number of positions (queries = keys).

    Returns
    -------
    Verdict
        Truthy if ``mask`` equals :func:`helpers.causal_mask` ``(T)`` and is boolean; otherwise
        the message names the mistake (inverted, upper triangle, diagonal missing or one too
        many, wrong dtype, wrong shape).

    Used in Chapter 5.
    """
    if mask is None:
        return report(False, NOT_ATTEMPTED)
    expected = causal_mask(T)
    a, problem = _as_mask(mask, "mask")
    if problem:
        return report(False, problem)
    if a.shape != expected.shape:
        hint = ""
        if a.ndim == 1:
            hint = ": that is a single row. A mask has one row per query and one column per key"
        return report(False, f"mask has shape {a.shape} but expected (T, T) = {expected.shape}{hint}.")
    pattern = a.astype(bool)
    ones = np.ones((T, T), dtype=bool)
    if np.array_equal(pattern, expected):
        dtype_problem = _dtype_problem(a, "mask")
        if dtype_problem:
            return report(False, dtype_problem, DTYPE_HINT)
        return report(True, f"Correct: mask has shape {expected.shape}, True on and below the diagonal: "
                            "token t may see tokens 0..t and nothing later.")
    if np.array_equal(pattern, ~expected):
        return report(False, "mask is inverted: it is True where attention is forbidden. The course's masks are "
                             "True = may attend, so token t must be True for keys 0..t.")
    if np.array_equal(pattern, expected.T):
        return report(False, "mask is the upper triangle: token t would see itself and every later token, "
                             "the future it is asked to predict. The allowed keys lie on and below the diagonal.",
                      TRIANGLE_HINT)
    if np.array_equal(pattern, np.tril(ones, k=-1)):
        return report(False, "the diagonal of mask is False: a token must be allowed to see itself "
                             "(and token 0 would see no key at all).", TRIANGLE_HINT)
    if np.array_equal(pattern, np.tril(ones, k=1)):
        return report(False, "mask reaches one diagonal too far: token t may see token t+1, the very token "
                             "it has to predict.", TRIANGLE_HINT)
    if pattern.all():
        return report(False, "every entry of mask is True: that allows everything, like no mask at all.")
    wrong = np.argwhere(pattern != expected)[0]
    t, s = int(wrong[0]), int(wrong[1])
    return report(False, f"mask[{t}, {s}] is {bool(pattern[t, s])} but should be {bool(expected[t, s])}: "
                          f"row t is True exactly for the keys 0..t.")


# ---------------------------------------------------------------- the padding mask

#: The hint for a mask that lacks size-1 axes.
NEW_AXIS = "Indexing with None inserts an axis of size 1."


@exercise_check
def check_padding_mask(mask, lengths, S):
    """Check a padding mask of shape (B, 1, 1, S) for right-padded sequences (True = real token).

    Parameters
    ----------
    mask : array_like of bool or None
        The learner's answer, expected shape (B, 1, 1, S).
    lengths : array_like of int, shape (B,)
        The number of real tokens of each sequence.
    S : int
        The padded length.

    Returns
    -------
    Verdict
        Truthy if ``mask`` equals :func:`helpers.padding_mask` ``(lengths, S)`` and is boolean;
        otherwise the message names the mistake (a shape that does not broadcast against
        (B, H, T, S), inverted values, an off-by-one length, left padding, wrong dtype).

    Used in Chapter 5.
    """
    if mask is None:
        return report(False, NOT_ATTEMPTED)
    lengths = np.asarray(lengths)
    expected = padding_mask(lengths, S)  # (B, 1, 1, S)
    B = len(lengths)
    real = expected[:, 0, 0]  # (B, S)
    a, problem = _as_mask(mask, "mask")
    if problem:
        return report(False, problem)
    if a.shape != expected.shape:
        same_values = a.size == real.size and np.array_equal(a.astype(bool).reshape(real.shape), real)
        if a.shape == (B, S) and same_values:
            return report(False, f"mask has the right values but shape (B, S) = {a.shape}. Against scores of shape "
                                 "(B, H, T, S) broadcasting lines up the last axes, so B would meet T: the mask "
                                 "needs size-1 axes for the heads and the queries.", NEW_AXIS)
        if a.shape == (B, 1, S) and same_values:
            return report(False, f"mask has shape (B, 1, S) = {a.shape}: that fits one head's scores (B, T, S), "
                                 "but against (B, H, T, S) it lines B up with H: it needs a size-1 axis for the "
                                 "heads too.", NEW_AXIS)
        if a.shape in ((1, 1, B, S), (1, B, S)) and same_values:
            return report(False, f"mask has shape {a.shape}: it broadcasts, but it puts the batch on the query "
                                 "axis, so sentence b's mask would apply to query b of every sentence. "
                                 "The batch axis comes first: (B, 1, 1, S).")
        if a.size == real.size and a.ndim >= 2 and np.array_equal(a.astype(bool).reshape(S, B), real.T):
            return report(False, f"mask has shape {a.shape}, one row per key position: the key axis S must come last, "
                                 "with shape (B, 1, 1, S).")
        return report(False, f"mask has shape {a.shape} but expected (B, 1, 1, S) = {expected.shape}: one entry "
                             "per sentence and key, with size-1 axes for the heads and the queries.")
    pattern = a.astype(bool)[:, 0, 0]  # (B, S)
    before = "Positions 0 .. length-1 are the real tokens."
    positions = np.arange(S)
    if np.array_equal(pattern, real):
        dtype_problem = _dtype_problem(a, "mask")
        if dtype_problem:
            return report(False, dtype_problem, DTYPE_HINT)
        return report(True, f"Correct: mask has shape (B, 1, 1, S) = {expected.shape}, True for the "
                            f"{lengths.tolist()} real tokens; it broadcasts against scores (B, H, T, S).")
    if np.array_equal(pattern, ~real):
        return report(False, "mask is inverted: it is True on the padding. The course's masks are True = may "
                             "attend, so the real tokens (positions < length) are True.")
    if np.array_equal(pattern, positions <= lengths[:, None]):
        return report(False, "mask lets each sentence see one position too many: one padding position per "
                             "sentence is marked real.", before)
    if np.array_equal(pattern, positions < lengths[:, None] - 1):
        return report(False, "mask hides the last real token of each sentence.", before)
    if np.array_equal(pattern, positions >= (S - lengths)[:, None]):
        return report(False, "mask marks the real tokens at the end, as for left padding. These sentences are "
                             "padded on the right: the real tokens come first.")
    b = int(np.argwhere((pattern != real).any(axis=-1))[0, 0])
    return report(False, f"sentence {b} has {int(lengths[b])} real tokens, so mask[{b}, 0, 0] should be "
                          f"{real[b].astype(int).tolist()} (as 1 and 0), but it is {pattern[b].astype(int).tolist()}.")


# ---------------------------------------------------------------- applying a mask

@exercise_check
def check_masked_softmax(weights, scores, mask):
    """Check the weights ``softmax(scores with -inf where mask is False)``.

    Parameters
    ----------
    weights : array_like or None
        The learner's answer, expected shape (T, S).
    scores : array_like, shape (T, S)
    mask : array_like of bool, shape (T, S)
        True = may attend. Every row must allow at least one key.

    Returns
    -------
    Verdict
        Truthy if the rows sum to 1, the forbidden entries are exactly 0 and the
        values match; otherwise the message names the mistake (0 used instead of
        -inf, no renormalisation, inverted mask, wrong axis, NaN, ...).

    Used in Chapter 5.
    """
    if weights is None:
        return report(False, NOT_ATTEMPTED)
    scores = np.asarray(scores, dtype=float)
    mask = np.asarray(mask, dtype=bool)
    expected = given(scores).with_value(np.where(mask, scores, -np.inf)).softmax(axis=-1)
    a, problem = as_answer_array(weights, "weights", finite=False)
    if problem:
        return report(False, problem)
    inf = "A score of -inf gets a weight of exactly 0: exp(-inf) = 0."
    if a.shape == expected.shape and np.isnan(a).any():
        return report(False, "weights contains NaN. Multiplying -inf by 0 (e.g. scores * mask after a fill) or "
                             "computing -inf - (-inf) gives NaN.", "Choose between each score and -inf with "
                                                                  "np.where, then apply softmax.")
    if not np.all(np.isfinite(a)):
        return report(False, "weights contains NaN or inf: check your arithmetic.")
    if a.shape != expected.shape:
        message = ": that is (S, T), transposed" if a.shape == expected.value.T.shape else ""
        return report(False, f"weights has shape {a.shape} but expected the shape of the scores, (T, S) = "
                             f"{expected.shape}{message}.")
    sums = a.sum(axis=-1)
    forbidden = a[~mask]
    leak = float(np.abs(forbidden).max()) if forbidden.size else 0.0
    if leak == 0.0 and close(a, expected):
        return report(True, f"Correct: every row sums to 1 and the {forbidden.size} forbidden entries are exactly 0.")
    if leak < 1e-3 and resembles(np.where(mask, a, 0.0), expected.value):
        return report(False, f"almost: the forbidden entries are tiny but not exactly 0 (up to {leak:.3g}). "
                             "A finite fill value leaks e^(fill - max) into them.", inf)
    if resembles(a, softmax(np.where(mask, scores, 0.0), axis=-1)) or resembles(a, softmax(scores * mask, axis=-1)):
        return report(False, f"the forbidden scores were set to 0, but e^0 = 1, not 0: forbidden keys still get "
                             f"weight (up to {leak:.3g}).", inf)
    if resembles(a, softmax(scores, axis=-1)):
        return report(False, "weights is the softmax of the scores without the mask: the forbidden entries must be "
                             "exactly 0.", inf)
    if resembles(a, np.where(mask, softmax(scores, axis=-1), 0.0)):
        return report(False, f"the forbidden entries are 0, but the rows sum to {listed(sums, 1.0)}: "
                             "after zeroing, each row must be renormalised to sum to 1.")
    if resembles(a, softmax(np.where(mask, -np.inf, scores), axis=-1)):
        return report(False, "the mask is inverted: the allowed entries got -inf and the forbidden ones kept "
                             "their scores. True means may attend.")
    if resembles(a, softmax(np.where(mask, scores, -np.inf), axis=0)):
        return report(False, "the softmax ran over the wrong axis: the columns sum to 1, not the rows. "
                             "Each query (row) needs weights over the keys.", "The keys lie along the last axis.")
    if leak > 0:
        return report(False, f"weights gives the forbidden entries weight (up to {leak:.3g}); "
                             "they must be exactly 0.", inf)
    if not resembles(sums, np.ones_like(sums)):
        return report(False, f"the rows of weights sum to {listed(sums, 1.0)}, not 1.")
    return report(False, "the forbidden entries are 0 and the rows sum to 1, but the values are wrong: each row "
                         "should be the softmax of its allowed scores alone.",
                  "Give the forbidden scores -inf, then apply softmax along the keys.")


# ---------------------------------------------------------------- cross-attention

@exercise_check
def check_cross_attention(weights, out, x, context, w_q, w_k, w_v, length):
    """Check cross-attention of the tokens ``x`` over a right-padded ``context``.

    Queries come from ``x``; keys and values from ``context``, whose first
    ``length`` positions are real and the rest padding.

    Parameters
    ----------
    weights : array_like or None
        The learner's weights, expected shape (T, S).
    out : array_like or None
        The learner's output, expected shape (T, d_v).
    x : array_like, shape (T, D)
        The tokens that ask (e.g. the decoder's target tokens).
    context : array_like, shape (S, D)
        The tokens that answer (e.g. the encoder's output for the source).
    w_q, w_k : array_like, shape (D, d_k)
    w_v : array_like, shape (D, d_v)
    length : int
        Number of real tokens in ``context``.

    Returns
    -------
    Verdict
        Truthy if both match :func:`helpers.scaled_dot_product_attention` with a padding
        mask on the context; otherwise the message names the first problem (keys taken
        from ``x``, queries and keys/values swapped, transposed weights, missing padding mask,
        a causal mask, no scale, ...).

    Used in Chapter 5.
    """
    if weights is None and out is None:
        return report(False, NOT_ATTEMPTED)
    x, context = np.asarray(x, dtype=float), np.asarray(context, dtype=float)
    q, k, v = given(x) @ given(w_q), given(context) @ given(w_k), given(context) @ given(w_v)
    T, S = q.shape[0], k.shape[0]
    mask = padding_mask([length], S)[0, 0]  # (1, S)
    expected_out, expected_w = attention(q, k, v, mask=mask)
    q, k, v = linear(x, w_q), linear(context, w_k), linear(context, w_v)
    if weights is None:
        return report(False, "weights is still None: compute the attention weights first.")
    weights, problem = as_answer_array(weights, "weights")
    if problem:
        return report(False, problem)
    if weights.shape != expected_w.shape:
        swapped = scaled_dot_product_attention(linear(context, w_q), linear(x, w_k), linear(x, w_v))[1]  # (S, T)
        if T != S and resembles(weights, swapped):
            return report(False, f"weights has shape (S, T) = {weights.shape}: the queries came from the context and "
                                 "the keys and values from x, so the source asks and the target answers. "
                                 "Cross-attention runs the other way: the target tokens ask the questions, and the "
                                 "source supplies the keys and the values.",
                          "The rows of the weights belong to the tokens that ask, here the T target tokens.")
        return shape_mismatch("weights", weights.shape, expected_w.shape, "(T, S)", [
            ((T, T), ": the keys came from x. In cross-attention the queries come from x and the keys and values "
                     "from the context"),
            ((S, S), ": that is attention of the context with itself. The queries must come from x"),
            ((S, T), ": that is (S, T), one row per key instead of one per query"),
        ])
    if not close(weights, expected_w):
        n_pad = S - int(length)
        if resembles(weights, scaled_dot_product_attention(q, k, v)[1]):
            return report(False, f"weights has no padding mask: the {n_pad} padded keys of the context get weight.",
                          "helpers.padding_mask builds the mask; one sentence's row of it, shape (1, S), broadcasts "
                          "over the queries.")
        causal_variants = [causal_mask(T, S), np.tril(np.ones((T, S), dtype=bool))]
        if any(resembles(weights, scaled_dot_product_attention(q, k, v, mask=mask & c)[1]) for c in causal_variants):
            return report(False, "weights uses a causal mask. In cross-attention every target token may read the "
                                 "whole source, which is known in advance: mask only the padding.")
        if resembles(weights, softmax(np.where(mask, q @ k.T, -np.inf), axis=-1)):
            return report(False, f"weights has no scale: the scores must shrink by sqrt(d_k) = "
                                 f"{np.sqrt(q.shape[-1]):.4g}.",
                          "helpers.scaled_dot_product_attention applies the scale for you.")
        if resembles(weights, scaled_dot_product_attention(q, k, v, mask=~mask)[1]):
            return report(False, "the padding mask is inverted: only the padded keys get weight. "
                                 "True = may attend, so the real tokens are True.")
        if rows_sum_problem(weights):
            return report(False, rows_sum_problem(weights))
        return report(False, "weights has the right shape (T, S) but the wrong values: the queries come from x, the "
                             "keys and values from the context.",
                      "Scale the scores, mask the padding, and take the softmax over the keys.")
    out, verdict = read_attention_output(out, expected_out.shape, [
        ((T, k.shape[-1]), ": that is the width d_k of the keys; the output averages the values, of width d_v"),
        ((T, x.shape[-1]), ": that is the width D of x. The output has the width of the values, d_v"),
    ])
    if verdict is not None:  # a Verdict is falsy when the answer is wrong
        return verdict
    if close(out, expected_out):
        return report(True, f"Correct: weights (T, S) = {expected_w.shape} puts no weight on the padding, and "
                            f"out (T, d_v) = {expected_out.shape}: one row per target token, made of source values.")
    if v.shape == k.shape and resembles(out, expected_w.value @ k):
        return report(False, "out averages the keys; the output averages the values.")
    return report(False, "weights is right but out is not: each output row averages the context's values, weighted "
                         f"by that query's weights, -> {expected_out.shape}.", "The values are context @ w_v.")
