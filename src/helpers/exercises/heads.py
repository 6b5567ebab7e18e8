"""Exercise checks on multi-head attention and the bug clinic (chapter 6).

The expected answers come from the math helpers (:func:`helpers.split_heads`,
:func:`helpers.merge_heads`, :func:`helpers.scaled_dot_product_attention` and
:func:`helpers.causal_mask`), so a check and the book cannot disagree. Even the
"spot the bug" check runs the learner's suspects against the helpers and finds
out for itself what each one gets wrong; no answer key is stored.
"""

import numpy as np

from ..attention import scaled_dot_product_attention
from ..heads import merge_heads, split_heads
from ..masks import causal_mask
from ._verdict import (NOT_ATTEMPTED, as_answer_array, attention, brief, close, exercise_check, given, not_a,
                       read_number, report, resembles, show)

__all__ = ["check_spot_the_bug", "check_split_heads", "check_mha_param_count"]


# ---------------------------------------------------------------- spot the bug

#: The diagnoses a learner may choose from in the "spot the bug" exercises. The last five are bugs that learners
#: reported in public teaching code (chapter 6's bug clinic cites where).
BUG_LABELS = ("no bug", "missing transpose", "wrong concatenation order", "wrong scale", "wrong softmax axis",
              "queries and keys swapped", "scaled by sqrt(d_model)", "mask tiled across heads",
              "mask not shifted by the cache", "transposed weight")

#: What each suspect must do, by the keyword that passes it to the check.
ROLES = {
    "impl_a": "split_heads(x, num_heads): (B, T, H*d) -> (B, H, T, d)",
    "impl_b": "merge_heads(heads): (B, H, T, d) -> (B, T, H*d)",
    "impl_c": "attention(q, k, v) -> (out, weights)",
    "impl_d": "cross_attention(x, context, w_q, w_k, w_v) -> (out, weights)",
    "impl_e": "multi_head(x, w_q, w_k, w_v, w_o, num_heads) -> (out, weights)",
    "impl_f": "expand_mask(mask, num_heads): (B, T, S) -> (B*H, T, S), row b*H + h for head h of sequence b",
    "impl_g": "cache_mask(n_new, n_cached): (n_new, n_cached + n_new), True = may attend",
    "impl_h": "project(x, weight) with weight stored (d_out, d_in): (T, d_in) -> (T, d_out)",
}

# Test data with no two sizes equal (B=2, H=3, T=5, S=7, d=4, d_v=2), so a swapped axis cannot hide.
_B, _H, _T, _S, _D_HEAD, _D_V = 2, 3, 5, 7, 4, 2
_D_IN, _D_OUT = 6, 4                 # the projection's widths: d_in != d_out
_N_NEW, _N_CACHED = 3, 4             # a KV-cache step: 3 new tokens after 4 cached ones


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


def _public_data():
    """Data for the suspects of the public bugs (impl_d to impl_h), again with no two sizes equal."""
    rng = np.random.default_rng(66)
    width = _H * _D_HEAD
    return dict(
        x=rng.normal(size=(_T, _D_IN)), context=rng.normal(size=(_S, _D_IN)),           # T = 5, S = 7
        w_q=rng.normal(size=(_D_IN, _D_HEAD)), w_k=rng.normal(size=(_D_IN, _D_HEAD)),   # (D, d_k)
        w_v=rng.normal(size=(_D_IN, _D_V)),                                             # (D, d_v)
        x_mha=rng.normal(size=(_T, width)),                                             # (T, D), D = 12
        w_mha=[rng.normal(scale=1.0 / np.sqrt(width), size=(width, width)) for _ in range(4)],
        mask=rng.random((_B, _T, _S)) < 0.6,                                            # (B, T, S)
        x_in=rng.normal(size=(_T, _D_IN)),
        weight=rng.normal(size=(_D_OUT, _D_IN)), square=rng.normal(size=(_D_IN, _D_IN)),  # (d_out, d_in)
    )


