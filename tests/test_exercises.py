"""Tests for the exercise check functions: right answers pass, each kind of wrong answer gets its own message."""

import numpy as np
import pytest

from helpers import exercises
from verdicts import run

X = np.arange(15.0).reshape(5, 3) / 10  # T=5 tokens, d_in=3
W = np.array([[1.0, 0.0], [0.5, 1.0], [1.0, -1.0]])  # d_in=3, d_out=2 (d_in != d_out)
B = np.array([0.5, -0.25])


# ---------------------------------------------------------------- check_linear_output

def test_linear_output_correct(capsys):
    ok, line = run(capsys, exercises.check_linear_output, X @ W + B, X, W, B)
    assert ok is True
    assert line.startswith("Correct:") and "(5, 2)" in line


def test_linear_output_accepts_list(capsys):
    ok, line = run(capsys, exercises.check_linear_output, (X @ W + B).tolist(), X, W, B)
    assert ok is True and line.startswith("Correct:")


def test_linear_output_none_is_not_attempted(capsys):
    ok, line = run(capsys, exercises.check_linear_output, None, X, W, B)
    assert ok is False
    assert line.startswith("Not attempted yet")


@pytest.mark.parametrize("answer, expected_text", [
    ((X @ W + B).T, "has shape (2, 5) but expected (5, 2): you have one column per token"),
    (X, "has shape (5, 3) but expected (5, 2): that is the shape of x"),
    (X[0] @ W + B, "has shape (2,) but expected (5, 2): you have a single vector"),
    (X @ W, "without the bias"),
    (X @ W - B, "not subtracted"),
    (X @ W + 2 * B, "bias added twice"),
    (X @ W + B + np.array([[0.0, 0.0]] * 4 + [[1.0, 0.0]]), "row 4 is off by up to 1"),
    (np.full((5, 2), np.nan), "NaN"),
    ("hello", "array of numbers"),
])
def test_linear_output_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_linear_output, answer, X, W, B)
    assert ok is False
    assert expected_text in line
    assert not line.startswith("Correct")


def test_linear_output_catches_needless_transpose(capsys):
    w_square = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = X[:, :2]
    ok, line = run(capsys, exercises.check_linear_output, x @ w_square.T, x, w_square)
    assert ok is False
    assert "x @ W.T" in line


def test_linear_output_without_bias(capsys):
    ok, line = run(capsys, exercises.check_linear_output, X @ W, X, W)
    assert ok is True and line.startswith("Correct:")


# ---------------------------------------------------------------- check_row_layout_weight

WEIGHT = np.arange(12.0).reshape(4, 3)  # nn.Linear(3, 4).weight: (d_out, d_in)


def test_row_layout_correct(capsys):
    ok, line = run(capsys, exercises.check_row_layout_weight, WEIGHT.T, WEIGHT)
    assert ok is True
    assert line.startswith("Correct:") and "(3, 4)" in line


def test_row_layout_none(capsys):
    ok, line = run(capsys, exercises.check_row_layout_weight, None, WEIGHT)
    assert ok is False and line.startswith("Not attempted yet")


@pytest.mark.parametrize("answer, expected_text", [
    (WEIGHT, "the PyTorch layout (d_out, d_in)"),
    (WEIGHT.reshape(3, 4), "reshaped instead of transposing"),
    (WEIGHT.T[:, :2], "has shape (3, 2) but expected (d_in, d_out) = (3, 4)"),
    (WEIGHT.T * 2, "different numbers from weight"),
    (None, "Not attempted"),
])
def test_row_layout_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_row_layout_weight, answer, WEIGHT)
    assert ok is False
    assert expected_text in line


def test_row_layout_square_untransposed(capsys):
    square = np.arange(9.0).reshape(3, 3)
    ok, line = run(capsys, exercises.check_row_layout_weight, square, square)
    assert ok is False
    assert "no error would warn you" in line


# ---------------------------------------------------------------- parameter counts

def test_linear_count_correct(capsys):
    ok, line = run(capsys, exercises.check_linear_param_count, 384 * 384 + 384, 384, 384)
    assert ok is True
    assert line.startswith("Correct:") and "147,840" in line


def test_linear_count_no_bias_correct(capsys):
    ok, line = run(capsys, exercises.check_linear_param_count, 6, 3, 2, bias=False)
    assert ok is True and line.startswith("Correct:")


