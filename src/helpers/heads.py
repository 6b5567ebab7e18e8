"""Multi-head attention: split into heads, attend per head, merge (chapter 6; GQA in chapter 11)."""

import numpy as np

from ._checks import (as_array, as_float, broadcast_or_raise, check_mask, positive_int, require_matrix,
                      require_ndim, result_dtype)
from .attention import scaled_dot_product_attention
from .projections import linear


def split_heads(x, num_heads):
    """Split the last axis into heads: (..., T, H*d) -> (..., H, T, d) (chapter 6).

    Head ``h`` owns columns ``h*d : (h+1)*d``. This needs a reshape **and** a
    transpose: the reshape alone gives (..., T, H, d), where axis -3 still
    counts tokens, not heads (the bug of the blog post, chapter 6).

    Parameters
    ----------
    x : array_like, shape (..., T, H*d)
        E.g. the output of q_proj for a batch, (B, T, H*d).
    num_heads : int
        Number of heads H. Must divide the last axis.

    Returns
    -------
    heads : ndarray, shape (..., H, T, d)
        A view of ``x`` (no copy).
    """
    x = as_array(x, "x")
    num_heads = positive_int(num_heads, "num_heads")
    require_ndim(x, "x", 2, "(..., T, H*d)")
    width = x.shape[-1]
    if width % num_heads != 0:
        raise ValueError(f"x has shape {x.shape}: its last axis ({width}) is not divisible by num_heads={num_heads}")
    d = width // num_heads
    x = x.reshape(x.shape[:-1] + (num_heads, d))  # (..., T, H, d)
    return np.swapaxes(x, -3, -2)  # (..., H, T, d)


def merge_heads(x):
    """Undo :func:`split_heads`: (..., H, T, d) -> (..., T, H*d) (chapter 6).

    The heads of each token are concatenated side by side, head 0 first,
    ready for the output projection ``w_o``.

    Parameters
    ----------
    x : array_like, shape (..., H, T, d)
        Per-head outputs.

    Returns
    -------
    merged : ndarray, shape (..., T, H*d)
    """
    x = as_array(x, "x")
    require_ndim(x, "x", 3, "(..., H, T, d)")
    num_heads, t, d = x.shape[-3:]
    x = np.swapaxes(x, -3, -2)  # (..., T, H, d)
    return x.reshape(x.shape[:-3] + (t, num_heads * d))  # (..., T, H*d)


def repeat_kv(x, n_rep):
    """Repeat each key/value head ``n_rep`` times for grouped-query attention (chapter 11).

    Like Llama's ``repeat_kv`` (``repeat_interleave``): the output is
    kv head 0 ``n_rep`` times, then kv head 1 ``n_rep`` times, and so on, so
    query head ``h`` uses kv head ``h // n_rep``.

    Parameters
    ----------
    x : array_like, shape (..., H_kv, S, d)
        Keys or values, split into H_kv heads.
    n_rep : int
        Query heads per kv head, H // H_kv.

    Returns
    -------
    repeated : ndarray, shape (..., H_kv * n_rep, S, d)
    """
    x = as_array(x, "x")
    n_rep = positive_int(n_rep, "n_rep")
    require_ndim(x, "x", 3, "(..., H_kv, S, d)")
    if n_rep == 1:
        return x
    return np.repeat(x, n_rep, axis=-3)  # [h0, h0, h1, h1, ...], not [h0, h1, h0, h1, ...]


