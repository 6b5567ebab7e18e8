"""Tiled attention with an online softmax: the FlashAttention idea in numpy (chapter 12)."""

import numpy as np

from ._checks import positive_int
from .attention import prepare_attention, quiet_if, require_finite_scores


def tiled_attention(q, k, v, block_size=128, mask=None, scale=None, *, return_lse=False):
    """Scaled dot-product attention computed one block of keys at a time (chapter 12).

    Gives the same ``out`` as :func:`scaled_dot_product_attention`, but never
    holds the whole (T, S) score matrix: only a (T, block_size) block of it.
    The softmax is computed "online". For each query row it keeps three
    running quantities over the keys seen so far:

    * ``m``, the largest score so far;
    * ``l = sum_j exp(s_j - m)``, the softmax denominator, shifted by ``m``;
    * ``acc = sum_j exp(s_j - m) v_j``, the numerator of the output.

    A new block with scores ``s_j`` (j in the block) updates them as::

        m_new = max(m, max_j s_j)
        alpha = exp(m - m_new)              # <= 1: rescales the old sums to the new shift
        p_j   = exp(s_j - m_new)
        l     = alpha * l   + sum_j p_j
        acc   = alpha * acc + sum_j p_j v_j
        m     = m_new

    After the last block, ``out = acc / l``: exactly ``softmax(s) @ v``,
    because every term of ``l`` and ``acc`` now carries the same factor
    ``exp(-m)``, which cancels. Every ``exp`` argument is <= 0, so nothing
    overflows. Memory: O(T * block_size) instead of O(T * S).

    The edges are those of :func:`scaled_dot_product_attention`, with the
    same rules and the same tests: S = 0 gives zeros; a query with no allowed
    key gives zeros; NaN or inf in q, k or v is ignored where the mask hides
    it and a ValueError elsewhere; float32 scores that would overflow are
    computed in float64 and float64 ones that do are a ValueError; float16 is
    computed in float32 and returned as float16.

    Parameters
    ----------
    q : array_like, shape (..., T, d_k)
    k : array_like, shape (..., S, d_k)
    v : array_like, shape (..., S, d_v)
    block_size : int, default 128
        Keys per block. Any value >= 1; the last block may be shorter.
    mask : array_like of bool, broadcastable to (..., T, S), optional
        True = may attend, as for :func:`scaled_dot_product_attention`.
    scale : float, optional
        Multiplies the scores: one finite real number. Defaults to ``1 / sqrt(d_k)``.
    return_lse : bool, default False
        Also return ``m + log(l)``, the log-sum-exp of every score row
        (what FlashAttention keeps for its backward pass).

    Returns
    -------
    out : ndarray, shape (..., T, d_v)
        Same float dtype as the inputs. A query row with no allowed key
        gives zeros, never NaN.
    lse : ndarray, shape (..., T)
        Only if ``return_lse``: ``log(sum_j exp(s_j))`` over the allowed keys
        (``-inf`` for a row with none), in the dtype of ``out``.

    Raises
    ------
    ValueError
        If block_size is not a positive integer, an input has fewer than 2
        axes, q and k disagree on d_k, k and v disagree on S, the leading axes
        do not broadcast, the mask is not boolean or does not broadcast,
        ``scale`` is not a finite number, an unmasked input is NaN or inf,
        float64 scores overflow, or ``return_lse`` asks for a log-sum-exp
        that does not fit the dtype (float32 scores beyond float32's range).
    """
    block_size = positive_int(block_size, "block_size")
    q, k, v, mask, batch, dtype, check = prepare_attention(q, k, v, mask, scale)  # q is scaled already
    t, s, d_v = q.shape[-2], k.shape[-2], v.shape[-1]
    if mask is not None:
        mask = np.broadcast_to(mask, batch + (t, s))  # a view (no memory), so it can be sliced by key blocks

    work = np.result_type(q, k, v)  # float64 when float32 scores had to be widened
    m = np.full(batch + (t, 1), -np.inf, dtype=work)  # running row maximum
    l = np.zeros(batch + (t, 1), dtype=work)  # running denominator  # noqa: E741 (the l of the formulas)
    acc = np.zeros(batch + (t, d_v), dtype=work)  # running numerator
    for start in range(0, s, block_size):
        stop = min(start + block_size, s)
        block_mask = None if mask is None else mask[..., start:stop]
        with quiet_if(check):
            scores = q @ np.swapaxes(k[..., start:stop, :], -1, -2)  # (..., T, block): the only score memory
        if check:
            require_finite_scores(scores, block_mask)
        if block_mask is not None:
            np.copyto(scores, -np.inf, where=~block_mask)
        m_new = np.maximum(m, scores.max(axis=-1, keepdims=True))
        shift = np.where(m_new == -np.inf, 0, m_new)  # a row masked so far: shift by 0, exp(-inf) = 0, no NaN
        scores -= shift
        np.exp(scores, out=scores)  # p_j = exp(s_j - m_new), in place: no second (T, block) array
        alpha = np.exp(m - shift)  # exp(m_old - m_new) <= 1
        l *= alpha  # rescale the old sums to the new shift, then add this block
        l += scores.sum(axis=-1, keepdims=True)
        acc *= alpha
        acc += scores @ v[..., start:stop, :]  # (..., T, block) @ (..., block, d_v)
        m = m_new
    out = (acc / np.where(l == 0, 1, l)).astype(dtype, copy=False)  # a row with no allowed key: 0 / 1 = 0
    if not return_lse:
        return out
    with np.errstate(divide="ignore"):  # log(0) = -inf for a row with no allowed key
        lse = (m + np.log(l))[..., 0]
    with np.errstate(over="ignore"):  # an lse beyond float32's range is caught just below
        cast = lse.astype(dtype, copy=False)
    if np.array_equal(np.isfinite(cast), np.isfinite(lse)):
        return out, cast
    raise ValueError(f"the log-sum-exp of these scores (up to {np.nanmax(lse):.3g}) does not fit in {dtype}: "
                     "pass float64 inputs to get it (out alone is fine: call without return_lse)")