@pytest.mark.parametrize("answer, kwargs, expected_text", [
    (None, {}, "Not attempted yet"),
    (6, {}, "counts the weights only"),
    (9, {}, "adds d_in biases"),
    (8, {"bias": False}, "this layer has none"),
    (5, {}, "adds the sizes"),
    (8.5, {}, "not a whole number"),
    ("8", {}, "single number"),
    (True, {}, "a bool"),
    (100, {}, "not right"),
])
def test_linear_count_wrong(capsys, answer, kwargs, expected_text):
    ok, line = run(capsys, exercises.check_linear_param_count, answer, 3, 2, **kwargs)
    assert ok is False
    assert expected_text in line


def test_linear_count_accepts_numpy_int(capsys):
    ok, _ = run(capsys, exercises.check_linear_param_count, np.int64(8), 3, 2)
    assert ok is True


def test_qkv_count_correct(capsys):
    ok, line = run(capsys, exercises.check_qkv_param_count, 3 * (768 * 768 + 768), 768)
    assert ok is True
    assert line.startswith("Correct:") and "1,771,776" in line


@pytest.mark.parametrize("answer, kwargs, expected_text", [
    (None, {}, "Not attempted yet"),
    (768 * 768 + 768, {}, "is one projection"),
    (3 * 768 * 768, {}, "counts the weights only"),
    (3 * 768 * 768 + 768, {}, "has one bias"),
    (3 * (768 * 768 + 768), {"bias": False}, "these projections have none"),
    (4 * (768 * 768 + 768), {}, "four projections"),
    (3 * 768, {}, "3 x d_model"),
    (12345, {}, "not right"),
])
def test_qkv_count_wrong(capsys, answer, kwargs, expected_text):
    ok, line = run(capsys, exercises.check_qkv_param_count, answer, 768, **kwargs)
    assert ok is False
    assert expected_text in line


# ---------------------------------------------------------------- check_null_vector

W_SINGULAR = np.array([[1.0, 2.0], [3.0, 6.0]])


@pytest.mark.parametrize("answer", [np.array([3.0, -1.0]), [-6, 2], np.array([0.3, -0.1])])
def test_null_vector_correct(capsys, answer):
    ok, line = run(capsys, exercises.check_null_vector, answer, W_SINGULAR)
    assert ok is True
    assert line.startswith("Correct:")
    assert np.allclose(np.asarray(answer, dtype=float) @ W_SINGULAR, 0.0)


@pytest.mark.parametrize("answer, expected_text", [
    (None, "Not attempted yet"),
    (np.zeros(2), "all zeros"),
    (np.array([1.0, 1.0]), "not zero"),
    (np.array([3.0, -1.0, 0.0]), "has shape (3,) but expected (d_in,) = (2,)"),
    (np.array([[3.0, -1.0]]), "has shape (1, 2)"),
])
def test_null_vector_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_null_vector, answer, W_SINGULAR)
    assert ok is False
    assert expected_text in line


@pytest.mark.parametrize("answer", [[1, -0.3333], [1.0, -0.333], [2, -0.6667], np.array([0.9487, -0.3162]),
                                    np.array([1, -0.3333], dtype=np.float32)])
def test_null_vector_rounded_to_the_digits_given_is_right(capsys, answer):
    """The exact null vector [1, -1/3] prints as [1, -0.3333]; typed back in, it must pass."""
    ok, line = run(capsys, exercises.check_null_vector, answer, W_SINGULAR)
    assert ok is True and "rounded to the digits you gave" in line
    assert not np.allclose(np.asarray(answer, dtype=float) @ W_SINGULAR, 0.0, atol=1e-6)  # not exact: rounding passed


@pytest.mark.parametrize("answer", [[1, -0.3], [1, -0.334], [3, -1.001], [0.95, -0.32]])
def test_null_vector_near_miss_is_wrong_and_says_so(capsys, answer):
    ok, line = run(capsys, exercises.check_null_vector, answer, W_SINGULAR)
    assert ok is False
    assert "close to a direction that W sends to zero, but not on it" in line


def test_linear_output_printed_and_too_coarse(capsys):
    right = X @ W + B
    ok, _ = run(capsys, exercises.check_linear_output, right.round(4) + 0.0, X, W, B)
    assert ok is True
    ok, line = run(capsys, exercises.check_linear_output, right.round(0), X, W, B)
    assert ok is False and "rounded to 0 decimals" in line


def test_checks_are_deterministic(capsys):
    first = run(capsys, exercises.check_linear_output, X @ W, X, W, B)
    second = run(capsys, exercises.check_linear_output, X @ W, X, W, B)
    assert first == second
