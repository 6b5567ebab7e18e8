"""Softmax and scaled dot-product attention (chapters 2, 4 and 5)."""

import numpy as np

from ._checks import as_float, check_qkv


def softmax(scores, axis=-1, *, overwrite=False):
    """Numerically stable softmax along ``axis`` (taught in chapter 2).

    The maximum of each row is subtracted before ``exp``. This does not change
    the result (softmax is unchanged by adding a constant to a row), but it
    keeps every ``exp`` argument <= 0, so finite input never overflows to NaN.

    A row whose entries are all ``-inf`` (every key masked out, chapter 5)
    gives all zeros, not NaN.

    Parameters
    ----------
    scores : array_like, shape (..., T, S) or any other shape
        Real scores; ``-inf`` marks a forbidden entry.
    axis : int, default -1
        The axis that sums to 1.
    overwrite : bool, default False
        If True and ``scores`` is a float array, compute in place in its
        memory (saves a copy of a large T x S array). If False, ``scores``
        is left untouched.

    Returns
    -------
    weights : ndarray, shape (..., T, S), the shape and float dtype of ``scores``
        Non-negative; each row sums to 1, except all ``-inf`` rows, which are 0.
    """
    s = as_float(scores, "scores")
    if not overwrite:
        s = s.copy()  # work on our own copy
    s_max = s.max(axis=axis, keepdims=True)
    s_max[s_max == -np.inf] = 0  # an all -inf row: shift by 0, so exp gives 0 (not exp(nan))
    s -= s_max  # the largest entry of each row is now 0
    np.exp(s, out=s)  # so every value lands in [0, 1]: no overflow
    total = s.sum(axis=axis, keepdims=True)
    total[total == 0] = 1  # an all -inf row: 0 / 1 = 0 rather than 0 / 0 = NaN
    s /= total
    return s


def scaled_dot_product_attention(q, k, v, mask=None, scale=None):
    """Scaled dot-product attention, ``softmax(q k^T * scale) v`` (chapter 4; masks in chapter 5).

    Parameters
    ----------
    q : array_like, shape (..., T, d_k)
        Queries, one row per query position.
    k : array_like, shape (..., S, d_k)
        Keys, one row per key position. S may differ from T (cross-attention).
    v : array_like, shape (..., S, d_v)
        Values, one row per key position.
    mask : array_like of bool, broadcastable to (..., T, S), optional
        True = this query may attend to this key; False entries get weight 0.
    scale : float, optional
        Multiplies the scores. Defaults to ``1 / sqrt(d_k)``.

    Returns
    -------
    out : ndarray, shape (..., T, d_v)
        For each query, the weighted average of the value rows.
    weights : ndarray, shape (..., T, S)
        The attention weights; each row sums to 1.
        A query row with no allowed key (mask all False) gets all-zero
        weights and therefore a zero output row, never NaN.

    Raises
    ------
    ValueError
        If an input has fewer than 2 axes, q and k disagree on d_k, k and v
        disagree on S, the leading axes do not broadcast, or the mask is not
        boolean or does not broadcast to (..., T, S).
    """
    q, k, v, mask, _ = check_qkv(q, k, v, mask)  # ValueError naming the shapes if they do not fit

    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[-1])
    elif np.ndim(scale) != 0:
        raise ValueError(f"scale must be a single number, but has shape {np.shape(scale)}")
    # Scale q (T x d_k numbers) rather than the scores (T x S numbers): same result, less work.
    # The scale is cast to q's dtype so that float32 stays float32.
    q = q * np.asarray(scale, dtype=q.dtype)
    scores = q @ np.swapaxes(k, -1, -2)  # (..., T, d_k) @ (..., d_k, S) -> (..., T, S)
    if mask is not None:
        np.copyto(scores, -np.inf, where=~mask)  # forbidden keys: exp(-inf) = 0 in the softmax
    weights = softmax(scores, axis=-1, overwrite=True)  # in place: `scores` is our own array
    out = weights @ v  # (..., T, S) @ (..., S, d_v) -> (..., T, d_v)
    return out, weights
