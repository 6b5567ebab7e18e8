"""Exercise checks on running a whole language model: generation and the KV cache (chapter 13).

The expected answers come from the course's own code (the chat template of
:func:`helpers.checkpoints.smollm2_chat_prompt`, the SwiGLU of
:func:`helpers.smollm2.mlp_block`, the loop of :func:`helpers.smollm2.generate`),
so a check and the book cannot disagree. Each check recognises the usual
slips (the argmax of the wrong row or axis, an off-by-one in the number of
token passes, a chat prompt without its system message or generation prompt,
sigmoid in place of silu, gate and up swapped, ...) and names them.
"""

import numpy as np

from ..checkpoints import smollm2_chat_prompt
from ._verdict import (NOT_ATTEMPTED, as_answer_array, close, distinct, exercise_check, given, kind, read_number,
                       report, resembles, show, wrong_kind)

__all__ = ["check_greedy_next_id", "check_token_passes", "check_chat_prompt", "check_swiglu"]


# ---------------------------------------------------------------- one greedy step

@exercise_check
def check_greedy_next_id(answer, logits):
    """Check one step of greedy decoding: the id of the largest logit at the last position.

    Parameters
    ----------
    answer : int or None
        The learner's answer, one token id.
    logits : array_like, shape (T, n_vocab)
        Next-token logits of T positions over a vocabulary of n_vocab tokens, as
        returned by :func:`helpers.smollm2.forward`.

    Returns
    -------
    Verdict
        Truthy when ``answer == logits[-1].argmax()``; otherwise names the
        slip (the first position, the argmax over the wrong axis or of the
        flattened array, one id per position, the largest value instead of
        its index, argmin).

    Used in Chapter 13.
    """
    if answer is None:
        return report(False, NOT_ATTEMPTED)
    logits = np.asarray(logits, dtype=float)
    t, v = logits.shape
    expected = int(logits[-1].argmax())
    a, problem = as_answer_array(answer, "next_id", finite=False)
    if problem is None and a.size != 1:
        if a.shape == (v,) and np.array_equal(a, logits.argmax(axis=0)):
            return report(False, f"next_id has shape {a.shape}: that is the argmax over axis 0, the positions, "
                                 "once per vocabulary entry; the choice is among the vocabulary.",
                          "The vocabulary is the last axis.")
        if a.shape == (t,) and np.array_equal(a, logits.argmax(axis=-1)):
            return report(False, f"next_id has shape {a.shape}: one best id per position, but only the last position "
                                 "predicts the token after the text.")
        return report(False, f"next_id has shape {a.shape}: give a single token id (an int).")
    value, problem = read_number(answer, "next_id")
    if problem:
        return report(False, problem)
    if not float(value).is_integer():
        if resembles(value, logits[-1].max()):
            return report(False, f"{value:.4g} is the largest logit itself, not its position: a token id is the "
                                 "index of that logit.", "numpy's argmax gives the position of the largest entry.")
        return report(False, f"next_id = {show(value)} is not a whole number: a token id is an index into the "
                             "vocabulary.")
    got = int(value)
    last = "Only the last position predicts the token after the text."
    if got == expected:
        return report(True, f"Correct: token id {expected}, the largest of the n_vocab = {v} logits at the last position "
                            "(softmax first would pick the same id: it keeps the order).")
    if got == int(logits.argmax()) and got >= v:
        return report(False, f"{got} is the argmax of the flattened (T, n_vocab) array, an index into all T * n_vocab = {t * v} "
                             "numbers, not into the vocabulary of one position.", last)
    if got == int(logits[0].argmax()):
        return report(False, f"{got} is the best id at the first position, which predicts the second token of the "
                             "prompt; the token after the text comes from the last position.")
    if t > 2 and got == int(logits[-2].argmax()):
        return report(False, f"{got} is the best id at the second-to-last position; the token after the text comes "
                             "from the last one.")
    if got == int(logits[-1].argmin()):
        return report(False, f"{got} is the id of the smallest logit (argmin): greedy decoding takes the largest.")
    if not 0 <= got < v:
        return report(False, f"{show(got)} is not a token id: ids run from 0 to n_vocab - 1 = {v - 1}.")
    mine, top = distinct(logits[-1, got], logits[-1].max())
    return report(False, f"{got} is not the id of the largest logit at the last position: "
                         f"its logit is {mine}, the largest is {top}.")


