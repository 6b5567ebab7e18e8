"""Smoke tests for chapter 9's plotting helpers: loss curves, row maxima, sparse ticks, the backward graph."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from helpers import plotting


def axes():
    return Figure(figsize=(6, 3)).add_subplot()


def test_plot_loss_draws_raw_and_smoothed_on_a_log_scale():
    ax = axes()
    losses = np.exp(-np.linspace(0, 3, 50)) + 0.01
    lines = plotting.plot_loss(ax, losses, window=5, label="run", step=20)
    assert len(lines) == 2 and len(lines[0].get_xdata()) == 50 and len(lines[1].get_xdata()) == 46
    np.testing.assert_allclose(lines[1].get_ydata()[0], losses[:5].mean())
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "training step" and ax.get_title()
    assert any(line.get_xdata()[0] == 20 for line in ax.lines[2:])  # the step marker
    assert len(plotting.plot_loss(axes(), losses)) == 1


def test_mark_row_maxima_boxes_each_rows_largest_allowed_entry():
    ax = axes()
    m = np.array([[0.0, 3.0, 1.0], [5.0, 0.0, 9.0], [1.0, 2.0, 0.0]])
    np.testing.assert_array_equal(plotting.mark_row_maxima(ax, m), [1, 2, 1])
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert [b.get_xy() for b in boxes] == [(0.5, -0.5), (1.5, 0.5), (0.5, 1.5)]
    causal = np.tril(np.ones((3, 3), dtype=bool))
    np.testing.assert_array_equal(plotting.mark_row_maxima(axes(), m, mask=causal), [0, 0, 1])
    no_keys = np.zeros((3, 3), dtype=bool)
    np.testing.assert_array_equal(plotting.mark_row_maxima(axes(), m, mask=no_keys), [-1, -1, -1])


@pytest.mark.parametrize("call, match", [
    (lambda ax: plotting.mark_row_maxima(ax, np.ones(3)), r"matrix must be 2-D \(N, M\), but has shape \(3,\)"),
    (lambda ax: plotting.mark_row_maxima(ax, np.ones((2, 3)), mask=np.ones((3, 2))),
     r"mask has shape \(3, 2\) but the matrix has shape \(2, 3\)"),
    (lambda ax: plotting.plot_loss(ax, np.ones((2, 2))), r"losses must be a 1-D array"),
])
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call(axes())


def test_sparse_ticks_keeps_every_nth_label():
    ax = axes()
    plotting.heatmap(ax, np.zeros((10, 10)), colorbar=False)
    plotting.sparse_ticks(ax, [f"t{i}" for i in range(10)], every=4)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["t0", "t4", "t8"]
    assert list(ax.get_yticks()) == [0, 4, 8]


def test_backward_graph_names_every_gradient():
    ax = axes()
    plotting.draw_backward_graph(ax)
    texts = " ".join(t.get_text() for t in ax.texts)
    for name in ("dO", "dA", "dV", "dZ", "dQ", "dK", "(T, S)", "(S, d_v)"):
        assert name in texts
    assert ax.get_title()


def test_matrix_image_hides_entries_and_keeps_sparse_ticks():
    ax = axes()
    causal = np.tril(np.ones((10, 10), dtype=bool))
    image = plotting.matrix_image(ax, np.arange(100.0).reshape(10, 10), title="t", xlabel="key", ylabel="query",
                                  every=4, hidden=~causal)
    shown = image.get_array()
    assert np.ma.is_masked(shown[0, 1]) and shown[1, 0] == 10 and image.get_cmap().name == plotting.ATTENTION_CMAP
    assert list(ax.get_xticks()) == [0, 4, 8] and ax.get_title() == "t" and ax.get_xlabel() == "key"
    with pytest.raises(ValueError, match=r"hidden has shape \(2, 2\) but the matrix has shape \(10, 10\)"):
        plotting.matrix_image(ax, np.zeros((10, 10)), title="t", xlabel="x", ylabel="y", hidden=np.ones((2, 2)))
