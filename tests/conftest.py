"""Shared fixtures for the helper tests: a seeded rng, a loop reference for attention, and the real models.

The reference is handed out as a fixture (not imported from this file),
because other test folders have a conftest.py of their own.

Every test module picks shapes where no two sizes are equal (T != H,
S != T, d_in != d_out, D != H*d): a transposition bug then changes a shape
or mixes different numbers, and a test notices.
"""

import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

REFERENCE = Path(__file__).resolve().parent / "reference"

# Property-based tests (hypothesis, pinned in requirements.txt) are deterministic: derandomize=True
# derives every example from the test itself, so a run never flakes and a failure reproduces
# everywhere; no example database is written. HYPOTHESIS_PROFILE=dev explores new random
# examples locally (more of them, and a different draw each run).
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          max_examples=60, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng():
    """A fresh, seeded generator for every test: tests never touch the global RNG."""
    return np.random.default_rng(20240601)


@pytest.fixture(scope="session")
def minilm_ref():
    """The all-MiniLM-L6-v2 reference activations (transformers on PyTorch), tests/reference/."""
    with np.load(REFERENCE / "minilm_layer0.npz") as f:
        return dict(f)


@pytest.fixture(scope="session")
def smollm2_ref():
    """The SmolLM2-135M reference activations, logits and greedy tokens, tests/reference/."""
    with np.load(REFERENCE / "smollm2_layer0.npz") as f:
        return dict(f)


@pytest.fixture(scope="session")
def minilm():
    """(config, weights) of all-MiniLM-L6-v2 in the course's layout, loaded once per test session."""
    from helpers import checkpoints
    return checkpoints.load_minilm()


@pytest.fixture(scope="session")
def smollm2_model():
    """(config, weights) of SmolLM2-135M, all 30 layers (a few seconds), loaded once per test session."""
    from helpers import checkpoints
    return checkpoints.load_smollm2()


@pytest.fixture(scope="session")
def naive_attention():
    """The loop reference :func:`_naive_attention`."""
    return _naive_attention


def _naive_attention(q, k, v, mask=None, scale=None):
    """Reference attention: explicit loops over the batch entries and queries, math.exp for the softmax.

    q (..., T, d_k), k (..., S, d_k), v (..., S, d_v), mask bool broadcastable to (..., T, S).
    Returns float64 (out (..., T, d_v), weights (..., T, S)); a query with no allowed key stays 0.
    """
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    n_q, d_k = q.shape[-2:]
    n_kv, d_v = v.shape[-2:]
    scale = 1.0 / math.sqrt(d_k) if scale is None else scale
    q = np.broadcast_to(q, batch + (n_q, d_k))
    k = np.broadcast_to(k, batch + (n_kv, d_k))
    v = np.broadcast_to(v, batch + (n_kv, d_v))
    allowed = np.ones(batch + (n_q, n_kv), bool) if mask is None else np.broadcast_to(mask, batch + (n_q, n_kv))
    out = np.zeros(batch + (n_q, d_v))
    weights = np.zeros(batch + (n_q, n_kv))
    for idx in np.ndindex(*batch):
        for i in range(n_q):
            keys = [j for j in range(n_kv) if allowed[idx + (i, j)]]
            if not keys:
                continue
            scores = {j: scale * sum(q[idx + (i, c)] * k[idx + (j, c)] for c in range(d_k)) for j in keys}
            top = max(scores.values())
            exps = {j: math.exp(s - top) for j, s in scores.items()}
            total = sum(exps.values())
            for j in keys:
                weights[idx + (i, j)] = exps[j] / total
                out[idx + (i,)] += weights[idx + (i, j)] * v[idx + (j,)]
    return out, weights
