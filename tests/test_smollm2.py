"""Tests of helpers.smollm2, SmolLM2-135M-Instruct end to end in numpy (chapter 13).

The reference is transformers on PyTorch, stored in tests/reference/smollm2_layer0.npz
(tests/reference/README.md): the last prompt position's logits and the greedy
continuation of "What is the capital of France?". No torch here. The weights
are loaded once for the module (a few seconds).
"""

from pathlib import Path

import numpy as np
import pytest

from helpers import (apply_rope, causal_mask, linear, merge_heads, repeat_kv, scaled_dot_product_attention,
                     split_heads)
from helpers import checkpoints as ckpt
from helpers import smollm2
from helpers.norms import rms_norm

REFERENCE = Path(__file__).resolve().parent / "reference"


@pytest.fixture(scope="module")
def ref(smollm2_ref):
    return smollm2_ref


@pytest.fixture(scope="module")
def model(smollm2_model):
    """(config, raw weights, fused weights)."""
    config, weights = smollm2_model
    return config, weights, smollm2.fuse_weights(weights)


@pytest.fixture(scope="module")
def prompt(ref):
    return ref["input_ids"][0]  # (T,) = (37,)


# ---------------------------------------------------------------- against transformers


def test_first_step_logits_match_the_reference(model, ref, prompt):
    config, _, fused = model
    logits = smollm2.forward(prompt, fused, config)
    assert logits.shape == (37, 49152) and logits.dtype == np.float32
    error = np.abs(logits[-1] - ref["last_logits"]).max()
    print(f"max abs logit error vs transformers: {error:.2e} (logits reach {np.abs(ref['last_logits']).max():.1f})")
    assert error < 1e-3
    last = smollm2.forward(prompt, fused, config, last_only=True)
    assert last.shape == (1, 49152)
    np.testing.assert_allclose(last[0], logits[-1], rtol=0, atol=1e-4)  # other matmul shapes: other rounding


@pytest.mark.parametrize("use_cache", [True, False])
def test_greedy_generation_gives_the_reference_tokens(model, ref, prompt, use_cache):
    config, weights, _ = model
    new_ids = smollm2.generate(prompt, weights, config, max_new_tokens=10, use_cache=use_cache)
    assert new_ids == ref["greedy_ids"].tolist()  # identical ids, ending with <|im_end|> (id 2)
    assert new_ids[-1] == config["eos_token_id"] == 2
    text = ckpt.smollm2_tokenizer().decode(new_ids, skip_special_tokens=True)
    assert text == "The capital of France is Paris."


def test_layer0_attention_block_matches_the_reference(model, ref, prompt):
    config, weights, fused = model
    x = weights["token_embeddings"][prompt]  # (T, D)
    for layer in (weights["layers"][0], fused["layers"][0]):  # the loader's layer and the fused one
        out, attn = smollm2.attention_block(x, layer, config, np.arange(len(prompt)))
        assert out.shape == (37, 576) and attn.shape == (9, 37, 37)
        assert out.dtype == attn.dtype == np.float32
        np.testing.assert_allclose(attn, ref["layer0_attn_weights"][0], rtol=0, atol=1e-5)
        np.testing.assert_allclose(out, ref["layer0_attn_output"][0], rtol=0, atol=1e-5)


def test_attention_block_equals_the_step_by_step_form_with_repeat_kv(model, prompt):
    """Broadcasting each kv head over its query-head group is exactly repeat_kv (chapter 8)."""
    config, weights, _ = model
    layer = weights["layers"][5]
    x = np.random.default_rng(0).standard_normal((6, 576)).astype(np.float32)
    positions = np.arange(10, 16)
    h_in = rms_norm(x, layer["attn_norm"], config["rms_norm_eps"])
    q = apply_rope(split_heads(linear(h_in, layer["w_q"]), 9), positions, 100000.0)  # (H, T, d)
    k = apply_rope(split_heads(linear(h_in, layer["w_k"]), 3), positions, 100000.0)  # (H_kv, T, d)
    v = split_heads(linear(h_in, layer["w_v"]), 3)
    heads, expected_attn = scaled_dot_product_attention(q, repeat_kv(k, 3), repeat_kv(v, 3), mask=causal_mask(6))
    expected = linear(merge_heads(heads), layer["w_o"])
    out, attn = smollm2.attention_block(x, layer, config, positions)
    np.testing.assert_allclose(attn, expected_attn, rtol=0, atol=1e-6)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)


