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


# ---------------------------------------------------------------- chapter 2/3

def test_draw_query_and_keys_draws_one_arrow_per_key_plus_the_query():
    fig, ax, _ = two_axes()
    keys = np.array([[2.0, 0.5], [1.5, -1.0], [-1.0, 2.0]])
    scores = plotting.draw_query_and_keys(ax, [1.8, 0.2], keys, ["cat", "bird", "car"],
                                          colors=["C0", "C1", "C2"], query_label="q")
    np.testing.assert_allclose(scores, keys @ np.array([1.8, 0.2]))
    assert len(arrows(ax)) == 4
    texts = [t.get_text() for t in ax.texts if t.get_text()]
    assert texts == ["cat", "bird", "car", "q"]
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    # every label sits inside the axes
    for t in ax.texts:
        if t.get_text():
            x, y = t.get_position()
            assert x0 < x < x1 and y0 < y < y1, t.get_text()
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_draw_query_and_keys_default_labels():
    fig, ax, _ = two_axes()
    plotting.draw_query_and_keys(ax, [1.0, 0.0], [[1.0, 1.0], [0.0, -1.0]])
    assert [t.get_text() for t in ax.texts if t.get_text()] == ["k0", "k1", "query"]


@pytest.mark.parametrize("query, keys, kwargs, match", [
    ([1.0, 0.0, 0.0], [[1.0, 0.0]], {}, "query must have shape"),
    ([1.0, 0.0], [1.0, 0.0], {}, "keys must have shape"),
    ([1.0, 0.0], [[1.0, 0.0]], {"labels": ["a", "b"]}, "labels has 2 entries but there are 1 keys"),
    ([1.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], {"colors": ["red"]}, "colors has 1 entries"),
])
def test_draw_query_and_keys_rejects_bad_input(query, keys, kwargs, match):
    fig, ax, _ = two_axes()
    with pytest.raises(ValueError, match=match):
        plotting.draw_query_and_keys(ax, query, keys, **kwargs)


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


# ---------------------------------------------------------------- chapter 7

def test_position_map_ticks_every_step_and_centres_signed_colours():
    fig = Figure()
    ax = fig.subplots()
    m = np.linspace(-0.5, 2.0, 512 * 300).reshape(512, 300)
    image = plotting.position_map(ax, m, title="t", xlabel="x", ylabel="y")
    assert list(ax.get_yticks()) == list(range(0, 512, 100))  # 512 / 6 -> a step of 100
    assert list(ax.get_xticks()) == list(range(0, 300, 100))
    assert image.get_clim() == (-2.0, 2.0) and image.get_cmap().name == plotting.WEIGHT_CMAP
    assert ax.get_title() == "t" and ax.get_xlabel() == "x" and ax.get_ylabel() == "y"
    assert len(fig.axes) == 2  # the colorbar


def test_position_map_given_step_and_unsigned_colours():
    fig = Figure()
    ax = fig.subplots()
    image = plotting.position_map(ax, np.arange(12.0).reshape(3, 4), title="t", xlabel="x", ylabel="y",
                                  tick_step=2, symmetric=False, colorbar=False)
    assert list(ax.get_xticks()) == [0, 2] and list(ax.get_yticks()) == [0, 2]
    assert image.get_clim() == (0.0, 11.0) and image.get_cmap().name == plotting.ATTENTION_CMAP
    assert len(fig.axes) == 1


@pytest.mark.parametrize("matrix, step, match", [
    (np.zeros(5), None, "2-D"),
    (np.zeros((0, 3)), None, "non-empty"),
    (np.zeros((3, 3)), 0, "tick_step"),
    (np.zeros((3, 3)), 1.5, "tick_step"),
    (np.zeros((3, 3)), True, "tick_step"),
])
def test_position_map_rejects_bad_input(matrix, step, match):
    with pytest.raises(ValueError, match=match):
        plotting.position_map(Figure().subplots(), matrix, title="t", xlabel="x", ylabel="y", tick_step=step)


# ---------------------------------------------------------------- chapter 8

def texts(ax):
    return [t.get_text() for t in ax.texts]


@pytest.mark.parametrize("num_heads", [1, 3, 4])
def test_draw_residual_stream_draws_the_heads_norms_and_additions(num_heads):
    fig = Figure(figsize=(6.4, 7))
    ax = fig.add_subplot()
    plotting.draw_residual_stream(ax, num_heads=num_heads)
    labels = texts(ax)
    assert [t for t in labels if t.startswith("head ")] == [f"head {h}" for h in range(num_heads)]
    assert labels.count("norm") == 2 and labels.count("+") == 2
    assert any("W_q" in t and "W_k" in t and "W_v" in t for t in labels) and any("W_o" in t for t in labels)
    assert not ax.axison


@pytest.mark.parametrize("bad", [0, 5, "3"])
def test_draw_residual_stream_rejects_a_bad_head_count(bad):
    fig = Figure()
    with pytest.raises(ValueError, match="num_heads must be 1, 2, 3 or 4"):
        plotting.draw_residual_stream(fig.add_subplot(), num_heads=bad)


