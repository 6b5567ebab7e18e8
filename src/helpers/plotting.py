"""Plotting helpers shared by every chapter of the book.

These functions only draw. The numbers they show come from the math helpers
(``helpers.linear`` and friends) or from numpy, never from a second copy of the
math. Each function draws onto axes that the caller made, so it works with
``plt.subplots`` in a notebook cell and with a bare ``matplotlib.figure.Figure``
inside a widget frame.

Every axis gets a label and every panel gets a title. Attention weights use
:data:`ATTENTION_CMAP` everywhere in the book, so one colour means one weight in
every chapter.
"""

import numpy as np

from .projections import linear

__all__ = [
    "ATTENTION_CMAP",
    "WEIGHT_CMAP",
    "POINT_CMAP",
    "heatmap",
    "draw_transform",
    "draw_projection_to_line",
]

#: Colormap for attention weights and scores, the same in every chapter.
ATTENTION_CMAP = "viridis"
#: Diverging colormap for signed matrices such as weight matrices (0 is white).
WEIGHT_CMAP = "RdBu_r"
#: Cyclic colormap that colours points of a cloud by their angle, so the eye can
#: follow each point through a transformation.
POINT_CMAP = "hsv"


def heatmap(ax, matrix, row_labels=None, col_labels=None, title=None, cmap=None, *,
            xlabel="key position", ylabel="query position", vmin=None, vmax=None,
            symmetric=False, annotate=False, fmt=".2f", colorbar=True):
    """Draw a 2-D array as a heatmap: one cell per entry, row 0 at the top.

    Made for the score and weight matrices of later chapters (rows are
    queries, columns are keys), and for weight matrices with ``symmetric=True``.

    Parameters
    ----------
    ax : matplotlib Axes
    matrix : array_like, shape (T, S)
        E.g. attention weights (T query positions, S key positions).
    row_labels, col_labels : sequence of str, optional
        Tick labels, e.g. the tokens. Default: the indices 0, 1, 2, ...
    title : str, optional
        Panel title. Default: ``"matrix (T, S)"`` with the real shape.
    cmap : str, optional
        Default :data:`ATTENTION_CMAP`, or :data:`WEIGHT_CMAP` when
        ``symmetric`` is true.
    xlabel, ylabel : str
        Axis labels (default: key position and query position).
    vmin, vmax : float, optional
        Colour limits. Default: the data range.
    symmetric : bool
        Centre the colours on 0 (vmin = -vmax), for signed matrices.
    annotate : bool
        Write each value in its cell (only sensible for small matrices).
    fmt : str
        Format of the annotations.
    colorbar : bool
        Add a colorbar next to the axes.

    Returns
    -------
    matplotlib.image.AxesImage

    Raises
    ------
    ValueError
        If ``matrix`` is not 2-D or a label list has the wrong length.

    Used from Chapter 1 on; attention heatmaps start in Chapter 4.
    """
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2:
        raise ValueError(f"heatmap needs a 2-D matrix of shape (T, S), but got shape {m.shape}")
    n_rows, n_cols = m.shape
    for labels, n, what in ((row_labels, n_rows, "row_labels"), (col_labels, n_cols, "col_labels")):
        if labels is not None and len(labels) != n:
            raise ValueError(f"{what} has {len(labels)} labels but the matrix has shape {m.shape}")
    if symmetric:
        limit = float(np.max(np.abs(m))) if m.size else 1.0
        limit = limit or 1.0
        vmin, vmax = -limit, limit
    if cmap is None:
        cmap = WEIGHT_CMAP if symmetric else ATTENTION_CMAP
    image = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(n_cols))
    ax.set_yticks(range(n_rows))
    ax.set_xticklabels([str(c) for c in col_labels] if col_labels is not None else [str(j) for j in range(n_cols)])
    ax.set_yticklabels([str(r) for r in row_labels] if row_labels is not None else [str(i) for i in range(n_rows)])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title if title is not None else f"matrix {m.shape}")
    if annotate:
        low, high = image.get_clim()
        middle = (low + high) / 2
        for i in range(n_rows):
            for j in range(n_cols):
                # Dark text on light cells and light text on dark cells.
                if symmetric:
                    dark_cell = abs(m[i, j]) > 0.6 * max(abs(low), abs(high))
                else:
                    dark_cell = m[i, j] < middle
                ax.text(j, i, format(m[i, j], fmt), ha="center", va="center", fontsize=8,
                        color="white" if dark_cell else "black")
    if colorbar:
        ax.figure.colorbar(image, ax=ax)
    return image


