"""Tests for the chapter 6 exercise checks: right answers pass, each kind of wrong answer gets its own message."""

import numpy as np
import pytest

import helpers
from helpers import exercises
from exercise_cases import attend_c, merge_b, split_a  # the notebook's three suspects
from helpers.exercises.heads import BUG_LABELS
from verdicts import run


def test_checks_are_exported():
    for name in ("check_spot_the_bug", "check_split_heads", "check_mha_param_count"):
        assert name in exercises.__all__
        assert callable(getattr(exercises, name))
    assert "missing transpose" in BUG_LABELS and "BUG_LABELS" not in exercises.__all__


# ---------------------------------------------------------------- the suspects of the notebook

def merge_reshape_only(heads):
    b, h, t, d = heads.shape
    return heads.reshape(b, t, h * d)


def split_interleaved(x, num_heads):
    b, t, width = x.shape
    return np.moveaxis(x.reshape(b, t, width // num_heads, num_heads), -1, -3)


def attend_column_softmax(q, k, v):
    weights = helpers.softmax(q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1]), axis=-2)
    return weights @ v, weights


def attend_no_scale(q, k, v):
    weights = helpers.softmax(q @ np.swapaxes(k, -1, -2), axis=-1)
    return weights @ v, weights


def broken(*args):
    raise RuntimeError("boom")


RIGHT = {"impl_a": "missing transpose", "impl_b": "wrong concatenation order", "impl_c": "wrong scale"}
SUSPECTS = (split_a, merge_b, attend_c)


# ---------------------------------------------------------------- check_spot_the_bug

def test_spot_the_bug_correct(capsys):
    ok, line = run(capsys, exercises.check_spot_the_bug, RIGHT, *SUSPECTS)
    assert ok is True
    assert line.startswith("Correct:")
    assert "impl_a: missing transpose" in line and "impl_c: wrong scale" in line


def test_spot_the_bug_labels_are_forgiving_about_case_and_spaces(capsys):
    answer = {name: f"  {label.upper()} " for name, label in RIGHT.items()}
    ok, line = run(capsys, exercises.check_spot_the_bug, answer, *SUSPECTS)
    assert ok is True and line.startswith("Correct:")


def test_spot_the_bug_helpers_have_no_bug(capsys):
    answer = {"impl_a": "no bug", "impl_b": "no bug", "impl_c": "no bug"}
    ok, line = run(capsys, exercises.check_spot_the_bug, answer,
                   helpers.split_heads, helpers.merge_heads, helpers.scaled_dot_product_attention)
    assert ok is True and line.startswith("Correct:")


def test_spot_the_bug_diagnoses_other_bugs(capsys):
    answer = {"impl_a": "wrong concatenation order", "impl_b": "missing transpose", "impl_c": "wrong softmax axis"}
    ok, line = run(capsys, exercises.check_spot_the_bug, answer,
                   split_interleaved, merge_reshape_only, attend_column_softmax)
    assert ok is True and line.startswith("Correct:")


@pytest.mark.parametrize("answer", [None, {"impl_a": None, "impl_b": None, "impl_c": None}])
def test_spot_the_bug_not_attempted(capsys, answer):
    ok, line = run(capsys, exercises.check_spot_the_bug, answer, *SUSPECTS)
    assert ok is False and line.startswith("Not attempted yet")


@pytest.mark.parametrize("change, expected_text", [
    ({"impl_a": "no bug"}, "impl_a is not bug-free: on x of shape (2, 5, 12) with num_heads=3 impl_a returns shape "
                           "(2, 5, 3, 4), but helpers.split_heads returns (2, 3, 5, 4)"),
    ({"impl_a": "wrong scale"}, "impl_a is not 'wrong scale'"),
    ({"impl_b": "missing transpose"}, "impl_b is not 'missing transpose': on heads of shape (2, 3, 5, 4) impl_b "
                                      "returns the right shape (2, 5, 12) but the right numbers in the wrong places"),
    ({"impl_c": "no bug"}, "impl_c is not bug-free"),
    ({"impl_c": "wrong softmax axis"}, "flatter (largest weight"),
])
def test_spot_the_bug_wrong_label(capsys, change, expected_text):
    ok, line = run(capsys, exercises.check_spot_the_bug, {**RIGHT, **change}, *SUSPECTS)
    assert ok is False
    assert expected_text in line
    # The evidence never gives the right label away.
    wrong_name = next(iter(change))
    assert RIGHT[wrong_name] not in line


