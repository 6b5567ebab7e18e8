"""Exercise checks on the transformer block: RMSNorm, the pre-norm block, its parameters (chapter 8).

The expected answers come from the formulas of the chapter, evaluated with
the rounding bounds of :mod:`helpers.exercises._verdict`, and the typical
slips are computed with the course's own helpers (:func:`helpers.rms_norm`,
:func:`helpers.transformer_block`, :func:`helpers.block.block_attention`,
:func:`helpers.feed_forward`), so a check and the book cannot disagree. Each
check recognises the usual slips (LayerNorm's mean subtracted, eps left out,
the norm after the residual instead of before the sublayer, the MLP reading
the block's input, grouped-query attention counted as ordinary attention,
two matrices for SwiGLU, ...) and names them.
"""

import numpy as np

from ..block import block_attention, feed_forward, transformer_block
from ..masks import causal_mask
from ..norms import rms_norm
from ._verdict import (NOT_ATTEMPTED, as_answer_array, attention, close, exactly, exercise_check, given, read_number,
                       report, resembles, shape_mismatch, show)

__all__ = ["check_rms_norm", "check_pre_norm_block", "check_block_param_split"]


# ---------------------------------------------------------------- RMSNorm by hand

def _rms_reference(x, gamma, eps):
    """``x / sqrt(mean(x**2) + eps) * gamma`` over the last axis, as a Reference (x and gamma References)."""
    d = x.shape[-1]
    mean_square = (x * x).sum(axis=-1, keepdims=True) / exactly(d)  # (..., 1)
    return x / (mean_square + given(eps)) ** exactly(0.5) * gamma


def _rms_slips(x, gamma, eps):
    """The usual wrong RMSNorms of ``x`` (T, D), each with the sentence that names it, in float64."""
    d = x.shape[-1]
    ms = np.mean(x * x, axis=-1, keepdims=True)  # (T, 1)
    centred = x - x.mean(axis=-1, keepdims=True)
    with np.errstate(all="ignore"):
        return [
            (centred / np.sqrt(np.mean(centred ** 2, axis=-1, keepdims=True) + eps) * gamma,
             "each row's mean was subtracted first: that is LayerNorm. RMSNorm only divides by the root mean "
             "square, so a row keeps its mean.",
             "Divide each row by sqrt(mean of its squares + eps), then multiply by the gain."),
            (x / np.sqrt(ms + eps),
             "the gain gamma is missing: after dividing by the root mean square, each column is multiplied by "
             "its learned gain.", None),
            (x / np.sqrt(np.mean(x * x, axis=0, keepdims=True) + eps) * gamma,
             "the mean of the squares was taken over the tokens (axis 0), so each feature column got its own "
             "scale. RMSNorm scales each token's vector on its own: the mean runs along the last axis.",
             "Each row of x is one token; its D numbers share one divisor."),
            (x / (ms + eps) * gamma,
             "the rows were divided by the mean square; RMSNorm divides by its square root, the root mean "
             "square.", None),
            (x / np.sqrt(d * ms + eps) * gamma,
             f"the rows were divided by their length (the square root of the sum of the squares), so they come "
             f"out sqrt(D) = {np.sqrt(d):.4g} times too small: RMSNorm takes the mean of the D squares, not "
             f"their sum.", None),
            (x / (np.sqrt(ms) + eps) * gamma,
             "eps was added after the square root; it belongs under it: sqrt(mean(x**2) + eps).", None),
            (x * gamma / np.sqrt(np.mean((x * gamma) ** 2, axis=-1, keepdims=True) + eps),
             "the gain was applied before the division: RMSNorm first divides each row by its own root mean "
             "square, then multiplies by gamma.", None),
        ]