def _mha_reference(x, w_q, w_k, w_v, w_o, num_heads, scale=None, split=None):
    """Multi-head attention of one sequence as References: project, split, attend, merge, project."""
    x = given(x)
    split = split or (lambda a: a.reshape(_T, num_heads, -1).swapaxes(0, 1))          # (H, T, d)
    q, k, v = (split(x @ given(w)) for w in (w_q, w_k, w_v))
    out, weights = attention(q, k, v, scale=scale)
    return out.swapaxes(0, 1).reshape(_T, -1) @ given(w_o), weights


def _mha_reshape_only(x, w_q, w_k, w_v, w_o, num_heads):
    """The straight reshape: (T, D) read as (H, T, d) and back, with no transpose."""
    proj = [x @ w for w in (w_q, w_k, w_v)]
    q, k, v = (p.reshape(num_heads, _T, -1) for p in proj)
    out, weights = scaled_dot_product_attention(q, k, v)
    return out.reshape(_T, -1) @ w_o, weights


def _mha_tokens_as_heads(x, w_q, w_k, w_v, w_o, num_heads):
    """The blog's reading: (T, H, d) used as if it were (H, T, d): each token's heads attend to each other."""
    q, k, v = ((x @ w).reshape(_T, num_heads, -1) for w in (w_q, w_k, w_v))
    out, weights = scaled_dot_product_attention(q, k, v)
    return out.reshape(_T, -1) @ w_o, weights


def _suspects():
    """For each role: how to call it, the right answer, and the known bugs with the evidence they leave."""
    x, heads, q, k, v = _test_data()
    d_k = q.shape[-1]
    width = x.shape[-1]
    raw = q @ np.swapaxes(k, -1, -2)                         # (H, T, S), unscaled
    p = _public_data()
    xc, ctx, w_q, w_k, w_v = p["x"], p["context"], p["w_q"], p["w_k"], p["w_v"]
    x_mha, w_mha = p["x_mha"], p["w_mha"]

    def attention_with(weights):
        return weights @ v, weights

    return {
        "impl_a": dict(
            role="split_heads", call=lambda f: f(x, _H), answer=given(split_heads(x, _H)),
            shown=f"x of shape {x.shape} with num_heads={_H}", helper="helpers.split_heads",
            bugs={
                "missing transpose": [x.reshape(_B, _T, _H, _D_HEAD), x.reshape(_B, _H, _T, _D_HEAD)],
                "wrong concatenation order": [np.moveaxis(x.reshape(_B, _T, _D_HEAD, _H), -1, -3)],
            }),
        "impl_b": dict(
            role="merge_heads", call=lambda f: f(heads), answer=given(merge_heads(heads)),
            shown=f"heads of shape {heads.shape}", helper="helpers.merge_heads",
            bugs={
                "wrong concatenation order": [np.swapaxes(heads, -3, -2).swapaxes(-2, -1).reshape(_B, _T, width)],
                "missing transpose": [heads.reshape(_B, _T, width)],
            }),
        "impl_c": dict(
            role="attention", call=lambda f: f(q, k, v), answer=attention(q, k, v),
            shown=f"q {q.shape}, k {k.shape} and v {v.shape}", helper="helpers.scaled_dot_product_attention",
            bugs={
                "wrong scale": [attention_with(_softmax_axis(raw / d_k, -1))],
                "wrong softmax axis": [attention_with(_softmax_axis(raw / np.sqrt(d_k), -2))],
            }),
        "impl_d": dict(
            role="cross-attention", call=lambda f: f(xc, ctx, w_q, w_k, w_v),
            answer=attention(given(xc) @ given(w_q), given(ctx) @ given(w_k), given(ctx) @ given(w_v)),
            shown=f"x of shape {xc.shape} (T = {_T}) and context of shape {ctx.shape} (S = {_S})",
            helper="helpers.scaled_dot_product_attention with the queries from x",
            bugs={"queries and keys swapped": [scaled_dot_product_attention(ctx @ w_q, xc @ w_k, xc @ w_v)]}),
        "impl_e": dict(
            role="multi-head attention", call=lambda f: f(x_mha, *w_mha, _H),
            answer=_mha_reference(x_mha, *w_mha, _H),
            shown=f"x of shape {x_mha.shape} with num_heads={_H}", helper="helpers.multi_head_attention",
            aliases={"wrong scale": "scaled by sqrt(d_model)"},
            bugs={
                "scaled by sqrt(d_model)": [tuple(r.value for r in _mha_reference(x_mha, *w_mha, _H,
                                                                                  scale=1 / np.sqrt(width)))],
                "missing transpose": [_mha_reshape_only(x_mha, *w_mha, _H), _mha_tokens_as_heads(x_mha, *w_mha, _H)],
            }),
        "impl_f": dict(
            role="mask for the heads", call=lambda f: f(p["mask"], _H), answer=np.repeat(p["mask"], _H, axis=0),
            mask=True, shown=f"a (B, T, S) = {p['mask'].shape} mask of two different sequences with num_heads={_H}",
            helper="the (B*H, T, S) layout with head h of sequence b in row b*H + h",
            bugs={"mask tiled across heads": [np.tile(p["mask"], (_H, 1, 1))]}),
        "impl_g": dict(
            role="KV-cache mask", call=lambda f: f(_N_NEW, _N_CACHED), answer=causal_mask(_N_NEW, _N_CACHED + _N_NEW),
            mask=True, shown=f"{_N_NEW} new tokens after {_N_CACHED} cached ones", helper="helpers.causal_mask",
            bugs={"mask not shifted by the cache": [np.tril(np.ones((_N_NEW, _N_CACHED + _N_NEW), dtype=bool)),
                                                    causal_mask(_N_NEW)]}),
        "impl_h": dict(
            role="projection", call=lambda f: f(p["x_in"], p["weight"]), answer=given(p["x_in"]) @ given(p["weight"]).T,
            shown=f"x of shape {p['x_in'].shape} and a weight of shape (d_out, d_in) = {p['weight'].shape}",
            helper="the projection by the stored (d_out, d_in) weight",
            square=dict(call=lambda f: f(p["x_in"], p["square"]), answer=given(p["x_in"]) @ given(p["square"]).T,
                        bugs={"transposed weight": [p["x_in"] @ p["square"]]}),
            bugs={}),
    }


