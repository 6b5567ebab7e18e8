"""The transformer block around attention: norms, residuals, the feed-forward layer (chapter 8).

One block is two residual sublayers, attention and the feed-forward layer
(the "MLP"), each with a normalisation. Where the norm sits is the main
difference between BERT and Llama::

    post-norm (BERT, MiniLM):   x = norm(x + attention(x));   x = norm(x + mlp(x))
    pre-norm (Llama, SmolLM2):  x = x + attention(norm(x));   x = x + mlp(norm(x))

:func:`transformer_block` runs either, with LayerNorm or RMSNorm, a GELU or
SwiGLU feed-forward layer, any number of key/value heads (GQA), RoPE and a
KV cache; :mod:`helpers.bert` and :mod:`helpers.smollm2` run their layers
with it. :func:`random_blocks` and :func:`depth_profile` measure what the
placement of the norm does to a deep stack at initialisation.

The letters are the book's: B batch, T query positions, S key positions,
D model width, H heads, H_kv key/value heads, d head width, F feed-forward
width.
"""

import math

import numpy as np

from ._checks import as_float, check_mask, keeps_float16, positive_int, require_ndim
from .attention import scaled_dot_product_attention
from .heads import merge_heads, split_heads
from .masks import causal_mask
from .norms import layer_norm, rms_norm
from .rope import apply_rope

__all__ = ["erf", "gelu", "gelu_tanh", "silu", "swiglu", "feed_forward", "block_attention",
           "transformer_block", "random_blocks", "run_blocks", "depth_profile"]

NORM_POSITIONS = ("pre", "post")
NORMS = ("layer", "rms")
FFNS = ("gelu", "gelu_tanh", "swiglu")

# erf, vectorised: math.erf on a grid of centres c (step 1/16 on [-6, 6]), then the Taylor series
# erf(c + h) = erf(c) + 2/sqrt(pi) exp(-c^2) sum_{n>=1} (-1)^(n-1) H_{n-1}(c) h^n / n!  (H: Hermite polynomials),
# |h| <= 1/32. Ten terms leave a remainder below 1e-17; beyond |x| = 6, erf(x) rounds to +-1 in float64.
_ERF_STEP = 1.0 / 16.0
_ERF_LIMIT = 6.0
_ERF_TABLE = np.array([math.erf(c) for c in np.arange(-_ERF_LIMIT, _ERF_LIMIT + _ERF_STEP / 2, _ERF_STEP)])
_ERF_TERMS = 10


@keeps_float16('x')
def erf(x):
    """The error function ``erf(x) = 2/sqrt(pi) * integral_0^x exp(-t**2) dt``, elementwise (chapter 8).

    numpy has no erf. This one is vectorised and float64-accurate (within 3
    units in the last place of :func:`math.erf`, tested): a table
    of ``math.erf`` every 1/16 on [-6, 6], then ten terms of the Taylor series
    around the nearest table point, whose derivatives are Hermite
    polynomials times ``exp(-c**2)``. Beyond |x| = 6, erf(x) is +-1 to float64
    precision.

    Parameters
    ----------
    x : array_like, shape (...)

    Returns
    -------
    y : ndarray, same shape as ``x``
        float64, or float32 for float32 input; in [-1, 1].
    """
    x = as_float(x, "x")
    z = np.clip(x.reshape(-1), -_ERF_LIMIT, _ERF_LIMIT, dtype=np.float64)  # 1-D; NaN stays NaN
    idx = np.rint((np.nan_to_num(z) + _ERF_LIMIT) * (1 / _ERF_STEP)).astype(np.intp)  # the nearest centre
    c = idx * _ERF_STEP - _ERF_LIMIT  # exact: multiples of 1/16
    h = z - c  # |h| <= 1/32
    two_c = 2.0 * c
    power = h.copy()  # h^n / n!, n = 1
    series = h.copy()  # the n = 1 term: H_0(c) h
    herm_prev, herm = np.ones_like(c), two_c.copy()  # H_0, H_1
    for n in range(1, _ERF_TERMS):  # add the term of h^(n+1): (-1)^n H_n(c) h^(n+1) / (n+1)!
        power *= h
        power *= 1.0 / (n + 1)
        term = herm * power
        if n % 2 == 0:
            series += term
        else:
            series -= term
        herm_prev *= 2.0 * n  # H_{n+1} = 2c H_n - 2n H_{n-1}, written over H_{n-1}
        np.subtract(two_c * herm, herm_prev, out=herm_prev)
        herm_prev, herm = herm, herm_prev
    series *= np.exp(-c * c)
    series *= 2.0 / math.sqrt(math.pi)
    y = _ERF_TABLE[idx] + series
    return y.reshape(x.shape).astype(x.dtype, copy=False)


