"""Tests for helpers.apply_rope, rope_angles and rope_pairing_permutation (chapter 7).

Both pairings are checked against loops of 2 x 2 rotations and complex
numbers; the permutation between them against apply_rope, against scores
q . k, and against the GGUF reordering of helpers.checkpoints.
"""

import cmath
import math

import numpy as np
import pytest

import helpers

T, d = 5, 8  # T != d, and d/2 = 4 != T
BATCH_SHAPES = [(), (2,), (2, 3)]  # leading axes: none, one, two


def rope_by_rotations(x, positions, base=10000.0, pairing="half"):
    """Reference: rotate each pair by angle pos * base**(-2i/d), one 2x2 rotation at a time.

    Pair i is (x[i], x[i + d/2]) for "half", (x[2i], x[2i + 1]) for "adjacent".
    """
    x = np.asarray(x, dtype=np.float64)
    half = x.shape[-1] // 2
    out = np.empty_like(x)
    for idx in np.ndindex(*x.shape[:-2]):
        for t, pos in enumerate(positions):
            for i in range(half):
                theta = pos * base ** (-2 * i / x.shape[-1])
                first, second = (i, i + half) if pairing == "half" else (2 * i, 2 * i + 1)
                a, b = x[idx + (t, first)], x[idx + (t, second)]
                out[idx + (t, first)] = a * math.cos(theta) - b * math.sin(theta)
                out[idx + (t, second)] = a * math.sin(theta) + b * math.cos(theta)
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
@pytest.mark.parametrize("pairing", ["half", "adjacent"])
def test_rope_matches_rotation_loop(rng, batch, pairing):
    x = rng.standard_normal(batch + (T, d))
    positions = np.array([0, 1, 2, 7, 30])
    np.testing.assert_allclose(helpers.apply_rope(x, positions, pairing=pairing),
                               rope_by_rotations(x, positions, pairing=pairing), rtol=1e-12, atol=1e-12)


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


def test_adjacent_pairing_is_metas_complex_multiplication(rng):
    """Meta's original code: view (x[2i], x[2i+1]) as x[2i] + 1j x[2i+1] and multiply by e^(i pos freq_i)."""
    x = rng.standard_normal((3, T, d))
    positions = np.array([3, 4, 100, 5, 9])
    z = x[..., 0::2] + 1j * x[..., 1::2]  # (3, T, d/2)
    freq = 10000.0 ** (-np.arange(0, d, 2) / d)
    turned = z * np.exp(1j * positions[:, None] * freq)
    expected = np.stack([turned.real, turned.imag], axis=-1).reshape(x.shape)
    np.testing.assert_allclose(helpers.apply_rope(x, positions, pairing="adjacent"), expected, rtol=1e-12, atol=1e-12)


def test_adjacent_pairing_pairs_neighbours():
    x = np.zeros((1, d))
    x[0, 0] = 1.0
    rotated = helpers.apply_rope(x, [1], pairing="adjacent")
    np.testing.assert_allclose(rotated[0, :2], [math.cos(1.0), math.sin(1.0)], rtol=1e-12)
    assert np.all(rotated[0, 2:] == 0.0)


def test_rope_base_is_used(rng):
    x = rng.standard_normal((T, d))
    positions = np.arange(T)
    rotated = helpers.apply_rope(x, positions, base=500.0)
    np.testing.assert_allclose(rotated, rope_by_rotations(x, positions, base=500.0), rtol=1e-12, atol=1e-12)
    assert not np.allclose(rotated, helpers.apply_rope(x, positions))


@pytest.mark.parametrize("pairing", ["half", "adjacent"])
def test_rope_position_zero_is_identity(rng, pairing):
    x = rng.standard_normal((2, 3, T, d))
    np.testing.assert_allclose(helpers.apply_rope(x, np.zeros(T, dtype=int), pairing=pairing), x, rtol=1e-15)


@pytest.mark.parametrize("pairing", ["half", "adjacent"])
def test_rope_preserves_norms(rng, pairing):
    x = rng.standard_normal((2, T, d))
    rotated = helpers.apply_rope(x, np.array([1, 5, 17, 256, 4096]), pairing=pairing)
    np.testing.assert_allclose(np.linalg.norm(rotated, axis=-1), np.linalg.norm(x, axis=-1), rtol=1e-12)


