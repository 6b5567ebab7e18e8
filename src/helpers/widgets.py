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
Drawing the frames takes a few seconds, so in Jupyter a progress bar shows
meanwhile; it is removed when the widget is ready.
"""

import io
import itertools
import math
import numbers
import sys
import time

import ipywidgets as widgets
import numpy as np
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


def _is_number(value):
    """True for Python and numpy ints and floats (a slider), False for bools, strings and the rest (buttons)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _make_control(name, values, labels):
    options = list(zip(labels, range(len(values))))
    if all(_is_number(v) for v in values):
        control = widgets.SelectionSlider(options=options, description=name,
                                          continuous_update=True,
                                          style={"description_width": "initial"},
                                          layout=widgets.Layout(width="420px"))
    else:
        control = widgets.ToggleButtons(options=options, description=name,
                                        style={"description_width": "initial", "button_width": "auto"})
    return control


def _as_list(values, what):
    """Any iterable (list, tuple, range, generator, numpy array) as a list; a string or a non-iterable is an error."""
    if isinstance(values, (str, bytes)):
        raise ValueError(f"{what} must be an iterable of values, e.g. a list, but is the string {values!r}")
    try:
        return list(values)
    except TypeError:
        raise ValueError(f"{what} must be an iterable of values, e.g. a list, but is {values!r}") from None


def _same(a, b):
    """``a == b`` as one bool, False where numpy cannot say (e.g. two arrays of different shapes)."""
    try:
        return bool(a is b or a == b)
    except (ValueError, TypeError):
        return False


def _check_names(given, known, what):
    """Raise a ValueError listing the known control names if ``given`` (a dict) names another."""
    unknown = [name for name in given if name not in known]
    if unknown:
        which = "which is not a control" if len(unknown) == 1 else "which are not controls"
        raise ValueError(f"{what} names {', '.join(map(repr, unknown))}, {which}; "
                         f"the controls are {', '.join(map(repr, known))}")


class _FrameProgress:
    """A progress bar shown in the cell's output while the frames are drawn, then emptied.

    The bar is displayed with a display id and, when drawing ends, that output
    is updated to an empty HTML string, so no bar is left behind. Both the
    first and the final form of the output carry the same ``text/html`` (an
    empty string): nbval, which records the first form, and a saved
    notebook, which holds the final one, see the same output.
    """

    def __init__(self, total, show):
        self.bar = self.handle = None
        if not show:
            return
        from IPython.display import display
        self.bar = widgets.IntProgress(value=0, min=0, max=total, description=f"drawing {total} frames",
                                       style={"description_width": "initial"})
        view = self.bar._repr_mimebundle_()["application/vnd.jupyter.widget-view+json"]
        self.handle = display({"application/vnd.jupyter.widget-view+json": view, "text/html": ""},
                              raw=True, display_id=True)

    def step(self):
        if self.bar is not None:
            self.bar.value += 1

    def close(self):
        if self.bar is not None:
            self.handle.update({"text/html": ""}, raw=True)
            self.bar.close()


def _in_a_kernel():
    """True when running in a Jupyter kernel (where a progress bar can show), False in scripts and tests."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return getattr(shell, "kernel", None) is not None


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
                       figsize=(6.4, 3.6), dpi=90, caption=None, progress=None):
    """Build a widget that works with and without a kernel.

    Parameters
    ----------
    draw : callable
        ``draw(fig, **params)`` draws one frame onto a blank matplotlib
        ``Figure``. It should call the course helpers for the math; it must not
        re-implement them.
    controls : dict
        Control name -> the values, in the order they should appear, e.g.
        ``{"d_out": [1, 2, 3]}``. Any iterable works (a list, a range, a
        numpy array, a generator). Numbers (Python's or numpy's) give a
        slider, anything else gives toggle buttons. The name is the
        control's label and the keyword passed to ``draw``.
    labels : dict, optional
        Control name -> display labels, one per value (default ``str(value)``).
    initial : dict, optional
        Control name -> the value selected at first (default: the first value).
    figsize, dpi : fixed size of every frame (all frames share it).
    caption : str, optional
        A sentence shown under the picture saying what to notice.
    progress : bool, optional
        Show a progress bar while the frames are drawn (default: only when
        running in a Jupyter kernel). The bar's output is emptied when the
        widget is ready, so the cell's stored outputs do not depend on it.

    Returns
    -------
    PrecomputedWidget
        Display it as the last expression of a cell.

    Raises
    ------
    ValueError
        If ``controls`` is empty or not a dict, a control's values are not
        an iterable or are empty, ``labels`` or ``initial`` name a control
        that does not exist (the message lists those that do), or their
        entries do not match the values.

    Taught in Chapter 1 (used by every chapter's widget).
    """
    if not isinstance(controls, dict):
        raise ValueError(f"controls must be a dict of name -> list of values, got {controls!r}")
    if not controls:
        raise ValueError("controls is empty: give at least one name -> list of values")
    labels = {} if labels is None else dict(labels)
    initial = {} if initial is None else dict(initial)
    _check_names(labels, list(controls), "labels")
    _check_names(initial, list(controls), "initial")
    values = {name: _as_list(v, f"control {name!r}") for name, v in controls.items()}  # read each iterable once
    made = {}
    for name, options in values.items():
        if not options:
            raise ValueError(f"control {name!r} has no values")
        shown = ([str(v) for v in options] if name not in labels
                 else [str(s) for s in _as_list(labels[name], f"labels[{name!r}]")])
        if len(shown) != len(options):
            raise ValueError(f"control {name!r} has {len(options)} values but {len(shown)} labels")
        control = _make_control(name, options, shown)
        if name in initial:
            matches = [i for i, v in enumerate(options) if _same(v, initial[name])]
            if not matches:
                raise ValueError(f"initial value {initial[name]!r} is not one of {name!r}'s values {options}")
            control.index = matches[0]
        made[name] = control

    shape = tuple(len(v) for v in values.values())
    frames, seconds = {}, []
    bar = _FrameProgress(math.prod(shape), _in_a_kernel() if progress is None else bool(progress))
    try:
        for key in itertools.product(*(range(n) for n in shape)):
            params = {name: options[i] for (name, options), i in zip(values.items(), key)}
            start = time.perf_counter()
            frames[key] = render_png(draw, figsize=figsize, dpi=dpi, **params)
            seconds.append(time.perf_counter() - start)
            bar.step()
    finally:
        bar.close()  # also when draw raises: no bar is left behind
    links = []
    stack = _nested_stack(frames, made, shape, links)
    return PrecomputedWidget(made, stack, links, caption, seconds)
