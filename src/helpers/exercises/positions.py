"""Exercise checks on positions: order-blind attention, sinusoidal positions and RoPE (chapter 7).

The expected answers come from the math helpers
(:func:`helpers.scaled_dot_product_attention`, :func:`helpers.sinusoidal_positions`,
:func:`helpers.apply_rope` and :func:`helpers.rope_pairing_permutation`), so a
check and the book cannot disagree. Each check recognises the usual slips
(a permutation applied to one axis only, sines and cosines swapped, the
other RoPE pairing, the inverse permutation, ...) and names them.

RoPE has two valid conventions, rotate-half and adjacent pairs. An exercise
asks for one of them; an answer in the other one is not called wrong in
general, only not the convention the exercise asks for.
"""

import numpy as np

from ..attention import scaled_dot_product_attention
from ..positions import sinusoidal_positions
from ..rope import apply_rope, rope_pairing_permutation
from ._verdict import (NOT_ATTEMPTED, Reference, as_answer_array, attention, close, distinct, exactly,
                       exercise_check, given, report, resembles, shape_mismatch)

__all__ = ["check_shuffled_weights", "check_sinusoidal_positions", "check_rope_vector", "check_rope_half_weights"]


# ---------------------------------------------------------------- attention does not see the order

def _permutation(perm, n):
    """``perm`` as an int array, or a ValueError unless it reorders 0 .. n-1 (a bug in the exercise, not the answer)."""
    p = np.asarray(perm)
    if p.shape != (n,) or p.dtype.kind not in "iu" or not np.array_equal(np.sort(p), np.arange(n)):
        raise ValueError(f"perm must reorder 0..{n - 1}, got {perm!r}")
    return p


@exercise_check
def check_shuffled_weights(weights_shuffled, q, k, perm):
    """Check the attention weights of a shuffled sequence, read off the weights of the original order.

    Without positions, attention is permutation-equivariant: if the tokens are
    reordered, ``x_shuffled = x[perm]``, so are their queries and keys
    (``q[perm]``, ``k[perm]``), and the (T, T) weights are reordered along
    both axes: ``weights[perm][:, perm]``.

    Parameters
    ----------
    weights_shuffled : array_like or None
        The learner's answer, shape (T, T).
    q, k : array_like, shape (T, d)
        One head's queries and keys, in the original order.
    perm : sequence of int, shape (T,)
        The new order: position t of the shuffled sequence holds original token ``perm[t]``.

    Returns
    -------
    Verdict
        Truthy when the answer equals the weights of attention on ``q[perm]``
        and ``k[perm]``; otherwise names the mistake (rows only, columns only,
        the inverse permutation, the original weights, a transpose).

    Used in Chapter 7.
    """
    if weights_shuffled is None:
        return report(False, NOT_ATTEMPTED)
    q, k = np.asarray(q, dtype=float), np.asarray(k, dtype=float)
    p = _permutation(perm, q.shape[0])
    _, weights = scaled_dot_product_attention(q, k, k)  # the original order: (T, T)
    _, expected = attention(q[p], k[p], k[p])  # the shuffled order, with its rounding bound
    a, problem = as_answer_array(weights_shuffled, "weights_shuffled")
    if problem:
        return report(False, problem)
    t = q.shape[0]
    if a.shape != expected.shape:
        return shape_mismatch("weights_shuffled", a.shape, expected.shape, "(T, T)")
    if close(a, expected):
        return report(True, "Correct: row t and column t both belong to the token now at position t, original "
                            "token perm[t], so the weights move along both axes, weights[perm][:, perm]: every "
                            "pair of tokens keeps its weight, only its place changes.")
    both = "A row is a query token and a column is a key token: both moved."
    inverse = np.argsort(p)
    if resembles(a, weights):
        return report(False, "weights_shuffled equals the original weights: the tokens moved, so the rows "
                             "(queries) and the columns (keys) of the weights move with them.", both)
    if resembles(a, weights[p]):
        return report(False, "you reordered the rows (the queries) but not the columns: the keys are the same "
                             "shuffled tokens, so column t now belongs to token perm[t] too.", both)
    if resembles(a, weights[:, p]):
        return report(False, "you reordered the columns (the keys) but not the rows: the queries are the same "
                             "shuffled tokens, so row t now belongs to token perm[t] too.", both)
    if not np.array_equal(inverse, p) and resembles(a, weights[inverse][:, inverse]):
        return report(False, "that moves the tokens the other way (the inverse permutation): position t of the "
                             "shuffled sequence holds original token perm[t], so its row is original row perm[t].",
                      "x_shuffled = x[perm]: index with perm itself.")
    if resembles(a, weights[p][:, p].T):
        return report(False, "that is the transpose: rows are queries and columns are keys, and the weights of a "
                             "query (a row) sum to 1.")
    return report(False, f"weights_shuffled has the right shape ({t}, {t}) but other numbers: without positions, "
                         "shuffling the tokens only moves each weight to the new places of its query and key.", both)


