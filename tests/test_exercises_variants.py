"""Tests for the exercise checks of chapter 11 (GQA, the KV cache): right answers pass,
each kind of wrong answer gets its own message."""

import numpy as np
import pytest

import helpers
from helpers import exercises
from verdicts import run


def test_checks_are_exported():
    for name in ("check_kv_head_map", "check_kv_cache_bytes", "check_expand_kv_weight",
                 "check_chunk_mask"):
        assert name in exercises.__all__
        assert callable(getattr(exercises, name))


# ---------------------------------------------------------------- which kv head

H, H_KV = 12, 4  # groups of 3; h // 3, h % 4 and h // 4 all differ


def test_kv_head_map_right(capsys):
    ok, msg = run(capsys, exercises.check_kv_head_map, [h // 3 for h in range(H)], H, H_KV)
    assert ok and msg.startswith("Correct:") and "[0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]" in msg
    assert run(capsys, exercises.check_kv_head_map, np.arange(9) // 3, 9, 3)[0]  # SmolLM2's sizes, an array


def test_kv_head_map_matches_repeat_kv(capsys):
    # what the check calls right is what repeat_kv does to kv-head labels
    labels = helpers.repeat_kv(np.arange(H_KV).reshape(H_KV, 1, 1), H // H_KV)[:, 0, 0]
    assert run(capsys, exercises.check_kv_head_map, labels.tolist(), H, H_KV)[0]


def test_kv_head_map_not_attempted(capsys):
    ok, msg = run(capsys, exercises.check_kv_head_map, None, H, H_KV)
    assert not ok and msg.startswith("Not attempted yet")


@pytest.mark.parametrize("answer, expected", [
    ([h % 4 for h in range(12)], "cycles through the kv heads"),
    ([h // 4 for h in range(12)], "divides h by H_kv = 4"),
    ([0, 1, 2, 3], "4 entries but there are H = 12 query heads (that is one per kv head"),
    ([h // 2 for h in range(12)], "kv-head index 0 .. 3"),
    ([[0, 0, 0, 1, 1, 1], [2, 2, 2, 3, 3, 3]], "flat list of 12 numbers"),
    ([0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3], "query head 8 should use kv head 2, not 3"),
    ("0,0,0,1", "remove the quotes"),
])
def test_kv_head_map_wrong(capsys, answer, expected):
    ok, msg = run(capsys, exercises.check_kv_head_map, answer, H, H_KV)
    assert not ok and expected in msg, msg


# ---------------------------------------------------------------- KV-cache bytes

# Llama-3-8B-like: 32 layers, H = 32, H_kv = 8, d = 128, T = 8192, bfloat16
CACHE = dict(num_layers=32, num_kv_heads=8, head_dim=128, T=8192, bytes_per_number=2, num_heads=32)
RIGHT = 2 * 32 * 8 * 128 * 8192 * 2


def test_kv_cache_bytes_right(capsys):
    ok, msg = run(capsys, exercises.check_kv_cache_bytes, RIGHT, **CACHE)
    assert ok and msg.startswith("Correct:") and "1,073,741,824" in msg and "1 GiB" in msg
    assert run(capsys, exercises.check_kv_cache_bytes, float(RIGHT), **CACHE)[0]


@pytest.mark.parametrize("rounded", [1.07e9, 1.074e9, 1073741800, "1.07e9"])
def test_kv_cache_bytes_accepts_the_count_rounded_to_3_or_more_digits(capsys, rounded):
    if isinstance(rounded, str):
        rounded = float(rounded)
    ok, msg = run(capsys, exercises.check_kv_cache_bytes, rounded, **CACHE)
    assert ok and "1,073,741,824" in msg, msg


def test_kv_cache_bytes_not_attempted(capsys):
    ok, msg = run(capsys, exercises.check_kv_cache_bytes, None, **CACHE)
    assert not ok and msg.startswith("Not attempted yet")


@pytest.mark.parametrize("answer, expected", [
    (RIGHT // 2, "is half the answer: either the factor 2 is missing"),
    (RIGHT // 32, "one layer's cache"),
    (RIGHT // 64, "the keys of one layer"),
    (RIGHT * 4, "uses the 32 query heads"),
    (RIGHT * 2, "uses 4 bytes per number (float32)"),
    (RIGHT // 4, "counts the numbers of the keys only"),
    (RIGHT * 8, "is in bits"),
    (RIGHT / 2**20, "is in MiB"),
    (RIGHT / 2**30, "is in GiB"),
    (RIGHT / 10**6, "is in MB"),
    (RIGHT + 12345, "close to the right count but not equal to it"),
    (1.1e9, "close to the right count but not equal to it"),
    (RIGHT * 3 + 12345, "is not right: the cache holds a key and a value"),
    ("1 GiB", "should be a single number"),
    (float("nan"), "is NaN"),
])
def test_kv_cache_bytes_wrong(capsys, answer, expected):
    ok, msg = run(capsys, exercises.check_kv_cache_bytes, answer, **CACHE)
    assert not ok and expected in msg, msg


def test_kv_cache_bytes_float32_names_the_missing_factor_and_the_bytes_apart(capsys):
    cfg = dict(num_layers=30, num_kv_heads=3, head_dim=64, T=100, bytes_per_number=4)
    right = 2 * 30 * 3 * 64 * 100 * 4
    assert run(capsys, exercises.check_kv_cache_bytes, right, **cfg)[0]
    ok, msg = run(capsys, exercises.check_kv_cache_bytes, right // 2, **cfg)
    assert not ok and "leaves out the factor 2" in msg
    ok, msg = run(capsys, exercises.check_kv_cache_bytes, right // 4, **cfg)
    assert not ok and "counts numbers, not bytes" in msg
    ok, msg = run(capsys, exercises.check_kv_cache_bytes, right // 2 * 1, **dict(cfg, num_heads=9))
    assert not ok and "factor 2" in msg  # num_heads only adds the H-for-H_kv slip


# ---------------------------------------------------------------- the mask of a chunk

N_NEW, N_CACHED = 3, 5   # S = 8; no two sizes equal


def test_chunk_mask_right(capsys):
    pos_q, pos_k = N_CACHED + np.arange(N_NEW), np.arange(N_CACHED + N_NEW)
    for right in (helpers.causal_mask(N_NEW, N_CACHED + N_NEW), pos_q[:, None] >= pos_k[None, :],
                  [[j <= N_CACHED + i for j in range(8)] for i in range(N_NEW)]):
        ok, msg = run(capsys, exercises.check_chunk_mask, right, N_NEW, N_CACHED)
        assert ok and msg.startswith("Correct:") and "(3, 8)" in msg, msg


def test_chunk_mask_gives_the_attention_of_the_whole_sequence(rng):
    # what the check calls right is what makes a chunk's rows equal full causal attention
    q, k, v = (rng.normal(size=(8, 4)) for _ in range(3))
    full, _ = helpers.scaled_dot_product_attention(q, k, v, mask=helpers.causal_mask(8))
    chunk, _ = helpers.scaled_dot_product_attention(q[N_CACHED:], k, v, mask=helpers.causal_mask(N_NEW, 8))
    np.testing.assert_allclose(chunk, full[N_CACHED:], rtol=1e-12)
    top_left, _ = helpers.scaled_dot_product_attention(q[N_CACHED:], k, v, mask=np.tril(np.ones((3, 8), bool)))
    assert not np.allclose(top_left, full[N_CACHED:])


def test_chunk_mask_not_attempted(capsys):
    ok, msg = run(capsys, exercises.check_chunk_mask, None, N_NEW, N_CACHED)
    assert not ok and msg.startswith("Not attempted yet")


ONES = np.ones((N_NEW, 8), dtype=bool)


@pytest.mark.parametrize("answer, expected", [
    (np.tril(ONES), "the triangle starts at the top left"),
    (ONES, "the mask of a single new token"),
    (np.tril(np.ones((3, 3), bool)), "covers the new keys only"),
    (helpers.causal_mask(8), "the mask of the whole sequence"),
    (~helpers.causal_mask(3, 8), "inverted"),
    (np.tril(ONES, k=N_CACHED - 1), "the diagonal is False"),
    (np.tril(ONES, k=N_CACHED + 1), "one key too far"),
    (helpers.causal_mask(3, 8).astype(int), "dtype int64, not bool"),
    (np.ones((3, 7), bool), "expected (n_new, S) = (3, 8)"),
    (np.where(np.eye(3, 8, dtype=bool), False, helpers.causal_mask(3, 8)), "mask[0, 0] is False but should be True"),
    ("mask", "remove the quotes"),
])
def test_chunk_mask_wrong(capsys, answer, expected):
    ok, msg = run(capsys, exercises.check_chunk_mask, answer, N_NEW, N_CACHED)
    assert not ok and expected in msg, msg


def test_chunk_mask_messages_never_print_the_fix(capsys):
    for answer in (np.tril(ONES), ONES, np.tril(np.ones((3, 3), bool))):
        for hint in (False, True):
            verdict = exercises.check_chunk_mask(answer, N_NEW, N_CACHED, hint=hint)
            text = str(verdict) + (verdict.hint or "")
            assert "causal_mask(" not in text and "k=" not in text and "np." not in text, text


# ---------------------------------------------------------------- expanding k_proj to MHA

D_MODEL, HEADS, KV_HEADS, D_HEAD = 10, 6, 2, 4  # groups of 3; no two sizes equal
W_KV = np.random.default_rng(8).normal(size=(D_MODEL, KV_HEADS * D_HEAD))


def expanded():
    blocks = [W_KV[:, g * D_HEAD:(g + 1) * D_HEAD] for g in range(KV_HEADS) for _ in range(HEADS // KV_HEADS)]
    return np.concatenate(blocks, axis=1)


def test_expand_kv_weight_right(capsys):
    ok, msg = run(capsys, exercises.check_expand_kv_weight, expanded(), W_KV, HEADS, KV_HEADS)
    assert ok and msg.startswith("Correct:") and "(10, 24)" in msg


def test_expand_kv_weight_gives_the_same_attention_as_gqa(capsys, rng):
    # what the check calls right really turns GQA into ordinary MHA
    x = rng.normal(size=(5, D_MODEL))
    w_q = rng.normal(size=(D_MODEL, HEADS * D_HEAD))
    w_o = rng.normal(size=(HEADS * D_HEAD, D_MODEL))
    gqa, _ = helpers.multi_head_attention(x, w_q, W_KV, W_KV, w_o, num_heads=HEADS, num_kv_heads=KV_HEADS)
    mha, _ = helpers.multi_head_attention(x, w_q, expanded(), expanded(), w_o, num_heads=HEADS)
    np.testing.assert_allclose(mha, gqa, rtol=1e-10, atol=1e-10)
    tiled, _ = helpers.multi_head_attention(x, w_q, np.tile(W_KV, 3), np.tile(W_KV, 3), w_o, num_heads=HEADS)
    assert not np.allclose(tiled, gqa)


def test_expand_kv_weight_not_attempted(capsys):
    ok, msg = run(capsys, exercises.check_expand_kv_weight, None, W_KV, HEADS, KV_HEADS)
    assert not ok and msg.startswith("Not attempted yet")


@pytest.mark.parametrize("answer, expected", [
    (np.tile(W_KV, (1, 3)), "that is np.tile"),
    (np.repeat(W_KV, 3, axis=1), "repeats single columns"),
    (expanded().T, "the PyTorch layout (out, in)"),
    (W_KV, "w_expanded has shape (10, 8) but expected (D, H*d) = (10, 24)"),
    (expanded() + 1.0, "right shape (10, 24) but other numbers"),
])
def test_expand_kv_weight_wrong(capsys, answer, expected):
    ok, msg = run(capsys, exercises.check_expand_kv_weight, answer, W_KV, HEADS, KV_HEADS)
    assert not ok and expected in msg, msg
