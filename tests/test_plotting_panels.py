"""Tests for plotting.attention_panels (chapters 10 and 13): one colour scale, outer labels, one colour bar."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from helpers import plotting


def grid(nrows, ncols):
    fig = Figure(figsize=(3 * ncols, 3 * nrows), layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def panel(t, s, title):
    rng = np.random.default_rng(t * 10 + s)
    w = rng.random((t, s))
    return w / w.sum(axis=1, keepdims=True), [f"q{i}" for i in range(t)], [f"k{j}" for j in range(s)], title


def test_three_panels_in_a_two_by_two_grid():
    fig, axes = grid(2, 2)
    bar = plotting.attention_panels(axes, [panel(3, 4, "a"), panel(3, 4, "b"), panel(2, 5, "c")])
    assert [ax.get_visible() for ax in axes.ravel()] == [True, True, True, False]
    assert [ax.get_title() for ax in axes.ravel()[:3]] == ["a", "b", "c"]
    # y labels on the first column only; x labels on the lowest panel of each column
    assert [ax.get_ylabel() for ax in axes.ravel()[:3]] == ["query token", "", "query token"]
    assert [ax.get_xlabel() for ax in axes.ravel()[:3]] == ["", "key token", "key token"]
    for ax in axes.ravel()[:3]:
        (image,) = ax.images
        assert image.get_clim() == (0, 1) and image.get_cmap().name == plotting.ATTENTION_CMAP
        assert all(label.get_rotation() == 90 for label in ax.get_xticklabels())
    assert bar.ax.get_ylabel() == "attention weight"
    assert len(fig.axes) == 5  # four grid axes and one colour bar, not one bar per panel


def test_key_ticks_bottom_hides_the_tokens_of_upper_panels():
    fig, axes = grid(3, 1)
    plotting.attention_panels(axes, [panel(2, 6, str(i)) for i in range(3)], key_ticks="bottom", label_size=11)
    shown = [ax.xaxis.get_tick_params()["labelbottom"] for ax in axes.ravel()]
    assert shown == [False, False, True]
    assert axes[2, 0].xaxis.get_ticklabels()[0].get_fontsize() == 11


def test_a_squeezed_column_of_axes_is_read_as_a_column():
    fig = Figure(figsize=(4, 6))
    axes = fig.subplots(3, 1)  # shape (3,), like plt.subplots(3, 1)
    plotting.attention_panels(axes, [panel(2, 6, str(i)) for i in range(3)], key_ticks="bottom")
    assert [ax.get_xlabel() for ax in axes] == ["", "", "key token"]
    assert [ax.get_ylabel() for ax in axes] == ["query token"] * 3
    assert [ax.xaxis.get_tick_params()["labelbottom"] for ax in axes] == [False, False, True]


def test_a_squeezed_row_of_axes_is_read_as_a_row():
    fig = Figure(figsize=(8, 3))
    axes = fig.subplots(1, 3)  # also shape (3,)
    plotting.attention_panels(axes, [panel(2, 2, str(i)) for i in range(3)])
    assert [ax.get_xlabel() for ax in axes] == ["key token"] * 3
    assert [ax.get_ylabel() for ax in axes] == ["query token", "", ""]


def test_a_single_axes_is_a_grid_of_one():
    fig = Figure()
    ax = fig.add_subplot()
    plotting.attention_panels(ax, [panel(2, 2, "one")])
    assert ax.get_title() == "one" and ax.get_xlabel() == "key token"


@pytest.mark.parametrize("panels, kwargs, match", [
    ([], {}, "empty"),
    ([panel(2, 2, "x")] * 5, {}, "5 panels do not fit into 4 axes"),
    ([(np.eye(2), None, None)], {}, "length 3"),
    ([panel(2, 2, "x")], {"key_ticks": "top"}, "key_ticks"),
    ([(np.eye(2), ["a"], None, "t")], {}, "row_labels has 1 labels"),
])
def test_rejects_bad_panels(panels, kwargs, match):
    fig, axes = grid(2, 2)
    with pytest.raises(ValueError, match=match):
        plotting.attention_panels(axes, panels, **kwargs)
