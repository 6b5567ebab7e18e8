"""Tests for the chapter 8 exercise checks: right answers pass, each kind of wrong answer gets its own message."""

import numpy as np
import pytest

import helpers
from helpers import checkpoints, exercises
from helpers.exercises.blocks import _block_reference, _block_slips, _rms_slips
from verdicts import run


def test_checks_are_exported():
    for name in ("check_rms_norm", "check_pre_norm_block", "check_block_param_split"):
        assert name in exercises.__all__
        assert callable(getattr(exercises, name))


# ---------------------------------------------------------------- RMSNorm by hand

RNG = np.random.default_rng(8)
X = (RNG.normal(size=(4, 6)) * np.array([[1.0], [3.0], [0.2], [1.0]])).round(3)
X[-1] = 0.0  # a padding vector
GAMMA = RNG.uniform(0.5, 1.5, size=6).round(2)
EPS = 1e-5


def right_rms(x=X, gamma=GAMMA):
    return helpers.rms_norm(x, gamma, EPS)


def test_rms_right(capsys):
    ok, msg = run(capsys, exercises.check_rms_norm, right_rms(), X, GAMMA, EPS)
    assert ok and msg.startswith("Correct:") and "Row 3, all zeros, stays zeros" in msg


def test_rms_float32_and_a_loop_are_right(capsys):
    x32, g32 = X.astype(np.float32), GAMMA.astype(np.float32)
    y32 = x32 / np.sqrt(np.mean(x32 * x32, axis=-1, keepdims=True) + np.float32(EPS)) * g32
    assert y32.dtype == np.float32
    assert run(capsys, exercises.check_rms_norm, y32, X, GAMMA, EPS)[0]
    loop = [[v / (sum(u * u for u in row) / 6 + EPS) ** 0.5 * g for v, g in zip(row, GAMMA)] for row in X.tolist()]
    assert run(capsys, exercises.check_rms_norm, loop, X, GAMMA, EPS)[0]


def test_rms_not_attempted(capsys):
    ok, msg = run(capsys, exercises.check_rms_norm, None, X, GAMMA)
    assert not ok and msg.startswith("Not attempted yet")


@pytest.mark.parametrize("index, fragment", [
    (0, "that is LayerNorm"), (1, "gain gamma is missing"), (2, "over the tokens (axis 0)"),
    (3, "divided by the mean square"), (4, "divided by their length"), (5, "eps was added after the square root"),
    (6, "gain was applied before the division"),
])
def test_rms_slips_each_get_their_diagnosis(capsys, index, fragment):
    candidate = _rms_slips(X, GAMMA, EPS)[index][0]
    ok, msg = run(capsys, exercises.check_rms_norm, candidate, X, GAMMA, EPS)
    assert not ok and fragment in msg, msg


def test_rms_without_eps_gives_nan_on_the_zero_row(capsys):
    with np.errstate(all="ignore"):
        no_eps = X / np.sqrt(np.mean(X * X, axis=-1, keepdims=True)) * GAMMA
    assert np.isnan(no_eps[-1]).all()
    ok, msg = run(capsys, exercises.check_rms_norm, no_eps, X, GAMMA, EPS, hint=True)
    assert not ok and "NaN in row 3, where x is all zeros" in msg and "Hint:" in msg


def test_rms_without_eps_and_no_zero_row(capsys):
    x = X[:3]
    no_eps = x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True)) * GAMMA
    assert run(capsys, exercises.check_rms_norm, right_rms(x), x, GAMMA, EPS)[0]
    ok, msg = run(capsys, exercises.check_rms_norm, no_eps, x, GAMMA, EPS)
    assert not ok and "right except for eps" in msg


@pytest.mark.parametrize("answer, fragment", [
    (np.sqrt(np.mean(X ** 2, axis=-1, keepdims=True)), "one number per token"),
    (np.sqrt(np.mean(X ** 2, axis=-1)), "one number per token"),
    (right_rms().T, "one column per token"),
    (right_rms() + 0.01, "wrong values"),
    (np.full((4, 6), np.inf), "NaN or inf"),
    ("y", "remove the quotes"),
])
def test_rms_other_wrong_answers(capsys, answer, fragment):
    ok, msg = run(capsys, exercises.check_rms_norm, answer, X, GAMMA, EPS)
    assert not ok and fragment in msg, msg


# ---------------------------------------------------------------- a pre-norm block by hand

def block_data(num_kv_heads):
    rng = np.random.default_rng(11)
    t, D, h, f = 5, 8, 2, 12
    d = D // h

    def w(*shape):
        return rng.normal(scale=shape[0] ** -0.5, size=shape)

    params = dict(w_q=w(D, h * d), w_k=w(D, num_kv_heads * d), w_v=w(D, num_kv_heads * d), w_o=w(h * d, D),
                  w_gate=w(D, f), w_up=w(D, f), w_down=w(f, D), attn_norm=rng.uniform(0.5, 1.5, size=D),
                  ffn_norm=rng.uniform(0.5, 1.5, size=D))
    return rng.normal(size=(t, D)), params


def helper_block(x, params, num_kv_heads, causal=True):
    return helpers.transformer_block(x, params, norm_position="pre", norm="rms", ffn="swiglu", num_heads=2,
                                     num_kv_heads=num_kv_heads, causal=causal)[0]


@pytest.mark.parametrize("h_kv", [1, 2])
def test_block_reference_is_the_helpers_block(h_kv):
    x, p = block_data(h_kv)
    ref = _block_reference(x, p, 2, h_kv, 1e-5, True)
    np.testing.assert_allclose(ref.value, helper_block(x, p, h_kv), rtol=1e-12, atol=1e-12)
    assert np.all(ref.err > 0)


