"""Tests for the chapter 5 exercise checks: right answers pass, each kind of wrong answer gets its own message."""

import numpy as np
import pytest

import helpers
from helpers import exercises
from verdicts import run

T4 = 4
CAUSAL = np.tril(np.ones((T4, T4), dtype=bool))

# B=3 sentences padded to S=4 (B != S, so a swapped axis changes a shape).
LENGTHS = np.array([4, 1, 3])
S_PAD = 4
REAL = np.arange(S_PAD) < LENGTHS[:, None]  # (B, S)
PAD_MASK = REAL[:, None, None, :]  # (B, 1, 1, S)

# T=4 queries, S=5 keys: the queries are the last 4 positions, the last key is padding.
_rng = np.random.default_rng(5)
SCORES = _rng.normal(size=(4, 5)).round(2)
MASK3 = helpers.causal_mask(4, 5) & helpers.padding_mask([4], 5)[0, 0]
WEIGHTS3 = helpers.softmax(np.where(MASK3, SCORES, -np.inf))

# Cross-attention: T=2 target tokens, S=5 source tokens (3 real), D=6, d_k=4, d_v=3.
X4 = _rng.normal(size=(2, 6))
C4 = _rng.normal(size=(5, 6))
W_Q4, W_K4, W_V4 = _rng.normal(size=(6, 4)), _rng.normal(size=(6, 4)), _rng.normal(size=(6, 3))
Q4, K4, V4 = X4 @ W_Q4, C4 @ W_K4, C4 @ W_V4
SRC_MASK = helpers.padding_mask([3], 5)[0, 0]  # (1, S)
OUT4, WEIGHTS4 = helpers.scaled_dot_product_attention(Q4, K4, V4, mask=SRC_MASK)


def test_checks_are_exported():
    for name in ("check_causal_mask", "check_padding_mask", "check_masked_softmax", "check_cross_attention"):
        assert name in exercises.__all__
        assert callable(getattr(exercises, name))


# ---------------------------------------------------------------- check_causal_mask

def test_causal_correct(capsys):
    ok, line = run(capsys, exercises.check_causal_mask, CAUSAL, T=4)
    assert ok is True
    assert line.startswith("Correct:") and "(4, 4)" in line


def test_causal_accepts_the_helper_and_lists(capsys):
    assert run(capsys, exercises.check_causal_mask, helpers.causal_mask(4), T=4)[0] is True
    assert run(capsys, exercises.check_causal_mask, CAUSAL.tolist(), T=4)[0] is True


def test_causal_none_is_not_attempted(capsys):
    ok, line = run(capsys, exercises.check_causal_mask, None, T=4)
    assert ok is False and line.startswith("Not attempted yet")


@pytest.mark.parametrize("mask, expected_text", [
    (~CAUSAL, "inverted"),
    (np.triu(np.ones((4, 4), dtype=bool), k=1), "inverted"),
    (CAUSAL.T, "upper triangle"),
    (np.tril(np.ones((4, 4), dtype=bool), k=-1), "diagonal of mask is False"),
    (np.tril(np.ones((4, 4), dtype=bool), k=1), "one diagonal too far"),
    (np.ones((4, 4), dtype=bool), "like no mask at all"),
    (np.tril(np.ones((4, 4))), "dtype float64"),
    (np.tril(np.ones((4, 4), dtype=int)), "dtype int"),
    (np.tril(np.ones((5, 5), dtype=bool)), "shape (5, 5) but expected (T, T) = (4, 4)"),
    (np.ones(4, dtype=bool), "a single row"),
    (np.tril(np.full((4, 4), 2.0)), "other than 0 and 1"),
    ("causal", "remove the quotes"),
])
def test_causal_wrong(capsys, mask, expected_text):
    ok, line = run(capsys, exercises.check_causal_mask, mask, T=4)
    assert ok is False
    assert expected_text in line
    assert not line.startswith("Correct")


def test_causal_other_mistake_names_an_entry(capsys):
    mask = CAUSAL.copy()
    mask[3, 0] = False
    ok, line = run(capsys, exercises.check_causal_mask, mask, T=4)
    assert ok is False and "mask[3, 0] is False but should be True" in line


# ---------------------------------------------------------------- check_padding_mask

def test_padding_correct(capsys):
    ok, line = run(capsys, exercises.check_padding_mask, PAD_MASK, LENGTHS, S_PAD)
    assert ok is True
    assert line.startswith("Correct:") and "(3, 1, 1, 4)" in line


def test_padding_accepts_the_helper(capsys):
    ok, _ = run(capsys, exercises.check_padding_mask, helpers.padding_mask(LENGTHS, S_PAD), LENGTHS, S_PAD)
    assert ok is True


