"""Tests for chapter 9's tiny attention-only model: the tasks, the model and its gradients, training, the circuits.

The last sections train the chapter's models with helpers.recipes (one
training per task, shared by a module-scoped fixture) and assert the bars
the chapter promises:
lookup accuracy >= 99% with the QK and OV circuits' argmax on the diagonal
for >= 95% of tokens; previous-token accuracy >= 99% with the positional
circuit's argmax at offset -1 for >= 95% of positions; induction accuracy
>= 90%, a previous-token head (score >= 0.5) in layer 0, an induction head
(score >= 0.5) in layer 1, and >= 30 points lost when the previous-token
head is ablated.
"""

import contextlib

import numpy as np
import pytest

import helpers
from helpers import circuits, recipes, tasks, tiny
from helpers.norms import rms_norm

from gradcheck import check_against_fd


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """Small matrices: more BLAS threads only wait for each other (the chapter limits them too)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # slower without it, same results
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(1, user_api="blas")
    with limits:
        yield


# ---------------------------------------------------------------- tasks


def test_lookup_batch_is_a_lookup(rng):
    task = tasks.Lookup(n_keys=10, n_pairs=6)
    b = task.batch(rng, 50)
    assert b.tokens.shape == (50, 7, 2) and b.targets.shape == b.where.shape == b.attend.shape == (50, 7)
    assert task.vocab_size == 21 and len(task.token_names) == 21 and task.token_names[-1] == "?"
    np.testing.assert_array_equal(b.where, np.broadcast_to(np.arange(7) == 6, (50, 7)))  # only the query is scored
    for row in range(50):
        keys, values = b.tokens[row, :6, 0], b.tokens[row, :6, 1]
        assert len(set(keys)) == 6 and np.all(keys < 10) and np.all((values >= 10) & (values < 20))
        j = b.attend[row, 6]
        assert b.tokens[row, 6, 0] == keys[j]  # the query asks for k_i ...
        assert b.targets[row, 6] == values[j]  # ... and the answer is the value stored with it
        assert b.tokens[row, 6, 1] == task.query_token
        assert np.all(b.attend[row, :6] == -1)


def test_previous_token_batch(rng):
    task = tasks.PreviousToken(vocab_size=9, seq_len=6)
    b = task.batch(rng, 20)
    np.testing.assert_array_equal(b.targets[:, 1:], b.tokens[:, :-1])
    np.testing.assert_array_equal(b.where, np.broadcast_to(np.arange(6) >= 1, (20, 6)))
    np.testing.assert_array_equal(b.attend[0], np.arange(6) - 1)


@pytest.mark.parametrize("fixed_offset", [None, 11])
def test_induction_batch_repeats_a_segment(rng, fixed_offset):
    task = tasks.Induction(vocab_size=30, seq_len=24, min_len=3, max_len=9, fixed_offset=fixed_offset)
    b = task.batch(rng, 300)
    distances, lengths = set(), set()
    for row in range(300):
        tok, pos = b.tokens[row], np.flatnonzero(b.where[row])
        assert len(pos) >= 2 and np.all(np.diff(pos) == 1)  # L - 1 consecutive predictable positions
        lengths.add(len(pos) + 1)
        values, counts = np.unique(tok, return_counts=True)
        assert counts.max() == 2 and (counts == 2).sum() == len(pos) + 1  # only the segment repeats
        for t in pos:
            earlier = [j for j in range(t) if tok[j] == tok[t]]
            assert len(earlier) == 1  # one earlier occurrence ...
            assert b.attend[row, t] == earlier[0] + 1  # ... and the head should look just after it
            assert b.targets[row, t] == tok[t + 1] == tok[earlier[0] + 1]
        distances.add(int(pos[0] - (b.attend[row, pos[0]] - 1)))
        assert np.all(b.attend[row][~b.where[row]] == -1)
    assert lengths == set(range(3, 10))
    if fixed_offset is None:
        assert len(distances) >= 10  # the distance varies: no positional shortcut
    else:
        assert distances == {fixed_offset}  # the pitfall: always the same distance


def test_batches_are_reproducible():
    for task in (tasks.Lookup(), tasks.PreviousToken(), tasks.Induction()):
        a, b = (task.batch(np.random.default_rng(7), 4) for _ in range(2))
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: tasks.Lookup(n_keys=4, n_pairs=5), r"n_pairs=5 is larger than n_keys=4"),
        (lambda: tasks.Lookup(n_keys=0), r"n_keys must be a positive integer, got 0"),
        (lambda: tasks.PreviousToken(seq_len=1), r"seq_len must be at least 2"),
        (lambda: tasks.Induction(vocab_size=20, seq_len=24), r"vocab_size=20 is smaller than seq_len=24"),
        (lambda: tasks.Induction(max_len=13), r"need 2 <= min_len <= max_len <= seq_len / 2"),
        (lambda: tasks.Induction(min_len=6, max_len=5), r"need 2 <= min_len <= max_len"),
        (lambda: tasks.Induction(fixed_offset=9), r"fixed_offset=9 must lie in max_len\.\.seq_len - max_len = 10\.\.14"),
        (lambda: tasks.Lookup().batch(np.random.default_rng(0), 0), r"batch_size must be a positive integer"),
    ],
)
def test_tasks_reject_bad_settings(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ---------------------------------------------------------------- the model and its gradients

SMALL = dict(d_model=6, n_layers=2, n_heads=2, d_head=2)  # D != H*d


@pytest.mark.parametrize("task, norm", [(tasks.Lookup(n_keys=4, n_pairs=3), True), (tasks.Induction(12, 8, 2, 3), False)],
                         ids=["lookup (B, T, 2) tokens, RMSNorm", "induction (B, T) tokens, no norm"])
def test_loss_and_grads_match_finite_differences(rng, task, norm):
    config = tiny.TinyConfig(task.vocab_size, task.seq_len + 1, norm=norm, **SMALL)  # one position unused
    params = tiny.init_params(config, rng)
    b = task.batch(rng, 3)

    def loss(**p):
        return tiny.loss_and_grads(config, p, b.tokens, b.targets, b.where)[0]

    value, grads = tiny.loss_and_grads(config, params, b.tokens, b.targets, b.where)
    assert set(grads) == set(params)
    logits, _ = tiny.forward(config, params, b.tokens)  # the inference path gives the same loss
    np.testing.assert_allclose(value, helpers.grad.cross_entropy(logits, b.targets, b.where), rtol=1e-12)
    assert np.all(grads["pos"][-1] == 0)  # the unused position gets no gradient
    check_against_fd(loss, params, grads, floor=1e-9)


def test_forward_matches_a_hand_written_model(rng):
    """One layer, written out with the course's helpers: embeddings, RMSNorm, attention, residual, unembedding."""
    config = tiny.TinyConfig(vocab_size=11, seq_len=7, d_model=6, n_layers=1, n_heads=2, d_head=4, norm=True)
    p = tiny.init_params(config, rng)
    p["layers.0.norm"] = rng.standard_normal(6)
    tokens = rng.integers(0, 11, size=(3, 5))
    x = p["embed"][tokens] + p["pos"][:5]
    attn, weights = helpers.multi_head_attention(rms_norm(x, p["layers.0.norm"]), p["layers.0.w_q"], p["layers.0.w_k"],
                                                 p["layers.0.w_v"], p["layers.0.w_o"], num_heads=2,
                                                 mask=helpers.causal_mask(5))
    expected = rms_norm(x + attn, p["final_norm"]) @ p["unembed"]
    logits, got = tiny.forward(config, p, tokens)
    assert logits.shape == (3, 5, 11) and got[0].shape == (3, 2, 5, 5)
    np.testing.assert_allclose(logits, expected, rtol=1e-12)
    np.testing.assert_allclose(got[0], weights, rtol=1e-12)
    assert np.all(np.triu(got[0], k=1) == 0)  # causal: no weight on later positions


