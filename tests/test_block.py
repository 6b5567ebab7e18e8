"""Tests for helpers.block, the transformer block of chapter 8.

The activations against math.erf and their formulas; the attention sublayer
against helpers.multi_head_attention and repeat_kv; the whole block against
a by-hand composition for both norm placements, and against the MiniLM and
SmolLM2 fixtures (tests/reference/); the depth measurements on invariants.
Toy sizes differ from each other: B = 2, T = 5, S = 7, D = 10, H = 3,
H_kv = 1, d = 4 (H*d = 12 != D), F = 14.
"""

import math

import numpy as np
import pytest

import helpers
from helpers import block
from helpers.bert import block_params

B, T, D, H, d, F = 2, 5, 10, 3, 4, 14


def toy_params(rng, *, ffn="gelu", h_kv=H, biases=True):
    """Random weights for one block with all sizes different; LayerNorm shifts included."""
    w = lambda *shape: rng.normal(scale=0.4, size=shape)  # noqa: E731
    p = {"w_q": w(D, H * d), "w_k": w(D, h_kv * d), "w_v": w(D, h_kv * d), "w_o": w(H * d, D),
         "attn_norm": 1 + w(D), "attn_norm_bias": w(D), "ffn_norm": 1 + w(D), "ffn_norm_bias": w(D)}
    if biases:
        p.update(b_q=w(H * d), b_k=w(h_kv * d), b_v=w(h_kv * d), b_o=w(D))
    if ffn == "swiglu":
        p.update(w_gate=w(D, F), w_up=w(D, F), w_down=w(F, D))
    else:
        p.update(w_ff_in=w(D, F), w_ff_out=w(F, D))
        if biases:
            p.update(b_ff_in=w(F), b_ff_out=w(D))
    return p


def exact_gelu(v):
    return v * (1 + math.erf(v / math.sqrt(2))) / 2


# ---------------------------------------------------------------- erf and the activations


def test_erf_matches_math_erf_to_a_few_ulps(rng):
    x = np.concatenate([rng.normal(scale=s, size=20000) for s in (1e-3, 0.3, 1, 3, 10)] + [np.linspace(-7, 7, 20001)])
    expected = np.array([math.erf(v) for v in x])
    got = helpers.block.erf(x)
    assert got.shape == x.shape and got.dtype == np.float64
    assert np.abs(got - expected).max() <= 4 * np.spacing(1.0)  # within a few units of the last place
    np.testing.assert_allclose(got[np.abs(x) < 1e-2], expected[np.abs(x) < 1e-2], rtol=1e-15)  # relative, near 0


def test_erf_edges_and_dtypes():
    np.testing.assert_array_equal(block.erf(np.array([np.inf, -np.inf, 40.0, -6.5, 0.0])), [1, -1, 1, -1, 0])
    assert np.isnan(block.erf(np.array([np.nan, 1.0]))[0])
    assert block.erf(np.float32(0.5)).dtype == np.float32
    assert block.erf(np.arange(3)).dtype == np.float64  # integers become float64
    assert block.erf(np.zeros((2, 0, 3))).shape == (2, 0, 3)
    assert math.isclose(float(block.erf(1e-300)), math.erf(1e-300), rel_tol=1e-15)


def test_gelu_is_the_exact_erf_form():
    x = np.array([-30.0, -3.0, -1.0, 0.0, 0.5, 1.0, 2.0, 50.0])
    np.testing.assert_allclose(helpers.gelu(x), [exact_gelu(v) for v in x], rtol=1e-15, atol=1e-300)
    assert helpers.gelu(np.float32(1.0)).dtype == np.float32


def test_gelu_tanh_is_the_gpt2_formula_and_close_to_the_exact_one():
    x = np.linspace(-8, 8, 16001)
    tanh_form = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(helpers.gelu_tanh(x), tanh_form, rtol=1e-12, atol=1e-300)
    gap = np.abs(helpers.gelu_tanh(x) - helpers.gelu(x))
    assert 1e-4 < gap.max() < 1e-3  # about 4.7e-4
    assert 2.5 < abs(x[gap.argmax()]) < 2.9  # largest near |x| = 2.7
    with np.errstate(all="raise"):  # x**3 may overflow for huge x; the result must not become NaN, nor warn
        np.testing.assert_array_equal(helpers.gelu_tanh(np.array([1e200, -1e200], dtype=np.float64)), [1e200, -0.0])


