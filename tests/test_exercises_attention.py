"""Tests for the chapter 4 exercise checks: right answers pass, each kind of wrong answer gets its own message."""

import numpy as np
import pytest

import helpers
from helpers import exercises
from verdicts import run

# T=3 queries, S=5 keys, d_k=16, d_v=2: no two sizes equal, so a swapped axis changes a shape.
_rng = np.random.default_rng(4)
Q = _rng.normal(size=(3, 16))
K = _rng.normal(size=(5, 16))
V = _rng.normal(size=(5, 2))
OUT, WEIGHTS = helpers.scaled_dot_product_attention(Q, K, V)
RAW = Q @ K.T


def test_checks_are_exported():
    for name in ("check_attention", "check_dot_product_variance", "check_score_memory", "check_softmax_jacobian"):
        assert name in exercises.__all__
        assert callable(getattr(exercises, name))


# ---------------------------------------------------------------- check_attention

def test_attention_correct(capsys):
    weights = helpers.softmax(RAW / np.sqrt(16))
    ok, line = run(capsys, exercises.check_attention, weights, weights @ V, Q, K, V)
    assert ok is True
    assert line.startswith("Correct:") and "(3, 5)" in line and "(3, 2)" in line


def test_attention_accepts_lists(capsys):
    ok, line = run(capsys, exercises.check_attention, WEIGHTS.tolist(), OUT.tolist(), Q, K, V)
    assert ok is True and line.startswith("Correct:")


def test_attention_none_is_not_attempted(capsys):
    ok, line = run(capsys, exercises.check_attention, None, None, Q, K, V)
    assert ok is False and line.startswith("Not attempted yet")


def test_attention_out_missing(capsys):
    ok, line = run(capsys, exercises.check_attention, WEIGHTS, None, Q, K, V)
    assert ok is False
    assert "weights is right" in line and "out" in line


def test_attention_weights_missing(capsys):
    ok, line = run(capsys, exercises.check_attention, None, OUT, Q, K, V)
    assert ok is False
    assert "weights is still None" in line


@pytest.mark.parametrize("weights, expected_text", [
    (helpers.softmax(RAW), "without the scale"),
    (helpers.softmax(RAW / 16), "divides the scores by d_k = 16, not by sqrt(d_k) = 4"),
    (helpers.softmax(RAW * 4), "multiplies the scores by sqrt(d_k)"),
    (helpers.softmax(RAW / 4, axis=0), "wrong axis"),
    (RAW / 4, "not weights yet"),
    (np.exp(RAW / 4), "without dividing by the row sums"),
    (helpers.softmax(RAW) / 4, "after the softmax"),
    (WEIGHTS * 0.5, "sum to [0.5, 0.5, 0.5], not 1"),
    (WEIGHTS[:, ::-1], "sum to 1 but hold the wrong values"),
    (WEIGHTS.T, "(5, 3) but expected (T, S) = (3, 5): that is (S, T)"),
    (helpers.softmax(Q @ Q.T), "(3, 3) but expected (T, S) = (3, 5): that compares a sequence with itself"),
    (OUT, "(3, 2) but expected (T, S) = (3, 5): that is the shape of the output"),
    (np.full((3, 5), np.nan), "NaN"),
    ("weights", "array of numbers"),
])
def test_attention_wrong_weights(capsys, weights, expected_text):
    ok, line = run(capsys, exercises.check_attention, weights, OUT, Q, K, V)
    assert ok is False
    assert expected_text in line
    assert not line.startswith("Correct")


@pytest.mark.parametrize("out, expected_text", [
    (OUT.T, "(2, 3) but expected (T, d_v) = (3, 2): one column per query"),
    (WEIGHTS, "(3, 5) but expected (T, d_v) = (3, 2): that is the shape of the weights"),
    (WEIGHTS.sum(axis=-1, keepdims=True) * V[:3], "each output row is the average of the rows of v"),
    (OUT + 1.0, "weights is right but out is not"),
])
def test_attention_wrong_out(capsys, out, expected_text):
    ok, line = run(capsys, exercises.check_attention, WEIGHTS, out, Q, K, V)
    assert ok is False
    assert expected_text in line


# ---------------------------------------------------------------- check_dot_product_variance

def test_variance_correct(capsys):
    ok, line = run(capsys, exercises.check_dot_product_variance, 64, 8.0, 64)
    assert ok is True
    assert line.startswith("Correct:") and "Var(q . k) = d_k = 64" in line


def test_variance_accepts_numpy_numbers(capsys):
    ok, _ = run(capsys, exercises.check_dot_product_variance, np.float64(128), np.sqrt(128), 128)
    assert ok is True


@pytest.mark.parametrize("variance, divisor, expected_text", [
    (None, None, "Not attempted yet"),
    (None, 8.0, "var_dot is still None"),
    (8, 8.0, "is the standard deviation"),
    (1, 8.0, "variances of independent terms add up"),
    (64 * 64, 8.0, "is d_k squared"),
    (0, 8.0, "is the mean"),
    (32, 8.0, "is not right"),
    (64, None, "Now give divide_by"),
    (64, 64, "divides the variance by d_k squared"),
    (64, 1 / 8, "the factor to multiply by"),
    (64, 4, "divide_by = 4 is not right"),
    ("64", 8.0, "single number"),
    (True, 8.0, "a bool"),
    (64, float("nan"), "divide_by is NaN"),
])
def test_variance_wrong(capsys, variance, divisor, expected_text):
    ok, line = run(capsys, exercises.check_dot_product_variance, variance, divisor, 64)
    assert ok is False
    assert expected_text in line


