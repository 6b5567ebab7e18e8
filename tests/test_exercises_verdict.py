"""Tests for what every check shares (exercises/_verdict.py): the Verdict, the answer readers, the tolerance rule."""

import html

import numpy as np
import pytest

import helpers
from helpers.exercises import Verdict
from helpers.exercises._verdict import (Reference, as_answer_array, close, distinct, given, listed, number_matches,
                                        read_number, show)


# ---------------------------------------------------------------- the Verdict

def test_repr_is_the_message_itself():
    verdict = Verdict(False, "x has shape (2,) but expected (3,): <b> & more.")
    assert repr(verdict) == "x has shape (2,) but expected (3,): <b> & more."
    assert not verdict and Verdict(True, "Correct: yes")


@pytest.mark.parametrize("ok, message, colour", [
    (True, "Correct: the rows sum to 1.", "#2e7d32"),
    (False, "Not attempted yet: replace None with your answer and run the cell again.", "#757575"),
    (False, "weights has shape (5, 3) but expected (T, S) = (3, 5): a <transposed> answer & more.", "#c62828"),
])
def test_html_escapes_the_message_and_wraps_between_words(ok, message, colour):
    page = Verdict(ok, message)._repr_html_()
    assert html.escape(message) in page and ("<transposed>" not in page)
    assert "white-space: normal" in page and "word-break: normal" in page and "overflow-wrap: break-word" in page
    assert f"border-left: 4px solid {colour}" in page
    assert 'aria-hidden="true"' in page  # the icon is decoration; the words carry the verdict
    assert "\n" not in page


def test_hint_is_appended_only_when_asked():
    verdict = Verdict(False, "the mask is inverted.", "True means may attend.")
    assert verdict.with_hint().message == "the mask is inverted. Hint: True means may attend."
    assert "No further hint" in Verdict(False, "wrong.").with_hint().message
    right = Verdict(True, "Correct: yes", "never shown")
    assert right.with_hint() is right


def test_every_check_documents_hint():
    for name in helpers.exercises.__all__:
        if name.startswith("check_"):
            doc = getattr(helpers.exercises, name).__doc__
            assert "    hint : bool, default False\n" in doc and doc.index("hint : bool") < doc.index("Returns\n")


# ---------------------------------------------------------------- reading a number

@pytest.mark.parametrize("answer, whole, expected", [
    (3, True, 3), (np.int64(3), True, 3), (3.0, True, 3), (np.float32(3.0), True, 3), (np.array(3), True, 3),
    (np.array([3]), True, 3), ([3], True, 3), (np.array([[3.0]]), True, 3), (10 ** 20, True, 10 ** 20),
    (2.5, False, 2.5), (np.array(2.5, dtype=np.float32), False, 2.5),
])
def test_read_number_accepts_every_way_of_writing_a_number(answer, whole, expected):
    value, problem = read_number(answer, "n", whole=whole)
    assert problem is None and value == expected
    assert isinstance(value, int) if whole else isinstance(value, np.floating)


def test_read_number_keeps_the_dtype_of_a_float():
    assert read_number(np.float32(0.1), "n")[0].dtype == np.float32
    assert read_number(np.array([0.1], dtype=np.float16), "n")[0].dtype == np.float16
    assert read_number(0.1, "n")[0].dtype == np.float64


@pytest.mark.parametrize("answer, whole, text", [
    (float("nan"), False, "is NaN"),
    (float("inf"), False, "overflowed"),
    (np.array([np.nan]), True, "is NaN"),
    pytest.param(10 ** 400, True, "a number with 401 digits, far too large", id="10**400"),
    pytest.param(2 * 12 * 2048 ** 2048 * 4, True, "did you type ** (a power) where you meant * (a product)?",
                 id="2 * 12 * 2048 ** 2048 * 4"),
    ("12", True, "n is a str ('12'), but it should be a single number: remove the quotes"),
    (b"12", True, "a bytes"),
    (True, True, "n is True, a bool"),
    (np.bool_(False), True, "a bool"),
    (len, True, "did you forget to call it?"),
    (lambda: 3, True, "did you forget to call it?"),
    ({"n": 3}, True, "a dict"),
    (2.5, True, "is not a whole number"),
    (-1, True, "is negative"),
    (1 + 2j, False, "complex"),
    (np.array([1, 2]), True, "should be a single number, but it has shape (2,)"),
    ([[1, 2], [3]], True, "could not be turned into a numpy array"),
    (object(), True, "should be a single number, but it is an object"),
    (None, True, "should be a single number, but it is a NoneType"),
])
def test_read_number_gives_a_specific_message(answer, whole, text):
    value, problem = read_number(answer, "n", whole=whole)
    assert value is None and text in problem and "\n" not in problem


