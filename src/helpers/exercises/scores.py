"""Exercise checks on dot products, score matrices and softmax (chapter 2)."""

import numpy as np

from ..attention import softmax
from ._rounded import rounded_like, too_coarse
from ._verdict import (NOT_ATTEMPTED, as_answer_array, close, distinct, exercise_check, given, read_number, report,
                       resembles)

__all__ = ["check_self_scores", "check_stable_softmax", "check_top_key", "check_temperature"]


# ---------------------------------------------------------------- the score matrix

@exercise_check
def check_self_scores(scores, x):
    """Check the all-pairs score matrix of a sequence with itself, ``x @ x.T``.

    The token vectors are compared with each other directly, with no
    projections yet. (:func:`check_score_matrix` checks ``q @ k.T``, with
    separate queries and keys.)

    Parameters
    ----------
    scores : array_like or None
        The learner's answer, expected shape (T, T).
    x : array_like, shape (T, D)
        Token vectors, one per row.

    Returns
    -------
    Verdict
        Truthy when ``scores`` equals ``x @ x.T``. Recognises ``x.T @ x``,
        the element-wise ``x * x``, the diagonal only, a softmax or a
        1/sqrt(D) scale that was not asked for.

    Used in Chapter 2.
    """
    if scores is None:
        return report(False, NOT_ATTEMPTED)
    x = np.asarray(x, dtype=float)
    expected = given(x) @ given(x).T
    s, problem = as_answer_array(scores, "scores")
    if problem:
        return report(False, problem)
    t, width = x.shape
    pairs = "A matrix product pairs each row of its left factor with each column of its right factor."
    if s.shape != expected.shape:
        message, hint = "", None
        if s.shape == (width, width) and resembles(s, x.T @ x):
            message = (f": that is x.T @ x, which compares the D={width} feature columns with each other, "
                       "not the tokens (the rows of x)")
            hint = pairs
        elif s.shape == x.shape and resembles(s, x * x):
            message = ": that is x * x, an element-by-element product; a dot product also sums over the features"
            hint = "A matrix product multiplies and sums in one step."
        elif s.shape == x.shape:
            message = f": that is the shape of x, one row of D={width} features per token; each score is one number"
            hint = "There is one score for each pair of tokens (i, j)."
        elif s.shape == (t,) and resembles(s, np.sum(x * x, axis=-1)):
            message = (": that is only the diagonal, each token with itself. "
                       f"The score matrix holds every pair (i, j), so it has shape ({t}, {t})")
        elif s.ndim <= 1:
            message = ": that is a single token's scores at most, but the matrix holds every pair of tokens"
            hint = pairs
        return report(False, f"scores has shape {s.shape} but expected ({t}, {t}){message}.", hint)
    if close(s, expected) or rounded_like(s, expected):
        return report(True, f"Correct: x @ x.T has shape ({t}, {t}); entry [i, j] is the dot product of token i "
                            "with token j, and it is symmetric: x_i . x_j = x_j . x_i.")
    if too_coarse(s, expected, "scores"):
        return report(False, too_coarse(s, expected, "scores"))
    if resembles(s, softmax(expected.value)):
        return report(False, "these are already softmax weights (each row sums to 1). The score matrix is the raw "
                             "dot products, before softmax.")
    if resembles(s, expected.value / np.sqrt(width)):
        return report(False, f"scores equals x @ x.T / sqrt(D) = x @ x.T / sqrt({width}): scaling the scores comes "
                             "in Chapter 4. Here we want the raw dot products.")
    diff = np.abs(s - expected.value)
    i, j = (int(a) for a in np.unravel_index(np.argmax(diff), diff.shape))
    got, want = distinct(s[i, j], expected.value[i, j])
    return report(False, f"scores has the right shape {expected.shape} but wrong values: entry [{i}, {j}] is {got}, "
                         f"but the dot product of row {i} with row {j} is {want}.", pairs)


# ---------------------------------------------------------------- softmax

