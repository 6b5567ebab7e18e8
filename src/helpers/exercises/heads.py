"""Exercise checks on multi-head attention and the bug clinic (chapter 6).

The expected answers come from the math helpers (:func:`helpers.split_heads`,
:func:`helpers.merge_heads` and :func:`helpers.scaled_dot_product_attention`),
so a check and the book cannot disagree. Even the "spot the bug" check runs the
learner's three suspects against the helpers and finds out for itself what each
one gets wrong; no answer key is stored.
"""

import numpy as np

from ..heads import merge_heads, split_heads
from ._verdict import (NOT_ATTEMPTED, as_answer_array, attention, brief, close, exercise_check, given, not_a,
                       read_number, report, resembles, show)

__all__ = ["check_spot_the_bug", "check_split_heads", "check_mha_param_count"]


# ---------------------------------------------------------------- spot the bug

#: The diagnoses a learner may choose from in the "spot the bug" exercise.
BUG_LABELS = ("no bug", "missing transpose", "wrong concatenation order", "wrong scale", "wrong softmax axis")

# Test data with no two sizes equal (B=2, H=3, T=5, S=7, d=4, d_v=2), so a swapped axis cannot hide.
_B, _H, _T, _S, _D_HEAD, _D_V = 2, 3, 5, 7, 4, 2


def _test_data():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(_B, _T, _H * _D_HEAD))              # (B, T, D), D = H*d = 12
    heads = rng.normal(size=(_B, _H, _T, _D_HEAD))           # (B, H, T, d)
    q = 2.0 * rng.normal(size=(_H, _T, _D_HEAD))             # spread scores: a wrong scale shows
    k = rng.normal(size=(_H, _S, _D_HEAD))
    v = rng.normal(size=(_H, _S, _D_V))
    return x, heads, q, k, v


def _softmax_axis(scores, axis):
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _suspects():
    """For each role: how to call it, the right answer, and the known bugs with the evidence they leave."""
    x, heads, q, k, v = _test_data()
    d_k = q.shape[-1]
    width = x.shape[-1]
    raw = q @ np.swapaxes(k, -1, -2)                         # (H, T, S), unscaled

    def attention_with(weights):
        return weights @ v, weights

    return {
        "impl_a": dict(
            role="split_heads", call=lambda f: f(x, _H), answer=given(split_heads(x, _H)),
            shown=f"x of shape {x.shape} with num_heads={_H}", helper="helpers.split_heads",
            bugs={
                "missing transpose": x.reshape(_B, _T, _H, _D_HEAD),
                "wrong concatenation order": np.moveaxis(x.reshape(_B, _T, _D_HEAD, _H), -1, -3),
            }),
        "impl_b": dict(
            role="merge_heads", call=lambda f: f(heads), answer=given(merge_heads(heads)),
            shown=f"heads of shape {heads.shape}", helper="helpers.merge_heads",
            bugs={
                "wrong concatenation order": np.swapaxes(heads, -3, -2).swapaxes(-2, -1).reshape(_B, _T, width),
                "missing transpose": heads.reshape(_B, _T, width),
            }),
        "impl_c": dict(
            role="attention", call=lambda f: f(q, k, v), answer=attention(q, k, v),
            shown=f"q {q.shape}, k {k.shape} and v {v.shape}", helper="helpers.scaled_dot_product_attention",
            bugs={
                "wrong scale": attention_with(_softmax_axis(raw / d_k, -1)),
                "wrong softmax axis": attention_with(_softmax_axis(raw / np.sqrt(d_k), -2)),
            }),
    }


def _same(result, expected, matches=close):
    """True if ``result`` matches ``expected`` (an array, or an (out, weights) pair) in shape and values."""
    if isinstance(expected, tuple):
        return (isinstance(result, (tuple, list)) and len(result) == len(expected)
                and all(_same(r, e, matches) for r, e in zip(result, expected)))
    a, problem = as_answer_array(result, "result")
    return problem is None and matches(a, expected)


def _main(result):
    """The array to describe: the output itself, or the weights of an (out, weights) pair."""
    main = result[1] if isinstance(result, tuple) else result
    return main.value if hasattr(main, "value") else main


