"""Tests for helpers.tiled.tiled_attention, the online-softmax attention of chapter 9.

It must give the same output as scaled_dot_product_attention for every shape,
block size and mask, while holding only a (T, block_size) block of scores.
"""

import tracemalloc

import numpy as np
import pytest

from helpers import causal_mask, padding_mask, scaled_dot_product_attention
from helpers.tiled import tiled_attention

# (q batch, k batch, v batch, T, S, d_k, d_v): T != S, d_k != d_v, leading axes that broadcast
SHAPES = [
    ((), (), (), 5, 11, 3, 4),
    ((), (), (), 11, 5, 4, 3),  # more queries than keys
    ((2,), (2,), (2,), 7, 13, 6, 2),
    ((2, 3), (2, 1), (1, 1), 4, 9, 5, 7),  # kv shared across the second axis
    ((3,), (), (), 1, 17, 8, 5),  # one query, as in decoding
]
BLOCK_SIZES = [1, 2, 4, 5, 16, 1000]  # 1 key at a time, sizes that do and do not divide S, one block >= S


def qkv(rng, shape, dtype=np.float64):
    qb, kb, vb, t, s, d_k, d_v = shape
    q = rng.normal(size=qb + (t, d_k)).astype(dtype)
    k = rng.normal(size=kb + (s, d_k)).astype(dtype)
    v = rng.normal(size=vb + (s, d_v)).astype(dtype)
    return q, k, v


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("block_size", BLOCK_SIZES)
def test_tiled_equals_sdpa_without_mask(rng, shape, block_size):
    q, k, v = qkv(rng, shape)
    expected, _ = scaled_dot_product_attention(q, k, v)
    got = tiled_attention(q, k, v, block_size=block_size)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("t, s", [(6, 6), (4, 10), (1, 7)])
