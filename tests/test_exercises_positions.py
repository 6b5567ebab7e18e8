"""Tests for the chapter 7 exercise checks: right answers pass, each kind of wrong answer gets its own message."""

import math

import numpy as np
import pytest

import helpers
from helpers import exercises
from helpers.exercises.positions import _rope_freq, _rope_interleaved
from verdicts import run


def test_checks_are_exported():
    for name in ("check_shuffled_weights", "check_sinusoidal_positions", "check_rope_vector",
                 "check_rope_half_weights"):
        assert name in exercises.__all__
        assert callable(getattr(exercises, name))


# ---------------------------------------------------------------- shuffled tokens, shuffled weights

RNG = np.random.default_rng(7)
Q, K = RNG.normal(size=(5, 4)), RNG.normal(size=(5, 4))  # T = 5, d = 4
PERM = [2, 0, 3, 1, 4]  # not its own inverse: argsort(PERM) = [1, 3, 0, 2, 4]


def weights_of(q, k):
    return helpers.scaled_dot_product_attention(q, k, k)[1]


def test_shuffled_weights_right(capsys):
    shuffled = weights_of(Q[PERM], K[PERM])  # attention run again on the shuffled tokens
    ok, msg = run(capsys, exercises.check_shuffled_weights, shuffled, Q, K, PERM)
    assert ok and msg.startswith("Correct:")
    w = weights_of(Q, K)
    assert run(capsys, exercises.check_shuffled_weights, w[PERM][:, PERM], Q, K, PERM)[0]
    assert run(capsys, exercises.check_shuffled_weights, w[np.ix_(PERM, PERM)].astype(np.float32), Q, K, PERM)[0]
    loops = [[w[PERM[i]][PERM[j]] for j in range(5)] for i in range(5)]
    assert run(capsys, exercises.check_shuffled_weights, loops, Q, K, PERM)[0]


def test_shuffled_weights_is_equivariance_of_the_helper():
    # the fact the check relies on: shuffling the tokens shuffles both axes of the weights
    w = weights_of(Q, K)
    np.testing.assert_allclose(weights_of(Q[PERM], K[PERM]), w[PERM][:, PERM], rtol=1e-12, atol=1e-15)
    assert not np.allclose(w[PERM], w[PERM][:, PERM])


def test_shuffled_weights_not_attempted(capsys):
    ok, msg = run(capsys, exercises.check_shuffled_weights, None, Q, K, PERM)
    assert not ok and msg.startswith("Not attempted yet")


W = weights_of(Q, K)
INV = np.argsort(PERM)


@pytest.mark.parametrize("answer, expected", [
    (W, "equals the original weights"),
    (W[PERM], "reordered the rows (the queries) but not the columns"),
    (W[:, PERM], "reordered the columns (the keys) but not the rows"),
    (W[INV][:, INV], "the inverse permutation"),
    (W[PERM][:, PERM].T, "that is the transpose"),
    (W[PERM][:, PERM] + 0.01, "right shape (5, 5) but other numbers"),
    (W[:4], "weights_shuffled has shape (4, 5) but expected (T, T) = (5, 5)"),
    ("W[perm]", "remove the quotes"),
])
def test_shuffled_weights_wrong(capsys, answer, expected):
    ok, msg = run(capsys, exercises.check_shuffled_weights, answer, Q, K, PERM)
    assert not ok and expected in msg, msg


def test_shuffled_weights_hint(capsys):
    ok, msg = run(capsys, exercises.check_shuffled_weights, W[INV][:, INV], Q, K, PERM, hint=True)
    assert not ok and "Hint: x_shuffled = x[perm]" in msg


def test_shuffled_weights_rejects_a_bad_permutation_in_the_exercise():
    with pytest.raises(ValueError, match=r"perm must reorder 0\.\.4"):
        exercises.check_shuffled_weights(W, Q, K, [0, 0, 1, 2, 3])


# ---------------------------------------------------------------- the sinusoidal table

T_SIN, D_SIN = 12, 8