def _check_2x2(w, name="w"):
    w = np.asarray(w, dtype=float)
    if w.shape != (2, 2):
        raise ValueError(f"{name} must be a 2x2 matrix (d_in=2, d_out=2) to draw it in the plane, but has shape {w.shape}")
    return w


def _check_points(points, name="points"):
    p = np.asarray(points, dtype=float)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2), one 2-D point per row, but has shape {p.shape}")
    return p


def _arrow(ax, tip, label, color):
    """An arrow from the origin to ``tip`` with a text label at its tip."""
    ax.annotate("", xy=(tip[0], tip[1]), xytext=(0.0, 0.0),
                arrowprops=dict(arrowstyle="-|>", color=color, lw=2.0, shrinkA=0, shrinkB=0), zorder=4)
    norm = float(np.hypot(tip[0], tip[1]))
    # Put the label just beyond the tip, on a white box so the cloud does not hide it.
    if norm < 1e-9:  # the basis vector was sent to zero: say so
        label, offset = f"{label} = 0", (-0.4, -0.35 if color == "tab:blue" else 0.35)
    else:
        offset = (0.3 * tip[0] / norm, 0.3 * tip[1] / norm)
    ax.text(tip[0] + offset[0], tip[1] + offset[1], label, color=color, fontsize=9,
            fontweight="bold", ha="center", va="center", zorder=5,
            bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.8))


def draw_transform(ax_before, ax_after, points, w, *, colors=None, lim=3.5,
                   titles=("before: the points x", None)):
    """Draw a 2-D point cloud before and after ``y = x @ w``, with the basis vectors.

    Left panel: the points ``x``, the unit square, and the basis vectors
    e0 = (1, 0) and e1 = (0, 1). Right panel: the points ``helpers.linear(x, w)``,
    the image of the unit square (a parallelogram whose area is |det w|), and
    the images of the basis vectors, ``e0 @ w = w[0]`` and ``e1 @ w = w[1]``:
    in the row-vector convention the *rows* of ``w`` are where the basis
    vectors land.

    Parameters
    ----------
    ax_before, ax_after : matplotlib Axes
    points : array_like, shape (N, 2)
        One point per row.
    w : array_like, shape (2, 2)
        Weight matrix in the course layout (d_in, d_out).
    colors : array_like, shape (N,), optional
        One number per point, shown with :data:`POINT_CMAP`. Default: the
        angle of each input point, so a point keeps its colour after the map.
    lim : float
        Both panels show [-lim, lim] on both axes, so frames compare directly.
    titles : (str, str or None)
        Panel titles. ``None`` for the right panel gives
        ``"after: x @ W  (det ..., rank ...)"``.

    Returns
    -------
    y : ndarray, shape (N, 2)
        The transformed points, from :func:`helpers.linear`.

    Raises
    ------
    ValueError
        If ``w`` is not 2x2 or ``points`` is not (N, 2).

    Taught in Chapter 1.
    """
    w = _check_2x2(w)
    x = _check_points(points)
    if colors is None:
        colors = np.arctan2(x[:, 1], x[:, 0])
    y = linear(x, w)
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    det = round(float(np.linalg.det(w)), 10) + 0.0  # + 0.0 turns -0.0 into 0.0 for the title
    rank = int(np.linalg.matrix_rank(w))
    title_before, title_after = titles
    if title_after is None:
        title_after = f"after: x @ W  (det {det:+.2f}, rank {rank})"
    panels = (
        (ax_before, x, square, np.eye(2), ("e0", "e1"), title_before, "x[0] (input dim 0)", "x[1] (input dim 1)"),
        (ax_after, y, linear(square, w), w, ("e0 @ W", "e1 @ W"), title_after,
         "y[0] (output dim 0)", "y[1] (output dim 1)"),
    )
    for ax, pts, corners, tips, names, title, xlabel, ylabel in panels:
        ax.axhline(0.0, color="0.85", lw=0.8, zorder=0)
        ax.axvline(0.0, color="0.85", lw=0.8, zorder=0)
        ax.fill(corners[:, 0], corners[:, 1], facecolor="0.5", alpha=0.3, edgecolor="black", lw=1.0, zorder=3)
        ax.scatter(pts[:, 0], pts[:, 1], c=colors, cmap=POINT_CMAP, s=10, alpha=0.55,
                   edgecolors="none", zorder=2)
        _arrow(ax, tips[0], names[0], "tab:red")
        _arrow(ax, tips[1], names[1], "tab:blue")
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    return y