@pytest.mark.parametrize("block_size", [1, 3, 4, 64])
def test_tiled_equals_sdpa_with_a_causal_mask(rng, t, s, block_size):
    q, k, v = qkv(rng, ((2,), (2,), (2,), t, s, 5, 3))
    mask = causal_mask(t, s)  # queries are the last t of s positions
    expected, _ = scaled_dot_product_attention(q, k, v, mask=mask)
    np.testing.assert_allclose(tiled_attention(q, k, v, block_size, mask=mask), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("block_size", [1, 2, 3, 8])
def test_tiled_equals_sdpa_with_a_padding_mask(rng, block_size, naive_attention):
    q, k, v = qkv(rng, ((3, 2), (3, 2), (3, 2), 5, 7, 4, 6))  # B = 3, H = 2
    mask = padding_mask([7, 3, 1], 7)  # (B, 1, 1, S): size-1 axes are broadcast before slicing blocks
    expected, _ = scaled_dot_product_attention(q, k, v, mask=mask)
    got = tiled_attention(q, k, v, block_size, mask=mask)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got, naive_attention(q, k, v, mask=mask)[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("block_size", [1, 2, 5, 100])
def test_fully_masked_rows_give_zero_not_nan(rng, block_size):
    q, k, v = qkv(rng, ((), (), (), 4, 9, 3, 5))
    mask = rng.random((4, 9)) < 0.5
    mask[1] = False  # query 1 may see nothing
    mask[3, :6] = False  # query 3 sees only keys in the last block(s): its first blocks are all masked
    mask[3, 7] = True
    out, lse = tiled_attention(q, k, v, block_size, mask=mask, return_lse=True)
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out[1], 0)
    assert lse[1] == -np.inf
    np.testing.assert_allclose(out, scaled_dot_product_attention(q, k, v, mask=mask)[0], rtol=1e-12, atol=1e-12)


def test_a_mask_of_all_false_gives_all_zeros(rng):
    q, k, v = qkv(rng, ((2,), (2,), (2,), 3, 8, 4, 5))
    out = tiled_attention(q, k, v, 3, mask=np.zeros((3, 8), bool))
    np.testing.assert_array_equal(out, np.zeros((2, 3, 5)))


@pytest.mark.parametrize("block_size", [1, 4, 50])
def test_lse_is_the_log_sum_exp_of_the_scores(rng, block_size):
    q, k, v = qkv(rng, ((2,), (2,), (2,), 6, 11, 4, 3))
    mask = causal_mask(6, 11)
    scale = 0.7
    scores = np.where(mask, q @ np.swapaxes(k, -1, -2) * scale, -np.inf)
    top = scores.max(-1, keepdims=True)
    expected = (top + np.log(np.exp(scores - top).sum(-1, keepdims=True)))[..., 0]
    out, lse = tiled_attention(q, k, v, block_size, mask=mask, scale=scale, return_lse=True)
    np.testing.assert_allclose(lse, expected, rtol=1e-12)
    np.testing.assert_allclose(out, scaled_dot_product_attention(q, k, v, mask=mask, scale=scale)[0], rtol=1e-12, atol=1e-12)


def test_large_scores_do_not_overflow(rng):
    q, k, v = qkv(rng, ((), (), (), 4, 10, 3, 2))
    q *= 1000  # scores of size ~1e3: exp would overflow without the running maximum
    out = tiled_attention(q, k, v, block_size=3)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, scaled_dot_product_attention(q, k, v)[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype, atol", [(np.float32, 2e-6), (np.float64, 1e-12)])
def test_dtype_is_kept(rng, dtype, atol):
    q, k, v = qkv(rng, ((2,), (2,), (2,), 5, 12, 8, 3), dtype)
    mask = causal_mask(5, 12)
    out, lse = tiled_attention(q, k, v, 5, mask=mask, return_lse=True)
    assert out.dtype == dtype and lse.dtype == dtype
    np.testing.assert_allclose(out, scaled_dot_product_attention(q, k, v, mask=mask)[0], rtol=0, atol=atol)


def test_the_default_scale_is_one_over_sqrt_d_k(rng):
    q, k, v = qkv(rng, ((), (), (), 3, 6, 16, 2))
    np.testing.assert_allclose(tiled_attention(q, k, v, 4), tiled_attention(q, k, v, 4, scale=0.25), rtol=1e-14)
    assert not np.allclose(tiled_attention(q, k, v, 4), tiled_attention(q, k, v, 4, scale=1.0))


def test_inputs_are_not_modified(rng):
    q, k, v = qkv(rng, ((2,), (2,), (2,), 4, 6, 3, 5))
    copies = [a.copy() for a in (q, k, v)]
    tiled_attention(q, k, v, 4, mask=causal_mask(4, 6))
    for a, b in zip((q, k, v), copies):
        np.testing.assert_array_equal(a, b)


def test_peak_memory_is_a_fraction_of_the_untiled_one(rng):
    t = s = 1024
    q, k, v = (rng.standard_normal((t, 32), dtype=np.float32) for _ in range(3))

    def peak(fn):
        tracemalloc.start()
        try:
            fn()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    untiled = peak(lambda: scaled_dot_product_attention(q, k, v))
    tiled = peak(lambda: tiled_attention(q, k, v, block_size=64))
    assert untiled > t * s * 4  # the (T, S) float32 scores
    assert tiled < 0.25 * untiled


@pytest.mark.parametrize("block_size", [0, -3, 2.5, "8"])
def test_rejects_a_bad_block_size(block_size):
    with pytest.raises(ValueError, match="block_size must be a positive integer"):
        tiled_attention(np.ones((2, 3)), np.ones((4, 3)), np.ones((4, 5)), block_size=block_size)


@pytest.mark.parametrize("q_shape, k_shape, v_shape, message", [
    ((2, 3), (4, 5), (4, 6), r"q has shape \(2, 3\) and k has shape \(4, 5\): their last axes \(d_k\) must match"),
    ((2, 3), (4, 3), (5, 6), r"k has shape \(4, 3\) and v has shape \(5, 6\): they must have the same number of keys S"),
    ((3,), (4, 3), (4, 6), r"q must have shape \(\.\.\., T, d_k\)"),
    ((2, 2, 3), (3, 4, 3), (3, 4, 6), r"shapes do not broadcast"),
])
def test_rejects_mismatched_shapes(q_shape, k_shape, v_shape, message):
    with pytest.raises(ValueError, match=message):
        tiled_attention(np.ones(q_shape), np.ones(k_shape), np.ones(v_shape))


def test_rejects_a_bad_mask_or_scale():
    q, k, v = np.ones((2, 3)), np.ones((4, 3)), np.ones((4, 5))
    with pytest.raises(ValueError, match=r"mask has shape \(2, 3\), which does not broadcast to \(\.\.\., T, S\) = \(2, 4\)"):
        tiled_attention(q, k, v, mask=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="mask must be boolean"):
        tiled_attention(q, k, v, mask=np.ones((2, 4)))
    with pytest.raises(ValueError, match="scale must be a single number"):
        tiled_attention(q, k, v, scale=[1.0, 2.0])
