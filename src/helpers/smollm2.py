"""SmolLM2-135M-Instruct end to end in numpy: forward pass, KV cache, greedy generation (chapter 13).

Every decoder block (there are 30) is :func:`helpers.transformer_block`
(chapter 8) with the norm in front of each residual sublayer ("pre-norm"),
RMSNorm, SwiGLU, grouped-query attention and RoPE::

    x = x + attention_block(x)   # RMSNorm, q/k/v, RoPE, GQA attention, o_proj
    x = x + mlp_block(x)         # RMSNorm, SwiGLU

The weights come from :func:`helpers.checkpoints.load_smollm2`, in the
course's (d_in, d_out) convention, float32.

Two things make generation fast without changing any number:

* :func:`fuse_weights` glues ``w_q | w_k | w_v`` into one (D, (H + 2 H_kv) d)
  matrix and ``w_gate | w_up`` into one (D, 2F) matrix, once. One big matmul
  reads the same weights as three small ones but pays numpy's per-call cost
  once (the fused QKV of chapter 12).
* :class:`KVCache` keeps every layer's keys and values, so each new token
  runs through the model alone (T = 1) instead of recomputing the prompt.
"""

import numpy as np

from ._checks import positive_int
from .block import block_attention, feed_forward, transformer_block
from .norms import rms_norm
from .rope import check_positions


class KVCache:
    """The keys and values one attention layer has seen so far (chapters 11 and 13).

    Keys and values of earlier tokens never change (a token only attends to
    the past), so they are computed once and kept; the query is needed only
    for the new token, so it is not kept. The arrays are allocated once at
    their full length ``max_len`` and filled from the left, so appending a
    token copies only that token's keys and values.

    Memory for a whole model, keys **and** values of every layer::

        2 * layers * H_kv * d * S * bytes

    For SmolLM2-135M (30 layers, H_kv = 3, d = 64, float32: 4 bytes) that is
    46 080 bytes per token, about 377 MB for its full context of S = 8192.
    With H = 9 kv heads (no GQA) it would be three times as much.

    Parameters
    ----------
    num_kv_heads : int
        H_kv.
    head_dim : int
        d.
    max_len : int
        Largest number of positions S the cache can hold.
    dtype : numpy dtype, default float32

    Attributes
    ----------
    k, v : ndarray, shape (H_kv, max_len, d)
        Storage; only the first :attr:`length` positions are filled.
    length : int
        Number of positions S filled so far.
    """

    def __init__(self, num_kv_heads, head_dim, max_len, dtype=np.float32):
        shape = (positive_int(num_kv_heads, "num_kv_heads"), positive_int(max_len, "max_len"),
                 positive_int(head_dim, "head_dim"))
        self.k = np.zeros(shape, dtype=dtype)
        self.v = np.zeros(shape, dtype=dtype)
        self.length = 0

    @property
    def nbytes(self):
        """Bytes allocated for keys and values: 2 * H_kv * max_len * d * itemsize."""
        return self.k.nbytes + self.v.nbytes

    def append(self, k, v):
        """Store the keys and values of T new positions; return those of all S positions so far.

        Parameters
        ----------
        k, v : ndarray, shape (H_kv, T, d)

        Returns
        -------
        keys, values : ndarray, shape (H_kv, S, d)
            Views of the cache (no copy), S = old length + T.

        Raises
        ------
        ValueError
            If k or v does not have shape (H_kv, T, d), or the cache is full.
        """
        h_kv, max_len, d = self.k.shape
        if k.shape != v.shape or k.ndim != 3 or k.shape[0] != h_kv or k.shape[2] != d:
            raise ValueError(f"k has shape {k.shape} and v has shape {v.shape}, but the cache holds "
                             f"(H_kv, S, d) = ({h_kv}, S, {d})")
        start, end = self.length, self.length + k.shape[1]
        if end > max_len:
            raise ValueError(f"the cache holds {start} of max_len={max_len} positions: no room for k of shape {k.shape}")
        self.k[:, start:end] = k
        self.v[:, start:end] = v
        self.length = end
        return self.k[:, :end], self.v[:, :end]


