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

from .heads import repeat_kv
from .projections import linear

__all__ = [
    "ATTENTION_CMAP",
    "WEIGHT_CMAP",
    "POINT_CMAP",
    "heatmap",
    "draw_transform",
    "draw_projection_to_line",
    "draw_kv_sharing",
    "draw_cost_bars",
    "position_map",
    "draw_residual_stream",
    "draw_norm_placement",
    "depth_band",
    "draw_query_and_keys",
    "MASK_CMAP",
    "mask_heatmap",
    "head_heatmaps",
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


# ---------------------------------------------------------------- chapter 2/3

def draw_query_and_keys(ax, query, keys, labels=None, *, colors="tab:blue", label_at=1.2,
                        query_label="query", title="keys and the query", xlabel="dimension 0",
                        ylabel="dimension 1", fontsize=10, limits=None):
    """Draw 2-D keys as labelled arrows from the origin, and the query as a thick black arrow.

    The picture of a dot-product match in the plane: the key whose arrow
    points most nearly along the query's, and is longest, gets the largest
    score ``q . k``. The axes are equal and large enough for every arrow and
    label.

    Parameters
    ----------
    ax : matplotlib Axes
    query : array_like, shape (2,)
        One query (d_k = 2).
    keys : array_like, shape (S, 2)
        One key per row.
    labels : sequence of str, optional
        One label per key, written beyond the tip of its arrow (may hold a
        line break), aligned away from the origin so that neighbouring
        labels do not overlap. Default ``"k0"``, ``"k1"``, ...
    colors : str or sequence of str
        One colour for every key, or one per key.
    label_at : float
        Where a key's label sits, as a multiple of the key (1.2: a little
        beyond the tip).
    query_label : str
        Written beside the middle of the query's arrow.
    title, xlabel, ylabel : str
        Panel title and axis labels.
    fontsize : float
        Size of the labels (10 stays legible when the figure is shown at
        about 80% of its width).
    limits : ((float, float), (float, float)), optional
        The x and y limits. Default: every arrow and label anchor, plus a
        margin of 0.7 (long labels may need more).

    Returns
    -------
    scores : ndarray, shape (S,)
        ``keys @ query``, the score of each key, from :func:`helpers.linear`.

    Raises
    ------
    ValueError
        If ``query`` is not (2,), ``keys`` is not (S, 2), or a label or
        colour list does not have one entry per key.

    Used in Chapters 2 and 3.
    """
    q = np.asarray(query, dtype=float)
    if q.shape != (2,):
        raise ValueError(f"query must have shape (2,) to draw it in the plane, but has shape {q.shape}")
    k = _check_points(keys, "keys")
    n_keys = len(k)
    labels = [f"k{j}" for j in range(n_keys)] if labels is None else list(labels)
    color_list = [colors] * n_keys if isinstance(colors, str) else list(colors)
    for given, what in ((labels, "labels"), (color_list, "colors")):
        if len(given) != n_keys:
            raise ValueError(f"{what} has {len(given)} entries but there are {n_keys} keys (keys has shape {k.shape})")
    for key, label, color in zip(k, labels, color_list):
        ax.annotate("", xy=key, xytext=(0, 0), arrowprops=dict(arrowstyle="-|>", color=color, lw=1.8))
        direction = key / (float(np.hypot(*key)) or 1.0)
        ha = "left" if direction[0] > 0.3 else "right" if direction[0] < -0.3 else "center"
        va = "bottom" if direction[1] > 0.3 else "top" if direction[1] < -0.3 else "center"
        ax.text(*(key * label_at), label, color=color, ha=ha, va=va, fontsize=fontsize)
    ax.annotate("", xy=q, xytext=(0, 0), arrowprops=dict(arrowstyle="-|>", color="black", lw=2.5))
    norm = float(np.hypot(*q)) or 1.0
    beside = q / 2 + 0.3 * np.array([q[1], -q[0]]) / norm   # the middle of the arrow, moved off it
    ax.text(*beside, query_label, fontweight="bold", ha="center", va="center", fontsize=fontsize)
    if limits is None:
        ends = np.vstack([k * label_at, q, np.zeros((1, 2))])
        low, high = ends.min(axis=0) - 0.7, ends.max(axis=0) + 0.7
        limits = ((low[0], high[0]), (low[1], high[1]))
    ax.set(xlim=limits[0], ylim=limits[1], aspect="equal", title=title, xlabel=xlabel, ylabel=ylabel)
    return linear(k, q[:, None])[:, 0]


# ---------------------------------------------------------------- chapter 5

#: Grey levels for boolean masks: white = may attend, black = forbidden. Never the attention colormap,
#: so that a mask cannot be mistaken for a matrix of weights.
MASK_CMAP = "Greys_r"


def mask_heatmap(ax, mask, row_labels=None, col_labels=None, title=None, *,
                 xlabel="key token", ylabel="query token", annotate=True):
    """Draw a boolean mask in black and white: white (1) = may attend, black (0) = forbidden.

    Parameters
    ----------
    ax : matplotlib Axes
    mask : array_like of bool, shape (T, S)
        True where query t may attend to key s (the course's convention).
        0 and 1 are accepted too.
    row_labels, col_labels : sequence of str, optional
        Tick labels, e.g. the query and key tokens.
    title : str, optional
        Panel title. Default: ``"mask (T, S)"`` with the real shape.
    xlabel, ylabel : str
        Axis labels (default: key token and query token).
    annotate : bool
        Write 1 or 0 in each cell.

    Returns
    -------
    matplotlib.image.AxesImage

    Raises
    ------
    ValueError
        If ``mask`` is not 2-D, holds values other than True/False (0/1), or a
        label list has the wrong length.

    Used in Chapter 5.
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask_heatmap needs a 2-D mask of shape (T, S), but got shape {m.shape}")
    if m.dtype != np.bool_ and not (m.dtype.kind in "iuf" and np.all((m == 0) | (m == 1))):
        raise ValueError(f"mask_heatmap needs True/False (or 1/0) values, but got dtype {m.dtype} "
                         "with other values")
    title = title if title is not None else f"mask {m.shape}"
    return heatmap(ax, m.astype(float), row_labels, col_labels, title=title, cmap=MASK_CMAP,
                   xlabel=xlabel, ylabel=ylabel, vmin=0, vmax=1, annotate=annotate, fmt=".0f",
                   colorbar=False)


# ---------------------------------------------------------------- chapter 6

def head_heatmaps(fig, weights, tokens, *, ncols=None, fontsize=None):
    """Draw one (T, T) heatmap of attention weights per head on a grid, with one shared colorbar.

    Only the left column gets query labels and only the bottom row key labels,
    so that many small panels stay readable.

    Parameters
    ----------
    fig : matplotlib Figure or SubFigure
        Where to draw (a widget frame's figure, or a subfigure).
    weights : array_like, shape (H, T, S)
        The attention weights of each head.
    tokens : sequence of str
        The T token labels (used for the queries and, when S = T, the keys;
        otherwise the keys are numbered).
    ncols : int, optional
        Panels per row. Default: H for H <= 2, else ceil(H / 2).
    fontsize : float, optional
        Tick label size. Default: 9 for H <= 2, else 7.

    Returns
    -------
    list of matplotlib Axes
        One per head, in head order.

    Raises
    ------
    ValueError
        If ``weights`` is not 3-D or ``tokens`` does not have T labels.

    Used in Chapter 6.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 3:
        raise ValueError(f"head_heatmaps needs weights of shape (H, T, S), but got shape {w.shape}")
    n_heads, n_q, n_k = w.shape
    if len(tokens) != n_q:
        raise ValueError(f"tokens has {len(tokens)} labels but the weights have T = {n_q} queries")
    ncols = ncols or (n_heads if n_heads <= 2 else -(-n_heads // 2))
    nrows = -(-n_heads // ncols)
    size = fontsize or (9 if n_heads <= 2 else 7)
    keys = list(tokens) if n_k == n_q else [str(s) for s in range(n_k)]
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax in axes[n_heads:]:
        ax.set_visible(False)
    for h, ax in enumerate(axes[:n_heads]):
        bottom, first = h + ncols >= n_heads, h % ncols == 0
        image = heatmap(ax, w[h], tokens, keys, title=f"head {h}", colorbar=False, vmin=0, vmax=1,
                        xlabel="key" if bottom else "", ylabel="query" if first else "")
        ax.tick_params(labelsize=size)
        ax.tick_params(axis="x", labelrotation=90)
        if not first:
            ax.set_yticklabels([])
        if not bottom:
            ax.set_xticklabels([])
    fig.colorbar(image, ax=list(axes[:n_heads]), shrink=0.8, label="attention weight")
    return list(axes[:n_heads])


# ---------------------------------------------------------------- chapter 7

def position_map(ax, matrix, *, title, xlabel, ylabel, tick_step=None, symmetric=True, colorbar=True):
    """Draw a large position-by-something matrix (e.g. a 512 x 512 similarity map) with a tick every few rows (chapter 7).

    :func:`heatmap` labels every row and column, which is right for a few
    tokens and unreadable for hundreds of positions. This one puts a tick
    every ``tick_step`` rows and columns, labelled with the index.

    Parameters
    ----------
    ax : matplotlib Axes
    matrix : array_like, shape (T, S)
        E.g. cosine similarities of position vectors, or a (T, D) position table.
    title, xlabel, ylabel : str
    tick_step : int, optional
        Distance between ticks; default about a sixth of the longer side,
        rounded to 1, 2 or 5 times a power of ten.
    symmetric : bool, default True
        Centre the colours on 0 with :data:`WEIGHT_CMAP` (similarities and
        sines are signed); False uses :data:`ATTENTION_CMAP` and the data range.
    colorbar : bool, default True

    Returns
    -------
    matplotlib.image.AxesImage

    Raises
    ------
    ValueError
        If ``matrix`` is not 2-D and non-empty, or ``tick_step`` is not a positive integer.
    """
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"position_map needs a non-empty 2-D matrix, but got shape {m.shape}")
    if tick_step is None:
        target = max(m.shape) / 6
        tick_step = int(min((s * 10 ** e for e in range(7) for s in (1, 2, 5) if s * 10 ** e >= target),
                            default=1))
    elif isinstance(tick_step, bool) or not isinstance(tick_step, (int, np.integer)) or tick_step < 1:
        raise ValueError(f"tick_step must be a positive integer, got {tick_step!r}")
    if symmetric:
        limit = float(np.max(np.abs(m))) or 1.0
        kw = dict(cmap=WEIGHT_CMAP, vmin=-limit, vmax=limit)
    else:
        kw = dict(cmap=ATTENTION_CMAP)
    image = ax.imshow(m, aspect="auto", interpolation="nearest", **kw)
    ax.set_xticks(range(0, m.shape[1], tick_step))
    ax.set_yticks(range(0, m.shape[0], tick_step))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if colorbar:
        ax.figure.colorbar(image, ax=ax)
    return image


# ---------------------------------------------------------------- chapter 8

#: Colours of the transformer block's diagrams: the residual stream, attention, the MLP, the norms.
BLOCK_COLORS = {"stream": "#4a4a4a", "attention": "#d9730d", "mlp": "#2e8b57", "norm": "#6a5acd"}


def _box(ax, x0, y0, width, height, text, color, *, fontsize=13, fill=0.15, dashed=False):
    """A rounded box from (x0, y0) with its text in the middle; returns the patch."""
    from matplotlib.colors import to_rgba
    from matplotlib.patches import FancyBboxPatch

    patch = FancyBboxPatch((x0, y0), width, height, boxstyle="round,pad=0.02,rounding_size=0.15",
                           fc=to_rgba(color, fill), ec=color, lw=1.2 if dashed else 2,
                           ls="--" if dashed else "-", zorder=2)
    ax.add_patch(patch)
    if text:
        ax.text(x0 + width / 2, y0 + height / 2, text, ha="center", va="center", fontsize=fontsize, zorder=3)
    return patch


def _flow(ax, points, color, *, arrow=True, lw=2.2):
    """A polyline through ``points``, with an arrowhead on its last segment."""
    xs, ys = zip(*points)
    ax.plot(xs[:-1] if arrow else xs, ys[:-1] if arrow else ys, color=color, lw=lw, zorder=1,
            solid_capstyle="round")
    if arrow:
        ax.annotate("", xy=points[-1], xytext=points[-2], zorder=1,
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=lw, mutation_scale=16, shrinkA=0, shrinkB=0))


def _plus(ax, x, y, color, radius=0.28):
    """The addition of a residual connection: a circled plus on the stream."""
    from matplotlib.patches import Circle

    ax.add_patch(Circle((x, y), radius, fc="white", ec=color, lw=2, zorder=3))
    ax.text(x, y, "+", ha="center", va="center", fontsize=15, fontweight="bold", color=color, zorder=4)


def draw_residual_stream(ax, *, num_heads=3):
    """Draw one pre-norm block around its residual stream: heads read through W_q, W_k, W_v, write through W_o.

    The stream runs from the bottom (the block's input, one vector of width
    D per token) to the top. The attention sublayer branches off, normalises
    its copy, lets each head read it and adds the heads' output back through
    W_o; the MLP sublayer does the same, one token at a time. Only draws: the
    numbers of the chapter come from :func:`helpers.transformer_block`.

    Parameters
    ----------
    ax : matplotlib Axes
        Best about 5.4 x 7 inches: the text is sized to stay legible on a phone.
    num_heads : int, default 3
        How many head boxes to draw (1 to 4).

    Raises
    ------
    ValueError
        If ``num_heads`` is not 1, 2, 3 or 4.

    Used in Chapter 8.
    """
    if num_heads not in (1, 2, 3, 4):
        raise ValueError(f"num_heads must be 1, 2, 3 or 4 (room for the boxes), got {num_heads!r}")
    c = BLOCK_COLORS
    ax.set(xlim=(0, 10), ylim=(-0.4, 12.4))
    ax.axis("off")
    sx = 1.5  # the stream's x
    _flow(ax, [(sx, 0.5), (sx, 11.6)], c["stream"], lw=4)
    ax.text(sx, 0.1, "x: one vector per token, (T, D)", ha="left", va="center", fontsize=13)
    ax.text(sx, 12.0, "to the next block", ha="left", va="center", fontsize=13)
    ax.text(0.7, 6.0, "residual stream", rotation=90, ha="center", va="center", fontsize=14, color=c["stream"])

    # attention: norm, H heads that read with W_q, W_k, W_v, then W_o back into the stream
    _box(ax, 2.2, 0.9, 7.65, 4.75, "", c["attention"], fill=0.04, dashed=True)
    ax.text(9.7, 5.15, "attention:\nmixes positions", ha="right", va="center", fontsize=13, color=c["attention"])
    _flow(ax, [(sx, 1.6), (2.5, 1.6)], c["stream"])
    _box(ax, 2.5, 1.25, 1.7, 0.7, "norm", c["norm"])
    width, gap = 1.5, 0.2
    left = 7.0 - (num_heads * width + (num_heads - 1) * gap) / 2
    centers = [left + h * (width + gap) + width / 2 for h in range(num_heads)]
    for h, cx in enumerate(centers):
        _flow(ax, [(4.2, 1.6), (cx, 1.6), (cx, 2.75)], c["attention"], lw=1.6)
        _box(ax, cx - width / 2, 2.75, width, 0.85, f"head {h}", c["attention"], fontsize=13)
        _flow(ax, [(cx, 3.6), (cx, 4.35)], c["attention"], arrow=False, lw=1.6)
    ax.text(7.0, 1.2, r"read: $W_q$, $W_k$, $W_v$", ha="center", va="center", fontsize=13)
    _flow(ax, [(centers[-1], 4.35), (sx + 0.3, 4.35)], c["attention"])
    ax.text(3.6, 4.75, r"write: $W_o$", ha="center", va="center", fontsize=13)
    _plus(ax, sx, 4.35, c["attention"])

    # the MLP: norm, up to F, activation, down to D, back into the stream
    _box(ax, 2.2, 6.05, 7.65, 4.75, "", c["mlp"], fill=0.04, dashed=True)
    ax.text(9.7, 10.2, "MLP:\neach token alone", ha="right", va="center", fontsize=13, color=c["mlp"])
    _flow(ax, [(sx, 6.7), (2.5, 6.7)], c["stream"])
    _box(ax, 2.5, 6.35, 1.7, 0.7, "norm", c["norm"])
    _flow(ax, [(4.2, 6.7), (4.7, 6.7)], c["mlp"], lw=1.6)
    _box(ax, 4.7, 6.35, 4.9, 2.3, "up: D \u2192 F\nGELU or SwiGLU\ndown: F \u2192 D", c["mlp"], fontsize=13)
    _flow(ax, [(7.15, 8.65), (7.15, 9.5), (sx + 0.3, 9.5)], c["mlp"])
    _plus(ax, sx, 9.5, c["mlp"])
    return ax


def draw_norm_placement(ax, norm_position):
    """Draw where the norms sit in a block: on each branch (pre-norm) or on the stream after each addition (post-norm).

    Parameters
    ----------
    ax : matplotlib Axes
        About 2.7 x 5 inches per panel.
    norm_position : {"pre", "post"}

    Raises
    ------
    ValueError
        If ``norm_position`` is not "pre" or "post".

    Used in Chapter 8.
    """
    if norm_position not in ("pre", "post"):
        raise ValueError(f"norm_position must be 'pre' or 'post', got {norm_position!r}")
    c = BLOCK_COLORS
    ax.set(xlim=(0, 6), ylim=(0, 10.6))
    ax.axis("off")
    sx, bx = 1.0, 4.0  # the stream's x, the sublayers' x
    _flow(ax, [(sx, 0.3), (sx, 10.3)], c["stream"], lw=4)
    for y, name, color in ((1.2, "attention", c["attention"]), (5.6, "MLP", c["mlp"])):
        if norm_position == "pre":
            _flow(ax, [(sx, y), (bx - 0.8, y)], c["stream"], arrow=False)
            _box(ax, bx - 0.9, y - 0.38, 1.8, 0.76, "norm", c["norm"], fontsize=13)
            _flow(ax, [(bx, y + 0.35), (bx, y + 1.0)], color)
        else:
            _flow(ax, [(sx, y), (bx, y), (bx, y + 1.0)], color)
        _box(ax, bx - 1.45, y + 1.0, 2.9, 1.0, name, color, fontsize=13)
        _flow(ax, [(bx, y + 2.0), (bx, y + 2.7), (sx + 0.3, y + 2.7)], color)
        _plus(ax, sx, y + 2.7, color)
        if norm_position == "post":
            _box(ax, sx - 0.9, y + 3.22, 1.8, 0.76, "norm", c["norm"], fontsize=13)
    ax.set_title("pre-norm\n(Llama, SmolLM2)\nx \u2190 x + f(norm(x))" if norm_position == "pre" else
                 "post-norm\n(BERT, MiniLM)\nx \u2190 norm(x + f(x))", fontsize=13)
    return ax


def depth_band(ax, runs, *, label, color, depths=None, lw=2.0):
    """Plot a quantity measured over several runs against depth: the mean as a line, the min-max range as a band.

    Parameters
    ----------
    ax : matplotlib Axes
    runs : array_like, shape (R, L + 1)
        One row per run (e.g. per random seed), one column per depth.
    label : str
        The line's legend label.
    color : str
    depths : array_like, shape (L + 1,), optional
        Default 0, 1, ..., L.
    lw : float, default 2.0

    Returns
    -------
    mean : ndarray, shape (L + 1,)
        The plotted mean over the runs.

    Raises
    ------
    ValueError
        If ``runs`` is not 2-D with at least one run, or ``depths`` does not match its columns.

    Used in Chapter 8.
    """
    r = np.asarray(runs, dtype=float)
    if r.ndim != 2 or r.shape[0] < 1 or r.shape[1] < 1:
        raise ValueError(f"runs must have shape (R, L + 1) with R >= 1, got shape {r.shape}")
    x = np.arange(r.shape[1]) if depths is None else np.asarray(depths, dtype=float)
    if x.shape != (r.shape[1],):
        raise ValueError(f"depths has shape {x.shape} but runs has {r.shape[1]} columns (one per depth)")
    mean = r.mean(axis=0)
    ax.fill_between(x, r.min(axis=0), r.max(axis=0), color=color, alpha=0.2, lw=0)
    ax.plot(x, mean, color=color, lw=lw, label=label)
    return mean


# ---------------------------------------------------------------- chapter 9: how q_proj, k_proj and v_proj learn

def plot_loss(ax, losses, *, window=None, label=None, color="tab:blue", step=None, title="training loss",
              ylabel="loss (nats, log scale)"):
    """Draw a training-loss curve on a log scale: every step faint, a moving average on top.

    Parameters
    ----------
    ax : matplotlib Axes
    losses : array_like, shape (steps,)
        The loss of every training step, e.g. ``TrainingRun.losses``.
    window : int, optional
        Steps per moving average (:func:`helpers.tiny.moving_average`),
        drawn over the raw curve; None draws the raw curve alone.
    label : str, optional
        Legend entry of the curve (the smoothed one when there is one).
    color : str
        One colour for both curves.
    step : int, optional
        Draw a vertical line at this step (e.g. the frame of a widget).
    title, ylabel : str

    Returns
    -------
    list of matplotlib Line2D
        The raw curve, then the smoothed one if any.

    Raises
    ------
    ValueError
        If ``losses`` is not 1-D, or ``window`` does not fit it.

    Used in Chapter 9.
    """
    from .tiny import moving_average  # here, so that plotting does not import the model at start-up

    values = np.asarray(losses, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"losses must be a 1-D array of one loss per step, but has shape {values.shape}")
    steps = np.arange(len(values))
    lines = ax.plot(steps, values, color=color, alpha=0.25 if window else 1.0, lw=0.8,
                    label=None if window else label)
    if window:
        smooth = moving_average(values, window)
        lines += ax.plot(steps[window - 1:], smooth, color=color, lw=2.0, label=label)
    if step is not None:
        ax.axvline(step, color="tab:red", lw=1.2, ls="--")
    ax.set_yscale("log")
    ax.set(title=title, xlabel="training step", ylabel=ylabel)
    if label:
        ax.legend(fontsize=8)
    return lines


def mark_row_maxima(ax, matrix, mask=None, color="tab:red"):
    """Outline the largest entry of every row of a heatmap drawn with :func:`heatmap`.

    A QK circuit is read row by row: row i holds query i's scores for every
    key, and its largest entry is the key it looks for. The outlines make
    that reading visible at a glance: a diagonal of boxes means "match the
    same token", a diagonal one step to the left "look at the previous position".

    Parameters
    ----------
    ax : matplotlib Axes
    matrix : array_like, shape (N, M)
        The matrix the heatmap shows.
    mask : array_like of bool, shape (N, M), optional
        Only True entries compete (e.g. a causal mask: a query never sees
        later keys). A row with no True entry gets no box.
    color : str

    Returns
    -------
    columns : ndarray of int, shape (N,)
        The column of each row's box, -1 for a row without one.

    Raises
    ------
    ValueError
        If ``matrix`` is not 2-D or ``mask`` does not match it.

    Used in Chapter 9.
    """
    from matplotlib.patches import Rectangle

    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2:
        raise ValueError(f"matrix must be 2-D (N, M), but has shape {m.shape}")
    allowed = np.ones(m.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if allowed.shape != m.shape:
        raise ValueError(f"mask has shape {allowed.shape} but the matrix has shape {m.shape}")
    columns = np.where(allowed.any(axis=1), np.where(allowed, m, -np.inf).argmax(axis=1), -1)
    for i, j in enumerate(columns):
        if j >= 0:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=color, lw=1.2))
    return columns


def sparse_ticks(ax, labels_x, labels_y=None, every=4):
    """Keep every ``every``-th tick label of a heatmap, so a large matrix stays readable.

    Parameters
    ----------
    ax : matplotlib Axes
        Axes drawn with :func:`heatmap`.
    labels_x : sequence of str
        The column labels (all of them).
    labels_y : sequence of str, optional
        The row labels; default ``labels_x``.
    every : int
        Keep columns and rows 0, every, 2 * every, ...

    Used in Chapter 9.
    """
    labels_y = labels_x if labels_y is None else labels_y
    cols, rows = range(0, len(labels_x), every), range(0, len(labels_y), every)
    ax.set_xticks(list(cols), [str(labels_x[j]) for j in cols])
    ax.set_yticks(list(rows), [str(labels_y[i]) for i in rows])


def draw_backward_graph(ax):
    """Draw scaled dot-product attention as a graph: forward arrows, and the gradients flowing back.

    The forward pass runs left to right, Q, K -> Z -> A -> O with V joining
    at the last step, and ends in a loss; the backward pass runs right to
    left, one step for each forward step, and every gradient has the shape
    of the array it belongs to. Only draws: the formulas it names are those
    of :func:`helpers.grad.scaled_dot_product_attention_backward`.

    Parameters
    ----------
    ax : matplotlib Axes

    Used in Chapter 9.
    """
    nodes = {  # name: (x, y, shape)
        "Q": (0.5, 2.7, "(T, d_k)"), "K": (0.5, 0.4, "(S, d_k)"), "Z": (3.2, 1.55, "(T, S)"),
        "A": (5.4, 1.55, "(T, S)"), "O": (7.6, 1.55, "(T, d_v)"), "V": (7.6, -0.9, "(S, d_v)"),
        "loss": (9.6, 1.55, "one number"),
    }
    for name, (x, y, shape) in nodes.items():
        text = r"$\mathcal{L}$" if name == "loss" else f"${name}$"
        ax.text(x, y, text, ha="center", va="center", fontsize=15,
                bbox=dict(boxstyle="round,pad=0.35", facecolor="white", edgecolor="0.3"))
        below = name == "V"  # V's arrows leave from its top
        ax.text(x, y - 0.42 if below else y + 0.42, shape, ha="center", va="top" if below else "bottom", fontsize=9,
                color="0.3")

    def arrow(a, b, color, side, style="-"):
        """An arrow from node a to node b, shifted by ``side`` along the normal so that a pair does not overlap."""
        (x0, y0, _), (x1, y1, _) = nodes[a], nodes[b]
        length = np.hypot(x1 - x0, y1 - y0)
        ux, uy = (x1 - x0) / length, (y1 - y0) / length  # unit vector from a to b
        nx, ny = -uy * side, ux * side  # normal: positive side is to the left of the direction a -> b
        ax.annotate("", xy=(x1 - 0.45 * ux + nx, y1 - 0.45 * uy + ny), xytext=(x0 + 0.45 * ux + nx, y0 + 0.45 * uy + ny),
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=1.4, ls=style))

    forward = [("Q", "Z"), ("K", "Z"), ("Z", "A"), ("A", "O"), ("O", "loss"), ("V", "O")]
    for a, b in forward:
        arrow(a, b, "black", 0.1)
    for a, b in forward:
        arrow(b, a, "tab:red", 0.1, "--")  # the same edge, back the other way, on the other side
    red = dict(ha="center", va="top", fontsize=10, color="tab:red")
    for a, b, label in [("loss", "O", r"$dO$"), ("O", "A", r"$dA = dO\,V^\top$"), ("A", "Z", "$dZ$: softmax\nbackward")]:
        ax.text((nodes[a][0] + nodes[b][0]) / 2, 1.3, label, **red)
    ax.text(7.85, 0.3, r"$dV = A^\top dO$", ha="left", va="center", fontsize=10, color="tab:red")
    ax.text(2.0, 2.45, r"$dQ = dZ\,K/\sqrt{d_k}$", ha="left", va="bottom", fontsize=10, color="tab:red")
    ax.text(2.0, 0.65, r"$dK = dZ^\top Q/\sqrt{d_k}$", ha="left", va="top", fontsize=10, color="tab:red")
    ax.text(5.0, 3.6, "forward: black, left to right;  backward: red, dashed, right to left",
            ha="center", fontsize=10)
    ax.set(xlim=(-0.2, 10.3), ylim=(-1.5, 3.9))
    ax.set_title("Attention as a graph: the forward pass and the gradients")
    ax.axis("off")


def matrix_image(ax, matrix, *, title, xlabel, ylabel, every=8, vmin=None, vmax=None, hidden=None):
    """Draw a large matrix (a circuit or an attention pattern) with a tick every few rows and columns.

    :func:`heatmap` puts a labelled tick on every row and column, which is
    right for a few tokens but slow and unreadable for 48. This draws the
    same picture, in the same colormap (:data:`ATTENTION_CMAP`), with ticks
    at 0, every, 2 * every, ...; it is fast enough for widget frames.

    Parameters
    ----------
    ax : matplotlib Axes
    matrix : array_like, shape (N, M)
    title, xlabel, ylabel : str
    every : int
        Distance between ticks.
    vmin, vmax : float, optional
        Colour limits (default: the range of the visible entries).
    hidden : array_like of bool, shape (N, M), optional
        Entries to leave out (drawn light grey), e.g. the future keys of a
        causal query: ``~causal_mask(T)``.

    Returns
    -------
    matplotlib.image.AxesImage

    Raises
    ------
    ValueError
        If ``matrix`` is not 2-D or ``hidden`` does not match it.

    Used in Chapter 9.
    """
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2:
        raise ValueError(f"matrix must be 2-D (N, M), but has shape {m.shape}")
    if hidden is not None:
        hidden = np.asarray(hidden, dtype=bool)
        if hidden.shape != m.shape:
            raise ValueError(f"hidden has shape {hidden.shape} but the matrix has shape {m.shape}")
        m = np.where(hidden, np.nan, m)
    ax.set_facecolor("0.85")  # what hidden (NaN) entries show
    image = ax.imshow(m, cmap=ATTENTION_CMAP, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(0, m.shape[1], every))
    ax.set_yticks(range(0, m.shape[0], every))
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return image


# ---------------------------------------------------------------- chapter 10/13: several attention heatmaps on one figure

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


# ---------------------------------------------------------------- chapter 11/12

def draw_kv_sharing(ax, num_heads, num_kv_heads, *, fontsize=10, title=None):
    """Draw which key/value head each query head uses in grouped-query attention (chapter 11).

    Query heads ``q0 .. q{H-1}`` sit in a row at the top, kv heads
    ``kv0 .. kv{H_kv-1}`` at the bottom, each under the block of query heads
    it serves; a line joins every query head to its kv head. The mapping comes
    from :func:`helpers.repeat_kv` applied to the kv heads' own indices, so
    the picture shows what the helper does.

    Parameters
    ----------
    ax : matplotlib Axes
    num_heads : int
        H, the number of query heads.
    num_kv_heads : int
        H_kv, the number of key/value heads; must divide H.
    fontsize : float, default 10
        Size of the head labels.
    title : str, optional
        Panel title. Default: ``"H = 9, H_kv = 3"`` with the real numbers.

    Returns
    -------
    kv_of : ndarray of int, shape (H,)
        ``kv_of[h]`` is the kv head that query head h uses.

    Raises
    ------
    ValueError
        If H or H_kv is not a positive integer or H_kv does not divide H.
    """
    h, h_kv = num_heads, num_kv_heads
    if (not isinstance(h, (int, np.integer)) or not isinstance(h_kv, (int, np.integer))
            or isinstance(h, bool) or isinstance(h_kv, bool) or h < 1 or h_kv < 1 or h % h_kv):
        raise ValueError(f"num_kv_heads must be a positive integer that divides num_heads, "
                         f"got num_heads={num_heads!r}, num_kv_heads={num_kv_heads!r}")
    n_rep = h // h_kv
    kv_of = repeat_kv(np.arange(h_kv).reshape(h_kv, 1, 1), n_rep)[:, 0, 0]  # (H,)
    colors = _tab10(h_kv)
    kv_x = [(g + 0.5) * n_rep - 0.5 for g in range(h_kv)]  # each kv head under its block
    for q in range(h):
        g = int(kv_of[q])
        ax.plot([q, kv_x[g]], [0.8, 0.2], color=colors[g], lw=2)
        ax.text(q, 0.9, f"q{q}", ha="center", va="center", fontsize=fontsize,
                bbox=dict(boxstyle="round,pad=0.2", fc="white", ec=colors[g], lw=2))
    for g in range(h_kv):
        ax.text(kv_x[g], 0.1, f"kv{g}", ha="center", va="center", fontsize=fontsize,
                bbox=dict(boxstyle="round,pad=0.2", fc=colors[g], ec=colors[g], alpha=0.5))
    ax.set_xlim(-0.7, h - 0.3)
    ax.set_ylim(-0.05, 1.05)
    ax.axis("off")
    ax.set_title(title if title is not None else f"H = {h}, H_kv = {h_kv}")
    return kv_of


def _tab10(n):
    """``n`` colours of matplotlib's tab10 cycle, as RGBA tuples."""
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def draw_cost_bars(ax_flops, ax_bytes, steps, *, shares=False):
    """Draw the FLOPs and the bytes moved of every step of attention as two bar charts (chapter 12).

    Parameters
    ----------
    ax_flops, ax_bytes : matplotlib Axes
        Left: arithmetic (blue); right: memory traffic (orange). Give them
        ``sharey=True`` to write the step names once.
    steps : list of dict
        The rows of :func:`helpers.cost.mha_costs`, each with ``"step"``,
        ``"flops"`` and ``"bytes"``.
    shares : bool, default False
        False: GFLOP and MiB. True: each step's percentage of the total, with
        the totals in the titles.

    Returns
    -------
    flops, moved : ndarray of float, shape (n_steps,)
        The bar lengths as drawn (GFLOP and MiB, or percentages).

    Raises
    ------
    ValueError
        If ``steps`` is empty or a row lacks one of the three keys.
    """
    steps = list(steps)
    if not steps or any(not isinstance(s, dict) or not {"step", "flops", "bytes"} <= set(s) for s in steps):
        raise ValueError("steps must be a non-empty list of dicts with keys 'step', 'flops' and 'bytes' "
                         "(the rows of helpers.cost.mha_costs)")
    names = [s["step"] for s in steps]
    flops = np.array([s["flops"] for s in steps], dtype=float)
    moved = np.array([s["bytes"] for s in steps], dtype=float)
    if shares:
        total_flops, total_moved = flops.sum(), moved.sum()
        flops = 100 * flops / total_flops
        moved = 100 * moved / total_moved
        ax_flops.set(xlim=(0, 100), xlabel="% of all FLOPs", title=f"{total_flops / 1e9:,.1f} GFLOP in all")
        ax_bytes.set(xlim=(0, 100), xlabel="% of all bytes moved", title=f"{total_moved / 2**20:,.0f} MiB moved in all")
    else:
        flops, moved = flops / 1e9, moved / 2**20
        ax_flops.set(xlabel="GFLOP", title="arithmetic: GFLOP per step")
        ax_bytes.set(xlabel="MiB", title="memory traffic: MiB read + written (at least)")
    ax_flops.barh(names, flops, color="tab:blue")
    ax_bytes.barh(names, moved, color="tab:orange")
    ax_flops.set_ylabel("step")
    for ax in (ax_flops, ax_bytes):  # the first step on top (shared axes invert together)
        if not ax.yaxis_inverted():
            ax.invert_yaxis()
    return flops, moved
