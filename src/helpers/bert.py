"""A BERT encoder layer in numpy, to run all-MiniLM-L6-v2 past layer 0 (chapter 7).

Built from the course's helpers: :func:`multi_head_attention`,
:func:`linear`, :func:`layer_norm` and the padding mask of chapter 5. The
weights are those of :func:`helpers.checkpoints.load_minilm`, already in the
course's (d_in, d_out) layout.

One BERT layer is two residual sublayers, each followed by its LayerNorm
("post-norm")::

    x = LayerNorm(x + attention(x))         # attention.self + attention.output
    x = LayerNorm(x + feed_forward(x))      # intermediate + output

The letters are the book's: B batch, T tokens, D model width, H heads,
d head width, F feed-forward width.
"""

import math

import numpy as np

from ._checks import as_float, require_ndim
from .heads import multi_head_attention
from .masks import padding_mask
from .norms import layer_norm
from .projections import linear

__all__ = ["gelu", "attention_mask_to_mask", "bert_attention", "bert_feed_forward",
           "bert_layer", "bert_encoder"]

_erf = np.frompyfunc(math.erf, 1, 1)  # numpy has no erf; math.erf, one number at a time


def gelu(x):
    """BERT's activation, the exact GELU: ``x * (1 + erf(x / sqrt(2))) / 2``.

    Taught in chapter 7. (The tanh formula some libraries use is an approximation
    that differs by about 1e-4; BERT's ``"gelu"`` is this one.)

    Parameters
    ----------
    x : array_like, shape (...)

    Returns
    -------
    y : ndarray, same shape and float dtype as ``x``
    """
    x = as_float(x, "x")
    erf = _erf(x / math.sqrt(2.0)).astype(np.float64)
    return (0.5 * x * (1.0 + erf)).astype(x.dtype)


def attention_mask_to_mask(attention_mask):
    """Turn a tokenizer's ``attention_mask`` (1 = real, 0 = padding) into a mask.

    Taught in chapter 7.

    Parameters
    ----------
    attention_mask : array_like of int, shape (B, S)
        Right-padded: each row is ones, then zeros.

    Returns
    -------
    mask : ndarray of bool, shape (B, 1, 1, S)
        :func:`helpers.padding_mask` of the row lengths: True for real keys.
        Broadcasts against scores (B, H, T, S).

    Raises
    ------
    ValueError
        If ``attention_mask`` is not 2-D, or a row is not ones followed by zeros.
    """
    am = np.asarray(attention_mask)
    if am.ndim != 2:
        raise ValueError(f"attention_mask must have shape (B, S), but has shape {am.shape}")
    ok = np.all((am == 0) | (am == 1))
    mask = padding_mask(am.sum(axis=1).astype(np.int64), am.shape[1]) if ok else None
    if not ok or not np.array_equal(mask[:, 0, 0], am.astype(bool)):
        raise ValueError(f"attention_mask of shape {am.shape} must hold 1s followed by 0s "
                         "in every row (right padding)")
    return mask


def bert_attention(x, layer, *, num_heads, mask=None, eps=1e-12):
    """BERT's attention sublayer: attention, residual, LayerNorm (chapter 7).

    ``LayerNorm(x + MHA(x))`` with the layer's ``query``, ``key``, ``value``
    and ``attention.output.dense`` weights and biases.

    Parameters
    ----------
    x : array_like, shape (B, T, D) or (T, D)
        The layer's input.
    layer : dict
        One entry of ``load_minilm()[1]["layers"]``: ``w_q``, ``w_k``,
        ``w_v`` (D, H*d), ``w_o`` (H*d, D), their biases, and
        ``attn_ln_gamma``, ``attn_ln_beta`` (D,).
    num_heads : int
        H (12 for MiniLM).
    mask : array_like of bool, optional
        Broadcastable to (B, H, T, T), e.g. the (B, 1, 1, T) of a padding mask.
    eps : float, default 1e-12
        ``layer_norm_eps``.

    Returns
    -------
    y : ndarray, shape like ``x``
    weights : ndarray, shape (B, H, T, T) or (H, T, T)
        The attention weights of every head.
    """
    x = as_float(x, "x")
    require_ndim(x, "x", 2, "(..., T, D)")
    out, weights = multi_head_attention(
        x, layer["w_q"], layer["w_k"], layer["w_v"], layer["w_o"],
        num_heads=num_heads, mask=mask,
        b_q=layer["b_q"], b_k=layer["b_k"], b_v=layer["b_v"], b_o=layer["b_o"])
    y = layer_norm(x + out, layer["attn_ln_gamma"], layer["attn_ln_beta"], eps)
    return y, weights