@keeps_float16('x')
def gelu(x):
    """GELU, exact: ``x * Phi(x) = x * (1 + erf(x / sqrt(2))) / 2`` (chapter 8).

    Phi is the standard normal CDF: GELU lets x through in proportion to how
    likely a standard normal variable is to be below it. BERT's ``"gelu"``
    (``hidden_act`` of MiniLM) is this exact form; :func:`gelu_tanh` is the
    approximation of GPT-2.

    Parameters
    ----------
    x : array_like, shape (...)

    Returns
    -------
    y : ndarray, same shape and float dtype as ``x``
        Computed in float64 and rounded once to the dtype of ``x``.
    """
    x = as_float(x, "x")
    e = erf(x / math.sqrt(2.0)).astype(np.float64)  # x / sqrt(2) in x's dtype, as PyTorch does
    return (0.5 * x * (1.0 + e)).astype(x.dtype)


@keeps_float16('x')
def gelu_tanh(x):
    """GELU, tanh approximation: ``x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x**3)))`` (chapter 8).

    The form of GPT-2 (``"gelu_new"``, PyTorch's ``approximate="tanh"``),
    from Hendrycks and Gimpel (2016). It differs from the exact
    :func:`gelu` by at most 4.7e-4 (at |x| = 2.70), measured in chapter 8.

    Parameters
    ----------
    x : array_like, shape (...)

    Returns
    -------
    y : ndarray, same shape and float dtype as ``x``
        Never NaN for finite x (x**3 may overflow to inf; tanh(inf) = 1).
    """
    x = as_float(x, "x")
    with np.errstate(over="ignore"):
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)
    return 0.5 * x * (1.0 + np.tanh(inner))


@keeps_float16('x')
def silu(x):
    """SiLU (swish): ``x * sigmoid(x)``, the gate activation of SwiGLU (chapter 8).

    Computed as ``x * (1 + tanh(x/2)) / 2``, the same number without ``exp``,
    which would overflow for very negative x.

    Parameters
    ----------
    x : array_like, shape (...)

    Returns
    -------
    y : ndarray, same shape and float dtype as ``x``
    """
    return _silu(as_float(x, "x"))


def _silu(z):
    return z * (0.5 + 0.5 * np.tanh(0.5 * z))  # sigmoid(z) = (1 + tanh(z/2)) / 2


def swiglu(x, w_gate, w_up, w_down):
    """The SwiGLU feed-forward layer of Llama: ``(silu(x @ w_gate) * (x @ w_up)) @ w_down`` (chapter 8).

    Two projections up to width F: the "gate" decides, per hidden unit and
    token, how much of the "up" projection passes; then one projection down.
    (Shazeer, 2020.) Each token is transformed on its own.

    Parameters
    ----------
    x : array_like, shape (..., T, D)
    w_gate, w_up : array_like, shape (D, F)
        ``gate_proj`` and ``up_proj`` (GGUF ``ffn_gate``, ``ffn_up``), transposed.
    w_down : array_like, shape (F, D)
        ``down_proj`` (GGUF ``ffn_down``), transposed.

    Returns
    -------
    y : ndarray, shape (..., T, D)

    Raises
    ------
    ValueError
        If the shapes do not chain (the message names them).
    """
    return feed_forward(x, {"w_gate": w_gate, "w_up": w_up, "w_down": w_down}, ffn="swiglu")