class Broken:
    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("no")


@pytest.mark.parametrize("answer, text", [
    (Broken(), "could not be turned into a numpy array (RuntimeError)"),
    ([[1.0, 2.0], [3.0]], "could not be turned into a numpy array"),
    ([[True, False]], "True/False"),
    ([0, False, 1], "True/False"),
    ([1.0, None], "holds None"),
    ([1.0, "2"], "it is a list of dtype <U32"),
    (np.array([10 ** 400]), "too large for a float"),
    (np.ones(2, dtype=complex), "complex"),
    (np.array(["a"]), "dtype <U1"),
    (np.array([1.0, np.inf]), "NaN or inf"),
])
def test_as_answer_array_gives_a_specific_message(answer, text):
    a, problem = as_answer_array(answer, "y")
    assert a is None and text in problem


def test_as_answer_array_keeps_float32_and_makes_ints_float64():
    assert as_answer_array(np.ones(2, dtype=np.float32), "y")[0].dtype == np.float32
    assert as_answer_array([1, 2], "y")[0].dtype == np.float64


def test_show_never_prints_a_huge_number_in_full():
    assert show(1234567) == "1,234,567"
    assert show(2 * 12 * 2048 ** 2048 * 4) == "a number with 6,784 digits"
    assert show(0.000123456789) == "0.000123456789" and show(768.0001) == "768.0001"
    assert show(np.float32(11.31)) == "11.31" and show(1e300) == "1e+300"


def test_distinct_never_prints_two_different_numbers_alike():
    a, b = distinct(10.920000076293945, 10.92)
    assert a != b and a.startswith("10.92")
    assert distinct(0.89996, 0.9) == ("0.89996", "0.9")
    assert distinct(0.99997, 0.95, "f") == ("1.0000", "0.9500") and distinct(0.899996, 0.9, "f")[0] == "0.899996"
    assert listed([1.0, 0.99999, 0.5], 1.0) == "[1.0, 0.99999, 0.5]"


# ---------------------------------------------------------------- the tolerance rule

RNG = np.random.default_rng(11)
Q, K, V = RNG.normal(size=(3, 16)), RNG.normal(size=(5, 16)), RNG.normal(size=(5, 2))


def _attention32():
    q, k, v = (a.astype(np.float32) for a in (Q, K, V))
    s = q @ k.T / np.sqrt(np.float32(16))
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    w = e / e.sum(axis=-1, keepdims=True)
    return w, w @ v


def test_float32_answers_pass_and_float64_ones_are_held_to_float64():
    from helpers.exercises._verdict import attention
    out, weights = attention(Q, K, V)
    w32, out32 = _attention32()
    assert w32.dtype == np.float32 and close(w32, weights) and close(out32, out)
    # the same float32 numbers stored as float64 are judged as float64 answers: too far
    assert not close(w32.astype(np.float64), weights)
    assert close(helpers.softmax(Q @ K.T / 4), weights)


@pytest.mark.parametrize("mistake", [
    lambda: helpers.softmax(Q @ K.T),                          # the 1/sqrt(d_k) is missing
    lambda: helpers.softmax(Q @ K.T / 4, axis=0),              # the wrong axis
    lambda: helpers.softmax(Q @ K.T / 16),                     # d_k instead of sqrt(d_k)
    lambda: helpers.softmax(Q @ K.T / 4) * (1 + 1e-4),          # 1e-4 off: far outside float32 rounding here
])
def test_real_mistakes_stay_far_outside_the_float32_tolerance(mistake):
    from helpers.exercises._verdict import attention
    _, weights = attention(Q, K, V)
    assert not close(mistake().astype(np.float32), weights)


