"""Tests of helpers.bert, the BERT encoder layer of chapter 10 (a post-norm helpers.transformer_block).

Layer 0 is compared step by step with the reference fixture (transformers on
PyTorch, tests/reference/minilm_layer0.npz), and the whole six-layer encoder
with every layer's attention weights and the last hidden state. The layer is
also checked piece by piece against the course's helpers and on invariants. The MiniLM package must be installed for the model tests.
"""

import math
from pathlib import Path

import numpy as np
import pytest

from helpers import bert, linear, multi_head_attention
from helpers import checkpoints as ckpt
from helpers.norms import layer_norm

REFERENCE = Path(__file__).resolve().parent / "reference"


def _toy_layer(rng, d_model=12, d_ff=20):
    """Random weights with the keys of a load_minilm layer (D = 12, H = 3, F = 20: all sizes differ)."""
    w = lambda *shape: rng.normal(scale=0.3, size=shape)  # noqa: E731
    return {"w_q": w(d_model, d_model), "b_q": w(d_model), "w_k": w(d_model, d_model), "b_k": w(d_model),
            "w_v": w(d_model, d_model), "b_v": w(d_model), "w_o": w(d_model, d_model), "b_o": w(d_model),
            "attn_ln_gamma": 1 + w(d_model), "attn_ln_beta": w(d_model),
            "w_ff_in": w(d_model, d_ff), "b_ff_in": w(d_ff), "w_ff_out": w(d_ff, d_model), "b_ff_out": w(d_model),
            "ffn_ln_gamma": 1 + w(d_model), "ffn_ln_beta": w(d_model)}


# ---------------------------------------------------------------- gelu


def test_gelu_is_the_exact_erf_gelu():
    x = np.array([-3.0, -1.0, 0.0, 0.5, 1.0, 2.0])
    expected = [v * (1 + math.erf(v / math.sqrt(2))) / 2 for v in x]
    np.testing.assert_allclose(bert.gelu(x), expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(bert.gelu(np.array([1.0])), [0.8413447460685429], atol=1e-12)
    # the tanh approximation differs by about 1e-4 here; BERT's "gelu" is the exact one
    tanh_form = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    assert np.abs(bert.gelu(x) - tanh_form).max() > 1e-5


def test_gelu_keeps_shape_and_dtype(rng):
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    y = bert.gelu(x)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.all(y >= -0.17) and np.all(np.abs(y - x) <= np.abs(x) + 1e-6)


def test_block_params_renames_only_the_norms(rng):
    layer = _toy_layer(rng)
    p = bert.block_params(layer)
    assert set(p) == (set(layer) - {"attn_ln_gamma", "attn_ln_beta", "ffn_ln_gamma", "ffn_ln_beta"}) | {
        "attn_norm", "attn_norm_bias", "ffn_norm", "ffn_norm_bias"}
    assert p["attn_norm_bias"] is layer["attn_ln_beta"] and p["w_q"] is layer["w_q"]  # no copies
    assert "attn_ln_gamma" in layer  # the loader's dict is left alone


def test_bert_layer_is_the_post_norm_block(rng):
    from helpers import transformer_block
    layer = _toy_layer(rng)
    x = rng.normal(size=(2, 5, 12))
    y, w = bert.bert_layer(x, layer, num_heads=3, eps=1e-7)
    y_block, w_block = transformer_block(x, bert.block_params(layer), norm_position="post", norm="layer",
                                         ffn="gelu", num_heads=3, eps=1e-7)
    np.testing.assert_array_equal(y, y_block)
    np.testing.assert_array_equal(w, w_block)


# ---------------------------------------------------------------- the attention mask


def test_attention_mask_to_mask_is_the_padding_mask():
    am = np.array([[1, 1, 1, 0], [1, 1, 1, 1], [1, 0, 0, 0]])
    mask = bert.attention_mask_to_mask(am)
    assert mask.shape == (3, 1, 1, 4) and mask.dtype == bool
    np.testing.assert_array_equal(mask[:, 0, 0], am.astype(bool))


@pytest.mark.parametrize("am, match", [
    (np.array([[0, 1, 1]]), "1s followed by 0s"),
    (np.array([[1, 2, 0]]), "1s followed by 0s"),
    (np.array([1, 1, 0]), r"shape \(B, S\), but has shape \(3,\)"),
])
def test_attention_mask_to_mask_rejects_bad_masks(am, match):
    with pytest.raises(ValueError, match=match):
        bert.attention_mask_to_mask(am)


# ---------------------------------------------------------------- a layer on toy weights


def test_bert_layer_is_attention_then_feed_forward_by_hand(rng):
    layer = _toy_layer(rng)
    x = rng.normal(size=(2, 5, 12))  # B = 2, T = 5, D = 12, H = 3
    mask = bert.attention_mask_to_mask(np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]))
    y, weights = bert.bert_layer(x, layer, num_heads=3, mask=mask)
    out, w_ref = multi_head_attention(x, layer["w_q"], layer["w_k"], layer["w_v"], layer["w_o"], num_heads=3,
                                      b_q=layer["b_q"], b_k=layer["b_k"], b_v=layer["b_v"], b_o=layer["b_o"],
                                      mask=mask)
    a = layer_norm(x + out, layer["attn_ln_gamma"], layer["attn_ln_beta"])
    hidden = linear(a, layer["w_ff_in"], layer["b_ff_in"])
    hidden = np.vectorize(lambda v: v * (1 + math.erf(v / math.sqrt(2))) / 2)(hidden)
    expected = layer_norm(a + linear(hidden, layer["w_ff_out"], layer["b_ff_out"]),
                          layer["ffn_ln_gamma"], layer["ffn_ln_beta"])
    assert y.shape == x.shape and weights.shape == (2, 3, 5, 5)
    np.testing.assert_allclose(weights, w_ref)
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-10)
    assert np.all(weights[1, :, :, 3:] == 0)  # padded keys


