"""Tests for the chapter 9 exercise checks (learning q, k, v): right answers pass, each kind of wrong answer gets its own message."""

import numpy as np
import pytest

import helpers
from helpers import exercises
from verdicts import run

_rng = np.random.default_rng(9)

# ---------------------------------------------------------------- check_softmax_backward
# T = 3 queries, S = 4 keys (T != S, so a transposed answer changes the shape); one masked key.
_MASK = np.array([[True, True, False, True], [True] * 4, [True] * 4])
A = helpers.softmax(np.where(_MASK, _rng.normal(size=(3, 4)), -np.inf))
DA = _rng.normal(size=(3, 4))
DZ = helpers.grad.softmax_backward(A, DA)


def test_softmax_backward_accepts_every_correct_form(capsys):
    jac = np.einsum("ti,ij->tij", A, np.eye(4)) - np.einsum("ti,tj->tij", A, A)  # one Jacobian per row
    a32, da32 = A.astype(np.float32), DA.astype(np.float32)
    loops = [[A[t, j] * (DA[t, j] - sum(A[t, i] * DA[t, i] for i in range(4))) for j in range(4)] for t in range(3)]
    for answer in (DZ, a32 * (da32 - (a32 * da32).sum(-1, keepdims=True)), np.einsum("ti,tij->tj", DA, jac), loops):
        ok, line = run(capsys, exercises.check_softmax_backward, answer, A, DA)
        assert ok and line.startswith("Correct:") and "(3, 4)" in line
    assert DZ[0, 2] == 0  # the masked key gets exactly no gradient


@pytest.mark.parametrize("answer, text", [
    (A * DA, "only the diagonal of the Jacobian"),
    (DA, "equals d_weights"),
    (-DZ, "wrong sign"),
    (DA - (A * DA).sum(-1, keepdims=True), "missing the factor a_j"),
    (A * (DA - DA.sum(-1, keepdims=True)), "plain sum of da"),
    (A * (DA - (A * DA).sum(0, keepdims=True)), "wrong axis"),
    (DZ.T, "(4, 3) but expected (T, S) = (3, 4): that is (S, T), transposed"),
    (np.einsum("ti,ij->tij", A, np.eye(4)) - np.einsum("ti,tj->tij", A, A), "one Jacobian per row"),
    (DZ + 0.1, "must sum to 0"),
    (DZ[:, ::-1], "right shape and rows summing to 0, but wrong values"),
])
def test_softmax_backward_names_each_mistake(capsys, answer, text):
    ok, line = run(capsys, exercises.check_softmax_backward, answer, A, DA)
    assert not ok and text in line


def test_softmax_backward_hint_adds_a_nudge_without_the_code(capsys):
    plain = run(capsys, exercises.check_softmax_backward, A * DA, A, DA)[1]
    hinted = run(capsys, exercises.check_softmax_backward, A * DA, A, DA, hint=True)[1]
    assert hinted.startswith(plain) and "Hint:" in hinted
    assert ".sum(" not in plain and "keepdims" not in hinted


# ---------------------------------------------------------------- check_finite_difference
# T = 3, S = 5, d_k = 4, d_v = 2: no two sizes equal.
Q, K, V = _rng.normal(size=(3, 4)), _rng.normal(size=(5, 4)), _rng.normal(size=(5, 2))
D_OUT = _rng.normal(size=(3, 2))
DQ = helpers.grad.scaled_dot_product_attention_backward(Q, K, V, D_OUT)[0]


def loss(q):
    return float(np.sum(D_OUT * helpers.scaled_dot_product_attention(q, K, V)[0]))


def fd(step=1e-6, central=True, divide=None, dtype=np.float64):
    q = Q.astype(dtype)
    g = np.zeros_like(q)
    for idx in np.ndindex(*q.shape):
        plus, minus = q.copy(), q.copy()
        plus[idx] += dtype(step)
        if central:
            minus[idx] -= dtype(step)
        g[idx] = (loss(plus) - loss(minus)) / (divide or (2 * step if central else step))
    return g


