"""Backward passes: the gradients of softmax, attention, multi-head attention and the layers around them (chapter 9).

Every ``*_backward`` function takes the arguments of its forward helper plus
``d_out``, the gradient of the loss with respect to the forward output, and
returns the gradient of the loss with respect to each input. The forward pass
is recomputed inside, so nothing has to be cached by the caller.

Conventions are those of the forward helpers: row vectors, ``(d_in, d_out)``
weights, broadcasting leading axes, masks with True = may attend. A gradient
always has the shape of the input it belongs to: where an input was broadcast
along a leading axis, its gradient is summed over that axis. Training also
needs :func:`cross_entropy`, :func:`cross_entropy_backward` and
:func:`adam_step`, which are here too.
"""

import numpy as np

from ._checks import as_float, check_qkv, keeps_float16, require_matrix, require_ndim
from .attention import _absmax, _hide_masked_nonfinite, scaled_dot_product_attention, softmax
from .heads import _check_mha_inputs, merge_heads, repeat_kv, split_heads
from .norms import rms_norm

__all__ = [
    "sum_to_shape",
    "softmax_backward",
    "scaled_dot_product_attention_backward",
    "multi_head_attention_backward",
    "linear_backward",
    "rms_norm_backward",
    "cross_entropy",
    "cross_entropy_backward",
    "adam_step",
]


def sum_to_shape(grad, shape):
    """Sum ``grad`` over the axes along which an input of ``shape`` was broadcast (used by the backward passes below).

    Broadcasting copies an input along an axis; the gradient of a copy is the
    sum of the gradients of its copies. So extra leading axes are summed away,
    and an axis of length 1 in ``shape`` is summed with ``keepdims``.

    Parameters
    ----------
    grad : ndarray, shape broadcast(shape, ...)
        Gradient with respect to the broadcast input.
    shape : tuple of int
        Shape of the input before broadcasting.

    Returns
    -------
    grad : ndarray, shape ``shape``
    """
    shape = tuple(shape)
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if ones:
        grad = grad.sum(axis=ones, keepdims=True)
    return grad


def _require_same_shape(d_out, expected, what):
    """Raise a ValueError unless the gradient ``d_out`` has the shape of the forward output."""
    if d_out.shape != tuple(expected):
        raise ValueError(f"d_out has shape {d_out.shape} but {what} has shape {tuple(expected)}: "
                         "d_out must have the shape of the forward output")


@keeps_float16('weights', 'd_weights')
def softmax_backward(weights, d_weights, axis=-1):
    """Gradient of the scores from the gradient of the softmax weights (chapter 9).

    With ``a = softmax(s)`` along one row, the Jacobian is
    ``da_i / ds_j = a_i (delta_ij - a_j)`` (chapter 4), so

    ``ds_j = sum_i da_i a_i (delta_ij - a_j) = a_j (da_j - sum_i a_i da_i)``.

    The T x S Jacobian per row is never built: one product, one row sum and
    one subtraction do it. A weight of 0 (a masked key, or a fully masked row
    whose weights are all 0) gets a gradient of exactly 0, never NaN.

    Parameters
    ----------
    weights : array_like, shape (..., T, S)
        The output of :func:`helpers.softmax` (each row sums to 1, or is all 0).
    d_weights : array_like, shape (..., T, S)
        Gradient of the loss with respect to ``weights``.
    axis : int, default -1
        The axis the softmax was taken along.

    Returns
    -------
    d_scores : ndarray, shape (..., T, S)
        Gradient of the loss with respect to the scores.

    Raises
    ------
    ValueError
        If the two arrays do not have the same shape.
    """
    a = as_float(weights, "weights")
    da = as_float(d_weights, "d_weights")
    if a.shape != da.shape:
        raise ValueError(f"weights has shape {a.shape} but d_weights has shape {da.shape}: they must have the same shape")
    if a.ndim == 0:
        raise ValueError("weights must have at least one axis (the softmax axis), but is a scalar")
    return a * (da - (a * da).sum(axis=axis, keepdims=True))


