"""Exercise checks on dot products, score matrices and softmax (chapter 2)."""

import numbers

import numpy as np

from ..attention import softmax
from ._verdict import NOT_ATTEMPTED, as_answer_array, close, report

__all__ = ["check_self_scores", "check_stable_softmax", "check_top_key", "check_temperature"]


# ---------------------------------------------------------------- the score matrix

def check_self_scores(scores, x):
    """Check the all-pairs score matrix of a sequence with itself, ``x @ x.T``.

    Chapter 2 has no projections yet, so every token vector is compared with
    every token vector. (Chapter 3's :func:`check_score_matrix` checks
    ``q @ k.T`` with separate queries and keys.)

    Parameters
    ----------
    scores : array_like or None
        The learner's answer, expected shape (T, T).
    x : array_like, shape (T, d)
        Token vectors, one per row.

    Returns
    -------
    Verdict
        Truthy when ``scores`` equals ``x @ x.T``. Recognises ``x.T @ x``,
        the element-wise ``x * x``, the diagonal only, a softmax or a
        1/sqrt(d) scale that was not asked for.

    Used in Chapter 2.
    """
    if scores is None:
        return report(False, NOT_ATTEMPTED)
    x = np.asarray(x, dtype=float)
    expected = x @ x.T
    s, problem = as_answer_array(scores, "scores")
    if problem:
        return report(False, problem)
    t, d = x.shape
    if s.shape != expected.shape:
        hint = ""
        if s.shape == (d, d) and close(s, x.T @ x):
            hint = (f": that is x.T @ x, which compares the d={d} feature columns with each other, "
                    "not the tokens. Tokens are rows, so compute x @ x.T")
        elif s.shape == x.shape and close(s, x * x):
            hint = (": that is x * x, an element-by-element product. "
                    "A dot product also sums over the features; use the matrix product x @ x.T")
        elif s.shape == x.shape:
            hint = f": that is the shape of x, one row of d={d} features per token; each score is one number"
        elif s.shape == (t,) and close(s, np.sum(x * x, axis=-1)):
            hint = (": that is only the diagonal, each token with itself. "
                    f"The score matrix holds every pair (i, j), so it has shape ({t}, {t})")
        elif s.ndim <= 1:
            hint = ": that is a single token's scores at most. Compute all pairs at once with x @ x.T"
        return report(False, f"scores has shape {s.shape} but expected ({t}, {t}){hint}.")
    if close(s, expected):
        return report(True, f"Correct: x @ x.T has shape ({t}, {t}); entry [i, j] is the dot product of token i "
                            "with token j, and it is symmetric: x_i . x_j = x_j . x_i.")
    if close(s, softmax(expected)):
        return report(False, "these are already softmax weights (each row sums to 1). The score matrix is the raw "
                              "dot products, before softmax: x @ x.T.")
    if close(s, expected / np.sqrt(d)):
        return report(False, "scores equals x @ x.T / sqrt(d): the 1/sqrt(d) scaling comes in Chapter 4. "
                              "Here we want the raw dot products.")
    diff = np.abs(s - expected)
    i, j = (int(a) for a in np.unravel_index(np.argmax(diff), diff.shape))
    return report(False, f"scores has the right shape {expected.shape} but wrong values: entry [{i}, {j}] is {s[i, j]:.4g}, "
                          f"but the dot product of row {i} with row {j} is {expected[i, j]:.4g}.")


# ---------------------------------------------------------------- softmax