@keeps_float16('x', 'params')
def feed_forward(x, params, *, ffn):
    """The feed-forward sublayer of a block, without norm or residual (chapter 8).

    * ``ffn="gelu"`` (BERT) or ``"gelu_tanh"`` (GPT-2):
      ``act(x @ w_ff_in + b_ff_in) @ w_ff_out + b_ff_out``;
    * ``ffn="swiglu"`` (Llama): :func:`swiglu`, with ``w_gate`` and ``w_up``
      or both side by side in one ``w_gate_up`` (D, 2F) (one matmul instead
      of two, the same numbers).

    Parameters
    ----------
    x : array_like, shape (..., T, D)
    params : dict
        ``w_ff_in`` (D, F), ``w_ff_out`` (F, D), optional ``b_ff_in`` (F,) and
        ``b_ff_out`` (D,) for GELU; ``w_gate``, ``w_up`` (D, F) or
        ``w_gate_up`` (D, 2F), and ``w_down`` (F, D) for SwiGLU.
    ffn : {"gelu", "gelu_tanh", "swiglu"}

    Returns
    -------
    y : ndarray, shape (..., T, D)

    Raises
    ------
    ValueError
        If ``ffn`` is unknown, a weight is missing or the shapes do not chain.
    """
    _choice(ffn, FFNS, "ffn")
    x = as_float(x, "x")
    require_ndim(x, "x", 1, "(..., D)")
    return _feed_forward(x, _ffn_weights(params, ffn, x.shape[-1]), ffn)


@keeps_float16('x')
def block_attention(x, params, *, num_heads, num_kv_heads=None, mask=None, causal=False, positions=None,
                    rope_base=None, rope_pairing="half", cache=None):
    """The attention sublayer of a block, without norm or residual (chapter 8).

    Project to q, k, v; split into heads; rotate q and k with RoPE (if
    ``rope_base`` is given); append k and v to the cache (if given); attend;
    merge the heads; project with W_o. With H_kv < H (grouped-query
    attention) query head h uses kv head ``h // (H / H_kv)``: the query heads
    are viewed as (H_kv, H / H_kv) groups and each kv head is broadcast over
    its group, never copied (the same numbers as :func:`helpers.repeat_kv`).

    Parameters
    ----------
    x : array_like, shape (..., T, D)
        With a cache, (T, D): the T new tokens.
    params : dict
        ``w_q`` (D, H*d), ``w_k``, ``w_v`` (D, H_kv*d), ``w_o`` (H*d, D) and
        optional biases ``b_q``, ``b_k``, ``b_v``, ``b_o``; or, instead of the
        three projections, ``w_qkv`` (D, (H + 2 H_kv) d), the three side by
        side (one matmul, the same numbers), with optional ``b_qkv``.
    num_heads : int
        H.
    num_kv_heads : int, optional
        H_kv (default H); divides H.
    mask : array_like of bool, optional
        Broadcastable to (..., H, T, S), True = may attend: e.g. a padding
        mask (B, 1, 1, S).
    causal : bool, default False
        Also apply :func:`helpers.causal_mask` (T, S): the queries are the
        last T of the S positions.
    positions : array_like of int, shape (T,), optional
        Positions for RoPE; default: the T positions after those the cache
        holds (0 .. T-1 without a cache).
    rope_base : float, optional
        RoPE's base; None (default) means no RoPE (BERT adds positions to the
        embeddings instead).
    rope_pairing : {"half", "adjacent"}, default "half"
        See :func:`helpers.apply_rope`.
    cache : helpers.smollm2.KVCache, optional
        This layer's cache, appended to in place; then S = cached + T.

    Returns
    -------
    out : ndarray, shape (..., T, D)
    weights : ndarray, shape (..., H, T, S)
        The attention weights of every head.

    Raises
    ------
    ValueError
        If a weight, bias, mask or positions shape does not fit; the message names the shapes.
    """
    x = as_float(x, "x")
    require_ndim(x, "x", 2, "(..., T, D)")
    h, h_kv = _head_counts(num_heads, num_kv_heads)
    _check_rope_options(positions, rope_base)
    w, d = _attention_weights(params, h, h_kv, x.shape[-1])
    return _attention(x, w, h, h_kv, d, mask, causal, positions, rope_base, rope_pairing, cache)