@keeps_float16('q', 'k', 'v', 'd_out')
def scaled_dot_product_attention_backward(q, k, v, d_out, mask=None, scale=None):
    """Gradients of scaled dot-product attention with respect to q, k and v (chapter 9).

    The forward pass, :func:`helpers.scaled_dot_product_attention`, is
    ``scores = scale * q k^T``, ``A = softmax(scores)``, ``out = A v``. Going
    back through it, one step at a time:

    - ``dA = d_out v^T`` (..., T, S) and ``dv = A^T d_out`` (..., S, d_v);
    - ``dscores = softmax_backward(A, dA)`` (..., T, S);
    - ``dq = scale * dscores k`` (..., T, d_k) and ``dk = scale * dscores^T q`` (..., S, d_k).

    A masked key has weight 0, so it receives no gradient through that query.
    A query with no allowed key (a dead row) has zero output, so its ``dq``
    is 0, and it sends nothing to ``dk`` or ``dv``; never NaN.

    Parameters
    ----------
    q : array_like, shape (..., T, d_k)
    k : array_like, shape (..., S, d_k)
    v : array_like, shape (..., S, d_v)
        The arguments of the forward call.
    d_out : array_like, shape (..., T, d_v)
        Gradient of the loss with respect to the attention output; its
        leading axes are those of the output (q, k, v broadcast together).
    mask : array_like of bool, broadcastable to (..., T, S), optional
        True = may attend, as in the forward call.
    scale : float, optional
        As in the forward call (default ``1 / sqrt(d_k)``).

    Returns
    -------
    dq : ndarray, shape of q (..., T, d_k)
    dk : ndarray, shape of k (..., S, d_k)
    dv : ndarray, shape of v (..., S, d_v)
        Summed over any leading axis along which the input was broadcast.

    Raises
    ------
    ValueError
        If the inputs do not fit together (as in the forward call), or
        ``d_out`` does not have the shape of the output.
    """
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask, scale=scale)  # validates everything
    q, k, v = _hidden_nonfinite_as_zero(q, k, v, mask)
    d_out = as_float(d_out, "d_out")
    _require_same_shape(d_out, out.shape, "the attention output (..., T, d_v)")
    return _sdpa_grads(q, k, v, weights, d_out, scale)


def _hidden_nonfinite_as_zero(q, k, v, mask):
    """q, k, v as float arrays, with the NaN or inf entries the mask hides replaced by 0.

    The forward pass treats them so (an unused KV-cache slot may hold
    anything), and the backward pass must too: otherwise ``0 * NaN`` in
    ``d_out v^T`` would spread NaN over every gradient of the row.
    """
    q, k, v = as_float(q, "q"), as_float(k, "k"), as_float(v, "v")
    if all(np.isfinite(_absmax(a)) for a in (q, k, v)):
        return q, k, v
    q, k, v, mask, batch = check_qkv(q, k, v, mask)
    return _hide_masked_nonfinite(q, k, v, mask, batch)


def _sdpa_grads(q, k, v, weights, d_out, scale):
    """The gradient steps of :func:`scaled_dot_product_attention_backward`, on checked inputs."""
    dtype = np.result_type(q, k, v, d_out)
    if scale is None:
        scale = 1.0 / np.sqrt(q.shape[-1])
    scale = np.asarray(scale, dtype=dtype)  # float32 stays float32, as in the forward pass
    d_weights = d_out @ np.swapaxes(v, -1, -2)  # (..., T, d_v) @ (..., d_v, S) -> (..., T, S)
    dv = np.swapaxes(weights, -1, -2) @ d_out  # (..., S, T) @ (..., T, d_v) -> (..., S, d_v)
    d_scores = softmax_backward(weights, d_weights)  # (..., T, S); 0 wherever a weight is 0
    dq = (d_scores @ k) * scale  # (..., T, S) @ (..., S, d_k) -> (..., T, d_k)
    dk = (np.swapaxes(d_scores, -1, -2) @ q) * scale  # (..., S, T) @ (..., T, d_k) -> (..., S, d_k)
    return (sum_to_shape(dq, q.shape).astype(dtype, copy=False),
            sum_to_shape(dk, k.shape).astype(dtype, copy=False),
            sum_to_shape(dv, v.shape).astype(dtype, copy=False))


