"""What multi-head attention costs: FLOPs and bytes per step, memory held, time and peak memory (chapter 12).

The counts follow the steps of :func:`helpers.multi_head_attention`, with the
book's letters: B batch, T query positions, S key positions, D model width,
H query heads, H_kv key/value heads, d head width. A matrix product of
``(m, k)`` by ``(k, n)`` costs ``2 m k n`` FLOPs (one multiply and one add per
term). ``bytes_per_number`` is 4 for float32, 2 for float16, 8 for float64.

The two measuring functions, :func:`best_times` and :func:`peak_bytes`, are
what the chapter uses to check the formulas against this machine.
"""

import time
import tracemalloc

from ._checks import positive_int

__all__ = ["SOFTMAX_FLOPS_PER_SCORE", "mha_costs", "mha_memory", "best_times", "peak_bytes"]

#: FLOPs counted per score for softmax: max, subtract, exp, sum, divide.
#: (An ``exp`` costs more than one add on real hardware; this is a convention.)
SOFTMAX_FLOPS_PER_SCORE = 5


def _sizes(B, T, S, D, H, H_kv, d, bytes_per_number):
    names = ("B", "T", "S", "D", "H", "H_kv", "d", "bytes_per_number")
    values = [positive_int(v, n) for v, n in zip((B, T, S, D, H, H_kv, d, bytes_per_number), names)]
    if values[4] % values[5]:
        raise ValueError(f"H = {values[4]} is not a multiple of H_kv = {values[5]}: each key/value head "
                         "must serve a whole group of query heads")
    return values


def mha_costs(B, T, S, D, H, H_kv, d, bytes_per_number=4):
    """FLOPs and bytes moved by every step of multi-head attention (chapter 12).

    The steps are those of :func:`helpers.multi_head_attention` (no mask, no
    bias): the three projections, ``split_heads``, the scores ``Q K^T``,
    softmax, ``weights @ V``, ``merge_heads`` and ``o_proj``. Self-attention
    has S = T; cross-attention reads keys and values from S positions.

    "Bytes" is the least traffic a step needs: every input read once and
    every output written once (weights included). numpy often needs more:
    its softmax, for example, walks over the scores several times.

    Parameters
    ----------
    B, T, S, D, H, H_kv, d : int
        Batch, query positions, key positions, model width, query heads,
        key/value heads (H_kv divides H; H_kv = H is plain multi-head
        attention), head width.
    bytes_per_number : int, default 4
        4 for float32.

    Returns
    -------
    steps : list of dict, one per step, in order
        Keys ``"step"`` (name), ``"flops"`` (int), ``"bytes"`` (int, read +
        written), ``"shape"`` (the step's output shape, a tuple) and
        ``"intensity"`` (flops / bytes, FLOPs per byte; 0 for the steps that
        only move numbers). The projections are
        ``2 B T D (H d)`` (q_proj), ``2 B S D (H_kv d)`` (k_proj, v_proj each)
        and ``2 B T (H d) D`` (o_proj) FLOPs; ``Q K^T`` and ``weights @ V``
        are ``2 B H T S d`` each; softmax is
        :data:`SOFTMAX_FLOPS_PER_SCORE` x ``B H T S``.

    Raises
    ------
    ValueError
        If a size is not a positive integer or H_kv does not divide H.
    """
    B, T, S, D, H, H_kv, d, b = _sizes(B, T, S, D, H, H_kv, d, bytes_per_number)
    x, c = B * T * D, B * S * D  # the inputs of q_proj and of k_proj, v_proj
    q, kv = B * H * T * d, B * H_kv * S * d  # Q, and K or V (numbers)
    w_q, w_kv, w_o = D * H * d, D * H_kv * d, H * d * D  # weights
    scores = B * H * T * S
    rows = [  # (step, FLOPs, numbers read, numbers written, output shape)
        ("q_proj", 2 * B * T * D * H * d, x + w_q, q, (B, T, H * d)),
        ("k_proj", 2 * B * S * D * H_kv * d, c + w_kv, kv, (B, S, H_kv * d)),
        ("v_proj", 2 * B * S * D * H_kv * d, c + w_kv, kv, (B, S, H_kv * d)),
        ("split_heads", 0, 0, 0, (B, H, T, d)),  # a view: no number moves
        ("Q K^T", 2 * B * H * T * S * d, q + kv, scores, (B, H, T, S)),
        ("softmax", SOFTMAX_FLOPS_PER_SCORE * scores, scores, scores, (B, H, T, S)),
        ("weights @ V", 2 * B * H * T * S * d, scores + kv, q, (B, H, T, d)),
        ("merge_heads", 0, q, q, (B, T, H * d)),  # transpose + reshape: a copy
        ("o_proj", 2 * B * T * H * d * D, q + w_o, B * T * D, (B, T, D)),
    ]
    steps = []
    for name, flops, read, written, shape in rows:
        moved = (read + written) * b
        intensity = flops / moved if moved else 0.0
        steps.append({"step": name, "flops": flops, "bytes": moved,
                      "shape": shape, "intensity": intensity})
    return steps


