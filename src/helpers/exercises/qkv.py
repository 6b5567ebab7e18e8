"""Exercise checks on queries, keys and values (chapter 3).

The expected answers come from the math helpers (:func:`helpers.linear`,
:func:`helpers.softmax` and :func:`helpers.scaled_dot_product_attention`), so
a check and the book cannot disagree.
"""

import numpy as np

from ..attention import scaled_dot_product_attention, softmax
from ..projections import linear
from ._rounded import rounded_like, too_coarse
from ._verdict import (NOT_ATTEMPTED, as_answer_array, attention, brief, close, exercise_check, given, not_a,
                       read_number, report, resembles)

__all__ = ["check_qkv_projections", "check_score_matrix", "check_attention_shapes", "check_soft_lookup"]


# ---------------------------------------------------------------- Q, K and V

def _projection_problem(name, answer, x, weights, own, shapes):
    """What is wrong with one of Q, K, V (``own`` names the weight it should use): ``(message, hint)``, or None."""
    expected = (given(x) @ given(weights[own])).with_value(linear(x, weights[own]))
    a, problem = as_answer_array(answer, name)
    if problem:
        return problem, None
    if close(a, expected) or rounded_like(a, expected):
        return None
    if too_coarse(a, expected, name):
        return too_coarse(a, expected, name), None
    for other, w in weights.items():
        if other != own and resembles(a, linear(x, w)):
            return (f"{name} equals x @ {other}: the weights are swapped; each of Q, K and V has a projection of "
                    "its own.", f"{name} is made by {own}.")
    if a.shape == expected.value.T.shape and resembles(a, expected.value.T):
        return (f"{name} has shape {a.shape}, one column per token: that is (x @ {own}).T. "
                f"The course keeps tokens in rows, so {name} has shape {expected.shape}."), None
    if a.shape == x.shape and resembles(a, x):
        return f"{name} is x itself: it was not projected.", f"{name} is x projected by {own}."
    if a.shape != expected.shape:
        message = ""
        for other, shape in shapes.items():
            if other != own and a.shape == shape:
                message = f", the shape of x @ {other}: did you use {other}?"
                break
        return f"{name} has shape {a.shape} but expected (T, width of {own}) = {expected.shape}{message}.", None
    w = weights[own]
    if w.shape[0] == w.shape[1] and resembles(a, linear(x, w.T)):
        return (f"{name} equals x @ {own}.T: {own} is already in the course layout (D, d), so it needs no "
                "transpose."), None
    return (f"{name} has the right shape {expected.shape} but wrong values: each row should be its token "
            f"projected by {own}."), f"Row t of {name} is x[t] @ {own}."


@exercise_check
def check_qkv_projections(q, k, v, x, w_q, w_k, w_v):
    """Check the queries, keys and values of self-attention: ``Q = x @ w_q``, ``K = x @ w_k``, ``V = x @ w_v``.

    Parameters
    ----------
    q, k, v : array_like or None
        The learner's answers, expected shapes (T, d_k), (T, d_k), (T, d_v).
    x : array_like, shape (T, D)
        The token vectors.
    w_q, w_k : array_like, shape (D, d_k)
    w_v : array_like, shape (D, d_v)

    Returns
    -------
    Verdict
        Truthy if all three match :func:`helpers.linear`; otherwise says which
        one is wrong first (swapped weights, a transpose, a wrong shape).

    Used in Chapter 3.
    """
    answers = {"Q": q, "K": k, "V": v}
    if all(a is None for a in answers.values()):
        return report(False, NOT_ATTEMPTED)
    missing = [name for name, a in answers.items() if a is None]
    if missing:
        return report(False, f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} still None: "
                              "compute all three of Q, K and V.")
    x = np.asarray(x, dtype=float)
    weights = {"W_q": np.asarray(w_q, dtype=float), "W_k": np.asarray(w_k, dtype=float),
               "W_v": np.asarray(w_v, dtype=float)}
    shapes = {name: (x.shape[0], w.shape[1]) for name, w in weights.items()}
    for (name, answer), own in zip(answers.items(), weights):
        problem = _projection_problem(name, answer, x, weights, own, shapes)
        if problem:
            return report(False, *problem)
    t, d_k, d_v = x.shape[0], weights["W_q"].shape[1], weights["W_v"].shape[1]
    return report(True, f"Correct: three projections of the same x, Q and K of shape (T, d_k) = ({t}, {d_k}) "
                        f"and V of shape (T, d_v) = ({t}, {d_v}).")


