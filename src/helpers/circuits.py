"""Reading a trained head: its QK and OV circuits, and scores of its attention pattern (chapter 9).

Elhage et al. (2021), "A Mathematical Framework for Transformer Circuits",
split a head into two matrices that act on the residual stream:

- the **QK circuit** ``W_q W_k^T`` (D, D): the score of a query vector ``a``
  against a key vector ``b`` is ``a W_q W_k^T b^T`` (times the scale
  ``1 / sqrt(d)``, left out here), so it decides *where* the head looks;
- the **OV circuit** ``W_v W_o`` (D, D): what a key position writes into the
  query's residual stream when it is attended to, so it decides *what* moves.

Put embeddings on both sides and they read as tables: token by token, or
position by position. A head's weights are the columns ``h*d : (h+1)*d`` of
the layer's ``w_q``, ``w_k`` and ``w_v`` and the same rows of ``w_o``.
"""

import numpy as np

from ._checks import as_float, require_matrix, require_ndim
from .tiny import check_head

__all__ = ["head_weights", "qk_circuit", "head_output", "ov_circuit", "argmax_on_diagonal", "attention_score",
           "previous_token_score"]


def head_weights(config, params, layer, head):
    """The four weight matrices of one head (chapter 9).

    Parameters
    ----------
    config : helpers.tiny.TinyConfig
    params : dict of str to ndarray
    layer, head : int

    Returns
    -------
    w_q, w_k, w_v : ndarray, shape (D, d)
    w_o : ndarray, shape (d, D)

    Raises
    ------
    ValueError
        If the head does not exist.
    """
    check_head(config, layer, head)
    cols = slice(head * config.d_head, (head + 1) * config.d_head)
    w = {name: params[f"layers.{layer}.{name}"] for name in ("w_q", "w_k", "w_v", "w_o")}
    return w["w_q"][:, cols], w["w_k"][:, cols], w["w_v"][:, cols], w["w_o"][cols]


def qk_circuit(config, params, layer, head, queries, keys):
    """The QK circuit of a head between two sets of vectors: ``queries W_q W_k^T keys^T`` (chapter 9).

    With token embeddings on both sides (e.g. ``embed[key tokens]`` twice for
    the lookup) it is a token-by-token table of how much each token, as a
    query, looks for each token as a key. With ``params["pos"]`` on both sides it is the
    positional circuit ``P W_q W_k^T P^T`` (T, T).

    Parameters
    ----------
    config : helpers.tiny.TinyConfig
    params : dict of str to ndarray
    layer, head : int
    queries : array_like, shape (N, D)
        Vectors in the residual stream on the query side.
    keys : array_like, shape (M, D)
        Vectors on the key side.

    Returns
    -------
    circuit : ndarray, shape (N, M)
        Unscaled scores (multiply by ``1 / sqrt(d)`` for the real ones).
    """
    w_q, w_k, _, _ = head_weights(config, params, layer, head)
    queries = _check_vectors(queries, "queries", config.d_model)
    keys = _check_vectors(keys, "keys", config.d_model)
    return (queries @ w_q) @ (keys @ w_k).T  # (N, d) @ (d, M) -> (N, M)


def head_output(config, params, layer, head, sources):
    """What a head writes into the residual stream when it attends to one source: ``sources W_v W_o`` (chapter 9).

    A later head reads these vectors. Used as the keys of a layer-1 head's
    :func:`qk_circuit`, they show K-composition: which tokens layer 1 looks
    for among the positions where this layer-0 head wrote about a token.

    Parameters
    ----------
    config : helpers.tiny.TinyConfig
    params : dict of str to ndarray
    layer, head : int
    sources : array_like, shape (N, D)
        Vectors in the residual stream at the attended (key) position.

    Returns
    -------
    written : ndarray, shape (N, D)
        Row i is the head's output for a query that puts all its weight on
        a position holding ``sources[i]``.
    """
    _, _, w_v, w_o = head_weights(config, params, layer, head)
    sources = _check_vectors(sources, "sources", config.d_model)
    return (sources @ w_v) @ w_o  # (N, D) @ (D, d) @ (d, D) -> (N, D)