def mha_memory(B, T, S, D, H, H_kv, d, bytes_per_number=4):
    """Bytes held by the activations and the weights of one multi-head attention layer (chapter 12).

    Parameters
    ----------
    B, T, S, D, H, H_kv, d : int
        As in :func:`mha_costs`.
    bytes_per_number : int, default 4

    Returns
    -------
    memory : dict of str -> int (bytes)
        Activations ``"Q"`` (B, H, T, d), ``"K"`` and ``"V"`` (B, H_kv, S, d)
        each, ``"scores"`` and ``"weights"`` (B, H, T, S) each, ``"output"``
        (B, T, D); and the parameters ``"W_q"`` (D, H d), ``"W_k"`` and
        ``"W_v"`` (D, H_kv d) each, ``"W_o"`` (H d, D). (The helpers compute
        softmax in place, so "scores" and "weights" share one array there.)

    Raises
    ------
    ValueError
        If a size is not a positive integer or H_kv does not divide H.
    """
    B, T, S, D, H, H_kv, d, b = _sizes(B, T, S, D, H, H_kv, d, bytes_per_number)
    numbers = {
        "Q": B * H * T * d, "K": B * H_kv * S * d, "V": B * H_kv * S * d,
        "scores": B * H * T * S, "weights": B * H * T * S, "output": B * T * D,
        "W_q": D * H * d, "W_k": D * H_kv * d, "W_v": D * H_kv * d, "W_o": H * d * D,
    }
    return {name: n * b for name, n in numbers.items()}


def best_times(fns, repeats=5, number=1):
    """Seconds per call of each function, best of ``repeats`` runs (chapter 12).

    Each run calls a function ``number`` times (use ``number`` > 1 for calls
    too short to time one by one). The functions take turns (f0, f1, ...,
    f0, f1, ...), so a burst of load from other programs slows all of them
    alike and their ratios stay fair. The best run is the one least
    disturbed, so it is the most repeatable. Each function is called once
    first, untimed (a warm-up).

    Parameters
    ----------
    fns : sequence of callables taking no arguments
    repeats, number : int

    Returns
    -------
    seconds : list of float, one per function
    """
    repeats = positive_int(repeats, "repeats")
    number = positive_int(number, "number")
    fns = list(fns)
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            best[i] = min(best[i], (time.perf_counter() - start) / number)
    return best


def peak_bytes(fn):
    """Peak bytes allocated while ``fn()`` runs (chapter 12).

    Measured with :mod:`tracemalloc`, which numpy reports its array
    allocations to. The count starts from zero when ``fn`` starts, so arrays
    that already exist do not count, and whatever ``fn`` returns does.
    Allocations by other threads count too (in Jupyter, sending printed
    output), so measure first and print afterwards. tracemalloc must not be
    running already.

    Returns
    -------
    peak : int
    """
    if tracemalloc.is_tracing():
        raise ValueError("tracemalloc is already tracing: stop it first, "
                         "peak_bytes starts its own count")
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
