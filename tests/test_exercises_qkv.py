"""Tests for the chapter-3 exercise checks (queries, keys and values): right answers pass,
each kind of wrong answer gets its own message."""

import numpy as np
import pytest

from helpers import exercises
from verdicts import run

# All sizes differ (T=4, D=5, d_k=3, d_v=2), so a transposed or swapped array changes a shape or its numbers.
X = np.arange(20.0).reshape(4, 5) / 10 - 0.8
W_Q = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, -1.0], [0.5, 0.5, 0.0], [-1.0, 0.0, 1.0], [0.0, 2.0, 0.5]])
W_K = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5], [-0.5, 1.0, 0.0], [1.0, 1.0, -1.0], [0.5, 0.0, 1.0]])
W_V = np.array([[1.0, -1.0], [0.0, 1.0], [2.0, 0.0], [0.5, 0.5], [-1.0, 1.0]])
Q, K, V = X @ W_Q, X @ W_K, X @ W_V


def test_checks_are_exported():
    for name in ("check_qkv_projections", "check_score_matrix", "check_attention_shapes", "check_soft_lookup"):
        assert name in exercises.__all__
        assert callable(getattr(exercises, name))


# ---------------------------------------------------------------- check_qkv_projections

def test_qkv_correct(capsys):
    ok, line = run(capsys, exercises.check_qkv_projections, Q, K, V, X, W_Q, W_K, W_V)
    assert ok is True
    assert line.startswith("Correct:") and "(4, 3)" in line and "(4, 2)" in line


def test_qkv_accepts_lists(capsys):
    ok, _ = run(capsys, exercises.check_qkv_projections, Q.tolist(), K.tolist(), V.tolist(), X, W_Q, W_K, W_V)
    assert ok is True


def test_qkv_none_is_not_attempted(capsys):
    ok, line = run(capsys, exercises.check_qkv_projections, None, None, None, X, W_Q, W_K, W_V)
    assert ok is False and line.startswith("Not attempted yet")


@pytest.mark.parametrize("answers, expected_text", [
    ((Q, None, V), "K is still None"),
    ((Q, None, None), "K and V are still None"),
    ((K, Q, V), "Q equals x @ W_k: the weights are swapped"),
    ((Q, Q, V), "K equals x @ W_q: the weights are swapped"),
    ((Q.T, K, V), "one column per token"),
    ((Q, K, V.T), "V has shape (2, 4), one column per token"),
    ((X, K, V), "Q is x itself"),
    ((Q, K, X @ W_K), "V equals x @ W_k"),
    ((Q, K, Q[:, :2]), "V has the right shape (4, 2) but wrong values"),
    ((Q[:3], K, V), "Q has shape (3, 3) but expected (T, width of W_q) = (4, 3)"),
    ((Q, K, np.full((4, 2), np.nan)), "NaN"),
    (("Q", K, V), "array of numbers"),
])
def test_qkv_wrong(capsys, answers, expected_text):
    ok, line = run(capsys, exercises.check_qkv_projections, *answers, X, W_Q, W_K, W_V)
    assert ok is False
    assert expected_text in line
    assert not line.startswith("Correct")


def test_qkv_x_itself_with_square_weights(capsys):
    w = np.eye(5)[:, ::-1]  # square (D, D) weights: x has the right shape, only the values tell
    ok, line = run(capsys, exercises.check_qkv_projections, X, X @ (2 * w), X @ (3 * w), X, w, 2 * w, 3 * w)
    assert ok is False
    assert "Q is x itself" in line


def test_qkv_transposed_square_weight(capsys):
    w_q = np.arange(25.0).reshape(5, 5) / 10
    w_k, w_v = np.eye(5), np.ones((5, 5))
    ok, line = run(capsys, exercises.check_qkv_projections, X @ w_q.T, X @ w_k, X @ w_v, X, w_q, w_k, w_v)
    assert ok is False
    assert "Q equals x @ W_q.T" in line


def test_qkv_wrong_shape_names_the_other_weight(capsys):
    ok, line = run(capsys, exercises.check_qkv_projections, Q, K, np.zeros((4, 3)), X, W_Q, W_K, W_V)
    assert ok is False
    assert "the shape of x @ W_q: did you use W_q?" in line