def test_spot_the_bug_no_scale_counts_as_unknown(capsys):
    ok, line = run(capsys, exercises.check_spot_the_bug, RIGHT, split_a, merge_b, attend_no_scale)
    assert ok is False
    assert "does not match helpers.scaled_dot_product_attention or a known bug" in line


def test_spot_the_bug_crashing_suspect(capsys):
    ok, line = run(capsys, exercises.check_spot_the_bug, RIGHT, broken, merge_b, attend_c)
    assert ok is False
    assert "impl_a raised RuntimeError: boom" in line


@pytest.mark.parametrize("answer, expected_text", [
    (["missing transpose"], "should be a dict"),
    ({**RIGHT, "impl_d": "no bug"}, "'impl_d'"),
    ({"impl_a": "missing transpose"}, "no diagnosis for impl_b and impl_c"),
    ({**RIGHT, "impl_b": "typo"}, "answer['impl_b'] = 'typo' is not one of the labels"),
    ({**RIGHT, "impl_c": 3}, "answer['impl_c'] = 3 is not one of the labels"),
])
def test_spot_the_bug_malformed_answer(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_spot_the_bug, answer, *SUSPECTS)
    assert ok is False
    assert expected_text in line


# ---------------------------------------------------------------- check_split_heads

X = np.arange(2 * 5 * 12.0).reshape(2, 5, 12)  # B=2, T=5, D=12; H=3, d=4: no two sizes equal
H = 3


def test_split_heads_correct(capsys):
    answer = np.swapaxes(X.reshape(2, 5, 3, 4), 1, 2)
    ok, line = run(capsys, exercises.check_split_heads, answer, X, H)
    assert ok is True
    assert line.startswith("Correct:") and "(2, 3, 5, 4)" in line


def test_split_heads_accepts_lists(capsys):
    ok, line = run(capsys, exercises.check_split_heads, helpers.split_heads(X, H).tolist(), X, H)
    assert ok is True


def test_split_heads_not_attempted(capsys):
    ok, line = run(capsys, exercises.check_split_heads, None, X, H)
    assert ok is False and line.startswith("Not attempted yet")


@pytest.mark.parametrize("answer, expected_text", [
    (X.reshape(2, 5, 3, 4), "(2, 5, 3, 4) = (B, T, H, d): that is the reshape alone"),
    (X.reshape(2, 3, 5, 4), "you reshaped straight to (B, H, T, d)"),
    (np.moveaxis(X.reshape(2, 5, 4, 3), -1, -3), "you split the last axis as (d, H) instead of (H, d)"),
    (np.swapaxes(helpers.split_heads(X, H), -1, -2), "(B, H, d, T): each head is transposed"),
    (helpers.split_heads(X, 4), "you made 4 heads of width 3"),
    (X, "has shape (2, 5, 12) but expected (B, H, T, d) = (2, 3, 5, 4)"),
    (helpers.split_heads(X, H) + 1.0, "right shape (2, 3, 5, 4) but wrong values"),
    (np.full((2, 3, 5, 4), np.nan), "NaN"),
])
def test_split_heads_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_split_heads, answer, X, H)
    assert ok is False
    assert expected_text in line


# ---------------------------------------------------------------- check_mha_param_count

D, HEADS = 512, 8  # d = 64


def test_mha_param_count_correct(capsys):
    ok, line = run(capsys, exercises.check_mha_param_count, 4 * D * D + 4 * D, D, HEADS, bias=True)
    assert ok is True
    assert line.startswith("Correct:") and "1,050,624" in line and "8 heads of width 64" in line


def test_mha_param_count_without_bias(capsys):
    ok, line = run(capsys, exercises.check_mha_param_count, 4 * D * D, D, HEADS, bias=False)
    assert ok is True and "1,048,576" in line


def test_mha_param_count_accepts_numpy_int(capsys):
    ok, _ = run(capsys, exercises.check_mha_param_count, np.int64(4 * D * D + 4 * D), D, HEADS)
    assert ok is True


