"""The helpers at their edges (issue 9): no keys, overflowing scores, garbage behind a mask, float16, bad scalars.

The two attention functions share every rule, so most tests run on both:
``scaled_dot_product_attention`` (out, weights) and ``tiled_attention``
(out only), wrapped to return ``out``.
"""

import numpy as np
import pytest

import helpers
import helpers.cost
from helpers import block, grad, norms
from helpers import multi_head_attention, scaled_dot_product_attention, softmax, tiled_attention
from helpers.projections import linear


def sdpa_out(q, k, v, mask=None, scale=None):
    return scaled_dot_product_attention(q, k, v, mask=mask, scale=scale)[0]


def tiled_out(q, k, v, mask=None, scale=None):
    return tiled_attention(q, k, v, block_size=3, mask=mask, scale=scale)


ATTENTION = [pytest.param(sdpa_out, id="sdpa"), pytest.param(tiled_out, id="tiled")]


def qkv(rng, t=5, s=7, d_k=4, d_v=3, batch=(2,), dtype=np.float64):
    return tuple(rng.standard_normal(batch + shape).astype(dtype) for shape in ((t, d_k), (s, d_k), (s, d_v)))


# ---------------------------------------------------------------- softmax


@pytest.mark.parametrize("shape, axis", [((3, 0), -1), ((0,), 0), ((2, 0, 4), 1)])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_softmax_over_an_empty_axis_is_empty_not_an_error(shape, axis, dtype):
    weights = softmax(np.zeros(shape, dtype), axis=axis)
    assert weights.shape == shape and weights.dtype == dtype


def test_softmax_over_a_full_axis_of_an_empty_array_keeps_the_shape():
    assert softmax(np.zeros((0, 4))).shape == (0, 4)


@pytest.mark.parametrize("scores", [3.0, np.float32(2), np.array(1.5)])
def test_softmax_of_a_single_number_is_a_value_error(scores):
    with pytest.raises(ValueError, match="scores must have at least one axis"):
        softmax(scores)


@pytest.mark.parametrize("axis, match", [(2, r"axis 2 is out of range for scores with 2 axes"),
                                         (-3, r"axis -3 is out of range"),
                                         (True, "axis must be an integer, got the bool True"),
                                         (1.0, "axis must be an integer, got 1.0")])
def test_softmax_rejects_a_bad_axis(axis, match):
    with pytest.raises(ValueError, match=match):
        softmax(np.zeros((2, 3)), axis=axis)


def test_softmax_of_nan_is_a_value_error():
    with pytest.raises(ValueError, match=r"hold NaN in 1 of 2 rows"):
        softmax(np.array([[0.0, 1.0], [np.nan, 1.0]]))


@pytest.mark.filterwarnings("error")
def test_softmax_shares_a_row_among_its_plus_inf_entries():
    weights = softmax(np.array([[np.inf, 1.0, np.inf, -np.inf], [0.0, np.inf, 5.0, 1e300]]))
    np.testing.assert_array_equal(weights, [[0.5, 0, 0.5, 0], [0, 1, 0, 0]])


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_softmax_of_the_largest_finite_numbers_is_finite(dtype):
    big = np.finfo(dtype).max
    weights = softmax(np.array([big, -big, big, 0], dtype))
    assert weights.dtype == dtype
    np.testing.assert_array_equal(weights, np.array([0.5, 0, 0.5, 0], dtype))


def test_softmax_keeps_float16_and_computes_it_in_float32():
    """Summing 70000 exps of 0 gives 70000 > 65504, the largest float16: float16 arithmetic would say inf."""
    weights = softmax(np.zeros(70000, np.float16))
    assert weights.dtype == np.float16
    np.testing.assert_array_equal(weights, np.float16(1 / 70000))


def test_softmax_overwrite_of_float16_writes_into_its_memory():
    scores = np.array([[0.0, 1.0, 2.0]], np.float16)
    expected = softmax(scores)
    out = softmax(scores, overwrite=True)
    assert out is scores and out.dtype == np.float16
    np.testing.assert_array_equal(out, expected)


# ---------------------------------------------------------------- attention: no keys