# ---------------------------------------------------------------- the score matrix

@exercise_check
def check_score_matrix(scores, q, k):
    """Check the raw score matrix ``scores = q @ k.T`` (no scale, no softmax).

    Parameters
    ----------
    scores : array_like or None
        The learner's answer, expected shape (T, S).
    q : array_like, shape (T, d_k)
        Queries.
    k : array_like, shape (S, d_k)
        Keys.

    Returns
    -------
    Verdict
        Truthy if ``scores`` equals ``q @ k.T``. Recognises ``k @ q.T`` (the
        transpose: keys asking queries), ``q.T @ k``, a 1/sqrt(d_k) scale and
        a softmax that the exercise did not ask for.

    Used in Chapter 3.
    """
    if scores is None:
        return report(False, NOT_ATTEMPTED)
    q = np.asarray(q, dtype=float)
    k = np.asarray(k, dtype=float)
    expected = given(q) @ given(k).T  # (T, d_k) @ (d_k, S) -> (T, S)
    t, s, d_k = q.shape[0], k.shape[0], q.shape[1]
    a, problem = as_answer_array(scores, "scores")
    if problem:
        return report(False, problem)
    pairs = "A matrix product pairs each row of its left factor with each column of its right factor."
    if close(a, expected) or rounded_like(a, expected):
        symmetric = t == s and close(expected.value.T, expected)
        gap = float(np.max(np.abs(expected.value - expected.value.T))) if t == s else 0.0
        extra = (f" It is not symmetric: max |Z - Z.T| = {gap:.3g}, because W_q and W_k differ."
                 if t == s and not symmetric else "")
        return report(True, f"Correct: Z = Q @ K.T has shape (T, S) = ({t}, {s}); entry [i, j] is query i against "
                            f"key j.{extra}")
    if too_coarse(a, expected, "scores"):
        return report(False, too_coarse(a, expected, "scores"))
    if t == s and a.shape == (d_k, d_k) and resembles(a, q.T @ k):
        return report(False, f"scores has shape ({d_k}, {d_k}) = (d_k, d_k): that is Q.T @ K, which sums over the "
                             "tokens instead of comparing them. Each score compares one query with one key.", pairs)
    if a.shape == expected.value.T.shape and resembles(a, expected.value.T):
        if t == s:
            return report(False, "scores equals K @ Q.T, the transpose of the answer: row i holds key i against every "
                                 "query. With separate W_q and W_k that is a different matrix: the rows must be the "
                                 "queries.", pairs)
        return report(False, f"scores has shape {a.shape} = (S, T): that is K @ Q.T, one row per key. The rows must be "
                             f"the queries and the columns the keys: shape ({t}, {s}).", pairs)
    if a.shape != expected.shape:
        return report(False, f"scores has shape {a.shape} but expected (T, S) = {expected.shape}: one row per query, "
                             "one column per key.")
    if resembles(a, expected.value / np.sqrt(d_k)):
        return report(False, f"scores is Q @ K.T / sqrt(d_k): this exercise asks for the raw scores, without the "
                             f"1/sqrt({d_k}) scale (Chapter 4 explains the scale).")
    if resembles(a, softmax(expected.value)) or resembles(a, softmax(expected.value / np.sqrt(d_k))):
        return report(False, "scores has rows that sum to 1: you applied softmax, which gives weights; this exercise "
                             "asks for the raw scores.")
    if t == s and resembles(a, q @ q.T):
        return report(False, "scores equals Q @ Q.T: the queries are compared with themselves, not with the keys.")
    diff = np.abs(a - expected.value)
    i, j = np.unravel_index(np.argmax(diff), diff.shape)
    return report(False, f"scores has the right shape {expected.shape} but wrong values: scores[{i}, {j}] is off "
                         f"by {diff[i, j]:.3g}; it should be the dot product of Q[{i}] and K[{j}].")