def test_ablate_heads_zeroes_one_heads_output(rng):
    config = tiny.TinyConfig(vocab_size=9, seq_len=6, **SMALL)
    p = tiny.init_params(config, rng)
    saved = {n: a.copy() for n, a in p.items()}
    ablated = tiny.ablate_heads(config, p, [(1, 0)])
    for n in p:
        np.testing.assert_array_equal(p[n], saved[n])  # the given params are untouched
    assert np.all(ablated["layers.1.w_o"][:2] == 0) and np.all(ablated["layers.1.w_o"][2:] == p["layers.1.w_o"][2:])
    # Every head off: the logits are those of the embeddings alone.
    silent = tiny.ablate_heads(config, p, [(layer, h) for layer in range(2) for h in range(2)])
    tokens = rng.integers(0, 9, size=(2, 6))
    expected = (p["embed"][tokens] + p["pos"]) @ p["unembed"]
    np.testing.assert_allclose(tiny.forward(config, silent, tokens)[0], expected, rtol=1e-12)


def test_train_is_deterministic_bit_for_bit():
    task = tasks.Induction()
    config = tiny.TinyConfig(task.vocab_size, task.seq_len, d_model=16, n_layers=2, n_heads=2)
    runs = [tiny.train(config, task, steps=15, seed=3, batch_size=8, snapshot_steps=(0, 7, 15)) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].losses, runs[1].losses)
    assert sorted(runs[0].snapshots) == [0, 7, 15]
    for step in (0, 7, 15):
        for n in runs[0].params:
            np.testing.assert_array_equal(runs[0].snapshots[step][n], runs[1].snapshots[step][n])
    for n in runs[0].params:
        np.testing.assert_array_equal(runs[0].snapshots[15][n], runs[0].params[n])
    other = tiny.train(config, task, steps=15, seed=4, batch_size=8)
    assert not np.array_equal(other.losses, runs[0].losses)
    assert np.all(np.isfinite(runs[0].losses))