def new_cache(config, max_len, dtype=np.float32):
    """One empty :class:`KVCache` per layer, for :func:`forward` (chapter 13).

    Parameters
    ----------
    config : dict
        From :func:`helpers.checkpoints.load_smollm2`.
    max_len : int
        Prompt length plus the number of tokens to generate.

    Returns
    -------
    cache : list of KVCache, one per layer
        Together ``2 * layers * H_kv * d * max_len * bytes`` bytes.
    """
    return [KVCache(config["num_kv_heads"], config["head_dim"], max_len, dtype)
            for _ in range(config["num_layers"])]


def fuse_layer(layer):
    """Fuse one layer's projections: ``w_qkv = [w_q | w_k | w_v]``, ``w_gate_up = [w_gate | w_up]`` (chapter 12).

    ``x @ w_qkv`` holds ``x @ w_q``, ``x @ w_k`` and ``x @ w_v`` side by side:
    same numbers, one matmul instead of three. Likewise for the MLP.

    Parameters
    ----------
    layer : dict
        One entry of ``weights["layers"]``: ``w_q`` (D, H*d), ``w_k``, ``w_v``
        (D, H_kv*d), ``w_gate``, ``w_up`` (D, F), ``w_o``, ``w_down``, the two
        norm gains. A layer that is already fused is returned as is.

    Returns
    -------
    fused : dict
        A new dict with ``attn_norm`` (D,), ``w_qkv`` (D, (H + 2 H_kv) d),
        ``w_o`` (H*d, D), ``ffn_norm`` (D,), ``w_gate_up`` (D, 2F) and
        ``w_down`` (F, D), all contiguous float32. The input is not changed.
    """
    if "w_qkv" in layer:
        return layer

    def f32(a):  # contiguous float32: the layout BLAS reads fastest
        return np.ascontiguousarray(a, dtype=np.float32)

    return {
        "attn_norm": f32(layer["attn_norm"]),
        "w_qkv": f32(np.concatenate([layer["w_q"], layer["w_k"], layer["w_v"]], axis=1)),
        "w_o": f32(layer["w_o"]),
        "ffn_norm": f32(layer["ffn_norm"]),
        "w_gate_up": f32(np.concatenate([layer["w_gate"], layer["w_up"]], axis=1)),
        "w_down": f32(layer["w_down"]),
    }


def fuse_weights(weights):
    """:func:`fuse_layer` for every layer; returns a new weights dict (chapter 13).

    Do it once after loading: the fused copies take as much memory as the
    originals, which the caller may then drop.
    """
    if all("w_qkv" in layer for layer in weights["layers"].values()):
        return weights
    return {**weights, "layers": {i: fuse_layer(layer) for i, layer in weights["layers"].items()}}


def attention_block(x, layer, config, positions, cache=None):
    """The attention sublayer of one SmolLM2 block, without the residual (chapter 13).

    RMSNorm -> one fused q/k/v projection -> split into heads -> RoPE on q
    and k -> append k, v to the cache -> grouped-query attention with a causal
    mask -> merge heads -> o_proj: :func:`helpers.block.block_attention` of
    the normalised x.

    Grouped-query attention without copying: query head h uses kv head
    ``h // (H // H_kv)`` (as with :func:`repeat_kv`). So the H query heads are
    viewed as (H_kv, H/H_kv) groups and each kv head is broadcast over its
    group, instead of being repeated in memory.

    Parameters
    ----------
    x : ndarray, shape (T, D)
        The residual stream of T new tokens.
    layer : dict
        One layer of :func:`helpers.checkpoints.load_smollm2` (fused or not).
    config : dict
        ``num_heads`` H, ``num_kv_heads`` H_kv, ``head_dim`` d, ``rope_base``,
        ``rms_norm_eps``.
    positions : array_like of int, shape (T,)
        Positions of the new tokens (after the S - T cached ones).
    cache : KVCache, optional
        This layer's cache; the new keys and values are appended to it. With
        no cache, the T tokens attend only to each other (S = T).

    Returns
    -------
    out : ndarray, shape (T, D)
    weights : ndarray, shape (H, T, S)
        Attention weights of every head; query i sits at position S - T + i.

    Raises
    ------
    ValueError
        If x is not (T, D) or ``positions`` is not (T,).
    """
    layer = fuse_layer(layer)
    x = _check_stream(x, layer)
    return block_attention(rms_norm(x, layer["attn_norm"], config["rms_norm_eps"]), layer, causal=True,
                           positions=positions, cache=cache, **_attention_options(config))


