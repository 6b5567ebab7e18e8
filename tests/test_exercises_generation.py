"""Tests for the chapter 13 exercise checks: right answers pass, each kind of wrong answer gets its own message."""

import numpy as np
import pytest

from helpers import exercises, smollm2
from helpers.checkpoints import SMOLLM2_DEFAULT_SYSTEM, smollm2_chat_prompt
from helpers.norms import rms_norm
from verdicts import run


def test_checks_are_exported():
    for name in ("check_greedy_next_id", "check_token_passes", "check_chat_prompt", "check_swiglu"):
        assert name in exercises.__all__
        assert callable(getattr(exercises, name))


# ---------------------------------------------------------------- one greedy step

LOGITS = np.random.default_rng(6).normal(size=(4, 7)).round(2)  # T = 4 positions, V = 7 tokens


def test_logits_fixture_separates_the_slips():
    # the slips the check names must give different ids here, or the test below proves nothing
    ids = [LOGITS[-1].argmax(), LOGITS[0].argmax(), LOGITS[-2].argmax(), LOGITS[-1].argmin()]
    assert len(set(int(i) for i in ids)) == 4 and LOGITS.argmax() >= 7


def test_greedy_right(capsys):
    ok, msg = run(capsys, exercises.check_greedy_next_id, int(LOGITS[-1].argmax()), LOGITS)
    assert ok and msg.startswith("Correct:") and "token id 5" in msg


