"""Tests for helpers.apply_rope and helpers.rope_angles (chapter 8)."""

import cmath
import math

import numpy as np
import pytest

import helpers

T, d = 5, 8  # T != d, and d/2 = 4 != T
BATCH_SHAPES = [(), (2,), (2, 3)]  # leading axes: none, one, two


def rope_by_rotations(x, positions, base=10000.0):
    """Reference: rotate each pair (x[i], x[i + d/2]) by angle pos * base**(-2i/d), one 2x2 rotation at a time."""
    x = np.asarray(x, dtype=np.float64)
    half = x.shape[-1] // 2
    out = np.empty_like(x)
    for idx in np.ndindex(*x.shape[:-2]):
        for t, pos in enumerate(positions):
            for i in range(half):
                theta = pos * base ** (-2 * i / x.shape[-1])
                a, b = x[idx + (t, i)], x[idx + (t, i + half)]
                out[idx + (t, i)] = a * math.cos(theta) - b * math.sin(theta)
                out[idx + (t, i + half)] = a * math.sin(theta) + b * math.cos(theta)
    return out


def rope_by_complex_numbers(x, positions, base=10000.0):
    """Reference: the pair (x[i], x[i + d/2]) is the complex number x[i] + 1j*x[i + d/2], times e^(i*theta)."""
    x = np.asarray(x, dtype=np.float64)
    half = x.shape[-1] // 2
    out = np.empty_like(x)
    for idx in np.ndindex(*x.shape[:-1]):
        pos = positions[idx[-1]]
        for i in range(half):
            z = complex(x[idx + (i,)], x[idx + (i + half,)]) * cmath.exp(1j * pos * base ** (-2 * i / x.shape[-1]))
            out[idx + (i,)], out[idx + (i + half,)] = z.real, z.imag
    return out


@pytest.mark.parametrize("batch", BATCH_SHAPES)
def test_rope_matches_rotation_loop(rng, batch):
    x = rng.standard_normal(batch + (T, d))
    positions = np.array([0, 1, 2, 7, 30])
    np.testing.assert_allclose(helpers.apply_rope(x, positions), rope_by_rotations(x, positions), rtol=1e-12, atol=1e-12)


def test_rope_matches_complex_numbers(rng):
    x = rng.standard_normal((2, T, d))
    positions = np.array([3, 4, 100, 5, 9])
    np.testing.assert_allclose(helpers.apply_rope(x, positions), rope_by_complex_numbers(x, positions), rtol=1e-12, atol=1e-12)


def test_rope_pairs_the_two_halves_not_neighbours():
    """A vector with only element 0 set rotates into element d/2 (rotate-half), not into element 1."""
    x = np.zeros((1, d))
    x[0, 0] = 1.0
    rotated = helpers.apply_rope(x, [1])
    np.testing.assert_allclose(rotated[0, [0, d // 2]], [math.cos(1.0), math.sin(1.0)], rtol=1e-12)
    assert rotated[0, 1] == 0.0


def test_rope_base_is_used(rng):
    x = rng.standard_normal((T, d))
    positions = np.arange(T)
    rotated = helpers.apply_rope(x, positions, base=500.0)
    np.testing.assert_allclose(rotated, rope_by_rotations(x, positions, base=500.0), rtol=1e-12, atol=1e-12)
    assert not np.allclose(rotated, helpers.apply_rope(x, positions))


def test_rope_position_zero_is_identity(rng):
    x = rng.standard_normal((2, 3, T, d))
    np.testing.assert_allclose(helpers.apply_rope(x, np.zeros(T, dtype=int)), x, rtol=1e-15)


def test_rope_preserves_norms(rng):
    x = rng.standard_normal((2, T, d))
    rotated = helpers.apply_rope(x, np.array([1, 5, 17, 256, 4096]))
    np.testing.assert_allclose(np.linalg.norm(rotated, axis=-1), np.linalg.norm(x, axis=-1), rtol=1e-12)


def test_rope_score_depends_only_on_relative_position(rng):
    """q at position m and k at position n: the score q_m . k_n depends only on m - n."""
    q = rng.standard_normal(d)
    k = rng.standard_normal(d)

    def score(m, n):
        return helpers.apply_rope(q[None], [m])[0] @ helpers.apply_rope(k[None], [n])[0]

    for offset in (0, 2, -3):
        scores = [score(n + offset, n) for n in (0, 5, 11, 40)]
        np.testing.assert_allclose(scores, scores[0], rtol=1e-9)
    assert not np.isclose(score(2, 0), score(5, 0))


def test_rope_rotates_every_row_by_its_own_position(rng):
    x = np.tile(rng.standard_normal(d), (T, 1))  # the same vector at every position
    positions = np.array([4, 0, 2, 1, 3])
    rotated = helpers.apply_rope(x, positions)
    for t, pos in enumerate(positions):
        np.testing.assert_allclose(rotated[t], helpers.apply_rope(x[:1], [pos])[0], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rope_keeps_dtype(rng, dtype):
    x = rng.standard_normal((2, T, d)).astype(dtype)
    assert helpers.apply_rope(x, np.arange(T)).dtype == dtype


def test_rope_angles_table():
    cos, sin = helpers.rope_angles(np.arange(T), d)
    assert cos.shape == sin.shape == (T, d)
    np.testing.assert_array_equal(cos[:, : d // 2], cos[:, d // 2 :])  # column i and i + d/2 share an angle
    np.testing.assert_allclose(cos[3, 1], math.cos(3 * 10000.0 ** (-2 / d)), rtol=1e-12)
    np.testing.assert_allclose(sin[3, 1], math.sin(3 * 10000.0 ** (-2 / d)), rtol=1e-12)


@pytest.mark.parametrize(
    "x_shape, positions, match",
    [
        ((T, 7), np.arange(T), r"x has shape \(5, 7\): RoPE needs an even head width d, got d=7"),
        ((2, T, d), np.arange(T + 1), r"positions has shape \(6,\) but x has shape \(2, 5, 8\).*\(T,\) = \(5,\)"),
        ((2, T, d), np.arange(T - 1), r"positions has shape \(4,\) but x has shape \(2, 5, 8\)"),
        ((T, d), np.zeros((1, T), dtype=int), r"positions has shape \(1, 5\) but x has shape \(5, 8\)"),
        ((d,), np.arange(1), r"x must have shape \(\.\.\., T, d\) .* has shape \(8,\)"),
    ],
)
def test_rope_rejects_bad_input(x_shape, positions, match):
    with pytest.raises(ValueError, match=match):
        helpers.apply_rope(np.zeros(x_shape), positions)


@pytest.mark.parametrize(
    "positions, head_width, match",
    [
        (np.arange(T), 7, r"even head width d, got d=7"),
        (np.arange(T), 0, r"d must be a positive integer, got 0"),
        (np.zeros((2, T)), d, r"positions must have shape \(T,\), but has shape \(2, 5\)"),
    ],
)
def test_rope_angles_rejects_bad_input(positions, head_width, match):
    with pytest.raises(ValueError, match=match):
        helpers.rope_angles(positions, head_width)
