"""The contract every exported check keeps, tested on every check in ``helpers.exercises.__all__``.

* fair: it accepts the reference answer, the same answer in float32, and
  the answer written with einsum or loops (or, for a number, as a numpy int,
  a float, a 0-d or 1-element array);
* it rejects at least two typical mistakes, each with a diagnosis of its own;
* it never raises: any answer object gets a Verdict, in every answer slot,
  also arrays of random shapes drawn by hypothesis;
* it takes ``hint=True``.

The exercise data, the answers and the mistakes come from
``tests/exercise_cases.py``. A new check without an entry there fails
``test_every_check_has_a_case``, so it cannot escape these tests.
"""

import functools
import inspect
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from exercise_cases import CASES, hostile_answers, nested_hostile, same_answers
from helpers import exercises
from verdicts import run

# Deterministic in CI and on every machine: the same examples each run, no example database.
settings.register_profile("exercise-checks", derandomize=True, database=None, deadline=None, max_examples=20,
                          suppress_health_check=[HealthCheck.too_slow])
CHECKS = sorted(name for name in exercises.__all__ if name.startswith("check_"))
SEEDS = range(4)


def data_for(name, seed=0):
    return CASES[name].data(np.random.default_rng(seed))


def call(name, answers, data, **kwargs):
    """Call a check the way a notebook does; it must return a one-line Verdict and warn about nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        verdict = getattr(exercises, name)(*answers, **data, **kwargs)
    assert isinstance(verdict, exercises.Verdict), f"{name} returned {type(verdict).__name__}"
    assert isinstance(verdict.message, str) and verdict.message and "\n" not in verdict.message
    return verdict


def test_every_check_has_a_case():
    missing = [name for name in CHECKS if name not in CASES]
    assert not missing, (f"no entry in tests/exercise_cases.py for {missing}: add its exercise data, its correct "
                         "answers and two typical mistakes, so that the contract tests cover it")
    assert not set(CASES) - set(CHECKS), "tests/exercise_cases.py has a case for a check that is not exported"


@pytest.mark.parametrize("name", CHECKS)
def test_the_case_fits_the_signature(name):
    parameters = inspect.signature(getattr(exercises, name)).parameters
    data = data_for(name)
    answers = next(iter(CASES[name].correct(data).values()))
    names = list(parameters)
    assert set(data) <= set(names[len(answers):]), f"{name}: the case's data do not match the parameters {names}"
    assert parameters["hint"].default is False and parameters["hint"].kind is inspect.Parameter.KEYWORD_ONLY


# ---------------------------------------------------------------- fair to every correct answer

@pytest.mark.parametrize("name", CHECKS)
@pytest.mark.parametrize("seed", SEEDS)
def test_accepts_every_correct_answer(name, seed):
    data = data_for(name, seed)
    kinds = CASES[name].correct(data)
    assert len(kinds) >= 3, f"{name}: give at least three ways of writing the right answer"
    for how, answers in kinds.items():
        verdict = call(name, answers, data)
        assert verdict, f"{name} rejects the right answer written as {how}: {verdict.message}"
        assert verdict.message.startswith("Correct:")


def _leaves(answer):
    if isinstance(answer, (tuple, list)):
        return [leaf for item in answer for leaf in _leaves(item)]
    return [answer]


@pytest.mark.parametrize("name", [n for n in CHECKS if "float32" in CASES[n].correct(data_for(n))])
def test_float32_answers_really_are_float32(name):
    """The float32 way of writing an answer must really be computed in float32, or the test proves nothing."""
    answers = CASES[name].correct(data_for(name))["float32"]
    dtypes = {np.asarray(leaf).dtype for leaf in _leaves(answers) if isinstance(leaf, (np.ndarray, np.generic))}
    assert dtypes == {np.dtype(np.float32)}, f"{name}: the float32 answer has dtypes {dtypes}"


# ---------------------------------------------------------------- typical mistakes, each with its own diagnosis

@pytest.mark.parametrize("name", CHECKS)
def test_rejects_typical_mistakes_each_with_its_own_diagnosis(name):
    mistakes = CASES[name].mistakes
    assert len(mistakes) >= 2, f"{name}: register at least two typical mistakes"
    assert len({fragment for _, fragment in mistakes}) == len(mistakes), f"{name}: two mistakes share a diagnosis"
    for seed in SEEDS:
        data = data_for(name, seed)
        right = next(iter(CASES[name].correct(data).values()))
        messages = []
        for make, fragment in mistakes:
            answers = make(data)
            if same_answers(answers, right):
                continue  # these data make the mistake coincide with the right answer
            verdict = call(name, answers, data)
            assert not verdict, f"{name} accepts a typical mistake ({fragment!r}) on seed {seed}"
            assert fragment in verdict.message, f"{name}: expected {fragment!r} in {verdict.message!r}"
            messages.append(verdict.message)
        assert len(set(messages)) == len(messages), f"{name}: two mistakes got the same message on seed {seed}"


# ---------------------------------------------------------------- never a traceback

#: Hostile answers that could, for some exercise, be the right answer (a key index 0, ...).
MAYBE_RIGHT = {"0", "0-d", "float16"}


@functools.cache
def slots(name):
    """The exercise data of seed 0 and its right answers: each hostile answer replaces one of them."""
    data = data_for(name)
    return data, next(iter(CASES[name].correct(data).values()))


@pytest.mark.parametrize("name", CHECKS)
def test_hostile_answers_get_a_verdict(name):
    data, right = slots(name)
    for label, value in hostile_answers().items():
        for slot in range(len(right)):
            answers = list(right)
            for answers[slot] in [value, *nested_hostile(right[slot], value)]:
                verdict = call(name, answers, data)
                assert label in MAYBE_RIGHT or not verdict, f"{name} accepts {label} in answer slot {slot}"


def test_the_named_hostile_answers_get_specific_messages():
    ex = exercises
    assert "did you forget to call it?" in ex.check_linear_param_count(len, 3, 4).message
    assert "did you forget to call it?" in ex.check_attention(lambda: 0, None, *[np.eye(2)] * 3).message
    assert "is NaN" in ex.check_linear_param_count(float("nan"), 3, 4).message
    assert "overflowed" in ex.check_score_memory(float("inf"), 2, 12, 2048).message
    assert "did you type **" in ex.check_score_memory(2 * 12 * 2048 ** 2048 * 4, 2, 12, 2048).message
    assert "a bool" in ex.check_qkv_param_count(True, 768).message
    assert "remove the quotes" in ex.check_mha_param_count("1050624", 512, 8).message
    assert "could not be turned into a numpy array" in ex.check_self_scores([[1, 2], [3]], np.eye(2)).message


@pytest.mark.parametrize("name", CHECKS)
@settings(settings.get_profile("exercise-checks"))
@given(shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
       dtype=st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.bool_]),
       special=st.sampled_from([None, np.nan, np.inf, 1e300]), seed=st.integers(0, 2 ** 16))
def test_arrays_of_random_shapes_get_a_verdict(name, shape, dtype, special, seed):
    """hypothesis draws the shape, dtype and odd values; numpy fills in the numbers (much faster than element by element)."""
    exercise, right = slots(name)
    rng = np.random.default_rng(seed)
    array = (rng.normal(size=shape) * 10.0 ** rng.integers(-3, 4)).astype(np.float64)
    if special is not None and array.size:
        array.flat[rng.integers(array.size)] = special
    with np.errstate(all="ignore"):
        array = array.astype(dtype)
    for slot in range(len(right)):
        answers = list(right)
        answers[slot] = array
        call(name, answers, exercise)


# ---------------------------------------------------------------- hints

@pytest.mark.parametrize("name", CHECKS)
def test_every_check_takes_hint(name):
    data = data_for(name)
    right = next(iter(CASES[name].correct(data).values()))
    assert call(name, right, data, hint=True).message == call(name, right, data).message
    for make, _ in CASES[name].mistakes:
        answers = make(data)
        if same_answers(answers, right):
            continue
        plain, hinted = call(name, answers, data), call(name, answers, data, hint=True)
        assert not hinted and hinted.message.startswith(plain.message) and len(hinted.message) > len(plain.message)
        if plain.hint:
            assert hinted.message == f"{plain.message} Hint: {plain.hint}"


# Issue 14's known offenders: (check, args, code the first message must not show, what it must say instead).
X_2_1 = np.array([[0.3, -1.2, 0.5], [1.1, 0.4, -0.7], [-0.2, 0.9, 1.4], [0.8, -0.5, -1.0]])
P_4_4 = np.array([0.7, 0.2, 0.1])
X_6_2 = np.arange(2 * 5 * 12.0).reshape(2, 5, 12)
OFFENDERS = [
    ("2.1 x.T @ x", exercises.check_self_scores, (X_2_1.T @ X_2_1, X_2_1), "x @ x.T", "feature columns"),
    ("2.1 x * x", exercises.check_self_scores, (X_2_1 * X_2_1, X_2_1), "x @ x.T", "element-by-element"),
    ("2.1 one row", exercises.check_self_scores, (X_2_1[0] @ X_2_1.T, X_2_1), "x @ x.T", "every pair"),
    ("2.3 nearest key", exercises.check_top_key,
     (0, np.array([1.0, 1.0]), np.array([[0.5, 0.5], [2.0, 0.5], [-1.0, 0.2], [0.1, 1.5]])), "k1", "cos θ"),
    ("2.3 another key", exercises.check_top_key,
     (3, np.array([1.0, 1.0]), np.array([[0.5, 0.5], [2.0, 0.5], [-1.0, 0.2], [0.1, 1.5]])), "k1", "larger score"),
    ("4.4 sign", exercises.check_softmax_jacobian, (np.outer(P_4_4, P_4_4) - np.diag(P_4_4), P_4_4),
     "diag(p) - p p", "wrong sign"),
    ("4.4 diagonal only", exercises.check_softmax_jacobian, (np.diag(P_4_4), P_4_4), "np.outer", "normalisation"),
    ("6.2 reshape alone", exercises.check_split_heads, (X_6_2.reshape(2, 5, 3, 4), X_6_2, 3), "swapaxes",
     "the blog's bug"),
    ("6.2 straight reshape", exercises.check_split_heads, (X_6_2.reshape(2, 3, 5, 4), X_6_2, 3), "transpose",
     "memory order"),
]


@pytest.mark.parametrize("label, check, args, code, diagnosis", OFFENDERS, ids=[o[0] for o in OFFENDERS])
def test_first_message_names_the_mistake_not_the_code_of_the_fix(label, check, args, code, diagnosis):
    verdict = check(*args)
    assert not verdict and diagnosis in verdict.message
    assert code not in verdict.message, f"{label}: the first message shows the fix: {verdict.message}"
    hinted = check(*args, hint=True).message
    assert hinted.startswith(verdict.message) and "Hint:" in hinted


def test_6_3_names_the_parameters_multiplied_by_the_heads(capsys):
    d, h = 512, 8
    for count in (h * (4 * d * d + 4 * d), h * 4 * d * d):
        ok, line = run(capsys, exercises.check_mha_param_count, count, d, h)
        assert not ok and "multiplied by H = 8" in line and "adds no parameters" in line


def test_4_2_accepts_the_solutions_rounded_divisor(capsys):
    for divisor in (11.31, 11.313, 11.314, 11.3, np.sqrt(128), np.float32(np.sqrt(128)), np.array([11.31])):
        ok, line = run(capsys, exercises.check_dot_product_variance, 128, divisor, 128)
        assert ok, f"{divisor!r}: {line}"
    for divisor, text in ((11, "rounded to 2 significant digits"), (11.32, "is not right"), (11.2, "is not right")):
        ok, line = run(capsys, exercises.check_dot_product_variance, 128, divisor, 128)
        assert not ok and text in line
