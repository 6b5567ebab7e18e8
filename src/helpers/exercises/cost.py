"""Exercise checks on the cost of attention: FLOPs, memory, tiling (chapter 12)."""

import numpy as np

from ..cost import mha_costs
from .variants import rounded_too_far
from ._verdict import (NOT_ATTEMPTED, as_answer_array, close, exercise_check, given, not_a, number_matches,
                       read_number, report, resembles, show)

__all__ = ["check_qk_flops", "check_tiled_score_bytes", "check_online_softmax_step", "check_attention_crossover"]


def _read(value, name):
    """``(number, None)`` or ``(None, message)``; None is not attempted."""
    if value is None:
        return None, NOT_ATTEMPTED
    return read_number(value, name)


def _first_slip(value, slips, factors):
    """The message of the first slip whose value equals ``value`` (each a product of ``factors`` numbers), else None."""
    for expected, why in slips:
        if number_matches(value, expected, (factors + 1) * abs(expected), digits=True):
            return why
    return None


# ---------------------------------------------------------------- FLOPs of the scores

@exercise_check
def check_qk_flops(flops, B, H, T, S, d):
    """Check the FLOPs of the score step ``Q K^T`` of multi-head attention: ``2 B H T S d``.

    Parameters
    ----------
    flops : number or None
        The learner's answer, in FLOPs.
    B, H, T, S, d : int
        Batch, heads, query positions, key positions, head width.

    Returns
    -------
    Verdict
        Truthy when the answer is right; otherwise the message names the likely
        slip (no factor 2, no heads, no batch, d_model instead of d, T x T
        instead of T x S, both matmuls, GFLOP instead of FLOP).

    Used in Chapter 12.
    """
    flops, problem = _read(flops, "flops")
    if problem:
        return report(False, problem)
    costs = {row["step"]: row["flops"] for row in mha_costs(B, T, S, H * d, H, H, d)}
    expected = costs["Q K^T"]
    if number_matches(flops, expected, 7 * abs(expected), digits=True):
        return report(True, f"Correct: 2 x B x H x T x S x d = 2 x {B} x {H} x {T} x {S} x {d} = {expected:,} FLOPs "
                            f"({expected / 1e9:.1f} GFLOP): one multiply and one add per term of every dot product.")
    slips = [
        (expected / 2, "counts multiply-adds, not FLOPs: each term of a dot product is one multiply and one add, "
                       "so multiply by 2"),
        (expected / H, f"leaves out the heads: each of the H = {H} heads computes its own T x S scores"),
        (expected / B, f"leaves out the batch: each of the B = {B} sequences has its own scores"),
        (expected / (B * H), "is the cost of one head of one sequence: multiply by B and H"),
        (expected * H, f"uses d_model = H x d = {H * d} as the length of each dot product; a head's queries and "
                       f"keys have width d = {d}"),
        (2 * B * H * T * T * d, f"uses T x T; here the T = {T} queries meet S = {S} keys, so there are T x S scores"),
        (2 * B * H * S * S * d, f"uses S x S; only the T = {T} new queries are scored, each against S = {S} keys"),
        (2 * expected, "counts both matmuls, Q K^T and weights @ V (they cost the same); the question asks for "
                       "Q K^T only"),
        (expected / d, f"leaves out d: every score is a dot product of d = {d} numbers, 2d FLOPs"),
        (expected / 1e9, "is in GFLOP (10**9 FLOPs); give the answer in FLOPs"),
    ]
    why = _first_slip(flops, slips, 6)
    if why:
        return report(False, f"{show(flops)} {why}.")
    if rounded_too_far(flops, expected):
        return report(False, rounded_too_far(flops, expected))
    return report(False, f"{show(flops)} is not right: Q K^T computes B x H x T x S dot products, each of length d.")


# ---------------------------------------------------------------- memory of tiled attention