def multi_head_attention(x, w_q, w_k, w_v, w_o, *, num_heads, num_kv_heads=None,
                         b_q=None, b_k=None, b_v=None, b_o=None,
                         context=None, mask=None):
    """Multi-head attention in its batched form (chapter 6; GQA in chapter 11).

    Project once, split into heads, run scaled dot-product attention in every
    head at once, merge the heads and apply the output projection.
    With ``context`` it is cross-attention: queries come from ``x``, keys and
    values from ``context``. With ``num_kv_heads < num_heads`` it is
    grouped-query attention: query head h uses kv head ``h // (H // H_kv)``.

    Parameters
    ----------
    x : array_like, shape (..., T, D)
        Input tokens; the leading axes (e.g. B) are optional.
    w_q : array_like, shape (D, H*d)
        Query projection (q_proj). Fixes the head width ``d = w_q.shape[1] // H``.
    w_k, w_v : array_like, shape (D, H_kv*d)
        Key and value projections (k_proj, v_proj).
    w_o : array_like, shape (H*d, D)
        Output projection (o_proj).
    num_heads : int
        Number of query heads H.
    num_kv_heads : int, optional
        Number of key/value heads H_kv (default H). Must divide H.
    b_q : array_like, shape (H*d,), optional
    b_k, b_v : array_like, shape (H_kv*d,), optional
    b_o : array_like, shape (D,), optional
        Biases of the four projections.
    context : array_like, shape (..., S, D), optional
        Source of keys and values (default: ``x``, so S = T).
    mask : array_like of bool, broadcastable to (..., H, T, S), optional
        True = may attend, e.g. ``causal_mask(T)`` (T, S), a padding mask
        (B, 1, 1, S), or a full (B, H, T, S) mask.

    Returns
    -------
    out : ndarray, shape (..., T, D)
    weights : ndarray, shape (..., H, T, S)
        Attention weights of every head. A query with no allowed key gets
        zero weights and zero attention output (then ``b_o`` if given).
        Both have the float dtype of the inputs.

    The edges are those of :func:`scaled_dot_product_attention`, which runs
    every head: a context with no tokens (S = 0) gives weights of shape
    (..., H, T, 0) and an output of ``b_o`` (or zeros); NaN or inf in a
    ``context`` token that the mask hides from every query (e.g. an unused
    cache slot) never reaches the output, while one the mask lets a query
    see is a ValueError; scores that overflow float32 are computed in
    float64. float16 inputs are computed in float32 throughout and the
    results returned as float16.

    Raises
    ------
    ValueError
        If any weight, bias, context or mask shape does not fit, or H_kv does
        not divide H; the message names the shapes.
    """
    dtype = result_dtype(x, context, w_q, w_k, w_v, w_o, b_q, b_k, b_v, b_o)
    x = as_float(x, "x")  # float16 is computed in float32 (see helpers._checks)
    context = x if context is None else as_float(context, "context")
    num_kv_heads = num_heads if num_kv_heads is None else num_kv_heads
    _check_mha_inputs(x, context, w_q, w_k, w_v, w_o, num_heads, num_kv_heads, b_q, b_k, b_v, b_o, mask)

    q = split_heads(linear(x, w_q, b_q), num_heads)  # (..., T, H*d) -> (..., H, T, d)
    k = split_heads(linear(context, w_k, b_k), num_kv_heads)  # (..., H_kv, S, d)
    v = split_heads(linear(context, w_v, b_v), num_kv_heads)  # (..., H_kv, S, d)
    k = repeat_kv(k, num_heads // num_kv_heads)  # (..., H, S, d); no-op when H_kv == H
    v = repeat_kv(v, num_heads // num_kv_heads)
    heads, weights = scaled_dot_product_attention(q, k, v, mask=mask)  # (..., H, T, d), (..., H, T, S)
    out = linear(merge_heads(heads), w_o, b_o)  # (..., T, H*d) @ (H*d, D) -> (..., T, D)
    return out.astype(dtype, copy=False), weights.astype(dtype, copy=False)


def _check_mha_inputs(x, context, w_q, w_k, w_v, w_o, num_heads, num_kv_heads, b_q, b_k, b_v, b_o, mask):
    """Raise a ValueError naming the shapes if the inputs of multi_head_attention do not fit."""
    h = positive_int(num_heads, "num_heads")
    h_kv = positive_int(num_kv_heads, "num_kv_heads")
    if h % h_kv != 0:
        raise ValueError(f"num_heads={h} is not divisible by num_kv_heads={h_kv}")
    require_ndim(x, "x", 2, "(..., T, D)")
    require_ndim(context, "context", 2, "(..., S, D)")
    d_model = x.shape[-1]
    if context.shape[-1] != d_model:
        raise ValueError(f"context has shape {context.shape} but x has shape {x.shape}: both need d_model={d_model}")
    batch = broadcast_or_raise([x.shape[:-2], context.shape[:-2]], ["x[..., :-2]", "context[..., :-2]"])

    w = {name: as_array(a, name) for name, a in [("w_q", w_q), ("w_k", w_k), ("w_v", w_v), ("w_o", w_o)]}
    for name, a in w.items():
        require_matrix(a, name, "(d_in, d_out)")
    if w["w_q"].shape[0] != d_model:
        raise ValueError(f"w_q has shape {w['w_q'].shape} but x has d_model={d_model}")
    if w["w_q"].shape[1] % h != 0:
        raise ValueError(f"w_q has shape {w['w_q'].shape}: its {w['w_q'].shape[1]} columns do not split into num_heads={h} heads")
    d = w["w_q"].shape[1] // h
    for name in ("w_k", "w_v"):
        if w[name].shape != (d_model, h_kv * d):
            raise ValueError(f"{name} has shape {w[name].shape} but should be (d_model, H_kv*d) = ({d_model}, {h_kv * d}) "
                             f"for x with d_model={d_model}, num_kv_heads={h_kv} and head width d={d} (from w_q {w['w_q'].shape})")
    if w["w_o"].shape[0] != h * d:
        raise ValueError(f"w_o has shape {w['w_o'].shape} but should have H*d = {h * d} rows (w_q has shape {w['w_q'].shape})")

    expected_bias = {"b_q": h * d, "b_k": h_kv * d, "b_v": h_kv * d, "b_o": w["w_o"].shape[1]}
    for name, b in [("b_q", b_q), ("b_k", b_k), ("b_v", b_v), ("b_o", b_o)]:
        if b is not None and as_array(b, name).shape != (expected_bias[name],):
            raise ValueError(f"{name} has shape {as_array(b, name).shape} but should have shape ({expected_bias[name]},)")
    if mask is not None:
        check_mask(mask, batch + (h, x.shape[-2], context.shape[-2]), "(..., H, T, S)")