@exercise_check
def check_stable_softmax(weights, scores):
    """Check a softmax over the last axis (each row sums to 1) that survives large scores.

    Parameters
    ----------
    weights : array_like or None
        The learner's answer, the same shape as ``scores``.
    scores : array_like, shape (T, S)
        Scores (the matrix Z), some of them large enough that ``exp`` overflows (e.g. 1000).

    Returns
    -------
    Verdict
        Truthy when ``weights`` equals :func:`helpers.softmax` ``(scores, axis=-1)``.
        A wrong answer gets the likely cause: NaN from a missing max
        subtraction, a global instead of a per-row max, the wrong axis,
        a missing division.

    Used in Chapter 2.
    """
    if weights is None:
        return report(False, NOT_ATTEMPTED)
    s = np.asarray(scores, dtype=float)
    expected = given(s).softmax(axis=-1)
    w, problem = as_answer_array(weights, "weights", finite=False)
    if problem:
        return report(False, problem)
    keep = "A sum along an axis drops that axis; with keepdims=True it stays, as size 1, and broadcasts."
    if w.shape != s.shape:
        message, hint = "", None
        if w.ndim == s.ndim - 1:
            message = ": one number per row. Every entry keeps its own weight; only the row sums should be 1"
            hint = keep
        elif w.shape == s.T.shape:
            message = ": the answer is transposed; keep one row per query"
        return report(False, f"weights has shape {w.shape} but expected {s.shape}, the shape of the scores{message}.",
                      hint)
    shift = "Shift each row so that its largest score becomes 0, then take exp."
    nan = np.isnan(w)
    if nan.any():
        naive = np.exp(s) / np.sum(np.exp(s), axis=-1, keepdims=True)
        shifted = np.exp(s - s.max()) / np.sum(np.exp(s - s.max()), axis=-1, keepdims=True)
        rows = sorted({int(r) for r in np.nonzero(nan)[0]})
        if np.array_equal(nan, np.isnan(naive)):
            return report(False, f"weights contains NaN in row(s) {rows}: exp overflowed there (exp(1000) = inf, and "
                                 "inf / inf = NaN). Adding the same constant to a whole row does not change its "
                                 "softmax, and a shift can keep every exp small.", shift)
        if np.array_equal(nan, np.isnan(shifted)):
            return report(False, f"weights contains NaN in row(s) {rows}: you subtracted the maximum of the whole "
                                 "matrix, so every exp in those rows underflowed to 0 and 0 / 0 = NaN. Each row needs "
                                 "its own shift.", "A max along the last axis, with keepdims=True, gives one "
                                                   "maximum per row, as a column that broadcasts.")
        return report(False, f"weights contains NaN in row(s) {rows}: softmax of finite scores never gives NaN "
                             "if each row is shifted by its maximum first.", shift)
    if not np.all(np.isfinite(w)):
        return report(False, "weights contains inf: exp overflowed. Adding the same constant to a whole row does "
                             "not change its softmax.", shift)
    if close(w, expected) or rounded_like(w, expected):
        first = np.array2string(np.round(expected.value[0], 4), separator=", ")
        return report(True, f"Correct: every row sums to 1 and nothing overflowed; row 0 is {first}.")
    if too_coarse(w, expected, "weights"):
        return report(False, too_coarse(w, expected, "weights"))
    if (w < 0).any():
        return report(False, "weights has negative entries, but weights are exponentials divided by a positive sum.",
                      "exp turns every score, even a negative one, into a positive number.")
    if s.ndim == 2 and resembles(w, softmax(s, axis=0)):
        return report(False, "each column sums to 1, not each row: you normalised along the wrong axis. "
                             "Each query's row of scores becomes its weights.",
                      "A row's entries lie along the last axis.")
    if resembles(w, softmax(s.reshape(-1)).reshape(s.shape)):
        return report(False, "the whole matrix sums to 1, not each row: each row must be normalised by its own sum.",
                      keep)
    if resembles(w, np.exp(s - s.max(axis=-1, keepdims=True))):
        return report(False, "these are exp(z - max) before the division: each row must still be normalised to "
                             "sum to 1.")
    row_sums = w.sum(axis=-1)
    if not resembles(row_sums, np.ones_like(row_sums)):
        bad = int(np.argmax(np.abs(row_sums - 1.0)))
        got, _ = distinct(row_sums[bad], 1.0)
        return report(False, f"row {bad} sums to {got}, not 1: each row must be normalised by its own sum.", keep)
    diff = np.abs(w - expected.value)
    row = int(np.unravel_index(np.argmax(diff), diff.shape)[0])
    return report(False, f"every row sums to 1, but row {row} is off by up to {diff[row].max():.3g}: the weights "
                         "should be the softmax of each row of scores.",
                  "w_j = exp(z_j - m) / sum_i exp(z_i - m), with m the row's maximum.")


# ---------------------------------------------------------------- which key wins

