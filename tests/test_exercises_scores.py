"""Tests for the chapter-2 exercise checks (scores and softmax): right answers pass, each wrong answer gets its own message."""

import numpy as np
import pytest

import helpers
from helpers import exercises
from exercise_cases import global_max_softmax as _global_max, naive_softmax as _naive
from verdicts import run

X = np.arange(12.0).reshape(4, 3) / 10 - 0.5  # T=4 tokens, d=3 (T != d, so x.T @ x has another shape)
SCORES = np.array([[1000.0, 999.0, 1.0, 0.0],
                   [-2.0, 0.0, 3.0, 1.0],
                   [5.0, 5.0, 5.0, 5.0]])  # T=3, S=4; row 0 overflows a naive softmax
QUERY = np.array([1.0, 1.0])
KEYS = np.array([[0.5, 0.5], [2.0, 0.5], [-1.0, 0.2], [0.1, 1.5]])  # k0 nearest and best aligned, k1 largest score
ROW = np.array([2.0, 1.0, 0.5, -1.0])


def test_checks_are_exported_and_not_shadowed():
    # exercises/__init__.py star-imports every topic module: a same-named check in a later module would win silently
    from helpers.exercises import scores
    for name in ("check_self_scores", "check_stable_softmax", "check_top_key", "check_temperature"):
        assert name in exercises.__all__ and name in scores.__all__
        assert getattr(exercises, name) is getattr(scores, name)


# ---------------------------------------------------------------- check_self_scores

def test_self_scores_correct(capsys):
    ok, line = run(capsys, exercises.check_self_scores, X @ X.T, X)
    assert ok is True
    assert line.startswith("Correct:") and "(4, 4)" in line and "symmetric" in line


def test_self_scores_accepts_list(capsys):
    ok, line = run(capsys, exercises.check_self_scores, (X @ X.T).tolist(), X)
    assert ok is True and line.startswith("Correct:")


def test_self_scores_none(capsys):
    ok, line = run(capsys, exercises.check_self_scores, None, X)
    assert ok is False and line.startswith("Not attempted yet")


@pytest.mark.parametrize("answer, expected_text", [
    (X.T @ X, "has shape (3, 3) but expected (4, 4): that is x.T @ x, which compares the D=3 feature columns"),
    (X * X, "element-by-element product"),
    (X + 1, "that is the shape of x"),
    (np.sum(X * X, axis=1), "only the diagonal"),
    (X[0] @ X.T + 1, "a single token's scores at most"),
    (helpers.softmax(X @ X.T), "already softmax weights"),
    (X @ X.T / np.sqrt(3), "x @ x.T / sqrt(D) = x @ x.T / sqrt(3)"),
    (X @ X.T + np.eye(4) * [0, 0, 1, 0], "entry [2, 2]"),
    (np.full((4, 4), np.nan), "NaN"),
    ("scores", "array of numbers"),
])
def test_self_scores_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_self_scores, answer, X)
    assert ok is False
    assert expected_text in line
    assert not line.startswith("Correct")


# ---------------------------------------------------------------- check_stable_softmax

def test_softmax_correct(capsys):
    ok, line = run(capsys, exercises.check_stable_softmax, helpers.softmax(SCORES), SCORES)
    assert ok is True
    assert line.startswith("Correct:") and "0.7311" in line


def test_softmax_none(capsys):
    ok, line = run(capsys, exercises.check_stable_softmax, None, SCORES)
    assert ok is False and line.startswith("Not attempted yet")


def test_naive_and_global_max_really_give_nan():
    # the wrong answers below must really contain NaN, in different rows, or those tests prove nothing
    assert np.isnan(_naive(SCORES)).any() and np.isnan(_global_max(SCORES)).any()
    assert not np.array_equal(np.isnan(_naive(SCORES)), np.isnan(_global_max(SCORES)))


@pytest.mark.parametrize("answer, expected_text", [
    (_naive(SCORES), "row(s) [0]: exp overflowed"),
    (_global_max(SCORES), "row(s) [1, 2]: you subtracted the maximum of the whole matrix"),
    (np.where(np.arange(4) == 3, np.nan, helpers.softmax(SCORES)), "softmax of finite scores never gives NaN"),
    (np.full((3, 4), np.inf), "contains inf"),
    (helpers.softmax(SCORES, axis=0), "each column sums to 1"),
    (helpers.softmax(SCORES.reshape(-1)).reshape(3, 4), "the whole matrix sums to 1"),
    (np.exp(SCORES - SCORES.max(axis=-1, keepdims=True)), "before the division"),
    (helpers.softmax(SCORES) - 0.1, "negative entries"),
    (helpers.softmax(SCORES) * 0.5, "row 0 sums to 0.5"),
    (helpers.softmax(SCORES[:, ::-1]), "every row sums to 1, but row 1 is off by up to 0.797"),
    (helpers.softmax(SCORES)[:, 0], "one number per row"),
    (helpers.softmax(SCORES).T, "transposed"),
    (np.zeros((2, 2)), "has shape (2, 2) but expected (3, 4)"),
    ("weights", "array of numbers"),
])
def test_softmax_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_stable_softmax, answer, SCORES)
    assert ok is False
    assert expected_text in line
    assert not line.startswith("Correct")


