"""Softmax and scaled dot-product attention (chapters 2, 4 and 5)."""

import contextlib

import numpy as np

from ._checks import as_float, as_int, attention_scale, check_qkv, result_dtype


def softmax(scores, axis=-1, *, overwrite=False):
    """Numerically stable softmax along ``axis`` (taught in chapter 2).

    The maximum of each row is subtracted before ``exp``. This does not change
    the result (softmax is unchanged by adding a constant to a row), but it
    keeps every ``exp`` argument <= 0, so finite input never overflows to NaN.

    The edges, each tested:

    * a row whose entries are all ``-inf`` (every key masked out, chapter 5)
      gives all zeros, not NaN;
    * a row holding ``+inf`` shares its weight equally among its ``+inf``
      entries (the limit of softmax as those scores grow), not NaN;
    * an empty row (S = 0, no keys) gives an empty result;
    * a NaN score, and a 0-d ``scores``, are a ValueError.

    Parameters
    ----------
    scores : array_like, shape (..., T, S) or any other shape with at least one axis
        Real scores; ``-inf`` marks a forbidden entry.
    axis : int, default -1
        The axis that sums to 1.
    overwrite : bool, default False
        If True and ``scores`` is a float array, compute in place in its
        memory (saves a copy of a large T x S array). If False, ``scores``
        is left untouched.

    Returns
    -------
    weights : ndarray, shape (..., T, S), the shape and float dtype of ``scores``
        Non-negative; each row sums to 1, except all ``-inf`` rows, which are 0.
        float16 is computed in float32 and returned as float16; integers give float64.

    Raises
    ------
    ValueError
        If ``scores`` is 0-d or not real, ``axis`` is not one of its axes,
        or a score is NaN.
    """
    original = scores
    s = as_float(scores, "scores")
    if s.ndim == 0:
        raise ValueError(f"scores must have at least one axis to normalise over, but is the single number {s!r}")
    axis = _axis(axis, s.ndim)
    if not overwrite and isinstance(original, np.ndarray) and np.may_share_memory(s, original):
        s = s.copy()  # our own copy (as_float has already made one for float16 and ints)
    if s.shape[axis] == 0:  # no keys: nothing to normalise, nothing to average
        return _back(s, original, overwrite)
    s_max = s.max(axis=axis, keepdims=True)
    if np.isnan(s_max).any():  # max propagates NaN, so one small check covers the whole array
        bad = int(np.isnan(s_max).sum())
        raise ValueError(f"scores of shape {s.shape} hold NaN in {bad} of {s_max.size} rows: softmax of NaN is undefined")
    top = s_max == np.inf
    if top.any():  # a row with +inf: the limit puts equal weight on each +inf entry
        rows = np.broadcast_to(top, s.shape)
        s[rows] = np.where(s[rows] == np.inf, 0.0, -np.inf)
        s_max[top] = 0
    s_max[s_max == -np.inf] = 0  # an all -inf row: shift by 0, so exp gives 0 (not exp(nan))
    with np.errstate(over="ignore"):  # -max - max overflows to -inf: exactly right, as exp(-inf) = 0
        s -= s_max  # the largest entry of each row is now 0
    np.exp(s, out=s)  # so every value lands in [0, 1]: no overflow
    total = s.sum(axis=axis, keepdims=True)
    total[total == 0] = 1  # an all -inf row: 0 / 1 = 0 rather than 0 / 0 = NaN
    s /= total
    return _back(s, original, overwrite)


def _axis(axis, ndim):
    """``axis`` as a non-negative int, or a ValueError naming the shape's number of axes."""
    a = as_int(axis, "axis")
    if not -ndim <= a < ndim:
        raise ValueError(f"axis {a} is out of range for scores with {ndim} axes")
    return a % ndim


