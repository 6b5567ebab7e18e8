"""Rotary position embeddings (RoPE) in both pairings, and the permutation between them (chapter 7).

RoPE rotates pairs of elements of every query and key by an angle that grows
with the position. Two conventions pair the d elements of a head differently:

* ``pairing="half"``: element ``i`` with element ``i + d/2`` ("rotate half"),
  as in GPT-NeoX and Hugging Face's Llama. The default everywhere here.
* ``pairing="adjacent"``: element ``2i`` with element ``2i + 1``, as in the
  RoFormer paper, Meta's original Llama code and llama.cpp.

Pair ``i`` turns at the same frequency ``base ** (-2i / d)`` in both, so they
are the same rotation up to one fixed reordering of the d elements,
:func:`rope_pairing_permutation`.
"""

import functools
import math

import numpy as np

from ._checks import as_float, keeps_float16, positive_int, require_ndim

PAIRINGS = ("half", "adjacent")


def check_base(base, name="base"):
    """Return ``base`` as a float, or raise a ValueError unless it is a finite number > 0."""
    if (not isinstance(base, (int, float, np.integer, np.floating)) or isinstance(base, bool)
            or not math.isfinite(base) or base <= 0):
        raise ValueError(f"{name} must be a finite number > 0, got {base!r}")
    return float(base)


def check_positions(positions, name="positions"):
    """Return ``positions`` as a float64 array, or raise a ValueError unless every entry is a finite integer.

    Integer dtypes pass; float arrays pass if every entry is a whole number
    (so ``np.arange(5.0)`` works, ``[0.5]`` and ``[nan]`` do not).
    """
    p = np.asarray(positions)
    if p.dtype.kind in "iu":
        return p.astype(np.float64)
    if p.dtype.kind != "f" or not np.all(np.isfinite(p)) or not np.all(p == np.round(p)):
        shown = p if p.size <= 6 else f"an array of shape {p.shape}"
        raise ValueError(f"{name} must be finite integers, got {shown} (dtype {p.dtype})")
    return p.astype(np.float64)


def _check_pairing(pairing):
    if pairing not in PAIRINGS:
        raise ValueError(f"pairing must be 'half' or 'adjacent', got {pairing!r}")
    return pairing


def _check_even(d, what):
    if d % 2 != 0:
        raise ValueError(f"{what}RoPE needs an even head width d, got d={d}")


def rope_frequencies(d, base=10000.0):
    """The d/2 angular frequencies ``base ** (-2i / d)``, i = 0 .. d/2 - 1 (chapter 7).

    Pair i turns by ``position * frequency[i]`` radians: about one radian per
    token for the first pair, about ``1/base`` for the last. The sinusoidal
    positions of :func:`helpers.sinusoidal_positions` use the same list.

    Parameters
    ----------
    d : int
        Head width d (even), or model width D for sinusoidal positions.
    base : float, default 10000.0
        ``rope_theta`` in a Hugging Face config; finite and > 0.

    Returns
    -------
    freq : ndarray of float64, shape (d/2,)

    Raises
    ------
    ValueError
        If d is not a positive even integer or base is not a finite number > 0.
    """
    d = positive_int(d, "d")
    _check_even(d, "")
    base = check_base(base)
    return base ** (-np.arange(0, d, 2) / d)


def rope_angles(positions, d, base=10000.0, *, pairing="half"):
    """Cosines and sines of the RoPE rotation angles, laid out for one pairing (chapter 7).

    Pair ``i`` at position ``m`` is rotated by the angle
    ``m * base ** (-2i / d)``: fast rotation for the first pairs, slow for the
    last.

    Parameters
    ----------
    positions : array_like of int, shape (T,)
        Position of each token (finite integers).
    d : int
        Head width d (even).
    base : float, default 10000.0
        Finite and > 0.
    pairing : {"half", "adjacent"}, default "half"
        Where the angle of pair i goes: columns ``i`` and ``i + d/2`` (the
        (T, d/2) table repeated twice side by side), or columns ``2i`` and
        ``2i + 1`` (each angle repeated in place).

    Returns
    -------
    cos, sin : ndarray of float64, shape (T, d)
        Column j holds the angle of the pair that element j belongs to.

    Raises
    ------
    ValueError
        If d is not a positive even integer, ``positions`` is not 1-D or not
        finite integers, ``base`` is not finite and > 0, or ``pairing`` is unknown.
    """
    freq = rope_frequencies(d, base)  # (d/2,)
    _check_pairing(pairing)
    positions = check_positions(positions)
    if positions.ndim != 1:
        raise ValueError(f"positions must have shape (T,), but has shape {positions.shape}")
    angles = positions[:, None] * freq[None, :]  # (T, d/2)
    if pairing == "half":
        angles = np.concatenate([angles, angles], axis=-1)  # (T, d): [a0 .. a_{d/2-1}, a0 .. a_{d/2-1}]
    else:
        angles = np.repeat(angles, 2, axis=-1)  # (T, d): [a0, a0, a1, a1, ...]
    return np.cos(angles), np.sin(angles)


def rotate_half(x):
    """Map the halves ``[x1, x2]`` of the last axis to ``[-x2, x1]`` (chapter 7).

    Turns every pair (element i, element i + d/2) by 90 degrees; :func:`apply_rope`
    with ``pairing="half"`` is ``x * cos + rotate_half(x) * sin``.
    """
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return np.concatenate([-x2, x1], axis=-1)