@pytest.mark.parametrize("position, on_stream", [("pre", False), ("post", True)])
def test_draw_norm_placement_puts_the_norms_on_the_branch_or_the_stream(position, on_stream):
    fig = Figure(figsize=(3.2, 5))
    ax = fig.add_subplot()
    plotting.draw_norm_placement(ax, position)
    norms = [t for t in ax.texts if t.get_text() == "norm"]
    assert len(norms) == 2
    stream_x = 1.0
    assert all((t.get_position()[0] == stream_x) == on_stream for t in norms)
    assert ax.get_title().startswith(f"{position}-norm")


def test_draw_norm_placement_rejects_an_unknown_position():
    with pytest.raises(ValueError, match="'pre' or 'post'"):
        plotting.draw_norm_placement(Figure().add_subplot(), "middle")


def test_depth_band_plots_the_mean_and_the_range():
    fig = Figure()
    ax = fig.add_subplot()
    runs = np.array([[1.0, 2.0, 4.0], [1.0, 4.0, 2.0]])  # R = 2 runs, L + 1 = 3 depths
    mean = plotting.depth_band(ax, runs, label="pre", color="C0")
    np.testing.assert_allclose(mean, [1.0, 3.0, 3.0])
    (line,) = ax.lines
    np.testing.assert_allclose(line.get_ydata(), mean)
    assert line.get_label() == "pre"
    (band,) = ax.collections
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == 1.0 and ys.max() == 4.0


@pytest.mark.parametrize("runs, depths, match", [
    (np.ones(3), None, r"shape \(R, L \+ 1\)"),
    (np.ones((0, 3)), None, r"shape \(R, L \+ 1\)"),
    (np.ones((2, 3)), [0, 1], "one per depth"),
])
def test_depth_band_rejects_bad_shapes(runs, depths, match):
    with pytest.raises(ValueError, match=match):
        plotting.depth_band(Figure().add_subplot(), runs, label="x", color="C0", depths=depths)


# ---------------------------------------------------------------- chapter 11/12

@pytest.mark.parametrize("h, h_kv", [(9, 3), (12, 4), (9, 9), (9, 1)])
def test_draw_kv_sharing_joins_each_query_head_to_its_kv_head(h, h_kv):
    fig = Figure(figsize=(6, 2))
    ax = fig.subplots()
    kv_of = plotting.draw_kv_sharing(ax, h, h_kv)
    n_rep = h // h_kv
    assert kv_of.tolist() == [q // n_rep for q in range(h)]   # blocks of neighbours, not h % H_kv
    labels = [t.get_text() for t in ax.texts]
    assert labels == [f"q{q}" for q in range(h)] + [f"kv{g}" for g in range(h_kv)]
    assert len(ax.lines) == h
    for q, line in enumerate(ax.lines):                        # each line ends under its kv head's block
        x_top, x_bottom = line.get_xdata()
        assert x_top == q and x_bottom == (q // n_rep + 0.5) * n_rep - 0.5
    assert ax.get_title() == f"H = {h}, H_kv = {h_kv}"


@pytest.mark.parametrize("h, h_kv", [(9, 2), (0, 1), (9, 0), (9.0, 3), (True, 1)])
def test_draw_kv_sharing_rejects_bad_counts(h, h_kv):
    fig = Figure()
    with pytest.raises(ValueError, match="must be a positive integer that divides num_heads"):
        plotting.draw_kv_sharing(fig.subplots(), h, h_kv)


@pytest.mark.parametrize("shares", [False, True])
def test_draw_cost_bars_draws_the_cost_table(shares):
    from helpers import cost
    steps = cost.mha_costs(1, 64, 64, 32, 4, 2, 8)
    fig = Figure(figsize=(6, 3))
    ax_f, ax_b = fig.subplots(1, 2, sharey=True)
    flops, moved = plotting.draw_cost_bars(ax_f, ax_b, steps, shares=shares)
    raw_f = np.array([s["flops"] for s in steps], dtype=float)
    raw_b = np.array([s["bytes"] for s in steps], dtype=float)
    expected_f = 100 * raw_f / raw_f.sum() if shares else raw_f / 1e9
    expected_b = 100 * raw_b / raw_b.sum() if shares else raw_b / 2**20
    np.testing.assert_allclose(flops, expected_f)
    np.testing.assert_allclose(moved, expected_b)
    np.testing.assert_allclose([r.get_width() for r in ax_f.patches], expected_f)
    np.testing.assert_allclose([r.get_width() for r in ax_b.patches], expected_b)
    assert [t.get_text() for t in ax_f.get_yticklabels()] == [s["step"] for s in steps]
    assert ax_f.yaxis_inverted() and ax_f.get_title() and ax_b.get_title() and ax_f.get_xlabel()
    if shares:
        assert "GFLOP in all" in ax_f.get_title() and "MiB moved in all" in ax_b.get_title()


@pytest.mark.parametrize("steps", [[], [{"step": "q_proj", "flops": 1}], ["q_proj"]])
def test_draw_cost_bars_rejects_bad_steps(steps):
    fig = Figure()
    ax_f, ax_b = fig.subplots(1, 2)
    with pytest.raises(ValueError, match="non-empty list of dicts"):
        plotting.draw_cost_bars(ax_f, ax_b, steps)
