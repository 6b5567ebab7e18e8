"""Tests for helpers.layer_norm and helpers.rms_norm (chapter 8): the formulas, extreme rows, bad eps.

The formulas themselves against the MiniLM and SmolLM2 fixtures are tested
in test_checkpoints.py, test_bert.py and test_smollm2.py.
"""

import numpy as np
import pytest

import helpers

SHAPES = [(5,), (3, 7), (2, 3, 7)]  # D = 7, T = 3 != D


def plain_layer_norm(x, gamma, beta, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + np.asarray(eps, dtype=x.dtype)) * gamma + beta


def plain_rms_norm(x, gamma, eps):
    return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + np.asarray(eps, dtype=x.dtype)) * gamma


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e4])
def test_norms_equal_the_plain_formulas_bit_for_bit(rng, shape, dtype, scale):
    x = (rng.standard_normal(shape) * scale + 0.5).astype(dtype)
    gamma, beta = rng.standard_normal(shape[-1]).astype(dtype), rng.standard_normal(shape[-1]).astype(dtype)
    for eps in (1e-12, 1e-5):
        y = helpers.layer_norm(x, gamma, beta, eps)
        assert y.shape == x.shape and y.dtype == dtype
        np.testing.assert_array_equal(y, plain_layer_norm(x, gamma, beta, eps))
        np.testing.assert_array_equal(helpers.rms_norm(x, gamma, eps), plain_rms_norm(x, gamma, eps))


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e200), (np.float64, 1.7e308), (np.float32, 1e30), (np.float32, 3e38)])
def test_huge_rows_are_normalised_not_zeroed(dtype, big):
    x = np.array([[big, -big], [1.0, 2.0]], dtype=dtype)  # one row whose square overflows, one ordinary
    ones, zeros = np.ones(2, dtype), np.zeros(2, dtype)
    with np.errstate(all="raise"):  # no overflow warning either
        ln, rms = helpers.layer_norm(x, ones, zeros), helpers.rms_norm(x, ones)
    np.testing.assert_allclose(ln, [[1, -1], [-1, 1]], rtol=1e-6)
    np.testing.assert_allclose(rms[0], [1, -1], rtol=1e-6)
    np.testing.assert_array_equal(ln[1], plain_layer_norm(x[1:], ones, zeros, 1e-12)[0])  # the other row as before
    np.testing.assert_array_equal(rms[1], plain_rms_norm(x[1:], ones, 1e-5)[0])


def test_layer_norm_of_1e200_and_minus_1e200_is_plus_and_minus_1():
    """The case of issue 9: the plain formula gives [0, 0] (the variance overflows to inf)."""
    x = np.array([1e200, -1e200])
    with np.errstate(over="ignore"):
        assert np.all(plain_layer_norm(x, np.ones(2), np.zeros(2), 1e-12) == 0)
    np.testing.assert_allclose(helpers.layer_norm(x, np.ones(2), np.zeros(2)), [1.0, -1.0], rtol=1e-12)


@pytest.mark.parametrize("row, expected", [
    ([3e300, 3e300, 3e300], [0.0, 0.0, 0.0]),  # constant: variance exactly 0, so 0, not 0 / 0
    ([1e300, 0.0, -1e300], [np.sqrt(1.5), 0.0, -np.sqrt(1.5)]),
    ([5.0, 5.0, 5.0], [0.0, 0.0, 0.0]),
])
def test_layer_norm_of_extreme_rows(row, expected):
    out = helpers.layer_norm(np.array(row), np.ones(3), np.zeros(3))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_tiny_rows_keep_their_digits():
    """Squares of 1e-160 are subnormal (about 4 digits); the helpers scale the row first and keep all 16."""
    x = np.array([1e-160, -3e-160, 2e-160])
    eps = 5e-324  # the smallest positive float64, 2**-1074
    xs, eps_s = x * 1e160, eps * 1e160 * 1e160  # the same numbers in a range where nothing underflows
    expected_rms = xs / np.sqrt(np.mean(xs ** 2) + eps_s)
    expected_ln = (xs - xs.mean()) / np.sqrt(np.var(xs) + eps_s)
    np.testing.assert_allclose(helpers.rms_norm(x, np.ones(3), eps), expected_rms, rtol=1e-13)
    np.testing.assert_allclose(helpers.layer_norm(x, np.ones(3), np.zeros(3), eps), expected_ln, rtol=1e-13)
    with np.errstate(under="ignore"):
        assert np.abs(plain_rms_norm(x, np.ones(3), eps) / expected_rms - 1).max() > 1e-8  # the plain formula loses digits


def test_zero_and_tiny_rows_with_an_ordinary_eps():
    np.testing.assert_array_equal(helpers.rms_norm(np.zeros((2, 3)), np.ones(3)), 0)
    np.testing.assert_array_equal(helpers.layer_norm(np.zeros((2, 3)), np.ones(3), np.zeros(3)), 0)
    x = np.array([1e-200, -3e-200, 2e-200])  # eps dominates: x / sqrt(eps)
    np.testing.assert_allclose(helpers.layer_norm(x, np.ones(3), np.zeros(3), 1e-12), (x - x.mean()) / 1e-6, rtol=1e-12)
    np.testing.assert_allclose(helpers.rms_norm(x, np.ones(3), 1e-10), x / 1e-5, rtol=1e-12)


@pytest.mark.parametrize("eps", [0, 0.0, -1e-5, float("nan"), float("inf"), "1e-5", None, True, np.array([1e-5])])
def test_norms_reject_an_eps_that_is_not_finite_and_positive(eps):
    x = np.ones((2, 4))
    with pytest.raises(ValueError, match=r"eps must be a finite number > 0 .*, got"):
        helpers.layer_norm(x, np.ones(4), np.zeros(4), eps)
    with pytest.raises(ValueError, match=r"eps must be a finite number > 0 .*, got"):
        helpers.rms_norm(x, np.ones(4), eps)


@pytest.mark.parametrize("call, match", [
    (lambda: helpers.layer_norm(np.ones((3, 5)), np.ones(5), np.zeros(4)), r"beta has shape \(4,\) but x has shape \(3, 5\)"),
    (lambda: helpers.rms_norm(np.ones((3, 5)), np.ones((1, 5))), r"gamma has shape \(1, 5\) but x has shape \(3, 5\)"),
    (lambda: helpers.rms_norm(np.float64(2.0), np.ones(1)), r"x must have shape \(\.\.\., D\)"),
    (lambda: helpers.layer_norm(np.array(["a", "b"]), np.ones(2), np.zeros(2)), r"x must hold real numbers"),
])
def test_norms_reject_bad_shapes(call, match):
    with pytest.raises(ValueError, match=match):
        call()