@pytest.mark.parametrize("pairing", ["half", "adjacent"])
def test_rope_score_depends_only_on_relative_position(rng, pairing):
    """q at position m and k at position n: the score q_m . k_n depends only on m - n."""
    q = rng.standard_normal(d)
    k = rng.standard_normal(d)

    def score(m, n):
        return (helpers.apply_rope(q[None], [m], pairing=pairing)[0]
                @ helpers.apply_rope(k[None], [n], pairing=pairing)[0])

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
    cos_a, sin_a = helpers.rope_angles(np.arange(T), d, pairing="adjacent")
    np.testing.assert_array_equal(cos_a[:, 0::2], cos_a[:, 1::2])  # columns 2i and 2i + 1 share an angle
    np.testing.assert_array_equal(cos_a[:, 0::2], cos[:, : d // 2])  # the same angles, laid out differently
    np.testing.assert_array_equal(sin_a[:, 1::2], sin[:, d // 2 :])


def test_rope_tables_are_not_shared_with_the_caller(rng):
    """apply_rope remembers its angle tables; what it returns, and rope_angles' tables, are the caller's own."""
    x = rng.standard_normal((T, d)).astype(np.float32)
    first = helpers.apply_rope(x, np.arange(T))
    kept = first.copy()
    first[:] = 0.0  # writable, and writing to it changes nothing for the next call
    cos, sin = helpers.rope_angles(np.arange(T), d)
    cos[:], sin[:] = 7.0, 7.0
    np.testing.assert_array_equal(helpers.apply_rope(x, np.arange(T)), kept)
    np.testing.assert_allclose(kept, rope_by_rotations(x, np.arange(T)), rtol=0, atol=1e-6)


def test_float_positions_with_whole_values_are_accepted(rng):
    x = rng.standard_normal((T, d))
    np.testing.assert_array_equal(helpers.apply_rope(x, np.arange(T, dtype=float)), helpers.apply_rope(x, np.arange(T)))


# ---------------------------------------------------------------- the permutation between the pairings


def test_pairing_permutation_is_evens_then_odds():
    np.testing.assert_array_equal(helpers.rope_pairing_permutation(8), [0, 2, 4, 6, 1, 3, 5, 7])
    np.testing.assert_array_equal(np.argsort(helpers.rope_pairing_permutation(8)), [0, 4, 1, 5, 2, 6, 3, 7])
    np.testing.assert_array_equal(helpers.rope_pairing_permutation(4, num_heads=2), [0, 2, 1, 3, 4, 6, 5, 7])
    np.testing.assert_array_equal(helpers.rope_pairing_permutation(2), [0, 1])  # one pair: nothing moves


@pytest.mark.parametrize("batch", BATCH_SHAPES)
@pytest.mark.parametrize("head_width", [2, 8, 64])
def test_pairings_agree_up_to_the_permutation(rng, batch, head_width):
    """apply_rope(x[..., p], half) == apply_rope(x, adjacent)[..., p], and the other way with argsort(p)."""
    p = helpers.rope_pairing_permutation(head_width)
    x = rng.standard_normal(batch + (T, head_width))
    positions = np.array([0, 3, 11, 2, 500])
    half = helpers.apply_rope(x[..., p], positions, pairing="half")
    np.testing.assert_array_equal(half, helpers.apply_rope(x, positions, pairing="adjacent")[..., p])
    inverse = np.argsort(p)
    np.testing.assert_array_equal(helpers.apply_rope(x[..., inverse], positions, pairing="adjacent"),
                                  helpers.apply_rope(x, positions, pairing="half")[..., inverse])
    if head_width > 2:  # the permutation matters: without it the two pairings disagree
        assert not np.allclose(helpers.apply_rope(x, positions, pairing="half"),
                               helpers.apply_rope(x, positions, pairing="adjacent"))


def test_scores_are_equal_when_q_and_k_columns_are_permuted_together(rng):
    """Per head: W_q, W_k with columns in adjacent order + adjacent RoPE == the same columns reordered + rotate-half."""
    h, head_width, d_model, n = 3, 8, 20, 6  # H != T, D != H*d
    w_q, w_k = rng.standard_normal((d_model, h * head_width)), rng.standard_normal((d_model, h * head_width))
    x = rng.standard_normal((n, d_model))
    positions = np.arange(4, 4 + n)
    p = helpers.rope_pairing_permutation(head_width, num_heads=h)

    def scores(w_q, w_k, pairing):
        q = helpers.apply_rope(helpers.split_heads(x @ w_q, h), positions, pairing=pairing)  # (H, T, d)
        k = helpers.apply_rope(helpers.split_heads(x @ w_k, h), positions, pairing=pairing)
        return q @ np.swapaxes(k, -1, -2)  # (H, T, T)

    adjacent = scores(w_q, w_k, "adjacent")
    np.testing.assert_allclose(scores(w_q[:, p], w_k[:, p], "half"), adjacent, rtol=1e-12, atol=1e-12)
    assert not np.allclose(scores(w_q, w_k, "half"), adjacent)  # same weights, other pairing: other scores


@pytest.mark.parametrize("n_head, head_width", [(3, 8), (9, 64), (1, 2)])
def test_pairing_permutation_is_the_gguf_row_order(rng, n_head, head_width):
    """llama.cpp's converter writes q/k rows in the order argsort(p) per head; reading them back takes p."""
    from helpers import checkpoints as ckpt
    w = rng.standard_normal((n_head * head_width, 5))  # (out, in), Hugging Face's row order
    p = helpers.rope_pairing_permutation(head_width, num_heads=n_head)
    np.testing.assert_array_equal(ckpt.gguf_qk_permutation(w, n_head), w[np.argsort(p)])
    np.testing.assert_array_equal(ckpt.undo_gguf_qk_permutation(w, n_head), w[p])


def test_gguf_rows_with_adjacent_rope_give_smollm2s_reference_weights(smollm2_model, smollm2_ref):
    """The rows as stored in the GGUF file, rotated in adjacent pairs (as llama.cpp does), give transformers'
    attention weights; rotated in halves they do not."""
    from helpers import checkpoints as ckpt
    config, weights = smollm2_model
    layer, h, h_kv = weights["layers"][0], config["num_heads"], config["num_kv_heads"]
    x = helpers.rms_norm(smollm2_ref["embeddings"][0], layer["attn_norm"], config["rms_norm_eps"])  # (T, D)
    t, positions = x.shape[0], np.arange(x.shape[0])
    w_q_file = ckpt.gguf_qk_permutation(layer["w_q"].T, h).T  # (D, H*d), columns in the file's order
    w_k_file = ckpt.gguf_qk_permutation(layer["w_k"].T, h_kv).T

    def weights_with(w_q, w_k, pairing):
        q = helpers.apply_rope(helpers.split_heads(x @ w_q, h), positions, config["rope_base"], pairing=pairing)
        k = helpers.apply_rope(helpers.split_heads(x @ w_k, h_kv), positions, config["rope_base"], pairing=pairing)
        k = helpers.repeat_kv(k, h // h_kv)
        return helpers.scaled_dot_product_attention(q, k, k, mask=helpers.causal_mask(t))[1]

    ref = smollm2_ref["layer0_attn_weights"][0]
    np.testing.assert_allclose(weights_with(w_q_file, w_k_file, "adjacent"), ref, rtol=0, atol=1e-5)
    np.testing.assert_allclose(weights_with(layer["w_q"], layer["w_k"], "half"), ref, rtol=0, atol=1e-5)
    assert np.abs(weights_with(w_q_file, w_k_file, "half") - ref).max() > 0.1


@pytest.mark.parametrize(
    "x_shape, positions, match",
    [
        ((T, 7), np.arange(T), r"x has shape \(5, 7\): RoPE needs an even head width d, got d=7"),
        ((2, T, d), np.arange(T + 1), r"positions has shape \(6,\) but x has shape \(2, 5, 8\).*\(T,\) = \(5,\)"),
        ((2, T, d), np.arange(T - 1), r"positions has shape \(4,\) but x has shape \(2, 5, 8\)"),
        ((T, d), np.zeros((1, T), dtype=int), r"positions has shape \(1, 5\) but x has shape \(5, 8\)"),
        ((d,), np.arange(1), r"x must have shape \(\.\.\., T, d\) .* has shape \(8,\)"),
        ((T, d), np.array([0, 1, 2.5, 3, 4]), r"positions must be finite integers, got \[0\. +1\. +2\.5"),
        ((T, d), np.array([0, 1, np.nan, 3, 4]), r"positions must be finite integers, got .*nan"),
        ((T, d), np.array([0, 1, np.inf, 3, 4]), r"positions must be finite integers, got .*inf"),
        ((T, d), np.array([True] * T), r"positions must be finite integers, .*dtype bool"),
        ((T, d), np.array(["0"] * T), r"positions must be finite integers"),
    ],
)
def test_rope_rejects_bad_input(x_shape, positions, match):
    with pytest.raises(ValueError, match=match):
        helpers.apply_rope(np.zeros(x_shape), positions)


@pytest.mark.parametrize("base", [0, 0.0, -10000.0, float("inf"), float("nan"), "10000", None, True, [10000.0]])
def test_rope_rejects_a_base_that_is_not_finite_and_positive(base):
    with pytest.raises(ValueError, match=r"base must be a finite number > 0, got"):
        helpers.apply_rope(np.zeros((T, d)), np.arange(T), base=base)
    with pytest.raises(ValueError, match=r"base must be a finite number > 0, got"):
        helpers.rope_angles(np.arange(T), d, base=base)


@pytest.mark.parametrize("pairing", ["Half", "interleaved", None, 2])
def test_rope_rejects_an_unknown_pairing(pairing):
    with pytest.raises(ValueError, match=r"pairing must be 'half' or 'adjacent', got"):
        helpers.apply_rope(np.zeros((T, d)), np.arange(T), pairing=pairing)


@pytest.mark.parametrize("args, match", [
    ((7,), r"even head width d, got d=7"),
    ((0,), r"d must be a positive integer, got 0"),
    ((8.0,), r"d must be a positive integer, got 8\.0"),
    ((8, 0), r"num_heads must be a positive integer, got 0"),
])
def test_pairing_permutation_rejects_bad_sizes(args, match):
    with pytest.raises(ValueError, match=match):
        helpers.rope_pairing_permutation(*args)


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
