"""Tests for split_heads, merge_heads (chapter 6), repeat_kv (chapter 8) and multi_head_attention (chapters 6 and 8)."""

import numpy as np
import pytest

import helpers

T, S, H, D, d = 5, 7, 3, 10, 4  # no two equal; D != H*d as well
BATCH_SHAPES = [(), (2,), (2, 3)]  # leading axes: none, one, two


# ---------------------------------------------------------------- split_heads / merge_heads / repeat_kv


@pytest.mark.parametrize("batch", BATCH_SHAPES)
def test_split_heads_matches_loop(rng, batch):
    x = rng.standard_normal(batch + (T, H * d))
    heads = helpers.split_heads(x, H)
    assert heads.shape == batch + (H, T, d)
    for idx in np.ndindex(*batch):
        for h in range(H):
            for t in range(T):
                np.testing.assert_array_equal(heads[idx + (h, t)], x[idx + (t, slice(h * d, (h + 1) * d))])


@pytest.mark.parametrize("batch", BATCH_SHAPES)
def test_merge_heads_matches_loop(rng, batch):
    heads = rng.standard_normal(batch + (H, T, d))
    merged = helpers.merge_heads(heads)
    assert merged.shape == batch + (T, H * d)
    for idx in np.ndindex(*batch):
        for t in range(T):
            expected = np.concatenate([heads[idx + (h, t)] for h in range(H)])  # head 0 first
            np.testing.assert_array_equal(merged[idx + (t,)], expected)


@pytest.mark.parametrize("batch", BATCH_SHAPES)
def test_merge_undoes_split_and_back(rng, batch):
    x = rng.standard_normal(batch + (T, H * d))
    np.testing.assert_array_equal(helpers.merge_heads(helpers.split_heads(x, H)), x)
    heads = rng.standard_normal(batch + (H, T, d))
    np.testing.assert_array_equal(helpers.split_heads(helpers.merge_heads(heads), H), heads)


def test_blog_reshape_without_transpose_is_different(rng):
    """The blog's bug: reshape to (B, T, H, d) and read axis 1 as heads. Same numbers, wrong places."""
    x = rng.standard_normal((2, T, H * d))
    wrong = x.reshape(2, T, H, d)
    assert wrong.shape != helpers.split_heads(x, H).shape
    np.testing.assert_array_equal(np.swapaxes(wrong, 1, 2), helpers.split_heads(x, H))