def test_finite_difference_accepts_estimates_and_the_exact_gradient(capsys):
    a = helpers.scaled_dot_product_attention(Q, K, V)[1]
    dz = helpers.grad.softmax_backward(a, D_OUT @ V.T)
    for answer in (fd(), fd(step=1e-4), fd(central=False), fd().astype(np.float32), DQ,
                   np.einsum("ts,sd->td", dz, K) / 2, fd().tolist()):
        ok, line = run(capsys, exercises.check_finite_difference, answer, Q, K, V, D_OUT)
        assert ok and line.startswith("Correct:") and "(3, 4)" in line


@pytest.mark.parametrize("answer, text", [
    (fd(divide=1e-6), "twice the gradient"),
    (fd(central=False, divide=2e-6), "half the gradient"),
    (-fd(), "wrong sign"),
    (fd(step=0.1), "step h is too large"),
    (fd(dtype=np.float32, step=1e-6), "in float32"),  # float32 steps of 1e-6 drown in rounding
    (np.where(np.arange(12).reshape(3, 4) < 4, fd(), 0.0), "nudge every entry"),
    (fd().T, "(4, 3) but expected (T, d_k) = (3, 4): that is (d_k, T), transposed"),
    (D_OUT, "the shape of the output"),
    (np.float64(DQ[0, 0]), "one number"),
    (np.ones((3, 4)), "far from the gradient"),
])
def test_finite_difference_names_each_mistake(capsys, answer, text):
    ok, line = run(capsys, exercises.check_finite_difference, answer, Q, K, V, D_OUT)
    assert not ok and text in line


# ---------------------------------------------------------------- check_circuit_matches
# 5 tokens whose circuit's row maxima follow the cycle 0 -> 2 -> 4 -> 1 -> 3 -> 0.
_ORDER = np.array([2, 3, 4, 0, 1])
E = np.eye(5, 6) + 0.1 * _rng.normal(size=(5, 6))
_M = np.linalg.pinv(E) @ (3 * np.eye(5)[_ORDER] + 0.3 * _rng.normal(size=(5, 5))) @ np.linalg.pinv(E).T
_U, _S, _VT = np.linalg.svd(_M)
W_Q, W_K = _U[:, :5] * np.sqrt(_S[:5]), _VT[:5].T * np.sqrt(_S[:5])
C = (E @ W_Q) @ (E @ W_K).T


def test_the_circuit_fixture_is_what_it_claims():
    np.testing.assert_array_equal(C.argmax(axis=1), _ORDER)
    assert not np.array_equal(C.argmax(axis=0), _ORDER)


def test_circuit_matches_accepts_indices_in_any_form(capsys):
    e32, q32, k32 = (a.astype(np.float32) for a in (E, W_Q, W_K))
    for answer in (_ORDER, _ORDER.tolist(), _ORDER.astype(float), ((e32 @ q32) @ (e32 @ k32).T).argmax(1),
                   np.einsum("nd,md->nm", E @ W_Q, E @ W_K).argmax(-1), helpers.softmax(C / 2).argmax(1)):
        ok, line = run(capsys, exercises.check_circuit_matches, answer, E, W_Q, W_K)
        assert ok and line.startswith("Correct: [2, 3, 4, 0, 1]")


@pytest.mark.parametrize("answer, text", [
    (C.argmax(axis=0), "down its columns"),
    (C.argmin(axis=1), "smallest score"),
    (np.arange(5), "looks for itself"),
    (C.max(axis=1), "largest scores themselves"),
    (C, "that is the whole circuit"),
    ([2, 3, 4, 0, 7], "token index 0 .. 4"),
    ([2, 3, 4], "N = 5 tokens"),
    ([2, 3, 4, 1, 0], "token 3 as a query looks for key 0, not 1"),
])
def test_circuit_matches_names_each_mistake(capsys, answer, text):
    ok, line = run(capsys, exercises.check_circuit_matches, answer, E, W_Q, W_K)
    assert not ok and text in line


def test_none_is_not_attempted(capsys):
    for check, args in ((exercises.check_softmax_backward, (A, DA)), (exercises.check_finite_difference, (Q, K, V, D_OUT)),
                        (exercises.check_circuit_matches, (E, W_Q, W_K))):
        ok, line = run(capsys, check, None, *args)
        assert not ok and line.startswith("Not attempted yet")
