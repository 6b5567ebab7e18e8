"""Tests for helpers.cost: the FLOP and byte counts of chapter 9, and its two measuring functions.

The counts are checked against the arrays the helpers really produce, with
sizes where no two are equal (T != S, H != H_kv, D != H*d), so a letter used in
the wrong place changes a number.
"""

import tracemalloc

import numpy as np
import pytest

import helpers
from helpers import cost

B, T, S, D, H, H_KV, d = 2, 5, 7, 12, 6, 2, 3  # D = 12 != H * d = 18


def matmul_flops(a, b):
    """2 m k n for a (..., m, k) @ (..., k, n) product, counting the broadcast batch."""
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, k = a.shape[-2:]
    n = b.shape[-1]
    return 2 * int(np.prod(batch, dtype=np.int64)) * m * k * n


@pytest.fixture
def pieces(rng):
    """The arrays of one GQA cross-attention, built step by step with the helpers (float32)."""
    f32 = np.float32
    x = rng.standard_normal((B, T, D)).astype(f32)
    c = rng.standard_normal((B, S, D)).astype(f32)
    w = {"q": rng.standard_normal((D, H * d)).astype(f32), "k": rng.standard_normal((D, H_KV * d)).astype(f32),
         "v": rng.standard_normal((D, H_KV * d)).astype(f32), "o": rng.standard_normal((H * d, D)).astype(f32)}
    Q, K, V = helpers.linear(x, w["q"]), helpers.linear(c, w["k"]), helpers.linear(c, w["v"])
    q, k, v = helpers.split_heads(Q, H), helpers.split_heads(K, H_KV), helpers.split_heads(V, H_KV)
    k_rep, v_rep = helpers.repeat_kv(k, H // H_KV), helpers.repeat_kv(v, H // H_KV)
    scores = q @ np.swapaxes(k_rep, -1, -2)
    weights = helpers.softmax(scores)
    heads = weights @ v_rep
    merged = helpers.merge_heads(heads)
    out = helpers.linear(merged, w["o"])
    return dict(x=x, c=c, w=w, Q=Q, K=K, V=V, q=q, k=k, v=v, k_rep=k_rep, v_rep=v_rep, scores=scores,
                weights=weights, heads=heads, merged=merged, out=out)


def rows():
    return {s["step"]: s for s in cost.mha_costs(B, T, S, D, H, H_KV, d)}


def test_steps_in_order():
    assert [s["step"] for s in cost.mha_costs(B, T, S, D, H, H_KV, d)] == [
        "q_proj", "k_proj", "v_proj", "split_heads", "Q K^T", "softmax", "weights @ V", "merge_heads", "o_proj"]


def test_shapes_are_those_of_the_real_arrays(pieces):
    p, r = pieces, rows()
    assert r["q_proj"]["shape"] == p["Q"].shape
    assert r["k_proj"]["shape"] == p["K"].shape and r["v_proj"]["shape"] == p["V"].shape
    assert r["split_heads"]["shape"] == p["q"].shape
    assert r["Q K^T"]["shape"] == p["scores"].shape and r["softmax"]["shape"] == p["weights"].shape
    assert r["weights @ V"]["shape"] == p["heads"].shape
    assert r["merge_heads"]["shape"] == p["merged"].shape
    assert r["o_proj"]["shape"] == p["out"].shape


def test_matmul_flops_are_2mkn_of_the_real_products(pieces):
    p, r = pieces, rows()
    assert r["q_proj"]["flops"] == matmul_flops(p["x"], p["w"]["q"])
    assert r["k_proj"]["flops"] == matmul_flops(p["c"], p["w"]["k"])
    assert r["v_proj"]["flops"] == matmul_flops(p["c"], p["w"]["v"])
    assert r["Q K^T"]["flops"] == matmul_flops(p["q"], np.swapaxes(p["k_rep"], -1, -2))
    assert r["weights @ V"]["flops"] == matmul_flops(p["weights"], p["v_rep"])
    assert r["o_proj"]["flops"] == matmul_flops(p["merged"], p["w"]["o"])
    assert r["split_heads"]["flops"] == 0 and r["merge_heads"]["flops"] == 0
    assert r["softmax"]["flops"] == cost.SOFTMAX_FLOPS_PER_SCORE * p["scores"].size


def test_bytes_are_inputs_read_plus_outputs_written(pieces):
    """GQA keys and values are read once per kv head (H_kv), not once per query head."""
    p, r = pieces, rows()
    nb = {name: a.nbytes for name, a in p.items() if isinstance(a, np.ndarray)}
    assert r["q_proj"]["bytes"] == nb["x"] + p["w"]["q"].nbytes + nb["Q"]
    assert r["k_proj"]["bytes"] == nb["c"] + p["w"]["k"].nbytes + nb["K"]
    assert r["Q K^T"]["bytes"] == nb["q"] + nb["k"] + nb["scores"]
    assert r["softmax"]["bytes"] == nb["scores"] + nb["weights"]
    assert r["weights @ V"]["bytes"] == nb["weights"] + nb["v"] + nb["heads"]
    assert r["merge_heads"]["bytes"] == nb["heads"] + nb["merged"]
    assert r["o_proj"]["bytes"] == nb["merged"] + p["w"]["o"].nbytes + nb["out"]
    assert r["split_heads"]["bytes"] == 0


def test_intensity_is_flops_per_byte():
    for s in cost.mha_costs(B, T, S, D, H, H_KV, d):
        assert s["intensity"] == (s["flops"] / s["bytes"] if s["bytes"] else 0.0)
    r = {s["step"]: s for s in cost.mha_costs(1, 4096, 4096, 512, 8, 8, 64)}
    assert r["softmax"]["intensity"] == pytest.approx(5 / 8)  # 5 FLOPs per 4 bytes read + 4 written
    assert r["Q K^T"]["intensity"] > 10 * r["softmax"]["intensity"]


def test_bytes_scale_with_bytes_per_number():
    f32 = cost.mha_costs(B, T, S, D, H, H_KV, d)
    f16 = cost.mha_costs(B, T, S, D, H, H_KV, d, bytes_per_number=2)
    for a, b in zip(f32, f16):
        assert a["flops"] == b["flops"] and a["bytes"] == 2 * b["bytes"]


def test_scores_take_over_at_t_equals_2d():
    """With H_kv = H and H d = D, score matmuls / projections = T / (2 D)."""
    for t in (100, 1024, 3000):
        r = {s["step"]: s["flops"] for s in cost.mha_costs(1, t, t, 512, 8, 8, 64)}
        ratio = (r["Q K^T"] + r["weights @ V"]) / (r["q_proj"] + r["k_proj"] + r["v_proj"] + r["o_proj"])
        assert ratio == pytest.approx(t / 1024)


def test_memory_is_the_nbytes_of_the_real_arrays(pieces):
    p = pieces
    m = cost.mha_memory(B, T, S, D, H, H_KV, d)
    assert m["Q"] == p["q"].nbytes and m["K"] == p["k"].nbytes and m["V"] == p["v"].nbytes
    assert m["scores"] == p["scores"].nbytes and m["weights"] == p["weights"].nbytes
    assert m["output"] == p["out"].nbytes
    for name in "qkvo":
        assert m[f"W_{name}"] == p["w"][name].nbytes


@pytest.mark.parametrize("fn", [cost.mha_costs, cost.mha_memory])
@pytest.mark.parametrize("sizes, message", [
    ((0, T, S, D, H, H_KV, d), "B must be a positive integer"),
    ((B, 2.5, S, D, H, H_KV, d), "T must be a positive integer"),
    ((B, T, S, D, 6, 4, d), r"H = 6 is not a multiple of H_kv = 4"),
    ((B, T, S, D, H, H_KV, -1), "d must be a positive integer"),
])
def test_bad_sizes_raise(fn, sizes, message):
    with pytest.raises(ValueError, match=message):
        fn(*sizes)


def test_best_times_alternates_and_returns_one_time_per_function():
    calls = []
    times = cost.best_times([lambda: calls.append("a"), lambda: calls.append("b")], repeats=3, number=2)
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] * 3  # a warm-up each, then turns
    assert len(times) == 2 and all(t >= 0 for t in times)


