"""Tests for the chapter 10 checks: right answers pass, each kind of wrong answer gets its own message."""

import numpy as np
import pytest

from helpers import exercises
from verdicts import run

D_OUT, D_IN = 6, 6  # square, as in a real checkpoint: a forgotten transpose raises no error


# ---------------------------------------------------------------- check_checkpoint_query

@pytest.fixture
def query_data():
    rng = np.random.default_rng(7)
    weight = rng.normal(size=(D_OUT, D_IN)).astype(np.float32)  # (out, in) as stored
    bias = rng.normal(size=D_OUT).astype(np.float32)
    x = rng.normal(size=D_IN).astype(np.float32)
    return x, weight, bias


def test_checkpoint_query_correct(capsys, query_data):
    x, weight, bias = query_data
    ok, line = run(capsys, exercises.check_checkpoint_query, x @ weight.T + bias, x, weight, bias)
    assert ok is True and line.startswith("Correct:") and "(6,)" in line


def test_checkpoint_query_accepts_a_list(capsys, query_data):
    x, weight, bias = query_data
    ok, _ = run(capsys, exercises.check_checkpoint_query, (x @ weight.T + bias).tolist(), x, weight, bias)
    assert ok is True


def test_checkpoint_query_none(capsys, query_data):
    ok, line = run(capsys, exercises.check_checkpoint_query, None, *query_data)
    assert ok is False and line.startswith("Not attempted yet")


def test_checkpoint_query_forgot_transpose(capsys, query_data):
    x, weight, bias = query_data
    ok, line = run(capsys, exercises.check_checkpoint_query, x @ weight + bias, x, weight, bias)
    assert ok is False and "wrong way round" in line and "square" in line


def test_checkpoint_query_reshape_instead_of_transpose(capsys):
    # A non-square weight, so that reshape(in, out) differs from the weight itself.
    rng = np.random.default_rng(3)
    weight, bias, x = rng.normal(size=(4, 6)), rng.normal(size=4), rng.normal(size=6)
    ok, line = run(capsys, exercises.check_checkpoint_query, x @ weight.reshape(6, 4) + bias, x, weight, bias)
    assert ok is False and "reshape keeps the numbers in memory order" in line


@pytest.mark.parametrize("make, expected_text", [
    (lambda x, w, b: x @ w.T, "without the bias"),
    (lambda x, w, b: x @ w, "both the transpose and the bias are missing"),
    (lambda x, w, b: np.stack([x, x]) @ w.T + b, "asks for one token"),
    (lambda x, w, b: (x @ w.T + b)[:4], "has shape (4,) but expected (H*d,) = (6,)"),
    (lambda x, w, b: x @ w.T + b + 1.0, "wrong values (off by up to 1)"),
    (lambda x, w, b: np.full(6, np.nan), "NaN"),
])
def test_checkpoint_query_wrong(capsys, query_data, make, expected_text):
    x, weight, bias = query_data
    ok, line = run(capsys, exercises.check_checkpoint_query, make(x, weight, bias), x, weight, bias)
    assert ok is False and expected_text in line and not line.startswith("Correct")


# ---------------------------------------------------------------- check_split_c_attn

C_ATTN = np.arange(6 * 18.0).reshape(6, 18)  # (D, 3D), D = 6
Q, K, V = C_ATTN[:, :6], C_ATTN[:, 6:12], C_ATTN[:, 12:]


def test_split_c_attn_correct(capsys):
    ok, line = run(capsys, exercises.check_split_c_attn, np.split(C_ATTN, 3, axis=1), C_ATTN)
    assert ok is True and line.startswith("Correct:") and "axis 1" in line


def test_split_c_attn_none(capsys):
    ok, line = run(capsys, exercises.check_split_c_attn, None, C_ATTN)
    assert ok is False and line.startswith("Not attempted yet")


@pytest.mark.parametrize("answer, expected_text", [
    (np.split(C_ATTN, 3, axis=0), "you split along axis 0"),
    ((K, Q, V), "wrong order: you returned the (k, q, v) blocks"),
    ((Q, V, K), "wrong order: you returned the (q, v, k) blocks"),
    ((Q.T, K.T, V.T), "no .T is needed"),
    ((Q, K), "should be three matrices (W_q, W_k, W_v)"),
    (C_ATTN, "the whole of c_attn: cut it into three"),
    ((Q, K, V[:, :3]), "W_v (6, 3)"),
    ((Q, K, V + 1), "not the right numbers"),
    ((Q, K, np.full((6, 6), np.nan)), "NaN"),
])
def test_split_c_attn_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_split_c_attn, answer, C_ATTN)
    assert ok is False and expected_text in line


# ---------------------------------------------------------------- check_attention_param_total