@keeps_float16('x')
def transformer_block(x, params, *, norm_position, norm, ffn, num_heads, num_kv_heads=None, eps=1e-5,
                      mask=None, causal=False, positions=None, rope_base=None, rope_pairing="half", cache=None):
    """One transformer block: attention and feed-forward sublayers, residuals and norms (chapter 8).

    ``norm_position="post"`` (BERT, MiniLM; the original Transformer)::

        x = norm(x + attention(x));   y = norm(x + mlp(x))

    ``norm_position="pre"`` (GPT-2, Llama, SmolLM2)::

        x = x + attention(norm(x));   y = x + mlp(norm(x))

    In both, the residual stream x runs through the block; each sublayer
    reads it and adds what it writes. The attention sublayer is
    :func:`block_attention` (it moves information between positions), the
    feed-forward one :func:`feed_forward` (it transforms each position on
    its own). MiniLM's layer is ``norm_position="post", norm="layer",
    ffn="gelu"`` with biases; SmolLM2's is ``"pre", "rms", "swiglu"`` with
    GQA, RoPE and no biases.

    Parameters
    ----------
    x : array_like, shape (..., T, D)
        The residual stream; with a cache, (T, D) for the T new tokens.
    params : dict
        The attention weights of :func:`block_attention`, the feed-forward
        weights of :func:`feed_forward`, and the norms: ``attn_norm`` and
        ``ffn_norm`` (D,), the gains, and for LayerNorm optional shifts
        ``attn_norm_bias`` and ``ffn_norm_bias`` (D,) (default 0).
    norm_position : {"pre", "post"}
    norm : {"layer", "rms"}
        :func:`helpers.layer_norm` or :func:`helpers.rms_norm`.
    ffn : {"gelu", "gelu_tanh", "swiglu"}
    num_heads : int
        H.
    num_kv_heads : int, optional
        H_kv (default H).
    eps : float, default 1e-5
        The norms' epsilon (``layer_norm_eps`` 1e-12 for BERT, ``rms_norm_eps`` 1e-5 for SmolLM2).
    mask, causal, positions, rope_base, rope_pairing, cache
        As in :func:`block_attention`.

    Returns
    -------
    y : ndarray, shape (..., T, D)
        The residual stream after the block, same float dtype as ``x`` and
        the weights.
    weights : ndarray, shape (..., H, T, S)
        The attention weights of every head.

    Raises
    ------
    ValueError
        If a choice is unknown, a weight is missing, or a shape does not fit.
    """
    _choice(norm_position, NORM_POSITIONS, "norm_position")
    _choice(norm, NORMS, "norm")
    _choice(ffn, FFNS, "ffn")
    x = as_float(x, "x")
    require_ndim(x, "x", 2, "(..., T, D)")
    h, h_kv = _head_counts(num_heads, num_kv_heads)
    _check_rope_options(positions, rope_base)
    attn_w, d = _attention_weights(params, h, h_kv, x.shape[-1])
    ffn_w = _ffn_weights(params, ffn, x.shape[-1])
    if norm == "rms":
        gains = [(_get(params, f"{which}_norm", "norm"),) for which in ("attn", "ffn")]
        normalise = rms_norm
    else:
        gains = [(g, np.zeros_like(g) if b is None else b) for g, b in
                 ((_get(params, f"{which}_norm", "norm"), params.get(f"{which}_norm_bias")) for which in ("attn", "ffn"))]
        normalise = layer_norm

    def attend(a):
        return _attention(a, attn_w, h, h_kv, d, mask, causal, positions, rope_base, rope_pairing, cache)

    if norm_position == "post":
        out, weights = attend(x)
        x = normalise(x + out, *gains[0], eps)
        return normalise(x + _feed_forward(x, ffn_w, ffn), *gains[1], eps), weights
    out, weights = attend(normalise(x, *gains[0], eps))
    x = x + out
    return x + _feed_forward(normalise(x, *gains[1], eps), ffn_w, ffn), weights


# ---------------------------------------------------------------- the sublayers, once their weights are checked


def _matmul(x, w, b=None):
    """``x @ w (+ b)`` for weights already checked to fit; one matrix product for all leading axes."""
    y = x @ w if x.ndim == 2 else (x.reshape(-1, w.shape[0]) @ w).reshape(x.shape[:-1] + (w.shape[1],))
    return y if b is None else y + b


