"""Tests for helpers.softmax (chapter 2) and helpers.scaled_dot_product_attention (chapters 4 and 5)."""

import math

import numpy as np
import pytest

import helpers

T, S = 5, 7  # query and key positions
D_K, D_V = 4, 3  # different, and different from T and S
BATCH_SHAPES = [(), (2,), (2, 3)]  # leading axes: none, one, two


# ---------------------------------------------------------------- softmax


def naive_softmax_rows(rows):
    """Softmax of each row of a 2-D array with math.exp, after subtracting the row max."""
    out = []
    for row in rows:
        top = max(row)
        exps = [math.exp(s - top) for s in row]
        out.append([e / sum(exps) for e in exps])
    return np.array(out)


@pytest.mark.parametrize("axis", [-1, 0, 1, 2])
def test_softmax_matches_loop_on_every_axis(rng, axis):
    scores = rng.standard_normal((2, 3, 4)) * 3
    moved = np.moveaxis(scores, axis, -1)
    expected = naive_softmax_rows(moved.reshape(-1, moved.shape[-1])).reshape(moved.shape)
    np.testing.assert_allclose(helpers.softmax(scores, axis=axis), np.moveaxis(expected, -1, axis), rtol=1e-12)


def test_softmax_rows_sum_to_one(rng):
    weights = helpers.softmax(rng.standard_normal((T, S)) * 10)
    assert np.all(weights >= 0)
    np.testing.assert_allclose(weights.sum(axis=-1), np.ones(T), rtol=1e-12)


def test_softmax_large_scores_are_finite():
    """The blog's softmax gives inf / inf = NaN here; the stable one does not."""
    weights = helpers.softmax(np.array([1000.0, 999.0, 1.0]))
    assert np.all(np.isfinite(weights))
    expected = np.array([1.0, math.exp(-1.0), 0.0]) / (1.0 + math.exp(-1.0))
    np.testing.assert_allclose(weights, expected, rtol=1e-12, atol=1e-300)


def test_softmax_large_float32_scores_are_finite():
    """float32 exp overflows already above 88.7."""
    weights = helpers.softmax(np.array([[100.0, 99.0], [-5.0, 200.0]], dtype=np.float32))
    assert weights.dtype == np.float32
    assert np.all(np.isfinite(weights))
    np.testing.assert_allclose(weights[0], [1 / (1 + math.exp(-1)), math.exp(-1) / (1 + math.exp(-1))], rtol=1e-6)
    np.testing.assert_allclose(weights[1], [0.0, 1.0], atol=1e-6)


