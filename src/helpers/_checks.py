"""Small input checks shared by the helper modules.

Every check raises ``ValueError`` with a message that names the shapes
involved, never ``AssertionError`` (``python -O`` strips asserts).
"""

import operator

import numpy as np


def as_float(x, name):
    """Return ``x`` as a float array: float32 and float64 are kept, other real numbers become float64."""
    a = np.asarray(x)
    if a.dtype == np.float32 or a.dtype == np.float64:
        return a
    if a.dtype.kind in "biuf":
        return a.astype(np.float64)
    raise ValueError(f"{name} must hold real numbers, but has dtype {a.dtype} and shape {a.shape}")


def require_ndim(a, name, min_ndim, letters):
    """Raise unless ``a`` has at least ``min_ndim`` axes; ``letters`` describes them, e.g. "(..., T, D)"."""
    if a.ndim < min_ndim:
        raise ValueError(f"{name} must have shape {letters} (at least {min_ndim} axes), but has shape {a.shape}")


def require_matrix(a, name, letters):
    """Raise unless ``a`` is 2-D; ``letters`` describes its axes, e.g. "(d_in, d_out)"."""
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix of shape {letters}, but has shape {a.shape}")


def positive_int(value, name):
    """Return ``value`` as a Python int, raising unless it is an integer >= 1."""
    try:
        n = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be a positive integer, got {value!r}") from None
    if n < 1:
        raise ValueError(f"{name} must be a positive integer, got {n}")
    return n


def broadcast_or_raise(shapes, names):
    """Return ``np.broadcast_shapes(*shapes)``, or raise a ValueError naming every shape."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        listed = ", ".join(f"{n} {tuple(s)}" for n, s in zip(names, shapes))
        raise ValueError(f"shapes do not broadcast: {listed}") from None


def check_mask(mask, target_shape, letters):
    """Return ``mask`` as a bool array that broadcasts to ``target_shape`` (e.g. (..., T, S))."""
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise ValueError(
            f"mask must be boolean (True = may attend), but has dtype {mask.dtype} and shape {mask.shape}"
        )
    target_shape = tuple(target_shape)
    try:
        ok = np.broadcast_shapes(mask.shape, target_shape) == target_shape
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"mask has shape {mask.shape}, which does not broadcast to {letters} = {target_shape}")
    return mask


def check_qkv(q, k, v, mask):
    """Validate the inputs of an attention function; return ``(q, k, v, mask, batch)``.

    q (..., T, d_k), k (..., S, d_k), v (..., S, d_v) as float arrays; ``mask``
    checked to be boolean and broadcastable to (..., T, S) (or None); ``batch``
    the broadcast leading axes. Raises ValueError naming the shapes.
    """
    q, k, v = as_float(q, "q"), as_float(k, "k"), as_float(v, "v")
    require_ndim(q, "q", 2, "(..., T, d_k)")
    require_ndim(k, "k", 2, "(..., S, d_k)")
    require_ndim(v, "v", 2, "(..., S, d_v)")
    if k.shape[-1] != q.shape[-1]:
        raise ValueError(f"q has shape {q.shape} and k has shape {k.shape}: their last axes (d_k) must match")
    if v.shape[-2] != k.shape[-2]:
        raise ValueError(f"k has shape {k.shape} and v has shape {v.shape}: they must have the same number of keys S")
    batch = broadcast_or_raise([q.shape[:-2], k.shape[:-2], v.shape[:-2]], ["q[..., :-2]", "k[..., :-2]", "v[..., :-2]"])
    if mask is not None:
        mask = check_mask(mask, batch + (q.shape[-2], k.shape[-2]), "(..., T, S)")
    return q, k, v, mask, batch