def test_variance_matches_a_measurement():
    """The check's 'right answer' is what an experiment measures: Var(q . k) close to d_k."""
    rng = np.random.default_rng(0)
    d_k = 64
    dots = (rng.normal(size=(20000, d_k)) * rng.normal(size=(20000, d_k))).sum(axis=-1)
    assert abs(dots.var() / d_k - 1) < 0.05
    assert abs((dots / np.sqrt(d_k)).var() - 1) < 0.05


# ---------------------------------------------------------------- check_score_memory

B, H, T = 2, 12, 2048
RIGHT = B * H * T * T * 4


def test_memory_correct(capsys):
    ok, line = run(capsys, exercises.check_score_memory, RIGHT, B, H, T)
    assert ok is True
    assert line.startswith("Correct:") and "402,653,184 bytes" in line and "384 MiB" in line


def test_memory_matches_nbytes(capsys):
    """The expected answer is what numpy really allocates for a float32 (B, H, T, T) array."""
    b, h, t = 2, 3, 5
    nbytes = np.zeros((b, h, t, t), dtype=np.float32).nbytes
    ok, _ = run(capsys, exercises.check_score_memory, nbytes, b, h, t)
    assert ok is True


def test_memory_float64(capsys):
    ok, _ = run(capsys, exercises.check_score_memory, B * H * T * T * 8, B, H, T, bytes_per_number=8)
    assert ok is True
    ok, line = run(capsys, exercises.check_score_memory, 2 * B * H * T * T * 8, B, H, T, bytes_per_number=8)
    assert ok is False and "counts two T x T matrices" in line
    ok, line = run(capsys, exercises.check_score_memory, B * H * T * T * 8, B, H, T, bytes_per_number=2)
    assert ok is False and "uses 8 bytes per number (float64); these numbers take 2 bytes" in line


@pytest.mark.parametrize("answer, expected_text", [
    (None, "Not attempted yet"),
    (B * H * T * T, "counts numbers, not bytes"),
    (B * T * T * 4, "leaves out the heads"),
    (H * T * T * 4, "leaves out the batch"),
    (T * T * 4, "is one T x T matrix"),
    (B * H * T * 4, "uses T instead of T squared"),
    (B * H * T * T * 8, "is twice the answer: either 8 bytes per number"),
    (2 * RIGHT, "or two T x T matrices (scores and weights"),
    (RIGHT / 2**20, "is in MiB"),
    (RIGHT / 10**6, "is in MB"),
    (12345, "is not right"),
    ("402653184", "single number"),
    (float("inf"), "finite number"),
])
def test_memory_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_score_memory, answer, B, H, T)
    assert ok is False
    assert expected_text in line


# ---------------------------------------------------------------- check_softmax_jacobian

P = np.array([0.1, 0.2, 0.3, 0.4])


def test_jacobian_correct(capsys):
    ok, line = run(capsys, exercises.check_softmax_jacobian, np.diag(P) - np.outer(P, P), P)
    assert ok is True
    assert line.startswith("Correct:") and "(4, 4)" in line


def test_jacobian_matches_finite_differences(capsys):
    """The check's expected J is the real derivative of helpers.softmax; a finite-difference estimate is told apart."""
    s = np.log(P)  # softmax(log p) = p
    eps = 1e-6
    numeric = np.stack([(helpers.softmax(s + eps * e) - helpers.softmax(s - eps * e)) / (2 * eps)
                        for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(numeric, np.diag(P) - np.outer(P, P), atol=1e-8)
    ok, line = run(capsys, exercises.check_softmax_jacobian, numeric, P)
    assert ok is False and "finite-difference estimate" in line and "exact derivative" in line


@pytest.mark.parametrize("answer, expected_text", [
    (None, "Not attempted yet"),
    (np.diag(P), "equals diag(p)"),
    (-np.outer(P, P), "equals -p p^T"),
    (np.outer(P, P) - np.diag(P), "wrong sign"),
    (np.diag(P) - P @ P, "p.T does nothing"),
    (np.diag(P) - np.outer(P, P) * (1 - np.eye(4)), "right off the diagonal, but not on it"),
    (np.diag(P) - np.outer(P, P) + 0.1, "rows of J sum to [0.4, 0.4, 0.4, 0.4]"),
    # rows still sum to 0, values wrong
    (np.diag(P) - np.outer(P, P) + 0.05 * (np.eye(4) - np.roll(np.eye(4), 1, axis=1)), "wrong values"),
    (P - P * P, "S x S matrix"),
    (np.zeros((4, 3)), "has shape (4, 3) but expected (S, S) = (4, 4)"),
])
def test_jacobian_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_softmax_jacobian, answer, P)
    assert ok is False
    assert expected_text in line


def test_checks_are_deterministic(capsys):
    first = run(capsys, exercises.check_attention, helpers.softmax(RAW), None, Q, K, V)
    second = run(capsys, exercises.check_attention, helpers.softmax(RAW), None, Q, K, V)
    assert first == second