def test_bert_layer_output_is_layer_normalised(rng):
    layer = _toy_layer(rng)
    layer["ffn_ln_gamma"], layer["ffn_ln_beta"] = np.ones(12), np.zeros(12)
    y, _ = bert.bert_layer(rng.normal(size=(4, 12)), layer, num_heads=3)  # one sentence, no batch axis
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 1, atol=1e-6)


def test_bert_encoder_runs_the_layers_in_order(rng):
    layers = {i: _toy_layer(rng) for i in range(3)}
    config = {"num_hidden_layers": 3, "num_attention_heads": 3, "layer_norm_eps": 1e-12}
    x = rng.normal(size=(1, 6, 12))
    hidden, attentions = bert.bert_encoder(config, {"layers": layers}, x)
    assert len(hidden) == 4 and len(attentions) == 3
    np.testing.assert_array_equal(hidden[0], x)
    step = x
    for i in range(3):
        step, w = bert.bert_layer(step, layers[i], num_heads=3)
        np.testing.assert_allclose(hidden[i + 1], step)
        np.testing.assert_allclose(attentions[i], w)
    two, _ = bert.bert_encoder(config, {"layers": layers}, x, num_layers=2)
    assert len(two) == 3


def test_bert_encoder_needs_the_layers_loaded(rng):
    config = {"num_hidden_layers": 3, "num_attention_heads": 3, "layer_norm_eps": 1e-12}
    with pytest.raises(ValueError, match=r"layers \[1, 2\] are not loaded"):
        bert.bert_encoder(config, {"layers": {0: _toy_layer(rng)}}, rng.normal(size=(2, 12)))


# ---------------------------------------------------------------- all-MiniLM-L6-v2 against the fixture


def test_minilm_attention_sublayer_reproduces_transformers(minilm, minilm_ref):
    config, w = minilm
    x = ckpt.bert_embeddings(w, minilm_ref["input_ids"], minilm_ref["token_type_ids"])
    mask = bert.attention_mask_to_mask(minilm_ref["attention_mask"])
    a, probs = bert.bert_attention(x, w["layers"][0], num_heads=config["num_attention_heads"], mask=mask,
                                   eps=config["layer_norm_eps"])
    assert a.dtype == np.float32 and a.shape == minilm_ref["layer0_attention_output"].shape
    np.testing.assert_allclose(probs, minilm_ref["layer0_attn_probs"], rtol=0, atol=1e-5)
    # measured 1e-6 on the reference machine; LayerNorm with eps 1e-12 magnifies the float32 rounding a little
    np.testing.assert_allclose(a, minilm_ref["layer0_attention_output"], rtol=0, atol=2e-5)


def test_minilm_encoder_first_layer_uses_that_attention(minilm, minilm_ref):
    config, w = minilm
    x = ckpt.bert_embeddings(w, minilm_ref["input_ids"])
    mask = bert.attention_mask_to_mask(minilm_ref["attention_mask"])
    hidden, attentions = bert.bert_encoder(config, w, x, mask=mask)
    assert len(hidden) == 7 and all(h.shape == x.shape and h.dtype == np.float32 for h in hidden)
    np.testing.assert_allclose(attentions[0], minilm_ref["layer0_attn_probs"], rtol=0, atol=1e-5)
    for a in attentions:  # every layer: rows sum to 1, padding gets no weight
        np.testing.assert_allclose(a.sum(-1), 1, atol=1e-5)
        assert np.all(a[~np.broadcast_to(mask, a.shape)] == 0)


def test_minilm_whole_encoder_reproduces_transformers(minilm, minilm_ref):
    config, w = minilm
    x = ckpt.bert_embeddings(w, minilm_ref["input_ids"], minilm_ref["token_type_ids"])
    am = minilm_ref["attention_mask"]
    hidden, attentions = bert.bert_encoder(config, w, x, mask=bert.attention_mask_to_mask(am))
    assert len(attentions) == len(minilm_ref["all_attn_probs"]) == 6
    for layer, (ours, ref) in enumerate(zip(attentions, minilm_ref["all_attn_probs"])):
        # about 1e-5 was seen in the deepest layers: float32 rounding grows layer by layer
        np.testing.assert_allclose(ours, ref, rtol=0, atol=5e-5, err_msg=f"layer {layer}")
    real = am.astype(bool)  # padded positions' hidden states are never used, so compare real tokens
    np.testing.assert_allclose(hidden[-1][real], minilm_ref["last_hidden_state"][real], rtol=0, atol=5e-5)


def test_minilm_sentence_vectors_rank_similar_sentences_first(minilm):
    # What the model was trained for: mean-pooled last-layer vectors of sentences
    # with similar meaning are closer than unrelated ones.
    config, w = minilm
    texts = ["The cat sat on the mat.", "A kitten was sitting on the rug.", "Stock markets fell sharply today."]
    enc = ckpt.minilm_encode(texts)
    hidden, _ = bert.bert_encoder(config, w, ckpt.bert_embeddings(w, enc["input_ids"]),
                                  mask=bert.attention_mask_to_mask(enc["attention_mask"]))
    keep = enc["attention_mask"][..., None]
    v = (hidden[-1] * keep).sum(1) / keep.sum(1)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    sim = v @ v.T
    assert sim[0, 1] > 0.5 and sim[0, 2] < 0.2 and sim[1, 2] < 0.2