@pytest.mark.parametrize("attend", ATTENTION)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("with_mask", [False, True])
def test_no_keys_gives_zeros_of_the_right_shape(rng, attend, dtype, with_mask):
    q, k, v = qkv(rng, s=0, dtype=dtype)
    mask = np.ones((5, 0), bool) if with_mask else None
    out = attend(q, k, v, mask=mask)
    assert out.shape == (2, 5, 3) and out.dtype == dtype
    np.testing.assert_array_equal(out, 0)


def test_no_keys_gives_empty_weights():
    out, weights = scaled_dot_product_attention(np.ones((3, 2)), np.ones((0, 2)), np.ones((0, 4)))
    assert weights.shape == (3, 0) and out.shape == (3, 4)


@pytest.mark.parametrize("attend", ATTENTION)
def test_no_queries_gives_an_empty_output(rng, attend):
    q, k, v = qkv(rng, t=0)
    assert attend(q, k, v).shape == (2, 0, 3)


@pytest.mark.parametrize("h, h_kv", [(3, 3), (3, 1)])
def test_cross_attention_with_an_empty_context_gives_the_output_bias(rng, h, h_kv):
    d_model, d = 8, 2
    x = rng.standard_normal((2, 5, d_model))
    w_q, w_o = rng.standard_normal((d_model, h * d)), rng.standard_normal((h * d, d_model))
    w_k, w_v = (rng.standard_normal((d_model, h_kv * d)) for _ in range(2))
    b_o = rng.standard_normal(d_model)
    out, weights = multi_head_attention(x, w_q, w_k, w_v, w_o, num_heads=h, num_kv_heads=h_kv,
                                        context=np.zeros((2, 0, d_model)), b_o=b_o)
    assert out.shape == (2, 5, d_model) and weights.shape == (2, h, 5, 0)
    np.testing.assert_array_equal(out, np.broadcast_to(b_o, out.shape))


# ---------------------------------------------------------------- attention: scores that overflow


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("attend", ATTENTION)
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_float32_scores_that_overflow_are_computed_in_float64(attend, dtype):
    """q = k = 1e30 in float32: the scores (1e60) overflow float32 but not float64. float16: 6e4 * 6e4."""
    big = 1e30 if dtype == np.float32 else 6e4
    q = np.array([[big], [-big], [big / 2]], dtype)
    v = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], dtype)
    out = attend(q, q, v)
    expected, _ = scaled_dot_product_attention(q.astype(np.float64), q.astype(np.float64), v.astype(np.float64))
    assert out.dtype == dtype and np.isfinite(out).all()
    np.testing.assert_allclose(out, expected, rtol=1e-3)
    np.testing.assert_array_equal(out[0], v[0])  # the largest score wins outright


@pytest.mark.filterwarnings("error")
def test_overflowing_weights_sum_to_one_and_ties_share():
    q = np.full((2, 3), 1e30, np.float32)
    out, weights = scaled_dot_product_attention(q, q, np.eye(2, dtype=np.float32))
    assert weights.dtype == np.float32
    np.testing.assert_array_equal(weights, 0.5)
    np.testing.assert_array_equal(out, 0.5)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("attend", ATTENTION)
@pytest.mark.parametrize("masked", [False, True])
def test_float64_scores_that_overflow_are_a_value_error(attend, masked):
    q = np.full((2, 2), 1e200)
    mask = np.array([[True, False], [True, True]]) if masked else None
    with pytest.raises(ValueError, match=r"the scores q k\^T \* scale overflow float64"):
        attend(q, q, np.ones((2, 3)), mask=mask)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("attend", ATTENTION)
def test_float64_overflow_at_masked_positions_only_is_fine(attend):
    q = np.array([[1e200], [1.0]])
    k = np.array([[1e200], [1.0]])
    mask = np.array([[False, True], [True, True]])  # query 0 never meets the huge key
    out = attend(q, k, np.array([[1.0], [2.0]]), mask=mask)
    np.testing.assert_array_equal(out[0], [2.0])


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("attend", ATTENTION)
def test_a_huge_scale_on_float64_is_a_value_error(rng, attend):
    q, k, v = qkv(rng)
    with pytest.raises(ValueError, match="overflow float64"):
        attend(q, k, v, scale=1e308)


