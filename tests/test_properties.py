"""Property-based tests of the core helpers (issue 9), with hypothesis.

Random shapes (T = 1 and S = 0 included), masks, float32 and float64, and GQA
ratios. The profile loaded in tests/conftest.py makes every run draw the same
examples (``derandomize=True``), so CI never flakes.

Every reference here is written independently of the helper it checks: the
plain Python loop of tests/conftest.py for attention, and for GQA an explicit
loop over query heads, each picking its own key/value head.
"""

import math

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import helpers

DTYPES = st.sampled_from([np.float32, np.float64])
# float32 rounding of scores of size <= ~50 moves a weight by ~1e-5; float64 by ~1e-13
TOL = {np.float32: dict(rtol=2e-4, atol=2e-4), np.float64: dict(rtol=1e-9, atol=1e-10)}


def arrays(dtype, shape, bound=4.0):
    """Finite arrays with entries in [-bound, bound]."""
    return hnp.arrays(dtype, shape, elements=st.floats(-bound, bound, width=np.dtype(dtype).itemsize * 8))


@st.composite
def attention_inputs(draw, max_batch_dims=2):
    """(q, k, v, mask or None): q (..., T, d_k), k (..., S, d_k), v (..., S, d_v) with T >= 1 and S >= 0."""
    dtype = draw(DTYPES)
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=max_batch_dims, min_side=1, max_side=3))
    t, s = draw(st.integers(1, 5)), draw(st.integers(0, 6))
    d_k, d_v = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    q = draw(arrays(dtype, batch + (t, d_k)))
    k = draw(arrays(dtype, batch + (s, d_k)))
    v = draw(arrays(dtype, batch + (s, d_v)))
    mask = draw(st.none() | hnp.arrays(np.bool_, st.sampled_from([(t, s), batch + (t, s)])))
    return q, k, v, mask


# ---------------------------------------------------------------- softmax


@st.composite
def score_arrays(draw):
    """Finite scores of any size the dtype holds, some entries -inf (masked); shapes with empty axes included."""
    dtype = draw(DTYPES)
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6))
    big = float(np.finfo(dtype).max)
    scores = draw(hnp.arrays(dtype, shape, elements=st.floats(-big, big, width=np.dtype(dtype).itemsize * 8)
                             | st.just(-math.inf)))
    return scores, draw(st.integers(-len(shape), len(shape) - 1))


@given(score_arrays())
def test_softmax_rows_sum_to_one_and_are_never_nan(case):
    scores, axis = case
    weights = helpers.softmax(scores, axis=axis)
    assert weights.shape == scores.shape and weights.dtype == scores.dtype
    assert not np.isnan(weights).any()
    assert ((weights >= 0) & (weights <= 1)).all()
    sums = weights.astype(np.float64).sum(axis=axis)
    all_masked = (scores == -np.inf).all(axis=axis)  # also True for an empty axis: nothing to weigh
    n = max(scores.shape[axis], 1)
    np.testing.assert_allclose(sums[~all_masked], 1.0, rtol=0, atol=n * 4 * np.finfo(scores.dtype).eps)
    np.testing.assert_array_equal(sums[all_masked], 0.0)


# ---------------------------------------------------------------- scaled dot-product attention


@given(attention_inputs())
def test_scaled_dot_product_attention_equals_a_plain_loop(naive_attention, case):
    """The reference is tests/conftest.py's: plain Python loops over batch entries, queries and keys, math.exp."""
    q, k, v, mask = case
    out, weights = helpers.scaled_dot_product_attention(q, k, v, mask=mask)
    ref_out, ref_weights = naive_attention(q, k, v, mask=mask)
    assert out.dtype == weights.dtype == q.dtype
    assert out.shape == ref_out.shape and weights.shape == ref_weights.shape
    np.testing.assert_allclose(weights, ref_weights, **TOL[q.dtype.type])
    np.testing.assert_allclose(out, ref_out, **TOL[q.dtype.type])


@given(attention_inputs(), st.integers(1, 7))
def test_tiled_attention_equals_scaled_dot_product_attention(case, block_size):
    q, k, v, mask = case
    expected, _ = helpers.scaled_dot_product_attention(q, k, v, mask=mask)
    got = helpers.tiled_attention(q, k, v, block_size=block_size, mask=mask)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, **TOL[q.dtype.type])