def _back(s, original, overwrite):
    """Return the weights ``s`` in the dtype of ``original`` (float16 was computed in float32).

    With ``overwrite``, a float16 ``original`` receives the result in its own memory.
    """
    dtype = result_dtype(original)
    if s.dtype == dtype:
        return s
    if overwrite and isinstance(original, np.ndarray) and original.dtype == dtype:
        np.copyto(original, s, casting="same_kind")
        return original
    return s.astype(dtype)


def scaled_dot_product_attention(q, k, v, mask=None, scale=None):
    """Scaled dot-product attention, ``softmax(q k^T * scale) v`` (chapter 4; masks in chapter 5).

    The edges, each tested:

    * **No keys** (S = 0): the weights have shape (..., T, 0) and the output
      is zeros of shape (..., T, d_v).
    * **A query with no allowed key** (its mask row all False) gets all-zero
      weights and a zero output row, never NaN.
    * **Masked positions never reach the output.** NaN or inf in q, k or v is
      allowed where the mask hides it (e.g. the unused slots of a KV cache):
      such entries are treated as 0, so ``0 * NaN`` cannot leak. NaN or inf
      at a position the mask allows (or anywhere, without a mask) is a
      ValueError naming the position.
    * **Scores that overflow.** Finite float32 (or float16) inputs whose
      scores ``q k^T * scale`` would overflow float32 are computed in
      float64, which holds every such product, and the results are returned
      in the input dtype. float64 scores that overflow float64 are a
      ValueError. The check is a cheap bound (``|score| <= |scale| d_k
      max|q| max|k|``), so ordinary inputs take the fast path.
    * float16 is computed in float32 and returned as float16.

    Parameters
    ----------
    q : array_like, shape (..., T, d_k)
        Queries, one row per query position.
    k : array_like, shape (..., S, d_k)
        Keys, one row per key position. S may differ from T (cross-attention).
    v : array_like, shape (..., S, d_v)
        Values, one row per key position.
    mask : array_like of bool, broadcastable to (..., T, S), optional
        True = this query may attend to this key; False entries get weight 0.
    scale : float, optional
        Multiplies the scores: one finite real number. Defaults to ``1 / sqrt(d_k)``.

    Returns
    -------
    out : ndarray, shape (..., T, d_v)
        For each query, the weighted average of the value rows.
    weights : ndarray, shape (..., T, S)
        The attention weights; each row sums to 1 (or is all 0, see above).
        Both have the float dtype of the inputs.

    Raises
    ------
    ValueError
        If an input has fewer than 2 axes, q and k disagree on d_k, k and v
        disagree on S, the leading axes do not broadcast, the mask is not
        boolean or does not broadcast to (..., T, S), ``scale`` is not a
        finite number, an unmasked input is NaN or inf, or float64 scores
        overflow.
    """
    q, k, v, mask, _, dtype, check = prepare_attention(q, k, v, mask, scale)
    with quiet_if(check):  # float64 scores that may overflow: compute quietly, then raise if an allowed one did
        scores = q @ np.swapaxes(k, -1, -2)  # (..., T, d_k) @ (..., d_k, S) -> (..., T, S)
    if check:
        require_finite_scores(scores, mask)
    if mask is not None:
        np.copyto(scores, -np.inf, where=~mask)  # forbidden keys: exp(-inf) = 0 in the softmax
    weights = softmax(scores, axis=-1, overwrite=True)  # in place: `scores` is our own array
    out = weights @ v  # (..., T, S) @ (..., S, d_v) -> (..., T, d_v)
    return out.astype(dtype, copy=False), weights.astype(dtype, copy=False)


