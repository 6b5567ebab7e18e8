"""Boolean attention masks, True = may attend (chapter 5)."""

import numpy as np

from ._checks import positive_int


def causal_mask(n_q, n_kv=None):
    """Causal mask: a query may attend to its own position and earlier ones (chapter 5).

    The queries are the *last* ``n_q`` of ``n_kv`` positions, as when new tokens
    are appended to a KV cache. So query ``i`` sits at position
    ``i + (n_kv - n_q)`` and may see keys ``j <= i + (n_kv - n_q)``; the last
    query sees every key. With ``n_kv == n_q`` this is the usual lower triangle.

    Parameters
    ----------
    n_q : int
        Number of query positions T.
    n_kv : int, optional
        Number of key positions S (default: ``n_q``). Must be >= ``n_q``.

    Returns
    -------
    mask : ndarray of bool, shape (T, S)
        True where query i may attend to key j.

    Raises
    ------
    ValueError
        If a size is not a positive integer, or ``n_q > n_kv``.
    """
    n_q = positive_int(n_q, "n_q")
    n_kv = n_q if n_kv is None else positive_int(n_kv, "n_kv")
    if n_q > n_kv:
        raise ValueError(f"causal_mask needs n_q <= n_kv (the queries are the last n_q keys), got mask shape (n_q, n_kv) = ({n_q}, {n_kv})")
    offset = n_kv - n_q  # position of query 0 among the keys
    return np.tril(np.ones((n_q, n_kv), dtype=bool), k=offset)  # True where j <= i + offset


def padding_mask(lengths, n_kv):
    """Padding mask for a batch of right-padded sequences (chapter 5).

    Sequence ``b`` has ``lengths[b]`` real tokens followed by padding. Keys at
    padded positions are masked out for every head and every query.

    Parameters
    ----------
    lengths : array_like of int, shape (B,)
        Number of real tokens in each sequence, each in ``0 .. n_kv``.
    n_kv : int
        Padded length S.

    Returns
    -------
    mask : ndarray of bool, shape (B, 1, 1, S)
        True for real tokens. Broadcasts against scores of shape (B, H, T, S).

    Raises
    ------
    ValueError
        If ``lengths`` is not a 1-D integer array with values in 0..n_kv.
    """
    n_kv = positive_int(n_kv, "n_kv")
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or lengths.dtype.kind not in "iu":
        raise ValueError(f"lengths must be a 1-D integer array of shape (B,), but has shape {lengths.shape} and dtype {lengths.dtype}")
    if np.any(lengths < 0) or np.any(lengths > n_kv):
        raise ValueError(f"lengths must lie in 0..n_kv={n_kv}, got {lengths.tolist()} (shape {lengths.shape})")
    is_real = np.arange(n_kv) < lengths[:, None]  # (B, S)
    return is_real[:, None, None, :]  # (B, 1, 1, S)