def _evidence(name, suspect, result, label):
    """A hint that describes what the suspect does wrong, without naming the label."""
    if label == "no bug":
        return f"{name} agrees with {suspect['helper']} on {suspect['shown']}, where no two sizes are equal"
    got, want = np.asarray(_main(result)), np.asarray(_main(suspect["answer"]))
    if label == "missing transpose" and suspect["role"] == "split_heads":
        return (f"on {suspect['shown']} {name} returns shape {got.shape}, but {suspect['helper']} returns "
                f"{want.shape}: look at which axis counts the heads")
    if label == "missing transpose":
        return (f"on {suspect['shown']} {name} returns the right shape {want.shape}, but row 0 holds the numbers "
                f"of head 0 for the first {_H} positions: it regroups the numbers without moving the T axis "
                f"in front of H")
    if label == "wrong concatenation order":
        return (f"on {suspect['shown']} {name} returns the right shape {want.shape} but the right numbers in the "
                f"wrong places: print merged[0, 0] (batch 0, token 0) next to {suspect['helper']}'s, where "
                f"head 0's d numbers come first as one block, then head 1's")
    if label == "wrong scale":
        return (f"on {suspect['shown']} {name}'s weights have the right shape {want.shape} and rows that sum to 1, "
                f"but they are flatter (largest weight {got.max():.3f}, the helper's {want.max():.3f}): "
                f"compare what it divides the scores by")
    if label == "wrong softmax axis":
        return f"on {suspect['shown']} the columns of {name}'s weights sum to 1, not the rows"
    return f"{name} does not match {suspect['helper']}"


def _diagnose(name, suspect, fn):
    """Return (label or None, result or an error message)."""
    try:
        result = suspect["call"](fn)
    except Exception as error:  # a suspect that crashes is diagnosed, not propagated
        return None, f"{name} raised {type(error).__name__}: {str(error)[:80]}"
    if _same(result, suspect["answer"]):
        return "no bug", result
    for label, wrong in suspect["bugs"].items():
        if _same(result, wrong, resembles):
            return label, result
    return None, result


@exercise_check
def check_spot_the_bug(answer, impl_a, impl_b, impl_c):
    """Check a diagnosis of three multi-head attention implementations.

    The check runs each implementation on test data where no two sizes are
    equal (B=2, H=3, T=5, S=7, d=4), compares it with the helpers and with
    the known bugs, and so finds out itself what each one gets wrong.

    Parameters
    ----------
    answer : dict or None
        ``{"impl_a": label, "impl_b": label, "impl_c": label}``, each label one
        of :data:`BUG_LABELS`.
    impl_a : callable
        A candidate ``split_heads(x, num_heads)``: (B, T, H*d) -> (B, H, T, d).
    impl_b : callable
        A candidate ``merge_heads(heads)``: (B, H, T, d) -> (B, T, H*d).
    impl_c : callable
        A candidate attention ``f(q, k, v) -> (out, weights)`` with q (H, T, d),
        k (H, S, d), v (H, S, d_v).

    Returns
    -------
    Verdict
        Truthy when every label is right; otherwise names the first wrong one
        with evidence (a shape, a misplaced block, flatter weights) but not the
        answer.

    Used in Chapter 6.
    """
    if answer is None:
        return report(False, NOT_ATTEMPTED)
    if not isinstance(answer, dict):
        return report(False, not_a(answer, "answer", "a dict like {'impl_a': 'missing transpose', ...}"))
    suspects = _suspects()
    functions = {"impl_a": impl_a, "impl_b": impl_b, "impl_c": impl_c}
    unknown = [key for key in answer if key not in suspects]
    if unknown:
        return report(False, f"answer has the key {brief(unknown[0])}; use only the keys 'impl_a', 'impl_b' and "
                             "'impl_c'.")
    missing = [name for name in suspects if answer.get(name) is None]
    if len(missing) == len(suspects):
        return report(False, NOT_ATTEMPTED)
    if missing:
        return report(False, f"answer has no diagnosis for {' and '.join(missing)} yet: give one label for each of "
                              "impl_a, impl_b and impl_c.")
    labels = {}
    for name in suspects:
        given = answer[name]
        label = given.strip().lower() if isinstance(given, str) else None
        if label not in BUG_LABELS:
            return report(False, f"answer[{name!r}] = {brief(given)} is not one of the labels: "
                                 f"{', '.join(repr(b) for b in BUG_LABELS)}.")
        labels[name] = label
    findings = []
    for name, suspect in suspects.items():
        found, result = _diagnose(name, suspect, functions[name])
        if found is None:
            detail = result if isinstance(result, str) else f"{name} does not match {suspect['helper']} or a known bug"
            return report(False, f"{detail}; the check cannot judge it. Pass the three implementations from the "
                                  "notebook unchanged.")
        if labels[name] != found:
            verdict = "is not bug-free" if labels[name] == "no bug" else f"is not '{labels[name]}'"
            return report(False, f"{name} {verdict}: {_evidence(name, suspect, result, found)}.")
        findings.append(f"{name}: {found}")
    return report(True, "Correct: " + "; ".join(findings) + ". Each bug runs without an error; only a comparison "
                                                             "with the helpers on T != H shapes exposes it.")