def prepare_attention(q, k, v, mask, scale):
    """Check and ready the inputs of an attention function (shared with :func:`helpers.tiled_attention`).

    Returns ``(q * scale, k, v, mask, batch, dtype, check)``: the arrays to
    compute with (non-finite entries hidden by the mask replaced by 0;
    float32 widened to float64 when its scores could overflow), the
    broadcast batch axes, the dtype to return, and whether the scores may
    still overflow (float64), so that the caller must check them with
    :func:`require_finite_scores`.
    """
    dtype = result_dtype(q, k, v)
    q, k, v, mask, batch = check_qkv(q, k, v, mask)
    scale = attention_scale(scale, q.shape[-1])
    big = [_absmax(a) for a in (q, k, v)]
    if not all(np.isfinite(big)):  # the slow path: some entry is NaN or inf
        q, k, v = _hide_masked_nonfinite(q, k, v, mask, batch)
        big = [_absmax(a) for a in (q, k, v)]
    # |score| <= |scale| * d_k * max|q| * max|k|, and every partial sum of the product is bounded alike
    bound = abs(scale) * max(q.shape[-1], 1) * big[0] * big[1]

    def may_overflow(*arrays):
        limit = min(float(np.finfo(a.dtype).max) for a in arrays)
        return not (bound < limit and abs(scale) * big[0] < limit)

    check = may_overflow(q, k)
    if check and (q.dtype != np.float64 or k.dtype != np.float64):
        # products of finite float32 numbers fit in float64 (unless scale is huge): compute there
        q, k, v = (a.astype(np.float64) for a in (q, k, v))
        check = may_overflow(q, k)
    with quiet_if(check):  # an overflow here is caught with the scores
        q = q * np.asarray(scale, dtype=q.dtype)  # scale the T x d_k queries, not the T x S scores: less work
    return q, k, v, mask, batch, dtype, check


def quiet_if(check):
    """No overflow warnings while ``check`` is True (the scores are checked afterwards); a no-op otherwise."""
    return np.errstate(over="ignore", invalid="ignore") if check else contextlib.nullcontext()


def require_finite_scores(scores, mask):
    """Raise a ValueError if an allowed score is not finite (float64 overflow); ``mask`` may be None."""
    bad = ~np.isfinite(scores)
    if mask is not None:
        bad &= mask
    if bad.any():
        raise ValueError(f"the scores q k^T * scale overflow {scores.dtype} (their size exceeds "
                         f"{np.finfo(scores.dtype).max:.3g}) at {int(bad.sum())} allowed positions: "
                         "make q, k or scale smaller")


def _absmax(a):
    """Largest |entry| of ``a`` as a Python float (0 if empty); NaN or inf if ``a`` holds one."""
    if a.size == 0:
        return 0.0
    return float(np.maximum(a.max(), -a.min()))  # two passes, no temporary array


def _hide_masked_nonfinite(q, k, v, mask, batch):
    """Replace the NaN and inf entries the mask hides by 0; raise a ValueError for any it does not hide.

    A query row is used if its mask row allows some key; a key and value row
    if some query may attend to it.
    """
    t, s = q.shape[-2], k.shape[-2]
    if mask is None:
        used_q, used_kv = np.ones(batch + (t,), bool), np.ones(batch + (s,), bool)
    else:
        full = np.broadcast_to(mask, batch + (t, s))
        used_q, used_kv = full.any(axis=-1), full.any(axis=-2)  # (..., T), (..., S)
    cleaned = []
    for name, a, used, who in (("q", q, used_q, "key"), ("k", k, used_kv, "query"), ("v", v, used_kv, "query")):
        finite = np.isfinite(a)
        if finite.all():
            cleaned.append(a)
            continue
        leaks = ~finite.all(axis=-1) & used  # (..., T) or (..., S) after broadcasting
        if leaks.any():
            index = tuple(int(i) for i in np.argwhere(leaks)[0])
            letters = "(..., T)" if name == "q" else "(..., S)"
            hint = "and there is no mask to hide it" if mask is None else f"which the mask lets some {who} use"
            raise ValueError(f"{name} holds NaN or inf in row {index} of its {letters} = {leaks.shape} rows, {hint}: "
                             "only the positions a mask hides (e.g. unused KV-cache slots) may hold NaN or inf")
        cleaned.append(np.where(finite, a, 0).astype(a.dtype, copy=False))
    return tuple(cleaned)