def _feed_forward(x, w, ffn):
    """:func:`feed_forward` with the weights of :func:`_ffn_weights`."""
    if ffn == "swiglu":
        if "w_gate_up" in w:
            gate_up = _matmul(x, w["w_gate_up"])  # (..., T, 2F)
            f = gate_up.shape[-1] // 2
            gate, up = gate_up[..., :f], gate_up[..., f:]  # (..., T, F) each
        else:
            gate, up = _matmul(x, w["w_gate"]), _matmul(x, w["w_up"])
        return _matmul(_silu(gate) * up, w["w_down"])  # (..., T, F) @ (F, D)
    act = gelu if ffn == "gelu" else gelu_tanh
    hidden = act(_matmul(x, w["w_ff_in"], w.get("b_ff_in")))  # (..., T, F)
    return _matmul(hidden, w["w_ff_out"], w.get("b_ff_out"))  # (..., T, D)


def _attention(x, w, h, h_kv, d, mask, causal, positions, rope_base, pairing, cache):
    """:func:`block_attention` with the weights of :func:`_attention_weights`."""
    t = x.shape[-2]
    if "w_qkv" in w:  # fused: one matmul, then split the columns
        qkv = _matmul(x, w["w_qkv"], w.get("b_qkv"))  # (..., T, (H + 2 H_kv) d)
        qk = split_heads(qkv[..., :(h + h_kv) * d], h + h_kv)  # (..., H + H_kv, T, d): query heads, then key heads
        v = split_heads(qkv[..., (h + h_kv) * d:], h_kv)  # (..., H_kv, T, d)
        if rope_base is not None:  # q and k heads in one call; never v
            qk = apply_rope(qk, _positions(positions, t, cache), rope_base, pairing=pairing)
        q, k = qk[..., :h, :, :], qk[..., h:, :, :]  # (..., H, T, d), (..., H_kv, T, d)
    else:
        q = split_heads(_matmul(x, w["w_q"], w.get("b_q")), h)  # (..., H, T, d)
        k = split_heads(_matmul(x, w["w_k"], w.get("b_k")), h_kv)  # (..., H_kv, T, d)
        v = split_heads(_matmul(x, w["w_v"], w.get("b_v")), h_kv)  # (..., H_kv, T, d)
        if rope_base is not None:  # rotate q and k, never v
            pos = _positions(positions, t, cache)
            q, k = apply_rope(q, pos, rope_base, pairing=pairing), apply_rope(k, pos, rope_base, pairing=pairing)
    if cache is not None:
        k, v = cache.append(k, v)  # (H_kv, S, d): every position so far
    s = k.shape[-2]

    allowed = None if mask is None else check_mask(mask, x.shape[:-2] + (h, t, s), "(..., H, T, S)")
    if causal:
        allowed = causal_mask(t, s) if allowed is None else allowed & causal_mask(t, s)
    g = h // h_kv
    if g == 1:
        heads, weights = scaled_dot_product_attention(q, k, v, mask=allowed)  # (..., H, T, d), (..., H, T, S)
    else:
        groups = q.reshape(q.shape[:-3] + (h_kv, g, t, d))  # (..., H_kv, H/H_kv, T, d)
        heads, weights = scaled_dot_product_attention(groups, k[..., None, :, :], v[..., None, :, :],  # broadcast
                                                      mask=_group_mask(allowed, h_kv, g))
        heads = heads.reshape(heads.shape[:-4] + (h, t, d))  # (..., H, T, d)
        weights = weights.reshape(weights.shape[:-4] + (h, t, s))  # (..., H, T, S)
    return _matmul(merge_heads(heads), w["w_o"], w.get("b_o")), weights  # (..., T, H*d) @ (H*d, D)


def _positions(positions, t, cache):
    """RoPE positions: as given, or the T positions after those the cache holds."""
    if positions is not None:
        return positions
    start = 0 if cache is None else cache.length
    return np.arange(start, start + t)


# ---------------------------------------------------------------- deep stacks at initialisation


