"""Small input checks shared by the helper modules.

Every check raises ``ValueError`` with a message that names the shapes
involved, never ``AssertionError`` (``python -O`` strips asserts).

The float rule of every helper: float32 and float64 are computed and returned
in their own dtype. float16 is *returned* as float16 but *computed* in
float32, as GPUs accumulate float16 products in float32: numpy's float16
overflows above 65504 and rounds every partial sum to 11 bits, which would
turn a finite input into inf or NaN. Integers (and bools) become float64.
:func:`as_float` gives the array to compute with, :func:`result_dtype` the
dtype to return.
"""

import functools
import inspect
import math
import operator

import numpy as np


def as_array(x, name):
    """``np.asarray(x)``, with a ValueError naming ``x`` instead of numpy's for a ragged list."""
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as error:  # e.g. [[1, 2], [3]]: "inhomogeneous shape"
        raise ValueError(f"{name} must be an array of numbers, but numpy cannot make one from it ({error})") from None


def as_float(x, name):
    """Return ``x`` as a float array to compute with.

    float32 and float64 are kept; float16 is widened to float32 (see the
    module docstring); other real numbers (ints, bools) become float64.
    Cast the result back with ``.astype(result_dtype(...))``.
    """
    a = as_array(x, name)
    if a.dtype == np.float32 or a.dtype == np.float64:
        return a
    if a.dtype == np.float16:
        return a.astype(np.float32)
    if a.dtype.kind in "biuf":
        return a.astype(np.float64)
    raise ValueError(f"{name} must hold real numbers, but has dtype {a.dtype} and shape {a.shape}")


def result_dtype(*xs):
    """The float dtype a helper returns for the inputs ``xs`` (None entries are skipped).

    numpy's promotion of their dtypes, with every non-float dtype counted as
    float64: float16 with float16 gives float16, float16 with float32 gives
    float32, float32 with an int array gives float64. An input numpy cannot
    read counts as float64 here: :func:`as_float` reports it by name.
    """
    dtypes = [np.dtype(np.float64)]  # only used when every x is None
    for x in (x for x in xs if x is not None):
        try:
            dt = x.dtype if isinstance(x, np.ndarray) else np.asarray(x).dtype
        except (ValueError, TypeError):
            dt = np.dtype(np.float64)
        dtypes.append(dt if dt.kind == "f" else np.dtype(np.float64))
    return np.result_type(*(dtypes[1:] or dtypes))


def keeps_float16(*names):
    """Decorate a helper so that float16 inputs give float16 outputs.

    The helpers compute float16 in float32 (:func:`as_float`), which would
    otherwise leak into the result. With this decorator, when
    :func:`result_dtype` of the arguments ``names`` is float16, every float
    array the function returns (alone, or in a tuple or dict) is cast back to
    float16. Other dtypes are returned as the function computed them.
    """
    def decorate(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            bound = signature.bind_partial(*args, **kwargs)
            out = fn(*args, **kwargs)
            if result_dtype(*(bound.arguments.get(n) for n in names)) != np.float16:
                return out
            return _cast_floats(out, np.float16)
        return wrapper
    return decorate


def _cast_floats(out, dtype):
    if isinstance(out, np.ndarray) and out.dtype.kind == "f":
        return out.astype(dtype)
    if isinstance(out, tuple):
        return tuple(_cast_floats(o, dtype) for o in out)
    if isinstance(out, dict):
        return {k: _cast_floats(o, dtype) for k, o in out.items()}
    return out


def require_ndim(a, name, min_ndim, letters):
    """Raise unless ``a`` has at least ``min_ndim`` axes; ``letters`` describes them, e.g. "(..., T, D)"."""
    if a.ndim < min_ndim:
        raise ValueError(f"{name} must have shape {letters} (at least {min_ndim} axes), but has shape {a.shape}")


def require_matrix(a, name, letters):
    """Raise unless ``a`` is 2-D; ``letters`` describes its axes, e.g. "(d_in, d_out)"."""
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix of shape {letters}, but has shape {a.shape}")


def as_int(value, name, kind="an integer"):
    """Return ``value`` as a Python int (Python and numpy integers); a bool, a float or a string is a ValueError."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be {kind}, got the bool {bool(value)}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be {kind}, got {value!r}") from None


def positive_int(value, name):
    """Return ``value`` as a Python int, raising unless it is an integer >= 1 (a bool is not an integer)."""
    n = as_int(value, name, "a positive integer")
    if n < 1:
        raise ValueError(f"{name} must be a positive integer, got {n}")
    return n


def attention_scale(scale, d_k):
    """The factor the scores are multiplied by, as a Python float.

    ``None`` gives ``1 / sqrt(d_k)``; a given ``scale`` must be one finite
    real number (not a bool, not an array, not inf or NaN).
    """
    if scale is None:
        if d_k < 1:
            raise ValueError("the default scale 1/sqrt(d_k) needs d_k >= 1, but q and k have d_k = 0")
        return 1.0 / math.sqrt(d_k)
    if np.ndim(scale) != 0:
        raise ValueError(f"scale must be a single number, but has shape {np.shape(scale)}")
    if isinstance(scale, (bool, np.bool_)) or np.asarray(scale).dtype.kind not in "iuf":
        raise ValueError(f"scale must be a real number, got {scale!r}")
    value = float(scale)
    if not math.isfinite(value):
        raise ValueError(f"scale must be finite, got {value}")
    return value


def broadcast_or_raise(shapes, names):
    """Return ``np.broadcast_shapes(*shapes)``, or raise a ValueError naming every shape."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        listed = ", ".join(f"{n} {tuple(s)}" for n, s in zip(names, shapes))
        raise ValueError(f"shapes do not broadcast: {listed}") from None


def check_mask(mask, target_shape, letters):
    """Return ``mask`` as a bool array that broadcasts to ``target_shape`` (e.g. (..., T, S))."""
    mask = as_array(mask, "mask")
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

    q (..., T, d_k), k (..., S, d_k), v (..., S, d_v) as float arrays to
    compute with (:func:`as_float`); ``mask`` checked to be boolean and
    broadcastable to (..., T, S) (or None); ``batch`` the broadcast leading
    axes. Raises ValueError naming the shapes.
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