def test_padding_none_is_not_attempted(capsys):
    ok, line = run(capsys, exercises.check_padding_mask, None, LENGTHS, S_PAD)
    assert ok is False and line.startswith("Not attempted yet")


@pytest.mark.parametrize("mask, expected_text", [
    (REAL, "right values but shape (B, S)"),
    (REAL[:, None, :], "shape (B, 1, S)"),
    (REAL[None, None], "puts the batch on the query axis"),
    (REAL.T, "the key axis S must come last"),
    (np.ones((3, 1, 1, 5), dtype=bool), "shape (3, 1, 1, 5) but expected (B, 1, 1, S) = (3, 1, 1, 4)"),
    (~PAD_MASK, "inverted"),
    ((np.arange(S_PAD) <= LENGTHS[:, None])[:, None, None, :], "one position too many"),
    ((np.arange(S_PAD) < LENGTHS[:, None] - 1)[:, None, None, :], "hides the last real token"),
    ((np.arange(S_PAD) >= (S_PAD - LENGTHS)[:, None])[:, None, None, :], "left padding"),
    (PAD_MASK.astype(int), "dtype int"),
    (PAD_MASK.astype(float), "dtype float64"),
    (np.where(PAD_MASK, 1.0, np.nan), "NaN"),
])
def test_padding_wrong(capsys, mask, expected_text):
    ok, line = run(capsys, exercises.check_padding_mask, mask, LENGTHS, S_PAD)
    assert ok is False
    assert expected_text in line
    assert not line.startswith("Correct")


def test_padding_other_mistake_names_the_sentence(capsys):
    mask = PAD_MASK.copy()
    mask[2, 0, 0, 0] = False
    ok, line = run(capsys, exercises.check_padding_mask, mask, LENGTHS, S_PAD)
    assert ok is False
    assert "sentence 2 has 3 real tokens" in line and "[1, 1, 1, 0]" in line


# ---------------------------------------------------------------- check_masked_softmax

def test_masked_softmax_correct(capsys):
    ok, line = run(capsys, exercises.check_masked_softmax, WEIGHTS3, SCORES, MASK3)
    assert ok is True
    assert line.startswith("Correct:") and f"{(~MASK3).sum()} forbidden entries are exactly 0" in line


@pytest.mark.parametrize("weights", [
    helpers.softmax(np.where(MASK3, SCORES, -1e9)),                      # a large negative fill
    (lambda z: z / z.sum(axis=-1, keepdims=True))(np.where(MASK3, helpers.softmax(SCORES), 0.0)),  # zero + renormalise
    helpers.scaled_dot_product_attention(SCORES, np.eye(5), np.eye(5), mask=MASK3, scale=1.0)[1],
])
def test_masked_softmax_equivalent_recipes_are_correct(capsys, weights):
    ok, line = run(capsys, exercises.check_masked_softmax, weights, SCORES, MASK3)
    assert ok is True and line.startswith("Correct:")


def test_masked_softmax_none_is_not_attempted(capsys):
    ok, line = run(capsys, exercises.check_masked_softmax, None, SCORES, MASK3)
    assert ok is False and line.startswith("Not attempted yet")


@pytest.mark.parametrize("weights, expected_text", [
    (helpers.softmax(np.where(MASK3, SCORES, 0.0)), "e^0 = 1"),
    (helpers.softmax(SCORES * MASK3), "e^0 = 1"),
    (helpers.softmax(SCORES), "without the mask"),
    (np.where(MASK3, helpers.softmax(SCORES), 0.0), "each row must be renormalised"),
    (helpers.softmax(np.where(MASK3, -np.inf, SCORES)), "the mask is inverted"),
    (helpers.softmax(np.where(MASK3, SCORES, -np.inf), axis=0), "wrong axis"),
    (helpers.softmax(np.where(MASK3, SCORES, -30.0)), "tiny but not exactly 0"),
    (np.where(MASK3, np.nan, 0.0), "contains NaN"),
    (WEIGHTS3.T, "that is (S, T), transposed"),
    (WEIGHTS3 * 0.5, "sum to [0.5, 0.5, 0.5, 0.5], not 1"),
    (WEIGHTS3[::-1], "forbidden entries weight"),
    (np.where(MASK3, MASK3 / MASK3.sum(axis=-1, keepdims=True), 0.0), "the values are wrong"),
    ("weights", "array of numbers"),
])
def test_masked_softmax_wrong(capsys, weights, expected_text):
    ok, line = run(capsys, exercises.check_masked_softmax, weights, SCORES, MASK3)
    assert ok is False
    assert expected_text in line
    assert not line.startswith("Correct")