@pytest.mark.parametrize("shift", [-500.0, 3.0, 800.0])
def test_softmax_invariant_to_adding_a_constant(rng, shift):
    scores = rng.standard_normal((T, S))
    np.testing.assert_allclose(helpers.softmax(scores + shift), helpers.softmax(scores), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_keeps_dtype(rng, dtype):
    assert helpers.softmax(rng.standard_normal((T, S)).astype(dtype)).dtype == dtype


def test_softmax_integer_input_becomes_float64():
    weights = helpers.softmax(np.array([1, 1, 1, 1]))
    assert weights.dtype == np.float64
    np.testing.assert_allclose(weights, np.full(4, 0.25))


@pytest.mark.filterwarnings("error")
def test_softmax_all_minus_inf_row_gives_zeros():
    scores = np.array([[0.0, -np.inf, 2.0], [-np.inf, -np.inf, -np.inf]])
    weights = helpers.softmax(scores)
    assert not np.any(np.isnan(weights))
    np.testing.assert_array_equal(weights[1], [0.0, 0.0, 0.0])
    assert weights[0, 1] == 0.0
    np.testing.assert_allclose(weights[0], [1 / (1 + math.exp(2)), 0.0, math.exp(2) / (1 + math.exp(2))])


def test_softmax_leaves_input_untouched_unless_overwrite(rng):
    scores = rng.standard_normal((T, S))
    before = scores.copy()
    weights = helpers.softmax(scores)
    np.testing.assert_array_equal(scores, before)
    assert not np.shares_memory(weights, scores)
    in_place = helpers.softmax(scores, overwrite=True)
    assert np.shares_memory(in_place, scores)
    np.testing.assert_allclose(in_place, weights, rtol=1e-15)


# ---------------------------------------------------------------- scaled_dot_product_attention


def make_qkv(rng, batch, dtype=np.float64, n_q=T, n_kv=S):
    q = rng.standard_normal(batch + (n_q, D_K)).astype(dtype)
    k = rng.standard_normal(batch + (n_kv, D_K)).astype(dtype)
    v = rng.standard_normal(batch + (n_kv, D_V)).astype(dtype)
    return q, k, v


@pytest.mark.parametrize("batch", BATCH_SHAPES)
def test_attention_matches_loop(rng, naive_attention, batch):
    q, k, v = make_qkv(rng, batch)
    q *= 3  # spread the scores so that a wrong scale changes the weights noticeably
    out, weights = helpers.scaled_dot_product_attention(q, k, v)
    assert out.shape == batch + (T, D_V)
    assert weights.shape == batch + (T, S)
    ref_out, ref_weights = naive_attention(q, k, v)
    np.testing.assert_allclose(weights, ref_weights, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out, ref_out, rtol=1e-10, atol=1e-12)


def test_attention_default_scale_is_inverse_sqrt_dk(rng):
    q, k, v = make_qkv(rng, (2,))
    q *= 3
    default = helpers.scaled_dot_product_attention(q, k, v)
    explicit = helpers.scaled_dot_product_attention(q, k, v, scale=1 / math.sqrt(D_K))
    np.testing.assert_allclose(default[1], explicit[1], rtol=1e-14)
    # Not 1/d_k, not 1: those give different weights.
    for wrong in (1 / D_K, 1.0):
        assert not np.allclose(default[1], helpers.scaled_dot_product_attention(q, k, v, scale=wrong)[1])


@pytest.mark.parametrize("scale", [1.0, 0.1, 2.5])
def test_attention_custom_scale_matches_loop(rng, naive_attention, scale):
    q, k, v = make_qkv(rng, (2,))
    out, weights = helpers.scaled_dot_product_attention(q, k, v, scale=scale)
    ref_out, ref_weights = naive_attention(q, k, v, scale=scale)
    np.testing.assert_allclose(weights, ref_weights, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out, ref_out, rtol=1e-10, atol=1e-12)


def test_attention_uniform_weights_average_the_values(rng):
    """Identical keys give equal scores, so the output is the mean of the values."""
    q = rng.standard_normal((T, D_K))
    k = np.ones((S, D_K))
    v = rng.standard_normal((S, D_V))
    out, weights = helpers.scaled_dot_product_attention(q, k, v)
    np.testing.assert_allclose(weights, np.full((T, S), 1 / S), rtol=1e-12)
    np.testing.assert_allclose(out, np.tile(v.mean(axis=0), (T, 1)), rtol=1e-12)


def test_attention_large_scores_are_finite(rng):
    q, k, v = make_qkv(rng, (2,), dtype=np.float32)
    out, weights = helpers.scaled_dot_product_attention(q * 100, k * 100, v)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(weights))
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("batch", BATCH_SHAPES)
def test_attention_mask_matches_loop_and_is_respected(rng, naive_attention, batch):
    q, k, v = make_qkv(rng, batch)
    mask = rng.random(batch + (T, S)) < 0.6
    mask[..., 0] = True  # every query may see key 0, so no row is empty
    out, weights = helpers.scaled_dot_product_attention(q, k, v, mask=mask)
    assert np.all(weights[~mask] == 0.0)  # exactly zero, no leaked probability
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)
    ref_out, ref_weights = naive_attention(q, k, v, mask=mask)
    np.testing.assert_allclose(weights, ref_weights, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out, ref_out, rtol=1e-10, atol=1e-12)


def test_attention_mask_broadcasts_over_batch(rng, naive_attention):
    q, k, v = make_qkv(rng, (2, 3))
    mask = helpers.causal_mask(T, S)  # (T, S) for every batch entry
    _, weights = helpers.scaled_dot_product_attention(q, k, v, mask=mask)
    assert np.all(weights[..., ~mask] == 0.0)
    _, ref_weights = naive_attention(q, k, v, mask=mask)
    np.testing.assert_allclose(weights, ref_weights, rtol=1e-10, atol=1e-12)


