"""Exercise checks on grouped-query attention and the KV cache (chapter 11).

The expected answers come from the math helpers (:func:`helpers.repeat_kv`,
:func:`helpers.causal_mask`) or from the memory
formula of the chapter, so a check and the book cannot disagree. Each check
recognises the usual slips (tiling instead of repeating the kv heads, a
forgotten factor 2 in the cache, a chunk's mask aligned at the top left,
...) and names them. The RoPE check is in :mod:`helpers.exercises.positions`,
with RoPE itself (chapter 7).
"""

import numpy as np

from ..heads import repeat_kv
from ..masks import causal_mask
from .masks import DTYPE_HINT, _as_mask, _dtype_problem
from ._verdict import (NOT_ATTEMPTED, as_answer_array, close, exercise_check, given, number_matches, read_number,
                       report, resembles, show)

__all__ = ["check_kv_head_map", "check_kv_cache_bytes", "check_expand_kv_weight",
           "check_chunk_mask"]


def rounded_too_far(value, expected):
    """The message for a count within 5% of ``expected`` but not equal to it, rounded or exact: else None."""
    if expected and abs(value - expected) <= 0.05 * abs(expected):
        return (f"{show(value)} is close to the right count but not equal to it: give it exactly, or rounded to at "
                "least 3 significant digits.")
    return None


def _groups(num_heads, num_kv_heads):
    h, h_kv = int(num_heads), int(num_kv_heads)
    if h < 1 or h_kv < 1 or h % h_kv != 0:
        raise ValueError(f"num_kv_heads={num_kv_heads} must divide num_heads={num_heads}")
    return h, h_kv, h // h_kv


# ---------------------------------------------------------------- which kv head does a query head use