def check_stable_softmax(weights, scores):
    """Check a softmax over the last axis (each row sums to 1) that survives large scores.

    Parameters
    ----------
    weights : array_like or None
        The learner's answer, the same shape as ``scores``.
    scores : array_like, shape (T, S)
        Scores, some of them large enough that ``exp`` overflows (e.g. 1000).

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
    expected = softmax(s, axis=-1)
    w, problem = as_answer_array(weights, "weights", finite=False)
    if problem:
        return report(False, problem)
    if w.shape != s.shape:
        hint = ""
        if w.ndim == s.ndim - 1:
            hint = ": one number per row. Keep every entry; only the row sums should be 1 (use keepdims=True when you sum)"
        elif w.shape == s.T.shape:
            hint = ": the answer is transposed; keep one row per query"
        return report(False, f"weights has shape {w.shape} but expected {s.shape}, the shape of the scores{hint}.")
    nan = np.isnan(w)
    if nan.any():
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            naive = np.exp(s) / np.sum(np.exp(s), axis=-1, keepdims=True)
            shifted = np.exp(s - s.max()) / np.sum(np.exp(s - s.max()), axis=-1, keepdims=True)
        rows = sorted({int(r) for r in np.nonzero(nan)[0]})
        if np.array_equal(nan, np.isnan(naive)):
            return report(False, f"weights contains NaN in row(s) {rows}: exp overflowed there (exp(1000) = inf, and inf / inf = NaN). "
                                  "Subtract each row's maximum before exp: s - s.max(axis=-1, keepdims=True).")
        if np.array_equal(nan, np.isnan(shifted)):
            return report(False, f"weights contains NaN in row(s) {rows}: you subtracted the maximum of the whole matrix, so every exp "
                                  "in those rows underflowed to 0 and 0 / 0 = NaN. Subtract each row's own maximum: "
                                  "s.max(axis=-1, keepdims=True).")
        return report(False, f"weights contains NaN in row(s) {rows}: softmax of finite scores never gives NaN "
                              "if you subtract each row's maximum first.")
    if not np.all(np.isfinite(w)):
        return report(False, "weights contains inf: exp overflowed. Subtract each row's maximum before exp.")
    if close(w, expected):
        first = np.array2string(np.round(expected[0], 4), separator=", ")
        return report(True, f"Correct: every row sums to 1 and nothing overflowed; row 0 is {first}.")
    if (w < 0).any():
        return report(False, "weights has negative entries, but weights are exponentials divided by a positive sum. "
                              "Did you forget np.exp?")
    if s.ndim == 2 and close(w, softmax(s, axis=0)):
        return report(False, "each column sums to 1, not each row: you normalised along axis=0. "
                              "Each query's row of scores becomes its weights, so use axis=-1.")
    if close(w, softmax(s.reshape(-1)).reshape(s.shape)):
        return report(False, "the whole matrix sums to 1, not each row: sum along the last axis only "
                              "(axis=-1, keepdims=True).")
    unnormalised = np.exp(s - s.max(axis=-1, keepdims=True))
    if close(w, unnormalised):
        return report(False, "these are exp(s - max) before the division: divide each row by its sum so that it sums to 1.")
    row_sums = w.sum(axis=-1)
    if not np.allclose(row_sums, 1.0):
        bad = int(np.argmax(np.abs(row_sums - 1.0)))
        return report(False, f"row {bad} sums to {row_sums[bad]:.4g}, not 1: divide exp(s - max) by its sum along axis=-1.")
    diff = np.abs(w - expected)
    row = int(np.unravel_index(np.argmax(diff), diff.shape)[0])
    return report(False, f"every row sums to 1, but row {row} is off by up to {diff[row].max():.3g}: "
                          "the weights should be exp(s_j - m) / sum_i exp(s_i - m), with m the row's maximum.")


# ---------------------------------------------------------------- which key wins

def check_top_key(answer, query, keys, labels=None):
    """Check which key a query attends to most: the key with the largest dot product ``query . key``.

    Softmax keeps the order of the scores, so the largest score gets the
    largest weight; no softmax is needed to answer.

    Parameters
    ----------
    answer : int or str or None
        The learner's answer: a key index, or one of ``labels``.
    query : array_like, shape (d,)
    keys : array_like, shape (S, d)
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
        if answer not in labels:
            return report(False, f"{answer!r} is not one of the keys {labels}: answer with a name or an index.")
        chosen = labels.index(answer)
    elif isinstance(answer, numbers.Integral) and not isinstance(answer, bool):
        chosen = int(answer)
        if not 0 <= chosen < len(k):
            return report(False, f"index {chosen} is out of range: there are {len(k)} keys, indices 0 to {len(k) - 1}.")
    else:
        return report(False, f"answer with one key, as an index (an int) or a name from {labels}, "
                              f"not a {type(answer).__name__}.")
    scores = k @ q
    weights = softmax(scores)
    best = int(np.argmax(scores))
    name, best_name = labels[chosen], labels[best]
    if chosen == best:
        return report(True, f"Correct: {name} has the largest score, q . {name} = {scores[best]:.4g}, so it gets the largest "
                            f"weight ({weights[best]:.3f}); softmax keeps the order of the scores.")
    cosines = scores / (np.linalg.norm(k, axis=-1) * np.linalg.norm(q))
    distances = np.linalg.norm(k - q, axis=-1)
    why = f"{best_name} has the larger score {scores[best]:.4g}"
    if chosen == int(np.argmax(cosines)):
        return report(False, f"{name} points most nearly the same way as q (largest cos θ), but the score is |q| |k| cos θ "
                              f"and also grows with the key's length: q . {name} = {scores[chosen]:.4g}, while {why}.")
    if chosen == int(np.argmin(distances)):
        return report(False, f"{name} is the key nearest to q, but the score is the dot product, not the distance: "
                              f"q . {name} = {scores[chosen]:.4g}, while {why}.")
    if chosen == int(np.argmin(scores)):
        return report(False, f"{name} has the smallest score ({scores[chosen]:.4g}), so it gets the least weight; {why}.")
    return report(False, f"q . {name} = {scores[chosen]:.4g}, but {why}.")


# ---------------------------------------------------------------- temperature

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
    if isinstance(tau, bool) or not isinstance(tau, numbers.Real):
        if isinstance(tau, np.ndarray) and tau.size == 1 and tau.dtype.kind in "iuf":
            tau = tau.item()
        else:
            return report(False, f"tau should be a single number, but it is a {type(tau).__name__}.")
    tau = float(tau)
    if not np.isfinite(tau):
        return report(False, f"tau = {tau} is not a finite number: pick a positive temperature.")
    if tau == 0:
        return report(False, "tau = 0 divides by zero: the limit is one-hot, but pick a small positive number instead.")
    s = np.asarray(scores, dtype=float)
    weights = softmax(s / tau)
    top = float(weights.max())
    if tau < 0:
        return report(False, f"tau = {tau:g} is negative, which flips the order: the smallest score now gets the most weight "
                              f"(index {int(np.argmax(weights))}). A temperature is positive.")
    where = f"at tau = {tau:g} the largest weight is {top:.4f}"
    if low <= top <= high:
        return report(True, f"Correct: {where}, between {low} and {high}.")
    if top < low:
        return report(False, f"{where}, below {low}: the weights are too flat. Lower tau (a smaller temperature sharpens).")
    return report(False, f"{where}, above {high}: too close to one-hot. Raise tau a little (a larger temperature flattens).")