@keeps_float16('x', 'w', 'd_out', 'b')
def linear_backward(x, w, d_out, b=None):
    """Gradients of a linear projection ``y = x @ w + b`` (used by :func:`helpers.tiny.loss_and_grads`).

    ``dx = d_out w^T``; ``dw = x^T d_out`` summed over every row of every
    leading axis (all tokens of all sequences share ``w``); ``db`` is the sum
    of ``d_out`` over the same rows.

    Parameters
    ----------
    x : array_like, shape (..., d_in)
    w : array_like, shape (d_in, d_out)
    d_out : array_like, shape (..., d_out)
        Gradient of the loss with respect to ``y``; same leading axes as ``x``.
    b : array_like, shape (d_out,), optional
        The bias of the forward call; only its presence matters.

    Returns
    -------
    dx : ndarray, shape (..., d_in)
    dw : ndarray, shape (d_in, d_out)
    db : ndarray, shape (d_out,), or None when ``b`` is None

    Raises
    ------
    ValueError
        If ``w`` is not 2-D, or the shapes of ``x``, ``w``, ``b`` and ``d_out`` do not fit.
    """
    x, w, d_out = as_float(x, "x"), as_float(w, "w"), as_float(d_out, "d_out")
    require_ndim(x, "x", 1, "(..., d_in)")
    require_matrix(w, "w", "(d_in, d_out)")
    if x.shape[-1] != w.shape[0]:
        raise ValueError(f"w has shape {w.shape} but x has shape {x.shape}: w needs d_in={x.shape[-1]} rows")
    _require_same_shape(d_out, x.shape[:-1] + (w.shape[1],), "the output x @ w (..., d_out)")
    if b is not None and np.shape(b) != (w.shape[1],):
        raise ValueError(f"b has shape {np.shape(b)} but w has shape {w.shape}: b must have shape ({w.shape[1]},)")
    return _linear_grads(x, w, d_out, b is not None)


def _linear_grads(x, w, d_out, with_bias):
    """The gradient steps of :func:`linear_backward`, on checked inputs."""
    rows = x.reshape(-1, x.shape[-1])  # every token of every sequence: (N, d_in)
    d_rows = d_out.reshape(-1, d_out.shape[-1])  # (N, d_out)
    dx = d_out @ w.T  # (..., d_out) @ (d_out, d_in) -> (..., d_in)
    dw = rows.T @ d_rows  # (d_in, N) @ (N, d_out) -> (d_in, d_out)
    db = d_rows.sum(axis=0) if with_bias else None  # (d_out,)
    return dx, dw, db


@keeps_float16('x', 'w_q', 'w_k', 'w_v', 'w_o', 'd_out', 'context')
def multi_head_attention_backward(x, w_q, w_k, w_v, w_o, d_out, *, num_heads, num_kv_heads=None,
                                  b_q=None, b_k=None, b_v=None, b_o=None, context=None, mask=None):
    """Gradients of :func:`helpers.multi_head_attention` with respect to every input (chapter 9).

    The forward steps are run again, then undone in reverse order:

    1. the output projection: ``d_merged = d_out w_o^T``, ``dw_o = merged^T d_out``;
    2. ``merge_heads`` is a reshape, so its backward is ``split_heads``;
    3. attention in every head: :func:`scaled_dot_product_attention_backward`;
    4. ``repeat_kv`` copied each key/value head to H // H_kv query heads, so
       (GQA) the gradient of a key/value head is the sum over the query heads
       that share it;
    5. ``split_heads`` is undone by ``merge_heads``, then the three
       projections by :func:`linear_backward`.

    In self-attention ``x`` feeds all three projections, so its gradient is
    the sum of three terms. With ``context``, ``x`` gets only the query term
    and ``context`` the key and value terms.

    Parameters
    ----------
    x, w_q, w_k, w_v, w_o, num_heads, num_kv_heads, b_q, b_k, b_v, b_o, context, mask
        Exactly the arguments of :func:`helpers.multi_head_attention`:
        x (..., T, D), w_q (D, H*d), w_k and w_v (D, H_kv*d), w_o (H*d, D),
        context (..., S, D), mask broadcastable to (..., H, T, S).
    d_out : array_like, shape (..., T, D)
        Gradient of the loss with respect to the output of the forward call.

    Returns
    -------
    grads : dict of ndarray
        ``"x"`` (..., T, D), ``"w_q"``, ``"w_k"``, ``"w_v"``, ``"w_o"`` (the
        weight shapes), each bias that was given (``"b_q"`` (H*d,), ...), and
        ``"context"`` (..., S, D) when a context was given.

    Raises
    ------
    ValueError
        If the inputs do not fit together (as in the forward call), or
        ``d_out`` does not have the shape of the output.
    """
    x = as_float(x, "x")
    has_context = context is not None
    context = as_float(context, "context") if has_context else x
    num_kv_heads = num_heads if num_kv_heads is None else num_kv_heads
    _check_mha_inputs(x, context, w_q, w_k, w_v, w_o, num_heads, num_kv_heads, b_q, b_k, b_v, b_o, mask)
    batch = np.broadcast_shapes(x.shape[:-2], context.shape[:-2])
    d_out = as_float(d_out, "d_out")
    _require_same_shape(d_out, batch + (x.shape[-2], np.shape(w_o)[1]), "the output (..., T, D)")
    for name, a in [("x", x), ("context", context), ("d_out", d_out)]:
        if not np.isfinite(_absmax(a)):  # a NaN row of x reaches every weight gradient through x^T @ ...
            raise ValueError(f"{name} of shape {a.shape} holds NaN or inf: the gradients need finite inputs")
    _, _, backward = _mha_vjp(x, w_q, w_k, w_v, w_o, num_heads, num_kv_heads, b_q, b_k, b_v, b_o,
                              context if has_context else None, mask)
    return backward(d_out)