def test_best_times_keeps_the_best_run():
    durations = iter([0.0, 0.02, 0.001, 0.01])  # the warm-up, then three timed runs

    def sleepy():
        import time
        time.sleep(next(durations))

    (best,) = cost.best_times([sleepy], repeats=3)
    assert 0.001 <= best < 0.009


@pytest.mark.parametrize("repeats, number", [(0, 1), (1, 0)])
def test_best_times_rejects_bad_counts(repeats, number):
    with pytest.raises(ValueError, match="must be a positive integer"):
        cost.best_times([lambda: None], repeats=repeats, number=number)


def test_peak_bytes_sees_numpy_arrays():
    n = 1_000_000
    peak = cost.peak_bytes(lambda: np.ones(n, dtype=np.float32))
    assert n * 4 <= peak < n * 4 + 100_000
    assert cost.peak_bytes(lambda: None) < 10_000
    assert not tracemalloc.is_tracing()  # it stops what it started


def test_peak_bytes_is_the_maximum_not_the_end():
    def temporary():
        a = np.ones(500_000)  # 4 MB, freed before returning
        del a
        return np.ones(10)
    assert cost.peak_bytes(temporary) >= 4_000_000


def test_peak_bytes_refuses_to_run_inside_tracemalloc():
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="already tracing"):
            cost.peak_bytes(lambda: None)
    finally:
        tracemalloc.stop()


def test_peak_bytes_stops_tracing_when_fn_raises():
    def boom():
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError):
        cost.peak_bytes(boom)
    assert not tracemalloc.is_tracing()


def test_median_times_alternates_and_returns_one_time_per_function():
    calls = []
    times = cost.median_times([lambda: calls.append("a"), lambda: calls.append("b")], repeats=3, number=2)
    assert calls == ["a", "b"] + ["a", "a", "b", "b"] * 3  # a warm-up each, then turns
    assert len(times) == 2 and all(t >= 0 for t in times)


def test_median_times_keeps_the_median_run():
    durations = iter([0.0, 0.05, 0.001, 0.012])  # the warm-up, then three timed runs

    def sleepy():
        import time
        time.sleep(next(durations))

    (median,) = cost.median_times([sleepy], repeats=3)
    assert 0.012 <= median < 0.04  # neither the slow run nor the fast one


def test_median_times_limits_blas_threads_while_timing():
    from threadpoolctl import threadpool_info

    seen = []

    def record():
        seen.extend(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")

    cost.median_times([record], repeats=1, threads=1)
    assert seen and set(seen) == {1}


@pytest.mark.parametrize("kwargs", [dict(repeats=0), dict(number=0), dict(threads=0)])
def test_median_times_rejects_bad_counts(kwargs):
    with pytest.raises(ValueError, match="must be a positive integer"):
        cost.median_times([lambda: None], **kwargs)
