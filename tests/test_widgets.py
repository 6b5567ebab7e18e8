"""Tests for helpers.widgets: the pre-rendered, kernel-free widget every chapter uses."""
import struct

import ipywidgets as widgets
import numpy as np
import pytest

from ipywidgets.widgets.widget import _instances

import helpers.widgets as widgets_module
from helpers.widgets import PrecomputedWidget, precomputed_widget, render_png


def png_size(data):
    """(width, height) from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def make(calls=None, **kwargs):
    calls = [] if calls is None else calls

    def draw(fig, slope, style):
        calls.append((slope, style))
        ax = fig.subplots()
        x = np.linspace(0, 1, 20)
        ax.plot(x, slope * x, "-" if style == "solid" else "--")
        ax.set_title(f"slope {slope}, {style}")

    controls = {"slope": [1, 2, 3], "style": ["solid", "dashed"]}
    return precomputed_widget(draw, controls, figsize=(3, 2), dpi=50, **kwargs), calls


def test_every_combination_is_drawn_once():
    w, calls = make()
    assert sorted(calls) == sorted((s, t) for s in [1, 2, 3] for t in ["solid", "dashed"])
    assert w.n_frames == 6 and len(w.frame_seconds) == 6
    assert all(t >= 0 for t in w.frame_seconds)


def test_controls_are_a_slider_for_numbers_and_buttons_for_names():
    w, _ = make()
    assert isinstance(w, PrecomputedWidget) and isinstance(w, widgets.VBox)
    assert isinstance(w.controls["slope"], widgets.SelectionSlider)
    assert isinstance(w.controls["style"], widgets.ToggleButtons)
    assert [c.description for c in w.controls.values()] == ["slope", "style"]
    assert w.children[:2] == tuple(w.controls.values())


def test_nested_stacks_hold_one_image_per_frame_all_the_same_size():
    w, _ = make()
    outer = w.stack
    assert isinstance(outer, widgets.Stack) and len(outer.children) == 3  # follows "slope"
    sizes = set()
    images = []
    for inner in outer.children:
        assert isinstance(inner, widgets.Stack) and len(inner.children) == 2  # follows "style"
        for image in inner.children:
            assert isinstance(image, widgets.Image) and image.format == "png"
            sizes.add(png_size(image.value))
            images.append(image.value)
    assert sizes == {(150, 100)}, "every frame must have the same pixel size, or the page jumps"
    assert len(set(images)) == 6, "different parameters must give different pictures"


def test_the_frame_at_each_index_is_the_one_drawn_for_those_values():
    w, _ = make()
    expected = render_png(lambda fig, **p: _draw_reference(fig, **p), figsize=(3, 2), dpi=50, slope=2, style="dashed")
    assert w.stack.children[1].children[1].value == expected


def _draw_reference(fig, slope, style):
    ax = fig.subplots()
    x = np.linspace(0, 1, 20)
    ax.plot(x, slope * x, "-" if style == "solid" else "--")
    ax.set_title(f"slope {slope}, {style}")


def test_each_stack_is_linked_in_the_browser_to_its_control():
    w, _ = make()
    stacks = [w.stack] + list(w.stack.children)
    assert len(w.links) == len(stacks) == 4
    for link in w.links:
        assert type(link).__name__ == "DirectionalLink"  # jsdlink: runs in the browser, no kernel needed
        (source, source_attr), (target, target_attr) = link.source, link.target
        assert (source_attr, target_attr) == ("index", "selected_index")
        expected = w.controls["slope"] if target is w.stack else w.controls["style"]
        assert source is expected
        assert any(target is s for s in stacks)


def test_initial_values_select_the_matching_frames():
    w, _ = make(initial={"slope": 3, "style": "dashed"})
    assert w.controls["slope"].index == 2 and w.controls["style"].index == 1
    assert w.stack.selected_index == 2
    assert all(inner.selected_index == 1 for inner in w.stack.children)


def test_labels_and_caption():
    w, _ = make(labels={"slope": ["one", "two", "three"]}, caption="Watch the slope.")
    assert [label for label, _ in w.controls["slope"].options] == ["one", "two", "three"]
    assert isinstance(w.children[-1], widgets.HTML) and "Watch the slope." in w.children[-1].value


def test_repr_is_short_and_stable():
    w, _ = make()
    assert repr(w) == "PrecomputedWidget(slope: 3 values, style: 2 values; 6 frames)"


def test_single_control_gives_a_flat_stack():
    w = precomputed_widget(lambda fig, n: fig.subplots().bar(range(n), range(n)), {"n": [1, 2, 3, 4]},
                           figsize=(2, 2), dpi=40)
    assert len(w.stack.children) == 4 and all(isinstance(c, widgets.Image) for c in w.stack.children)
    assert len(w.links) == 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(controls={}), "controls is empty"),
    (dict(controls=[("a", [1, 2])]), r"controls must be a dict of name -> list of values, got \[\('a', \[1, 2\]\)\]"),
    (dict(controls={"a": []}), "control 'a' has no values"),
    (dict(controls={"a": range(0)}), "control 'a' has no values"),
    (dict(controls={"a": "xyz"}), "control 'a' must be an iterable of values, e.g. a list, but is the string 'xyz'"),
    (dict(controls={"a": 5}), "control 'a' must be an iterable of values, e.g. a list, but is 5"),
    (dict(controls={"a": [1, 2]}, labels={"a": ["x"]}), "control 'a' has 2 values but 1 labels"),
    (dict(controls={"a": [1, 2]}, labels={"a": 7}), r"labels\['a'\] must be an iterable of values"),
    (dict(controls={"a": [1, 2]}, initial={"a": 5}), "initial value 5 is not one of 'a'"),
    (dict(controls={"a": [1, 2], "b": ["x"]}, labels={"A": ["p", "q"]}),
     "labels names 'A', which is not a control; the controls are 'a', 'b'"),
    (dict(controls={"a": [1, 2], "b": ["x"]}, initial={"a": 1, "c": 2, "d": 3}),
     "initial names 'c', 'd', which are not controls; the controls are 'a', 'b'"),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        precomputed_widget(lambda fig, **p: None, **kwargs)


def draw_nothing(fig, **params):
    fig.subplots().set_title(repr(sorted(params.items())))


@pytest.mark.parametrize("values", [
    [0, 1, 2], (0, 1, 2), range(3), (v for v in [0, 1, 2]), np.arange(3), np.array([0.0, 0.5, 1.0], np.float32),
    iter([np.int64(4), np.int64(5), np.int64(6)]),
])
def test_any_iterable_of_values_works_and_numbers_make_a_slider(values):
    seen = []
    w = precomputed_widget(lambda fig, n: seen.append(n), {"n": values}, figsize=(1, 1), dpi=20)
    assert w.n_frames == 3 and len(seen) == 3
    assert isinstance(w.controls["n"], widgets.SelectionSlider), "numpy numbers make a slider, as Python numbers do"
    assert [label for label, _ in w.controls["n"].options] == [str(v) for v in seen]


@pytest.mark.parametrize("values", [[True, False], [np.True_, np.False_], ["a", "b"], [1, "b"], [None, 1]])
def test_anything_but_numbers_makes_buttons(values):
    w = precomputed_widget(draw_nothing, {"v": values}, figsize=(1, 1), dpi=20)
    assert isinstance(w.controls["v"], widgets.ToggleButtons)


def test_initial_and_labels_work_with_numpy_values_and_generators():
    w = precomputed_widget(draw_nothing, {"n": np.array([2, 4, 8])}, figsize=(1, 1), dpi=20,
                           initial={"n": 8}, labels={"n": (f"{k} keys" for k in (2, 4, 8))})
    assert w.controls["n"].index == 2 and w.stack.selected_index == 2
    assert [label for label, _ in w.controls["n"].options] == ["2 keys", "4 keys", "8 keys"]


def test_initial_compares_array_values_without_a_numpy_error():
    values = [np.zeros(2), np.ones(3)]
    w = precomputed_widget(draw_nothing, {"v": values}, figsize=(1, 1), dpi=20, initial={"v": values[1]})
    assert w.controls["v"].index == 1


# ---------------------------------------------------------------- the progress bar (issue 14)


class FakeDisplay:
    """Stands in for IPython.display.display: records what is displayed and every update of its display id."""

    def __init__(self):
        self.shown, self.updates = [], []

    def __call__(self, bundle, raw=False, display_id=None):
        assert raw and display_id is True
        self.shown.append(bundle)
        return self

    def update(self, bundle, raw=False):
        assert raw
        self.updates.append(bundle)

    def bar(self):
        """The live IntProgress widget the displayed view refers to (None once it is closed)."""
        model_id = self.shown[0]["application/vnd.jupyter.widget-view+json"]["model_id"]
        return _instances.get(model_id)


@pytest.fixture
def fake_display(monkeypatch):
    import IPython.display
    fake = FakeDisplay()
    monkeypatch.setattr(IPython.display, "display", fake)
    return fake


def test_a_progress_bar_counts_the_frames_then_leaves_an_empty_output(fake_display):
    progress_seen = []

    def draw(fig, n):
        bar = fake_display.bar()
        progress_seen.append((bar.value, bar.max))

    w = precomputed_widget(draw, {"n": [1, 2, 3, 4]}, figsize=(1, 1), dpi=20, progress=True)
    assert progress_seen == [(0, 4), (1, 4), (2, 4), (3, 4)]
    (shown,) = fake_display.shown
    assert set(shown) == {"application/vnd.jupyter.widget-view+json", "text/html"}
    # nbval records the output as first displayed; a saved notebook holds it as last updated:
    # both must carry the same comparable data, so the cell's stored outputs are stable.
    assert fake_display.updates == [{"text/html": ""}] and shown["text/html"] == ""
    assert fake_display.bar() is None, "the bar widget is closed, so no widget state is left for it"
    assert w.n_frames == 4


def test_the_progress_bar_goes_away_when_draw_fails(fake_display):
    def draw(fig, n):
        if n == 2:
            raise RuntimeError("bad frame")

    with pytest.raises(RuntimeError, match="bad frame"):
        precomputed_widget(draw, {"n": [1, 2, 3]}, figsize=(1, 1), dpi=20, progress=True)
    assert fake_display.updates == [{"text/html": ""}] and fake_display.bar() is None


def test_no_progress_bar_outside_a_kernel_unless_asked(fake_display, monkeypatch):
    precomputed_widget(draw_nothing, {"n": [1, 2]}, figsize=(1, 1), dpi=20)
    assert fake_display.shown == []  # pytest is not a Jupyter kernel
    precomputed_widget(draw_nothing, {"n": [1, 2]}, figsize=(1, 1), dpi=20, progress=False)
    assert fake_display.shown == []
    monkeypatch.setattr(widgets_module, "_in_a_kernel", lambda: True)
    precomputed_widget(draw_nothing, {"n": [1, 2]}, figsize=(1, 1), dpi=20)
    assert len(fake_display.shown) == 1