def random_blocks(num_blocks, D, d_ff, *, num_heads, ffn="gelu", rng):
    """Weights of ``num_blocks`` freshly initialised blocks, no biases (chapter 8).

    Every weight matrix is drawn from Xavier (Glorot) normal initialisation,
    ``N(0, 2 / (d_in + d_out))``, which keeps the size of a vector about the
    same through a projection; the norm gains are 1 and the LayerNorm shifts
    0, as in a model before training. The same blocks serve both norm placements and both
    norms (RMSNorm ignores the shifts).

    Parameters
    ----------
    num_blocks : int
        L.
    D : int
        Model width; ``num_heads`` divides it (d = D / H).
    d_ff : int
        F.
    num_heads : int
        H.
    ffn : {"gelu", "gelu_tanh", "swiglu"}, default "gelu"
        Which feed-forward weights to draw: ``w_ff_in``, ``w_ff_out``, or
        ``w_gate``, ``w_up``, ``w_down``.
    rng : numpy.random.Generator

    Returns
    -------
    blocks : list of dict
        L params dicts for :func:`transformer_block`.

    Raises
    ------
    ValueError
        If a size is not a positive integer, H does not divide D, ``ffn`` is
        unknown or ``rng`` is not a Generator.
    """
    num_blocks, D, d_ff, h = (positive_int(v, n) for v, n in
                              ((num_blocks, "num_blocks"), (D, "D"), (d_ff, "d_ff"), (num_heads, "num_heads")))
    _choice(ffn, FFNS, "ffn")
    if D % h != 0:
        raise ValueError(f"D={D} is not divisible by num_heads={h}")
    _check_rng(rng)

    def xavier(d_in, d_out):
        return rng.normal(scale=math.sqrt(2.0 / (d_in + d_out)), size=(d_in, d_out))

    blocks = []
    for _ in range(num_blocks):
        p = {name: xavier(D, D) for name in ("w_q", "w_k", "w_v", "w_o")}
        if ffn == "swiglu":
            p.update(w_gate=xavier(D, d_ff), w_up=xavier(D, d_ff), w_down=xavier(d_ff, D))
        else:
            p.update(w_ff_in=xavier(D, d_ff), w_ff_out=xavier(d_ff, D))
        p.update(attn_norm=np.ones(D), attn_norm_bias=np.zeros(D), ffn_norm=np.ones(D), ffn_norm_bias=np.zeros(D))
        blocks.append(p)
    return blocks


def run_blocks(x, blocks, **block_options):
    """Run ``x`` through the blocks in order; return the residual stream before and after each (chapter 8).

    Parameters
    ----------
    x : array_like, shape (..., T, D)
    blocks : list of dict
        E.g. from :func:`random_blocks`.
    **block_options
        Passed to :func:`transformer_block` (``norm_position``, ``norm``,
        ``ffn``, ``num_heads``, ...).

    Returns
    -------
    streams : list of ndarray, each shape (..., T, D)
        L + 1 arrays: the input, then the output of every block.
    """
    streams = [as_float(x, "x")]
    for params in blocks:
        streams.append(transformer_block(streams[-1], params, **block_options)[0])
    return streams