def _fake_shapes(layers=3, d=8, f=20):
    """Checkpoint-style names and (out, in) shapes of a tiny BERT encoder (no model file needed)."""
    shapes = {}
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            shapes[p + name + ".weight"] = ((d, d), "F32")
            shapes[p + name + ".bias"] = ((d,), "F32")
        shapes[p + "attention.output.LayerNorm.weight"] = ((d,), "F32")
        shapes[p + "attention.output.LayerNorm.bias"] = ((d,), "F32")
        shapes[p + "intermediate.dense.weight"] = ((f, d), "F32")
        shapes[p + "intermediate.dense.bias"] = ((f,), "F32")
        shapes[p + "output.dense.weight"] = ((d, f), "F32")
        shapes[p + "output.dense.bias"] = ((d,), "F32")
    return shapes


SHAPES = _fake_shapes()  # 3 layers, D = 8: 4 * (64 + 8) = 288 per layer


def test_attention_param_total_correct(capsys):
    ok, line = run(capsys, exercises.check_attention_param_total, 3 * 288, SHAPES)
    assert ok is True and line.startswith("Correct:") and "864" in line and "3 layers" in line


def test_attention_param_total_accepts_numpy_int(capsys):
    ok, _ = run(capsys, exercises.check_attention_param_total, np.int64(864), SHAPES)
    assert ok is True


@pytest.mark.parametrize("answer, expected_text", [
    (None, "Not attempted yet"),
    (288, "is one layer"),
    (3 * 4 * 64, "weights only"),
    (3 * (288 + 16), "includes attention.output.LayerNorm"),
    (3 * 3 * 72, "query, key and value only"),
    (sum(int(np.prod(s)) for s, _ in SHAPES.values()), "outside the attention projections"),
    (864.5, "not a whole number"),
    ("864", "single number"),
    (True, "a bool"),
    (100, "not right"),
])
def test_attention_param_total_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_attention_param_total, answer, SHAPES)
    assert ok is False and expected_text in line


def test_attention_param_total_on_the_real_shapes(capsys):
    checkpoints = pytest.importorskip("helpers.checkpoints")
    try:
        shapes = checkpoints.minilm_tensor_shapes("encoder.")
    except ModuleNotFoundError:
        pytest.skip("the MiniLM package is not installed")
    ok, line = run(capsys, exercises.check_attention_param_total, 6 * (4 * 384 * 384 + 4 * 384), shapes)
    assert ok is True and "3,548,160" in line


# ---------------------------------------------------------------- check_bert_to_llama_names

RIGHT = {"attention.self.query": "self_attn.q_proj", "attention.self.key": "self_attn.k_proj",
         "attention.self.value": "self_attn.v_proj", "attention.output.dense": "self_attn.o_proj"}


def test_names_correct(capsys):
    ok, line = run(capsys, exercises.check_bert_to_llama_names, RIGHT)
    assert ok is True and line.startswith("Correct:")


def test_names_without_prefix_are_accepted(capsys):
    ok, _ = run(capsys, exercises.check_bert_to_llama_names, {k: v.split(".")[1] for k, v in RIGHT.items()})
    assert ok is True


@pytest.mark.parametrize("answer, expected_text", [
    (None, "Not attempted yet"),
    ([("attention.self.query", "q_proj")], "should be a dict"),
    ({**RIGHT, "attention.output.dense": "mlp.down_proj"}, "attention's output projection W_o"),
    ({**RIGHT, "attention.self.key": "self_attn.v_proj", "attention.self.value": "self_attn.k_proj"},
     "key and value are swapped"),
    ({**RIGHT, "attention.self.query": "self_attn.k_proj", "attention.self.key": "self_attn.q_proj"},
     "query and key are swapped"),
    ({k: v for k, v in RIGHT.items() if k != "attention.self.value"}, "missing keys ['attention.self.value']"),
    ({**RIGHT, "output.dense": "mlp.down_proj"}, "BERT's feed-forward"),
    ({**RIGHT, "encoder.layer.0.attention.self.query.weight": "q_proj"}, "without the layer prefix"),
    ({**RIGHT, "attention.self.value": "self_attn.o_proj"}, "o_proj appears twice"),
    ({**RIGHT, "attention.self.value": "self_attn.o_proj", "attention.output.dense": "self_attn.v_proj"},
     "value and attention.output.dense are swapped"),
    ({**RIGHT, "attention.self.query": "self_attn.v_proj", "attention.self.value": "self_attn.q_proj"},
     "query and value are swapped"),
    ({**RIGHT, "attention.self.query": "self_attn.query"}, "is not a Llama name"),
    ({**RIGHT, "attention.self.query": "model.layers.0.self_attn.q_proj"}, "without the layer prefix"),
    ({**RIGHT, "attention.self.query": "Q_proj"}, "lower case"),
    ({**RIGHT, "attention.self.query": 3}, "as a str"),
    ({v: k for k, v in RIGHT.items()}, "the dict goes the other way"),
    ({**RIGHT, "attention.self.query": "self_attn.k_proj", "attention.self.key": "self_attn.v_proj",
      "attention.self.value": "self_attn.q_proj"}, "are shuffled"),
])
def test_names_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_bert_to_llama_names, answer)
    assert ok is False and expected_text in line