def test_train_float32_stays_float32():
    task = tasks.PreviousToken(vocab_size=8, seq_len=5)
    config = tiny.TinyConfig(task.vocab_size, task.seq_len, d_model=8)
    run = tiny.train(config, task, steps=5, batch_size=4, dtype=np.float32)
    assert all(a.dtype == np.float32 for a in run.params.values())


def test_cosine_lr_and_moving_average():
    schedule = tiny.cosine_lr(0.1, 100, warmup=10)
    np.testing.assert_allclose([schedule(0), schedule(9), schedule(10), schedule(55)], [0.01, 0.1, 0.1, 0.05])
    assert 0 < schedule(99) < 1e-3
    np.testing.assert_allclose(tiny.moving_average([1, 2, 3, 4, 5], 2), [1.5, 2.5, 3.5, 4.5])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda c, p: tiny.forward(c, p, np.zeros((2, 9), int)), r"T=9 is longer than seq_len=6"),
        (lambda c, p: tiny.forward(c, p, np.full((2, 3), 9)), r"tokens must lie in 0\.\.8, got values from 9 to 9"),
        (lambda c, p: tiny.forward(c, p, np.zeros(3, int)), r"tokens must be integer ids of shape \(B, T\)"),
        (lambda c, p: tiny.forward(c, p, np.zeros((2, 3))), r"tokens must be integer ids .* dtype float64"),
        (lambda c, p: tiny.ablate_heads(c, p, [(2, 0)]), r"head \(2, 0\) does not exist"),
        (lambda c, p: circuits.head_weights(c, p, 0, 2), r"head \(0, 2\) does not exist"),
        (lambda c, p: circuits.qk_circuit(c, p, 0, 0, np.ones((3, 5)), np.ones((3, 6))),
         r"queries has shape \(3, 5\) but the model has D=6"),
        (lambda c, p: circuits.ov_circuit(c, p, 0, 0, np.ones(6)), r"sources must be a 2-D matrix"),
        (lambda c, p: tiny.train(c, tasks.PreviousToken(9, 6), steps=3, snapshot_steps=[4]),
         r"snapshot_steps must lie in 0\.\.steps=3"),
        (lambda c, p: tiny.TinyConfig(9, 6, d_model=6, n_heads=4), r"d_model=6 is not divisible by n_heads=4"),
        (lambda c, p: tiny.cosine_lr(0.1, 10, warmup=10), r"warmup must lie in 0\.\.steps-1"),
        (lambda c, p: tiny.moving_average([1.0, 2.0], 3), r"at least window=3 entries"),
    ],
)
def test_model_helpers_reject_bad_input(rng, call, match):
    config = tiny.TinyConfig(vocab_size=9, seq_len=6, **SMALL)
    with pytest.raises(ValueError, match=match):
        call(config, tiny.init_params(config, rng))


# ---------------------------------------------------------------- circuits and scores


def test_qk_and_ov_circuits_are_the_heads_scores_and_outputs(rng):
    """The circuits equal what the head computes: scores q . k (unscaled) and the output written per value."""
    config = tiny.TinyConfig(vocab_size=9, seq_len=6, **SMALL)
    p = tiny.init_params(config, rng)
    a, b = rng.standard_normal((4, 6)), rng.standard_normal((5, 6))
    q = helpers.split_heads(helpers.linear(a, p["layers.1.w_q"]), 2)[1]  # head 1 of layer 1: (4, d)
    k = helpers.split_heads(helpers.linear(b, p["layers.1.w_k"]), 2)[1]  # (5, d)
    np.testing.assert_allclose(circuits.qk_circuit(config, p, 1, 1, a, b), q @ k.T, rtol=1e-12)
    # Attending fully to b[j] makes head 1 add (b[j] W_v) W_o to the stream, read out by the unembedding.
    v = helpers.split_heads(helpers.linear(b, p["layers.1.w_v"]), 2)[1]
    written = helpers.merge_heads(np.stack([np.zeros_like(v), v])) @ p["layers.1.w_o"]  # head 0 silent
    np.testing.assert_allclose(circuits.ov_circuit(config, p, 1, 1, b), written @ p["unembed"], rtol=1e-12)