def mlp_block(x, layer, config):
    """The MLP sublayer of one SmolLM2 block, without the residual: RMSNorm, then SwiGLU (chapter 13).

    ``down( silu(x @ w_gate) * (x @ w_up) )`` with ``silu(z) = z * sigmoid(z)``:
    the "gate" decides, per hidden unit, how much of the "up" projection
    passes.

    Parameters
    ----------
    x : ndarray, shape (T, D)
    layer : dict
        ``ffn_norm`` (D,), ``w_gate_up`` (D, 2F) (or ``w_gate``, ``w_up``
        (D, F)), ``w_down`` (F, D).
    config : dict
        ``rms_norm_eps``.

    Returns
    -------
    out : ndarray, shape (T, D)
    """
    layer = fuse_layer(layer)
    return feed_forward(rms_norm(x, layer["ffn_norm"], config["rms_norm_eps"]), layer, ffn="swiglu")


def forward(ids, weights, config, cache=None, positions=None, *, last_only=False, return_weights=False):
    """Run SmolLM2 on T token ids and return next-token logits (chapter 13).

    Embeddings -> 30 blocks (:func:`helpers.transformer_block`: ``x +=
    attention_block(x)``, ``x += mlp_block(x)``) -> final RMSNorm -> tied LM
    head (``x @ token_embeddings.T``).

    Parameters
    ----------
    ids : array_like of int, shape (T,)
        The new tokens. With a cache, only the tokens it does not hold yet.
    weights : dict
        From :func:`helpers.checkpoints.load_smollm2` (all layers), fused or not.
    config : dict
        From :func:`helpers.checkpoints.load_smollm2`.
    cache : list of KVCache, optional
        From :func:`new_cache`; filled in place with the new keys and values.
    positions : array_like of int, shape (T,), optional
        Default: the T positions after those the cache holds (0..T-1 without
        one). Each in 0 .. context_length - 1 (8192 positions for SmolLM2).
    last_only : bool, default False
        Compute the logits of the last position only (all generation needs).
    return_weights : bool, default False
        Also return every layer's attention weights.

    Returns
    -------
    logits : ndarray of float32, shape (T, V), or (1, V) if ``last_only``
        Row i scores every possible next token after position i.
    attention : list of ndarray, shape (H, T, S), one per layer
        Only if ``return_weights``.

    Raises
    ------
    ValueError
        If ids is not a non-empty 1-D array of token ids below V, a position
        is outside the context, the weights do not hold every layer, or the
        cache has the wrong number of layers.
    """
    ids = _check_ids(ids, config["vocab_size"])
    n_layers = config["num_layers"]
    if sorted(weights["layers"]) != list(range(n_layers)):
        raise ValueError(f"weights hold layers {sorted(weights['layers'])} but the model has {n_layers}: "
                         "load all of them with load_smollm2()")
    if cache is not None and len(cache) != n_layers:
        raise ValueError(f"cache has {len(cache)} layers but the model has {n_layers}: use new_cache(config, max_len)")
    if positions is None:
        start = 0 if cache is None else cache[0].length
        positions = np.arange(start, start + len(ids))
    positions = _check_positions(positions, len(ids), config["context_length"])

    x = weights["token_embeddings"][ids]  # (T, D)
    attention = []
    options = _attention_options(config)
    for i in range(n_layers):
        x, w = transformer_block(x, fuse_layer(weights["layers"][i]), norm_position="pre", norm="rms", ffn="swiglu",
                                 eps=config["rms_norm_eps"], causal=True, positions=positions,
                                 cache=None if cache is None else cache[i], **options)
        if return_weights:
            attention.append(w)
    if last_only:
        x = x[-1:]  # (1, D): the logits of earlier positions are not needed to pick the next token
    logits = rms_norm(x, weights["norm"], config["rms_norm_eps"]) @ weights["lm_head"]  # (T, D) @ (D, V)
    return (logits, attention) if return_weights else logits