# ---------------------------------------------------------------- check_cross_attention

def args4(weights, out):
    return (weights, out, X4, C4, W_Q4, W_K4, W_V4)


def test_cross_correct(capsys):
    ok, line = run(capsys, exercises.check_cross_attention, *args4(WEIGHTS4, OUT4), length=3)
    assert ok is True
    assert line.startswith("Correct:") and "(2, 5)" in line and "(2, 3)" in line


def test_cross_accepts_multi_head_attention(capsys):
    """One head of helpers.multi_head_attention with context= gives the same weights."""
    _, w = helpers.multi_head_attention(X4, W_Q4, W_K4, np.hstack([W_V4, np.zeros((6, 1))]), np.eye(4, 6),
                                        num_heads=1, context=C4, mask=SRC_MASK)
    ok, line = run(capsys, exercises.check_cross_attention, *args4(w[0], OUT4), length=3)
    assert ok is True and line.startswith("Correct:")


def test_cross_none_is_not_attempted(capsys):
    ok, line = run(capsys, exercises.check_cross_attention, *args4(None, None), length=3)
    assert ok is False and line.startswith("Not attempted yet")


@pytest.mark.parametrize("weights, expected_text", [
    (helpers.scaled_dot_product_attention(Q4, X4 @ W_K4, X4 @ W_V4)[1], "the keys came from x"),
    (helpers.scaled_dot_product_attention(C4 @ W_Q4, K4, V4, mask=SRC_MASK)[1], "attention of the context with itself"),
    (WEIGHTS4.T, "one row per key"),
    # the roles swapped, as in the tutorials of datawhalechina/happy-llm #5 and learn-nlp-with-transformers #12
    (helpers.scaled_dot_product_attention(C4 @ W_Q4, X4 @ W_K4, X4 @ W_V4)[1],
     "the source asks and the target answers"),
    (helpers.scaled_dot_product_attention(Q4, K4, V4)[1], "no padding mask"),
    # np.tril on (T, S) forbids real source keys; causal_mask(2, 5) would hide only the padding here
    (helpers.scaled_dot_product_attention(Q4, K4, V4, mask=SRC_MASK & np.tril(np.ones((2, 5), bool)))[1], "causal mask"),
    (helpers.softmax(np.where(SRC_MASK, Q4 @ K4.T, -np.inf)), "no scale"),
    (helpers.scaled_dot_product_attention(Q4, K4, V4, mask=~SRC_MASK)[1], "inverted"),
    (WEIGHTS4 * 2, "sum to [2.0, 2.0], not 1"),
    (WEIGHTS4[::-1], "right shape (T, S) but the wrong values"),
    (None, "weights is still None"),
])
def test_cross_wrong_weights(capsys, weights, expected_text):
    ok, line = run(capsys, exercises.check_cross_attention, *args4(weights, OUT4), length=3)
    assert ok is False
    assert expected_text in line


@pytest.mark.parametrize("out, expected_text", [
    (None, "weights is right. Now compute out"),
    (OUT4.T, "one column per query"),
    (WEIGHTS4 @ K4, "width d_k of the keys"),
    (WEIGHTS4 @ C4, "width D of x"),
    (OUT4 + 1.0, "weights is right but out is not"),
    (np.full((2, 3), np.inf), "NaN or inf"),
])
def test_cross_wrong_out(capsys, out, expected_text):
    ok, line = run(capsys, exercises.check_cross_attention, *args4(WEIGHTS4, out), length=3)
    assert ok is False
    assert expected_text in line


# ---------------------------------------------------------------- the notebook's solutions

def test_notebook_solutions_pass():
    """The solutions shown in chapter 5 pass their checks."""
    mask1 = np.tril(np.ones((4, 4), dtype=bool))
    assert exercises.check_causal_mask(mask1, T=4)
    is_real = np.arange(S_PAD) < LENGTHS[:, None]
    assert exercises.check_padding_mask(is_real[:, None, None, :], LENGTHS, S_PAD)
    weights3 = helpers.softmax(np.where(MASK3, SCORES, -np.inf), axis=-1)
    assert exercises.check_masked_softmax(weights3, SCORES, MASK3)
    mask4 = helpers.padding_mask([3], 5)[0, 0]
    out4, weights4 = helpers.scaled_dot_product_attention(
        helpers.linear(X4, W_Q4), helpers.linear(C4, W_K4), helpers.linear(C4, W_V4), mask=mask4)
    assert exercises.check_cross_attention(weights4, out4, X4, C4, W_Q4, W_K4, W_V4, length=3)
