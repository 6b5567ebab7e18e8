"""Tests for helpers.positions: sinusoidal positions, their offset map, ALiBi (chapter 7)."""

import math

import numpy as np
import pytest

import helpers

T, D = 11, 6  # T != D, D/2 = 3 frequencies


def test_sinusoidal_positions_follow_the_paper_entry_by_entry():
    pe = helpers.sinusoidal_positions(T, D)
    assert pe.shape == (T, D) and pe.dtype == np.float64
    for t in range(T):
        for i in range(D // 2):
            angle = t / 10000.0 ** (2 * i / D)
            assert math.isclose(pe[t, 2 * i], math.sin(angle), abs_tol=1e-15)  # even column: sine
            assert math.isclose(pe[t, 2 * i + 1], math.cos(angle), abs_tol=1e-15)  # odd column: cosine


def test_sinusoidal_rows_have_norm_sqrt_d_over_2_and_the_first_is_sin0_cos0():
    pe = helpers.sinusoidal_positions(50, 16, base=100.0)
    np.testing.assert_allclose(np.linalg.norm(pe, axis=1), math.sqrt(8), rtol=1e-12)
    np.testing.assert_array_equal(pe[0], [0.0, 1.0] * 8)
    assert np.all(np.abs(pe) <= 1)


def test_sinusoidal_frequencies_are_ropes():
    """Column pair i turns at rope_frequencies(D)[i] radians per position: PE is RoPE applied to (0, 1) pairs,
    backwards (rotating (0, 1) by -angle gives (sin, cos))."""
    pe = helpers.sinusoidal_positions(T, D)
    start = np.tile([0.0, 1.0], D // 2)[None].repeat(T, axis=0)  # (T, D): every pair (sin 0, cos 0)
    np.testing.assert_allclose(helpers.apply_rope(start, -np.arange(T), pairing="adjacent"), pe, atol=1e-15)


@pytest.mark.parametrize("k", [0, 1, 5, -3, 1000])
@pytest.mark.parametrize("width, base", [(6, 10000.0), (64, 10000.0), (8, 50.0)])
def test_offset_map_moves_every_row_k_positions(k, width, base):
    pe = helpers.sinusoidal_positions(1200, width, base)
    m = helpers.sinusoidal_offset_map(k, width, base)
    assert m.shape == (width, width)
    rows = np.arange(max(0, -k), min(1200, 1200 - k))  # every t with t + k inside the table
    np.testing.assert_allclose(pe[rows] @ m, pe[rows + k], rtol=0, atol=1e-9)


def test_offset_map_is_a_rotation_per_frequency():
    m = helpers.sinusoidal_offset_map(3, 8)
    np.testing.assert_allclose(m @ m.T, np.eye(8), atol=1e-14)  # orthogonal
    np.testing.assert_allclose(m, helpers.sinusoidal_offset_map(-3, 8).T, atol=1e-15)  # M_-k = M_k^T
    np.testing.assert_allclose(helpers.sinusoidal_offset_map(2, 8) @ helpers.sinusoidal_offset_map(5, 8),
                               helpers.sinusoidal_offset_map(7, 8), atol=1e-14)  # M_j M_k = M_(j+k)
    np.testing.assert_array_equal(helpers.sinusoidal_offset_map(0, 8), np.eye(8))
    off_blocks = m.copy()
    for i in range(4):
        block = m[2 * i:2 * i + 2, 2 * i:2 * i + 2]
        angle = 3 * 10000.0 ** (-2 * i / 8)
        np.testing.assert_allclose(block, [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]],
                                   atol=1e-15)
        off_blocks[2 * i:2 * i + 2, 2 * i:2 * i + 2] = 0
    assert np.all(off_blocks == 0)  # nothing outside the 2 x 2 blocks


def test_offset_map_does_not_depend_on_t():
    """A linear projection can read the offset: the same matrix works at every position."""
    pe = helpers.sinusoidal_positions(40, D)
    solved, *_ = np.linalg.lstsq(pe[:30], pe[4:34], rcond=None)  # fit PE[t] -> PE[t + 4] on t = 0..29
    np.testing.assert_allclose(solved, helpers.sinusoidal_offset_map(4, D), atol=1e-9)


@pytest.mark.parametrize("args, match", [
    ((T, 7), r"even width D .* got D=7"),
    ((0, D), r"T must be a positive integer, got 0"),
    ((T, 0), r"D must be a positive integer, got 0"),
    ((2.5, D), r"T must be a positive integer, got 2\.5"),
    ((T, D, 0.0), r"base must be a finite number > 0, got 0\.0"),
    ((T, D, float("nan")), r"base must be a finite number > 0, got nan"),
])
def test_sinusoidal_positions_reject_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        helpers.sinusoidal_positions(*args)


@pytest.mark.parametrize("args, match", [
    ((1.5, D), r"k must be finite integers, got 1\.5"),
    ((float("inf"), D), r"k must be finite integers"),
    (([1, 2], D), r"k must be a single integer offset, but has shape \(2,\)"),
    ((1, 5), r"even width D, got D=5"),
    ((1, D, -1.0), r"base must be a finite number > 0"),
])
def test_offset_map_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        helpers.sinusoidal_offset_map(*args)


# ---------------------------------------------------------------- ALiBi


def test_alibi_slopes_for_a_power_of_two_are_a_geometric_sequence():
    np.testing.assert_allclose(helpers.alibi_slopes(8), [2.0 ** -k for k in range(1, 9)], rtol=1e-15)
    np.testing.assert_allclose(helpers.alibi_slopes(4), [2.0 ** (-2 * k) for k in range(1, 5)], rtol=1e-15)
    np.testing.assert_allclose(helpers.alibi_slopes(1), [2.0 ** -8], rtol=1e-15)


def slopes_as_in_the_paper_code(n):
    """The recursion of the ALiBi authors' get_slopes, written out as a reference."""
    def power_of_2(n):
        start = 2 ** (-2 ** -(math.log2(n) - 3))
        return [start * start ** i for i in range(n)]
    if math.log2(n).is_integer():
        return power_of_2(n)
    closest = 2 ** math.floor(math.log2(n))
    return power_of_2(closest) + slopes_as_in_the_paper_code(2 * closest)[0::2][:n - closest]


@pytest.mark.parametrize("h", [1, 2, 3, 5, 6, 8, 12, 16, 20])
def test_alibi_slopes_match_the_papers_recursion(h):
    slopes = helpers.alibi_slopes(h)
    assert slopes.shape == (h,)
    np.testing.assert_allclose(slopes, slopes_as_in_the_paper_code(h), rtol=1e-14)
    assert np.all((slopes > 0) & (slopes < 1)) and len(set(slopes)) == h


def test_alibi_bias_is_minus_slope_times_distance():
    bias = helpers.alibi_bias(3, 5, num_heads=2)  # T = 3 queries at positions 2, 3, 4 of S = 5
    assert bias.shape == (2, 3, 5)
    distance = np.array([[2, 1, 0, 1, 2], [3, 2, 1, 0, 1], [4, 3, 2, 1, 0]])
    np.testing.assert_allclose(bias[0], -distance / 16)  # slopes for H = 2: 1/16, 1/256
    np.testing.assert_allclose(bias[1], -distance / 256)
    np.testing.assert_array_equal(helpers.alibi_bias(4, num_heads=3).shape, (3, 4, 4))


def test_alibi_lowers_the_weight_of_far_keys_by_a_fixed_factor_per_token():
    """With equal scores, causal ALiBi weights fall geometrically with distance, by exp(-slope) per token."""
    t = 6
    bias = helpers.alibi_bias(t, num_heads=4)
    scores = np.where(helpers.causal_mask(t), 0.0 + bias, -np.inf)  # all raw scores equal
    weights = helpers.softmax(scores)  # (H, T, T)
    last = weights[:, -1]  # the last query: keys at distance 5, 4, ..., 0
    np.testing.assert_allclose(last[:, 1:] / last[:, :-1], np.exp(helpers.alibi_slopes(4))[:, None] * np.ones((4, 5)),
                               rtol=1e-12)


@pytest.mark.parametrize("call, match", [
    (lambda: helpers.alibi_slopes(0), r"num_heads must be a positive integer, got 0"),
    (lambda: helpers.alibi_bias(4, 3, num_heads=2), r"n_kv=3 is smaller than n_q=4"),
    (lambda: helpers.alibi_bias(0, num_heads=2), r"n_q must be a positive integer, got 0"),
    (lambda: helpers.alibi_bias(2, num_heads=1.5), r"num_heads must be a positive integer, got 1\.5"),
])
def test_alibi_rejects_bad_sizes(call, match):
    with pytest.raises(ValueError, match=match):
        call()