@pytest.mark.parametrize("h_kv", [1, 2])
def test_block_right_in_float64_and_float32(capsys, h_kv):
    x, p = block_data(h_kv)
    ok, msg = run(capsys, exercises.check_pre_norm_block, helper_block(x, p, h_kv), x, p, 2, h_kv)
    assert ok and msg.startswith("Correct:")
    p32 = {k: v.astype(np.float32) for k, v in p.items()}
    y32 = helper_block(x.astype(np.float32), p32, h_kv)
    assert y32.dtype == np.float32
    assert run(capsys, exercises.check_pre_norm_block, y32, x, p, 2, h_kv)[0]


def test_block_right_when_not_causal(capsys):
    x, p = block_data(2)
    y = helper_block(x, p, 2, causal=False)
    assert run(capsys, exercises.check_pre_norm_block, y, x, p, 2, 2, causal=False)[0]
    ok, msg = run(capsys, exercises.check_pre_norm_block, helper_block(x, p, 2), x, p, 2, 2, causal=False)
    assert not ok and "this block's is not" in msg


@pytest.mark.parametrize("index, fragment", [
    (0, "post-norm (BERT)"), (1, "parallel block of GPT-J and PaLM"), (2, "residual additions are missing"),
    (3, "no causal mask"), (4, "two gains are swapped"), (5, "after the attention sublayer only"),
    (6, "MLP read the stream without its norm"), (7, "ends with a norm of the stream"),
])
def test_block_slips_each_get_their_diagnosis(capsys, index, fragment):
    x, p = block_data(1)
    candidate = _block_slips(x, p, 2, 1, 1e-5, True)[index][0]
    ok, msg = run(capsys, exercises.check_pre_norm_block, candidate, x, p, 2, 1)
    assert not ok and fragment in msg, msg


@pytest.mark.parametrize("make, fragment", [
    (lambda x, p: np.zeros((5, 12)), "MLP's hidden units"),
    (lambda x, p: np.zeros((2, 5, 5)), "the attention weights"),
    (lambda x, p: np.zeros((8, 5)), "one column per token"),
    (lambda x, p: x + 1.0, "wrong values"),
    (lambda x, p: None, "Not attempted"),
])
def test_block_other_wrong_answers(capsys, make, fragment):
    x, p = block_data(2)
    ok, msg = run(capsys, exercises.check_pre_norm_block, make(x, p), x, p, 2, 2)
    assert not ok and fragment in msg, msg


# ---------------------------------------------------------------- parameter split

LLAMA3_8B = dict(d_model=4096, d_ff=14336, num_heads=32, num_kv_heads=8)  # SwiGLU, no biases
MINILM = dict(d_model=384, d_ff=1536, num_heads=12, ffn="gelu", bias=True)


def test_split_right_for_a_gqa_decoder(capsys):
    ok, msg = run(capsys, exercises.check_block_param_split, 41_943_040, 176_160_768, **LLAMA3_8B)
    assert ok and "80.8%" in msg


def test_split_right_for_minilm_as_loaded(capsys):
    _, weights = checkpoints.load_minilm(layers=[0])
    layer = weights["layers"][0]
    attn = sum(layer[k].size for k in ("w_q", "w_k", "w_v", "w_o", "b_q", "b_k", "b_v", "b_o"))
    mlp = sum(layer[k].size for k in ("w_ff_in", "b_ff_in", "w_ff_out", "b_ff_out"))
    ok, msg = run(capsys, exercises.check_block_param_split, np.int64(attn), float(mlp), **MINILM)
    assert ok and "66.6%" in msg


@pytest.mark.parametrize("answers, kwargs, fragment", [
    ((4 * 4096 ** 2, 176_160_768), LLAMA3_8B, "grouped-query attention"),
    ((176_160_768, 41_943_040), LLAMA3_8B, "swapped"),
    ((41_943_040, 2 * 4096 * 14336), LLAMA3_8B, "wrong number of matrices: 2 of"),
    ((591_360, 3 * 384 * 1536 + 2 * 1536 + 384), MINILM, "wrong number of matrices: 3 of"),
    ((41_943_040, 3 * 4096 * 16384), LLAMA3_8B, "hidden width of 4D"),
    ((41_943_040 + 4096, 176_160_768), LLAMA3_8B, "includes a norm's gain"),
    ((41_943_040, 176_160_768 + 4096), LLAMA3_8B, "includes a norm's gain"),
    ((41_943_040 - 4096 ** 2, 176_160_768), LLAMA3_8B, "leaves out W_o"),
    ((4 * 384 ** 2, 1_181_568), MINILM, "leaves out the biases"),
    ((591_360, 2 * 384 * 1536), MINILM, "leaves out the biases of the MLP"),
    ((41_943_040 + 4096 + 2 * 1024 + 4096, 176_160_768), LLAMA3_8B, "counts biases, but these projections"),
    ((41_943_040, 176_160_768 + 2 * 14336 + 4096), LLAMA3_8B, "counts biases, but these matrices"),
    ((12345, 176_160_768), LLAMA3_8B, "is not right"),
    ((41_943_040, 12345), LLAMA3_8B, "is not right"),
    ((None, 176_160_768), LLAMA3_8B, "attention_count is still None"),
    ((None, None), LLAMA3_8B, "Not attempted"),
    ((2.5, 176_160_768), LLAMA3_8B, "attention_count"),
])
def test_split_wrong(capsys, answers, kwargs, fragment):
    ok, msg = run(capsys, exercises.check_block_param_split, *answers, **kwargs)
    assert not ok and fragment in msg, msg