def test_greedy_softmax_first_is_right_too(capsys):
    probs = np.exp(LOGITS - LOGITS.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    assert run(capsys, exercises.check_greedy_next_id, probs[-1].argmax(), LOGITS)[0]  # an np.int64


def test_greedy_not_attempted(capsys):
    ok, msg = run(capsys, exercises.check_greedy_next_id, None, LOGITS)
    assert not ok and msg.startswith("Not attempted yet")


@pytest.mark.parametrize("answer, expected", [
    (LOGITS[0].argmax(), "first position"),
    (LOGITS[-2].argmax(), "second-to-last position"),
    (LOGITS.argmax(), "flattened (T, n_vocab) array"),
    (LOGITS[-1].argmin(), "smallest logit (argmin)"),
    (LOGITS.argmax(axis=0), "argmax over axis 0, the positions"),
    (LOGITS.argmax(axis=-1), "one best id per position"),
    (LOGITS[-1].max(), "the largest logit itself, not its position"),
    (2.5, "not a whole number"),
    (np.zeros(3), "give a single token id"),
    (6, "not the id of the largest logit at the last position"),
    ("five", "remove the quotes"),
])
def test_greedy_wrong(capsys, answer, expected):
    ok, msg = run(capsys, exercises.check_greedy_next_id, answer, LOGITS)
    assert not ok and expected in msg, msg


# ---------------------------------------------------------------- token passes

P, N = 37, 12  # the France prompt and 12 new tokens


def test_token_passes_right(capsys):
    ok, msg = run(capsys, exercises.check_token_passes, P + N - 1, sum(P + i for i in range(N)), P, N)
    assert ok and msg.startswith("Correct:") and "48 passes" in msg and "510" in msg


def test_token_passes_match_generate_on_a_counting_model(monkeypatch, capsys):
    """Count the tokens generate() really feeds to forward(): the check's formulas must agree."""
    fed = []

    def counting_forward(ids, weights, config, cache=None, positions=None, *, last_only=False):
        fed.append(len(ids))
        if cache is not None:
            for layer_cache in cache:
                layer_cache.length += len(ids)
        logits = np.zeros((1, config["vocab_size"]), np.float32)
        logits[0, 5] = 1.0  # always token 5, never EOS
        return logits

    monkeypatch.setattr(smollm2, "forward", counting_forward)
    config = {"vocab_size": 10, "eos_token_id": 2, "num_kv_heads": 1, "head_dim": 2, "num_layers": 1}
    weights = {"layers": {0: {"w_qkv": None}}}
    passes = {}
    for use_cache in (True, False):
        fed.clear()
        assert smollm2.generate(np.arange(P) % 10, weights, config, N, use_cache=use_cache) == [5] * N
        passes[use_cache] = sum(fed)
    assert passes[True] == P + N - 1 and passes[False] == N * P + N * (N - 1) // 2
    assert run(capsys, exercises.check_token_passes, passes[True], passes[False], P, N)[0]


@pytest.mark.parametrize("answers", [(None, None)])
def test_token_passes_not_attempted(capsys, answers):
    ok, msg = run(capsys, exercises.check_token_passes, *answers, P, N)
    assert not ok and msg.startswith("Not attempted yet")


RIGHT_W, RIGHT_WO = P + N - 1, N * P + N * (N - 1) // 2


@pytest.mark.parametrize("with_cache, without_cache, expected", [
    (48, None, "without_cache is still None"),
    (None, 510, "with_cache is still None"),
    (P + N, RIGHT_WO, "feeds the last new token back in"),
    (N, RIGHT_WO, "leaves out the prompt"),
    (P, RIGHT_WO, "counts only the prefill"),
    (RIGHT_WO, RIGHT_WO, "is the count without a cache"),
    (50, RIGHT_WO, "count the prefill, then the passes of the new tokens"),
    (RIGHT_W, N * P + N * (N + 1) // 2, "one token too long at every step"),
    (RIGHT_W, N * P, "runs every step at the prompt's length"),
    (RIGHT_W, N * (P + N), "counts every step at the final length"),
    (RIGHT_W, (P + N) * (P + N + 1) // 2, "counts from an empty text"),
    (RIGHT_W, RIGHT_W, "is the count with a cache"),
    (RIGHT_W, 700, "every step reruns the whole text so far"),
    (48.5, RIGHT_WO, "not a whole number"),
    ("48", RIGHT_WO, "should be a single number"),
])
def test_token_passes_wrong(capsys, with_cache, without_cache, expected):
    ok, msg = run(capsys, exercises.check_token_passes, with_cache, without_cache, P, N)
    assert not ok and expected in msg, msg


# ---------------------------------------------------------------- the chat template

MESSAGE = "Name three primary colors."
SYSTEM_TURN = f"<|im_start|>system\n{SMOLLM2_DEFAULT_SYSTEM}<|im_end|>\n"
USER_TURN = f"<|im_start|>user\n{MESSAGE}<|im_end|>\n"
GENERATION = "<|im_start|>assistant\n"


def test_chat_prompt_right(capsys):
    ok, msg = run(capsys, exercises.check_chat_prompt, SYSTEM_TURN + USER_TURN + GENERATION, MESSAGE)
    assert ok and msg.startswith("Correct:")
    assert SYSTEM_TURN + USER_TURN + GENERATION == smollm2_chat_prompt(MESSAGE)  # the helper agrees


def test_chat_prompt_with_own_system_message(capsys):
    text = "<|im_start|>system\nBe brief.<|im_end|>\n" + USER_TURN + GENERATION
    assert run(capsys, exercises.check_chat_prompt, text, MESSAGE, system="Be brief.")[0]
    ok, msg = run(capsys, exercises.check_chat_prompt, SYSTEM_TURN + USER_TURN + GENERATION, MESSAGE, system="Be brief.")
    assert not ok and "default system message" in msg and "of its own" in msg


def test_chat_prompt_not_attempted(capsys):
    ok, msg = run(capsys, exercises.check_chat_prompt, None, MESSAGE)
    assert not ok and msg.startswith("Not attempted yet")


@pytest.mark.parametrize("text, expected", [
    (SYSTEM_TURN + USER_TURN, "generation prompt is missing"),
    (SYSTEM_TURN + USER_TURN + GENERATION[:-1], "newline after the role's name"),
    (USER_TURN + GENERATION, "system message is missing"),
    (USER_TURN, "Both the system message and the generation prompt"),
    ((SYSTEM_TURN + USER_TURN + GENERATION).replace("<|im_end|>\n", "<|im_end|>"), "followed by a newline"),
    (SYSTEM_TURN + USER_TURN.replace(MESSAGE, MESSAGE.lower()) + GENERATION, "does not appear in the prompt"),
    (SYSTEM_TURN + USER_TURN + "<|im_start|>Assistant\n", "differs from the template at character"),
    (["<|im_start|>"], "should be a str"),
])
def test_chat_prompt_wrong(capsys, text, expected):
    ok, msg = run(capsys, exercises.check_chat_prompt, text, MESSAGE)
    assert not ok and expected in msg, msg


# ---------------------------------------------------------------- SwiGLU

RNG = np.random.default_rng(10)
X = RNG.normal(size=(2, 4))  # T = 2, D = 4
W_GATE, W_UP = RNG.normal(size=(4, 6)), RNG.normal(size=(4, 6))  # (D, F), F = 6
W_DOWN = RNG.normal(size=(6, 4))  # (F, D)
GATE, UP = X @ W_GATE, X @ W_UP
SIG = 1 / (1 + np.exp(-GATE))
RIGHT = (GATE * SIG * UP) @ W_DOWN


def test_swiglu_right(capsys):
    ok, msg = run(capsys, exercises.check_swiglu, RIGHT, X, W_GATE, W_UP, W_DOWN)
    assert ok and msg.startswith("Correct:") and "(2, 4)" in msg


def test_swiglu_check_agrees_with_mlp_block(capsys):
    """mlp_block = RMSNorm, then SwiGLU: what the check calls right is what the model computes."""
    layer = {"ffn_norm": np.ones(4), "w_gate": W_GATE, "w_up": W_UP, "w_down": W_DOWN, "attn_norm": np.ones(4),
             "w_q": np.zeros((4, 4)), "w_k": np.zeros((4, 2)), "w_v": np.zeros((4, 2)), "w_o": np.zeros((4, 4))}
    out = smollm2.mlp_block(X, layer, {"rms_norm_eps": 1e-5})
    assert run(capsys, exercises.check_swiglu, out, rms_norm(X, np.ones(4)), W_GATE, W_UP, W_DOWN)[0]


def test_swiglu_not_attempted(capsys):
    ok, msg = run(capsys, exercises.check_swiglu, None, X, W_GATE, W_UP, W_DOWN)
    assert not ok and msg.startswith("Not attempted yet")


@pytest.mark.parametrize("answer, expected", [
    ((SIG * UP) @ W_DOWN, "you used sigmoid(gate)"),
    ((UP / (1 + np.exp(-UP)) * GATE) @ W_DOWN, "gate and up are swapped"),
    ((np.maximum(GATE, 0) * UP) @ W_DOWN, "you used ReLU"),
    ((GATE * UP) @ W_DOWN, "there is no activation"),
    ((GATE * SIG + UP) @ W_DOWN, "you added silu(gate) and up"),
    ((GATE * SIG) @ W_DOWN * (UP @ W_DOWN), "w_down comes after the product"),
    (GATE * SIG * UP, "before the way back to (T, D)"),
    (GATE, "that is the hidden layer's shape"),
    (RIGHT.T, "has shape (4, 2) but expected (T, D) = (2, 4)"),
    (RIGHT + 0.5, "wrong values (off by up to 0.5)"),
    (np.full((2, 4), np.nan), "NaN"),
])
def test_swiglu_wrong(capsys, answer, expected):
    ok, msg = run(capsys, exercises.check_swiglu, answer, X, W_GATE, W_UP, W_DOWN)
    assert not ok and expected in msg, msg


# ---------------------------------------------------------------- first messages name the slip, hints come closer

def test_chat_prompt_with_its_own_system_message_but_no_system_turn(capsys):
    ok, msg = run(capsys, exercises.check_chat_prompt, USER_TURN + GENERATION, MESSAGE, system="Be brief.")
    assert not ok and "The system turn is missing" in msg and "of its own" in msg


def test_chat_prompt_difference_shows_the_template_only_in_the_hint():
    typo = SYSTEM_TURN + USER_TURN + "<|im_start|>assitant\n"
    plain = exercises.check_chat_prompt(typo, MESSAGE).message
    hinted = exercises.check_chat_prompt(typo, MESSAGE, hint=True).message
    assert "assitant" in plain and "assistant" not in plain.replace("assitant", "")
    assert hinted.startswith(plain) and "The template has" in hinted and "assistant" in hinted


def test_token_passes_first_messages_do_not_spell_out_the_sum():
    for wo in (N * P + N * (N + 1) // 2, (P + N) * (P + N + 1) // 2, N * (P + N), 700):
        verdict = exercises.check_token_passes(RIGHT_W, wo, P, N)
        assert not verdict and "P + (P + 1)" not in verdict.message and "P + i" not in verdict.message
        assert "Step i (counting from 0) reruns the prompt" in exercises.check_token_passes(
            RIGHT_W, wo, P, N, hint=True).message


def test_swiglu_first_messages_name_the_slip_not_the_formula():
    rng = np.random.default_rng(0)
    x, wg, wu, wd = rng.normal(size=(2, 4)), rng.normal(size=(4, 6)), rng.normal(size=(4, 6)), rng.normal(size=(6, 4))
    gate, up = x @ wg, x @ wu
    sigmoid = 1 / (1 + np.exp(-gate))
    for answer, fragment in (((sigmoid * up) @ wd, "squeezes every gate into (0, 1)"),
                             (((up / (1 + np.exp(-up))) * gate) @ wd, "only the gate projection goes through silu")):
        verdict = exercises.check_swiglu(answer, x, wg, wu, wd)
        assert not verdict and fragment in verdict.message
        assert "x @ w_gate" not in verdict.message and "gate * sigmoid(gate)" not in verdict.message
        assert "Hint: Check each step" in exercises.check_swiglu(answer, x, wg, wu, wd, hint=True).message