@exercise_check
def check_tiled_score_bytes(nbytes, B, H, T, S, block_size, bytes_per_number=4):
    """Check the bytes of one block of scores in tiled attention: ``B H T block_size bytes``.

    :func:`helpers.tiled_attention` handles every sequence and head at once,
    but only ``block_size`` keys at a time, so its score block has shape
    (B, H, T, block_size) instead of (B, H, T, S).

    Parameters
    ----------
    nbytes : number or None
        The learner's answer, in bytes.
    B, H, T, S, block_size : int
    bytes_per_number : int, default 4 (float32)

    Returns
    -------
    Verdict

    Used in Chapter 12.
    """
    nbytes, problem = _read(nbytes, "block_bytes")
    if problem:
        return report(False, problem)
    b = bytes_per_number
    expected = B * H * T * block_size * b
    full = B * H * T * S * b
    if number_matches(nbytes, expected, 6 * abs(expected), digits=True):
        return report(True, f"Correct: B x H x T x block_size x {b} = {expected:,} bytes ({expected / 2**20:,.0f} MiB), "
                            f"{full // expected} times less than the full (B, H, T, S) scores.")
    slips = [
        (full, f"is the full score matrix (B, H, T, S); tiled attention holds only block_size = {block_size} "
               "keys' scores at a time"),
        (expected / b, f"counts numbers, not bytes: each float32 number takes {b} bytes"),
        (expected / H, f"leaves out the heads: all H = {H} heads get a block of scores at once"),
        (expected / B, f"leaves out the batch: all B = {B} sequences get a block of scores at once"),
        (T * block_size * b, "is the block of one head of one sequence: multiply by B and H"),
        (B * H * block_size * block_size * b, f"uses block_size x block_size; the helper tiles the keys only, "
                                              f"so all T = {T} queries are scored against one block"),
        (2 * expected, "counts two blocks; the helper computes exp in place, so it holds one"),
        (expected / 2**20, "is in MiB (2**20 bytes); give the answer in bytes"),
        (expected / 10**6, "is in MB (10**6 bytes); give the answer in bytes"),
    ]
    why = _first_slip(nbytes, slips, 5)
    if why:
        return report(False, f"{show(nbytes)} {why}.")
    if rounded_too_far(nbytes, expected):
        return report(False, rounded_too_far(nbytes, expected))
    return report(False, f"{show(nbytes)} is not right: one block of scores has B x H x T x block_size numbers "
                         f"of {b} bytes each.")


# ---------------------------------------------------------------- the online softmax

def _as_triple(answer):
    if not isinstance(answer, (tuple, list)) or len(answer) != 3:
        return None, not_a(answer, "answer", "a tuple of three things, (m_new, l_new, acc_new)")
    parts = []
    for value, name in zip(answer, ("m_new", "l_new", "acc_new")):
        if value is None:
            return None, f"{name} is still None: compute all three."
        a, problem = as_answer_array(value, name)
        if problem:
            return None, problem
        parts.append(a)
    return parts, None