# ---------------------------------------------------------------- the sinusoidal table

def _sinusoid_reference(T, D, base):
    """The sinusoidal table as a Reference: how far a correct float computation of it may stray."""
    half = D // 2
    angles = exactly(np.arange(T, dtype=float)[:, None]) * (
        given(base) ** given(-2.0 * np.arange(half) / D)[None, :])  # (T, D/2)
    sin, cos = angles.sin(), angles.cos()
    value = np.empty((T, D))
    err = np.empty((T, D))
    value[:, 0::2], value[:, 1::2] = sin.value, cos.value
    err[:, 0::2], err[:, 1::2] = sin.err, cos.err
    return Reference(value, err).with_value(sinusoidal_positions(T, D, base))


def _sinusoid_variant(T, D, base, *, swap=False, exponent=2.0, start=0):
    """A wrong table: cosines at the even columns, another exponent, or positions from ``start``."""
    t = np.arange(start, start + T, dtype=float)[:, None]
    angles = t * base ** (-exponent * np.arange(D // 2) / D)[None, :]
    first, second = (np.cos, np.sin) if swap else (np.sin, np.cos)
    out = np.empty((T, D))
    out[:, 0::2], out[:, 1::2] = first(angles), second(angles)
    return out


@exercise_check
def check_sinusoidal_positions(table, T, D, base=10000.0):
    """Check a sinusoidal position table built by hand, in the paper's layout.

    ``P[t, 2i] = sin(t w_i)`` and ``P[t, 2i + 1] = cos(t w_i)`` with
    ``w_i = base ** (-2i / D)``: the table of :func:`helpers.sinusoidal_positions`.

    Parameters
    ----------
    table : array_like or None
        The learner's answer, shape (T, D).
    T : int
        Number of positions, 0 .. T-1.
    D : int
        Model width (even).
    base : float, default 10000.0

    Returns
    -------
    Verdict
        Truthy when right; otherwise names the mistake (sines and cosines
        swapped, all sines first, w_i = base^(-i/D), positions counted from 1,
        the transpose).

    Used in Chapter 7.
    """
    if table is None:
        return report(False, NOT_ATTEMPTED)
    T, D, base = int(T), int(D), float(base)
    expected = _sinusoid_reference(T, D, base)
    a, problem = as_answer_array(table, "table")
    if problem:
        return report(False, problem)
    layout = "Columns 2i and 2i + 1 hold sin(t w_i) and cos(t w_i), w_i = base^(-2i/D)."
    if a.shape != expected.shape:
        known = [((D, T), ": one column per position, but the table has one row per position (it is added to "
                          "the token rows of x)"),
                 ((T, D // 2), ": one number per frequency, but each frequency gives two columns, a sine and a "
                               "cosine")]
        return shape_mismatch("table", a.shape, expected.shape, "(T, D)", known)
    if close(a, expected):
        return report(True, f"Correct: shape ({T}, {D}); the sine and the cosine of each frequency sit side by "
                            f"side, and every row has length sqrt(D/2) = {np.sqrt(D / 2):.4f}.")
    value = expected.value
    if resembles(a, _sinusoid_variant(T, D, base, swap=True)):
        return report(False, "the cosines are at the even columns and the sines at the odd ones: the paper puts "
                             "sin(t w_i) at column 2i and cos(t w_i) at column 2i + 1.")
    if resembles(a, np.concatenate([value[:, 0::2], value[:, 1::2]], axis=1)):
        return report(False, "all the sines come first and all the cosines after: some code lays the table out "
                             "like that, and it holds the same numbers. This exercise asks for the paper's layout, "
                             "where each sine sits beside the cosine of the same frequency.", layout)
    if resembles(a, _sinusoid_variant(T, D, base, exponent=1.0)):
        return report(False, "your frequencies are base^(-i/D); the paper's are base^(-2i/D), so the exponents "
                             "are the even numbers 0, 2, 4, ... divided by D.")
    if resembles(a, _sinusoid_variant(T, D, base, start=1)):
        return report(False, "your positions start at 1; the first row is position 0, [0, 1, 0, 1, ...].")
    if resembles(a[:, 0::2], value[:, 0::2]):
        return report(False, "the sine columns are right, but the cosine columns are not: column 2i + 1 is the "
                             "cosine of the same angle t w_i as column 2i.", layout)
    return report(False, f"table has the right shape ({T}, {D}) but other numbers.", layout)


# ---------------------------------------------------------------- RoPE by hand

def _rope_interleaved(x, position, base):
    """RoPE with adjacent pairs (2i, 2i+1): the pairing of the RoFormer paper and of Meta's original Llama code."""
    d = x.shape[-1]
    theta = position * base ** (-np.arange(0, d, 2) / d)
    out = x.copy()
    out[0::2] = x[0::2] * np.cos(theta) - x[1::2] * np.sin(theta)
    out[1::2] = x[1::2] * np.cos(theta) + x[0::2] * np.sin(theta)
    return out


def _rope_freq(x, position, base, exponent):
    """Rotate-half RoPE with the angle position * base ** (-exponent(i) / d)."""
    d = x.shape[-1]
    half = d // 2
    theta = position * base ** (-exponent(np.arange(half)) / d)
    cos, sin = np.cos(np.concatenate([theta, theta])), np.sin(np.concatenate([theta, theta]))
    return x * cos + np.concatenate([-x[half:], x[:half]]) * sin


_PAIRS = {"half": "element i with element i + d/2 (rotate half)",
          "adjacent": "neighbours, elements 2i and 2i + 1 (adjacent pairs)"}
_USED_BY = {"half": "GPT-NeoX, Hugging Face's Llama and helpers.apply_rope's default",
            "adjacent": "the RoFormer paper and Meta's original Llama code"}


@exercise_check
def check_rope_vector(rotated, x, position, base=10000.0, pairing="half"):
    """Check RoPE applied by hand to one vector ``x`` of width d at ``position``.

    Parameters
    ----------
    rotated : array_like or None
        The learner's answer, shape (d,).
    x : array_like, shape (d,)
        A query or key of one head (d even).
    position : int
        The token's position m.
    base : float, default 10000.0
        RoPE's base (``rope_theta``).
    pairing : {"half", "adjacent"}, default "half"
        The pairing the exercise asks for: element i with i + d/2 (GPT-NeoX,
        Hugging Face's Llama), or neighbours 2i and 2i + 1 (the RoFormer paper,
        Meta's original Llama code).

    Returns
    -------
    Verdict
        Truthy if ``rotated`` equals :func:`helpers.apply_rope`
        ``(x[None], [m], base, pairing=pairing)[0]``; otherwise names the
        mistake (the other pairing, the opposite direction, angles i/d instead
        of 2i/d, a position off by one, the wrong base, x unchanged).

    Used in Chapter 7.
    """
    if pairing not in _PAIRS:
        raise ValueError(f"pairing must be 'half' or 'adjacent', got {pairing!r}")
    if rotated is None:
        return report(False, NOT_ATTEMPTED)
    x = np.asarray(x, dtype=float)
    m = int(position)
    d = x.size
    # Both pairings in terms of rotate-half: adjacent(x) = half(x[perm])[inverse], with chapter 7's permutation.
    perm = rope_pairing_permutation(d) if pairing == "adjacent" else np.arange(d)
    inverse = np.argsort(perm)

    def rope(f):  # a rotate-half formula f, in the exercise's pairing
        return f(x[perm])[inverse]

    def half(position, b=base):
        return lambda v: apply_rope(v[None], [position], b)[0]

    expected = _rope_reference(x[perm], m, base)[inverse].with_value(
        apply_rope(x[None], [m], base, pairing=pairing)[0])
    a, problem = as_answer_array(rotated, "rotated")
    if problem:
        return report(False, problem)
    if a.shape != expected.shape:
        return report(False, f"rotated has shape {a.shape} but expected {expected.shape}, the shape of x: RoPE "
                             "rotates the numbers of x, it does not add or remove any.")
    if pairing == "half":
        formula = "New x_i = x_i cos - x_(i+d/2) sin and new x_(i+d/2) = x_(i+d/2) cos + x_i sin."
    else:
        formula = "New x_(2i) = x_(2i) cos - x_(2i+1) sin and new x_(2i+1) = x_(2i+1) cos + x_(2i) sin."
    if close(a, expected):
        return report(True, f"Correct: pair i ({_PAIRS[pairing]}) is turned by the angle "
                            f"{m} x {base:g}^(-2i/{d}); the length stays {np.linalg.norm(x):.4f}.")
    if resembles(a, x):
        return report(False, f"rotated equals x: nothing was rotated. At position {m} pair i turns by "
                             f"{m} x base^(-2i/d).")
    other = "adjacent" if pairing == "half" else "half"
    if resembles(a, apply_rope(x[None], [m], base, pairing=other)[0]):
        return report(False, f"you paired {_PAIRS[other]}, the pairing of {_USED_BY[other]}. This exercise pairs "
                             f"{_PAIRS[pairing]}: the angles are the same, but other elements turn together.",
                      formula)
    if resembles(a, rope(half(-m))):
        return report(False, "you rotated the other way: the sign of the sine terms is flipped.",
                      "In the first element of each pair the sine term is subtracted.")
    if resembles(a, rope(lambda v: _rope_freq(v, m, base, lambda i: i))):
        return report(False, "your angles use base^(-i/d), but pair i turns by base^(-2i/d): the exponents are the "
                             "even numbers 0, 2, 4, ... divided by d.")
    for off in (m - 1, m + 1):
        if resembles(a, rope(half(off))):
            return report(False, f"that is x rotated for position {off}, not {m}.")
    if resembles(a, rope(half(m, 10000.0 if base != 10000.0 else 100000.0))):
        return report(False, f"the angles use the wrong base: this exercise uses base = {base:g}.")
    if not resembles(np.linalg.norm(a), np.linalg.norm(x)):
        mine, theirs = distinct(np.linalg.norm(a), np.linalg.norm(x))
        return report(False, f"rotated has length {mine} but x has {theirs}: a "
                             "rotation keeps the length. Each pair needs both cos and sin terms.", formula)
    return report(False, f"rotated has the right length but other numbers: each pair ({_PAIRS[pairing]}) "
                         f"should turn by the angle {m} x base^(-2i/d).", formula)


def _rope_reference(x, m, base):
    """Rotate-half RoPE of one vector as a Reference: how far a correct float computation of it may stray."""
    d, half = x.shape[-1], x.shape[-1] // 2
    theta = exactly(m) * given(base) ** given(-2.0 * np.arange(half) / d)
    cos, sin = theta.cos(), theta.sin()
    x1, x2 = given(x[:half]), given(x[half:])
    return Reference.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin])


# ---------------------------------------------------------------- from one pairing to the other

@exercise_check
def check_rope_half_weights(w_half, w_adjacent, num_heads):
    """Check W_q (or W_k) with its columns reordered from the adjacent RoPE pairing to rotate-half.

    A model trained with adjacent pairs (2i, 2i + 1) gives the same scores
    under rotate-half RoPE (pairs i, i + d/2) once the columns of every head
    of W_q and W_k are put in the order ``p = [0, 2, 4, ..., 1, 3, 5, ...]``
    (:func:`helpers.rope_pairing_permutation`): ``w_half = w_adjacent[:, p]``.

    Parameters
    ----------
    w_half : array_like or None
        The learner's answer, shape (D, H*d).
    w_adjacent : array_like, shape (D, H*d)
        W_q or W_k of the adjacent-pair model, course layout (in, out).
    num_heads : int
        H, the number of heads in ``w_adjacent``'s columns.

    Returns
    -------
    Verdict
        Truthy when right; otherwise names the mistake (the inverse order,
        which goes from rotate-half to adjacent as llama.cpp's converter does;
        one permutation over all H*d columns instead of one per head; rows
        instead of columns; the weights unchanged; a wrong shape).

    Used in Chapter 7.
    """
    if w_half is None:
        return report(False, NOT_ATTEMPTED)
    w = np.asarray(w_adjacent, dtype=float)
    h = int(num_heads)
    d_model, width = w.shape
    d = width // h
    p = rope_pairing_permutation(d, num_heads=h)  # (H*d,): adjacent -> rotate-half, per head
    expected = given(w)[:, p]
    a, problem = as_answer_array(w_half, "w_half")
    if problem:
        return report(False, problem)
    if a.shape != expected.shape:
        pytorch = (": the PyTorch layout (out, in); the course keeps (in, out)"
                   if a.shape == (width, d_model) else "")
        return shape_mismatch("w_half", a.shape, expected.shape, "(D, H*d)", [((width, d_model), pytorch)])
    if close(a, expected):
        return report(True, f"Correct: inside each of the {h} heads the columns come in the order "
                            f"{p[:d].tolist()}: adjacent pair i, columns (2i, 2i + 1), lands on columns "
                            f"(i, i + {d // 2}), the pair that rotate-half turns by the same angle.")
    per_head = f"Each head's {d} columns are reordered on their own, in the same way."
    if resembles(a, w):
        return report(False, "w_half equals w_adjacent: with the same columns, rotate-half turns other pairs "
                             "together than the model was trained with, and the scores change.",
                      "Adjacent pair i is columns (2i, 2i + 1); rotate-half's pair i is columns (i, i + d/2).")
    if resembles(a, w[:, np.argsort(p)]):
        return report(False, "that is the inverse order: it takes rotate-half columns to the adjacent layout "
                             "(what llama.cpp's converter writes into a GGUF file). Here the weights start in the "
                             "adjacent layout and must end in rotate-half: new column i is old column 2i.",
                      "Even columns first, then the odd ones, inside each head.")
    if h > 1 and resembles(a, w[:, rope_pairing_permutation(width)]):
        return report(False, f"you reordered all {width} columns as one block, which mixes the heads: "
                             f"head h owns columns h*d to h*d + {d - 1}, and RoPE pairs elements within a head.",
                      per_head)
    if d_model == width and resembles(a, w[p]):
        return report(False, "you reordered the rows: in the course's layout (in, out) a head's outputs, which "
                             "RoPE turns, are the columns.", per_head)
    return report(False, f"w_half has the right shape {expected.shape} but other numbers: it should hold the "
                         "same columns as w_adjacent, only in another order.", per_head)