def test_attention_mask_equals_dropping_the_keys(rng):
    """Masking keys is the same as deleting them (chapter 5)."""
    q, k, v = make_qkv(rng, ())
    keep = np.array([True, False, True, True, False, False, True])
    out, weights = helpers.scaled_dot_product_attention(q, k, v, mask=np.broadcast_to(keep, (T, S)))
    out_sub, weights_sub = helpers.scaled_dot_product_attention(q, k[keep], v[keep])
    np.testing.assert_allclose(out, out_sub, rtol=1e-12)
    np.testing.assert_allclose(weights[:, keep], weights_sub, rtol=1e-12)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_attention_fully_masked_row_gives_zeros(rng, dtype):
    q, k, v = make_qkv(rng, (2,), dtype=dtype)
    mask = np.ones((2, T, S), dtype=bool)
    mask[1, 3, :] = False  # batch entry 1, query 3: no allowed key
    out, weights = helpers.scaled_dot_product_attention(q, k, v, mask=mask)
    assert not np.any(np.isnan(out)) and not np.any(np.isnan(weights))
    np.testing.assert_array_equal(weights[1, 3], np.zeros(S))
    np.testing.assert_array_equal(out[1, 3], np.zeros(D_V))
    np.testing.assert_allclose(np.delete(weights[1], 3, axis=0).sum(axis=-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [None, 0.5, np.float64(0.5)])
def test_attention_keeps_dtype(rng, dtype, scale):
    q, k, v = make_qkv(rng, (2,), dtype=dtype)
    out, weights = helpers.scaled_dot_product_attention(q, k, v, mask=helpers.causal_mask(T, S), scale=scale)
    assert out.dtype == dtype
    assert weights.dtype == dtype


def test_attention_cross_attention_shapes(rng):
    """T queries over S keys; d_k and d_v differ."""
    q, k, v = make_qkv(rng, (2,), n_q=3, n_kv=11)
    out, weights = helpers.scaled_dot_product_attention(q, k, v)
    assert out.shape == (2, 3, D_V)
    assert weights.shape == (2, 3, 11)


def test_attention_does_not_modify_inputs(rng):
    q, k, v = make_qkv(rng, (2,))
    copies = [a.copy() for a in (q, k, v)]
    helpers.scaled_dot_product_attention(q, k, v, mask=helpers.causal_mask(T, S))
    for a, a0 in zip((q, k, v), copies):
        np.testing.assert_array_equal(a, a0)


@pytest.mark.parametrize(
    "q_shape, k_shape, v_shape, match",
    [
        ((D_K,), (S, D_K), (S, D_V), r"q must have shape \(\.\.\., T, d_k\) .* has shape \(4,\)"),
        ((T, D_K), (D_K,), (S, D_V), r"k must have shape \(\.\.\., S, d_k\) .* has shape \(4,\)"),
        ((T, D_K), (S, D_K), (D_V,), r"v must have shape \(\.\.\., S, d_v\) .* has shape \(3,\)"),
        ((T, D_K), (S, D_K + 1), (S, D_V), r"q has shape \(5, 4\) and k has shape \(7, 5\).*d_k"),
        ((T, D_K), (S, D_K), (S + 1, D_V), r"k has shape \(7, 4\) and v has shape \(8, 3\)"),
        ((2, T, D_K), (3, S, D_K), (3, S, D_V), r"do not broadcast: q\[\.\.\., :-2\] \(2,\), k\[\.\.\., :-2\] \(3,\)"),
    ],
)
def test_attention_rejects_bad_shapes(q_shape, k_shape, v_shape, match):
    with pytest.raises(ValueError, match=match):
        helpers.scaled_dot_product_attention(np.zeros(q_shape), np.zeros(k_shape), np.zeros(v_shape))


@pytest.mark.parametrize(
    "mask, match",
    [
        (np.ones((S, T), dtype=bool), r"mask has shape \(7, 5\), which does not broadcast to \(\.\.\., T, S\) = \(2, 5, 7\)"),
        (np.ones((3, T, S), dtype=bool), r"mask has shape \(3, 5, 7\).*\(2, 5, 7\)"),
        (np.ones((4, 2, T, S), dtype=bool), r"mask has shape \(4, 2, 5, 7\).*\(2, 5, 7\)"),
        (np.ones((T, S), dtype=int), r"mask must be boolean .* dtype int64 and shape \(5, 7\)"),
        (np.zeros((T, S)), r"mask must be boolean .* dtype float64 and shape \(5, 7\)"),
    ],
)
def test_attention_rejects_bad_masks(rng, mask, match):
    q, k, v = make_qkv(rng, (2,))
    with pytest.raises(ValueError, match=match):
        helpers.scaled_dot_product_attention(q, k, v, mask=mask)


def test_attention_rejects_array_scale(rng):
    q, k, v = make_qkv(rng, (2,))
    with pytest.raises(ValueError, match=r"scale must be a single number, but has shape \(5,\)"):
        helpers.scaled_dot_product_attention(q, k, v, scale=np.ones(T))