@exercise_check
def check_online_softmax_step(answer, m, l, acc, scores, values):  # noqa: E741 (the l of the formulas)
    """Check one update of the online softmax for one query row.

    With ``m_new = max(m, max_j z_j)``, ``alpha = exp(m - m_new)`` and
    ``p_j = exp(z_j - m_new)``::

        l_new   = alpha * l   + sum_j p_j
        acc_new = alpha * acc + sum_j p_j v_j

    Parameters
    ----------
    answer : tuple (m_new, l_new, acc_new) or None
        ``m_new`` and ``l_new`` are numbers, ``acc_new`` has shape (d_v,).
    m, l : float
        The running maximum and denominator before this block.
    acc : array_like, shape (d_v,)
        The running numerator before this block.
    scores : array_like, shape (n,)
        This block's scores z_j.
    values : array_like, shape (n, d_v)
        This block's value rows v_j.

    Returns
    -------
    Verdict
        Truthy when all three are right; otherwise the message names the
        first wrong one and the likely slip (rescaling forgotten, the sign of
        the exponent flipped, the old maximum or no maximum subtracted).

    Used in Chapter 12.
    """
    if answer is None:
        return report(False, NOT_ATTEMPTED)
    parts, problem = _as_triple(answer)
    if problem:
        return report(False, problem)
    m_got, l_got, acc_got = parts
    acc = np.asarray(acc, dtype=float)
    scores = np.asarray(scores, dtype=float)
    values = np.asarray(values, dtype=float)
    if m_got.size != 1 or l_got.size != 1:
        bad = "m_new" if m_got.size != 1 else "l_new"
        return report(False, f"{bad} should be one number for the query row, but it has shape "
                             f"{(m_got if bad == 'm_new' else l_got).shape}: keep the max and the sum over the keys.")
    if acc_got.shape != acc.shape:
        message = ""
        if acc_got.shape == values.shape:
            message = ": sum over the keys, one row of d_v numbers"
        return report(False, f"acc_new has shape {acc_got.shape} but expected {acc.shape}{message}.")
    m_got, l_got = m_got.reshape(()), l_got.reshape(())

    m_new = max(m, float(scores.max()))
    shift = given(m) - given(m_new)
    alpha = shift.exp()
    p = (given(scores) - given(m_new)).exp()
    l_ref = alpha * given(l) + p.sum()
    acc_ref = alpha * given(acc) + p @ given(values)
    a, l_new, acc_new = alpha.value, l_ref.value, acc_ref.value
    rescale = "alpha = exp(m - m_new) moves the old sums from the shift m to the shift m_new."
    if not close(m_got, given(m_new)):
        if resembles(m_got, float(scores.max())):
            return report(False, "m_new is the block's maximum only: the running maximum also remembers m, the "
                                 "maximum of the keys seen before.")
        return report(False, f"m_new = {float(m_got):.4g} is not the running maximum of the scores seen so far.")

    flipped = np.exp(m_new - m)
    p_raw, p_old = np.exp(scores), np.exp(scores - m)
    l_slips = [
        (l + p.value.sum(), "l_new adds the new terms to the old l without rescaling it: the old terms were shifted "
                            "by m, the new ones by m_new, and one sum needs one shift", rescale),
        (flipped * l + p.value.sum(), "l_new rescales l by exp(m_new - m): the sign is flipped. The rescaling is at "
                                      "most 1, because the old terms were shifted by the smaller m", None),
        (a * l + p_raw.sum(), "l_new uses exp(z_j) without subtracting m_new, so large scores would overflow", None),
        (a * l + p_old.sum(), "l_new uses exp(z_j - m), the old maximum: the new terms must be shifted by "
                              "m_new, like the rescaled old ones", None),
    ]
    acc_slips = [
        (acc + p.value @ values, "acc_new adds the new terms to the old acc without rescaling it: acc needs the same "
                                 "rescaling as l", rescale),
        (flipped * acc + p.value @ values, "acc_new rescales acc by exp(m_new - m): the sign is flipped. "
                                           "The rescaling is at most 1", None),
        (a * acc + p_raw @ values, "acc_new uses exp(z_j) without subtracting m_new", None),
        (a * acc + p_old @ values, "acc_new uses exp(z_j - m), the old maximum: the new terms are shifted by m_new",
         None),
        (a * acc + values.sum(axis=0), "acc_new adds the plain sum of the value rows: each v_j is weighted by its "
                                       "term p_j", None),
    ]
    l_ok, acc_ok = close(l_got, l_ref), close(acc_got, acc_ref)
    if l_ok and acc_ok:
        return report(True, f"Correct: m_new = {m_new:.4f}, alpha = exp(m - m_new) = {a:.4f} rescales both sums, "
                            f"l_new = {l_new:.4f}; acc_new / l_new is the attention output over the keys so far.")
    if (not l_ok and not acc_ok and resembles(l_got, l + p.value.sum())
            and resembles(acc_got, acc + p.value @ values)):
        return report(False, "l_new and acc_new both skip the rescaling: the old sums were shifted by m, the new "
                             "terms by m_new.", rescale)
    rounded = ("{name} agrees with the right value to about 3 digits but not to full precision: it looks rounded. "
               "Keep every digit (the check compares at the precision of your numbers).")
    if not l_ok and resembles(l_got, l_new):
        return report(False, rounded.format(name="l_new"))
    if l_ok and not acc_ok and resembles(acc_got, acc_new):
        return report(False, rounded.format(name="acc_new"))
    if not l_ok:
        for value, why, hint in l_slips:
            if resembles(l_got, value):
                return report(False, why + ".", hint)
        return report(False, f"l_new = {float(l_got):.4g} is not the rescaled old sum plus the new block's terms.",
                      "l_new = alpha * l + sum_j exp(z_j - m_new).")
    for value, why, hint in acc_slips:
        if resembles(acc_got, value):
            return report(False, "m_new and l_new are right, but " + why + ".", hint)
    return report(False, "m_new and l_new are right, but acc_new is not: it is rescaled like l, and adds each value "
                         "row weighted by its new term.", "acc_new = alpha * acc + sum_j exp(z_j - m_new) v_j.")