def draw_projection_to_line(ax_in, ax_out, points, w, *, pair=None, lim=3.0):
    """Draw a projection from 2-D down to 1-D, ``y = x @ w`` with w of shape (2, 1).

    Left panel: the input points, coloured by their output value, so every
    line of one colour is a set of inputs that land on the same output. If
    ``pair`` is given, its two inputs are marked and joined by a dashed line
    (a null-space direction when they share an output). Right panel: the
    outputs on a number line; the pair's outputs are marked too.

    Parameters
    ----------
    ax_in, ax_out : matplotlib Axes
    points : array_like, shape (N, 2)
    w : array_like, shape (2, 1)
        Weight matrix (d_in=2, d_out=1).
    pair : array_like, shape (2, 2), optional
        Two input points, one per row, to highlight.
    lim : float
        The input panel shows [-lim, lim] on both axes.

    Returns
    -------
    y : ndarray, shape (N,)
        The outputs of ``points``, from :func:`helpers.linear`.

    Raises
    ------
    ValueError
        If ``w`` is not (2, 1), or ``points`` or ``pair`` is not (N, 2).

    Taught in Chapter 1.
    """
    w = np.asarray(w, dtype=float)
    if w.shape != (2, 1):
        raise ValueError(f"w must have shape (d_in, d_out) = (2, 1) for a projection onto a line, but has shape {w.shape}")
    x = _check_points(points)
    y = linear(x, w)[:, 0]
    limit = float(np.max(np.abs(y))) if y.size else 1.0
    scatter_kw = dict(c=y, cmap=WEIGHT_CMAP, vmin=-limit, vmax=limit, s=14, edgecolors="none", zorder=2)
    ax_in.scatter(x[:, 0], x[:, 1], **scatter_kw)
    ax_out.scatter(y, np.zeros_like(y), **scatter_kw)
    if pair is not None:
        p = _check_points(pair, "pair")
        p_out = linear(p, w)[:, 0]
        ax_in.plot(p[:, 0], p[:, 1], "k--", lw=1.2, zorder=3)
        ax_in.scatter(p[:, 0], p[:, 1], marker="*", s=160, color="black", zorder=4)
        for point, name in zip(p, ("a", "b")):
            ax_in.text(point[0] + 0.15, point[1], name, fontsize=11, fontweight="bold", va="center", zorder=5)
        ax_out.scatter(p_out, np.zeros_like(p_out), marker="*", s=160, color="black", zorder=4)
        if np.isclose(p_out[0], p_out[1]):
            ax_out.text(p_out[0], 0.25, "a and b", ha="center", fontsize=10, fontweight="bold")
        else:
            for value, name in zip(p_out, ("a", "b")):
                ax_out.text(value, 0.25, name, ha="center", fontsize=10, fontweight="bold")
    ax_in.set_xlim(-lim, lim)
    ax_in.set_ylim(-lim, lim)
    ax_in.set_aspect("equal")
    ax_in.set_title("input: 2-D points x", fontsize=10)
    ax_in.set_xlabel("x[0] (input dim 0)")
    ax_in.set_ylabel("x[1] (input dim 1)")
    ax_out.set_ylim(-1.0, 1.0)
    ax_out.set_yticks([])
    ax_out.axhline(0.0, color="0.7", lw=0.8, zorder=1)
    ax_out.set_title("output: 1-D y = x @ W", fontsize=10)
    ax_out.set_xlabel("y[0] (the only output dim)")
    ax_out.set_ylabel("(no second dim)")
    return y