@exercise_check
def check_rms_norm(answer, x, gamma, eps=1e-5):
    """Check RMSNorm by hand: ``x / sqrt(mean(x**2, axis=-1) + eps) * gamma``, one row (token) at a time.

    This is :func:`helpers.rms_norm`, Llama's and SmolLM2's norm.

    Parameters
    ----------
    answer : array_like or None
        The learner's answer, shape (T, D).
    x : array_like, shape (T, D)
        Token vectors; a row of zeros (a padding vector, say) shows why eps is there.
    gamma : array_like, shape (D,)
        The gain.
    eps : float, default 1e-5

    Returns
    -------
    Verdict
        Truthy when right; otherwise names the slip (LayerNorm's mean
        subtracted, no gain, the mean over the wrong axis, no square root,
        the length instead of the root mean square, eps left out or outside
        the root, the gain applied first, NaN from a row of zeros, one number
        per row, a wrong shape).

    Used in Chapter 8.
    """
    if answer is None:
        return report(False, NOT_ATTEMPTED)
    x, gamma = np.asarray(x), np.asarray(gamma)
    x64, g64 = x.astype(np.float64), gamma.astype(np.float64)
    expected = _rms_reference(given(x), given(gamma), eps)
    a, problem = as_answer_array(answer, "y", finite=False)
    if problem:
        return report(False, problem)
    t, d = x.shape
    if a.shape != x.shape:
        return shape_mismatch("y", a.shape, x.shape, "(T, D)", [
            ((t, 1), ": one number per token. That is each row's root mean square (or its inverse); RMSNorm "
                     "divides each row by it and multiplies by the gain, so y has the shape of x"),
            ((t,), ": one number per token. That is each row's root mean square (or its inverse); RMSNorm "
                   "divides each row by it and multiplies by the gain, so y has the shape of x"),
            ((d, t), ": one column per token, but the course keeps one row per token"),
        ])
    zero_rows = np.flatnonzero(~x64.any(axis=-1))
    if not np.all(np.isfinite(a)):
        bad = np.flatnonzero(~np.isfinite(a).all(axis=-1))
        if len(zero_rows) and set(bad) <= set(zero_rows):
            rows = ", ".join(map(str, bad))
            return report(False, f"y has NaN in row {rows}, where x is all zeros: without eps the division is "
                                 "0 / 0. eps keeps the denominator above zero, so a row of zeros stays zeros.",
                          "Add eps to the mean of the squares, under the square root.")
        return report(False, "y contains NaN or inf: check your arithmetic.")
    if close(a, expected):
        kept = f" Row {zero_rows[0]}, all zeros, stays zeros thanks to eps." if len(zero_rows) else ""
        return report(True, f"Correct: y has shape {expected.shape}; every row was divided by its own root mean "
                            f"square, then each of the D = {d} columns multiplied by its gain.{kept}")
    with np.errstate(all="ignore"):
        no_eps = x64 / np.sqrt(np.mean(x64 * x64, axis=-1, keepdims=True)) * g64
    if np.all(np.isfinite(no_eps)) and close(a, _rms_reference(given(x), given(gamma), 0.0)):
        return report(False, "y is right except for eps: it is missing under the square root. It matters "
                             "little here, but a row of zeros would give 0 / 0 = NaN without it.")
    for candidate, message, hint in _rms_slips(x64, g64, eps):
        if np.all(np.isfinite(candidate)) and resembles(a, candidate):
            return report(False, f"y has the right shape {expected.shape}, but {message}", hint)
    diff = np.abs(a - expected.value)
    return report(False, f"y has the right shape {expected.shape} but wrong values (off by up to {diff.max():.3g}).",
                  "For each row: the mean of its D squares, plus eps, its square root; divide the row by that, "
                  "then multiply by gamma.")


# ---------------------------------------------------------------- a pre-norm block from its sublayers

def _silu(z):
    return z * (0.5 + 0.5 * np.tanh(0.5 * z))


def _silu_slope(z):
    s = 0.5 + 0.5 * np.tanh(0.5 * z)
    return s * (1 + z * (1 - s))