def depth_profile(num_blocks, *, norm_position, rng, D=64, T=16, num_heads=4, d_ff=256, norm="layer", ffn="gelu",
                  causal=False, num_directions=4, step=1e-4):
    """How the residual stream and its sensitivity to the input change with depth, at initialisation (chapter 8).

    Draws, from ``rng`` and in this order, ``num_blocks`` blocks
    (:func:`random_blocks`), an input x of shape (T, D) with standard
    normal entries, and ``num_directions`` random directions u of norm 1.
    The order does not depend on ``norm_position``, so the same seed gives
    both placements the same weights, input and directions. Then the input
    is moved a little along each u, both ways, and every block's output is
    compared (central finite differences)::

        sensitivity[l] = mean over u of || x_l(x + step u) - x_l(x - step u) || / (2 step)

    the size of the change at depth l per unit change of the input
    (``sensitivity[0] = 1``). All the inputs run through the blocks
    together, as one batch of 1 + 2 * num_directions.

    Parameters
    ----------
    num_blocks : int
        L, e.g. 24.
    norm_position : {"pre", "post"}
    rng : numpy.random.Generator
    D, T, num_heads, d_ff : int, default 64, 16, 4, 256
        Model width, tokens, heads and feed-forward width of the toy blocks.
    norm : {"layer", "rms"}, default "layer"
    ffn : {"gelu", "gelu_tanh", "swiglu"}, default "gelu"
    causal : bool, default False
        Causal attention (a decoder) or not (an encoder).
    num_directions : int, default 4
        How many random directions the sensitivity is averaged over.
    step : float, default 1e-4
        The finite-difference step, > 0.

    Returns
    -------
    profile : dict of ndarray, each shape (L + 1,); index l is the depth (0 = the input)
        ``"rms"``: root mean square of the stream's entries (its typical
        size); ``"sensitivity"``: as above; ``"relative_sensitivity"``: the
        relative change out per relative change in,
        ``sensitivity[l] * ||x|| / ||x_l||``, which a final norm (as Llama
        has) would leave as it is; ``"input_cosine"``: the cosine between
        each token's vector at depth l and its input vector, averaged over
        the T tokens (how much of the input the stream still points along).

    Raises
    ------
    ValueError
        If a size is not a positive integer, a choice is unknown, step is not
        > 0, or rng is not a Generator.
    """
    _choice(norm_position, NORM_POSITIONS, "norm_position")
    _choice(norm, NORMS, "norm")
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not math.isfinite(step) or step <= 0:
        raise ValueError(f"step must be a finite number > 0, got {step!r}")
    _check_rng(rng)
    blocks = random_blocks(num_blocks, D, d_ff, num_heads=num_heads, ffn=ffn, rng=rng)
    x = rng.standard_normal((positive_int(T, "T"), D))  # (T, D)
    u = rng.standard_normal((positive_int(num_directions, "num_directions"),) + x.shape)  # (k, T, D)
    u /= np.linalg.norm(u, axis=(1, 2), keepdims=True)
    batch = np.concatenate([x[None], x + step * u, x - step * u])  # (1 + 2k, T, D)
    streams = run_blocks(batch, blocks, norm_position=norm_position, norm=norm, ffn=ffn, num_heads=num_heads,
                         causal=causal)
    k = len(u)
    rms = np.array([math.sqrt(np.mean(s[0] ** 2)) for s in streams])
    sensitivity = np.array([np.linalg.norm(s[1:1 + k] - s[1 + k:], axis=(1, 2)).mean() / (2 * step) for s in streams])
    size = np.array([np.linalg.norm(s[0]) for s in streams])
    cosine = np.array([np.mean(np.sum(s[0] * x, axis=-1) / (np.linalg.norm(s[0], axis=-1) * np.linalg.norm(x, axis=-1)))
                       for s in streams])
    return {"rms": rms, "sensitivity": sensitivity, "relative_sensitivity": sensitivity * size[0] / size,
            "input_cosine": cosine}


# ---------------------------------------------------------------- small checks


def _choice(value, allowed, name):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {rng!r}")


def _get(params, key, what):
    """``params[key]``, or a ValueError naming the missing key and the keys there are."""
    try:
        return params[key]
    except KeyError:
        raise ValueError(f"params has no {key!r}, which the {what} needs; it has {sorted(params)}") from None
    except TypeError:
        raise ValueError(f"params must be a dict of weights, got {type(params).__name__}") from None


def _check_rope_options(positions, rope_base):
    if positions is not None and rope_base is None:
        raise ValueError("positions are given but rope_base is None: positions are only used by RoPE "
                         "(pass rope_base, e.g. 10000.0, or leave positions out)")


def _head_counts(num_heads, num_kv_heads):
    h = positive_int(num_heads, "num_heads")
    h_kv = h if num_kv_heads is None else positive_int(num_kv_heads, "num_kv_heads")
    if h % h_kv != 0:
        raise ValueError(f"num_heads={h} is not divisible by num_kv_heads={h_kv}")
    return h, h_kv