@exercise_check
def check_kv_head_map(answer, num_heads, num_kv_heads):
    """Check the list "query head h uses kv head answer[h]" of grouped-query attention.

    Parameters
    ----------
    answer : sequence of int or None
        The learner's answer, one kv-head index per query head (length H).
    num_heads : int
        H, the number of query heads.
    num_kv_heads : int
        H_kv, the number of key/value heads (divides H).

    Returns
    -------
    Verdict
        Truthy when ``answer[h] == h // (H // H_kv)`` for every h, the order of
        :func:`helpers.repeat_kv`; otherwise names the mistake (tiling, i.e.
        ``h % H_kv``; dividing by H_kv instead of the group size; a wrong length).

    Used in Chapter 11.
    """
    if answer is None:
        return report(False, NOT_ATTEMPTED)
    h, h_kv, n_rep = _groups(num_heads, num_kv_heads)
    # The order repeat_kv produces: repeat each kv head's index n_rep times.
    expected = repeat_kv(np.arange(h_kv).reshape(h_kv, 1, 1), n_rep)[:, 0, 0]  # (H,)
    a, problem = as_answer_array(answer, "answer")
    if problem:
        return report(False, problem)
    if a.ndim != 1:
        return report(False, f"answer has shape {a.shape}: give a flat list of {h} numbers, one per query head.")
    if len(a) != h:
        message = " (that is one per kv head; list one per query head)" if len(a) == h_kv else ""
        return report(False, f"answer has {len(a)} entries but there are H = {h} query heads{message}.")
    blocks = f"Each kv head serves a block of {n_rep} neighbouring query heads."
    if np.array_equal(a, expected):
        return report(True, f"Correct: {expected.tolist()}. Query head h uses kv head h // (H // H_kv) = h // {n_rep}: "
                            f"each kv head serves a block of {n_rep} neighbouring query heads.")
    heads = np.arange(h)
    if np.array_equal(a, heads // h_kv) or np.array_equal(a, np.minimum(heads // h_kv, h_kv - 1)):
        return report(False, f"{a.astype(int).tolist()} divides h by H_kv = {h_kv}, the number of kv heads, but "
                             f"the query heads come in groups of H // H_kv = {n_rep}.", blocks)
    if np.any(a != np.round(a)) or a.min() < 0 or a.max() > h_kv - 1:
        return report(False, f"every entry must be a kv-head index 0 .. {h_kv - 1}, but the answer holds "
                             f"{sorted(set(int(v) if v == round(v) else v for v in a.tolist()))}.")
    if np.array_equal(a, heads % h_kv):
        return report(False, f"{a.astype(int).tolist()} cycles through the kv heads (h % H_kv, like np.tile). "
                             f"Llama's repeat_kv repeats each kv head {n_rep} times in a row instead, so neighbouring "
                             "query heads share a kv head.")
    wrong = int(np.flatnonzero(a != expected)[0])
    return report(False, f"query head {wrong} should use kv head {expected[wrong]}, not {int(a[wrong])}: "
                         f"the heads come in {h_kv} groups of {n_rep} neighbours.", blocks)


# ---------------------------------------------------------------- KV-cache memory

@exercise_check
def check_kv_cache_bytes(nbytes, num_layers, num_kv_heads, head_dim, T, bytes_per_number=2, num_heads=None):
    """Check the memory of a KV cache: ``2 * layers * H_kv * d * T * bytes_per_number`` bytes.

    Parameters
    ----------
    nbytes : int or None
        The learner's answer, in bytes.
    num_layers : int
        Number of layers (each has its own cache).
    num_kv_heads : int
        H_kv.
    head_dim : int
        d.
    T : int
        Number of cached tokens.
    bytes_per_number : int, default 2
        2 for float16 or bfloat16, 4 for float32.
    num_heads : int, optional
        H, the number of query heads; lets the check recognise H used in place of H_kv.

    Returns
    -------
    Verdict
        Truthy when right; otherwise names the slip (no factor 2 for K and V,
        no layers, H instead of H_kv, numbers instead of bytes, a unit).

    Used in Chapter 11.
    """
    if nbytes is None:
        return report(False, NOT_ATTEMPTED)
    nbytes, problem = read_number(nbytes, "kv_bytes")
    if problem:
        return report(False, problem)
    L, h_kv, d, t, b = int(num_layers), int(num_kv_heads), int(head_dim), int(T), bytes_per_number
    expected = 2 * L * h_kv * d * t * b

    def same(x):  # six products, each rounded once in a float computation, or written rounded (3+ digits)
        return number_matches(nbytes, x, 7 * abs(x), digits=True)

    if same(expected):
        return report(True, f"Correct: 2 x {L} x {h_kv} x {d} x {t} x {b} = {expected:,} bytes "
                             f"({expected / 2**30:.3g} GiB): keys and values, every layer, every kv head.")
    half = ("is half the answer: either the factor 2 is missing (the cache holds a key AND a value for every "
            "token) or it counts numbers, not bytes (2 bytes per number)" if b == 2 else
            "leaves out the factor 2: the cache holds a key AND a value for every token")
    slips = [(expected / 2, half),
             (expected / L, f"is one layer's cache: every one of the {L} layers keeps its own keys and values"),
             (expected / (2 * L), f"is the keys of one layer: multiply by 2 (keys and values) and by the {L} layers"),
             (expected / b, f"counts numbers, not bytes: multiply by {b} bytes per number"),
             (expected / (2 * b), f"counts the numbers of the keys only: multiply by 2 (values too) and by {b} bytes"),
             (expected * 8, "is in bits: give bytes (1 byte = 8 bits)"),
             (expected / 2**20, "is in MiB; give the answer in bytes"),
             (expected / 2**30, "is in GiB; give the answer in bytes"),
             (expected / 10**6, "is in MB; give the answer in bytes"),
             (expected / 10**9, "is in GB; give the answer in bytes")]
    if num_heads is not None and int(num_heads) != h_kv:
        h = int(num_heads)
        slips.insert(0, (expected * h // h_kv, f"uses the {h} query heads: only the H_kv = {h_kv} key/value heads "
                                               f"are cached (grouped-query attention), not H = {h}"))
    if b != 4:
        slips.append((expected * 4 // b, f"uses 4 bytes per number (float32); these numbers take {b} bytes each"))
    if b != 2:
        slips.append((expected * 2 // b, f"uses 2 bytes per number (float16); these numbers take {b} bytes each"))
    for value, why in slips:
        if same(value):
            return report(False, f"{show(nbytes)} {why}.")
    coarse = rounded_too_far(nbytes, expected)
    if coarse:
        return report(False, coarse)
    return report(False, f"{show(nbytes)} is not right: the cache holds a key and a value of every kv head, in every "
                         f"layer, for each of the T = {t} tokens, at {b} bytes per number.")


# ---------------------------------------------------------------- GQA weights expanded to MHA

@exercise_check
def check_expand_kv_weight(w_expanded, w_kv, num_heads, num_kv_heads):
    """Check k_proj or v_proj of GQA expanded to ordinary multi-head attention.

    Each kv head's block of d columns must appear H // H_kv times in a row, so
    that ``multi_head_attention(..., num_kv_heads=H)`` with the expanded weight
    equals grouped-query attention with the original one.

    Parameters
    ----------
    w_expanded : array_like or None
        The learner's answer, shape (D, H*d).
    w_kv : array_like, shape (D, H_kv*d)
        The weight of k_proj (or v_proj), course layout.
    num_heads, num_kv_heads : int
        H and H_kv.

    Returns
    -------
    Verdict
        Truthy when right; otherwise names the mistake (np.tile of the whole
        matrix, np.repeat of single columns, the PyTorch layout, a wrong shape).

    Used in Chapter 11.
    """
    if w_expanded is None:
        return report(False, NOT_ATTEMPTED)
    w_kv = np.asarray(w_kv, dtype=float)
    h, h_kv, n_rep = _groups(num_heads, num_kv_heads)
    d_model, width = w_kv.shape
    d = width // h_kv
    # Split into heads (H_kv, D, d), repeat each head n_rep times as repeat_kv does, glue back to (D, H*d).
    per_head = np.moveaxis(w_kv.reshape(d_model, h_kv, d), 1, 0)
    expected = given(np.moveaxis(repeat_kv(per_head, n_rep), 0, 1).reshape(d_model, h * d))
    a, problem = as_answer_array(w_expanded, "w_expanded")
    if problem:
        return report(False, problem)
    if close(a, expected):
        groups = ", ".join(f"{g * n_rep}-{g * n_rep + n_rep - 1}" for g in range(h_kv))
        return report(True, f"Correct: shape (D, H*d) = {expected.shape}; each kv head's block of {d} columns "
                            f"appears {n_rep} times in a row, so query heads {groups} each share one block, "
                            "as repeat_kv does.")
    if a.shape == expected.value.T.shape and resembles(a, expected.value.T):
        return report(False, f"w_expanded has shape {a.shape}, the PyTorch layout (out, in): the course keeps "
                             f"(D, H*d) = {expected.shape}.")
    if a.shape != expected.shape:
        return report(False, f"w_expanded has shape {a.shape} but expected (D, H*d) = {expected.shape}: "
                             f"{h} query heads of width d = {d}.")
    if resembles(a, np.tile(w_kv, (1, n_rep))):
        order = (np.arange(h) % h_kv).tolist()
        return report(False, f"that is np.tile: the column blocks come out as kv heads {order}, so query head 1 "
                             f"gets kv head 1, but query heads 0 to {n_rep - 1} all belong to kv head 0.")
    if resembles(a, np.repeat(w_kv, n_rep, axis=1)):
        return report(False, "np.repeat on the columns repeats single columns (c0, c0, c0, c1, ...), which "
                             f"scrambles each head's {d} numbers: whole blocks of d = {d} columns must be repeated.",
                      "Give the heads an axis of their own first (a reshape), repeat along it, then reshape back.")
    return report(False, f"w_expanded has the right shape {expected.shape} but other numbers: query head h's "
                          f"block of {d} columns should be kv head h // {n_rep}'s block of w_kv.")


# ---------------------------------------------------------------- the mask of a chunk fed to a KV cache

@exercise_check
def check_chunk_mask(mask, n_new, n_cached):
    """Check the causal mask of a chunk of ``n_new`` tokens that follow ``n_cached`` cached ones.

    The chunk's queries are the last ``n_new`` of ``S = n_cached + n_new``
    positions, so new token ``i`` sits at position ``n_cached + i`` and may see
    keys ``0 .. n_cached + i``: :func:`helpers.causal_mask` ``(n_new, S)``,
    whose triangle is aligned at the bottom right.

    Parameters
    ----------
    mask : array_like of bool or None
        The learner's answer, expected shape (n_new, S).
    n_new : int
        Tokens in the chunk (its queries, T).
    n_cached : int
        Tokens already in the cache.

    Returns
    -------
    Verdict
        Truthy if ``mask`` equals ``causal_mask(n_new, n_cached + n_new)`` and is
        boolean; otherwise names the mistake (the triangle aligned at the top
        left, every key allowed as for a single new token, only the new keys,
        the whole sequence's mask, the diagonal off by one, inverted).

    Used in Chapter 11.
    """
    if mask is None:
        return report(False, NOT_ATTEMPTED)
    t, c = int(n_new), int(n_cached)
    if t < 1 or c < 0:
        raise ValueError(f"n_new must be >= 1 and n_cached >= 0, got n_new={n_new}, n_cached={n_cached}")
    S = c + t
    expected = causal_mask(t, S)
    a, problem = _as_mask(mask, "mask")
    if problem:
        return report(False, problem)
    rows = (f"The chunk has one row per new token ({t}) and one column per key, cached or new "
            f"(S = {c} + {t} = {S}).")
    if a.shape == (t, t):
        return report(False, f"mask has shape {a.shape}: it covers the new keys only, but the new tokens also "
                             f"attend to the {c} cached keys.", rows)
    if a.shape == (S, S):
        return report(False, f"mask has shape {a.shape}, the mask of the whole sequence; with a cache only the "
                             f"{t} new tokens are queries, so it has {t} rows.", rows)
    if a.shape != expected.shape:
        return report(False, f"mask has shape {a.shape} but expected (n_new, S) = {expected.shape}.", rows)
    pattern = a.astype(bool)
    ones = np.ones((t, S), dtype=bool)
    where = (f"New token i sits at position {c} + i, so it may see keys 0 .. {c} + i: "
             "the triangle ends in the bottom-right corner.")
    if np.array_equal(pattern, expected):
        dtype_problem = _dtype_problem(a, "mask")
        if dtype_problem:
            return report(False, dtype_problem, DTYPE_HINT)
        return report(True, f"Correct: mask has shape {expected.shape}; new token i, at position {c} + i, sees the "
                            f"{c} cached keys and the new keys up to itself.")
    if np.array_equal(pattern, ~expected):
        return report(False, "mask is inverted: it is True where attention is forbidden. The course's masks are "
                             "True = may attend.")
    if pattern.all() and t > 1:
        return report(False, "every entry of mask is True, the mask of a single new token. With several new "
                             "tokens, each one would see the new tokens after it, its own future.", where)
    if np.array_equal(pattern, np.tril(ones)):
        return report(False, "the triangle starts at the top left, as if the chunk's first token were at "
                             f"position 0. It is at position {c}: it sees every cached key.", where)
    if np.array_equal(pattern, np.tril(ones, k=c - 1)):
        return report(False, "the diagonal is False: each new token must see its own key, the one the chunk "
                             "has just added to the cache.", where)
    if np.array_equal(pattern, np.tril(ones, k=c + 1)):
        return report(False, "mask reaches one key too far: new token i would see token i + 1, the token after "
                             "it.", where)
    wrong = np.argwhere(pattern != expected)[0]
    i, j = int(wrong[0]), int(wrong[1])
    return report(False, f"mask[{i}, {j}] is {bool(pattern[i, j])} but should be {bool(expected[i, j])}: "
                         f"new token {i} sits at position {c + i}.", where)