def _block_reference(x, p, h, h_kv, eps, causal):
    """The pre-norm RMSNorm/SwiGLU block as a Reference (no RoPE): the expected answer and its rounding bound."""
    t = x.shape[0]
    d = p["w_q"].shape[1] // h
    stream = given(x)
    normed = _rms_reference(stream, given(p["attn_norm"]), eps)  # (T, D)
    q = (normed @ given(p["w_q"])).reshape(t, h, d).swapaxes(0, 1)  # (H, T, d)
    k, v = ((normed @ given(p[name])).reshape(t, h_kv, d).swapaxes(0, 1) for name in ("w_k", "w_v"))  # (H_kv, T, d)
    kv_of = np.arange(h) // (h // h_kv)  # query head -> its kv head
    heads, _ = attention(q, k[kv_of], v[kv_of], mask=causal_mask(t) if causal else None)  # (H, T, d)
    stream = stream + heads.swapaxes(0, 1).reshape(t, h * d) @ given(p["w_o"])  # x + attention(norm(x))
    normed = _rms_reference(stream, given(p["ffn_norm"]), eps)
    gate, up = normed @ given(p["w_gate"]), normed @ given(p["w_up"])  # (T, F)
    silu = gate.apply(_silu, _silu_slope, size=np.abs)  # silu(z) = z sigmoid(z): terms at most |z|
    return stream + (silu * up) @ given(p["w_down"])  # + mlp(norm(...))


def _block_slips(x, p, h, h_kv, eps, causal):
    """The usual wrong blocks, each with the sentence that names it (and a hint), computed with the helpers."""
    def attend(z, masked=causal):
        return block_attention(z, p, num_heads=h, num_kv_heads=h_kv, causal=masked)[0]

    def mlp(z):
        return feed_forward(z, p, ffn="swiglu")

    def norm(z, which):
        return rms_norm(z, p[which], eps)

    def block(first="attn_norm", second="ffn_norm", masked=causal):
        stream = x + attend(norm(x, first), masked)
        return stream + mlp(norm(stream, second))

    after_attention = x + attend(norm(x, "attn_norm"))
    post = transformer_block(x, p, norm_position="post", norm="rms", ffn="swiglu", num_heads=h, num_kv_heads=h_kv,
                             eps=eps, causal=causal)[0]
    return [
        (post, "the norms come after the residual additions, x = norm(x + f(x)): that is post-norm (BERT). In a "
               "pre-norm block each sublayer reads a normalised copy, x = x + f(norm(x)), and the stream itself "
               "is never normalised.", "The norm sits on the branch, before the sublayer; the addition comes last."),
        (after_attention + mlp(norm(x, "ffn_norm")),
         "the MLP read the block's input x instead of the stream after attention. Adding both sublayers to x is "
         "the parallel block of GPT-J and PaLM; Llama's block is sequential: the MLP sees what attention wrote.",
         None),
        (mlp(norm(attend(norm(x, "attn_norm")), "ffn_norm")),
         "the residual additions are missing: each sublayer's output is added to the stream it read from, "
         "x + f(norm(x)); on its own, the output replaces the stream.", None),
        (block(masked=not causal),
         "the attention had no causal mask, so every token also read the tokens after it; a Llama block is "
         "causal (causal=True)." if causal else
         "the attention was causal, but this block's is not: every token may read every other one.", None),
        (block("ffn_norm", "attn_norm"),
         "the two gains are swapped: attn_norm goes before attention, ffn_norm before the MLP.", None),
        (after_attention,
         "that is the stream after the attention sublayer only; the MLP sublayer comes next, with its own norm "
         "and its own residual addition.", None),
        (after_attention + mlp(after_attention),
         "the MLP read the stream without its norm: in a pre-norm block both sublayers read a normalised copy, "
         "the MLP through ffn_norm.", None),
        (norm(block(), "ffn_norm"),
         "the block ends with a norm of the stream; in a pre-norm block the stream is never normalised inside "
         "the blocks (Llama has one final norm after the last block).", None),
    ]