def table_by_loops(T, D, base=10000.0):
    rows = []
    for t in range(T):
        row = []
        for i in range(D // 2):
            angle = t / base ** (2 * i / D)
            row += [math.sin(angle), math.cos(angle)]
        rows.append(row)
    return rows


def test_sinusoidal_right(capsys):
    ok, msg = run(capsys, exercises.check_sinusoidal_positions, table_by_loops(T_SIN, D_SIN), T_SIN, D_SIN)
    assert ok and msg.startswith("Correct:") and "sqrt(D/2) = 2.0000" in msg
    np.testing.assert_allclose(table_by_loops(T_SIN, D_SIN), helpers.sinusoidal_positions(T_SIN, D_SIN), atol=1e-14)
    t32 = np.arange(T_SIN, dtype=np.float32)[:, None] * np.float32(10000.0) ** (
        -np.arange(0, D_SIN, 2, dtype=np.float32) / np.float32(D_SIN))
    table32 = np.stack([np.sin(t32), np.cos(t32)], axis=-1).reshape(T_SIN, D_SIN)
    assert table32.dtype == np.float32
    assert run(capsys, exercises.check_sinusoidal_positions, table32, T_SIN, D_SIN)[0]
    assert run(capsys, exercises.check_sinusoidal_positions, helpers.sinusoidal_positions(40, 16, 100.0),
               40, 16, 100.0)[0]


def test_sinusoidal_not_attempted(capsys):
    ok, msg = run(capsys, exercises.check_sinusoidal_positions, None, T_SIN, D_SIN)
    assert not ok and msg.startswith("Not attempted yet")


def variant(swap=False, exponent=2.0, start=0, T=T_SIN, D=D_SIN):
    t = np.arange(start, start + T, dtype=float)[:, None]
    angles = t * 10000.0 ** (-exponent * np.arange(D // 2) / D)
    a, b = (np.cos, np.sin) if swap else (np.sin, np.cos)
    return np.stack([a(angles), b(angles)], axis=-1).reshape(T, D)


RIGHT_SIN = helpers.sinusoidal_positions(T_SIN, D_SIN)
HALF = np.concatenate([RIGHT_SIN[:, 0::2], RIGHT_SIN[:, 1::2]], axis=1)
BAD_COS = RIGHT_SIN.copy()
BAD_COS[:, 1::2] = 0.5


@pytest.mark.parametrize("answer, expected", [
    (variant(swap=True), "the cosines are at the even columns"),
    (HALF, "all the sines come first"),
    (variant(exponent=1.0), "base^(-i/D)"),
    (variant(start=1), "your positions start at 1"),
    (BAD_COS, "the sine columns are right, but the cosine columns are not"),
    (RIGHT_SIN.T, "one column per position"),
    (RIGHT_SIN[:, 0::2], "each frequency gives two columns"),
    (RIGHT_SIN + 0.1, "right shape (12, 8) but other numbers"),
    ([[1.0, np.nan] * 4] * 12, "NaN"),
])
def test_sinusoidal_wrong(capsys, answer, expected):
    ok, msg = run(capsys, exercises.check_sinusoidal_positions, answer, T_SIN, D_SIN)
    assert not ok and expected in msg, msg


def test_sinusoidal_concatenated_layout_is_not_called_wrong_numbers(capsys):
    # the halves layout holds the same numbers; the message says so and asks for the paper's layout
    ok, msg = run(capsys, exercises.check_sinusoidal_positions, HALF, T_SIN, D_SIN, hint=True)
    assert not ok and "holds the same numbers" in msg and "Hint: Columns 2i and 2i + 1" in msg


# ---------------------------------------------------------------- RoPE by hand

X = np.array([0.5, -1.0, 2.0, 0.25, 1.5, -0.75, 0.0, 1.0])  # d = 8
M = 5


def rope_by_hand(x, m, base):
    d = x.shape[-1]
    out = x.copy()
    for i in range(d // 2):
        angle = m * base ** (-2 * i / d)
        c, s = np.cos(angle), np.sin(angle)
        out[i] = x[i] * c - x[i + d // 2] * s
        out[i + d // 2] = x[i + d // 2] * c + x[i] * s
    return out


@pytest.mark.parametrize("base", [10000.0, 100000.0])
def test_rope_vector_right(capsys, base):
    ok, msg = run(capsys, exercises.check_rope_vector, rope_by_hand(X, M, base), X, M, base)
    assert ok and msg.startswith("Correct:")
    np.testing.assert_allclose(rope_by_hand(X, M, base), helpers.apply_rope(X[None], [M], base)[0])


def test_rope_vector_not_attempted(capsys):
    ok, msg = run(capsys, exercises.check_rope_vector, None, X, M)
    assert not ok and msg.startswith("Not attempted yet")


@pytest.mark.parametrize("answer, expected", [
    (X, "nothing was rotated"),
    (_rope_interleaved(X, M, 10000.0), "adjacent pairs"),
    (rope_by_hand(X, -M, 10000.0), "rotated the other way"),
    (_rope_freq(X, M, 10000.0, lambda i: i), "base^(-i/d)"),
    (rope_by_hand(X, M - 1, 10000.0), "rotated for position 4, not 5"),
    (rope_by_hand(X, M, 100000.0), "wrong base"),
    (2 * X, "a rotation keeps the length"),
    (X[::-1], "the right length but other numbers"),
    (X[:4], "rotated has shape (4,) but expected (8,)"),
    ([1.0, np.nan] * 4, "NaN"),
])
def test_rope_vector_wrong(capsys, answer, expected):
    ok, msg = run(capsys, exercises.check_rope_vector, answer, X, M)
    assert not ok and expected in msg, msg


def rope_adjacent_by_hand(x, m, base):
    out = x.copy()
    for i in range(len(x) // 2):
        angle = m * base ** (-2 * i / len(x))
        c, s = np.cos(angle), np.sin(angle)
        out[2 * i] = x[2 * i] * c - x[2 * i + 1] * s
        out[2 * i + 1] = x[2 * i + 1] * c + x[2 * i] * s
    return out


def test_rope_vector_adjacent_pairing_right(capsys):
    right = rope_adjacent_by_hand(X, M, 10000.0)
    ok, msg = run(capsys, exercises.check_rope_vector, right, X, M, 10000.0, pairing="adjacent")
    assert ok and "2i and 2i + 1" in msg, msg
    ok, _ = run(capsys, exercises.check_rope_vector, right.astype(np.float32), X, M, 10000.0, pairing="adjacent")
    assert ok
    np.testing.assert_allclose(right, helpers.apply_rope(X[None], [M], pairing="adjacent")[0])


def test_rope_vector_names_the_other_pairing_without_calling_it_wrong_in_general(capsys):
    ok, msg = run(capsys, exercises.check_rope_vector, rope_by_hand(X, M, 10000.0), X, M, pairing="adjacent")
    assert not ok and "rotate half" in msg and "GPT-NeoX" in msg and "This exercise pairs neighbours" in msg, msg
    ok, msg = run(capsys, exercises.check_rope_vector, rope_adjacent_by_hand(X, M, 10000.0), X, M)
    assert not ok and "RoFormer" in msg and "Meta's original Llama" in msg and "llama.cpp" not in msg, msg
    assert "wrong convention" not in msg


@pytest.mark.parametrize("answer, expected", [
    (rope_adjacent_by_hand(X, -M, 10000.0), "rotated the other way"),
    (rope_adjacent_by_hand(X, M - 1, 10000.0), "rotated for position 4, not 5"),
    (rope_adjacent_by_hand(X, M, 100000.0), "wrong base"),
    (X, "nothing was rotated"),
])
def test_rope_vector_adjacent_pairing_wrong(capsys, answer, expected):
    ok, msg = run(capsys, exercises.check_rope_vector, answer, X, M, pairing="adjacent")
    assert not ok and expected in msg, msg


def test_rope_vector_rejects_an_unknown_pairing():
    with pytest.raises(ValueError, match="pairing must be 'half' or 'adjacent'"):
        exercises.check_rope_vector(X, X, M, pairing="neox")


# ---------------------------------------------------------------- from adjacent pairs to rotate-half

D_MODEL, HEADS, D_HEAD = 10, 3, 6  # no two sizes equal; for d = 4, p would be its own inverse
W_ADJ = np.random.default_rng(11).normal(size=(D_MODEL, HEADS * D_HEAD))
P_FULL = helpers.rope_pairing_permutation(D_HEAD, num_heads=HEADS)


def half_by_loops(w):
    cols = []
    for h in range(HEADS):
        block = w[:, h * D_HEAD:(h + 1) * D_HEAD]
        cols += [block[:, j] for j in range(0, D_HEAD, 2)] + [block[:, j] for j in range(1, D_HEAD, 2)]
    return np.stack(cols, axis=1)


def test_rope_half_weights_right(capsys):
    ok, msg = run(capsys, exercises.check_rope_half_weights, W_ADJ[:, P_FULL], W_ADJ, HEADS)
    assert ok and msg.startswith("Correct:") and "[0, 2, 4, 1, 3, 5]" in msg
    assert run(capsys, exercises.check_rope_half_weights, half_by_loops(W_ADJ), W_ADJ, HEADS)[0]
    reshaped = W_ADJ.reshape(D_MODEL, HEADS, D_HEAD // 2, 2).transpose(0, 1, 3, 2).reshape(D_MODEL, -1)
    assert run(capsys, exercises.check_rope_half_weights, reshaped.astype(np.float32), W_ADJ, HEADS)[0]


def test_rope_half_weights_give_the_same_scores(rng):
    # what the check calls right really gives rotate-half the adjacent model's scores
    x, pos = rng.normal(size=(6, D_MODEL)), np.arange(6)
    w_k = rng.normal(size=(D_MODEL, HEADS * D_HEAD))

    def scores(w_q, w_k, pairing):
        q = helpers.apply_rope(helpers.split_heads(x @ w_q, HEADS), pos, pairing=pairing)
        k = helpers.apply_rope(helpers.split_heads(x @ w_k, HEADS), pos, pairing=pairing)
        return q @ np.swapaxes(k, -1, -2)

    adjacent = scores(W_ADJ, w_k, "adjacent")
    np.testing.assert_allclose(scores(W_ADJ[:, P_FULL], w_k[:, P_FULL], "half"), adjacent, rtol=1e-12, atol=1e-12)
    assert not np.allclose(scores(W_ADJ, w_k, "half"), adjacent)


def test_rope_half_weights_not_attempted(capsys):
    ok, msg = run(capsys, exercises.check_rope_half_weights, None, W_ADJ, HEADS)
    assert not ok and msg.startswith("Not attempted yet")


SQUARE = np.random.default_rng(12).normal(size=(8, 8))  # D = H*d = 8, H = 2, d = 4: rows can be reordered too


@pytest.mark.parametrize("answer, w, expected", [
    (W_ADJ, W_ADJ, "w_half equals w_adjacent"),
    (W_ADJ[:, np.argsort(P_FULL)], W_ADJ, "that is the inverse order"),
    (W_ADJ[:, helpers.rope_pairing_permutation(HEADS * D_HEAD)], W_ADJ, "mixes the heads"),
    (W_ADJ[:, P_FULL].T, W_ADJ, "the PyTorch layout (out, in)"),
    (W_ADJ[:, :4], W_ADJ, "w_half has shape (10, 4) but expected (D, H*d) = (10, 18)"),
    (W_ADJ[:, P_FULL] * 2, W_ADJ, "right shape (10, 18) but other numbers"),
    (SQUARE[helpers.rope_pairing_permutation(4, num_heads=2)], SQUARE, "you reordered the rows"),
])
def test_rope_half_weights_wrong(capsys, answer, w, expected):
    heads = HEADS if w is W_ADJ else 2
    ok, msg = run(capsys, exercises.check_rope_half_weights, answer, w, heads)
    assert not ok and expected in msg, msg