def test_mha_param_count_not_attempted(capsys):
    ok, line = run(capsys, exercises.check_mha_param_count, None, D, HEADS)
    assert ok is False and line.startswith("Not attempted yet")


@pytest.mark.parametrize("count, bias, expected_text", [
    (3 * HEADS * D * D + D * D + 4 * D, True, "gives every head full 512 x 512 matrices"),
    (3 * HEADS * D * D + D * D + 3 * HEADS * D + D, True, "gives every head full 512 x 512 matrices"),
    (3 * D * D + 3 * D, True, "leaves out the output projection W_o"),
    (3 * D * D, False, "leaves out the output projection W_o"),
    (4 * D * D, True, "counts the weights only"),
    (4 * D * D + 4 * D, False, "includes biases, but these projections have none"),
    (3 * HEADS * 64 * 64 + D * D + 4 * D, True, "gives each head 64 x 64 matrices"),
    (D * D + D, True, "is one projection"),
    (12345, True, "is not right"),
    (1.5, True, "not a whole number"),
    ("many", True, "remove the quotes"),
    (True, True, "a bool"),
    (HEADS * (4 * D * D + 4 * D), True, "is the count multiplied by H = 8: splitting into heads adds no parameters"),
    (HEADS * 4 * D * D, True, "multiplied by H = 8"),
])
def test_mha_param_count_wrong(capsys, count, bias, expected_text):
    ok, line = run(capsys, exercises.check_mha_param_count, count, D, HEADS, bias=bias)
    assert ok is False
    assert expected_text in line


# ---------------------------------------------------------------- the bugs from public teaching code (chapter 6's clinic)

def cross_swapped(x, context, w_q, w_k, w_v):  # datawhalechina/happy-llm #5, learn-nlp-with-transformers #12
    return helpers.scaled_dot_product_attention(context @ w_q, x @ w_k, x @ w_v)


def cross_right(x, context, w_q, w_k, w_v):
    return helpers.scaled_dot_product_attention(x @ w_q, context @ w_k, context @ w_v)


def mha_scaled_by_d_model(x, w_q, w_k, w_v, w_o, num_heads):  # karpathy/ng-video-lecture PR #6, #55
    q, k, v = (helpers.split_heads(x @ w, num_heads) for w in (w_q, w_k, w_v))
    out, weights = helpers.scaled_dot_product_attention(q, k, v, scale=x.shape[-1] ** -0.5)
    return helpers.merge_heads(out) @ w_o, weights