def _array(params, key, what, shape, letters):
    """``params[key]`` as a float array of the expected shape (None = any size on that axis), or a ValueError."""
    a = _get(params, key, what)
    if type(a) is not np.ndarray or a.dtype.kind != "f":
        a = as_float(a, key)
    if a.ndim != len(shape) or a.shape[0] != shape[0] or (a.ndim == 2 and shape[1] is not None and a.shape[1] != shape[1]):
        expected = ", ".join("?" if n is None else str(n) for n in shape)
        raise ValueError(f"{key} has shape {a.shape} but should be {letters} = ({expected}{',' if len(shape) == 1 else ''})")
    return a


def _attention_weights(params, h, h_kv, D):
    """The attention's weights (and biases present) checked against D, H and H_kv; returns (weights, d)."""
    w = {}
    if "w_qkv" in params:
        w["w_qkv"] = _array(params, "w_qkv", "attention", (D, None), "(D, (H + 2 H_kv) d)")
        if w["w_qkv"].shape[1] % (h + 2 * h_kv) != 0:
            raise ValueError(f"w_qkv has shape {w['w_qkv'].shape}: its columns do not split into "
                             f"H + 2 H_kv = {h + 2 * h_kv} heads (H={h}, H_kv={h_kv})")
        d = w["w_qkv"].shape[1] // (h + 2 * h_kv)
        if params.get("b_qkv") is not None:
            w["b_qkv"] = _array(params, "b_qkv", "attention", ((h + 2 * h_kv) * d,), "((H + 2 H_kv) d,)")
    else:
        w["w_q"] = _array(params, "w_q", "attention", (D, None), "(D, H*d)")
        if w["w_q"].shape[1] % h != 0:
            raise ValueError(f"w_q has shape {w['w_q'].shape}: its {w['w_q'].shape[1]} columns do not split into num_heads={h} heads")
        d = w["w_q"].shape[1] // h
        for name, n in (("q", h), ("k", h_kv), ("v", h_kv)):
            if name != "q":
                w[f"w_{name}"] = _array(params, f"w_{name}", "attention", (D, n * d), f"(D, H_kv*d) with H_kv={h_kv}, d={d}")
            if params.get(f"b_{name}") is not None:
                w[f"b_{name}"] = _array(params, f"b_{name}", "attention", (n * d,), f"({'H' if name == 'q' else 'H_kv'}*d,)")
    w["w_o"] = _array(params, "w_o", "attention", (h * d, D), "(H*d, D)")
    if params.get("b_o") is not None:
        w["b_o"] = _array(params, "b_o", "attention", (D,), "(D,)")
    return w, d


def _ffn_weights(params, ffn, D):
    """The feed-forward weights (and biases present) for ``ffn``, checked against D and each other."""
    w = {}
    if ffn == "swiglu":
        if "w_gate_up" in params:
            w["w_gate_up"] = _array(params, "w_gate_up", "SwiGLU", (D, None), "(D, 2F)")
            f = w["w_gate_up"].shape[1] // 2
        else:
            w["w_gate"] = _array(params, "w_gate", "SwiGLU", (D, None), "(D, F)")
            f = w["w_gate"].shape[1]
            w["w_up"] = _array(params, "w_up", "SwiGLU", (D, f), "(D, F)")
        w["w_down"] = _array(params, "w_down", "SwiGLU", (f, D), "(F, D)")
        return w
    w["w_ff_in"] = _array(params, "w_ff_in", "feed-forward layer", (D, None), "(D, F)")
    f = w["w_ff_in"].shape[1]
    w["w_ff_out"] = _array(params, "w_ff_out", "feed-forward layer", (f, D), "(F, D)")
    for name, n, letters in (("b_ff_in", f, "(F,)"), ("b_ff_out", D, "(D,)")):
        if params.get(name) is not None:
            w[name] = _array(params, name, "feed-forward layer", (n,), letters)
    return w


def _group_mask(mask, h_kv, g):
    """A mask broadcastable to (..., H, T, S), reshaped to broadcast to the grouped (..., H_kv, H/H_kv, T, S)."""
    if mask is None or mask.ndim < 3:
        return mask  # (T, S) or (S,): the same for every head
    if mask.shape[-3] == 1:
        return mask[..., None, :, :]  # (..., 1, 1, T, S)
    return mask.reshape(mask.shape[:-3] + (h_kv, g) + mask.shape[-2:])  # (..., H_kv, H/H_kv, T, S)