@exercise_check
def check_top_key(answer, query, keys, labels=None):
    """Check which key a query attends to most: the key with the largest dot product ``query . key``.

    Softmax keeps the order of the scores, so the largest score gets the
    largest weight; no softmax is needed to answer.

    Parameters
    ----------
    answer : int or str or None
        The learner's answer: a key index, or one of ``labels``.
    query : array_like, shape (D,)
    keys : array_like, shape (S, D)
        One key per row.
    labels : sequence of str, optional
        Names of the keys (default ``"k0"``, ``"k1"``, ...).

    Returns
    -------
    Verdict
        Truthy when ``answer`` names the key with the largest score. A wrong
        answer is told if it picked the nearest key or the best-aligned key
        (largest cos θ), which is not the same as the largest dot product.

    Used in Chapter 2.
    """
    if answer is None:
        return report(False, NOT_ATTEMPTED)
    q = np.asarray(query, dtype=float)
    k = np.asarray(keys, dtype=float)
    labels = [f"k{j}" for j in range(len(k))] if labels is None else [str(name) for name in labels]
    if isinstance(answer, str):
        if answer.strip() not in labels:
            return report(False, f"{answer!r} is not one of the keys {labels}: answer with a name or an index.")
        chosen = labels.index(answer.strip())
    else:
        chosen, problem = read_number(answer, "answer", whole=True)
        if problem:
            return report(False, f"{problem} Answer with one key, as an index or a name from {labels}.")
        if chosen >= len(k):
            return report(False, f"index {chosen} is out of range: there are {len(k)} keys, indices 0 to {len(k) - 1}.")
    scores = given(k) @ given(q)
    s = scores.value
    weights = softmax(s)
    best = int(np.argmax(s))
    name = labels[chosen]
    # a key whose score ties the best one within float32 rounding wins too: a float32 computation could pick it
    if chosen == best or s[best] - s[chosen] <= np.finfo(np.float32).eps * (scores.err[best] + scores.err[chosen]):
        return report(True, f"Correct: {name} has the largest score, q . {name} = {s[chosen]:.4g}, so it gets the "
                            f"largest weight ({weights[chosen]:.3f}); softmax keeps the order of the scores.")
    cosines = s / (np.linalg.norm(k, axis=-1) * np.linalg.norm(q))
    distances = np.linalg.norm(k - q, axis=-1)
    compare = "Compare the scores q . k of all the keys: softmax keeps their order."
    if chosen == int(np.argmax(cosines)):
        return report(False, f"{name} points most nearly the same way as q (largest cos θ), but the score is "
                             f"|q| |k| cos θ and also grows with the key's length: q . {name} = {s[chosen]:.4g} is "
                             "not the largest score.", compare)
    if chosen == int(np.argmin(distances)):
        return report(False, f"{name} is the key nearest to q, but the score is the dot product, not the distance: "
                             f"q . {name} = {s[chosen]:.4g} is not the largest score.", compare)
    if chosen == int(np.argmin(s)):
        return report(False, f"{name} has the smallest score ({s[chosen]:.4g}), so it gets the least weight; "
                             "attention goes most to the largest score.", compare)
    return report(False, f"q . {name} = {s[chosen]:.4g}, but another key has a larger score.", compare)


# ---------------------------------------------------------------- temperature

@exercise_check
def check_temperature(tau, scores, low=0.9, high=0.95):
    """Check a temperature ``tau`` at which the largest weight of ``softmax(scores / tau)`` lies in [low, high].

    Parameters
    ----------
    tau : float or None
        The learner's temperature.
    scores : array_like, shape (S,)
        One row of scores.
    low, high : float
        The target range for the largest weight.

    Returns
    -------
    Verdict
        Truthy when ``low <= max(softmax(scores / tau)) <= high``; otherwise
        says whether to raise or lower the temperature.

    Used in Chapter 2.
    """
    if tau is None:
        return report(False, NOT_ATTEMPTED)
    tau, problem = read_number(tau, "tau")
    if problem:
        return report(False, problem)
    if tau == 0:
        return report(False, "tau = 0 divides by zero: the limit is one-hot, but pick a small positive number instead.")
    s = np.asarray(scores, dtype=float)
    weights = (given(s) / given(float(tau))).softmax()
    top_at = int(np.argmax(weights.value))
    top = float(weights.value[top_at])
    if tau < 0:
        return report(False, f"tau = {tau:g} is negative, which flips the order: the smallest score now gets the most "
                             f"weight (index {top_at}). A temperature is positive.")
    # the edges of the range move by the rounding of tau's own dtype, as for any answer
    slack = np.finfo(np.asarray(tau).dtype if not isinstance(tau, int) else np.float64).eps * weights.err[top_at]
    if low - slack <= top <= high + slack:
        return report(True, f"Correct: at tau = {tau:g} the largest weight is {top:.4f}, between {low} and {high}.")
    edge = low if top < low else high
    shown, _ = distinct(top, edge, "f")
    where = f"at tau = {tau:g} the largest weight is {shown}"
    if top < low:
        return report(False, f"{where}, below {low}: the weights are too flat. Lower tau (a smaller temperature sharpens).")
    return report(False, f"{where}, above {high}: too close to one-hot. Raise tau a little (a larger temperature flattens).")