# ---------------------------------------------------------------- shapes

_SHAPE_NAMES = ("Q", "K", "V", "scores", "weights", "output")


def _as_shape(value):
    """Return ``value`` as a tuple of ints, or None if it is not a shape."""
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        return None
    try:
        items = tuple(value)
    except Exception:  # e.g. a 0-d array, or an iterator that raises
        return None
    sizes = [read_number(n, "size", whole=True) for n in items]
    if any(problem for _, problem in sizes):
        return None
    return tuple(n for n, _ in sizes)


@exercise_check
def check_attention_shapes(shapes, T, S, D, d_k, d_v):
    """Check a filled-in shape table for attention with T queries and S keys (S = T in self-attention).

    Parameters
    ----------
    shapes : dict or None
        The learner's answer: ``{"Q": (...), "K": (...), "V": (...),
        "scores": (...), "weights": (...), "output": (...)}``, each a tuple of ints.
    T, S, D, d_k, d_v : int
        Query positions, key positions, model width, key width, value width.

    Returns
    -------
    Verdict
        Truthy if every shape is right; otherwise names the first wrong entry
        and the letter that went wrong.

    Used in Chapter 3.
    """
    if shapes is None:
        return report(False, NOT_ATTEMPTED)
    if not isinstance(shapes, dict):
        return report(False, not_a(shapes, "the answer", "a dict of shapes like {'Q': (T, d_k), ...}"))
    # The true shapes come from running the helpers on zeros of the stated sizes.
    q, k, v = np.zeros((T, d_k)), np.zeros((S, d_k)), np.zeros((S, d_v))
    out, weights = scaled_dot_product_attention(q, k, v)
    expected = {"Q": q.shape, "K": k.shape, "V": v.shape, "scores": weights.shape, "weights": weights.shape,
                "output": out.shape}
    letters = {"Q": "(T, d_k)", "K": "(S, d_k)", "V": "(S, d_v)", "scores": "(T, S)", "weights": "(T, S)",
               "output": "(T, d_v)"}
    why = {"Q": "one query per query position",
           "K": "one key per key position, as wide as the queries",
           "V": "one value per key position, each d_v wide",
           "scores": "one row per query, one column per key",
           "weights": "softmax keeps the shape of the scores",
           "output": "each output is a weighted average of values, so it is d_v wide, one row per query"}
    missing = [name for name in _SHAPE_NAMES if shapes.get(name) is None]
    if len(missing) == len(_SHAPE_NAMES):
        return report(False, NOT_ATTEMPTED)
    if missing:
        return report(False, f"fill in every entry: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing.")
    sizes = {"T": T, "S": S, "D": D, "d_k": d_k, "d_v": d_v}
    for name in _SHAPE_NAMES:
        given = _as_shape(shapes[name])
        if given is None:
            return report(False, f"{name} should be a tuple of whole numbers such as {expected[name]}, "
                                 f"but it is {brief(shapes[name])}.")
        if given == expected[name]:
            continue
        spelled = ", ".join("/".join(n for n, s in sizes.items() if s == size) or str(size) for size in given)
        return report(False, f"{name} = {given} reads as ({spelled}), but it should be {letters[name]} = "
                              f"{expected[name]}: {why[name]}.")
    return report(True, f"Correct: Q {expected['Q']}, K {expected['K']}, V {expected['V']}, scores and weights "
                        f"{expected['scores']}, output {expected['output']}. D = {D} appears in none of them: "
                        "only the weight matrices see it.")