def generate(prompt_ids, weights, config, max_new_tokens, use_cache=True, eos_ids=None):
    """Greedy decoding: append the most likely next token, one at a time (chapter 13).

    With ``use_cache=True`` the prompt runs through the model once (the
    "prefill"), then each step feeds only the newest token (T = 1) and the
    keys and values of earlier tokens come from the cache. With
    ``use_cache=False`` every step recomputes the whole sequence so far: the
    same tokens, much more work.

    Parameters
    ----------
    prompt_ids : array_like of int, shape (T,)
        E.g. :func:`helpers.checkpoints.smollm2_prompt_ids`.
    weights, config : dict
        From :func:`helpers.checkpoints.load_smollm2` (fused once here).
    max_new_tokens : int
        Upper limit on the number of new tokens.
    use_cache : bool, default True
    eos_ids : iterable of int, optional
        Stop after generating one of these. Default: ``config["eos_token_id"]``
        (``<|im_end|>``, id 2). Pass ``()`` to always generate
        ``max_new_tokens`` (for timing).

    Returns
    -------
    new_ids : list of int
        The generated ids, at most ``max_new_tokens``; it ends with the EOS id
        if one was generated (as transformers' ``generate`` does).
    """
    prompt_ids = _check_ids(prompt_ids, config["vocab_size"])
    max_new_tokens = positive_int(max_new_tokens, "max_new_tokens")
    eos = {config["eos_token_id"]} if eos_ids is None else {int(i) for i in eos_ids}
    weights = fuse_weights(weights)
    cache = new_cache(config, len(prompt_ids) + max_new_tokens) if use_cache else None

    ids = list(prompt_ids)
    new_ids = []
    step_input = prompt_ids  # first step: the whole prompt
    while len(new_ids) < max_new_tokens:
        if not use_cache:
            step_input = np.array(ids)  # recompute everything, every step
        logits = forward(step_input, weights, config, cache, last_only=True)  # (1, V)
        next_id = int(logits[0].argmax())
        new_ids.append(next_id)
        ids.append(next_id)
        if next_id in eos:
            break
        step_input = np.array([next_id])  # with a cache: only the new token
    return new_ids


def _attention_options(config):
    """The attention settings of SmolLM2's config, as keywords of :func:`helpers.transformer_block`."""
    return {"num_heads": config["num_heads"], "num_kv_heads": config["num_kv_heads"], "rope_base": config["rope_base"]}


def _check_stream(x, layer):
    """x as an array of shape (T, D), or a ValueError naming the shapes."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != layer["w_qkv"].shape[0]:
        raise ValueError(f"x has shape {x.shape} but should be (T, D) with D = {layer['w_qkv'].shape[0]}")
    return x


def _check_positions(positions, t, context_length):
    """Positions as an int64 array of shape (T,) inside the context, or a ValueError."""
    p = np.asarray(positions)
    if p.shape != (t,):
        raise ValueError(f"positions has shape {p.shape} but there are T = {t} ids: need shape (T,) = ({t},)")
    p = check_positions(p).astype(np.int64)
    if p.min() < 0 or p.max() >= context_length:
        raise ValueError(f"positions must lie in 0..{context_length - 1} (the context length is {context_length}), "
                         f"got {p.min()}..{p.max()}")
    return p


def _check_ids(ids, vocab_size):
    """Token ids as a 1-D int64 array, or a ValueError naming the shape."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.size == 0 or ids.dtype.kind not in "iu":
        raise ValueError(f"ids must be a non-empty 1-D array of integer token ids, shape (T,), "
                         f"but has shape {ids.shape} and dtype {ids.dtype}")
    if ids.min() < 0 or ids.max() >= vocab_size:
        raise ValueError(f"ids of shape {ids.shape} must lie in 0..{vocab_size - 1}, got {ids.min()}..{ids.max()}")
    return ids.astype(np.int64, copy=False)
