"""Tiled attention with an online softmax: the FlashAttention idea in numpy (chapter 9)."""

import numpy as np

from ._checks import check_qkv, positive_int


def tiled_attention(q, k, v, block_size=128, mask=None, scale=None, *, return_lse=False):
    """Scaled dot-product attention computed one block of keys at a time (chapter 9).

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
        Multiplies the scores. Defaults to ``1 / sqrt(d_k)``.
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
        (``-inf`` for a row with none).

    Raises
    ------
    ValueError
        If block_size is not a positive integer, an input has fewer than 2
        axes, q and k disagree on d_k, k and v disagree on S, the leading axes
        do not broadcast, or the mask is not boolean or does not broadcast.
    """
    block_size = positive_int(block_size, "block_size")
    q, k, v, mask, batch = check_qkv(q, k, v, mask)  # ValueError naming the shapes if they do not fit
    t, s, d_v = q.shape[-2], k.shape[-2], v.shape[-1]
    if mask is not None:
        mask = np.broadcast_to(mask, batch + (t, s))  # a view (no memory), so it can be sliced by key blocks
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[-1])
    elif np.ndim(scale) != 0:
        raise ValueError(f"scale must be a single number, but has shape {np.shape(scale)}")

    dtype = np.result_type(q, k, v)
    q = q * np.asarray(scale, dtype=q.dtype)  # scale q once rather than every score block
    m = np.full(batch + (t, 1), -np.inf, dtype=dtype)  # running row maximum
    l = np.zeros(batch + (t, 1), dtype=dtype)  # running denominator  # noqa: E741 (the l of the formulas)
    acc = np.zeros(batch + (t, d_v), dtype=dtype)  # running numerator
    for start in range(0, s, block_size):
        stop = min(start + block_size, s)
        scores = q @ np.swapaxes(k[..., start:stop, :], -1, -2)  # (..., T, block): the only score memory
        if mask is not None:
            np.copyto(scores, -np.inf, where=~mask[..., start:stop])
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
    out = acc / np.where(l == 0, 1, l)  # a row with no allowed key: 0 / 1 = 0
    if not return_lse:
        return out
    with np.errstate(divide="ignore"):  # log(0) = -inf for a row with no allowed key
        lse = (m + np.log(l))[..., 0]
    return out, lse