def test_tiled_lse_that_does_not_fit_float32_is_a_value_error():
    q = np.full((2, 1), 1e30, np.float32)
    assert np.isfinite(tiled_attention(q, q, q)).all()
    with pytest.raises(ValueError, match="log-sum-exp of these scores .* does not fit in float32"):
        tiled_attention(q, q, q, return_lse=True)


# ---------------------------------------------------------------- attention: what a mask hides never leaks


def cache_like(rng, fill, dtype=np.float64):
    """Query 0..3 see keys 0..4; key 5 and 6 are unused cache slots holding ``fill`` in k and v."""
    q, k, v = qkv(rng, t=4, dtype=dtype)
    mask = np.zeros((4, 7), bool)
    mask[:, :5] = True
    k_bad, v_bad = k.copy(), v.copy()
    k_bad[:, 5:], v_bad[:, 5:] = fill, fill
    return q, k, v, k_bad, v_bad, mask


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("attend", ATTENTION + [pytest.param(lambda q, k, v, mask: scaled_dot_product_attention(
    q, k, v, mask=mask)[1], id="sdpa-weights")])
@pytest.mark.parametrize("fill", ["nan", "inf", "-inf", "max"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_garbage_in_masked_keys_and_values_never_reaches_the_output(rng, attend, fill, dtype):
    fill = np.finfo(dtype).max if fill == "max" else float(fill)  # "max": finite, but its scores overflow
    q, k, v, k_bad, v_bad, mask = cache_like(rng, fill, dtype)
    clean = attend(q, k, v, mask=mask)
    dirty = attend(q, k_bad, v_bad, mask=mask)
    assert dirty.dtype == dtype
    if fill == np.finfo(dtype).max and dtype == np.float32:  # the bound sends it to float64: rounding differs
        np.testing.assert_allclose(dirty, clean, rtol=1e-6, atol=1e-6)
    else:
        np.testing.assert_array_equal(dirty, clean)  # exactly: the garbage plays no part at all


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("attend", ATTENTION)
def test_garbage_in_a_query_with_no_allowed_key_gives_zeros(rng, attend):
    q, k, v = qkv(rng, batch=())
    q[2] = np.nan
    mask = np.ones((5, 7), bool)
    mask[2] = False
    out = attend(q, k, v, mask=mask)
    np.testing.assert_array_equal(out[2], 0)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("attend", ATTENTION)
@pytest.mark.parametrize("name, letters", [("q", "T"), ("k", "S"), ("v", "S")])
def test_nan_where_the_mask_allows_it_is_a_value_error(rng, attend, name, letters):
    arrays = dict(zip("qkv", qkv(rng)))
    arrays[name][1, 2, 0] = np.nan
    mask = np.ones((5, 7), bool)
    with pytest.raises(ValueError, match=rf"{name} holds NaN or inf in row \(1, 2\) of its \(\.\.\., {letters}\) "
                                         r".*which the mask lets some"):
        attend(**arrays, mask=mask)
    with pytest.raises(ValueError, match=rf"{name} holds NaN or inf .* there is no mask to hide it"):
        attend(**arrays)


def test_multi_head_attention_ignores_garbage_in_masked_context_tokens(rng):
    d_model, h, h_kv, d = 6, 4, 2, 3
    x = rng.standard_normal((1, 3, d_model))
    context = rng.standard_normal((1, 5, d_model))
    w_q, w_o = rng.standard_normal((d_model, h * d)), rng.standard_normal((h * d, d_model))
    w_k, w_v = (rng.standard_normal((d_model, h_kv * d)) for _ in range(2))
    mask = helpers.padding_mask([3], 5)  # context tokens 3 and 4 are padding
    dirty = context.copy()
    dirty[0, 3:] = np.nan
    run = lambda c: multi_head_attention(x, w_q, w_k, w_v, w_o, num_heads=h, num_kv_heads=h_kv, context=c, mask=mask)
    clean_out, clean_weights = run(context)
    dirty_out, dirty_weights = run(dirty)
    np.testing.assert_array_equal(dirty_out, clean_out)
    np.testing.assert_array_equal(dirty_weights, clean_weights)


# ---------------------------------------------------------------- attention: the scale


@pytest.mark.parametrize("attend", ATTENTION)
@pytest.mark.parametrize("scale, match", [
    (np.inf, "scale must be finite, got inf"), (-np.inf, "scale must be finite, got -inf"),
    (np.nan, "scale must be finite, got nan"), (True, "scale must be a real number, got True"),
    (np.True_, "scale must be a real number"), ("0.5", "scale must be a real number, got '0.5'"),
    (1j, "scale must be a real number, got 1j"), ([0.5], r"scale must be a single number, but has shape \(1,\)"),
])
def test_scale_must_be_one_finite_real_number(rng, attend, scale, match):
    q, k, v = qkv(rng)
    with pytest.raises(ValueError, match=match):
        attend(q, k, v, scale=scale)


@pytest.mark.parametrize("attend", ATTENTION)
def test_scale_accepts_ints_numpy_numbers_and_zero(rng, naive_attention, attend):
    q, k, v = qkv(rng)
    for scale in (2, np.float32(0.5), np.int64(1), 0.0):
        np.testing.assert_allclose(attend(q, k, v, scale=scale), naive_attention(q, k, v, scale=float(scale))[0],
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("attend", ATTENTION)
def test_the_default_scale_needs_d_k_of_at_least_one(attend):
    with pytest.raises(ValueError, match=r"the default scale 1/sqrt\(d_k\) needs d_k >= 1"):
        attend(np.ones((2, 0)), np.ones((3, 0)), np.ones((3, 4)))
    np.testing.assert_allclose(attend(np.ones((2, 0)), np.ones((3, 0)), np.eye(3), scale=1.0), 1 / 3)


# ---------------------------------------------------------------- float16


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("attend", ATTENTION)
def test_attention_keeps_float16(rng, attend):
    q, k, v = qkv(rng, dtype=np.float16)
    mask = helpers.causal_mask(5, 7)
    out = attend(q, k, v, mask=mask)
    expected, _ = scaled_dot_product_attention(*(a.astype(np.float64) for a in (q, k, v)), mask=mask)
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.astype(np.float64), expected, rtol=0, atol=2e-3)


def test_attention_weights_keep_float16(rng):
    _, weights = scaled_dot_product_attention(*qkv(rng, dtype=np.float16))
    assert weights.dtype == np.float16


def test_mixed_float16_and_float32_give_float32(rng):
    q, k, v = qkv(rng)
    out, weights = scaled_dot_product_attention(q.astype(np.float16), k.astype(np.float32), v.astype(np.float16))
    assert out.dtype == weights.dtype == np.float32


@pytest.mark.filterwarnings("error")
def test_multi_head_attention_keeps_float16(rng):
    d_model, h, h_kv, d = 8, 4, 2, 2
    x = rng.standard_normal((2, 5, d_model))
    ws = [rng.standard_normal(shape) for shape in ((d_model, h * d), (d_model, h_kv * d), (d_model, h_kv * d),
                                                   (h * d, d_model))]
    half = [a.astype(np.float16) for a in [x] + ws]
    out, weights = multi_head_attention(*half, num_heads=h, num_kv_heads=h_kv)
    expected, _ = multi_head_attention(*(a.astype(np.float64) for a in half), num_heads=h, num_kv_heads=h_kv)
    assert out.dtype == weights.dtype == np.float16
    np.testing.assert_allclose(out.astype(np.float64), expected, rtol=0, atol=2e-2 * np.abs(expected).max())


@pytest.mark.filterwarnings("error")
def test_linear_keeps_float16_and_sums_in_float32():
    """4000 products of 1 * 10 sum to 40000: float16 partial sums would round it, float32 ones do not."""
    x = np.ones((1, 4000), np.float16)
    y = linear(x, np.full((4000, 2), 10, np.float16))
    assert y.dtype == np.float16 and y[0, 0] == 40000


def test_linear_result_beyond_float16_is_inf_as_in_numpy():
    with pytest.warns(RuntimeWarning, match="overflow"):
        y = linear(np.ones((1, 4000), np.float16), np.full((4000, 1), 20, np.float16))
    assert y.dtype == np.float16 and y[0, 0] == np.inf


def test_linear_passes_nan_input_through():
    """NaN in, NaN out: only finite inputs must give finite results."""
    y = linear(np.array([[np.nan, 1.0]]), np.array([[1.0], [2.0]]))
    assert np.isnan(y).all()


def test_linear_with_no_input_dimensions_gives_the_bias():
    np.testing.assert_array_equal(linear(np.ones((3, 0)), np.ones((0, 2)), np.array([1.0, 2.0])), [[1, 2]] * 3)


# ---------------------------------------------------------------- bools are not ints; ragged lists


@pytest.mark.parametrize("call, match", [
    (lambda: helpers.causal_mask(True), "n_q must be a positive integer, got the bool True"),
    (lambda: helpers.causal_mask(3, np.True_), "n_kv must be a positive integer, got the bool True"),
    (lambda: helpers.padding_mask([1], True), "n_kv must be a positive integer, got the bool True"),
    (lambda: helpers.split_heads(np.ones((2, 4)), True), "num_heads must be a positive integer, got the bool True"),
    (lambda: helpers.repeat_kv(np.ones((1, 2, 3)), True), "n_rep must be a positive integer, got the bool True"),
    (lambda: tiled_attention(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)), block_size=True),
     "block_size must be a positive integer, got the bool True"),
    (lambda: multi_head_attention(np.ones((2, 4)), np.ones((4, 4)), np.ones((4, 4)), np.ones((4, 4)),
                                  np.ones((4, 4)), num_heads=True), "num_heads must be a positive integer"),
    (lambda: multi_head_attention(np.ones((2, 4)), np.ones((4, 4)), np.ones((4, 4)), np.ones((4, 4)),
                                  np.ones((4, 4)), num_heads=2, num_kv_heads=False),
     "num_kv_heads must be a positive integer, got the bool False"),
    (lambda: helpers.cost.mha_costs(1, 2, 2, 4, True, 1, 4), "H must be a positive integer, got the bool True"),
])
def test_a_bool_is_not_an_integer(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call, name", [
    (lambda ragged: softmax(ragged), "scores"),
    (lambda ragged: linear(ragged, np.ones((2, 2))), "x"),
    (lambda ragged: scaled_dot_product_attention(ragged, np.ones((2, 2)), np.ones((2, 2))), "q"),
    (lambda ragged: helpers.split_heads(ragged, 1), "x"),
    (lambda ragged: scaled_dot_product_attention(np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2)), mask=ragged),
     "mask"),
])
def test_a_ragged_list_is_a_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"{name} must be an array of numbers, but numpy cannot make one"):
        call([[1.0, 2.0], [3.0]])