def _same(result, expected, matches=close, mask=False):
    """True if ``result`` matches ``expected`` (an array, or an (out, weights) pair) in shape and values."""
    if isinstance(expected, tuple):
        return (isinstance(result, (tuple, list)) and len(result) == len(expected)
                and all(_same(r, e, matches) for r, e in zip(result, expected)))
    if mask:  # a boolean mask: exactly equal, whatever the dtype of True and False
        try:
            a = np.asarray(result)
        except Exception:
            return False
        return a.shape == np.shape(expected) and a.dtype.kind in "biuf" and np.array_equal(a != 0, expected)
    a, problem = as_answer_array(result, "result")
    return problem is None and matches(a, expected)


def _main(result):
    """The array to describe: the output itself, or the weights of an (out, weights) pair."""
    main = result[1] if isinstance(result, tuple) else result
    return main.value if hasattr(main, "value") else main


def _shape(a):
    try:
        return np.shape(a)
    except Exception:
        return "?"


def _evidence(name, suspect, result, label):
    """A hint that describes what the suspect does wrong, without naming the label."""
    if label == "no bug":
        return f"{name} agrees with {suspect['helper']} on {suspect['shown']}, where no two sizes are equal"
    role, shown, helper = suspect["role"], suspect["shown"], suspect["helper"]
    if role == "projection":
        return (f"on {shown} {name} raises an error, and with a square (d_in, d_in) weight it runs but gives other "
                f"numbers than {helper}: look at which axis of the weight it sums over with x")
    got, want = _main(result), _main(suspect["answer"])
    got = np.asarray(got) if not isinstance(got, np.ndarray) else got
    want = np.asarray(want)
    if label == "missing transpose" and role == "split_heads":
        return (f"on {shown} {name} returns shape {got.shape}, but {helper} returns {want.shape}: look at which "
                f"axis counts the heads")
    if label == "missing transpose" and role == "multi-head attention":
        if got.shape != want.shape:
            return (f"on {shown} {name}'s weights have shape {got.shape}, but {helper}'s have {want.shape}: "
                    f"look at which axis counts the heads when it attends")
        return (f"on {shown} {name} returns the right shapes but not {helper}'s numbers: look at how it cuts the "
                f"projections into heads and glues them back; a reshape never moves a number")
    if label == "missing transpose":
        return (f"on {shown} {name} returns the right shape {want.shape}, but row 0 holds the numbers "
                f"of head 0 for the first {_H} positions: it regroups the numbers without moving the T axis "
                f"in front of H")
    if label == "wrong concatenation order":
        return (f"on {shown} {name} returns the right shape {want.shape} but the right numbers in the "
                f"wrong places: print merged[0, 0] (batch 0, token 0) next to {helper}'s, where "
                f"head 0's d numbers come first as one block, then head 1's")
    if label in ("wrong scale", "scaled by sqrt(d_model)"):
        return (f"on {shown} {name}'s weights have the right shape {want.shape} and rows that sum to 1, "
                f"but they are flatter (largest weight {got.max():.3f}, the helper's {want.max():.3f}): "
                f"compare what it divides the scores by" + (" with the width of one head" if role ==
                                                           "multi-head attention" else ""))
    if label == "wrong softmax axis":
        return f"on {shown} the columns of {name}'s weights sum to 1, not the rows"
    if label == "queries and keys swapped":
        out = result[0] if isinstance(result, (tuple, list)) else None
        return (f"on {shown} {name} returns weights of shape {got.shape} and an output of shape "
                f"{_shape(out)}: one row per token of the context, where each token of x should get one")
    if label == "mask tiled across heads":
        return (f"on {shown} {name} returns the right shape {want.shape}, but row 1 (sequence 0, head 1) holds the "
                f"mask of sequence 1: look at the order of the copies")
    if label == "mask not shifted by the cache":
        if got.shape != want.shape:
            return (f"for {shown} {name} returns shape {got.shape}, which leaves out the {_N_CACHED} cached keys: "
                    f"the scores have shape {want.shape}")
        return (f"for {shown} {name} lets the newest token see {int(np.asarray(got, bool)[-1].sum())} of the "
                f"{want.shape[1]} keys, where it should see all of them: look at where the triangle sits")
    return f"{name} does not match {helper}"