# ---------------------------------------------------------------- check_score_matrix

def test_scores_correct_mentions_asymmetry(capsys):
    ok, line = run(capsys, exercises.check_score_matrix, Q @ K.T, Q, K)
    assert ok is True
    assert line.startswith("Correct:") and "(4, 4)" in line and "not symmetric" in line


def test_scores_correct_tied_is_symmetric_without_remark(capsys):
    ok, line = run(capsys, exercises.check_score_matrix, Q @ Q.T, Q, Q)
    assert ok is True
    assert "not symmetric" not in line


def test_scores_cross_attention_shape(capsys):
    k_long = np.vstack([K, K[:2] * 2])  # S = 6 keys, T = 4 queries
    ok, line = run(capsys, exercises.check_score_matrix, Q @ k_long.T, Q, k_long)
    assert ok is True and "(4, 6)" in line
    ok, line = run(capsys, exercises.check_score_matrix, k_long @ Q.T, Q, k_long)
    assert ok is False and "(S, T)" in line


@pytest.mark.parametrize("answer, expected_text", [
    (None, "Not attempted yet"),
    (K @ Q.T, "K @ Q.T, the transpose"),
    (Q.T @ K, "Q.T @ K"),
    (Q @ K.T / np.sqrt(3), "without the 1/sqrt(3) scale"),
    (np.exp(Q @ K.T) / np.exp(Q @ K.T).sum(axis=1, keepdims=True), "you applied softmax"),
    (Q @ Q.T, "Q @ Q.T"),
    (Q @ K.T + np.eye(4), "scores[0, 0] is off by 1"),
    (Q @ K.T[:, :3], "has shape (4, 3) but expected (T, S) = (4, 4)"),
])
def test_scores_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_score_matrix, answer, Q, K)
    assert ok is False
    assert expected_text in line


# ---------------------------------------------------------------- check_attention_shapes

SIZES = dict(T=3, S=7, D=10, d_k=4, d_v=2)
RIGHT = {"Q": (3, 4), "K": (7, 4), "V": (7, 2), "scores": (3, 7), "weights": (3, 7), "output": (3, 2)}


def test_shapes_correct(capsys):
    ok, line = run(capsys, exercises.check_attention_shapes, dict(RIGHT), **SIZES)
    assert ok is True
    assert line.startswith("Correct:") and "output (3, 2)" in line


def test_shapes_accepts_lists_and_numpy_ints(capsys):
    answer = {name: [np.int64(n) for n in shape] for name, shape in RIGHT.items()}
    ok, _ = run(capsys, exercises.check_attention_shapes, answer, **SIZES)
    assert ok is True


@pytest.mark.parametrize("change, expected_text", [
    ({"output": (3, 4)}, "output = (3, 4) reads as (T, d_k), but it should be (T, d_v) = (3, 2)"),
    ({"output": (7, 2)}, "reads as (S, d_v)"),
    ({"scores": (7, 3)}, "scores = (7, 3) reads as (S, T), but it should be (T, S) = (3, 7)"),
    ({"K": (3, 4)}, "K = (3, 4) reads as (T, d_k), but it should be (S, d_k)"),
    ({"V": (7, 4)}, "V = (7, 4) reads as (S, d_k)"),
    ({"Q": (3, 10)}, "reads as (T, D)"),
    ({"weights": (3,)}, "weights = (3,) reads as (T)"),
    ({"Q": "(3, 4)"}, "tuple of whole numbers"),
    ({"Q": (3.5, 4.0)}, "tuple of whole numbers"),
    ({"Q": (3, 10 ** 400)}, "tuple of whole numbers"),
    ({"output": None}, "output is missing"),
])
def test_shapes_wrong(capsys, change, expected_text):
    answer = {**RIGHT, **change}
    ok, line = run(capsys, exercises.check_attention_shapes, answer, **SIZES)
    assert ok is False
    assert expected_text in line


def test_shapes_missing_keys(capsys):
    ok, line = run(capsys, exercises.check_attention_shapes, {"Q": (3, 4)}, **SIZES)
    assert ok is False and "K, V, scores, weights, output are missing" in line