def test_silu_is_x_times_sigmoid_without_overflow():
    x = np.array([-800.0, -5.0, 0.0, 0.3, 5.0, 800.0])
    with np.errstate(over="ignore"):
        expected = x / (1 + np.exp(-x))
    with np.errstate(all="raise"):
        np.testing.assert_allclose(helpers.silu(x), expected, rtol=1e-14, atol=1e-300)


def test_swiglu_and_the_fused_form_give_the_same_numbers(rng):
    p = toy_params(rng, ffn="swiglu")
    x = rng.standard_normal((B, T, D))
    gate = x @ p["w_gate"]
    expected = (gate / (1 + np.exp(-gate)) * (x @ p["w_up"])) @ p["w_down"]
    out = helpers.swiglu(x, p["w_gate"], p["w_up"], p["w_down"])
    assert out.shape == (B, T, D)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    fused = {"w_gate_up": np.concatenate([p["w_gate"], p["w_up"]], axis=1), "w_down": p["w_down"]}
    np.testing.assert_allclose(helpers.feed_forward(x, fused, ffn="swiglu"), out, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ffn, act", [("gelu", helpers.gelu), ("gelu_tanh", helpers.gelu_tanh)])
def test_gelu_feed_forward_is_two_projections_around_the_activation(rng, ffn, act):
    p = toy_params(rng)
    x = rng.standard_normal((T, D))
    expected = act(x @ p["w_ff_in"] + p["b_ff_in"]) @ p["w_ff_out"] + p["b_ff_out"]
    np.testing.assert_allclose(helpers.feed_forward(x, p, ffn=ffn), expected, rtol=1e-12, atol=1e-12)


def test_feed_forward_works_on_each_position_alone(rng):
    """The MLP transforms each position on its own: row t of the output depends on row t of the input only."""
    p = toy_params(rng, ffn="swiglu")
    x = rng.standard_normal((T, D))
    whole = helpers.feed_forward(x, p, ffn="swiglu")
    for t in range(T):
        np.testing.assert_allclose(helpers.feed_forward(x[t:t + 1], p, ffn="swiglu")[0], whole[t], rtol=1e-12)


# ---------------------------------------------------------------- the attention sublayer


@pytest.mark.parametrize("mask_shape", [None, (T, T), (B, 1, 1, T), (B, H, T, T)])
@pytest.mark.parametrize("h_kv", [H, 1])
def test_block_attention_equals_multi_head_attention(rng, mask_shape, h_kv):
    p = toy_params(rng, h_kv=h_kv)
    x = rng.standard_normal((B, T, D))
    mask = None if mask_shape is None else rng.random(mask_shape) > 0.3
    out, weights = block.block_attention(x, p, num_heads=H, num_kv_heads=h_kv, mask=mask)
    ref_out, ref_weights = helpers.multi_head_attention(
        x, p["w_q"], p["w_k"], p["w_v"], p["w_o"], num_heads=H, num_kv_heads=h_kv,
        b_q=p["b_q"], b_k=p["b_k"], b_v=p["b_v"], b_o=p["b_o"], mask=mask)
    assert out.shape == (B, T, D) and weights.shape == (B, H, T, T)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights, ref_weights, rtol=1e-12, atol=1e-12)


def test_block_attention_with_rope_rotates_q_and_k_only(rng):
    p = toy_params(rng, h_kv=1, biases=False)
    x = rng.standard_normal((T, D))
    positions = np.array([3, 4, 5, 6, 7])
    out, weights = block.block_attention(x, p, num_heads=H, num_kv_heads=1, causal=True, positions=positions,
                                         rope_base=500.0, rope_pairing="adjacent")
    q = helpers.apply_rope(helpers.split_heads(x @ p["w_q"], H), positions, 500.0, pairing="adjacent")
    k = helpers.apply_rope(helpers.split_heads(x @ p["w_k"], 1), positions, 500.0, pairing="adjacent")
    v = helpers.split_heads(x @ p["w_v"], 1)
    heads, expected_w = helpers.scaled_dot_product_attention(q, helpers.repeat_kv(k, H), helpers.repeat_kv(v, H),
                                                             mask=helpers.causal_mask(T))
    np.testing.assert_allclose(weights, expected_w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out, helpers.merge_heads(heads) @ p["w_o"], rtol=1e-12, atol=1e-12)
    fused = {"w_qkv": np.concatenate([p["w_q"], p["w_k"], p["w_v"]], axis=1), "w_o": p["w_o"]}
    out_fused, _ = block.block_attention(x, fused, num_heads=H, num_kv_heads=1, causal=True, positions=positions,
                                         rope_base=500.0, rope_pairing="adjacent")
    np.testing.assert_allclose(out_fused, out, rtol=1e-12, atol=1e-12)