def ov_circuit(config, params, layer, head, sources):
    """The OV circuit of a head read through the unembedding: ``sources W_v W_o W_U`` (chapter 9).

    Row i says which output tokens get pushed up (large entries) when the head
    attends to a position holding ``sources[i]``. With
    ``sources = embed[value tokens]`` a copying head shows a diagonal.

    Parameters
    ----------
    config, params, layer, head, sources
        As in :func:`head_output`; sources (N, D).

    Returns
    -------
    circuit : ndarray, shape (N, V)
        The logits the head adds, per attended source vector.
    """
    return head_output(config, params, layer, head, sources) @ params["unembed"]  # (N, D) @ (D, V) -> (N, V)


def _check_vectors(a, name, d_model):
    a = as_float(a, name)
    require_matrix(a, name, "(N, D)")
    if a.shape[1] != d_model:
        raise ValueError(f"{name} has shape {a.shape} but the model has D={d_model}: pass vectors of shape (N, {d_model})")
    return a


def argmax_on_diagonal(circuit, offset=0, mask=None):
    """Fraction of rows whose largest entry sits at column ``row + offset`` (chapter 9).

    A circuit that reads "match the same key" has its row maxima on the
    diagonal (``offset=0``); a previous-token head's positional circuit has
    them one column to the left (``offset=-1``). Rows with no column
    ``row + offset`` are left out.

    Parameters
    ----------
    circuit : array_like, shape (N, M)
    offset : int, default 0
    mask : array_like of bool, shape (N, M), optional
        Only the True entries of a row compete, e.g. ``causal_mask(T)`` for a
        positional circuit, where a query never sees later keys.

    Returns
    -------
    float in [0, 1]
    """
    c = as_float(circuit, "circuit")
    require_matrix(c, "circuit", "(N, M)")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.shape != c.shape:
            raise ValueError(f"mask must be a boolean array of the circuit's shape {c.shape}, "
                             f"but has dtype {mask.dtype} and shape {mask.shape}")
        c = np.where(mask, c, -np.inf)
    rows = np.arange(c.shape[0])
    target = rows + offset
    has_target = (target >= 0) & (target < c.shape[1])
    if not has_target.any():
        raise ValueError(f"no row of a circuit of shape {c.shape} has a column at offset {offset}")
    return float((c.argmax(axis=1) == target)[has_target].mean())


def attention_score(weights, attend):
    """Mean attention weight that a head puts where the task says it should look (chapter 9).

    Parameters
    ----------
    weights : array_like, shape (B, T, S)
        One head's attention weights, e.g. ``forward(...)[1][layer][:, head]``.
    attend : array_like of int, shape (B, T)
        For each query, the key position to score (``Batch.attend``); -1
        leaves the query out.

    Returns
    -------
    float in [0, 1]
        1 for a head that always looks exactly there.
    """
    w = as_float(weights, "weights")
    require_ndim(w, "weights", 3, "(B, T, S)")
    attend = np.asarray(attend)
    if attend.shape != w.shape[:2] or attend.dtype.kind not in "iu":
        raise ValueError(f"attend must be integer positions of shape (B, T) = {w.shape[:2]}, "
                         f"but has dtype {attend.dtype} and shape {attend.shape}")
    b, t = np.nonzero(attend >= 0)
    if b.size == 0:
        raise ValueError("attend holds no position (all -1): nothing to score")
    return float(w[b, t, attend[b, t]].mean())


def previous_token_score(weights):
    """Mean attention weight from every position t >= 1 to position t - 1 (chapter 9).

    Parameters
    ----------
    weights : array_like, shape (B, T, T)
        One head's attention weights.

    Returns
    -------
    float in [0, 1]
    """
    w = as_float(weights, "weights")
    require_ndim(w, "weights", 3, "(B, T, T)")
    attend = np.broadcast_to(np.arange(w.shape[1]) - 1, w.shape[:2])
    return attention_score(w, attend)