@exercise_check
def check_pre_norm_block(answer, x, params, num_heads, num_kv_heads=None, eps=1e-5, causal=True):
    """Check a pre-norm block built by hand from its two sublayers (RMSNorm, attention, SwiGLU; no RoPE).

    The expected answer is Llama's block without RoPE::

        h = x + attention(rms_norm(x, attn_norm))
        y = h + swiglu(rms_norm(h, ffn_norm))

    the same numbers as :func:`helpers.transformer_block` with
    ``norm_position="pre", norm="rms", ffn="swiglu"``.

    Parameters
    ----------
    answer : array_like or None
        The learner's answer, shape (T, D).
    x : array_like, shape (T, D)
        The residual stream entering the block.
    params : dict
        ``w_q`` (D, H*d), ``w_k``, ``w_v`` (D, H_kv*d), ``w_o`` (H*d, D),
        ``w_gate``, ``w_up`` (D, F), ``w_down`` (F, D), ``attn_norm`` and
        ``ffn_norm`` (D,).
    num_heads : int
        H.
    num_kv_heads : int, optional
        H_kv (default H).
    eps : float, default 1e-5
    causal : bool, default True
        Whether the attention is causal, as in a decoder.

    Returns
    -------
    Verdict
        Truthy when right; otherwise names the slip (post-norm, the parallel
        block, no residual additions, no causal mask, the two gains swapped,
        the attention sublayer only, the MLP without its norm, a final norm,
        a wrong shape).

    Used in Chapter 8.
    """
    if answer is None:
        return report(False, NOT_ATTEMPTED)
    x = np.asarray(x)
    h = int(num_heads)
    h_kv = h if num_kv_heads is None else int(num_kv_heads)
    expected = _block_reference(x, params, h, h_kv, eps, causal)
    a, problem = as_answer_array(answer, "y")
    if problem:
        return report(False, problem)
    t, d = x.shape
    f = np.shape(params["w_gate"])[1]
    if a.shape != x.shape:
        return shape_mismatch("y", a.shape, x.shape, "(T, D)", [
            ((t, f), ": the MLP's hidden units, before w_down brings them back to D"),
            ((h, t, t), ": the attention weights; the block returns the stream, the same shape as x"),
            ((d, t), ": one column per token, but the course keeps one row per token"),
        ])
    if close(a, expected):
        return report(True, f"Correct: y has shape {expected.shape}. Each sublayer read a normalised copy of the "
                            "stream and added its output to it: first attention, then the MLP, which saw what "
                            "attention wrote.")
    x64 = x.astype(np.float64)
    p64 = {name: np.asarray(value, dtype=np.float64) for name, value in params.items()}
    for candidate, message, hint in _block_slips(x64, p64, h, h_kv, eps, causal):
        if resembles(a, candidate):
            return report(False, f"y has the right shape {expected.shape}, but {message}", hint)
    diff = np.abs(a - expected.value)
    return report(False, f"y has the right shape {expected.shape} but wrong values (off by up to {diff.max():.3g}).",
                  "Two lines: h = x + attention(norm(x)), then y = h + mlp(norm(h)), each norm with its own gain.")


# ---------------------------------------------------------------- where the parameters of a block sit

def _split(D, F, h, h_kv, ffn, bias):
    """(attention, mlp) parameter counts of one block, without the norms."""
    d = D // h
    attention_count = D * h * d + 2 * D * h_kv * d + h * d * D + ((h + 2 * h_kv) * d + D if bias else 0)
    if ffn == "swiglu":
        mlp = 3 * D * F + (2 * F + D if bias else 0)
    else:
        mlp = 2 * D * F + (F + D if bias else 0)
    return attention_count, mlp


