"""Normalisation layers of real checkpoints: BERT's LayerNorm and Llama's RMSNorm (chapters 7 and 8)."""

import numpy as np

from ._checks import as_float, require_ndim


def _check_gain(a, name, d, x_shape):
    """Return ``a`` as a float array of shape (D,), or raise a ValueError naming the shapes."""
    a = as_float(a, name)
    if a.shape != (d,):
        raise ValueError(f"{name} has shape {a.shape} but x has shape {x_shape}: {name} must have shape (D,) = ({d},)")
    return a


def layer_norm(x, gamma, beta, eps=1e-12):
    """LayerNorm over the last axis, as in BERT (taught in chapter 7).

    Each row is shifted to mean 0 and scaled to variance 1, then multiplied by
    ``gamma`` and shifted by ``beta``: ``(x - mean) / sqrt(var + eps) * gamma + beta``.
    The variance is the biased one (divide by D), as in PyTorch.

    Parameters
    ----------
    x : array_like, shape (..., D)
        E.g. token vectors (B, T, D).
    gamma : array_like, shape (D,)
        Gain (``LayerNorm.weight`` in a checkpoint).
    beta : array_like, shape (D,)
        Shift (``LayerNorm.bias`` in a checkpoint).
    eps : float, default 1e-12
        Added to the variance; BERT's ``layer_norm_eps`` is 1e-12.

    Returns
    -------
    y : ndarray, shape (..., D)
        Same float dtype as ``x``.

    Raises
    ------
    ValueError
        If ``gamma`` or ``beta`` is not of shape (D,).
    """
    x = as_float(x, "x")
    require_ndim(x, "x", 1, "(..., D)")
    d = x.shape[-1]
    gamma = _check_gain(gamma, "gamma", d, x.shape).astype(x.dtype, copy=False)
    beta = _check_gain(beta, "beta", d, x.shape).astype(x.dtype, copy=False)
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + np.asarray(eps, dtype=x.dtype)) * gamma + beta


def rms_norm(x, gamma, eps=1e-5):
    """RMSNorm over the last axis, as in Llama and SmolLM2 (taught in chapter 8).

    Each row is divided by its root mean square, then multiplied by ``gamma``:
    ``x / sqrt(mean(x**2) + eps) * gamma``. Unlike LayerNorm there is no mean
    subtraction and no shift.

    Parameters
    ----------
    x : array_like, shape (..., D)
        E.g. token vectors (B, T, D).
    gamma : array_like, shape (D,)
        Gain (``input_layernorm.weight`` in Hugging Face, ``attn_norm.weight`` in GGUF).
    eps : float, default 1e-5
        Added to the mean square (``rms_norm_eps``).

    Returns
    -------
    y : ndarray, shape (..., D)
        Same float dtype as ``x``.

    Raises
    ------
    ValueError
        If ``gamma`` is not of shape (D,).
    """
    x = as_float(x, "x")
    require_ndim(x, "x", 1, "(..., D)")
    gamma = _check_gain(gamma, "gamma", x.shape[-1], x.shape).astype(x.dtype, copy=False)
    mean_square = (x * x).mean(axis=-1, keepdims=True)
    return x / np.sqrt(mean_square + np.asarray(eps, dtype=x.dtype)) * gamma
