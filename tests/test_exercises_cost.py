"""Tests for the chapter 12 exercise checks: right answers pass, each kind of wrong answer gets its own message."""

import numpy as np
import pytest

from helpers import cost, exercises
from verdicts import run


def test_checks_are_exported():
    for name in ("check_qk_flops", "check_tiled_score_bytes", "check_online_softmax_step", "check_attention_crossover"):
        assert name in exercises.__all__
        assert callable(getattr(exercises, name))


@pytest.mark.parametrize("check, args", [
    (exercises.check_qk_flops, (4, 9, 128, 4096, 64)),
    (exercises.check_tiled_score_bytes, (2, 9, 8192, 8192, 256)),
    (exercises.check_online_softmax_step, (1.5, 2.0, np.zeros(2), np.zeros(3), np.zeros((3, 2)))),
    (exercises.check_attention_crossover, (576, 9, 3, 64)),
])
def test_none_is_not_attempted(capsys, check, args):
    ok, line = run(capsys, check, None, *args)
    assert ok is False and line.startswith("Not attempted yet")


# ---------------------------------------------------------------- check_qk_flops

B, H, T, S, d = 4, 9, 128, 4096, 64  # the exercise: no two sizes equal, and B != 2 so "no factor 2" != "no batch"
QK = 2 * B * H * T * S * d


def test_qk_flops_correct(capsys):
    ok, line = run(capsys, exercises.check_qk_flops, QK, B, H, T, S, d)
    assert ok is True
    assert line.startswith("Correct:") and "2,415,919,104 FLOPs" in line


def test_qk_flops_matches_the_cost_table(capsys):
    row = next(s for s in cost.mha_costs(B, T, S, H * d, H, 3, d) if s["step"] == "Q K^T")
    ok, _ = run(capsys, exercises.check_qk_flops, row["flops"], B, H, T, S, d)
    assert ok is True


def test_qk_flops_accepts_floats_and_numpy_ints(capsys):
    assert run(capsys, exercises.check_qk_flops, float(QK), B, H, T, S, d)[0] is True
    assert run(capsys, exercises.check_qk_flops, np.int64(QK), B, H, T, S, d)[0] is True