def test_argmax_on_diagonal():
    assert circuits.argmax_on_diagonal(np.eye(4) + 0.1) == 1.0
    shifted = np.eye(5, k=-1)  # row i peaks at column i - 1
    assert circuits.argmax_on_diagonal(shifted) == 0.2  # only row 0 (all zero, argmax 0) counts as on the diagonal
    assert circuits.argmax_on_diagonal(shifted, offset=-1) == 1.0  # rows 1..4
    late = np.eye(5, k=-1)
    late[1:, 4] = 2  # the largest entry of rows 1..4 is the last column: later than the query for rows 1..3
    assert circuits.argmax_on_diagonal(late, offset=-1) == 0.0
    # A causal query never sees later keys: rows 1..3 peak at i - 1 again; row 4 still prefers itself.
    assert circuits.argmax_on_diagonal(late, offset=-1, mask=helpers.causal_mask(5)) == 0.75
    with pytest.raises(ValueError, match=r"no row of a circuit of shape \(2, 2\) has a column at offset 5"):
        circuits.argmax_on_diagonal(np.eye(2), offset=5)
    with pytest.raises(ValueError, match=r"mask must be a boolean array of the circuit's shape \(2, 2\)"):
        circuits.argmax_on_diagonal(np.eye(2), mask=np.ones((2, 3), bool))


def test_attention_scores():
    w = np.zeros((1, 4, 4))
    w[0, 0, 0] = 1
    w[0, 1:, :] = np.array([[0.8, 0.2, 0, 0], [0.1, 0.5, 0.4, 0], [0.25, 0.25, 0.25, 0.25]])
    np.testing.assert_allclose(circuits.previous_token_score(w), (0.8 + 0.5 + 0.25) / 3)
    np.testing.assert_allclose(circuits.attention_score(w, np.array([[-1, -1, 2, 0]])), (0.4 + 0.25) / 2)
    with pytest.raises(ValueError, match=r"attend holds no position"):
        circuits.attention_score(w, np.full((1, 4), -1))
    with pytest.raises(ValueError, match=r"attend must be integer positions of shape \(B, T\) = \(1, 4\)"):
        circuits.attention_score(w, np.zeros((4,), int))


# ---------------------------------------------------------------- the trained models: the chapter's bars

D_HEADS = (1, 2, 4, 8, 16)


@pytest.fixture(scope="module")
def lookup_runs():
    """The lookup trained with each head width; d = 16 is the chapter's main model."""
    return {d: recipes.train_lookup(d) for d in D_HEADS}


def test_lookup_is_learned_and_its_circuits_are_diagonal(lookup_runs):
    task, run = lookup_runs[16]
    config, p = run.config, run.params
    held_out = task.batch(np.random.default_rng(2024), 2048)  # a stream the training never drew from
    assert tiny.accuracy(config, p, held_out) >= 0.99
    qk = circuits.qk_circuit(config, p, 0, 0, p["embed"][task.key_tokens], p["embed"][task.key_tokens])
    ov = circuits.ov_circuit(config, p, 0, 0, p["embed"][task.value_tokens])[:, task.value_tokens]
    assert circuits.argmax_on_diagonal(qk) >= 0.95  # k_i as a query looks for k_i as a key
    assert circuits.argmax_on_diagonal(ov) >= 0.95  # attending to v_j outputs v_j
    _, weights = tiny.forward(config, p, held_out.tokens)
    assert circuits.attention_score(weights[0][:, 0], held_out.attend) >= 0.9
    # Before training the circuits are not diagonal.
    p0 = run.snapshots[0]
    qk0 = circuits.qk_circuit(config, p0, 0, 0, p0["embed"][task.key_tokens], p0["embed"][task.key_tokens])
    assert circuits.argmax_on_diagonal(qk0) < 0.5
    assert tiny.accuracy(config, p0, held_out) < 0.2


