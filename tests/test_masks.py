"""Tests for helpers.causal_mask and helpers.padding_mask (chapter 5)."""

import numpy as np
import pytest

import helpers

T, S, H, D_K = 5, 7, 3, 4


@pytest.mark.parametrize("n", [1, 2, 5])
def test_causal_mask_square_is_lower_triangle(n):
    mask = helpers.causal_mask(n)
    assert mask.dtype == np.bool_
    assert mask.shape == (n, n)
    for i in range(n):
        for j in range(n):
            assert mask[i, j] == (j <= i)


@pytest.mark.parametrize("n_q, n_kv", [(5, 7), (1, 7), (3, 3), (2, 9)])
def test_causal_mask_queries_are_the_last_positions(n_q, n_kv):
    mask = helpers.causal_mask(n_q, n_kv)
    assert mask.dtype == np.bool_
    assert mask.shape == (n_q, n_kv)
    offset = n_kv - n_q
    for i in range(n_q):
        for j in range(n_kv):
            assert mask[i, j] == (j <= i + offset)
    assert mask[-1].all()  # the last query sees every key
    assert mask[:, 0].all()  # every query sees the first key


def test_causal_mask_n_kv_none_means_square():
    np.testing.assert_array_equal(helpers.causal_mask(T, None), helpers.causal_mask(T, T))


def test_causal_mask_matches_a_kv_cache_step():
    """Rows of the full causal mask for the last n_q positions equal causal_mask(n_q, n_kv)."""
    np.testing.assert_array_equal(helpers.causal_mask(S)[-3:], helpers.causal_mask(3, S))


def test_causal_attention_ignores_the_future(rng):
    """Changing token t's key and value never changes the outputs of queries before t."""
    q = rng.standard_normal((2, T, D_K))
    k = rng.standard_normal((2, T, D_K))
    v = rng.standard_normal((2, T, 3))
    mask = helpers.causal_mask(T)
    out, _ = helpers.scaled_dot_product_attention(q, k, v, mask=mask)
    for t in range(T):
        k2, v2 = k.copy(), v.copy()
        k2[:, t] += 10.0
        v2[:, t] -= 10.0
        out2, _ = helpers.scaled_dot_product_attention(q, k2, v2, mask=mask)
        np.testing.assert_array_equal(out2[:, :t], out[:, :t])
        assert not np.allclose(out2[:, t:], out[:, t:])


@pytest.mark.parametrize(
    "args, match",
    [
        ((7, 5), r"n_q <= n_kv.*\(n_q, n_kv\) = \(7, 5\)"),
        ((0,), r"n_q must be a positive integer, got 0"),
        ((-2, 5), r"n_q must be a positive integer, got -2"),
        ((3, 0), r"n_kv must be a positive integer, got 0"),
        ((2.5,), r"n_q must be a positive integer, got 2\.5"),
    ],
)
def test_causal_mask_rejects_bad_sizes(args, match):
    with pytest.raises(ValueError, match=match):
        helpers.causal_mask(*args)


def test_padding_mask_values_and_shape():
    mask = helpers.padding_mask([3, 7, 0], S)
    assert mask.dtype == np.bool_
    assert mask.shape == (3, 1, 1, S)
    for b, length in enumerate([3, 7, 0]):
        for j in range(S):
            assert mask[b, 0, 0, j] == (j < length)


def test_padding_mask_broadcasts_against_scores(rng):
    lengths = np.array([4, 7])
    mask = helpers.padding_mask(lengths, S)
    q = rng.standard_normal((2, H, T, D_K))
    k = rng.standard_normal((2, H, S, D_K))
    v = rng.standard_normal((2, H, S, 3))
    _, weights = helpers.scaled_dot_product_attention(q, k, v, mask=mask)
    assert weights.shape == (2, H, T, S)
    assert np.all(weights[0, :, :, 4:] == 0.0)  # padding gets no weight
    assert np.all(weights[0, :, :, :4] > 0.0)
    assert np.all(weights[1] > 0.0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)


def test_padding_and_causal_masks_combine():
    mask = helpers.padding_mask([3, 5], T) & helpers.causal_mask(T)  # (2, 1, T, T)
    assert mask.shape == (2, 1, T, T)
    assert not mask[0, 0, 4, 3] and mask[1, 0, 4, 3]
    assert not mask[1, 0, 1, 2]


@pytest.mark.parametrize(
    "lengths, n_kv, match",
    [
        ([3, 8], S, r"lengths must lie in 0\.\.n_kv=7, got \[3, 8\] \(shape \(2,\)\)"),
        ([-1, 2], S, r"lengths must lie in 0\.\.n_kv=7, got \[-1, 2\]"),
        ([[3, 4]], S, r"lengths must be a 1-D integer array of shape \(B,\), but has shape \(1, 2\)"),
        ([3.0, 4.0], S, r"shape \(2,\) and dtype float64"),
        ([3, 4], 0, r"n_kv must be a positive integer, got 0"),
    ],
)
def test_padding_mask_rejects_bad_input(lengths, n_kv, match):
    with pytest.raises(ValueError, match=match):
        helpers.padding_mask(lengths, n_kv)