def test_softmax_printed_numbers_are_right_and_too_few_digits_say_so(capsys):
    """Weights copied from a printout: numpy prints 4 decimals and drops trailing zeros, or 4 significant digits."""
    right = helpers.softmax(SCORES)
    printed_sci = np.vectorize(lambda v: float(f"{v:.4g}"))(right)
    for answer in (right.round(4), printed_sci):
        ok, line = run(capsys, exercises.check_stable_softmax, answer, SCORES)
        assert ok is True and line.startswith("Correct:")
    ok, line = run(capsys, exercises.check_stable_softmax, right.round(2), SCORES)
    assert ok is False and "rounded to 2 decimals, too few" in line
    wrong_digit = right.round(4) + np.where(np.arange(4) == 2, 0.0002, 0.0) * [[0], [1], [0]]
    ok, line = run(capsys, exercises.check_stable_softmax, wrong_digit, SCORES)
    assert ok is False and "too few" not in line


# ---------------------------------------------------------------- check_top_key

def test_top_key_data_is_a_real_trap():
    scores = KEYS @ QUERY
    cosines = scores / np.linalg.norm(KEYS, axis=1) / np.linalg.norm(QUERY)
    assert np.argmax(scores) == 1 and np.argmax(cosines) == 0
    assert np.argmin(np.linalg.norm(KEYS - QUERY, axis=1)) == 0


@pytest.mark.parametrize("answer", [1, np.int64(1), "k1", 1.0, np.array(1), np.array([1]), np.float32(1)])
def test_top_key_correct(capsys, answer):
    ok, line = run(capsys, exercises.check_top_key, answer, QUERY, KEYS)
    assert ok is True
    assert line.startswith("Correct:") and "k1" in line and "2.5" in line


def test_top_key_with_labels(capsys):
    labels = ["the", "cat", "sat", "down"]
    ok, line = run(capsys, exercises.check_top_key, "cat", QUERY, KEYS, labels)
    assert ok is True and "cat" in line
    ok, line = run(capsys, exercises.check_top_key, "dog", QUERY, KEYS, labels)
    assert ok is False and "not one of the keys" in line


def test_top_key_none(capsys):
    ok, line = run(capsys, exercises.check_top_key, None, QUERY, KEYS)
    assert ok is False and line.startswith("Not attempted yet")


@pytest.mark.parametrize("answer, expected_text", [
    (0, "points most nearly the same way"),
    (2, "smallest score"),
    (3, "q . k3 = 1.6, but another key has a larger score"),
    (7, "out of range"),
    (-1, "0 or more"),
    (1.5, "not a whole number"),
    (True, "a bool"),
    (np.array([1, 2]), "should be a single number"),
])
def test_top_key_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_top_key, answer, QUERY, KEYS)
    assert ok is False
    assert expected_text in line


def test_top_key_nearest_but_not_aligned(capsys):
    query = np.array([1.0, 0.0])
    keys = np.array([[0.9, 0.3], [3.0, 0.0], [0.5, 0.0]])  # k0 nearest, k1 and k2 perfectly aligned, k1 largest
    ok, line = run(capsys, exercises.check_top_key, 0, query, keys)
    assert ok is False and "nearest to q" in line


# ---------------------------------------------------------------- check_temperature

@pytest.mark.parametrize("tau", [0.4, 0.35, np.float32(0.38), np.array(0.38)])
def test_temperature_correct(capsys, tau):
    ok, line = run(capsys, exercises.check_temperature, tau, ROW, low=0.9, high=0.95)
    assert ok is True and line.startswith("Correct:")


def test_temperature_none(capsys):
    ok, line = run(capsys, exercises.check_temperature, None, ROW)
    assert ok is False and line.startswith("Not attempted yet")


@pytest.mark.parametrize("tau, expected_text", [
    (1.0, "largest weight is 0.6095, below 0.9: the weights are too flat. Lower tau"),
    (5, "too flat"),
    (0.3, "above 0.95: too close to one-hot. Raise tau"),
    (0.01, "Raise tau"),
    (0, "divides by zero"),
    (-0.4, "negative, which flips the order"),
    (float("nan"), "is NaN"),
    ("0.4", "remove the quotes"),
    ([0.4, 0.5], "should be a single number"),
    (True, "a bool"),
])
def test_temperature_wrong(capsys, tau, expected_text):
    ok, line = run(capsys, exercises.check_temperature, tau, ROW, low=0.9, high=0.95)
    assert ok is False
    assert expected_text in line