def test_global_instead_of_per_row_max_is_rejected_where_it_underflows():
    s = np.array([[1000.0, 999.0], [1.0, 0.0]])
    e = np.exp(s - s.max())
    with np.errstate(invalid="ignore"):
        wrong = e / e.sum(axis=-1, keepdims=True)  # the second row underflows to 0 / 0
    assert not close(np.nan_to_num(wrong), given(s).softmax())


def test_cancellation_is_allowed_by_the_size_of_the_terms():
    x, w = np.array([[1e8, 1.0, -1e8]]), np.ones((3, 1))
    exact = given(x) @ given(w)  # 1.0, from terms of size 1e8
    terms = x.astype(np.float32)[0]
    float32 = np.array([[(terms[0] + terms[1]) + terms[2]]])  # 1e8 + 1 rounds to 1e8: the sum is 0
    assert float32.dtype == np.float32 and float32[0, 0] == 0.0 and close(float32, exact)
    assert not close(np.array([[0.0]]), exact)  # in float64 the 1 survives, so 0 is wrong
    assert not close(np.array([[1e3]], dtype=np.float32), exact)


def test_a_transposed_answer_is_never_close():
    x = RNG.normal(size=(4, 4))
    assert not close((x @ x.T * np.arange(4)).T, given(x) @ given(x).T * np.arange(4))


def test_float32_data_allow_float32_rounding_in_any_dtype():
    w32 = RNG.normal(size=(3, 3)).astype(np.float32)
    x32 = RNG.normal(size=3).astype(np.float32)
    reference = given(x32) @ given(w32)
    answer = (x32 @ w32).astype(np.float64)
    assert close(answer, reference)
    assert not close(answer, given(x32.astype(np.float64)) @ given(w32.astype(np.float64)) * (1 + 1e-4))


def test_reference_bound_holds_for_random_float32_products():
    """The bound is a worst case: the real float32 error of many random products stays below half the tolerance."""
    worst = 0.0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        a, b = rng.normal(size=(4, 7)), rng.normal(size=(7, 3))
        reference = given(a) @ given(b)
        got = a.astype(np.float32) @ b.astype(np.float32)
        worst = max(worst, float(np.max(np.abs(got - reference.value) / (np.finfo(np.float32).eps * reference.err))))
    assert 0 < worst < 0.5


@pytest.mark.parametrize("value, expected, digits, ok", [
    (11.31, np.sqrt(128), True, True),     # what the solution prints
    (11.313, np.sqrt(128), True, True),    # cut off
    (11.314, np.sqrt(128), True, True),    # rounded
    (11.3, np.sqrt(128), True, True),      # 3 significant digits
    (11, np.sqrt(128), True, False),       # only 2
    (11.32, np.sqrt(128), True, False),    # neither rounded nor cut off
    (11.31, np.sqrt(128), False, False),   # the rule applies only where the exercise invites rounding
    (np.float32(np.sqrt(128)), np.sqrt(128), False, True),
    (128, 128.0, False, True),
    (129, 128.0, True, False),
    (402653184, 402653184, False, True),
    (402653185, 402653184, False, False),
    (4.03e8, 402653184, False, False),
    (np.float32(402653184.0), 402653184, False, True),
    pytest.param(10 ** 400, 402653184, True, False, id="10**400"),
    (1e-30, 768.0, True, False),
])
def test_number_matches(value, expected, digits, ok):
    assert number_matches(value, expected, 4 * abs(expected), digits=digits) is ok


def test_reference_of_softmax_gives_masked_entries_no_room():
    s = given(np.array([[1.0, 2.0, 3.0]])).with_value(np.array([[1.0, -np.inf, 3.0]])).softmax()
    assert s.err[0, 1] == 0 and s.value[0, 1] == 0
    leak = s.value.copy()
    leak[0, 1] = 1e-30
    assert not close(leak, s)
    assert isinstance(s, Reference)
