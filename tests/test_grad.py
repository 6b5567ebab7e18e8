"""Tests for helpers.grad (chapter 9): every gradient against central finite differences in float64.

The finite differences only call the *forward* helpers, so they are an
independent reference for the backward passes: a wrong transpose, a missing
sum over broadcast axes or over the query heads of a GQA group, or a NaN in a
dead row changes the numbers and fails the comparison. The bar is a relative
error of at most 1e-6, as the chapter promises.
"""

import numpy as np
import pytest

import helpers
from helpers import grad
from helpers.norms import rms_norm

from gradcheck import check_against_fd

T, S, H, D, d = 5, 7, 3, 10, 4  # no two equal; D != H*d


# ---------------------------------------------------------------- sum_to_shape and softmax_backward


def test_sum_to_shape_sums_broadcast_axes(rng):
    g = rng.standard_normal((2, 3, T, S))
    np.testing.assert_allclose(grad.sum_to_shape(g, (T, S)), g.sum(axis=(0, 1)))
    np.testing.assert_allclose(grad.sum_to_shape(g, (3, 1, S)), g.sum(axis=0).sum(axis=1, keepdims=True))
    assert grad.sum_to_shape(g, g.shape) is g


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_backward_matches_finite_differences(rng, axis):
    scores = rng.standard_normal((3, T, S)) * 2
    r = rng.standard_normal((3, T, S))

    def loss(scores):
        return float((helpers.softmax(scores, axis=axis) * r).sum())

    weights = helpers.softmax(scores, axis=axis)
    check_against_fd(loss, {"scores": scores}, {"scores": grad.softmax_backward(weights, r, axis=axis)})


def test_softmax_backward_is_the_jacobian_of_chapter_4(rng):
    """ds = J^T da with J = diag(a) - a a^T, built explicitly for one row."""
    a = helpers.softmax(rng.standard_normal(S))
    da = rng.standard_normal(S)
    jacobian = np.diag(a) - np.outer(a, a)  # (S, S), symmetric
    np.testing.assert_allclose(grad.softmax_backward(a, da), jacobian.T @ da, rtol=1e-12, atol=1e-15)


def test_softmax_backward_dead_row_is_zero(rng):
    scores = rng.standard_normal((T, S))
    scores[2] = -np.inf  # every key masked: weights 0
    weights = helpers.softmax(scores)
    d_scores = grad.softmax_backward(weights, rng.standard_normal((T, S)))
    assert np.all(np.isfinite(d_scores))
    assert np.all(d_scores[2] == 0)


def test_softmax_backward_rows_sum_to_zero(rng):
    """Adding a constant to a row does not change softmax, so the gradient of each row sums to 0."""
    weights = helpers.softmax(rng.standard_normal((T, S)))
    d_scores = grad.softmax_backward(weights, rng.standard_normal((T, S)))
    np.testing.assert_allclose(d_scores.sum(axis=-1), 0, atol=1e-15)


# ---------------------------------------------------------------- scaled dot-product attention


def sdpa_case(rng, q_batch, kv_batch, d_v=3):
    q = rng.standard_normal(q_batch + (T, d))
    k = rng.standard_normal(kv_batch + (S, d))
    v = rng.standard_normal(kv_batch + (S, d_v))
    batch = np.broadcast_shapes(q_batch, kv_batch)
    return q, k, v, rng.standard_normal(batch + (T, d_v))


def random_mask(rng, shape, dead_row=None):
    mask = rng.random(shape) < 0.6
    mask[..., 0] = True  # every row keeps one key ...
    if dead_row is not None:
        mask[..., dead_row, :] = False  # ... except this one
    return mask