def rotate_adjacent(x):
    """Map each neighbour pair ``(x[2i], x[2i+1])`` to ``(-x[2i+1], x[2i])`` (chapter 7).

    The 90-degree turn of the adjacent pairing: :func:`apply_rope` with
    ``pairing="adjacent"`` is ``x * cos + rotate_adjacent(x) * sin``.
    """
    pairs = x.reshape(x.shape[:-1] + (x.shape[-1] // 2, 2))  # (..., d/2, 2)
    return np.stack([-pairs[..., 1], pairs[..., 0]], axis=-1).reshape(x.shape)


@keeps_float16('x')
def apply_rope(x, positions, base=10000.0, *, pairing="half"):
    """Rotate queries or keys by their positions, as Llama does after q_proj and k_proj (chapter 7).

    Each pair of elements is rotated by the angle from :func:`rope_angles`:
    ``(a, b) -> (a cos - b sin, a sin + b cos)``. Then the score of a query
    at position m and a key at position n depends only on m - n. Values are
    never rotated.

    The two pairings give the same scores once the columns are reordered:
    ``apply_rope(x[..., p], pos, pairing="half") == apply_rope(x, pos, pairing="adjacent")[..., p]``
    with ``p = rope_pairing_permutation(d)``.

    Parameters
    ----------
    x : array_like, shape (..., T, d)
        Queries or keys, e.g. (B, H, T, d) after split_heads; d must be even.
    positions : array_like of int, shape (T,)
        Position of each of the T rows (finite integers).
    base : float, default 10000.0
        ``rope_theta`` in a Hugging Face config (100000 for SmolLM2); finite and > 0.
    pairing : {"half", "adjacent"}, default "half"
        ``"half"`` pairs element ``i`` with ``i + d/2`` (GPT-NeoX, Hugging
        Face's Llama); ``"adjacent"`` pairs ``2i`` with ``2i + 1`` (RoFormer,
        Meta's original Llama, llama.cpp).

    Returns
    -------
    rotated : ndarray, shape (..., T, d)
        Same dtype as ``x``; every row keeps its norm. Position 0 is unchanged.

    Raises
    ------
    ValueError
        If d is odd, ``positions`` is not of shape (T,) or not finite
        integers, ``base`` is not finite and > 0, or ``pairing`` is unknown.
    """
    x = as_float(x, "x")
    require_ndim(x, "x", 2, "(..., T, d)")
    t, d = x.shape[-2:]
    _check_even(d, f"x has shape {x.shape}: ")
    positions = np.asarray(positions)
    if positions.shape != (t,):
        raise ValueError(f"positions has shape {positions.shape} but x has shape {x.shape}: need one position per row, shape (T,) = ({t},)")
    key = check_positions(positions).tobytes()
    cos, sin = _angle_tables(key, d, check_base(base), _check_pairing(pairing), x.dtype.char)  # (T, d) each
    turned = rotate_half(x) if pairing == "half" else rotate_adjacent(x)
    return x * cos + turned * sin


@functools.lru_cache(maxsize=8)
def _angle_tables(positions_bytes, d, base, pairing, dtype_char):
    """:func:`rope_angles` in the dtype of x, remembered: every layer of a model rotates by the same angles.

    The tables are read-only, so a caller cannot change what the next call gets.
    """
    cos, sin = rope_angles(np.frombuffer(positions_bytes), d, base, pairing=pairing)  # float64
    cos, sin = cos.astype(dtype_char), sin.astype(dtype_char)  # keep float32 as float32
    cos.flags.writeable = sin.flags.writeable = False
    return cos, sin


def rope_pairing_permutation(d, num_heads=1):
    """The column order that turns the adjacent RoPE pairing into the rotate-half one (chapter 7).

    ``p = [0, 2, 4, ..., d-2, 1, 3, ..., d-1]``: the even elements of a head,
    then the odd ones. Adjacent pair i, elements (2i, 2i + 1), lands on
    (i, i + d/2), which is rotate-half's pair i, and both turn at the same
    frequency. So, exactly (the same numbers, reordered)::

        apply_rope(x[..., p], pos, pairing="half") == apply_rope(x, pos, pairing="adjacent")[..., p]

    and a score ``q . k`` is the same under both pairings when the columns of
    q and k (the columns of W_q and W_k, per head) are reordered by ``p``.
    The inverse, ``np.argsort(p) = [0, d/2, 1, d/2 + 1, ...]``, goes the
    other way.

    This is the reordering of GGUF files: llama.cpp rotates adjacent pairs,
    Hugging Face's Llama rotates halves, so its converter writes the q and k
    rows of every head in the order ``argsort(p)``
    (:func:`helpers.checkpoints.gguf_qk_permutation`), and reading them back
    takes ``p`` (:func:`helpers.checkpoints.undo_gguf_qk_permutation`).

    Parameters
    ----------
    d : int
        Head width d (even).
    num_heads : int, default 1
        With H heads side by side (H*d columns, as from q_proj), the same
        reordering inside every head: ``h*d + p`` for h = 0 .. H-1.

    Returns
    -------
    p : ndarray of int64, shape (H*d,)
        Adjacent layout -> rotate-half layout: ``x_half = x_adjacent[..., p]``.

    Raises
    ------
    ValueError
        If d is not a positive even integer or num_heads is not a positive integer.
    """
    d = positive_int(d, "d")
    _check_even(d, "")
    num_heads = positive_int(num_heads, "num_heads")
    one = np.concatenate([np.arange(0, d, 2), np.arange(1, d, 2)])  # (d,)
    return (np.arange(num_heads)[:, None] * d + one[None, :]).ravel()  # (H*d,)