# ---------------------------------------------------------------- heads


@st.composite
def head_inputs(draw):
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    t, h, d = draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    x = draw(arrays(draw(DTYPES), batch + (t, h * d)))
    return x, h


@given(head_inputs())
def test_split_heads_and_merge_heads_are_inverses(case):
    x, h = case
    heads = helpers.split_heads(x, h)
    assert heads.shape == x.shape[:-2] + (h, x.shape[-2], x.shape[-1] // h)
    np.testing.assert_array_equal(helpers.merge_heads(heads), x)
    np.testing.assert_array_equal(helpers.split_heads(helpers.merge_heads(heads), h), heads)


@st.composite
def gqa_inputs(draw):
    """x (..., T, D), context (..., S, D) or None, weights for H query heads sharing H_kv = H / ratio kv heads."""
    dtype = draw(DTYPES)
    h_kv, ratio = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    h, d, d_model = h_kv * ratio, draw(st.integers(1, 3)), draw(st.integers(1, 5))
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=1, min_side=1, max_side=2))
    t = draw(st.integers(1, 4))
    x = draw(arrays(dtype, batch + (t, d_model), bound=2.0))
    context = draw(st.none() | arrays(dtype, batch + (draw(st.integers(0, 5)), d_model), bound=2.0))
    w_q = draw(arrays(dtype, (d_model, h * d), bound=1.0))
    w_k, w_v = (draw(arrays(dtype, (d_model, h_kv * d), bound=1.0)) for _ in range(2))
    w_o = draw(arrays(dtype, (h * d, d_model), bound=1.0))
    s = t if context is None else context.shape[-2]
    mask = draw(st.none() | hnp.arrays(np.bool_, (t, s)))
    return x, context, (w_q, w_k, w_v, w_o), h, h_kv, mask


@given(gqa_inputs())
def test_grouped_query_attention_equals_each_query_head_with_its_own_kv_head(naive_attention, case):
    x, context, (w_q, w_k, w_v, w_o), h, h_kv, mask = case
    out, weights = helpers.multi_head_attention(x, w_q, w_k, w_v, w_o, num_heads=h, num_kv_heads=h_kv,
                                                context=context, mask=mask)
    source = x if context is None else context
    d = w_q.shape[1] // h
    group = h // h_kv  # query heads per kv head
    head_outs, head_weights = [], []
    for head in range(h):  # query head `head` reads kv head head // group, its columns of w_k and w_v
        kv = head // group
        q_h = x @ w_q[:, head * d:(head + 1) * d]
        k_h = source @ w_k[:, kv * d:(kv + 1) * d]
        v_h = source @ w_v[:, kv * d:(kv + 1) * d]
        o, a = naive_attention(q_h, k_h, v_h, mask=mask)
        head_outs.append(o)
        head_weights.append(a)
    expected = np.concatenate(head_outs, axis=-1) @ w_o.astype(np.float64)
    tol = TOL[x.dtype.type]
    np.testing.assert_allclose(weights, np.stack(head_weights, axis=-3), **tol)
    np.testing.assert_allclose(out, expected, rtol=tol["rtol"], atol=tol["atol"] * (1 + np.abs(expected).max()))


# ---------------------------------------------------------------- RoPE


@given(st.integers(1, 4).map(lambda half: 2 * half), st.integers(0, 500), st.integers(0, 500),
       st.integers(-200, 200), st.data())
def test_the_rope_score_depends_only_on_the_offset(d, m, n, shift, data):
    """q at position m and k at position n give the same score as at m + shift and n + shift."""
    assume(m + shift >= 0 and n + shift >= 0)
    q = data.draw(arrays(np.float64, (1, d)))
    k = data.draw(arrays(np.float64, (1, d)))

    def score(pos_q, pos_k):
        return float(helpers.apply_rope(q, [pos_q])[0] @ helpers.apply_rope(k, [pos_k])[0])

    size = float(np.linalg.norm(q) * np.linalg.norm(k))
    assert math.isclose(score(m, n), score(m + shift, n + shift), rel_tol=1e-9, abs_tol=1e-9 * (1 + size))
    assert math.isclose(score(m, n), score(m - n + 700, 700), rel_tol=1e-9, abs_tol=1e-9 * (1 + size))
