"""Benchmark multi_head_attention, tiled attention and SmolLM2 generation (`make bench`).

Prints the BLAS in use, the OpenBLAS tuning variables, the forward time and
effective GFLOP/s of helpers.multi_head_attention at B=8, T=512, D=512, H=8
(float32), numpy's float32 2048x2048 matmul GFLOP/s, and
`mha_vs_matmul_ratio: X.XX`. Everything is measured in this one process,
best of several repeats after a warm-up. This is not a test.

Then (chapter 12) the peak memory, measured with tracemalloc, of
helpers.tiled.tiled_attention against scaled_dot_product_attention at
T = S = 4096, d = 64, float32: `tiled_vs_sdpa_peak_memory_ratio: X.XX`.

Then (chapter 13) greedy generation with SmolLM2-135M-Instruct, numpy
(helpers.smollm2, KV cache) against the reference implementation
(transformers + PyTorch CPU, KV cache, 2 threads) on the same prompt ids and
the same number of new tokens (EOS ignored, so both make exactly that many).
Tokens per second = new tokens / wall time of one whole generation, prompt
prefill included, loading excluded; best of a few runs that alternate between
numpy and PyTorch. PyTorch runs in this process if it imports, else in
.venv-ref through tests/reference/bench_reference.py, else it is skipped:
`numpy_tokens_per_s`, `reference_tokens_per_s`, `tokens_per_s_ratio`
(numpy / reference). Last, informational: a rough memory bandwidth from a
large numpy copy and the tokens/s it allows when every float32 weight is
read once per token.
"""

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import helpers
from helpers import checkpoints, cost, smollm2
from helpers.cost import best_times, peak_bytes
from helpers.tiled import tiled_attention

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_SCRIPT = ROOT / "tests" / "reference" / "bench_reference.py"
REFERENCE_PYTHON = ROOT / ".venv-ref" / "bin" / "python"
TILED_T, TILED_D, TILED_BLOCK = 4096, 64, 128
NEW_TOKENS = 32
GEN_REPEATS = 5
PROMPT = "What is the capital of France?"