@exercise_check
def check_block_param_split(attention_count, mlp_count, d_model, d_ff, num_heads, num_kv_heads=None, ffn="swiglu",
                            bias=False):
    """Check the parameters of one block's attention sublayer and MLP sublayer (the norms not counted).

    Attention: ``W_q`` (D, H d), ``W_k`` and ``W_v`` (D, H_kv d), ``W_o``
    (H d, D), and their biases if ``bias``. MLP: three (D, F)-sized matrices
    for SwiGLU (``w_gate``, ``w_up``, ``w_down``), two for GELU
    (``w_ff_in``, ``w_ff_out``), and their biases if ``bias``.

    Parameters
    ----------
    attention_count, mlp_count : int or None
        The learner's two answers.
    d_model : int
        D.
    d_ff : int
        F, the MLP's hidden width.
    num_heads : int
        H (d = D / H).
    num_kv_heads : int, optional
        H_kv (default H).
    ffn : {"swiglu", "gelu"}, default "swiglu"
    bias : bool, default False
        Whether the projections have biases (BERT: yes; Llama: no).

    Returns
    -------
    Verdict
        Truthy when both counts are right; otherwise names the slip in the
        first wrong one (grouped-query attention counted as four D x D
        matrices, the answers swapped, two matrices for SwiGLU, 4D for F,
        biases where there are none or none where there are, a norm's gain
        counted).

    Used in Chapter 8.
    """
    if attention_count is None and mlp_count is None:
        return report(False, NOT_ATTEMPTED)
    if attention_count is None or mlp_count is None:
        missing = "attention_count" if attention_count is None else "mlp_count"
        return report(False, f"{missing} is still None: give both numbers.")
    att, problem = read_number(attention_count, "attention_count", whole=True)
    if problem:
        return report(False, problem)
    mlp, problem = read_number(mlp_count, "mlp_count", whole=True)
    if problem:
        return report(False, problem)
    D, F, h = int(d_model), int(d_ff), int(num_heads)
    h_kv = h if num_kv_heads is None else int(num_kv_heads)
    d = D // h
    want_att, want_mlp = _split(D, F, h, h_kv, ffn, bias)
    n_mat = 3 if ffn == "swiglu" else 2
    if att == want_att and mlp == want_mlp:
        share = want_mlp / (want_att + want_mlp)
        return report(True, f"Correct: attention {want_att:,}, MLP {want_mlp:,}: the MLP holds {share:.1%} of the "
                            f"block's projection parameters ({n_mat} matrices of {D} x {F}).")
    if att == want_mlp and mlp == want_att:
        return report(False, "The two numbers are swapped: attention_count is W_q, W_k, W_v and W_o; mlp_count is "
                             "the feed-forward matrices.")
    if att != want_att:
        flip = _split(D, F, h, h_kv, ffn, not bias)[0]
        if h_kv != h and att in (4 * D * D, 4 * D * D + 4 * D):
            return report(False, f"attention_count = {show(att)} counts W_k and W_v as {D} x {D}, but with "
                                 f"grouped-query attention they have only H_kv = {h_kv} heads of d = {d}: "
                                 f"{D} x {h_kv * d} each.", "W_q and W_o keep all H heads; W_k and W_v do not.")
        if att == flip:
            return report(False, f"attention_count = {show(att)} "
                                 + ("leaves out the biases: each projection here has one, as many numbers as it "
                                    "has outputs." if bias else "counts biases, but these projections have none."))
        if att in (want_att + D, want_att + 2 * D):
            return report(False, f"attention_count = {show(att)} includes a norm's gain ({D} numbers); the norms are "
                                 "not counted here, only the four projections.")
        if att in (want_att - h * d * D, want_att - h * d * D - D):
            return report(False, f"attention_count = {show(att)} leaves out W_o ({h * d} x {D}): the output "
                                 "projection writes the heads back into the stream, and it is part of attention.")
        return report(False, f"attention_count = {show(att)} is not right: W_q is {D} x {h * d}, W_k and W_v are "
                             f"{D} x {h_kv * d}, W_o is {h * d} x {D}" + (", and each has a bias." if bias else "."))
    flip = _split(D, F, h, h_kv, ffn, not bias)[1]
    other = _split(D, F, h, h_kv, "gelu" if ffn == "swiglu" else "swiglu", bias)[1]
    if mlp == other:
        return report(False, f"mlp_count = {show(mlp)} counts the wrong number of matrices: {5 - n_mat} of {D} x {F}, "
                             + ("but SwiGLU has three: w_gate and w_up, which go up to F, and w_down, which comes "
                                "back." if ffn == "swiglu" else "but a GELU MLP has two: one up to F, one back to D."))
    if mlp == flip:
        return report(False, f"mlp_count = {show(mlp)} "
                             + ("leaves out the biases of the MLP's matrices." if bias else
                                "counts biases, but these matrices have none."))
    if F != 4 * D and mlp == _split(D, 4 * D, h, h_kv, ffn, bias)[1]:
        return report(False, f"mlp_count = {show(mlp)} uses a hidden width of 4D = {4 * D}; this model's F is {F}.")
    if mlp in (want_mlp + D, want_mlp + 2 * D):
        return report(False, f"mlp_count = {show(mlp)} includes a norm's gain ({D} numbers); the norms are not "
                             "counted here.")
    return report(False, f"mlp_count = {show(mlp)} is not right: {n_mat} matrices of {D} x {F}"
                         + (", with their biases." if bias else "."))
