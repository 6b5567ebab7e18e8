"""Smoke tests for the plotting helpers: they draw the expected artists, titles and labels."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Polygon

import helpers
from helpers import plotting


def two_axes():
    fig = Figure(figsize=(6, 3))
    ax0, ax1 = fig.subplots(1, 2)
    return fig, ax0, ax1


def arrows(ax):
    return [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]


def test_attention_cmap_is_a_registered_colormap():
    assert plotting.ATTENTION_CMAP in matplotlib.colormaps
    assert plotting.WEIGHT_CMAP in matplotlib.colormaps
    assert plotting.POINT_CMAP in matplotlib.colormaps


def test_heatmap_draws_one_image_with_labels_and_colorbar():
    fig = Figure()
    ax = fig.add_subplot()
    weights = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])  # T=2 != S=3
    image = plotting.heatmap(ax, weights, row_labels=["the", "cat"], col_labels=["a", "b", "c"], title="weights")
    assert list(ax.images) == [image]
    assert image.get_array().shape == (2, 3)
    assert image.get_cmap().name == plotting.ATTENTION_CMAP
    assert ax.get_title() == "weights"
    assert ax.get_xlabel() == "key position" and ax.get_ylabel() == "query position"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["the", "cat"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert len(fig.axes) == 2  # the heatmap and its colorbar
    assert len(ax.texts) == 0  # no annotations unless asked


def test_heatmap_annotate_and_symmetric():
    fig = Figure()
    ax = fig.add_subplot()
    m = np.array([[1.0, -3.0], [2.0, 0.5], [0.0, 1.0]])
    image = plotting.heatmap(ax, m, symmetric=True, annotate=True, fmt=".1f", colorbar=False,
                             xlabel="d_out", ylabel="d_in")
    assert image.get_clim() == (-3.0, 3.0)
    assert image.get_cmap().name == plotting.WEIGHT_CMAP
    assert sorted(t.get_text() for t in ax.texts) == sorted(["1.0", "-3.0", "2.0", "0.5", "0.0", "1.0"])
    assert ax.get_title() == "matrix (3, 2)"  # default title names the shape
    assert ax.get_xlabel() == "d_out"
    assert len(fig.axes) == 1


@pytest.mark.parametrize("bad, kwargs, match", [
    (np.zeros(3), {}, "2-D matrix"),
    (np.zeros((2, 3)), {"row_labels": ["a"]}, "row_labels has 1 labels"),
    (np.zeros((2, 3)), {"col_labels": ["a", "b"]}, "col_labels has 2 labels"),
])
def test_heatmap_rejects_bad_input(bad, kwargs, match):
    ax = Figure().add_subplot()
    with pytest.raises(ValueError, match=match):
        plotting.heatmap(ax, bad, **kwargs)


def test_draw_transform_draws_points_square_and_basis_images():
    fig, ax0, ax1 = two_axes()
    points = np.random.default_rng(0).normal(size=(50, 2))
    w = np.array([[2.0, 0.0], [1.0, 1.0]])  # det 2, rank 2
    y = plotting.draw_transform(ax0, ax1, points, w)
    np.testing.assert_allclose(y, helpers.linear(points, w))
    for ax in (ax0, ax1):
        scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert len(scatters) == 1 and scatters[0].get_offsets().shape == (50, 2)
        assert len(arrows(ax)) == 2
        assert len([p for p in ax.patches if isinstance(p, Polygon)]) == 1
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    np.testing.assert_allclose(ax1.collections[0].get_offsets(), y)
    # The arrow tips on the right are the rows of w (row-vector convention).
    tips = sorted(tuple(np.round(a.xy, 6)) for a in arrows(ax1))
    assert tips == sorted([(2.0, 0.0), (1.0, 1.0)])
    assert ax1.get_title() == "after: x @ W  (det +2.00, rank 2)"
    labels = {t.get_text() for t in ax1.texts}
    assert {"e0 @ W", "e1 @ W"} <= labels


def test_draw_transform_reports_rank_one():
    fig, ax0, ax1 = two_axes()
    plotting.draw_transform(ax0, ax1, np.ones((4, 2)), [[1.0, 2.0], [2.0, 4.0]])
    assert ax1.get_title() == "after: x @ W  (det +0.00, rank 1)"


@pytest.mark.parametrize("points, w, match", [
    (np.ones((4, 2)), np.ones((3, 2)), "2x2"),
    (np.ones((4, 3)), np.eye(2), r"\(N, 2\)"),
])
def test_draw_transform_rejects_bad_shapes(points, w, match):
    fig, ax0, ax1 = two_axes()
    with pytest.raises(ValueError, match=match):
        plotting.draw_transform(ax0, ax1, points, w)


def test_draw_projection_to_line():
    fig, ax0, ax1 = two_axes()
    points = np.random.default_rng(1).normal(size=(30, 2))
    w = np.array([[1.0], [0.5]])
    pair = np.array([[1.0, 0.0], [0.0, 2.0]])  # both map to 1.0
    y = plotting.draw_projection_to_line(ax0, ax1, points, w, pair=pair)
    np.testing.assert_allclose(y, helpers.linear(points, w)[:, 0])
    assert len(ax0.collections) == 2 and len(ax1.collections) == 2  # cloud + the marked pair
    np.testing.assert_allclose(ax1.collections[0].get_offsets()[:, 0], y)
    assert len(ax0.lines) == 1  # the dashed line through the pair
    assert [t.get_text() for t in ax1.texts] == ["a and b"]
    for ax in (ax0, ax1):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_draw_projection_to_line_labels_distinct_outputs_separately():
    fig, ax0, ax1 = two_axes()
    plotting.draw_projection_to_line(ax0, ax1, np.zeros((3, 2)), [[1.0], [0.0]], pair=[[1.0, 0.0], [2.0, 0.0]])
    assert [t.get_text() for t in ax1.texts] == ["a", "b"]


def test_draw_projection_to_line_rejects_bad_w():
    fig, ax0, ax1 = two_axes()
    with pytest.raises(ValueError, match=r"\(2, 1\)"):
        plotting.draw_projection_to_line(ax0, ax1, np.zeros((3, 2)), np.eye(2))


def test_draw_transform_labels_a_basis_vector_sent_to_zero():
    fig, ax0, ax1 = two_axes()
    plotting.draw_transform(ax0, ax1, np.ones((4, 2)), [[1.0, 0.0], [0.0, 0.0]])
    labels = {t.get_text() for t in ax1.texts}
    assert "e1 @ W = 0" in labels and "e0 @ W" in labels
    assert ax1.get_title() == "after: x @ W  (det +0.00, rank 1)"


# ---------------------------------------------------------------- chapter 5: masks

def test_mask_heatmap_draws_a_bool_mask_in_grey_levels():
    fig = Figure()
    ax = fig.add_subplot()
    mask = helpers.causal_mask(2, 3)  # T=2 != S=3: the last query sees every key
    image = plotting.mask_heatmap(ax, mask, ["a", "b"], ["x", "y", "z"], "causal")
    assert image.get_cmap().name == plotting.MASK_CMAP != plotting.ATTENTION_CMAP
    np.testing.assert_array_equal(image.get_array(), mask.astype(float))
    assert image.get_clim() == (0.0, 1.0)
    assert sorted(t.get_text() for t in ax.texts) == sorted(["1", "1", "0", "1", "1", "1"])
    assert ax.get_title() == "causal" and ax.get_xlabel() == "key token" and ax.get_ylabel() == "query token"
    assert len(fig.axes) == 1  # no colorbar for a mask


def test_mask_heatmap_default_title_and_int_mask():
    fig = Figure()
    ax = fig.add_subplot()
    plotting.mask_heatmap(ax, np.array([[1, 0, 0], [1, 1, 0]]), annotate=False)
    assert ax.get_title() == "mask (2, 3)" and len(ax.texts) == 0


@pytest.mark.parametrize("mask, match", [
    (np.ones(3, bool), r"2-D mask of shape \(T, S\), but got shape \(3,\)"),
    (np.array([[0.5, 1.0]]), "True/False"),
])
def test_mask_heatmap_rejects_what_is_not_a_mask(mask, match):
    ax = Figure().add_subplot()
    with pytest.raises(ValueError, match=match):
        plotting.mask_heatmap(ax, mask)


# ---------------------------------------------------------------- chapter 6: one heatmap per head

@pytest.mark.parametrize("n_heads, shape", [(1, (1, 1)), (2, (1, 2)), (3, (2, 2)), (8, (2, 4))])
def test_head_heatmaps_one_panel_per_head_on_a_grid(n_heads, shape):
    fig = Figure(figsize=(8, 4))
    tokens = ["the", "cat", "sat", "on", "mats"]  # T = 5 != H
    weights = helpers.softmax(np.random.default_rng(0).normal(size=(n_heads, 5, 5)))
    axes = plotting.head_heatmaps(fig, weights, tokens)
    assert len(axes) == n_heads
    assert [ax.get_title() for ax in axes] == [f"head {h}" for h in range(n_heads)]
    for h, ax in enumerate(axes):
        np.testing.assert_allclose(ax.images[0].get_array(), weights[h])
        assert ax.images[0].get_cmap().name == plotting.ATTENTION_CMAP
    grid = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(grid) == shape[0] * shape[1]  # unused grid cells are hidden, not missing
    assert sum(ax.get_visible() for ax in grid) == n_heads
    assert axes[0].get_ylabel() == "query" and axes[-1].get_xlabel() == "key"
    assert [t.get_text() for t in axes[0].get_yticklabels()] == tokens


def test_head_heatmaps_numbers_the_keys_when_s_differs_from_t():
    fig = Figure()
    axes = plotting.head_heatmaps(fig, np.full((2, 2, 3), 1 / 3), ["a", "b"])
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["0", "1", "2"]


@pytest.mark.parametrize("weights, tokens, match", [
    (np.ones((5, 5)), ["a"] * 5, r"\(H, T, S\)"),
    (np.ones((2, 5, 5)), ["a"] * 4, "tokens has 4 labels but the weights have T = 5"),
])
def test_head_heatmaps_rejects_bad_input(weights, tokens, match):
    with pytest.raises(ValueError, match=match):
        plotting.head_heatmaps(Figure(), weights, tokens)