def _diagnose(name, suspect, fn):
    """Return (label or None, result or an error message)."""
    if not callable(fn):
        return None, f"{name} is {brief(fn)}, not a function"
    mask = suspect.get("mask", False)
    try:
        result = suspect["call"](fn)
    except Exception as error:  # a suspect that crashes is diagnosed, not propagated
        square = suspect.get("square")
        if square is not None:  # a transposed weight only runs when the weight is square
            try:
                result_sq = square["call"](fn)
            except Exception:
                pass
            else:
                for label, variants in square["bugs"].items():
                    if any(_same(result_sq, wrong, resembles) for wrong in variants):
                        return label, result_sq
        return None, f"{name} raised {type(error).__name__}: {str(error)[:80]}"
    if _same(result, suspect["answer"], mask=mask):
        return "no bug", result
    for label, variants in suspect["bugs"].items():
        if any(_same(result, wrong, resembles, mask=mask) for wrong in variants):
            return label, result
    return None, result


def _listed(names):
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


@exercise_check
def check_spot_the_bug(answer, impl_a=None, impl_b=None, impl_c=None, *, impl_d=None, impl_e=None, impl_f=None,
                       impl_g=None, impl_h=None):
    """Check a diagnosis of suspect implementations of the steps of multi-head attention.

    The check runs each implementation on test data where no two sizes are
    equal (B=2, H=3, T=5, S=7, d=4, d_in=6, d_out=4), compares it with the
    helpers and with the known bugs, and so finds out itself what each one
    gets wrong. Pass only the suspects of the exercise; each keyword has a
    fixed role (:data:`ROLES`).

    Parameters
    ----------
    answer : dict or None
        One label of :data:`BUG_LABELS` for each suspect passed, e.g.
        ``{"impl_a": label, "impl_b": label, "impl_c": label}``.
    impl_a : callable, optional
        A candidate ``split_heads(x, num_heads)``: (B, T, H*d) -> (B, H, T, d).
    impl_b : callable, optional
        A candidate ``merge_heads(heads)``: (B, H, T, d) -> (B, T, H*d).
    impl_c : callable, optional
        A candidate attention ``f(q, k, v) -> (out, weights)`` with q (H, T, d),
        k (H, S, d), v (H, S, d_v).
    impl_d : callable, optional
        A candidate cross-attention ``f(x, context, w_q, w_k, w_v) -> (out, weights)``
        with x (T, D), context (S, D): the queries come from x.
    impl_e : callable, optional
        A candidate multi-head attention ``f(x, w_q, w_k, w_v, w_o, num_heads) -> (out, weights)``
        with x (T, D), every weight (D, D), weights (H, T, T).
    impl_f : callable, optional
        A candidate ``f(mask, num_heads)`` that expands a (B, T, S) mask to the
        (B*H, T, S) layout in which row b*H + h is head h of sequence b.
    impl_g : callable, optional
        A candidate ``f(n_new, n_cached)`` giving the (n_new, n_cached + n_new)
        causal mask of a KV-cache step (True = may attend).
    impl_h : callable, optional
        A candidate ``f(x, weight)`` projecting x (T, d_in) by a weight stored
        (d_out, d_in), as PyTorch's ``nn.Linear`` stores it.

    Returns
    -------
    Verdict
        Truthy when every label is right; otherwise names the first wrong one
        with evidence (a shape, a misplaced block, flatter weights) but not the
        answer.

    Used in Chapter 6.
    """
    functions = {name: fn for name, fn in dict(impl_a=impl_a, impl_b=impl_b, impl_c=impl_c, impl_d=impl_d,
                                                 impl_e=impl_e, impl_f=impl_f, impl_g=impl_g, impl_h=impl_h).items()
                 if fn is not None}
    if answer is None:
        return report(False, NOT_ATTEMPTED)
    if not functions:
        return report(False, "pass the suspect implementations to the check too, e.g. "
                             "check_spot_the_bug(answer, split_a, merge_b, attend_c).")
    names = list(functions)
    if not isinstance(answer, dict):
        return report(False, not_a(answer, "answer", f"a dict with one label for each of {_listed(names)}"))
    unknown = [key for key in answer if key not in functions]
    if unknown:
        return report(False, f"answer has the key {brief(unknown[0])}; use only the keys {_listed(names)}.")
    missing = [name for name in names if answer.get(name) is None]
    if len(missing) == len(names):
        return report(False, NOT_ATTEMPTED)
    if missing:
        return report(False, f"answer has no diagnosis for {' and '.join(missing)} yet: give one label for each of "
                             f"{_listed(names)}.")
    suspects = _suspects()
    labels = {}
    for name in names:
        label = answer[name].strip().lower() if isinstance(answer[name], str) else None
        if label not in BUG_LABELS:
            offered = sorted({"no bug"} | {b for n in names for b in suspects[n]["bugs"]}
                             | {b for n in names for b in suspects[n].get("square", {}).get("bugs", {})},
                             key=BUG_LABELS.index)
            return report(False, f"answer[{name!r}] = {brief(answer[name])} is not one of the labels: "
                                 f"{', '.join(repr(b) for b in offered)}.")
        labels[name] = label
    findings = []
    for name in names:
        suspect = suspects[name]
        found, result = _diagnose(name, suspect, functions[name])
        if found is None:
            detail = result if isinstance(result, str) else f"{name} does not match {suspect['helper']} or a known bug"
            return report(False, f"{detail}; the check cannot judge it. Pass the implementations from the "
                                  "notebook unchanged.")
        given_label = suspect.get("aliases", {}).get(labels[name], labels[name])
        if given_label != found:
            verdict = "is not bug-free" if labels[name] == "no bug" else f"is not '{labels[name]}'"
            return report(False, f"{name} {verdict}: {_evidence(name, suspect, result, found)}.")
        findings.append(f"{name}: {found}")
    return report(True, "Correct: " + "; ".join(findings) + ". Each bug runs without an error on some sizes; only "
                                                             "a comparison with a reference, on sizes where no two "
                                                             "are equal, exposes it.")


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
                         f"h*{d} to (h+1)*{d} - 1 of every token.", f"Head h of token t holds that token's columns h*{d} to (h+1)*{d} - 1, the same "
                                               "block for every token.")


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