def test_block_attention_with_a_cache_equals_one_pass(rng):
    from helpers.smollm2 import KVCache
    p = toy_params(rng, h_kv=1, biases=False)
    x = rng.standard_normal((7, D))  # S = 7 positions, fed as 4 + 2 + 1
    options = dict(num_heads=H, num_kv_heads=1, causal=True, rope_base=10000.0)
    full, full_w = block.block_attention(x, p, **options)
    cache = KVCache(1, d, 7, dtype=np.float64)
    parts = [block.block_attention(x[a:b], p, cache=cache, **options) for a, b in ((0, 4), (4, 6), (6, 7))]
    np.testing.assert_allclose(np.concatenate([out for out, _ in parts]), full, rtol=1e-12, atol=1e-12)
    assert parts[1][1].shape == (H, 2, 6)  # (H, T, S): 2 new queries, 6 keys
    np.testing.assert_allclose(parts[1][1], full_w[:, 4:6, :6], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- the whole block


@pytest.mark.parametrize("norm", ["layer", "rms"])
@pytest.mark.parametrize("ffn", ["gelu", "swiglu"])
def test_post_and_pre_norm_blocks_by_hand(rng, norm, ffn):
    p = toy_params(rng, ffn=ffn)
    x = rng.standard_normal((B, T, D))
    mask = helpers.padding_mask([5, 3], T)  # (B, 1, 1, T)
    eps = 1e-6

    def normed(a, which):
        if norm == "rms":
            return helpers.rms_norm(a, p[f"{which}_norm"], eps)
        return helpers.layer_norm(a, p[f"{which}_norm"], p[f"{which}_norm_bias"], eps)

    def attn(a):
        return block.block_attention(a, p, num_heads=H, mask=mask)[0]

    def mlp(a):
        return helpers.feed_forward(a, p, ffn=ffn)

    h = normed(x + attn(x), "attn")
    post = normed(h + mlp(h), "ffn")
    h = x + attn(normed(x, "attn"))
    pre = h + mlp(normed(h, "ffn"))
    for placement, expected in (("post", post), ("pre", pre)):
        y, weights = helpers.transformer_block(x, p, norm_position=placement, norm=norm, ffn=ffn, num_heads=H,
                                               mask=mask, eps=eps)
        assert y.shape == (B, T, D) and weights.shape == (B, H, T, T)
        np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
        assert np.all(weights[1, :, :, 3:] == 0)  # padded keys
    assert not np.allclose(pre, post)


def test_layer_norm_without_shifts_uses_zero(rng):
    p = toy_params(rng)
    x = rng.standard_normal((T, D))
    without = {k: v for k, v in p.items() if not k.endswith("_norm_bias")}
    zeroed = {**p, "attn_norm_bias": np.zeros(D), "ffn_norm_bias": np.zeros(D)}
    options = dict(norm_position="post", norm="layer", ffn="gelu", num_heads=H)
    np.testing.assert_array_equal(helpers.transformer_block(x, without, **options)[0],
                                  helpers.transformer_block(x, zeroed, **options)[0])


def test_float32_stays_float32(rng):
    p = {k: v.astype(np.float32) for k, v in toy_params(rng, ffn="swiglu", h_kv=1).items()}
    y, w = helpers.transformer_block(rng.standard_normal((T, D)).astype(np.float32), p, norm_position="pre",
                                     norm="rms", ffn="swiglu", num_heads=H, num_kv_heads=1, rope_base=10000.0,
                                     causal=True)
    assert y.dtype == w.dtype == np.float32


# ---------------------------------------------------------------- against the real models


def test_one_minilm_layer_reproduces_transformers(minilm, minilm_ref):
    """Post-norm, LayerNorm, GELU, biases: layer 0's attention weights; layer 0's output built on the
    fixture's attention sublayer output; six blocks give the encoder's last hidden state."""
    from helpers import checkpoints as ckpt
    config, w = minilm
    x = ckpt.bert_embeddings(w, minilm_ref["input_ids"], minilm_ref["token_type_ids"])  # (B, T, D) = (3, 19, 384)
    mask = helpers.padding_mask(minilm_ref["attention_mask"].sum(axis=1), x.shape[1])
    options = dict(norm_position="post", norm="layer", ffn="gelu", num_heads=config["num_attention_heads"],
                   mask=mask, eps=config["layer_norm_eps"])
    p = block_params(w["layers"][0])
    y, weights = helpers.transformer_block(x, p, **options)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(weights, minilm_ref["layer0_attn_probs"], rtol=0, atol=1e-5)
    a = minilm_ref["layer0_attention_output"].astype(np.float64)  # transformers' LayerNorm(x + attention(x))
    hidden = np.vectorize(exact_gelu)(a @ p["w_ff_in"] + p["b_ff_in"])
    expected = helpers.layer_norm(a + hidden @ p["w_ff_out"] + p["b_ff_out"], p["ffn_norm"], p["ffn_norm_bias"],
                                  config["layer_norm_eps"])
    real = minilm_ref["attention_mask"].astype(bool)
    assert np.abs(y - expected)[real].max() <= 1e-4
    for i in range(1, 6):
        y, _ = helpers.transformer_block(y, block_params(w["layers"][i]), **options)
    assert np.abs(y - minilm_ref["last_hidden_state"])[real].max() <= 1e-4


def test_one_smollm2_layer_reproduces_transformers(smollm2_model, smollm2_ref):
    """Pre-norm, RMSNorm, SwiGLU, GQA (9 query heads, 3 kv heads), RoPE, no biases."""
    from helpers import smollm2
    config, weights = smollm2_model
    x = smollm2_ref["embeddings"][0]  # (T, D) = (37, 576)
    options = dict(norm_position="pre", norm="rms", ffn="swiglu", num_heads=config["num_heads"],
                   num_kv_heads=config["num_kv_heads"], rope_base=config["rope_base"], causal=True,
                   eps=config["rms_norm_eps"])
    layer = weights["layers"][0]
    y, attn = helpers.transformer_block(x, layer, **options)
    assert y.shape == x.shape and attn.shape == (9, 37, 37) and y.dtype == np.float32
    np.testing.assert_allclose(attn, smollm2_ref["layer0_attn_weights"][0], rtol=0, atol=1e-5)
    h = x.astype(np.float64) + smollm2_ref["layer0_attn_output"][0]  # the stream after transformers' attention
    g = helpers.rms_norm(h, layer["ffn_norm"], config["rms_norm_eps"])
    gate = g @ layer["w_gate"]
    expected = h + (gate / (1 + np.exp(-gate)) * (g @ layer["w_up"])) @ layer["w_down"]
    assert np.abs(y - expected).max() <= 1e-4
    y_fused, _ = helpers.transformer_block(x, smollm2.fuse_layer(layer), **options)
    np.testing.assert_allclose(y_fused, y, rtol=1e-6, atol=1e-5)  # one matmul or three: float32 rounding


# ---------------------------------------------------------------- deep stacks at initialisation


def test_random_blocks_are_xavier_with_unit_gains(rng):
    blocks = block.random_blocks(3, 64, 256, num_heads=4, rng=rng)
    assert len(blocks) == 3 and blocks[0]["w_ff_in"].shape == (64, 256) and blocks[0]["w_o"].shape == (64, 64)
    assert abs(blocks[0]["w_ff_in"].std() - math.sqrt(2 / (64 + 256))) < 0.003
    assert np.all(blocks[2]["attn_norm"] == 1) and np.all(blocks[2]["ffn_norm_bias"] == 0)
    swiglu = block.random_blocks(1, 8, 12, num_heads=2, ffn="swiglu", rng=rng)[0]
    assert swiglu["w_gate"].shape == (8, 12) and swiglu["w_down"].shape == (12, 8) and "w_ff_in" not in swiglu


def test_run_blocks_returns_every_depth(rng):
    blocks = block.random_blocks(4, 12, 20, num_heads=3, rng=rng)
    x = rng.standard_normal((2, 5, 12))
    streams = block.run_blocks(x, blocks, norm_position="pre", norm="layer", ffn="gelu", num_heads=3)
    assert len(streams) == 5 and all(s.shape == x.shape for s in streams)
    np.testing.assert_array_equal(streams[0], x)
    np.testing.assert_allclose(streams[2], helpers.transformer_block(
        streams[1], blocks[1], norm_position="pre", norm="layer", ffn="gelu", num_heads=3)[0])


@pytest.mark.parametrize("norm, ffn", [("layer", "gelu"), ("rms", "swiglu")])
def test_depth_profile_invariants(norm, ffn):
    options = dict(D=16, T=6, num_heads=2, d_ff=24, norm=norm, ffn=ffn)
    pre = block.depth_profile(8, norm_position="pre", rng=np.random.default_rng(3), **options)
    post = block.depth_profile(8, norm_position="post", rng=np.random.default_rng(3), **options)
    for profile in (pre, post):
        assert set(profile) == {"rms", "sensitivity", "relative_sensitivity", "input_cosine"}
        assert all(v.shape == (9,) for v in profile.values())
        np.testing.assert_allclose(profile["sensitivity"][0], 1.0, rtol=1e-9)  # the input against itself
        np.testing.assert_allclose(profile["input_cosine"][0], 1.0, rtol=1e-12)
    np.testing.assert_array_equal(pre["rms"][0], post["rms"][0])  # the same seed: the same input
    np.testing.assert_allclose(post["rms"][1:], 1.0, atol=1e-4)  # a norm with gain 1 ends every post-norm block
    assert pre["rms"][-1] > 1.5 * pre["rms"][0]  # pre-norm: every block adds to the stream, which grows
    again = block.depth_profile(8, norm_position="pre", rng=np.random.default_rng(3), **options)
    np.testing.assert_array_equal(again["sensitivity"], pre["sensitivity"])  # deterministic


def test_depth_profile_finite_differences_are_converged():
    options = dict(norm_position="pre", D=16, T=6, num_heads=2, d_ff=24)
    coarse = block.depth_profile(5, rng=np.random.default_rng(1), step=1e-3, **options)["sensitivity"]
    fine = block.depth_profile(5, rng=np.random.default_rng(1), step=1e-5, **options)["sensitivity"]
    np.testing.assert_allclose(coarse, fine, rtol=1e-5)


# ---------------------------------------------------------------- bad input


BLOCK = dict(norm_position="pre", norm="rms", ffn="gelu", num_heads=H)


@pytest.mark.parametrize("change, match", [
    (dict(norm_position="middle"), r"norm_position must be one of 'pre', 'post', got 'middle'"),
    (dict(norm="batch"), r"norm must be one of 'layer', 'rms', got 'batch'"),
    (dict(ffn="relu"), r"ffn must be one of 'gelu', 'gelu_tanh', 'swiglu', got 'relu'"),
    (dict(num_heads=5), r"w_q has shape \(10, 12\): its 12 columns do not split into num_heads=5 heads"),
    (dict(num_heads=3, num_kv_heads=2), r"num_heads=3 is not divisible by num_kv_heads=2"),
    (dict(num_heads=0), r"num_heads must be a positive integer, got 0"),
    (dict(eps=0.0), r"eps must be a finite number > 0"),
    (dict(mask=np.ones((T, T))), r"mask must be boolean"),
    (dict(mask=np.ones((2, T, T), bool)), r"mask has shape \(2, 5, 5\), which does not broadcast to \(\.\.\., H, T, S\)"),
    (dict(rope_base=0.0), r"base must be a finite number > 0, got 0\.0"),
    (dict(positions=np.arange(T)), r"positions are given but rope_base is None"),
    (dict(rope_base=10000.0, positions=np.arange(T + 1)), r"positions has shape \(6,\)"),
    (dict(rope_base=10000.0, positions=np.arange(T) + 0.5), r"positions must be finite integers"),
])
def test_transformer_block_rejects_bad_options(rng, change, match):
    p = toy_params(rng)
    with pytest.raises(ValueError, match=match):
        helpers.transformer_block(rng.standard_normal((T, D)), p, **{**BLOCK, **change})


@pytest.mark.parametrize("edit, match", [
    (lambda p: p.pop("w_v"), r"params has no 'w_v', which the attention needs; it has \["),
    (lambda p: p.pop("ffn_norm"), r"params has no 'ffn_norm', which the norm needs"),
    (lambda p: p.pop("w_ff_out"), r"params has no 'w_ff_out', which the feed-forward layer needs"),
    (lambda p: p.update(w_k=np.ones((D, 8))), r"w_k has shape \(10, 8\) but should be \(D, H_kv\*d\) with H_kv=3, d=4 = \(10, 12\)"),
    (lambda p: p.update(w_q=np.ones((9, 12))), r"w_q has shape \(9, 12\) but should be \(D, H\*d\) = \(10, \?\)"),
    (lambda p: p.update(w_o=np.ones((12, 9))), r"w_o has shape \(12, 9\) but should be \(H\*d, D\) = \(12, 10\)"),
    (lambda p: p.update(b_q=np.ones(10)), r"b_q has shape \(10,\) but should be \(H\*d,\) = \(12,\)"),
    (lambda p: p.update(w_ff_out=np.ones((F + 1, D))), r"w_ff_out has shape \(15, 10\) but should be \(F, D\) = \(14, 10\)"),
    (lambda p: p.update(b_ff_in=np.ones(3)), r"b_ff_in has shape \(3,\) but should be \(F,\) = \(14,\)"),
    (lambda p: p.update(attn_norm=np.ones(9)), r"gamma has shape \(9,\) but x has shape \(5, 10\)"),
    (lambda p: p.update(w_q=np.full((D, H * d), "a")), r"w_q must hold real numbers"),
])
def test_transformer_block_rejects_bad_params(rng, edit, match):
    p = toy_params(rng)
    edit(p)
    with pytest.raises(ValueError, match=match):
        helpers.transformer_block(rng.standard_normal((T, D)), p, **BLOCK)


@pytest.mark.parametrize("call, match", [
    (lambda p, x: helpers.transformer_block(x[0, 0], p, **BLOCK), r"x must have shape \(\.\.\., T, D\) .* has shape \(10,\)"),
    (lambda p, x: helpers.transformer_block(x, "weights", **BLOCK), r"params must be a dict of weights, got str"),
    (lambda p, x: helpers.feed_forward(x, p, ffn="swiglu"), r"params has no 'w_gate', which the SwiGLU needs"),
    (lambda p, x: helpers.feed_forward(x, {"w_gate_up": np.ones((D, 2 * F)), "w_down": np.ones((F, D + 1))}, ffn="swiglu"),
     r"w_down has shape \(14, 11\) but should be \(F, D\) = \(14, 10\)"),
    (lambda p, x: helpers.swiglu(x, np.ones((D, F)), np.ones((D, F + 1)), np.ones((F, D))),
     r"w_up has shape \(10, 15\) but should be \(D, F\) = \(10, 14\)"),
    (lambda p, x: block.block_attention(x, {**p, "w_qkv": np.ones((D, 35))}, num_heads=H),
     r"w_qkv has shape \(10, 35\): its columns do not split into H \+ 2 H_kv = 9 heads"),
])
def test_sublayers_reject_bad_input(rng, call, match):
    with pytest.raises(ValueError, match=match):
        call(toy_params(rng), rng.standard_normal((B, T, D)))


@pytest.mark.parametrize("call, match", [
    (lambda: block.random_blocks(2, 10, 8, num_heads=3, rng=np.random.default_rng(0)), r"D=10 is not divisible by num_heads=3"),
    (lambda: block.random_blocks(2, 12, 8, num_heads=3, rng=0), r"rng must be a numpy Generator"),
    (lambda: block.random_blocks(0, 12, 8, num_heads=3, rng=np.random.default_rng(0)), r"num_blocks must be a positive integer"),
    (lambda: block.depth_profile(2, norm_position="pre", rng=np.random.default_rng(0), step=0.0), r"step must be a finite number > 0"),
    (lambda: block.depth_profile(2, norm_position="side", rng=np.random.default_rng(0)), r"norm_position must be one of"),
    (lambda: block.depth_profile(2, norm_position="pre", rng=np.random.default_rng(0), num_directions=0),
     r"num_directions must be a positive integer"),
])
def test_depth_tools_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
