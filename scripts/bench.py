"""Benchmark multi_head_attention against numpy's own matmul speed (`make bench`).

Prints the BLAS in use, the OpenBLAS tuning variables, the forward time and
effective GFLOP/s of helpers.multi_head_attention at B=8, T=512, D=512, H=8
(float32), numpy's float32 2048x2048 matmul GFLOP/s, and finally
`mha_vs_matmul_ratio: X.XX`. Everything is measured in this one process,
best of several repeats after a warm-up. This is not a test.
"""

import os
import platform
import time

import numpy as np

import helpers

B, T, D, H = 8, 512, 512, 8
N = 2048
REPEATS = 10


def best_times(fns, repeats=REPEATS):
    """Best wall-clock time of each function, after one warm-up run of each.

    The functions take turns, so that a burst of load from other processes
    slows all of them alike and the ratio stays fair.
    """
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def openblas_runtime():
    """Core type and thread count of the OpenBLAS loaded by numpy, via ctypes (None if not found)."""
    try:
        import ctypes

        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line and line.rstrip().endswith(".so")}
        for path in sorted(paths):
            lib = ctypes.CDLL(path)
            for prefix, suffix in (("scipy_openblas_", "64_"), ("openblas_", "64_"), ("openblas_", "")):
                corename = getattr(lib, f"{prefix}get_corename{suffix}", None)
                threads = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                if corename is not None and threads is not None:
                    corename.restype = ctypes.c_char_p
                    return f"core {corename().decode()}, {threads()} threads"
    except (OSError, AttributeError, ValueError):
        pass
    return None


def blas_info():
    """A one-line description of the BLAS numpy uses."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            return "; ".join(
                f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}, {p.get('num_threads')} threads)"
                for p in pools
            )
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        text = f"{blas.get('name')} {blas.get('version')} [{blas.get('openblas configuration', '').strip()}]"
    except Exception as exc:  # the layout of show_config is not a stable API
        text = f"unknown ({type(exc).__name__})"
    runtime = openblas_runtime()
    return text if runtime is None else f"{text}; at run time: {runtime}"


def mha_flops(b, t, s, d_model, h, h_kv, d):
    """FLOPs of one multi_head_attention forward pass (softmax ignored)."""
    d_q, d_k, d_v = h * d, h_kv * d, h_kv * d
    projections = 2 * b * t * d_model * d_q + 2 * b * s * d_model * (d_k + d_v) + 2 * b * t * (h * d) * d_model
    attention = 2 * b * h * t * s * d + 2 * b * h * t * s * d  # q k^T, then weights @ v
    return projections + attention


def main():
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"BLAS: {blas_info()}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        print(f"{var}: {os.environ.get(var, 'unset')}")

    x = rng.standard_normal((B, T, D), dtype=np.float32)
    w_q, w_k, w_v, w_o = (rng.standard_normal((D, D), dtype=np.float32) / np.float32(np.sqrt(D)) for _ in range(4))
    out, weights = helpers.multi_head_attention(x, w_q, w_k, w_v, w_o, num_heads=H)
    if out.dtype != np.float32 or weights.dtype != np.float32:
        raise SystemExit(f"multi_head_attention left float32: out {out.dtype}, weights {weights.dtype}")
    a = rng.standard_normal((N, N), dtype=np.float32)
    b = rng.standard_normal((N, N), dtype=np.float32)

    t_mha, t_mm = best_times([
        lambda: helpers.multi_head_attention(x, w_q, w_k, w_v, w_o, num_heads=H),
        lambda: a @ b,
    ])
    gflops_mha = mha_flops(B, T, T, D, H, H, D // H) / t_mha / 1e9
    gflops_mm = 2 * N**3 / t_mm / 1e9
    print(f"mha forward B={B} T={T} D={D} H={H} float32: {t_mha * 1e3:.1f} ms, {gflops_mha:.1f} GFLOP/s")
    print(f"numpy matmul {N}x{N} float32: {t_mm * 1e3:.1f} ms, {gflops_mm:.1f} GFLOP/s")
    print(f"mha_vs_matmul_ratio: {gflops_mha / gflops_mm:.2f}")


if __name__ == "__main__":
    main()