def _mha_vjp(x, w_q, w_k, w_v, w_o, num_heads, num_kv_heads, b_q, b_k, b_v, b_o, context, mask):
    """Multi-head attention on checked inputs, keeping what its backward pass needs.

    Returns ``(out, weights, backward)``: the two outputs of
    :func:`helpers.multi_head_attention`, and a function that maps ``d_out``
    to the dict of gradients of :func:`multi_head_attention_backward`.
    A model that trains calls this once per layer, so that the backward pass
    does not run the forward pass a second time.
    """
    has_context = context is not None
    context = context if has_context else x
    w_q, w_k, w_v, w_o = (as_float(w, name) for w, name in [(w_q, "w_q"), (w_k, "w_k"), (w_v, "w_v"), (w_o, "w_o")])
    n_rep = num_heads // num_kv_heads

    # The forward steps of multi_head_attention, keeping q, k, v, the weights and the merged heads.
    q = split_heads(_project(x, w_q, b_q), num_heads)  # (..., T, H*d) -> (..., H, T, d)
    k = repeat_kv(split_heads(_project(context, w_k, b_k), num_kv_heads), n_rep)  # (..., H, S, d)
    v = repeat_kv(split_heads(_project(context, w_v, b_v), num_kv_heads), n_rep)
    heads, weights = scaled_dot_product_attention(q, k, v, mask=mask)  # (..., H, T, d), (..., H, T, S)
    q, k, v = _hidden_nonfinite_as_zero(q, k, v, mask)  # as the forward pass saw them
    merged = merge_heads(heads)  # (..., T, H*d), with the leading axes of x and context broadcast
    out = _project(merged, w_o, b_o)  # (..., T, D)

    def backward(d_out):
        d_merged, dw_o, db_o = _linear_grads(merged, w_o, d_out, b_o is not None)  # 1. (..., T, H*d)
        d_heads = split_heads(d_merged, num_heads)  # 2. (..., H, T, d)
        dq, dk, dv = _sdpa_grads(q, k, v, weights, d_heads, None)  # 3. shapes of q, k, v
        dk, dv = (_sum_kv_groups(g, num_kv_heads) for g in (dk, dv))  # 4. (..., H_kv, S, d)
        dx, dw_q, db_q = _linear_grads(x, w_q, merge_heads(dq), b_q is not None)  # 5. (..., T, D)
        dc_k, dw_k, db_k = _linear_grads(context, w_k, merge_heads(dk), b_k is not None)  # (..., S, D)
        dc_v, dw_v, db_v = _linear_grads(context, w_v, merge_heads(dv), b_v is not None)
        grads = {"x": dx, "w_q": dw_q, "w_k": dw_k, "w_v": dw_v, "w_o": dw_o}
        if has_context:
            grads["context"] = dc_k + dc_v
        else:
            grads["x"] = dx + dc_k + dc_v  # x fed the queries, the keys and the values
        for name, g in [("b_q", db_q), ("b_k", db_k), ("b_v", db_v), ("b_o", db_o)]:
            if g is not None:
                grads[name] = g
        return grads

    return out, weights, backward


