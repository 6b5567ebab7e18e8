"""Tests for helpers.linear (chapter 1), plus docstring checks for the public math helpers."""

import numpy as np
import pytest

import helpers

BATCH_SHAPES = [(), (2,), (2, 3)]  # leading axes: none, one, two

D_IN, D_OUT = 7, 4  # different, so a transposed weight cannot pass


def naive_linear(x, w, b=None):
    """y[..., j] = sum_i x[..., i] * w[i, j] + b[j], one output number at a time."""
    x = np.asarray(x, dtype=np.float64)
    y = np.zeros(x.shape[:-1] + (w.shape[1],))
    for idx in np.ndindex(*x.shape[:-1]):
        for j in range(w.shape[1]):
            y[idx + (j,)] = sum(x[idx + (i,)] * w[i, j] for i in range(w.shape[0])) + (0.0 if b is None else b[j])
    return y


@pytest.mark.parametrize("lead", [()] + [bs + (5,) for bs in BATCH_SHAPES])
@pytest.mark.parametrize("with_bias", [False, True])
def test_linear_matches_loop(rng, lead, with_bias):
    x = rng.standard_normal(lead + (D_IN,))
    w = rng.standard_normal((D_IN, D_OUT))
    b = rng.standard_normal(D_OUT) if with_bias else None
    y = helpers.linear(x, w, b)
    assert y.shape == lead + (D_OUT,)
    np.testing.assert_allclose(y, naive_linear(x, w, b), rtol=1e-12, atol=1e-12)


def test_linear_matches_nn_linear_convention(rng):
    """A PyTorch-style weight (d_out, d_in) is used as weight.T."""
    x = rng.standard_normal((5, D_IN))
    weight = rng.standard_normal((D_OUT, D_IN))
    y = helpers.linear(x, weight.T)
    np.testing.assert_allclose(y, np.stack([weight @ row for row in x]), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_keeps_dtype(rng, dtype):
    x = rng.standard_normal((2, 5, D_IN)).astype(dtype)
    w = rng.standard_normal((D_IN, D_OUT)).astype(dtype)
    b = rng.standard_normal(D_OUT).astype(dtype)
    assert helpers.linear(x, w).dtype == dtype
    assert helpers.linear(x, w, b).dtype == dtype


def test_linear_integer_input_becomes_float64():
    y = helpers.linear(np.arange(D_IN), np.ones((D_IN, D_OUT), dtype=int))
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, np.full(D_OUT, sum(range(D_IN))))


def test_linear_does_not_modify_inputs(rng):
    x = rng.standard_normal((5, D_IN))
    w = rng.standard_normal((D_IN, D_OUT))
    b = rng.standard_normal(D_OUT)
    x0, w0, b0 = x.copy(), w.copy(), b.copy()
    helpers.linear(x, w, b)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)
    np.testing.assert_array_equal(b, b0)


@pytest.mark.parametrize(
    "x_shape, w_shape, b_shape, match",
    [
        ((5, D_IN), (D_OUT, D_IN), None, r"w has shape \(4, 7\) but x has shape \(5, 7\)"),
        ((5, D_IN), (D_IN,), None, r"w must be a 2-D matrix .* has shape \(7,\)"),
        ((5, D_IN), (1, D_IN, D_OUT), None, r"w must be a 2-D matrix .* has shape \(1, 7, 4\)"),
        ((), (D_IN, D_OUT), None, r"x must have shape \(\.\.\., d_in\) .* has shape \(\)"),
        ((5, D_IN), (D_IN, D_OUT), (D_IN,), r"b has shape \(7,\) but w has shape \(7, 4\)"),
        ((5, D_IN), (D_IN, D_OUT), (1, D_OUT), r"b has shape \(1, 4\) .* \(d_out,\) = \(4,\)"),
    ],
)
def test_linear_rejects_bad_shapes(x_shape, w_shape, b_shape, match):
    b = None if b_shape is None else np.zeros(b_shape)
    with pytest.raises(ValueError, match=match):
        helpers.linear(np.zeros(x_shape), np.zeros(w_shape), b)


def test_linear_rejects_complex_input():
    with pytest.raises(ValueError, match=r"x must hold real numbers.*complex128.*shape \(2, 7\)"):
        helpers.linear(np.zeros((2, D_IN), dtype=complex), np.zeros((D_IN, D_OUT)))


PUBLIC_MATH = {
    "linear": "chapter 1",
    "softmax": "chapter 2",
    "scaled_dot_product_attention": "chapter 4",
    "causal_mask": "chapter 5",
    "padding_mask": "chapter 5",
    "split_heads": "chapter 6",
    "merge_heads": "chapter 6",
    "multi_head_attention": "chapter 6",
    "repeat_kv": "chapter 11",
    "apply_rope": "chapter 7",
    "rope_angles": "chapter 7",
    "rope_pairing_permutation": "chapter 7",
    "sinusoidal_positions": "chapter 7",
    "sinusoidal_offset_map": "chapter 7",
    "alibi_slopes": "chapter 7",
    "alibi_bias": "chapter 7",
    "layer_norm": "chapter 8",
    "rms_norm": "chapter 8",
    "gelu": "chapter 8",
    "gelu_tanh": "chapter 8",
    "silu": "chapter 8",
    "swiglu": "chapter 8",
    "feed_forward": "chapter 8",
    "transformer_block": "chapter 8",
}


@pytest.mark.parametrize("name, chapter", sorted(PUBLIC_MATH.items()))
def test_public_helpers_are_exported_and_documented(name, chapter):
    """Each helper is re-exported by the package and its docstring names its chapter and its shapes."""
    fn = getattr(helpers, name)
    doc = fn.__doc__ or ""
    assert chapter in doc
    assert "Parameters" in doc and "Returns" in doc
    assert "shape (" in doc