@pytest.mark.parametrize("q_batch, kv_batch", [((), ()), ((2,), (2,)), ((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (4,))])
@pytest.mark.parametrize("masked", [False, True])
def test_sdpa_backward_matches_finite_differences(rng, q_batch, kv_batch, masked):
    """Cross-attention shapes (S != T), broadcast leading axes, with and without a mask."""
    q, k, v, r = sdpa_case(rng, q_batch, kv_batch)
    mask = random_mask(rng, (T, S), dead_row=1) if masked else None

    def loss(q, k, v):
        return float((helpers.scaled_dot_product_attention(q, k, v, mask=mask)[0] * r).sum())

    dq, dk, dv = grad.scaled_dot_product_attention_backward(q, k, v, r, mask=mask)
    check_against_fd(loss, {"q": q, "k": k, "v": v}, {"q": dq, "k": dk, "v": dv})


def test_sdpa_backward_custom_scale(rng):
    q, k, v, r = sdpa_case(rng, (2,), (2,))

    def loss(q, k, v):
        return float((helpers.scaled_dot_product_attention(q, k, v, scale=0.3)[0] * r).sum())

    dq, dk, dv = grad.scaled_dot_product_attention_backward(q, k, v, r, scale=0.3)
    check_against_fd(loss, {"q": q, "k": k, "v": v}, {"q": dq, "k": dk, "v": dv})


def test_sdpa_backward_dead_rows_get_zero_gradients(rng):
    """A query with no allowed key: zero dq, and it sends nothing to dk and dv. Never NaN."""
    q, k, v, r = sdpa_case(rng, (2,), (2,))
    mask = np.ones((2, T, S), dtype=bool)
    mask[0, 3] = False  # query 3 of sequence 0 sees nothing
    mask[1] = False  # sequence 1 is all padding: every row dead
    dq, dk, dv = grad.scaled_dot_product_attention_backward(q, k, v, r, mask=mask)
    for g in (dq, dk, dv):
        assert np.all(np.isfinite(g))
    assert np.all(dq[0, 3] == 0)
    assert np.all(dq[1] == 0) and np.all(dk[1] == 0) and np.all(dv[1] == 0)
    # Sequence 0 without its dead row: the same gradients as if row 3 were not there.
    keep = [0, 1, 2, 4]
    dq0, dk0, dv0 = grad.scaled_dot_product_attention_backward(q[0, keep], k[0], v[0], r[0, keep])
    np.testing.assert_allclose(dq[0, keep], dq0, rtol=1e-12)
    np.testing.assert_allclose(dk[0], dk0, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dv[0], dv0, rtol=1e-12, atol=1e-15)


def test_sdpa_backward_masked_key_gets_no_gradient(rng):
    q, k, v, r = sdpa_case(rng, (), ())
    mask = np.ones((T, S), dtype=bool)
    mask[:, 4] = False  # no query may see key 4
    _, dk, dv = grad.scaled_dot_product_attention_backward(q, k, v, r, mask=mask)
    assert np.all(dk[4] == 0) and np.all(dv[4] == 0)
    assert np.all(dk[:4] != 0)


def test_sdpa_backward_float32_stays_float32(rng):
    q, k, v, r = (a.astype(np.float32) for a in sdpa_case(rng, (2,), (2,)))
    grads32 = grad.scaled_dot_product_attention_backward(q, k, v, r)
    grads64 = grad.scaled_dot_product_attention_backward(*(a.astype(np.float64) for a in (q, k, v, r)))
    for g32, g64 in zip(grads32, grads64):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- multi-head attention


def mha_inputs(rng, *, num_heads=H, num_kv_heads=None, batch=(2,), biases=False, cross=False, width=d):
    h_kv = num_heads if num_kv_heads is None else num_kv_heads
    inputs = {
        "x": rng.standard_normal(batch + (T, D)),
        "w_q": rng.standard_normal((D, num_heads * width)) / np.sqrt(D),
        "w_k": rng.standard_normal((D, h_kv * width)) / np.sqrt(D),
        "w_v": rng.standard_normal((D, h_kv * width)) / np.sqrt(D),
        "w_o": rng.standard_normal((num_heads * width, D)) / np.sqrt(num_heads * width),
    }
    if biases:
        for name, n in [("b_q", num_heads * width), ("b_k", h_kv * width), ("b_v", h_kv * width), ("b_o", D)]:
            inputs[name] = rng.standard_normal(n)
    if cross:
        inputs["context"] = rng.standard_normal(batch + (S, D))
    return inputs


MHA_CASES = {
    "mha": dict(),
    "mha, no batch axis": dict(batch=()),
    "mha, two batch axes": dict(batch=(2, 3)),
    "mha with biases": dict(biases=True),
    "gqa 4 heads, 2 kv heads": dict(num_heads=4, num_kv_heads=2),
    "mqa 3 heads, 1 kv head, biases": dict(num_kv_heads=1, biases=True),
    "cross-attention": dict(cross=True),
    "cross-attention, gqa, biases": dict(num_heads=4, num_kv_heads=2, cross=True, biases=True),
}


MHA_MASKED_CASES = [  # every case, every mask kind, GQA and cross-attention under each mask
    ("mha", "none"), ("mha", "causal"), ("mha, no batch axis", "causal"), ("mha, two batch axes", "per head"),
    ("mha with biases", "padding with a dead sequence"), ("gqa 4 heads, 2 kv heads", "causal"),
    ("gqa 4 heads, 2 kv heads", "per head"), ("mqa 3 heads, 1 kv head, biases", "padding with a dead sequence"),
    ("cross-attention", "none"), ("cross-attention", "padding with a dead sequence"),
    ("cross-attention, gqa, biases", "per head"), ("cross-attention, gqa, biases", "causal"),
]


@pytest.mark.parametrize("case, mask_kind", MHA_MASKED_CASES)
def test_mha_backward_matches_finite_differences(rng, case, mask_kind):
    kw = MHA_CASES[case]
    inputs = mha_inputs(rng, **kw)
    num_heads, num_kv_heads = kw.get("num_heads", H), kw.get("num_kv_heads")
    batch = inputs["x"].shape[:-2]
    n_kv = S if "context" in inputs else T
    if mask_kind == "causal":
        mask = helpers.causal_mask(T, n_kv)
    elif mask_kind == "padding with a dead sequence":
        lengths = np.arange(int(np.prod(batch))).reshape(batch) % (n_kv + 1)  # the first sequence is all padding
        mask = np.arange(n_kv) < lengths[..., None, None, None]  # (..., 1, 1, S)
    elif mask_kind == "per head":
        mask = random_mask(rng, batch + (num_heads, T, n_kv), dead_row=2)
    else:
        mask = None
    r = rng.standard_normal(batch + (T, D))

    def loss(**arrays):
        out, _ = helpers.multi_head_attention(**arrays, num_heads=num_heads, num_kv_heads=num_kv_heads, mask=mask)
        return float((out * r).sum())

    grads = grad.multi_head_attention_backward(**inputs, d_out=r, num_heads=num_heads, num_kv_heads=num_kv_heads,
                                               mask=mask)
    assert set(grads) == set(inputs)  # every input, the biases given and the context when given, nothing else
    check_against_fd(loss, inputs, grads)


def test_mha_backward_gqa_sums_over_the_query_heads_of_a_group(rng):
    """GQA with H_kv kv heads equals MHA whose kv weights are copied per group; the copies' gradients add up."""
    h, h_kv = 4, 2
    inputs = mha_inputs(rng, num_heads=h, num_kv_heads=h_kv)
    grads = grad.multi_head_attention_backward(**inputs, d_out=np.ones((2, T, D)), num_heads=h, num_kv_heads=h_kv)
    # The same model written as MHA: kv head g's columns copied for query heads 2g and 2g+1.
    cols = np.concatenate([np.arange(g * d, (g + 1) * d) for g in np.repeat(np.arange(h_kv), h // h_kv)])
    full = {**inputs, "w_k": inputs["w_k"][:, cols], "w_v": inputs["w_v"][:, cols]}
    full_grads = grad.multi_head_attention_backward(**full, d_out=np.ones((2, T, D)), num_heads=h)
    for name in ("w_k", "w_v"):
        summed = np.zeros_like(inputs[name])
        np.add.at(summed.T, cols, full_grads[name].T)  # add each copy's gradient back to its source column
        np.testing.assert_allclose(grads[name], summed, rtol=1e-12)
    np.testing.assert_allclose(grads["x"], full_grads["x"], rtol=1e-12)


def test_mha_backward_key_bias_gets_no_gradient(rng):
    """b_k adds q . b_k to every score of a query's row, which softmax ignores: its gradient is 0."""
    inputs = mha_inputs(rng, biases=True)
    grads = grad.multi_head_attention_backward(**inputs, d_out=rng.standard_normal((2, T, D)), num_heads=H)
    np.testing.assert_allclose(grads["b_k"], 0, atol=1e-13)
    assert np.linalg.norm(grads["b_q"]) > 1e-2  # the other biases do matter


def test_mha_backward_one_head_is_sdpa_backward(rng):
    inputs = mha_inputs(rng, num_heads=1, batch=())
    r = rng.standard_normal((T, D))
    grads = grad.multi_head_attention_backward(**inputs, d_out=r, num_heads=1)
    x = inputs["x"]
    q, k, v = (x @ inputs[w] for w in ("w_q", "w_k", "w_v"))
    out, _ = helpers.scaled_dot_product_attention(q, k, v)
    dq, dk, dv = grad.scaled_dot_product_attention_backward(q, k, v, r @ inputs["w_o"].T)
    np.testing.assert_allclose(grads["w_o"], out.T @ r, rtol=1e-12)
    np.testing.assert_allclose(grads["w_q"], x.T @ dq, rtol=1e-12)
    np.testing.assert_allclose(grads["x"], dq @ inputs["w_q"].T + dk @ inputs["w_k"].T + dv @ inputs["w_v"].T,
                               rtol=1e-12)


def test_mha_backward_broadcast_context(rng):
    """x (T, D) without a batch axis against a batched context (B, S, D): each gradient keeps its input's shape."""
    inputs = mha_inputs(rng, batch=(), cross=True)
    inputs["context"] = rng.standard_normal((2, S, D))
    r = rng.standard_normal((2, T, D))

    def loss(**arrays):
        return float((helpers.multi_head_attention(**arrays, num_heads=H)[0] * r).sum())

    check_against_fd(loss, inputs, grad.multi_head_attention_backward(**inputs, d_out=r, num_heads=H))


# ---------------------------------------------------------------- linear, RMSNorm, cross-entropy


@pytest.mark.parametrize("batch", [(), (2,), (2, 3)])
@pytest.mark.parametrize("with_bias", [False, True])
def test_linear_backward_matches_finite_differences(rng, batch, with_bias):
    inputs = {"x": rng.standard_normal(batch + (T, D)), "w": rng.standard_normal((D, d))}
    if with_bias:
        inputs["b"] = rng.standard_normal(d)
    r = rng.standard_normal(batch + (T, d))

    def loss(**arrays):
        return float((helpers.linear(**arrays) * r).sum())

    dx, dw, db = grad.linear_backward(inputs["x"], inputs["w"], r, b=inputs.get("b"))
    analytic = {"x": dx, "w": dw} | ({"b": db} if with_bias else {})
    assert (db is None) == (not with_bias)
    check_against_fd(loss, inputs, analytic)


@pytest.mark.parametrize("batch", [(), (2,)])
def test_rms_norm_backward_matches_finite_differences(rng, batch):
    inputs = {"x": rng.standard_normal(batch + (T, D)) * 3, "gamma": rng.standard_normal(D)}
    r = rng.standard_normal(batch + (T, D))

    def loss(x, gamma):
        return float((rms_norm(x, gamma) * r).sum())

    dx, dgamma = grad.rms_norm_backward(inputs["x"], inputs["gamma"], r)
    check_against_fd(loss, inputs, {"x": dx, "gamma": dgamma})


def test_cross_entropy_matches_a_loop(rng):
    logits = rng.standard_normal((2, T, 11)) * 3
    targets = rng.integers(0, 11, size=(2, T))
    where = rng.random((2, T)) < 0.5
    where[0, 0] = True
    picked = [(b, t) for b in range(2) for t in range(T) if where[b, t]]
    expected = np.mean([np.log(np.exp(logits[b, t]).sum()) - logits[b, t, targets[b, t]] for b, t in picked])
    np.testing.assert_allclose(grad.cross_entropy(logits, targets, where), expected, rtol=1e-12)
    all_expected = np.mean([np.log(np.exp(logits[b, t]).sum()) - logits[b, t, targets[b, t]]
                            for b in range(2) for t in range(T)])
    np.testing.assert_allclose(grad.cross_entropy(logits, targets), all_expected, rtol=1e-12)


def test_cross_entropy_backward_matches_finite_differences(rng):
    logits = rng.standard_normal((2, T, 11)) * 3
    targets = rng.integers(0, 11, size=(2, T))
    where = rng.random((2, T)) < 0.5
    where[1, 2] = True
    targets[~where] = -1  # ignored positions may hold anything

    def loss(logits):
        return grad.cross_entropy(logits, targets, where)

    d_logits = grad.cross_entropy_backward(logits, targets, where)
    assert np.all(d_logits[~where] == 0)
    np.testing.assert_allclose(d_logits[where].sum(axis=-1), 0, atol=1e-15)  # softmax minus one-hot sums to 0
    check_against_fd(loss, {"logits": logits}, {"logits": d_logits})


def test_cross_entropy_huge_logits_are_finite():
    logits = np.array([[1000.0, -1000.0, 0.0], [5.0, 5.0, 5.0]])
    loss = grad.cross_entropy(logits, np.array([1, 0]))
    np.testing.assert_allclose(loss, (2000.0 + np.log(3.0)) / 2, rtol=1e-12)
    assert np.all(np.isfinite(grad.cross_entropy_backward(logits, np.array([1, 0]))))


# ---------------------------------------------------------------- Adam


def test_adam_step_matches_the_formula_and_is_pure(rng):
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    saved = {n: p.copy() for n, p in params.items()}
    g1 = {n: rng.standard_normal(p.shape) for n, p in params.items()}
    g2 = {n: rng.standard_normal(p.shape) for n, p in params.items()}
    p1, state = grad.adam_step(params, g1, lr=0.1)
    p2, state = grad.adam_step(p1, g2, state, lr=0.1)
    assert state["t"] == 2
    for n in params:
        np.testing.assert_array_equal(params[n], saved[n])  # inputs untouched
        # step 1: m_hat = g, v_hat = g^2, so each entry moves by lr * sign(g) (up to eps)
        np.testing.assert_allclose(p1[n], saved[n] - 0.1 * g1[n] / (np.abs(g1[n]) + 1e-8), rtol=1e-12)
        m = 0.9 * 0.1 * g1[n] + 0.1 * g2[n]
        v = 0.999 * 0.001 * g1[n] ** 2 + 0.001 * g2[n] ** 2
        m_hat, v_hat = m / (1 - 0.9 ** 2), v / (1 - 0.999 ** 2)
        np.testing.assert_allclose(p2[n], p1[n] - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8), rtol=1e-12)


def test_adam_minimises_a_quadratic():
    params = {"p": np.array([3.0, -2.0])}
    state = None
    for _ in range(500):
        params, state = grad.adam_step(params, {"p": 2 * params["p"]}, state, lr=0.05)
    assert np.abs(params["p"]).max() < 1e-2


# ---------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: grad.softmax_backward(np.ones((T, S)), np.ones((T, T))),
         r"weights has shape \(5, 7\) but d_weights has shape \(5, 5\)"),
        (lambda: grad.softmax_backward(np.ones(()), np.ones(())), r"weights must have at least one axis"),
        (lambda: grad.scaled_dot_product_attention_backward(np.ones((T, d)), np.ones((S, d)), np.ones((S, 3)),
                                                            np.ones((T, 4))),
         r"d_out has shape \(5, 4\) but the attention output .* has shape \(5, 3\)"),
        (lambda: grad.scaled_dot_product_attention_backward(np.ones((T, d)), np.ones((S, 3)), np.ones((S, 3)),
                                                            np.ones((T, 3))),
         r"q has shape \(5, 4\) and k has shape \(7, 3\)"),
        (lambda: grad.scaled_dot_product_attention_backward(np.ones((T, d)), np.ones((S, d)), np.ones((S, 3)),
                                                            np.ones((T, 3)), mask=np.ones((T, T), bool)),
         r"mask has shape \(5, 5\), which does not broadcast"),
        (lambda: grad.multi_head_attention_backward(np.ones((T, D)), np.ones((D, 12)), np.ones((D, 12)),
                                                    np.ones((D, 12)), np.ones((12, D)), np.ones((T, 12)), num_heads=3),
         r"d_out has shape \(5, 12\) but the output .* has shape \(5, 10\)"),
        (lambda: grad.multi_head_attention_backward(np.ones((T, D)), np.ones((D, 12)), np.ones((D, 8)),
                                                    np.ones((D, 12)), np.ones((12, D)), np.ones((T, D)), num_heads=3),
         r"w_k has shape \(10, 8\) but should be"),
        (lambda: grad.multi_head_attention_backward(np.ones((T, D)), np.ones((D, 12)), np.ones((D, 12)),
                                                    np.ones((D, 12)), np.ones((12, D)), np.ones((T, D)), num_heads=4,
                                                    num_kv_heads=3),
         r"num_heads=4 is not divisible by num_kv_heads=3"),
        (lambda: grad.linear_backward(np.ones((T, D)), np.ones((D, d)), np.ones((T, D))),
         r"d_out has shape \(5, 10\) but the output x @ w .* has shape \(5, 4\)"),
        (lambda: grad.linear_backward(np.ones((T, D)), np.ones((d, D)), np.ones((T, D))),
         r"w has shape \(4, 10\) but x has shape \(5, 10\)"),
        (lambda: grad.linear_backward(np.ones((T, D)), np.ones((D, d)), np.ones((T, d)), b=np.ones(D)),
         r"b has shape \(10,\) but w has shape \(10, 4\)"),
        (lambda: grad.rms_norm_backward(np.ones((T, D)), np.ones(D), np.ones((T, d))),
         r"d_out has shape \(5, 4\) but x .* has shape \(5, 10\)"),
        (lambda: grad.rms_norm_backward(np.ones((T, D)), np.ones(d), np.ones((T, D))),
         r"gamma has shape \(4,\)"),
        (lambda: grad.cross_entropy(np.ones((T, 11)), np.ones(T)), r"targets must be integer token ids"),
        (lambda: grad.cross_entropy(np.ones((T, 11)), np.ones(S, int)),
         r"targets has shape \(7,\) but logits has shape \(5, 11\)"),
        (lambda: grad.cross_entropy(np.ones((T, 11)), np.full(T, 11)), r"targets must lie in 0\.\.10"),
        (lambda: grad.cross_entropy(np.ones((T, 11)), np.zeros(T, int), np.zeros(T, bool)),
         r"where selects no position"),
        (lambda: grad.cross_entropy_backward(np.ones((T, 11)), np.zeros(T, int), np.ones(T)),
         r"where must be a boolean array of shape \(5,\)"),
        (lambda: grad.adam_step({"w": np.ones(3)}, {"v": np.ones(3)}), r"grads has keys \['v'\] but params"),
        (lambda: grad.adam_step({"w": np.ones(3)}, {"w": np.ones(4)}),
         r"grads\['w'\] has shape \(4,\) but params\['w'\] has shape \(3,\)"),
    ],
)
def test_grad_helpers_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_nan_in_a_masked_value_row_never_reaches_the_gradients():
    """An unused KV-cache slot may hold anything: the backward pass hides it as the forward pass does."""
    rng = np.random.default_rng(7)
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    d_out = rng.normal(size=(3, 2))
    mask = np.ones((3, 5), bool)
    mask[:, -2:] = False  # keys 3 and 4 are never used
    clean = grad.scaled_dot_product_attention_backward(q, k, v, d_out, mask=mask)
    k_bad, v_bad = k.copy(), v.copy()
    k_bad[3], v_bad[4] = np.nan, np.inf
    dirty = grad.scaled_dot_product_attention_backward(q, k_bad, v_bad, d_out, mask=mask)
    for a, b in zip(clean, dirty):
        np.testing.assert_array_equal(a, b)
    assert not np.isnan(dirty[2]).any() and np.all(dirty[2][3:] == 0)


def test_nan_where_the_mask_allows_it_is_a_value_error():
    rng = np.random.default_rng(8)
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    v[1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        grad.scaled_dot_product_attention_backward(q, k, v, np.ones((3, 2)))


def test_multi_head_attention_backward_needs_finite_inputs():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(4, 6))
    w = [rng.normal(size=(6, 6)) for _ in range(4)]
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match="x of shape \\(4, 6\\) holds NaN or inf"):
        grad.multi_head_attention_backward(x, *w, np.ones((4, 6)), num_heads=2)