def test_mlp_block_is_swiglu(model):
    config, weights, _ = model
    layer = weights["layers"][3]
    x = np.random.default_rng(1).standard_normal((4, 576)).astype(np.float32)
    h = rms_norm(x, layer["ffn_norm"], config["rms_norm_eps"])
    gate = h @ layer["w_gate"]
    expected = (gate / (1 + np.exp(-gate)) * (h @ layer["w_up"])) @ layer["w_down"]
    out = smollm2.mlp_block(x, layer, config)
    assert out.shape == (4, 576) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)
    with np.errstate(over="raise"):  # silu of a very negative gate: no overflow in exp
        smollm2.mlp_block(x * 1e4, layer, config)


# ---------------------------------------------------------------- the KV cache


def test_kv_cache_decoding_equals_full_recomputation(model, prompt):
    config, _, fused = model
    cache = smollm2.new_cache(config, len(prompt) + 4)
    ids = list(prompt)
    logits = smollm2.forward(prompt, fused, config, cache, last_only=True)
    for step in range(4):
        full = smollm2.forward(np.array(ids), fused, config)[-1]  # the whole sequence, no cache
        np.testing.assert_allclose(logits[0], full, rtol=0, atol=1e-4, err_msg=f"step {step}")
        next_id = int(full.argmax())
        ids.append(next_id)
        logits = smollm2.forward([next_id], fused, config, cache, last_only=True)  # T = 1
        assert cache[0].length == len(ids) == cache[29].length


def test_cached_attention_weights_are_the_last_rows_of_the_full_ones(model, prompt):
    config, _, fused = model
    cache = smollm2.new_cache(config, 40)
    smollm2.forward(prompt[:30], fused, config, cache)
    _, cached = smollm2.forward(prompt[30:33], fused, config, cache, return_weights=True)
    _, full = smollm2.forward(prompt[:33], fused, config, return_weights=True)
    assert len(cached) == 30 and cached[7].shape == (9, 3, 33) and full[7].shape == (9, 33, 33)
    for i in (0, 29):
        np.testing.assert_allclose(cached[i], full[i][:, 30:], rtol=0, atol=1e-5)
    assert np.all(full[0][:, 30, 31:] == 0)  # causal: no weight on the future


def test_kv_cache_memory_follows_the_formula(model):
    config = model[0]
    cache = smollm2.new_cache(config, 100)
    assert len(cache) == 30 and cache[0].k.shape == (3, 100, 64) and cache[0].k.dtype == np.float32
    assert sum(c.nbytes for c in cache) == 2 * 30 * 3 * 64 * 100 * 4  # 2 * layers * H_kv * d * S * bytes


def test_kv_cache_append_returns_everything_so_far():
    cache = smollm2.KVCache(num_kv_heads=2, head_dim=4, max_len=5)
    k1, v1 = np.ones((2, 3, 4)), 2 * np.ones((2, 3, 4))
    keys, values = cache.append(k1, v1)
    assert keys.shape == (2, 3, 4) and cache.length == 3
    keys, values = cache.append(3 * np.ones((2, 1, 4)), 4 * np.ones((2, 1, 4)))
    assert keys.shape == (2, 4, 4) and cache.length == 4
    np.testing.assert_array_equal(keys[:, :, 0], [[1, 1, 1, 3]] * 2)
    np.testing.assert_array_equal(values[:, :, 0], [[2, 2, 2, 4]] * 2)
    with pytest.raises(ValueError, match=r"holds 4 of max_len=5 positions: no room for k of shape \(2, 2, 4\)"):
        cache.append(np.ones((2, 2, 4)), np.ones((2, 2, 4)))
    with pytest.raises(ValueError, match=r"k has shape \(3, 1, 4\) and v has shape \(3, 1, 4\)"):
        cache.append(np.ones((3, 1, 4)), np.ones((3, 1, 4)))


# ---------------------------------------------------------------- generation options and dtypes


def test_generate_without_eos_runs_to_max_new_tokens(model, prompt, ref):
    config, _, fused = model
    new_ids = smollm2.generate(prompt, fused, config, max_new_tokens=9, eos_ids=())
    assert len(new_ids) == 9 and new_ids[:8] == ref["greedy_ids"].tolist()
    assert smollm2.generate(prompt, fused, config, max_new_tokens=3) == ref["greedy_ids"][:3].tolist()


def test_fuse_weights_keeps_the_numbers_and_leaves_the_input_alone(model):
    _, weights, fused = model
    raw, f = weights["layers"][2], fused["layers"][2]
    assert "w_q" in raw and "w_qkv" not in raw  # the loader's dict is not changed
    assert f["w_qkv"].shape == (576, 960) and f["w_gate_up"].shape == (576, 3072)
    np.testing.assert_array_equal(f["w_qkv"], np.concatenate([raw["w_q"], raw["w_k"], raw["w_v"]], axis=1))
    np.testing.assert_array_equal(f["w_gate_up"][:, 1536:], raw["w_up"])
    assert all(a.dtype == np.float32 and a.flags.c_contiguous for a in f.values())
    assert smollm2.fuse_weights(fused) is fused  # fusing twice does nothing