# ---- chapter 10/13: several attention heatmaps on one figure

__all__ += ["attention_panels"]


def attention_panels(axes, panels, *, label_size=9, xlabel="key token", ylabel="query token",
                     colorbar_label="attention weight", key_ticks="all"):
    """Draw one attention-weight heatmap per panel, with one shared colour bar (chapters 10 and 13).

    Every panel uses :data:`ATTENTION_CMAP` with the colour limits 0 and 1,
    so one colour means one weight in every panel. The axis labels go on the
    outer panels only (x under the lowest panel of each column, y left of
    the first column; the grid is read from each axes' subplot spec), the key
    tokens are written vertically, and axes left over in the grid are hidden.

    Parameters
    ----------
    axes : array of matplotlib Axes
        E.g. ``plt.subplots(nrows, ncols)[1]``; a single Axes is allowed.
    panels : sequence of (weights, row_labels, col_labels, title)
        ``weights`` of shape (T, S): rows are queries, columns are keys;
        ``row_labels`` has T entries and ``col_labels`` S entries (the
        tokens); at most as many panels as axes.
    label_size : float, default 9
        Font size of the token labels.
    xlabel, ylabel : str
        Labels of the outer axes.
    colorbar_label : str
        Label of the colour bar.
    key_ticks : {"all", "bottom"}, default "all"
        "bottom" writes the key tokens under the bottom panels only, for a
        stack of panels over the same keys.

    Returns
    -------
    matplotlib.colorbar.Colorbar

    Raises
    ------
    ValueError
        If there are more panels than axes, no panel, a panel is not a
        4-tuple, or ``key_ticks`` is unknown; :func:`heatmap` raises for a
        label list of the wrong length.
    """
    if key_ticks not in ("all", "bottom"):
        raise ValueError(f"key_ticks must be 'all' or 'bottom', but is {key_ticks!r}")
    flat = list(np.ravel(np.asarray(axes, dtype=object)))
    panels = list(panels)
    if not panels:
        raise ValueError("panels is empty: give at least one (weights, row_labels, col_labels, title)")
    if len(panels) > len(flat):
        raise ValueError(f"{len(panels)} panels do not fit into {len(flat)} axes")
    for k, panel in enumerate(panels):
        if not isinstance(panel, (tuple, list)) or len(panel) != 4:
            raise ValueError(f"panel {k} must be (weights, row_labels, col_labels, title), but is {type(panel).__name__}"
                             + (f" of length {len(panel)}" if isinstance(panel, (tuple, list)) else ""))
    # each used axes' (row, column) in its grid, from matplotlib's subplot spec;
    # axes made without one count as a single row
    places = []
    for k, ax in enumerate(flat[:len(panels)]):
        spec = ax.get_subplotspec() if hasattr(ax, "get_subplotspec") else None
        places.append((spec.rowspan.start, spec.colspan.start) if spec is not None else (0, k))
    lowest = {}
    for row, col in places:
        lowest[col] = max(lowest.get(col, row), row)
    image = None
    for k, ax in enumerate(flat):
        if k >= len(panels):
            ax.set_visible(False)
            continue
        weights, rows, cols, title = panels[k]
        row, col = places[k]
        bottom = row == lowest[col]
        first_col = col == min(c for _, c in places)
        image = heatmap(ax, weights, rows, cols, title=title, vmin=0, vmax=1, colorbar=False,
                        xlabel=xlabel if bottom else "", ylabel=ylabel if first_col else "")
        ax.tick_params(labelsize=label_size)
        ax.tick_params(axis="x", labelrotation=90, labelbottom=bottom or key_ticks == "all")
    visible = [ax for ax in flat if ax.get_visible()]
    return visible[0].figure.colorbar(image, ax=visible, shrink=0.8, label=colorbar_label)