def bert_feed_forward(x, layer, eps=1e-12):
    """BERT's feed-forward sublayer (chapter 7).

    ``LayerNorm(x + gelu(x @ W1 + b1) @ W2 + b2)``, F = 1536 for MiniLM.

    Parameters
    ----------
    x : array_like, shape (..., T, D)
    layer : dict
        ``w_ff_in`` (D, F), ``b_ff_in`` (F,), ``w_ff_out`` (F, D),
        ``b_ff_out`` (D,), ``ffn_ln_gamma``, ``ffn_ln_beta`` (D,).
    eps : float, default 1e-12

    Returns
    -------
    y : ndarray, shape like ``x``
    """
    x = as_float(x, "x")
    hidden = gelu(linear(x, layer["w_ff_in"], layer["b_ff_in"]))  # (..., T, F)
    out = linear(hidden, layer["w_ff_out"], layer["b_ff_out"])  # (..., T, D)
    return layer_norm(x + out, layer["ffn_ln_gamma"], layer["ffn_ln_beta"], eps)


def bert_layer(x, layer, *, num_heads, mask=None, eps=1e-12):
    """One BERT layer: :func:`bert_attention`, then :func:`bert_feed_forward`.

    Taught in chapter 7.

    Parameters
    ----------
    x : array_like, shape (B, T, D) or (T, D)
    layer : dict
        One entry of ``load_minilm()[1]["layers"]``.
    num_heads : int
    mask : array_like of bool, optional
        Broadcastable to (B, H, T, T).
    eps : float, default 1e-12

    Returns
    -------
    y : ndarray, shape like ``x``
    weights : ndarray, shape (B, H, T, T) or (H, T, T)
    """
    h, weights = bert_attention(x, layer, num_heads=num_heads, mask=mask, eps=eps)
    return bert_feed_forward(h, layer, eps), weights


def bert_encoder(config, weights, x, *, mask=None, num_layers=None):
    """Run the first ``num_layers`` layers of a BERT encoder (chapter 7).

    Parameters
    ----------
    config : dict
        ``config.json`` (``num_attention_heads`` H, ``layer_norm_eps``,
        ``num_hidden_layers``).
    weights : dict
        As returned by :func:`helpers.checkpoints.load_minilm`; layers
        0 .. num_layers-1 must be loaded.
    x : array_like, shape (B, T, D) or (T, D)
        The embeddings, from :func:`helpers.checkpoints.bert_embeddings`.
    mask : array_like of bool, optional
        Broadcastable to (B, H, T, T), e.g. from :func:`attention_mask_to_mask`.
    num_layers : int, optional
        How many layers to run (default: all of the config).

    Returns
    -------
    hidden_states : list of ndarray
        ``num_layers + 1`` arrays shaped like ``x``: the embeddings, then the
        output of each layer.
    attentions : list of ndarray
        ``num_layers`` arrays of shape (B, H, T, T): each layer's attention weights.

    Raises
    ------
    ValueError
        If a layer that must run was not loaded.
    """
    n = config["num_hidden_layers"] if num_layers is None else num_layers
    missing = [i for i in range(n) if i not in weights["layers"]]
    if missing:
        raise ValueError(f"layers {missing} are not loaded: running {n} layers needs "
                         f"layers 0..{n - 1} (load_minilm(layers=range({n})))")
    hidden_states, attentions = [as_float(x, "x")], []
    for i in range(n):
        x, w = bert_layer(hidden_states[-1], weights["layers"][i],
                          num_heads=config["num_attention_heads"], mask=mask,
                          eps=config["layer_norm_eps"])
        hidden_states.append(x)
        attentions.append(w)
    return hidden_states, attentions