@pytest.mark.parametrize("n_rep", [1, 2, 3])
@pytest.mark.parametrize("batch", BATCH_SHAPES)
def test_repeat_kv_matches_loop(rng, batch, n_rep):
    h_kv = 2
    x = rng.standard_normal(batch + (h_kv, S, d))
    out = helpers.repeat_kv(x, n_rep)
    assert out.shape == batch + (h_kv * n_rep, S, d)
    for h in range(h_kv * n_rep):
        np.testing.assert_array_equal(out[..., h, :, :], x[..., h // n_rep, :, :])


@pytest.mark.parametrize(
    "fn, args, match",
    [
        (helpers.split_heads, ((T, 13), H), r"x has shape \(5, 13\): its last axis \(13\) is not divisible by num_heads=3"),
        (helpers.split_heads, ((H * d,), H), r"x must have shape \(\.\.\., T, H\*d\) .* has shape \(12,\)"),
        (helpers.split_heads, ((T, H * d), 0), r"num_heads must be a positive integer, got 0"),
        (helpers.split_heads, ((T, H * d), -3), r"num_heads must be a positive integer, got -3"),
        (helpers.merge_heads, ((T, d),), r"x must have shape \(\.\.\., H, T, d\) .* has shape \(5, 4\)"),
        (helpers.repeat_kv, ((S, d), 2), r"x must have shape \(\.\.\., H_kv, S, d\) .* has shape \(7, 4\)"),
        (helpers.repeat_kv, ((2, S, d), 0), r"n_rep must be a positive integer, got 0"),
    ],
)
def test_head_helpers_reject_bad_input(fn, args, match):
    with pytest.raises(ValueError, match=match):
        fn(np.zeros(args[0]), *args[1:])


# ---------------------------------------------------------------- multi_head_attention


def make_weights(rng, h=H, h_kv=None, d_model=D, d_out=None, biases=False, dtype=np.float64):
    """w_q (D, H*d), w_k and w_v (D, H_kv*d), w_o (H*d, d_out), and optional biases."""
    h_kv = h if h_kv is None else h_kv
    d_out = d_model if d_out is None else d_out
    shapes = {"w_q": (d_model, h * d), "w_k": (d_model, h_kv * d), "w_v": (d_model, h_kv * d), "w_o": (h * d, d_out)}
    if biases:
        shapes.update(b_q=(h * d,), b_k=(h_kv * d,), b_v=(h_kv * d,), b_o=(d_out,))
    return {name: rng.standard_normal(shape).astype(dtype) for name, shape in shapes.items()}


def naive_mha(naive_attention, x, w, num_heads, num_kv_heads=None, context=None, mask=None):
    """Multi-head attention the slow way: one head at a time, concatenate, then w_o (chapter 6)."""
    num_kv_heads = num_heads if num_kv_heads is None else num_kv_heads
    context = x if context is None else context
    n_rep = num_heads // num_kv_heads
    batch = np.broadcast_shapes(x.shape[:-2], context.shape[:-2])
    n_q, n_kv = x.shape[-2], context.shape[-2]
    zero = {name: np.zeros(w["w_" + name[2]].shape[1]) for name in ("b_q", "b_k", "b_v", "b_o")}
    b = {name: w.get(name, zero[name]) for name in zero}
    full_mask = None if mask is None else np.broadcast_to(mask, batch + (num_heads, n_q, n_kv))
    head_outputs, head_weights = [], []
    for h in range(num_heads):
        g = h // n_rep  # the kv head that query head h reads
        qcols, kvcols = slice(h * d, (h + 1) * d), slice(g * d, (g + 1) * d)
        q_h = x @ w["w_q"][:, qcols] + b["b_q"][qcols]
        k_h = context @ w["w_k"][:, kvcols] + b["b_k"][kvcols]
        v_h = context @ w["w_v"][:, kvcols] + b["b_v"][kvcols]
        out_h, weights_h = naive_attention(q_h, k_h, v_h, mask=None if mask is None else full_mask[..., h, :, :])
        head_outputs.append(out_h)
        head_weights.append(weights_h)
    out = np.concatenate(head_outputs, axis=-1) @ w["w_o"] + b["b_o"]
    return out, np.stack(head_weights, axis=-3)


@pytest.mark.parametrize("batch", BATCH_SHAPES)
@pytest.mark.parametrize("h, h_kv", [(H, H), (H, 1), (6, 2)])
@pytest.mark.parametrize("biases", [False, True])
def test_mha_matches_per_head_loop(rng, naive_attention, batch, h, h_kv, biases):
    x = rng.standard_normal(batch + (T, D))
    w = make_weights(rng, h, h_kv, biases=biases)
    out, weights = helpers.multi_head_attention(x, **w, num_heads=h, num_kv_heads=h_kv)
    assert out.shape == batch + (T, D)
    assert weights.shape == batch + (h, T, T)
    ref_out, ref_weights = naive_mha(naive_attention, x, w, h, h_kv)
    np.testing.assert_allclose(weights, ref_weights, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out, ref_out, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("batch", BATCH_SHAPES)
@pytest.mark.parametrize("h, h_kv", [(H, H), (6, 2)])
def test_mha_cross_attention_matches_loop(rng, naive_attention, batch, h, h_kv):
    x = rng.standard_normal(batch + (T, D))
    context = rng.standard_normal(batch + (S, D))
    w = make_weights(rng, h, h_kv, biases=True)
    out, weights = helpers.multi_head_attention(x, **w, num_heads=h, num_kv_heads=h_kv, context=context)
    assert out.shape == batch + (T, D)
    assert weights.shape == batch + (h, T, S)
    ref_out, ref_weights = naive_mha(naive_attention, x, w, h, h_kv, context=context)
    np.testing.assert_allclose(weights, ref_weights, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out, ref_out, rtol=1e-9, atol=1e-12)


def test_mha_context_broadcasts_over_batch(rng, naive_attention):
    """One shared context (S, D) for a batch of queries (B, T, D)."""
    x = rng.standard_normal((2, T, D))
    context = rng.standard_normal((S, D))
    w = make_weights(rng)
    out, weights = helpers.multi_head_attention(x, **w, num_heads=H, context=context)
    assert out.shape == (2, T, D) and weights.shape == (2, H, T, S)
    ref_out, _ = naive_mha(naive_attention, x, w, H, context=context)
    np.testing.assert_allclose(out, ref_out, rtol=1e-9, atol=1e-12)


def test_mha_output_width_follows_w_o(rng):
    x = rng.standard_normal((2, T, D))
    w = make_weights(rng, d_out=9)
    out, _ = helpers.multi_head_attention(x, **w, num_heads=H)
    assert out.shape == (2, T, 9)


@pytest.mark.parametrize(
    "mask_kind",
    ["causal (T, S)", "padding (B, 1, 1, S)", "full (B, H, T, S)", "per-head (H, T, S)"],
)
def test_mha_masks_match_loop(rng, naive_attention, mask_kind):
    x = rng.standard_normal((2, T, D))
    context = rng.standard_normal((2, S, D))
    w = make_weights(rng, biases=True)
    if mask_kind.startswith("causal"):
        mask = helpers.causal_mask(T, S)
    elif mask_kind.startswith("padding"):
        mask = helpers.padding_mask([4, 6], S)
    else:
        mask = rng.random((2, H, T, S) if mask_kind.startswith("full") else (H, T, S)) < 0.5
        mask[..., 0] = True
    out, weights = helpers.multi_head_attention(x, **w, num_heads=H, context=context, mask=mask)
    full = np.broadcast_to(mask, weights.shape)
    assert np.all(weights[~full] == 0.0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)
    ref_out, ref_weights = naive_mha(naive_attention, x, w, H, context=context, mask=mask)
    np.testing.assert_allclose(weights, ref_weights, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out, ref_out, rtol=1e-9, atol=1e-12)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mha_fully_masked_row_gives_zero_weights(rng, dtype):
    x = rng.standard_normal((2, T, D)).astype(dtype)
    w = make_weights(rng, biases=True, dtype=dtype)
    mask = np.ones((2, H, T, T), dtype=bool)
    mask[0, 1, 2, :] = False  # batch 0, head 1, query 2 sees nothing
    mask[1, :, 4, :] = False  # batch 1, query 4 sees nothing in any head
    out, weights = helpers.multi_head_attention(x, **w, num_heads=H, mask=mask)  # any RuntimeWarning fails
    assert not np.any(np.isnan(out)) and not np.any(np.isnan(weights))
    np.testing.assert_array_equal(weights[0, 1, 2], np.zeros(T))
    np.testing.assert_array_equal(weights[1, :, 4], np.zeros((H, T)))
    # All heads empty: the attention output is zero, so only the output bias remains.
    np.testing.assert_allclose(out[1, 4], w["b_o"], rtol=1e-6)


def test_mha_one_head_is_plain_attention(rng):
    x = rng.standard_normal((2, T, D))
    w = make_weights(rng, h=1, biases=True)
    out, weights = helpers.multi_head_attention(x, **w, num_heads=1)
    q = helpers.linear(x, w["w_q"], w["b_q"])
    k = helpers.linear(x, w["w_k"], w["b_k"])
    v = helpers.linear(x, w["w_v"], w["b_v"])
    attn, plain_weights = helpers.scaled_dot_product_attention(q, k, v)
    np.testing.assert_allclose(weights[:, 0], plain_weights, rtol=1e-12)
    np.testing.assert_allclose(out, helpers.linear(attn, w["w_o"], w["b_o"]), rtol=1e-12)


@pytest.mark.parametrize("h, h_kv", [(6, 2), (6, 3), (H, 1)])
def test_gqa_equals_mha_with_repeated_kv_weights(rng, h, h_kv):
    """GQA: query head i reads kv head i // (H / H_kv); the same as MHA whose k/v columns repeat that way."""
    x = rng.standard_normal((2, T, D))
    w = make_weights(rng, h, h_kv, biases=True)
    n_rep = h // h_kv
    cols = np.concatenate([np.arange(g * d, (g + 1) * d) for g in np.arange(h) // n_rep])  # (H*d,)
    w_full = dict(w, w_k=w["w_k"][:, cols], w_v=w["w_v"][:, cols], b_k=w["b_k"][cols], b_v=w["b_v"][cols])
    gqa = helpers.multi_head_attention(x, **w, num_heads=h, num_kv_heads=h_kv)
    mha = helpers.multi_head_attention(x, **w_full, num_heads=h)
    np.testing.assert_allclose(gqa[0], mha[0], rtol=1e-12)
    np.testing.assert_allclose(gqa[1], mha[1], rtol=1e-12)


def test_mha_heads_are_independent(rng):
    """Changing head 1's query columns changes head 1's weights only."""
    x = rng.standard_normal((2, T, D))
    w = make_weights(rng)
    _, weights = helpers.multi_head_attention(x, **w, num_heads=H)
    w_q = w["w_q"].copy()
    w_q[:, d:2 * d] *= 3.0
    _, weights2 = helpers.multi_head_attention(x, **dict(w, w_q=w_q), num_heads=H)
    np.testing.assert_array_equal(weights2[:, [0, 2]], weights[:, [0, 2]])
    assert not np.allclose(weights2[:, 1], weights[:, 1])


def test_mha_num_kv_heads_none_means_num_heads(rng):
    x = rng.standard_normal((T, D))
    w = make_weights(rng)
    a = helpers.multi_head_attention(x, **w, num_heads=H)
    b = helpers.multi_head_attention(x, **w, num_heads=H, num_kv_heads=H)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("masked", [False, True])
def test_mha_keeps_dtype(rng, dtype, masked):
    x = rng.standard_normal((2, T, D)).astype(dtype)
    w = make_weights(rng, 6, 2, biases=True, dtype=dtype)
    mask = helpers.causal_mask(T) if masked else None
    out, weights = helpers.multi_head_attention(x, **w, num_heads=6, num_kv_heads=2, mask=mask)
    assert out.dtype == dtype
    assert weights.dtype == dtype


def test_mha_float32_close_to_float64(rng):
    x = rng.standard_normal((2, T, D))
    w = make_weights(rng, biases=True)
    out64, weights64 = helpers.multi_head_attention(x, **w, num_heads=H)
    out32, weights32 = helpers.multi_head_attention(x.astype(np.float32), num_heads=H,
                                                    **{k: v.astype(np.float32) for k, v in w.items()})
    np.testing.assert_allclose(out32, out64, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(weights32, weights64, rtol=1e-4, atol=1e-5)


def test_mha_does_not_modify_inputs(rng):
    x = rng.standard_normal((2, T, D))
    w = make_weights(rng, biases=True)
    copies = {k: v.copy() for k, v in w.items()}
    x0 = x.copy()
    helpers.multi_head_attention(x, **w, num_heads=H, mask=helpers.causal_mask(T))
    np.testing.assert_array_equal(x, x0)
    for k in w:
        np.testing.assert_array_equal(w[k], copies[k])


BAD_MHA_INPUTS = [
    # (description, overrides of the keyword arguments, match)
    ("x without a T axis", {"x": np.zeros(D)}, r"x must have shape \(\.\.\., T, D\) .* has shape \(10,\)"),
    ("w_q rows != d_model", {"w_q": np.zeros((D + 2, H * d))}, r"w_q has shape \(12, 12\) but x has d_model=10"),
    ("w_q not 2-D", {"w_q": np.zeros((D, H, d))}, r"w_q must be a 2-D matrix .* has shape \(10, 3, 4\)"),
    ("H*d not divisible by H", {"w_q": np.zeros((D, 13))}, r"w_q has shape \(10, 13\): its 13 columns do not split into num_heads=3"),
    ("w_k wrong width", {"w_k": np.zeros((D, 8))}, r"w_k has shape \(10, 8\) but should be \(d_model, H_kv\*d\) = \(10, 12\)"),
    ("w_v wrong rows", {"w_v": np.zeros((D + 1, H * d))}, r"w_v has shape \(11, 12\) but should be .* = \(10, 12\)"),
    ("w_o wrong rows", {"w_o": np.zeros((D, D))}, r"w_o has shape \(10, 10\) but should have H\*d = 12 rows"),
    ("w_o not 2-D", {"w_o": np.zeros(H * d)}, r"w_o must be a 2-D matrix .* has shape \(12,\)"),
    ("b_q wrong", {"b_q": np.zeros(D)}, r"b_q has shape \(10,\) but should have shape \(12,\)"),
    ("b_k wrong", {"b_k": np.zeros((1, H * d))}, r"b_k has shape \(1, 12\) but should have shape \(12,\)"),
    ("b_v wrong", {"b_v": np.zeros(H * d + 1)}, r"b_v has shape \(13,\) but should have shape \(12,\)"),
    ("b_o wrong", {"b_o": np.zeros(H * d)}, r"b_o has shape \(12,\) but should have shape \(10,\)"),
    ("context d_model", {"context": np.zeros((2, S, D + 1))}, r"context has shape \(2, 7, 11\) but x has shape \(2, 5, 10\)"),
    ("context 1-D", {"context": np.zeros(D)}, r"context must have shape \(\.\.\., S, D\) .* has shape \(10,\)"),
    ("context batch", {"context": np.zeros((3, S, D))}, r"do not broadcast: x\[\.\.\., :-2\] \(2,\), context\[\.\.\., :-2\] \(3,\)"),
    ("num_heads 0", {"num_heads": 0}, r"num_heads must be a positive integer, got 0"),
    ("num_heads negative", {"num_heads": -3}, r"num_heads must be a positive integer, got -3"),
    ("num_kv_heads 0", {"num_kv_heads": 0}, r"num_kv_heads must be a positive integer, got 0"),
    ("H not divisible by H_kv", {"num_kv_heads": 2}, r"num_heads=3 is not divisible by num_kv_heads=2"),
    ("mask (S, T)", {"mask": np.ones((T, T + 1), bool)}, r"mask has shape \(5, 6\), which does not broadcast to \(\.\.\., H, T, S\) = \(2, 3, 5, 5\)"),
    ("mask batch", {"mask": np.ones((4, 1, 1, T), bool)}, r"mask has shape \(4, 1, 1, 5\).*\(2, 3, 5, 5\)"),
    ("mask too many axes", {"mask": np.ones((1, 2, H, T, T), bool)}, r"mask has shape \(1, 2, 3, 5, 5\).*\(2, 3, 5, 5\)"),
    ("mask not bool", {"mask": np.ones((T, T), dtype=np.int8)}, r"mask must be boolean .* dtype int8 and shape \(5, 5\)"),
    ("mask float", {"mask": np.tril(np.ones((T, T)))}, r"mask must be boolean .* dtype float64 and shape \(5, 5\)"),
]


@pytest.mark.parametrize("description, overrides, match", BAD_MHA_INPUTS, ids=[b[0] for b in BAD_MHA_INPUTS])
def test_mha_rejects_bad_input(rng, description, overrides, match):
    kwargs = {"x": rng.standard_normal((2, T, D)), "num_heads": H, **make_weights(rng, biases=True)}
    kwargs.update(overrides)
    with pytest.raises(ValueError, match=match):
        helpers.multi_head_attention(**kwargs)
