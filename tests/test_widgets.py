"""Tests for helpers.widgets: the pre-rendered, kernel-free widget every chapter uses."""
import struct

import ipywidgets as widgets
import numpy as np
import pytest

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
    (dict(controls={"a": []}), "control 'a' has no values"),
    (dict(controls={"a": [1, 2]}, labels={"a": ["x"]}), "control 'a' has 2 values but 1 labels"),
    (dict(controls={"a": [1, 2]}, initial={"a": 5}), "initial value 5 is not one of 'a'"),
])
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        precomputed_widget(lambda fig, **p: None, **kwargs)