@pytest.mark.parametrize("answer", [None, {}, {name: None for name in RIGHT}])
def test_shapes_not_attempted(capsys, answer):
    ok, line = run(capsys, exercises.check_attention_shapes, answer, **SIZES)
    assert ok is False and line.startswith("Not attempted yet")


def test_shapes_not_a_dict(capsys):
    ok, line = run(capsys, exercises.check_attention_shapes, [(3, 4)], **SIZES)
    assert ok is False and "should be a dict" in line


# ---------------------------------------------------------------- check_soft_lookup

LOOK_K = np.array([[2.0, 0.5], [1.5, -1.0], [-1.0, 2.0], [-1.5, 1.0]])  # S=4 keys, d_k=2
LOOK_V = np.array([[4.0, 0.0, 1.0], [2.0, 0.0, 0.5], [0.0, 4.0, 3.0], [0.0, 2.0, 0.0]])  # d_v=3
LOOK_Q = np.array([1.0, 0.5])


def _softmax(s):
    e = np.exp(s - s.max())
    return e / e.sum()


def test_soft_lookup_correct(capsys):
    answer = _softmax(LOOK_K @ LOOK_Q) @ LOOK_V
    ok, line = run(capsys, exercises.check_soft_lookup, answer, LOOK_Q, LOOK_K, LOOK_V)
    assert ok is True
    assert line.startswith("Correct:") and "key 0" in line


def test_soft_lookup_accepts_a_row(capsys):
    answer = (_softmax(LOOK_K @ LOOK_Q) @ LOOK_V)[None, :]
    ok, _ = run(capsys, exercises.check_soft_lookup, answer, LOOK_Q, LOOK_K, LOOK_V)
    assert ok is True


@pytest.mark.parametrize("answer, expected_text", [
    (None, "Not attempted yet"),
    (_softmax(LOOK_K @ LOOK_Q), "out holds the 4 weights"),
    (np.ones(4), "one number per key"),
    ((LOOK_K @ LOOK_Q) @ LOOK_V, "the raw scores are not weights"),
    (np.exp(LOOK_K @ LOOK_Q) @ LOOK_V, "do not sum to 1"),
    (LOOK_V[0], "hard lookup"),
    (_softmax(LOOK_K @ LOOK_Q / np.sqrt(2)) @ LOOK_V, "without a scale"),
    (LOOK_V.mean(axis=0), "the query was ignored"),
    (LOOK_V[:2].mean(axis=0), "right shape (3,) but wrong values"),
    (np.zeros((3, 3)), "has shape (3, 3) but expected (d_v,) = (3,)"),
])
def test_soft_lookup_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_soft_lookup, answer, LOOK_Q, LOOK_K, LOOK_V)
    assert ok is False
    assert expected_text in line


def test_soft_lookup_accepts_the_printed_numbers(capsys):
    """An answer copied from a printout (4 decimals, numpy drops trailing zeros) is right to those digits."""
    right = _softmax(LOOK_K @ LOOK_Q) @ LOOK_V
    for digits in (4, 3):
        ok, line = run(capsys, exercises.check_soft_lookup, right.round(digits), LOOK_Q, LOOK_K, LOOK_V)
        assert ok is True and line.startswith("Correct:")
    off_by_one = right.round(4) + np.array([0.0, 0.0001, 0.0])  # the last digit is wrong
    ok, line = run(capsys, exercises.check_soft_lookup, off_by_one, LOOK_Q, LOOK_K, LOOK_V)
    assert ok is False and "wrong values" in line
    ok, line = run(capsys, exercises.check_soft_lookup, right.round(0), LOOK_Q, LOOK_K, LOOK_V)
    assert ok is False and "rounded to 0 decimals" in line


def test_scores_and_projections_accept_printed_numbers(capsys):
    ok, _ = run(capsys, exercises.check_score_matrix, (Q @ K.T).round(4), Q, K)
    assert ok is True
    ok, line = run(capsys, exercises.check_qkv_projections, Q.round(1), K, V, X, W_Q, W_K, W_V)
    assert ok is False and "Q matches the right answer rounded to 1 decimal," in line


def test_checks_are_deterministic(capsys):
    first = run(capsys, exercises.check_score_matrix, K @ Q.T, Q, K)
    second = run(capsys, exercises.check_score_matrix, K @ Q.T, Q, K)
    assert first == second