# ---------------------------------------------------------------- where attention starts to dominate

@exercise_check
def check_attention_crossover(length, D, H, H_kv, d):
    """Check the length T at which the score matmuls cost as many FLOPs as the four projections.

    Self-attention (S = T), matmuls only. The projections cost
    ``2 T D (H d) + 2 * 2 T D (H_kv d) + 2 T (H d) D`` per sequence and
    ``Q K^T`` plus ``weights @ V`` cost ``4 H T^2 d``, so they are equal at
    ``T = D (H + H_kv) / H``. Longer sequences spend most FLOPs on the scores.

    Parameters
    ----------
    length : number or None
        The learner's answer (need not be an integer).
    D, H, H_kv, d : int

    Returns
    -------
    Verdict

    Used in Chapter 12.
    """
    length, problem = _read(length, "T_cross")
    if problem:
        return report(False, problem)
    hd, kvd = H * d, H_kv * d
    expected = D * (hd + kvd) / hd

    def same(value, exact):  # a ratio of products, or a number rounded to the digits given
        return number_matches(value, exact, 6 * abs(exact), digits=True)

    if same(length, expected):
        return report(True, f"Correct: 4 H T^2 d = (4 D H d + 4 D H_kv d) T at T = D (H + H_kv) / H = {expected:g}. "
                            f"From there on, doubling T doubles the projections' FLOPs but quadruples the scores'.")
    slips = [
        (D * 2.0, f"ignores grouped-query attention: k_proj and v_proj have H_kv = {H_kv} heads, not H = {H}"),
        (D * (hd + 2 * kvd) / (2 * hd), "leaves out o_proj: it is a projection too, 2 T (H d) D FLOPs"),
        (2 * expected, "counts only Q K^T on the attention side: weights @ V costs as much again, 4 H T^2 d in all"),
        (expected / 2, "drops the factor 2 of the projections but not of the attention (or the other way round): "
                       "every matmul costs 2 FLOPs per multiply-add"),
        (D * (hd + 2 * kvd) / hd, "counts k_proj and v_proj twice each"),
        (float(D), "counts the projections as 4 D^2 T (four D x D matrices); with GQA, k_proj and v_proj are "
                   "(D, H_kv d), smaller than q_proj"),
        (expected ** 0.5, "is a square root: the equation 4 H T^2 d = c T is linear in T after dividing by T"),
    ]
    slips = [(v, why) for v, why in slips if not same(v, expected)]  # e.g. H_kv = H makes 2 D right
    why = next((why for v, why in slips if same(length, v)), None)
    if why:
        return report(False, f"{show(length)} {why}.")
    return report(False, f"{show(length)} is not right: set 4 H T^2 d (the two score matmuls) equal to the "
                         "projections' FLOPs, both per sequence, and solve for T.")