# ---------------------------------------------------------------- counting token passes

@exercise_check
def check_token_passes(with_cache, without_cache, prompt_len, new_tokens):
    """Check the number of token passes of greedy generation, with and without a KV cache.

    A token pass is one token going through the whole model once. As in
    :func:`helpers.smollm2.generate`, with n_prompt prompt tokens and n_new
    new tokens:

    * with the cache, the prompt goes through once (n_prompt passes), then
      each of the first n_new - 1 new tokens goes through alone; the last new
      token is never fed back: ``n_prompt + n_new - 1``;
    * without it, step i (i = 0 .. n_new - 1) reruns all n_prompt + i tokens
      so far: ``n_new * n_prompt + n_new * (n_new - 1) / 2``.

    Parameters
    ----------
    with_cache, without_cache : int or None
        The learner's two answers.
    prompt_len : int
        n_prompt.
    new_tokens : int
        n_new.

    Returns
    -------
    Verdict
        Truthy when both are right; otherwise names the slip in the first
        wrong one (the last token fed back, the prompt forgotten, a text
        that does not grow, counting from an empty text, ...).

    Used in Chapter 13.
    """
    if with_cache is None and without_cache is None:
        return report(False, NOT_ATTEMPTED)
    if with_cache is None or without_cache is None:
        missing = "with_cache" if with_cache is None else "without_cache"
        return report(False, f"{missing} is still None: give both numbers.")
    w, problem = read_number(with_cache, "with_cache", whole=True)
    if problem:
        return report(False, problem)
    wo, problem = read_number(without_cache, "without_cache", whole=True)
    if problem:
        return report(False, problem)
    p, n = int(prompt_len), int(new_tokens)
    exp_w, exp_wo = p + n - 1, n * p + n * (n - 1) // 2
    each_step = "Step i (counting from 0) reruns the prompt and the i tokens generated before it."
    if w != exp_w:
        once = "With the cache, the prompt goes through once, then each new token that is fed back goes through once."
        if w == p + n:
            return report(False, f"with_cache = {w} feeds the last new token back in too, but generation stops as "
                                 "soon as it is picked: nothing reads its output.", once)
        if w in (n, n - 1):
            return report(False, f"with_cache = {w} leaves out the prompt: the first step (the prefill) runs all "
                                 f"{p} prompt tokens through the model once.", once)
        if w == p:
            return report(False, f"with_cache = {w} counts only the prefill: each new token after the first one "
                                 "also goes through the model once.", once)
        if w == exp_wo:
            return report(False, f"with_cache = {w} is the count without a cache: with it, each step feeds only "
                                 "the newest token.", once)
        return report(False, f"with_cache = {show(w)} is not right: count the prefill, then the passes of the new "
                             "tokens that are fed back.", once)
    if wo != exp_wo:
        if wo == n * p + n * (n + 1) // 2:
            return report(False, f"without_cache = {wo} is one token too long at every step: the first step runs "
                                 "the prompt alone.", each_step)
        if wo == n * p:
            return report(False, f"without_cache = {wo} runs every step at the prompt's length, but the text grows "
                                 "by one token at every step, and each step reruns all of it.", each_step)
        if wo == n * (p + n):
            return report(False, f"without_cache = {wo} counts every step at the final length, but the text only "
                                 "reaches it at the end: it grows by one token per step.", each_step)
        if wo in ((p + n) * (p + n + 1) // 2, (p + n - 1) * (p + n) // 2):
            return report(False, f"without_cache = {wo} counts from an empty text (1 + 2 + 3 + ...), but the whole "
                                 "prompt is there from the first step on.", each_step)
        if wo == exp_w:
            return report(False, f"without_cache = {wo} is the count with a cache: without it, every step reruns "
                                 "the whole text so far.", each_step)
        return report(False, f"without_cache = {show(wo)} is not right: without a cache, every step reruns the "
                             "whole text so far.", each_step + " Add the steps up.")
    return report(True, f"Correct: {exp_w} passes with the cache (n_prompt + n_new - 1) and {exp_wo:,} without "
                        f"(n_new n_prompt + n_new (n_new - 1) / 2), {exp_wo / exp_w:.1f} times as many.")


# ---------------------------------------------------------------- the chat template

def _first_difference(a, b):
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return i, a[max(0, i - 12):i + 12], b[max(0, i - 12):i + 12]


@exercise_check
def check_chat_prompt(text, user_message, system=None):
    """Check a prompt written by hand in SmolLM2-Instruct's chat template, ready for the answer.

    Parameters
    ----------
    text : str or None
        The learner's prompt.
    user_message : str
        The one user turn.
    system : str, optional
        The system message (default: the template's default system message).

    Returns
    -------
    Verdict
        Truthy when ``text`` equals :func:`helpers.checkpoints.smollm2_chat_prompt`;
        otherwise names the slip (no generation prompt, no newline after
        ``assistant``, no system message or the default one in place of the
        given one, missing newlines between turns) or shows where the text
        first differs (the template's text there comes with ``hint=True``).

    Used in Chapter 13.
    """
    if text is None:
        return report(False, NOT_ATTEMPTED)
    if not isinstance(text, str):
        problem = wrong_kind(text, "prompt", "a str") if callable(text) else None
        return report(False, problem or f"prompt should be a str, but it is {kind(text)}.")
    expected = smollm2_chat_prompt(user_message, system)
    generation_prompt = "<|im_start|>assistant\n"
    system_turn = expected[:expected.index("<|im_start|>user")]
    if text == expected:
        return report(True, f"Correct: {len(expected)} characters, three turns opened with <|im_start|>, "
                             "ending with the open assistant turn the model completes.")
    if text == expected[:-len(generation_prompt)]:
        return report(False, "The generation prompt is missing: the prompt must end by opening the assistant's turn, "
                             "so that the model continues as the assistant instead of guessing who speaks next.",
                      "Every turn opens with <|im_start|> and the name of the role.")
    if text == expected[:-1]:
        return report(False, "Almost: the template puts a newline after the role's name in the assistant's turn too.")
    if text == expected[len(system_turn):]:
        if system is not None:
            return report(False, "The system turn is missing: this chat has a system message of its own, and the "
                                 "template puts it first, in a turn of its own, before the user's.",
                          "Every turn opens with <|im_start|> and the name of the role.")
        return report(False, "The system message is missing: SmolLM2's template adds its default system message "
                              "when a chat has none (checkpoints.SMOLLM2_DEFAULT_SYSTEM), and the model was trained "
                              "with it.")
    if system is not None and text == smollm2_chat_prompt(user_message):
        return report(False, "The system turn holds the template's default system message, but this chat has a "
                             "system message of its own: the default is only for a chat that has none.")
    if text == expected[len(system_turn):-len(generation_prompt)]:
        return report(False, "Both the system message and the generation prompt (the open assistant turn) are "
                             "missing: only the user turn is there.")
    if text == expected.replace("<|im_end|>\n", "<|im_end|>"):
        return report(False, "Each '<|im_end|>' is followed by a newline '\\n' in the template.")
    if user_message not in text:
        return report(False, f"The user message {user_message!r} does not appear in the prompt, exactly as given.")
    i, want, got = _first_difference(expected, text)
    return report(False, f"The prompt differs from the template at character {i}, around ...{got!r}....",
                  f"The template has ...{want!r}... there.")


# ---------------------------------------------------------------- SwiGLU

def _sigmoid(z):
    return 0.5 + 0.5 * np.tanh(0.5 * z)  # 1 / (1 + exp(-z)), without overflow


def _silu(z):
    return z * _sigmoid(z)  # as in helpers.smollm2.mlp_block


@exercise_check
def check_swiglu(answer, x, w_gate, w_up, w_down):
    """Check SwiGLU by hand: ``(silu(x @ w_gate) * (x @ w_up)) @ w_down``, with ``silu(z) = z * sigmoid(z)``.

    This is :func:`helpers.smollm2.mlp_block` without its RMSNorm.

    Parameters
    ----------
    answer : array_like or None
        The learner's answer, shape (T, D).
    x : array_like, shape (T, D)
    w_gate, w_up : array_like, shape (D, F)
    w_down : array_like, shape (F, D)

    Returns
    -------
    Verdict
        Truthy when right; otherwise names the slip (sigmoid instead of
        silu, gate and up swapped, ReLU, no activation, added instead of
        multiplied, w_down forgotten, a wrong shape).

    Used in Chapter 13.
    """
    if answer is None:
        return report(False, NOT_ATTEMPTED)
    x, w_gate, w_up, w_down = (np.asarray(a, dtype=float) for a in (x, w_gate, w_up, w_down))
    # helpers.smollm2.mlp_block keeps its weights in float32, so float32 rounding of them is fair
    w_gate32, w_up32, w_down32 = (given(w, np.float32) for w in (w_gate, w_up, w_down))
    gate, up = given(x) @ w_gate32, given(x) @ w_up32  # (T, F)
    # silu(z) = z * sigmoid(z): its terms are at most |z| in size, however it is written
    silu = gate.apply(_silu, lambda z: _sigmoid(z) * (1 + z * (1 - _sigmoid(z))), size=np.abs)
    expected = (silu * up) @ w_down32  # (T, D)
    gate, up = gate.value, up.value
    a, problem = as_answer_array(answer, "out")
    if problem:
        return report(False, problem)
    if close(a, expected):
        return report(True, f"Correct: out has shape {expected.shape}; silu(gate) decides, for each of the "
                            f"F = {gate.shape[1]} hidden units, how much of up passes, and w_down maps back to D.")
    if a.shape == gate.shape:
        if resembles(a, _silu(gate) * up):
            return report(False, f"out has shape {a.shape}, (T, F): the hidden units, before the way back to (T, D) = "
                                 f"{expected.shape}.", "w_down maps the F hidden units back to D.")
        return report(False, f"out has shape {a.shape}, (T, F): that is the hidden layer's shape. The result "
                             f"goes through w_down, back to (T, D) = {expected.shape}.")
    if a.shape != expected.shape:
        return report(False, f"out has shape {a.shape} but expected (T, D) = {expected.shape}.")
    sigmoid = _sigmoid(gate)
    wrong = [
        ((sigmoid * up) @ w_down, "you used sigmoid(gate), which squeezes every gate into (0, 1); silu "
                                  "multiplies the sigmoid by the gate itself, so a large gate lets a large value "
                                  "through."),
        ((_silu(up) * gate) @ w_down, "gate and up are swapped: only the gate projection goes through silu, and "
                                     "the up projection passes through unchanged."),
        ((np.maximum(gate, 0) * up) @ w_down, "you used ReLU, which cuts every negative gate to exactly 0; "
                                             "silu is smooth and slightly negative for z < 0."),
        ((gate * up) @ w_down, "there is no activation on the gate: the gate goes through silu before it "
                               "multiplies up."),
        ((_silu(gate) + up) @ w_down, "you added silu(gate) and up; SwiGLU multiplies them element by element."),
        ((_silu(gate) @ w_down) * (up @ w_down), "w_down comes after the product, not on each factor on its own."),
    ]
    steps = "Check each step: the gate x @ w_gate, silu of it, the product with up, then w_down."
    for candidate, message in wrong:
        if resembles(a, candidate):
            return report(False, f"out has the right shape {expected.shape}, but {message}", steps)
    diff = np.abs(a - expected.value)
    return report(False, f"out has the right shape {expected.shape} but wrong values (off by up to {diff.max():.3g}).",
                  steps)