def _project(x, w, b):
    """``x @ w + b`` on checked inputs (b may be None)."""
    y = x @ w
    return y if b is None else y + as_float(b, "bias")


def _sum_kv_groups(grad, num_kv_heads):
    """(..., H, S, d) -> (..., H_kv, S, d): sum the gradients of the query heads that share a kv head."""
    h, s, d = grad.shape[-3:]
    grouped = grad.reshape(grad.shape[:-3] + (num_kv_heads, h // num_kv_heads, s, d))  # [h0 h0 h1 h1 ...]
    return grouped.sum(axis=-3)


@keeps_float16('x', 'gamma', 'd_out')
def rms_norm_backward(x, gamma, d_out, eps=1e-5):
    """Gradients of :func:`helpers.norms.rms_norm` with respect to x and gamma.

    Used by :func:`helpers.tiny.loss_and_grads`.

    With ``r = 1 / sqrt(mean(x**2) + eps)`` per row, ``n = x r`` and
    ``y = n * gamma``: ``dn = d_out * gamma``, and since ``r`` depends on
    every entry of the row, ``dx = r (dn - n mean(dn * n))``. The gain's
    gradient is ``dgamma = sum over rows of d_out * n``.

    Parameters
    ----------
    x : array_like, shape (..., D)
    gamma : array_like, shape (D,)
    d_out : array_like, shape (..., D)
        Gradient of the loss with respect to the output.
    eps : float, default 1e-5
        As in the forward call.

    Returns
    -------
    dx : ndarray, shape (..., D)
    dgamma : ndarray, shape (D,)

    Raises
    ------
    ValueError
        If ``gamma`` is not (D,) or ``d_out`` does not have the shape of ``x``.
    """
    y = rms_norm(x, gamma, eps=eps)  # validates x and gamma
    x, gamma, d_out = as_float(x, "x"), as_float(gamma, "gamma"), as_float(d_out, "d_out")
    _require_same_shape(d_out, y.shape, "x (..., D)")
    r = 1.0 / np.sqrt((x * x).mean(axis=-1, keepdims=True) + np.asarray(eps, dtype=x.dtype))  # (..., 1)
    normed = x * r  # (..., D), each row of root mean square about 1
    dn = d_out * gamma
    dx = r * (dn - normed * (dn * normed).mean(axis=-1, keepdims=True))
    dgamma = (d_out * normed).reshape(-1, x.shape[-1]).sum(axis=0)
    return dx, dgamma


# ---------------------------------------------------------------- the loss and the optimiser


def _check_targets(logits, targets, where):
    """Validate cross-entropy inputs; return (logits, targets, where) with ``where`` a bool array."""
    logits = as_float(logits, "logits")
    require_ndim(logits, "logits", 1, "(..., V)")
    targets = np.asarray(targets)
    if targets.dtype.kind not in "iu":
        raise ValueError(f"targets must be integer token ids, but has dtype {targets.dtype} and shape {targets.shape}")
    if targets.shape != logits.shape[:-1]:
        raise ValueError(f"targets has shape {targets.shape} but logits has shape {logits.shape}: "
                         f"targets must have shape {logits.shape[:-1]} (one id per row of logits)")
    if where is None:
        where = np.ones(targets.shape, dtype=bool)
    else:
        where = np.asarray(where)
        if where.dtype != np.bool_ or where.shape != targets.shape:
            raise ValueError(f"where must be a boolean array of shape {targets.shape} (the shape of targets), "
                             f"but has dtype {where.dtype} and shape {where.shape}")
    if not where.any():
        raise ValueError("where selects no position: the mean loss over no position is undefined")
    chosen = targets[where]
    vocab = logits.shape[-1]
    if chosen.min() < 0 or chosen.max() >= vocab:
        raise ValueError(f"targets must lie in 0..{vocab - 1} (logits has V={vocab}), "
                         f"got values from {chosen.min()} to {chosen.max()}")
    return logits, targets, where


def _log_softmax(logits):
    """Stable log-softmax along the last axis."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(logits, targets, where=None):
    """Mean cross-entropy of the chosen positions, ``-log softmax(logits)[target]`` (chapter 9).

    Parameters
    ----------
    logits : array_like, shape (..., V)
        E.g. (B, T, V): one score per vocabulary entry at every position.
    targets : array_like of int, shape (...)
        E.g. (B, T): the correct token id at every position.
    where : array_like of bool, shape (...), optional
        The positions that count (default: all). Only these need valid targets.

    Returns
    -------
    loss : float
        The mean over the chosen positions, in nats.

    Raises
    ------
    ValueError
        If the shapes do not fit, ``where`` chooses nothing, or a chosen target
        is not in 0..V-1.
    """
    logits, targets, where = _check_targets(logits, targets, where)
    log_p = _log_softmax(logits[where])  # (N, V) for the N chosen positions
    return float(-log_p[np.arange(len(log_p)), targets[where]].mean())


@keeps_float16('logits')
def cross_entropy_backward(logits, targets, where=None):
    """Gradient of :func:`cross_entropy` with respect to the logits (chapter 9).

    At a chosen position it is ``(softmax(logits) - one_hot(target)) / N``,
    with N the number of chosen positions: push the right token up and every
    token down by its probability. At any other position it is 0.

    Parameters
    ----------
    logits, targets, where
        As in :func:`cross_entropy`.

    Returns
    -------
    d_logits : ndarray, shape (..., V)

    Raises
    ------
    ValueError
        As in :func:`cross_entropy`.
    """
    logits, targets, where = _check_targets(logits, targets, where)
    d_logits = np.zeros_like(logits)
    p = softmax(logits[where])  # (N, V)
    p[np.arange(len(p)), targets[where]] -= 1.0
    d_logits[where] = p / len(p)
    return d_logits


def adam_step(params, grads, state=None, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One step of Adam (Kingma and Ba, 2015) on a dict of arrays (the optimiser of :func:`helpers.tiny.train`).

    For every parameter ``p`` with gradient ``g``: running means
    ``m = beta1 m + (1 - beta1) g`` and ``v = beta2 v + (1 - beta2) g**2``,
    corrected for their start at 0 by ``1 - beta**t``, then
    ``p = p - lr * m_hat / (sqrt(v_hat) + eps)``. Each entry moves by about
    ``lr`` at most, whatever the scale of its gradient.

    The function is pure: it returns new arrays and a new state, and changes
    nothing it is given.

    Parameters
    ----------
    params : dict of str to ndarray
    grads : dict of str to ndarray
        Same keys and shapes as ``params``.
    state : dict, optional
        What the previous call returned; None for the first step.
    lr, beta1, beta2, eps : float
        Learning rate and Adam's constants.

    Returns
    -------
    params : dict of str to ndarray
        The updated parameters.
    state : dict
        ``{"t": steps taken, "m": first moments, "v": second moments}``.

    Raises
    ------
    ValueError
        If ``grads`` does not have the keys and shapes of ``params``.
    """
    if set(grads) != set(params):
        raise ValueError(f"grads has keys {sorted(grads)} but params has keys {sorted(params)}: they must match")
    for name, p in params.items():
        if np.shape(grads[name]) != np.shape(p):
            raise ValueError(f"grads[{name!r}] has shape {np.shape(grads[name])} but params[{name!r}] has shape {np.shape(p)}")
    if state is None:
        state = {"t": 0, "m": {n: np.zeros_like(p) for n, p in params.items()},
                 "v": {n: np.zeros_like(p) for n, p in params.items()}}
    t = state["t"] + 1
    new_params, m, v = {}, {}, {}
    for name, p in params.items():
        g = grads[name]
        m[name] = beta1 * state["m"][name] + (1 - beta1) * g
        v[name] = beta2 * state["v"][name] + (1 - beta2) * (g * g)
        m_hat = m[name] / (1 - beta1 ** t)
        v_hat = v[name] / (1 - beta2 ** t)
        new_params[name] = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return new_params, {"t": t, "m": m, "v": v}