# ---------------------------------------------------------------- split_heads by hand

@exercise_check
def check_split_heads(heads, x, num_heads):
    """Check a hand-made ``split_heads``: (..., T, H*d) -> (..., H, T, d).

    Parameters
    ----------
    heads : array_like or None
        The learner's answer, expected shape (..., H, T, d).
    x : array_like, shape (..., T, H*d)
    num_heads : int
        H.

    Returns
    -------
    Verdict
        Truthy if ``heads`` equals :func:`helpers.split_heads` ``(x, num_heads)``;
        otherwise names the mistake (a reshape without the transpose, a reshape
        straight to (H, T, d), the wrong split of the last axis, the wrong d).

    Used in Chapter 6.
    """
    if heads is None:
        return report(False, NOT_ATTEMPTED)
    x = np.asarray(x, dtype=float)
    h = int(num_heads)
    expected = given(split_heads(x, h))  # a reshape and a transpose: only the rounding of the numbers themselves
    lead, t, width = x.shape[:-2], x.shape[-2], x.shape[-1]
    d = width // h
    a, problem = as_answer_array(heads, "heads")
    if problem:
        return report(False, problem)
    if close(a, expected):
        return report(True, f"Correct: heads has shape (B, H, T, d) = {expected.shape}; head h holds columns "
                            f"h*d:(h+1)*d = h*{d}:(h+1)*{d} of every token.")
    if a.shape == lead + (t, h, d) and resembles(a, x.reshape(lead + (t, h, d))):
        return report(False, f"heads has shape {a.shape} = (B, T, H, d): that is the reshape alone, the blog's bug. "
                             "Axis 1 still counts tokens, but in (B, H, T, d) it counts heads.",
                      "The T and H axes must trade places; a reshape cannot do that, since it never moves a number.")
    if a.shape == expected.shape and resembles(a, x.reshape(expected.shape)):
        return report(False, f"heads has the right shape {expected.shape} but you reshaped straight to (B, H, T, d). "
                             "A reshape keeps the numbers in memory order, so 'head 0' gets the first rows of "
                             "the sequence, not the first columns.",
                      "Cut the last axis into (H, d) while the tokens still come first, then move the axes.")
    if a.shape == expected.shape and resembles(a, np.moveaxis(x.reshape(lead + (t, d, h)), -1, -3)):
        return report(False, f"heads has the right shape {expected.shape} but you split the last axis as (d, H) "
                             f"instead of (H, d): head h got columns h, h+{h}, h+{2 * h}, ... instead of the block "
                             f"h*{d}:(h+1)*{d}.")
    if a.shape == lead + (h, d, t) and resembles(a, np.swapaxes(expected.value, -1, -2)):
        return report(False, f"heads has shape {a.shape} = (B, H, d, T): each head is transposed. Each head should "
                             f"be (T, d) = ({t}, {d}), one row per token.")
    if width % d == 0 and d != h and a.shape == lead + (d, t, h):
        return report(False, f"heads has shape {a.shape}: you made {d} heads of width {h}. There are H = {h} heads, "
                             f"each of width d = D / H = {width} / {h} = {d}.")
    if a.shape != expected.shape:
        return report(False, f"heads has shape {a.shape} but expected (B, H, T, d) = {expected.shape}, "
                             f"with d = D / H = {width} / {h} = {d}.")
    return report(False, f"heads has the right shape {expected.shape} but wrong values: head h should hold columns "
                         f"h*{d} to (h+1)*{d} - 1 of every token.", f"heads[b, h, t] is x[b, t, h*{d}:(h+1)*{d}].")