# ---------------------------------------------------------------- a soft lookup

@exercise_check
def check_soft_lookup(out, q, k, v):
    """Check one soft dictionary lookup without a scale: ``softmax(k @ q) @ v``.

    Parameters
    ----------
    out : array_like or None
        The learner's answer, expected shape (d_v,).
    q : array_like, shape (d_k,)
        One query.
    k : array_like, shape (S, d_k)
        The keys.
    v : array_like, shape (S, d_v)
        The values.

    Returns
    -------
    Verdict
        Truthy if ``out`` matches :func:`helpers.scaled_dot_product_attention`
        with ``scale=1``. Recognises a missing softmax, unnormalised weights,
        a hard lookup, the 1/sqrt(d_k) scale and returning the weights.

    Used in Chapter 3.
    """
    if out is None:
        return report(False, NOT_ATTEMPTED)
    q = np.asarray(q, dtype=float)
    k = np.asarray(k, dtype=float)
    v = np.asarray(v, dtype=float)
    expected, weights = attention(q[None, :], k, v, scale=1.0)
    expected, weights = expected[0], weights.value[0]  # (d_v,), (S,)
    a, problem = as_answer_array(out, "out")
    if problem:
        return report(False, problem)
    d_v, n_keys = v.shape[1], k.shape[0]
    if a.shape == (1, d_v):
        a = a[0]  # a (1, d_v) row is the same answer
    average = "The output is the average of the rows of V, each weighted by its key's weight."
    if close(a, expected) or rounded_like(a, expected):
        top = int(np.argmax(weights))
        return report(True, f"Correct: the weights sum to 1 (key {top} gets the most, {weights[top]:.2f}), "
                            f"and out is the weighted average of the {n_keys} values, shape ({d_v},).")
    if too_coarse(a, expected, "out"):
        return report(False, too_coarse(a, expected, "out"))
    if a.shape == (n_keys,) and n_keys != d_v:
        if resembles(a, weights):
            return report(False, f"out holds the {n_keys} weights: the output is the average of the values, "
                                 "weighted by them.", average)
        return report(False, f"out has shape ({n_keys},), one number per key: the output is one value-sized "
                             f"vector, shape ({d_v},).", average)
    if a.shape != expected.shape:
        return report(False, f"out has shape {a.shape} but expected (d_v,) = ({d_v},): "
                             "one weighted average of the value rows.")
    scores = k @ q  # (S,)
    if resembles(a, scores @ v):
        return report(False, "out equals scores @ V: the raw scores are not weights, which are positive and "
                             "sum to 1.", "Softmax turns scores into weights.")
    if resembles(a, np.exp(scores) @ v):
        return report(False, "out equals exp(scores) @ V: the weights do not sum to 1.",
                      "Softmax divides each exp by the sum of all of them.")
    if resembles(a, v[int(np.argmax(scores))]):
        return report(False, "out is the value of the best key alone: that is a hard lookup. A soft lookup "
                             "averages every value, weighted by the softmax of the scores.")
    if resembles(a, softmax(scores / np.sqrt(k.shape[1])) @ v):
        return report(False, "out uses the 1/sqrt(d_k) scale: this exercise asks for the softmax of the raw "
                             "scores, without a scale.")
    if resembles(a, v.mean(axis=0)):
        return report(False, "out is the plain mean of the values: the query was ignored. The weights come from "
                             "comparing the query with each key.")
    return report(False, f"out has the right shape ({d_v},) but wrong values (off by up to "
                         f"{np.max(np.abs(a - expected.value)):.3g}): it should average the values, weighted by the "
                         "softmax of the scores.", "The scores are the dot products K @ q, one per key.")