def test_lookup_head_width_is_the_rank_of_the_match(lookup_runs):
    held_out = lookup_runs[16][0].batch(np.random.default_rng(2024), 2048)
    acc = {}
    for d, (_, run) in lookup_runs.items():
        w_q, w_k, _, _ = circuits.head_weights(run.config, run.params, 0, 0)
        sv = np.linalg.svd(w_q @ w_k.T, compute_uv=False)  # (D,) singular values of the (D, D) QK matrix
        assert np.all(sv[d:] <= 1e-10 * sv[0])  # rank <= d
        assert sv[d - 1] > 1e-3 * sv[0]  # and the model uses all d directions
        acc[d] = tiny.accuracy(run.config, run.params, held_out)
    assert acc[1] < 0.3 and acc[16] >= 0.99
    assert all(acc[a] <= acc[b] + 0.005 for a, b in zip(D_HEADS, D_HEADS[1:]))  # wider heads, better lookup


@pytest.fixture(scope="module")
def previous_token_run():
    return recipes.train_previous_token()


def test_previous_token_head_and_its_positional_circuit(previous_token_run):
    task, run = previous_token_run
    config, p = run.config, run.params
    held_out = task.batch(np.random.default_rng(2024), 1024)
    assert tiny.accuracy(config, p, held_out) >= 0.99
    positional = circuits.qk_circuit(config, p, 0, 0, p["pos"], p["pos"])  # P W_q W_k^T P^T, (T, T)
    assert circuits.argmax_on_diagonal(positional, offset=-1, mask=helpers.causal_mask(task.seq_len)) >= 0.95
    _, weights = tiny.forward(config, p, held_out.tokens)
    assert circuits.previous_token_score(weights[0][:, 0]) >= 0.9


@pytest.fixture(scope="module")
def induction_run():
    return recipes.train_induction()


def head_scores(run, batch):
    """(previous-token score of each layer-0 head, induction score of each layer-1 head)."""
    _, weights = tiny.forward(run.config, run.params, batch.tokens)
    prev = [circuits.previous_token_score(weights[0][:, h]) for h in range(run.config.n_heads)]
    ind = [circuits.attention_score(weights[1][:, h], batch.attend) for h in range(run.config.n_heads)]
    return np.array(prev), np.array(ind)


def test_induction_heads_form(induction_run):
    task, run = induction_run
    config = run.config
    held_out = task.batch(np.random.default_rng(2024), 1024)
    acc = tiny.accuracy(config, run.params, held_out)
    assert acc >= 0.90
    prev, ind = head_scores(run, held_out)
    assert prev.max() >= 0.5  # a previous-token head in layer 0
    assert ind.max() >= 0.5  # an induction head in layer 1
    ablated = tiny.ablate_heads(config, run.params, [(0, int(prev.argmax()))])
    assert acc - tiny.accuracy(config, ablated, held_out) >= 0.30  # K-composition needs the previous-token head
    # K-composition, read from the weights: the induction head's query for token a matches the
    # positions where the previous-token head wrote "my previous token was a".
    embed = run.params["embed"]
    written = circuits.head_output(config, run.params, 0, int(prev.argmax()), embed)  # (V, D)
    k_comp = circuits.qk_circuit(config, run.params, 1, int(ind.argmax()), embed, written)  # (V, V)
    assert circuits.argmax_on_diagonal(k_comp) >= 0.95


def test_induction_loss_drops_suddenly(induction_run):
    """A plateau near log(V), then a fall from above 3 to below 1 nats within 100 steps."""
    _, run = induction_run
    smooth = tiny.moving_average(run.losses, 25)
    below_3, below_1 = int(np.argmax(smooth < 3.0)), int(np.argmax(smooth < 1.0))
    assert smooth[-1] < 0.2 and 0 < below_3 < below_1
    assert np.all(smooth[25:125] > 3.5)  # the plateau
    assert below_1 - below_3 <= 100  # the drop


@pytest.fixture(scope="module")
def fixed_offset_run():
    return recipes.train_induction(fixed_offset=10, steps=200)


def test_fixed_offset_pitfall_learns_positions_not_induction(fixed_offset_run):
    task, run = fixed_offset_run
    fair = tasks.Induction(task.vocab_size, task.seq_len, task.min_len, task.max_len)
    assert tiny.accuracy(run.config, run.params, task.batch(np.random.default_rng(2024), 1024)) >= 0.95
    held_out = fair.batch(np.random.default_rng(2024), 1024)
    assert tiny.accuracy(run.config, run.params, held_out) < 0.5  # the shortcut fails on random offsets
    _, ind = head_scores(run, held_out)
    assert ind.max() < 0.5  # no induction head formed