@pytest.mark.parametrize("answer, expected_text", [
    (QK // 2, "counts multiply-adds, not FLOPs"),
    (QK // H, "leaves out the heads"),
    (QK // B, "leaves out the batch"),
    (QK // (B * H), "one head of one sequence"),
    (QK * H, "uses d_model = H x d = 576"),
    (2 * B * H * T * T * d, "uses T x T"),
    (2 * B * H * S * S * d, "uses S x S"),
    (2 * QK, "counts both matmuls"),
    (QK // d, "leaves out d"),
    (QK / 1e9, "is in GFLOP"),
    (12345, "is not right"),
])
def test_qk_flops_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_qk_flops, answer, B, H, T, S, d)
    assert ok is False
    assert expected_text in line and not line.startswith("Correct")


@pytest.mark.parametrize("answer, expected_text", [
    ("2415919104", "remove the quotes"),
    (True, "a bool"),
    ([QK, QK], "should be a single number"),
    (float("nan"), "is NaN"),
    (float("inf"), "overflowed"),
    pytest.param(2 * 12 * 2048 ** 2048 * 4, "did you type ** (a power)", id="2 * 12 * 2048 ** 2048 * 4"),
])
def test_qk_flops_not_a_number(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_qk_flops, answer, B, H, T, S, d)
    assert ok is False and expected_text in line


# ---------------------------------------------------------------- check_tiled_score_bytes

B2, H2, T2, S2, BLOCK = 2, 9, 8192, 8192, 256
BLOCK_BYTES = B2 * H2 * T2 * BLOCK * 4


def test_tiled_bytes_correct(capsys):
    ok, line = run(capsys, exercises.check_tiled_score_bytes, BLOCK_BYTES, B2, H2, T2, S2, BLOCK)
    assert ok is True
    assert line.startswith("Correct:") and "150,994,944 bytes" in line and "32 times less" in line


def test_tiled_bytes_match_the_block_tiled_attention_allocates(capsys):
    """The expected answer is the nbytes of the (B, H, T, block) float32 block the helper works on."""
    block = np.zeros((2, 3, 5, 4), dtype=np.float32)
    ok, _ = run(capsys, exercises.check_tiled_score_bytes, block.nbytes, 2, 3, 5, 9, 4)
    assert ok is True


@pytest.mark.parametrize("answer, expected_text", [
    (B2 * H2 * T2 * S2 * 4, "is the full score matrix"),
    (BLOCK_BYTES // 4, "counts numbers, not bytes"),
    (BLOCK_BYTES // H2, "leaves out the heads"),
    (BLOCK_BYTES // B2, "leaves out the batch"),
    (T2 * BLOCK * 4, "one head of one sequence"),
    (B2 * H2 * BLOCK * BLOCK * 4, "block_size x block_size"),
    (2 * BLOCK_BYTES, "counts two blocks"),
    (BLOCK_BYTES / 2**20, "is in MiB"),
    (BLOCK_BYTES / 10**6, "is in MB"),
    (777, "is not right"),
])
def test_tiled_bytes_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_tiled_score_bytes, answer, B2, H2, T2, S2, BLOCK)
    assert ok is False
    assert expected_text in line and not line.startswith("Correct")


def test_tiled_bytes_float64(capsys):
    ok, _ = run(capsys, exercises.check_tiled_score_bytes, 2 * BLOCK_BYTES, B2, H2, T2, S2, BLOCK, bytes_per_number=8)
    assert ok is True


# ---------------------------------------------------------------- check_online_softmax_step

M, L, ACC = 1.5, 2.0, np.array([0.4, -1.0])
SC = np.array([0.5, 3.0, 2.0])
VALS = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
M_NEW = 3.0
ALPHA = np.exp(M - M_NEW)
P = np.exp(SC - M_NEW)
L_NEW = ALPHA * L + P.sum()
ACC_NEW = ALPHA * ACC + P @ VALS


def check_step(capsys, answer):
    return run(capsys, exercises.check_online_softmax_step, answer, M, L, ACC, SC, VALS)


def test_online_step_correct(capsys):
    ok, line = check_step(capsys, (M_NEW, L_NEW, ACC_NEW))
    assert ok is True
    assert line.startswith("Correct:") and "alpha = exp(m - m_new) = 0.2231" in line


def test_online_step_accepts_a_list_and_numpy_scalars(capsys):
    ok, _ = check_step(capsys, [np.float64(M_NEW), np.array([L_NEW]), list(ACC_NEW)])
    assert ok is True


def test_online_step_gives_the_attention_output():
    """acc_new / l_new over two blocks is softmax @ v over all the keys: the check's formula is the right one."""
    s_all, v_all = np.concatenate([[1.5, 0.2], SC]), np.concatenate([[[0.5, 0.5], [1.0, -2.0]], VALS])
    p0 = np.exp(s_all[:2] - 1.5)
    m, l, acc = 1.5, p0.sum(), p0 @ v_all[:2]
    m_new = max(m, SC.max())
    p = np.exp(SC - m_new)
    l_new, acc_new = np.exp(m - m_new) * l + p.sum(), np.exp(m - m_new) * acc + p @ VALS
    assert exercises.check_online_softmax_step((m_new, l_new, acc_new), m, l, acc, SC, VALS)
    w = np.exp(s_all - s_all.max())
    np.testing.assert_allclose(acc_new / l_new, (w / w.sum()) @ v_all)


@pytest.mark.parametrize("answer, expected_text", [
    ((SC.max() - 1, L_NEW, ACC_NEW), "m_new = 2 is not the running maximum"),
    ((M_NEW, L + P.sum(), ACC + P @ VALS), "both skip the rescaling"),
    ((M_NEW, L + P.sum(), ACC_NEW), "l_new adds the new terms to the old l without rescaling"),
    ((M_NEW, np.exp(M_NEW - M) * L + P.sum(), ACC_NEW), "the sign is flipped"),
    ((M_NEW, ALPHA * L + np.exp(SC).sum(), ACC_NEW), "without subtracting m_new"),
    ((M_NEW, ALPHA * L + np.exp(SC - M).sum(), ACC_NEW), "the old maximum"),
    ((M_NEW, 99.0, ACC_NEW), "l_new = 99 is not the rescaled old sum"),
    ((M_NEW, L_NEW, ACC + P @ VALS), "acc_new adds the new terms to the old acc without rescaling"),
    ((M_NEW, L_NEW, np.exp(M_NEW - M) * ACC + P @ VALS), "acc_new rescales acc by exp(m_new - m)"),
    ((M_NEW, L_NEW, ALPHA * ACC + np.exp(SC) @ VALS), "acc_new uses exp(z_j) without subtracting"),
    ((M_NEW, L_NEW, ALPHA * ACC + np.exp(SC - M) @ VALS), "acc_new uses exp(z_j - m), the old maximum"),
    ((M_NEW, L_NEW, ALPHA * ACC + VALS.sum(axis=0)), "plain sum of the value rows"),
    ((M_NEW, L_NEW, ACC_NEW + 1), "acc_new is not: it is rescaled like l"),
    ((M_NEW, L_NEW, np.outer(P, [1, 1]) * VALS), "has shape (3, 2) but expected (2,): sum over the keys"),
    ((M_NEW, L_NEW, ACC_NEW[:1]), "has shape (1,) but expected (2,)"),
    ((M_NEW, P, ACC_NEW), "l_new should be one number"),
    ((SC, L_NEW, ACC_NEW), "m_new should be one number"),
    ((M_NEW, L_NEW), "tuple of three things"),
    (L_NEW, "tuple of three things"),
    ((M_NEW, None, ACC_NEW), "l_new is still None"),
    ((M_NEW, L_NEW, np.array([np.nan, 0.0])), "NaN"),
])
def test_online_step_wrong(capsys, answer, expected_text):
    ok, line = check_step(capsys, answer)
    assert ok is False
    assert expected_text in line and not line.startswith("Correct")


def test_online_step_block_max_only(capsys):
    """When the old maximum is the larger one, m_new = max of the block alone is a distinct slip."""
    m, l, acc = 5.0, 1.0, np.array([1.0, 1.0])
    ok, line = run(capsys, exercises.check_online_softmax_step, (SC.max(), l, acc), m, l, acc, SC, VALS)
    assert ok is False and "the block's maximum only" in line


# ---------------------------------------------------------------- check_attention_crossover

def test_crossover_correct(capsys):
    ok, line = run(capsys, exercises.check_attention_crossover, 768, 576, 9, 3, 64)
    assert ok is True and line.startswith("Correct:") and "= 768" in line


def test_crossover_agrees_with_the_cost_table(capsys):
    """At the answer, the two score matmuls and the four projections of mha_costs have equal FLOPs."""
    t = 768
    rows = {s["step"]: s["flops"] for s in cost.mha_costs(1, t, t, 576, 9, 3, 64)}
    projections = rows["q_proj"] + rows["k_proj"] + rows["v_proj"] + rows["o_proj"]
    assert rows["Q K^T"] + rows["weights @ V"] == projections
    assert run(capsys, exercises.check_attention_crossover, t, 576, 9, 3, 64)[0] is True


def test_crossover_without_gqa_is_2d(capsys):
    ok, _ = run(capsys, exercises.check_attention_crossover, 1152, 576, 9, 9, 64)
    assert ok is True


@pytest.mark.parametrize("answer, expected_text", [
    (1152, "ignores grouped-query attention"),
    (480, "leaves out o_proj"),
    (1536, "counts only Q K^T"),
    (384, "drops the factor 2"),
    (960, "counts k_proj and v_proj twice"),
    (576, "four D x D matrices"),
    (768 ** 0.5, "square root"),
    (1000, "is not right"),
])
def test_crossover_wrong(capsys, answer, expected_text):
    ok, line = run(capsys, exercises.check_attention_crossover, answer, 576, 9, 3, 64)
    assert ok is False
    assert expected_text in line and not line.startswith("Correct")


@pytest.mark.parametrize("check, args, rounded", [
    ("check_qk_flops", (4, 9, 128, 4096, 64), 2.42e9),
    ("check_tiled_score_bytes", (2, 9, 8192, 8192, 256), 1.51e8),
])
def test_counts_rounded_to_3_digits_are_right_and_coarser_ones_named(capsys, check, args, rounded):
    ok, msg = run(capsys, getattr(exercises, check), rounded, *args)
    assert ok and msg.startswith("Correct:"), msg
    ok, msg = run(capsys, getattr(exercises, check), float(f"{rounded:.1e}"), *args)
    assert not ok and "close to the right count" in msg, msg


def test_online_softmax_step_names_a_rounded_answer(capsys):
    m, l, acc = 1.5, 2.0, np.array([0.4, -1.0])
    z, v = np.array([0.5, 3.0, 2.0]), np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    m_new = 3.0
    alpha, p = np.exp(m - m_new), np.exp(z - m_new)
    right = (m_new, alpha * l + p.sum(), alpha * acc + p @ v)
    ok, msg = run(capsys, exercises.check_online_softmax_step, (m_new, round(right[1], 3), right[2]), m, l, acc, z, v)
    assert not ok and "l_new agrees with the right value to about 3 digits" in msg, msg
    ok, msg = run(capsys, exercises.check_online_softmax_step, (m_new, right[1], right[2].round(3)), m, l, acc, z, v)
    assert not ok and "acc_new agrees with the right value" in msg, msg