# ---------------------------------------------------------------- parameter counts

@exercise_check
def check_mha_param_count(count, d_model, num_heads, bias=True):
    """Check the number of parameters of multi-head attention: W_q, W_k, W_v and W_o, each D x D.

    With H heads of width d = D / H, each head's W_q, W_k and W_v is D x d, so
    the H heads together hold 3 D^2 weights, as one wide head would. W_o adds
    D^2 and the biases 4 D.

    Parameters
    ----------
    count : int or None
        The learner's answer.
    d_model : int
        D.
    num_heads : int
        H (it must divide D; it does not change the count).
    bias : bool
        Whether the four projections have biases.

    Returns
    -------
    Verdict
        Truthy when ``count == 4 D^2 + 4 D`` (or ``4 D^2`` without biases);
        otherwise names the mistake (full D x D matrices per head, no W_o, no
        biases, d x d per head).

    Used in Chapter 6.
    """
    if count is None:
        return report(False, NOT_ATTEMPTED)
    count, problem = read_number(count, "count", whole=True)
    if problem:
        return report(False, problem)
    D, H = int(d_model), int(num_heads)
    d = D // H
    b4 = 4 * D if bias else 0
    expected = 4 * D * D + b4
    if count == expected:
        extra = f" + 4 x {D} (biases)" if bias else ""
        return report(True, f"Correct: 4 x {D} x {D} (W_q, W_k, W_v, W_o){extra} = {expected:,}. "
                            f"Splitting into {H} heads of width {d} does not change it.")
    share = (f"Each head's W_q is {D} x {d}; the {H} of them side by side make one {D} x {D} matrix, the same "
             "size as one wide head's.")
    if H > 1 and count in {H * expected, H * 4 * D * D, H * 4 * D * D + b4}:
        return report(False, f"{show(count)} is the count multiplied by H = {H}: splitting into heads adds no "
                             f"parameters. The {H} heads share out the {D} columns of each projection, {d} each.",
                      share)
    per_head_full = {3 * H * D * D + D * D + b for b in {0, b4, 3 * H * D + D if bias else 0}}
    if H > 1 and count in per_head_full:
        return report(False, f"{show(count)} gives every head full {D} x {D} matrices. Each head's W_q, W_k and W_v "
                             f"is {D} x {d} (d = D / H), so the {H} heads together hold 3 x {D} x {D}, "
                             "as one wide head would.")
    if count in (3 * D * D + (3 * D if bias else 0), 3 * D * D):
        return report(False, f"{show(count)} leaves out the output projection W_o ({D} x {D}"
                             f"{f' + {D}' if bias else ''}): multi-head attention has four projections.")
    if bias and count == 4 * D * D:
        return report(False, f"{show(count)} counts the weights only: each of the four projections also has a bias "
                             f"of {D} numbers.")
    if not bias and count == 4 * D * D + 4 * D:
        return report(False, f"{show(count)} includes biases, but these projections have none: count only the weights.")
    if count in (3 * H * d * d + D * D + b4, 3 * H * d * d + D * D):
        return report(False, f"{show(count)} gives each head {d} x {d} matrices, but a head reads all {D} input "
                             f"numbers: its W_q, W_k and W_v are {D} x {d}.")
    if count in (D * D + D, D * D):
        return report(False, f"{show(count)} is one projection: W_q, W_k, W_v and W_o are four.")
    return report(False, f"{show(count)} is not right: count the weights of W_q, W_k, W_v and W_o"
                         f"{' and their four biases' if bias else ''}.", share)