def test_nothing_is_promoted_to_float64(model, prompt):
    config, _, fused = model
    cache = smollm2.new_cache(config, 40)
    logits, attn = smollm2.forward(prompt[:5], fused, config, cache, return_weights=True)
    assert logits.dtype == np.float32 and all(a.dtype == np.float32 for a in attn)
    assert cache[0].k.dtype == np.float32


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("ids, message", [
    (np.ones((1, 5), dtype=np.int64), r"shape \(T,\), but has shape \(1, 5\) and dtype int64"),
    (np.array([], dtype=np.int64), r"non-empty 1-D array .* has shape \(0,\)"),
    (np.ones(4), r"has shape \(4,\) and dtype float64"),
    (np.array([1, 49152]), r"ids of shape \(2,\) must lie in 0\.\.49151, got 1\.\.49152"),
    (np.array([-1, 3]), r"must lie in 0\.\.49151"),
])
def test_forward_rejects_malformed_ids(model, ids, message):
    config, _, fused = model
    with pytest.raises(ValueError, match=message):
        smollm2.forward(ids, fused, config)
    with pytest.raises(ValueError, match=message):
        smollm2.generate(ids, fused, config, max_new_tokens=2)


def test_forward_rejects_a_partial_model_or_a_wrong_cache(model):
    config, weights, fused = model
    with pytest.raises(ValueError, match=r"weights hold layers \[0\] but the model has 30"):
        smollm2.forward([1, 2], {**weights, "layers": {0: weights["layers"][0]}}, config)
    with pytest.raises(ValueError, match=r"cache has 2 layers but the model has 30"):
        smollm2.forward([1, 2], fused, config, cache=smollm2.new_cache({**config, "num_layers": 2}, 8))
    with pytest.raises(ValueError, match=r"holds 0 of max_len=3 positions: no room for k of shape \(3, 4, 64\)"):
        smollm2.forward([1, 2, 3, 4], fused, config, cache=smollm2.new_cache(config, 3))


@pytest.mark.parametrize("positions, message", [
    (np.array([8190, 8191, 8192]), r"positions must lie in 0\.\.8191 \(the context length is 8192\), got 8190\.\.8192"),
    (np.array([-1, 0, 1]), r"positions must lie in 0\.\.8191"),
    (np.array([0, 1]), r"positions has shape \(2,\) but there are T = 3 ids"),
    (np.array([0.0, 1.5, 2.0]), r"positions must be finite integers"),
])
def test_forward_rejects_positions_outside_the_context(model, positions, message):
    config, _, fused = model
    with pytest.raises(ValueError, match=message):
        smollm2.forward([1, 2, 3], fused, config, positions=positions)


def test_forward_rejects_a_cache_that_would_run_past_the_context(model):
    config, _, fused = model
    small = {**config, "context_length": 40}  # the same model, told its context is 40 tokens
    cache = smollm2.new_cache(small, 45)
    smollm2.forward(np.arange(1, 39), fused, small, cache, last_only=True)  # positions 0..37
    smollm2.forward([5, 6], fused, small, cache, last_only=True)  # 38, 39: the last two that fit
    with pytest.raises(ValueError, match=r"positions must lie in 0\.\.39 \(the context length is 40\), got 40\.\.40"):
        smollm2.forward([7], fused, small, cache, last_only=True)


def test_last_positions_of_the_context_are_accepted(model):
    config, _, fused = model
    logits = smollm2.forward([1, 2], fused, config, positions=np.array([8190, 8191]), last_only=True)
    assert logits.shape == (1, 49152) and np.all(np.isfinite(logits))


def test_attention_block_rejects_bad_shapes(model):
    config, weights, _ = model
    layer = weights["layers"][0]
    with pytest.raises(ValueError, match=r"x has shape \(1, 4, 576\) but should be \(T, D\) with D = 576"):
        smollm2.attention_block(np.ones((1, 4, 576), np.float32), layer, config, np.arange(4))
    with pytest.raises(ValueError, match=r"positions has shape \(3,\)"):
        smollm2.attention_block(np.ones((4, 576), np.float32), layer, config, np.arange(3))


def test_generate_rejects_a_bad_token_budget(model, prompt):
    config, _, fused = model
    with pytest.raises(ValueError, match="max_new_tokens must be a positive integer, got 0"):
        smollm2.generate(prompt, fused, config, max_new_tokens=0)