FLOAT16_CASES = {
    "layer_norm": lambda x: norms.layer_norm(x, np.ones(8, np.float16), np.zeros(8, np.float16)),
    "rms_norm": lambda x: norms.rms_norm(x, np.ones(8, np.float16)),
    "apply_rope": lambda x: helpers.apply_rope(x, np.arange(4)),
    "gelu": lambda x: block.gelu(x),
    "gelu_tanh": lambda x: block.gelu_tanh(x),
    "silu": lambda x: block.silu(x),
    "softmax_backward": lambda x: grad.softmax_backward(helpers.softmax(x), x),
    "sdpa_backward": lambda x: grad.scaled_dot_product_attention_backward(x, x, x, x)[2],
}


@pytest.mark.parametrize("name", sorted(FLOAT16_CASES))
def test_float16_in_float16_out_in_the_other_modules(name):
    """norms, rope, block and grad compute float16 in float32 but return float16, as the docstrings say."""
    x = np.random.default_rng(3).normal(size=(4, 8)).astype(np.float16)
    out = FLOAT16_CASES[name](x)
    assert out.dtype == np.float16, f"{name} returned {out.dtype} for float16 input"
    assert np.all(np.isfinite(out))
    assert FLOAT16_CASES[name](x.astype(np.float32)).dtype == np.float32
