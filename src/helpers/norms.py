"""Normalisation layers: BERT's LayerNorm and Llama's RMSNorm (chapter 8).

Both work on the last axis, one row (token) at a time. A row whose squares
would overflow (or underflow) is first divided by a power of two close to its
largest entry, which changes no bit of an ordinary result: ``layer_norm`` of
``[1e200, -1e200]`` is ``[1, -1]``, not ``[0, 0]``.
"""

import math

import numpy as np

from ._checks import as_float, keeps_float16, require_ndim


def _check_gain(a, name, d, x_shape):
    """Return ``a`` as a float array of shape (D,), or raise a ValueError naming the shapes."""
    a = as_float(a, name)
    if a.shape != (d,):
        raise ValueError(f"{name} has shape {a.shape} but x has shape {x_shape}: {name} must have shape (D,) = ({d},)")
    return a


def _check_eps(eps):
    """Return ``eps`` as a float, or raise a ValueError unless it is a finite number > 0."""
    if not isinstance(eps, (int, float, np.integer, np.floating)) or isinstance(eps, bool) or not math.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a finite number > 0 (it keeps the division away from 0), got {eps!r}")
    return float(eps)


# Per dtype: the smallest mean square the plain formula keeps exact (tiny / eps: no digits lost to
# underflow), and sqrt(max / 4): entries at most this / sqrt(D) have squares (of x - mean, too) that sum
# without overflow. Python floats, so the checks cost almost nothing.
_LIMITS = {np.dtype(t): (float(np.finfo(t).tiny / np.finfo(t).eps), math.sqrt(float(np.finfo(t).max) / 4))
           for t in (np.float32, np.float64)}


def _normalised(x, eps, center):
    """``(x - mean) / sqrt(var + eps)`` (center) or ``x / sqrt(mean(x**2) + eps)`` per row, never overflowing.

    The plain formula is used when no square can overflow and every row's
    mean square is large enough to be exact; otherwise (``x**2 = inf`` for
    ``x = 1e200``) each row is first divided by a power of two close to its
    largest entry (at least about sqrt(eps)). That division is exact, so both
    ways give the same bits wherever the plain one is exact.
    """
    lowest, highest = _LIMITS[x.dtype]
    eps_x = np.asarray(eps, dtype=x.dtype)
    if x.size == 0:
        return x.copy()
    d = x.shape[-1]
    if np.maximum.reduce(np.abs(x), axis=None) <= highest / math.sqrt(d):
        # np.add.reduce(...) / D is what ndarray.mean computes, bit for bit, with less Python around it
        c = x - np.add.reduce(x, axis=-1, keepdims=True) / d if center else x
        ms = np.add.reduce(c * c, axis=-1, keepdims=True) / d  # var(x) or mean(x**2)
        if np.minimum.reduce(ms, axis=None) >= lowest:
            return c / np.sqrt(ms + eps_x)
    big = np.maximum(np.abs(x).max(axis=-1, keepdims=True), np.asarray(math.sqrt(eps), dtype=x.dtype))
    _, exponent = np.frexp(big)  # big = f * 2**exponent with f in [0.5, 1)
    scale = np.ldexp(np.ones_like(big), exponent - 1)  # a power of two <= big, never inf
    with np.errstate(under="ignore"):  # entries far below a row's largest may underflow: they do not count
        xs = x / scale  # every |entry| < 2: squares of the large ones neither overflow nor underflow
        c = xs - np.add.reduce(xs, axis=-1, keepdims=True) / d if center else xs
        ms = np.add.reduce(c * c, axis=-1, keepdims=True) / d  # var or mean square, divided by scale**2
        # eps / scale**2 is at most about 1; its floor at the smallest normal number matters only for a
        # constant row of huge numbers (variance exactly 0), making it 0 / sqrt(tiny) = 0 rather than 0 / 0.
        eps_s = np.maximum(eps_x / scale / scale, np.finfo(x.dtype).tiny)
        return c / np.sqrt(ms + eps_s)


@keeps_float16('x', 'gamma', 'beta')
def layer_norm(x, gamma, beta, eps=1e-12):
    """LayerNorm over the last axis, as in BERT (taught in chapter 8).

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
        Added to the variance, finite and > 0; BERT's ``layer_norm_eps`` is 1e-12.

    Returns
    -------
    y : ndarray, shape (..., D)
        Same float dtype as ``x``. Finite for every finite ``x``, however large.

    Raises
    ------
    ValueError
        If ``gamma`` or ``beta`` is not of shape (D,), or ``eps`` is not finite and > 0.
    """
    x = as_float(x, "x")
    require_ndim(x, "x", 1, "(..., D)")
    d = x.shape[-1]
    gamma = _check_gain(gamma, "gamma", d, x.shape).astype(x.dtype, copy=False)
    beta = _check_gain(beta, "beta", d, x.shape).astype(x.dtype, copy=False)
    return _normalised(x, _check_eps(eps), center=True) * gamma + beta


@keeps_float16('x', 'gamma')
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
        Added to the mean square (``rms_norm_eps``), finite and > 0.

    Returns
    -------
    y : ndarray, shape (..., D)
        Same float dtype as ``x``. Finite for every finite ``x``, however large.

    Raises
    ------
    ValueError
        If ``gamma`` is not of shape (D,), or ``eps`` is not finite and > 0.
    """
    x = as_float(x, "x")
    require_ndim(x, "x", 1, "(..., D)")
    gamma = _check_gain(gamma, "gamma", x.shape[-1], x.shape).astype(x.dtype, copy=False)
    return _normalised(x, _check_eps(eps), center=False) * gamma