B, T, D, H = 8, 512, 512, 8
N = 2048
REPEATS = 10


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
    """FLOPs of one multi_head_attention forward pass: its matrix products (softmax ignored).

    Counted by helpers.cost.mha_costs, the per-step formulas chapter 12 teaches.
    """
    return sum(step["flops"] for step in cost.mha_costs(b, t, s, d_model, h, h_kv, d) if step["step"] != "softmax")


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

    t_mha, t_mm = best_times(repeats=REPEATS, fns=[
        lambda: helpers.multi_head_attention(x, w_q, w_k, w_v, w_o, num_heads=H),
        lambda: a @ b,
    ])
    gflops_mha = mha_flops(B, T, T, D, H, H, D // H) / t_mha / 1e9
    gflops_mm = 2 * N**3 / t_mm / 1e9
    print(f"mha forward B={B} T={T} D={D} H={H} float32: {t_mha * 1e3:.1f} ms, {gflops_mha:.1f} GFLOP/s")
    print(f"numpy matmul {N}x{N} float32: {t_mm * 1e3:.1f} ms, {gflops_mm:.1f} GFLOP/s")
    print(f"mha_vs_matmul_ratio: {gflops_mha / gflops_mm:.2f}")

    bench_tiled(rng)
    bench_generation()


# ---------------------------------------------------------------- chapter 12: tiled attention


def bench_tiled(rng):
    q, k, v = (rng.standard_normal((TILED_T, TILED_D), dtype=np.float32) for _ in range(3))
    # The untiled helper also returns the (T, S) weights: holding them is its real cost.
    sdpa = peak_bytes(lambda: helpers.scaled_dot_product_attention(q, k, v))
    tiled = peak_bytes(lambda: tiled_attention(q, k, v, block_size=TILED_BLOCK))
    print(f"attention T=S={TILED_T} d={TILED_D} float32, peak memory: scaled_dot_product_attention "
          f"{sdpa / 1e6:.1f} MB, tiled_attention (block {TILED_BLOCK}) {tiled / 1e6:.1f} MB")
    print(f"tiled_vs_sdpa_peak_memory_ratio: {tiled / sdpa:.2f}")


# ---------------------------------------------------------------- chapter 13: SmolLM2 generation


class ReferenceProcess:
    """tests/reference/bench_reference.py running in .venv-ref: each call times one generation (seconds)."""

    def __init__(self, ids):
        self.stderr = tempfile.TemporaryFile(mode="w+")  # transformers' progress bars; shown if it fails
        self.proc = subprocess.Popen(
            [str(REFERENCE_PYTHON), str(REFERENCE_SCRIPT), "--ids", ",".join(map(str, ids)), "--new-tokens", str(NEW_TOKENS)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True, cwd=ROOT)
        if self.proc.stdout.readline().strip() != "ready":  # the model is loaded and warmed up
            self._fail()

    def __call__(self):
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            self._fail()
        return float(line)

    def close(self):
        self.proc.stdin.close()  # the script exits at the end of its input
        self.proc.wait(timeout=60)
        self.stderr.close()

    def _fail(self):
        self.proc.kill()
        self.proc.wait()
        self.stderr.seek(0)
        tail = " | ".join(self.stderr.read().strip().splitlines()[-3:])
        raise SystemExit(f"the reference benchmark {REFERENCE_SCRIPT.name} failed: {tail}")


def torch_reference(ids):
    """(function timing one reference generation in seconds, close function, where it runs), or (None, None, why not)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        sys.path.insert(0, str(REFERENCE_SCRIPT.parent))
        import bench_reference

        model = bench_reference.load_reference_model()
        bench_reference.time_generation(model, ids, NEW_TOKENS)  # warm-up
        return (lambda: bench_reference.time_generation(model, ids, NEW_TOKENS)), (lambda: None), "in this process"
    if not REFERENCE_PYTHON.exists():
        return None, None, "torch not installed; run make reference to create .venv-ref"
    proc = ReferenceProcess(ids)
    return proc, proc.close, f"subprocess {REFERENCE_PYTHON.relative_to(ROOT)}"


def copy_bandwidth(n_bytes=512 * 2**20, repeats=3):
    """Rough memory bandwidth in bytes/s: best time to copy n_bytes of float32 (read + write)."""
    a = np.ones(n_bytes // 4, dtype=np.float32)
    b = np.empty_like(a)
    (t,) = best_times([lambda: np.copyto(b, a)], repeats)
    return 2 * n_bytes / t


def bench_generation():
    try:
        config, weights = checkpoints.load_smollm2()
        ids = checkpoints.smollm2_prompt_ids(PROMPT).tolist()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        reason = str(exc).splitlines()[0]
        print(f"numpy_tokens_per_s: skipped ({reason})")
        print(f"reference_tokens_per_s: skipped ({reason})")
        print("tokens_per_s_ratio: skipped")
        return
    weights = smollm2.fuse_weights(weights)  # once, as generate would do; not timed

    def numpy_run():
        start = time.perf_counter()
        new_ids = smollm2.generate(ids, weights, config, NEW_TOKENS, eos_ids=())
        seconds = time.perf_counter() - start
        if len(new_ids) != NEW_TOKENS:
            raise SystemExit(f"numpy generated {len(new_ids)} tokens, expected {NEW_TOKENS}")
        return seconds

    numpy_run()  # warm-up
    reference, close_reference, where = torch_reference(ids)
    t_numpy, t_ref = float("inf"), float("inf")
    for _ in range(GEN_REPEATS):  # alternate, so that load from other processes hits both alike
        time.sleep(0.5)  # let the other side's idle BLAS/OpenMP threads stop spinning first
        t_numpy = min(t_numpy, numpy_run())
        if reference is not None:
            time.sleep(0.5)
            t_ref = min(t_ref, reference())
    if reference is not None:
        close_reference()
    (t_prefill,) = best_times([lambda: smollm2.forward(ids, weights, config, smollm2.new_cache(config, len(ids)),
                                                       last_only=True)], 3)

    print(f"SmolLM2-135M greedy generation, prompt {len(ids)} tokens, {NEW_TOKENS} new tokens (EOS ignored), "
          f"KV cache, float32; time = prefill + {NEW_TOKENS} tokens, best of {GEN_REPEATS}")
    print(f"numpy: {t_numpy:.3f} s (of which prefill about {t_prefill * 1e3:.0f} ms)")
    print(f"numpy_tokens_per_s: {NEW_TOKENS / t_numpy:.1f}")
    if reference is None:
        print(f"reference_tokens_per_s: skipped ({where})")
        print("tokens_per_s_ratio: skipped")
    else:
        print(f"reference (transformers + torch CPU, 2 threads, {where}): {t_ref:.3f} s")
        print(f"reference_tokens_per_s: {NEW_TOKENS / t_ref:.1f}")
        print(f"tokens_per_s_ratio: {t_ref / t_numpy:.2f}")

    # What limits decoding: every weight is read from memory once per token.
    layer_bytes = sum(a.nbytes for layer in weights["layers"].values() for a in layer.values())
    per_token = layer_bytes + weights["lm_head"].nbytes + weights["norm"].nbytes
    bandwidth = copy_bandwidth()
    print(f"weights read per token: {per_token / 1e6:.0f} MB (float32; the embedding lookup reads one row)")
    print(f"memory bandwidth (numpy copy of 512 MB, read + write): {bandwidth / 1e9:.1f} GB/s")
    print(f"bandwidth-bound upper limit: {bandwidth / per_token:.1f} tokens/s "
          f"(rough: a large L3 cache can hold part of the weights)")


if __name__ == "__main__":
    main()