def mha_reshape_only(x, w_q, w_k, w_v, w_o, num_heads):  # 649453932/Chinese-Text-Classification-Pytorch #10
    t, width = x.shape
    q, k, v = ((x @ w).reshape(num_heads, t, width // num_heads) for w in (w_q, w_k, w_v))
    out, weights = helpers.scaled_dot_product_attention(q, k, v)
    return out.reshape(t, width) @ w_o, weights


def mha_right_float32(x, w_q, w_k, w_v, w_o, num_heads):
    x, w_q, w_k, w_v, w_o = (np.asarray(a, dtype=np.float32) for a in (x, w_q, w_k, w_v, w_o))
    return helpers.multi_head_attention(x, w_q, w_k, w_v, w_o, num_heads=num_heads)


def mask_tiled(mask, num_heads):  # ArrowLuo/CLIP4Clip #22
    return np.tile(mask, (num_heads, 1, 1))


def mask_repeated(mask, num_heads):
    return np.repeat(mask, num_heads, axis=0)


def mask_loop_as_ints(mask, num_heads):
    return [[[int(v) for v in row] for row in mask[i // num_heads]] for i in range(len(mask) * num_heads)]


def cache_mask_top_left(n_new, n_cached):  # rasbt/LLMs-from-scratch PR #697, huggingface/candle #2108
    return np.tril(np.ones((n_new, n_cached + n_new), dtype=bool))


def cache_mask_square(n_new, n_cached):
    return helpers.causal_mask(n_new)


def cache_mask_shifted(n_new, n_cached):
    return np.tril(np.ones((n_new, n_cached + n_new), dtype=bool), k=n_cached)


def project_transposed(x, weight):  # rasbt/LLMs-from-scratch #857
    return np.einsum("ti,io->to", x, weight)


def project_right(x, weight):
    return x @ weight.T


PUBLIC_BUGS = dict(impl_d=cross_swapped, impl_e=mha_scaled_by_d_model, impl_f=mask_tiled,
                   impl_g=cache_mask_top_left, impl_h=project_transposed)
PUBLIC_LABELS = {"impl_d": "queries and keys swapped", "impl_e": "scaled by sqrt(d_model)",
                 "impl_f": "mask tiled across heads", "impl_g": "mask not shifted by the cache",
                 "impl_h": "transposed weight"}


def test_spot_the_bug_names_every_public_bug(capsys):
    ok, line = run(capsys, exercises.check_spot_the_bug, PUBLIC_LABELS, **PUBLIC_BUGS)
    assert ok is True and line.startswith("Correct:")
    for name, label in PUBLIC_LABELS.items():
        assert f"{name}: {label}" in line


def test_spot_the_bug_public_roles_accept_correct_code_written_differently(capsys):
    answer = {name: "no bug" for name in PUBLIC_LABELS}
    ok, line = run(capsys, exercises.check_spot_the_bug, answer, impl_d=cross_right, impl_e=mha_right_float32,
                   impl_f=mask_loop_as_ints, impl_g=cache_mask_shifted, impl_h=project_right)
    assert ok is True, line


@pytest.mark.parametrize("kwargs, label", [
    (dict(impl_e=mha_reshape_only), "missing transpose"),
    (dict(impl_g=cache_mask_square), "mask not shifted by the cache"),
    (dict(impl_e=mha_scaled_by_d_model), "wrong scale"),  # a wrong scale it is: accepted, and named exactly
])
def test_spot_the_bug_other_variants(capsys, kwargs, label):
    name = next(iter(kwargs))
    ok, line = run(capsys, exercises.check_spot_the_bug, {name: label}, **kwargs)
    assert ok is True, line
    assert "impl_e: scaled by sqrt(d_model)" in line if label == "wrong scale" else f"{name}: {label}" in line


@pytest.mark.parametrize("kwargs, evidence", [
    (dict(impl_d=cross_swapped), "returns weights of shape (7, 5) and an output of shape (7, 2)"),
    (dict(impl_e=mha_scaled_by_d_model), "flatter"),
    (dict(impl_e=mha_reshape_only), "a reshape never moves a number"),
    (dict(impl_f=mask_tiled), "row 1 (sequence 0, head 1) holds the mask of sequence 1"),
    (dict(impl_g=cache_mask_top_left), "the newest token see 3 of the 7 keys"),
    (dict(impl_g=cache_mask_square), "returns shape (3, 3), which leaves out the 4 cached keys"),
    (dict(impl_h=project_transposed), "raises an error, and with a square (d_in, d_in) weight it runs"),
])
def test_spot_the_bug_public_bug_called_bug_free_gets_evidence_not_the_label(capsys, kwargs, evidence):
    name = next(iter(kwargs))
    ok, line = run(capsys, exercises.check_spot_the_bug, {name: "no bug"}, **kwargs)
    assert ok is False and f"{name} is not bug-free" in line and evidence in line
    assert PUBLIC_LABELS[name] not in line and "missing transpose" not in line


def test_spot_the_bug_correct_public_code_called_buggy(capsys):
    ok, line = run(capsys, exercises.check_spot_the_bug, {"impl_f": "mask tiled across heads"}, impl_f=mask_repeated)
    assert ok is False and "impl_f is not 'mask tiled across heads'" in line and "agrees with" in line


@pytest.mark.parametrize("kwargs, answer, expected_text", [
    (dict(impl_f=mask_tiled), {"impl_a": "no bug"}, "use only the keys 'impl_f'"),
    ({}, {"impl_a": "no bug"}, "pass the suspect implementations"),
    (dict(impl_f="not a function"), {"impl_f": "no bug"}, "not a function"),
    (dict(impl_h=lambda x, w: 1 / 0), {"impl_h": "no bug"}, "impl_h raised ZeroDivisionError"),
])
def test_spot_the_bug_public_roles_malformed(capsys, kwargs, answer, expected_text):
    ok, line = run(capsys, exercises.check_spot_the_bug, answer, **kwargs)
    assert ok is False and expected_text in line
