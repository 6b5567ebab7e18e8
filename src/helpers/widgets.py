"""Widgets that respond live in Jupyter *and* in the static HTML book.

The static book has no Python kernel, so a widget there cannot call Python when
its control moves. The trick used throughout the course: render the figure for
every value of the controls in advance, store the PNGs as ``widgets.Image``
children of a ``widgets.Stack``, and link each control's ``index`` to the
stack's ``selected_index`` with ``jsdlink``. The link runs in the browser, so
the ipywidgets HTML manager switches the picture without a kernel, and in
Jupyter the switch is just as instant.

Two controls give nested stacks: the outer stack follows the first control and
each of its children is an inner stack that follows the second, and so on. The
number of pictures is the product of the numbers of values, so keep each
control to a handful of values.

Every chapter builds its widget with one call to :func:`precomputed_widget`.
"""

import io
import itertools
import time

import ipywidgets as widgets
from matplotlib.figure import Figure

__all__ = ["precomputed_widget", "PrecomputedWidget", "render_png"]


def render_png(draw, figsize=(6.4, 3.6), dpi=90, **params):
    """Draw one frame with ``draw(fig, **params)`` and return its PNG bytes.

    A fresh :class:`matplotlib.figure.Figure` (not pyplot) is used, so nothing
    is displayed or left open. The figure size is fixed and there is no
    ``bbox_inches="tight"``: every frame has the same pixel size, so the page
    does not jump when the control moves.
    """
    fig = Figure(figsize=figsize, dpi=dpi)
    draw(fig, **params)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


class PrecomputedWidget(widgets.VBox):
    """A VBox of controls above a stack of pre-rendered frames.

    Attributes
    ----------
    controls : dict
        Control name -> the ipywidgets control.
    stack : ipywidgets.Stack
        The outer stack (its children are inner stacks when there are several controls).
    links : list
        The browser-side links, one per stack, from a control's ``index`` to
        that stack's ``selected_index``.
    frame_seconds : list of float
        Time taken to compute and draw each frame (the cost of one response
        if the widget recomputed live).
    n_frames : int
        Number of pre-rendered pictures.
    """

    def __init__(self, controls, stack, links, caption, frame_seconds):
        children = list(controls.values()) + [stack]
        if caption:
            children.append(widgets.HTML(f"<p class='qkv-widget-caption'>{caption}</p>"))
        super().__init__(children=children)
        self.controls = controls
        self.stack = stack
        self.links = links
        self.frame_seconds = frame_seconds
        self.n_frames = len(frame_seconds)

    def __repr__(self):
        # A short, stable text form: nbval compares the text/plain of every
        # output, and the default repr would print the PNG bytes.
        names = ", ".join(f"{name}: {len(c.options)} values" for name, c in self.controls.items())
        return f"PrecomputedWidget({names}; {self.n_frames} frames)"


def _make_control(name, values, labels):
    options = list(zip(labels, range(len(values))))
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        control = widgets.SelectionSlider(options=options, description=name,
                                          continuous_update=True,
                                          style={"description_width": "initial"},
                                          layout=widgets.Layout(width="420px"))
    else:
        control = widgets.ToggleButtons(options=options, description=name,
                                        style={"description_width": "initial", "button_width": "auto"})
    return control


def _nested_stack(frames, controls, shape, links, prefix=()):
    """Build nested Stacks for the frames whose index tuple starts with ``prefix``.

    Every stack at depth ``i`` follows control ``i``; the links are appended to ``links``.
    """
    depth = len(prefix)
    names = list(controls)
    children = []
    for i in range(shape[depth]):
        key = prefix + (i,)
        if depth + 1 == len(shape):
            children.append(widgets.Image(value=frames[key], format="png"))
        else:
            children.append(_nested_stack(frames, controls, shape, links, key))
    first = controls[names[depth]].index
    stack = widgets.Stack(children=children, selected_index=first)
    # Browser-side link: works in Jupyter and in the static HTML page alike.
    links.append(widgets.jsdlink((controls[names[depth]], "index"), (stack, "selected_index")))
    return stack


def precomputed_widget(draw, controls, *, labels=None, initial=None,
                       figsize=(6.4, 3.6), dpi=90, caption=None):
    """Build a widget that works with and without a kernel.

    Parameters
    ----------
    draw : callable
        ``draw(fig, **params)`` draws one frame onto a blank matplotlib
        ``Figure``. It should call the course helpers for the math; it must not
        re-implement them.
    controls : dict
        Control name -> list of values, in the order they should appear, e.g.
        ``{"d_out": [1, 2, 3]}``. Numbers give a slider, anything else gives
        toggle buttons. The name is the control's label and the keyword passed
        to ``draw``.
    labels : dict, optional
        Control name -> list of display labels (default ``str(value)``).
    initial : dict, optional
        Control name -> the value selected at first (default: the first value).
    figsize, dpi : fixed size of every frame (all frames share it).
    caption : str, optional
        A sentence shown under the picture saying what to notice.

    Returns
    -------
    PrecomputedWidget
        Display it as the last expression of a cell.

    Raises
    ------
    ValueError
        If ``controls`` is empty, a control has no values, or ``labels`` or
        ``initial`` do not match the values.

    Taught in Chapter 1 (used by every chapter's widget).
    """
    if not controls:
        raise ValueError("controls is empty: give at least one name -> list of values")
    labels = labels or {}
    initial = initial or {}
    made = {}
    for name, values in controls.items():
        values = list(values)
        if not values:
            raise ValueError(f"control {name!r} has no values")
        shown = [str(v) for v in values] if name not in labels else [str(s) for s in labels[name]]
        if len(shown) != len(values):
            raise ValueError(f"control {name!r} has {len(values)} values but {len(shown)} labels")
        control = _make_control(name, values, shown)
        if name in initial:
            if initial[name] not in values:
                raise ValueError(f"initial value {initial[name]!r} is not one of {name!r}'s values {values}")
            control.index = values.index(initial[name])
        made[name] = control

    shape = tuple(len(v) for v in controls.values())
    frames, seconds = {}, []
    for key in itertools.product(*(range(n) for n in shape)):
        params = {name: list(values)[i] for (name, values), i in zip(controls.items(), key)}
        start = time.perf_counter()
        frames[key] = render_png(draw, figsize=figsize, dpi=dpi, **params)
        seconds.append(time.perf_counter() - start)
    links = []
    stack = _nested_stack(frames, made, shape, links)
    return PrecomputedWidget(made, stack, links, caption, seconds)
