"""A BERT encoder layer in numpy, to run all-MiniLM-L6-v2 past layer 0 (chapter 10).

A BERT layer is :func:`helpers.transformer_block` with the norm after each
residual ("post-norm"), LayerNorm, a GELU feed-forward layer and biases
everywhere (chapter 8)::

    x = LayerNorm(x + attention(x))         # attention.self + attention.output
    x = LayerNorm(x + feed_forward(x))      # intermediate + output

The weights are those of :func:`helpers.checkpoints.load_minilm`, already in
the course's (d_in, d_out) layout; :func:`block_params` renames its norm
entries to the block's names.

The letters are the book's: B batch, T tokens, D model width, H heads,
d head width, F feed-forward width.
"""

import numpy as np

from ._checks import as_float, require_ndim
from .block import block_attention, feed_forward, gelu, transformer_block
from .masks import padding_mask
from .norms import layer_norm

__all__ = ["gelu", "attention_mask_to_mask", "block_params", "bert_attention", "bert_feed_forward",
           "bert_layer", "bert_encoder"]

_NORM_NAMES = {"attn_ln_gamma": "attn_norm", "attn_ln_beta": "attn_norm_bias",
               "ffn_ln_gamma": "ffn_norm", "ffn_ln_beta": "ffn_norm_bias"}


def block_params(layer):
    """One MiniLM layer's weights under the names of :func:`helpers.transformer_block` (chapter 8).

    The projections keep their names (``w_q`` ... ``b_ff_out``); the four
    LayerNorm entries are renamed: ``attn_ln_gamma`` -> ``attn_norm``,
    ``attn_ln_beta`` -> ``attn_norm_bias``, ``ffn_ln_gamma`` -> ``ffn_norm``,
    ``ffn_ln_beta`` -> ``ffn_norm_bias``. No array is copied.

    Parameters
    ----------
    layer : dict
        One entry of ``load_minilm()[1]["layers"]``.

    Returns
    -------
    params : dict
        A new dict; ``layer`` is not changed.
    """
    return {_NORM_NAMES.get(name, name): value for name, value in layer.items()}


def attention_mask_to_mask(attention_mask):
    """Turn a tokenizer's ``attention_mask`` (1 = real, 0 = padding) into a mask.

    Used in chapter 8.

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
    """BERT's attention sublayer: attention, residual, LayerNorm (the first half of :func:`bert_layer`).

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
    out, weights = block_attention(x, layer, num_heads=num_heads, mask=mask)  # no RoPE: positions are in x
    y = layer_norm(x + out, layer["attn_ln_gamma"], layer["attn_ln_beta"], eps)
    return y, weights


def bert_feed_forward(x, layer, eps=1e-12):
    """BERT's feed-forward sublayer (the second half of :func:`bert_layer`).

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
    out = feed_forward(x, layer, ffn="gelu")  # gelu(x @ W1 + b1) @ W2 + b2: (..., T, D)
    return layer_norm(x + out, layer["ffn_ln_gamma"], layer["ffn_ln_beta"], eps)


def bert_layer(x, layer, *, num_heads, mask=None, eps=1e-12):
    """One BERT layer: :func:`helpers.transformer_block`, post-norm, LayerNorm, GELU (chapter 10).

    The same numbers as :func:`bert_attention` followed by
    :func:`bert_feed_forward`; the block is taught in chapter 8.

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
    return transformer_block(x, block_params(layer), norm_position="post", norm="layer", ffn="gelu",
                             num_heads=num_heads, mask=mask, eps=eps)


def bert_encoder(config, weights, x, *, mask=None, num_layers=None):
    """Run the first ``num_layers`` layers of a BERT encoder (chapter 10).

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
