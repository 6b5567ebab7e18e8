"""Rotary position embeddings (RoPE), Llama's rotate-half convention (chapter 8)."""

import numpy as np

from ._checks import as_float, positive_int, require_ndim


def rope_angles(positions, d, base=10000.0):
    """Cosines and sines of the RoPE rotation angles (chapter 8).

    Pair ``i`` (elements ``i`` and ``i + d/2``) at position ``m`` is rotated by
    the angle ``m * base ** (-2i / d)``: fast rotation for the first pairs,
    slow for the last.

    Parameters
    ----------
    positions : array_like of int, shape (T,)
        Position of each token.
    d : int
        Head width d (even).
    base : float, default 10000.0

    Returns
    -------
    cos, sin : ndarray of float64, shape (T, d)
        The (T, d/2) angle table repeated twice along the last axis, so that
        column ``i`` and column ``i + d/2`` hold the same angle.

    Raises
    ------
    ValueError
        If d is not a positive even integer or ``positions`` is not 1-D.
    """
    d = positive_int(d, "d")
    if d % 2 != 0:
        raise ValueError(f"RoPE needs an even head width d, got d={d}")
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 1:
        raise ValueError(f"positions must have shape (T,), but has shape {positions.shape}")
    inv_freq = base ** (-np.arange(0, d, 2) / d)  # (d/2,)
    angles = positions[:, None] * inv_freq[None, :]  # (T, d/2)
    angles = np.concatenate([angles, angles], axis=-1)  # (T, d)
    return np.cos(angles), np.sin(angles)


def rotate_half(x):
    """Map the halves ``[x1, x2]`` of the last axis to ``[-x2, x1]`` (chapter 8)."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([-x2, x1], axis=-1)


def apply_rope(x, positions, base=10000.0):
    """Rotate queries or keys by their positions, as Llama does after q_proj and k_proj (chapter 8).

    Element ``i`` is paired with element ``i + d/2`` (the "rotate-half"
    convention of Llama and Hugging Face, not adjacent pairs), and each pair
    is rotated by the angle from :func:`rope_angles`. Then the score of a
    query at position m and a key at position n depends only on m - n.

    Parameters
    ----------
    x : array_like, shape (..., T, d)
        Queries or keys, e.g. (B, H, T, d) after split_heads; d must be even.
    positions : array_like of int, shape (T,)
        Position of each of the T rows.
    base : float, default 10000.0
        ``rope_theta`` in a Hugging Face config.

    Returns
    -------
    rotated : ndarray, shape (..., T, d)
        Same dtype as ``x``; every row keeps its norm. Position 0 is unchanged.

    Raises
    ------
    ValueError
        If d is odd or ``positions`` is not of shape (T,).
    """
    x = as_float(x, "x")
    require_ndim(x, "x", 2, "(..., T, d)")
    t, d = x.shape[-2:]
    if d % 2 != 0:
        raise ValueError(f"x has shape {x.shape}: RoPE needs an even head width d, got d={d}")
    positions = np.asarray(positions)
    if positions.shape != (t,):
        raise ValueError(f"positions has shape {positions.shape} but x has shape {x.shape}: need one position per row, shape (T,) = ({t},)")
    cos, sin = rope_angles(positions, d, base)  # (T, d) each, float64
    cos, sin = cos.astype(x.dtype), sin.astype(x.dtype)  # keep float32 as float32
    return x * cos + rotate_half(x) * sin
