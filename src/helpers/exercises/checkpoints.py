"""Exercise checks on real checkpoints: weight layouts, names and fused matrices (chapter 7)."""

import numbers

import numpy as np

from ..projections import linear
from ._verdict import NOT_ATTEMPTED, as_answer_array, close, report

__all__ = ["check_checkpoint_query", "check_split_c_attn", "check_attention_param_total", "check_bert_to_llama_names"]


# ---------------------------------------------------------------- a query from a checkpoint weight

def check_checkpoint_query(q, x, weight, bias):
    """Check the query of one token computed from a checkpoint's ``query.weight`` (out, in) and ``query.bias``.

    Parameters
    ----------
    q : array_like or None
        The learner's answer, expected shape (H*d,): ``x @ weight.T + bias``.
    x : array_like, shape (D,)
        One token's input vector.
    weight : array_like, shape (H*d, D)
        ``attention.self.query.weight`` as stored: (out, in).
    bias : array_like, shape (H*d,)
        ``attention.self.query.bias``.

    Returns
    -------
    Verdict
        Truthy when the answer is right; displayed as its one-line message.

    Used in Chapter 7.
    """
    if q is None:
        return report(False, NOT_ATTEMPTED)
    x = np.asarray(x, dtype=float)
    weight = np.asarray(weight, dtype=float)
    bias = np.asarray(bias, dtype=float)
    expected = linear(x, weight.T, bias)  # (H*d,)
    q, problem = as_answer_array(q, "q")
    if problem:
        return report(False, problem)
    if q.ndim == 2 and q.shape[-1] == expected.shape[0]:
        return report(False, f"q has shape {q.shape}: the exercise asks for one token, so x has shape {x.shape} "
                             f"and q should have shape {expected.shape}.")
    if q.shape != expected.shape:
        return report(False, f"q has shape {q.shape} but expected (H*d,) = {expected.shape}: one number per output of query.")
    def same(make):
        try:
            candidate = make()
        except ValueError:  # e.g. x @ weight with a non-square weight
            return False
        return candidate.shape == q.shape and np.allclose(q, candidate, rtol=1e-5, atol=1e-5)

    n_out, n_in = weight.shape
    if same(lambda: expected):
        return report(True, f"Correct: q = x @ weight.T + bias, shape {expected.shape}: "
                            "the checkpoint's (out, in) weight transposed to the course's (in, out).")
    if same(lambda: x @ weight + bias):
        return report(False, "q equals x @ weight + bias: you forgot the transpose. The checkpoint stores (out, in), "
                             "so the course's W_q is weight.T (the weight is square, so no error warned you).")
    if same(lambda: x @ weight.reshape(n_in, n_out) + bias):
        return report(False, "q uses weight.reshape(in, out): reshape keeps the numbers in memory order, "
                             "so they land in the wrong places. Transpose with weight.T instead.")
    if same(lambda: x @ weight.T):
        return report(False, "q equals x @ weight.T without the bias: BERT's query has a bias, add it.")
    if same(lambda: x @ weight):
        return report(False, "q equals x @ weight: both the transpose and the bias are missing.")
    return report(False, f"q has the right shape {expected.shape} but wrong values (off by up to "
                         f"{np.abs(q - expected).max():.3g}); compute x @ weight.T + bias.")


# ---------------------------------------------------------------- splitting GPT-2's fused c_attn

def check_split_c_attn(parts, c_attn):
    """Check ``(W_q, W_k, W_v)`` split from a GPT-2-style fused ``c_attn.weight`` of shape (D, 3D).

    GPT-2's ``Conv1D`` stores (in, out), so ``c_attn`` is already in the
    course's layout: its columns are ``[q | k | v]``, D each.

    Parameters
    ----------
    parts : sequence of three array_like, or None
        The learner's ``(W_q, W_k, W_v)``, each expected of shape (D, D).
    c_attn : array_like, shape (D, 3D)

    Returns
    -------
    Verdict
        Truthy when the answer is right; displayed as its one-line message.

    Used in Chapter 7.
    """
    if parts is None:
        return report(False, NOT_ATTEMPTED)
    c_attn = np.asarray(c_attn, dtype=float)
    d = c_attn.shape[0]
    expected = [c_attn[:, i * d:(i + 1) * d] for i in range(3)]
    names = ("W_q", "W_k", "W_v")
    if isinstance(parts, np.ndarray) or not hasattr(parts, "__len__") or len(parts) != 3:
        return report(False, "answer should be a tuple (W_q, W_k, W_v) of three matrices, "
                             "e.g. the result of np.split(c_attn, 3, axis=1).")
    arrays = []
    for name, part in zip(names, parts):
        a, problem = as_answer_array(part, name)
        if problem:
            return report(False, problem)
        arrays.append(a)
    shapes = [a.shape for a in arrays]
    if all(s == (d // 3, 3 * d) for s in shapes) and d % 3 == 0:
        return report(False, f"your three parts have shape {shapes[0]}: you split along axis 0, the rows (the inputs). "
                             f"q, k and v sit side by side in the columns: split along axis 1 to get ({d}, {d}) each.")
    if any(s != (d, d) for s in shapes):
        wrong = [f"{n} {s}" for n, s in zip(names, shapes) if s != (d, d)]
        return report(False, f"expected three ({d}, {d}) matrices (D = {d}), but got {', '.join(wrong)}.")
    if all(close(a, e) for a, e in zip(arrays, expected)):
        return report(True, f"Correct: c_attn (D, 3D) = {c_attn.shape} splits along axis 1 into W_q, W_k, W_v "
                            f"of ({d}, {d}), in that order, with no transpose (Conv1D already stores (in, out)).")
    if all(close(a, e.T) for a, e in zip(arrays, expected)):
        return report(False, "each part is transposed: GPT-2's Conv1D stores (in, out), already the course layout, "
                             "so unlike nn.Linear no .T is needed.")
    matches = [[j for j, e in enumerate(expected) if close(a, e)] for a in arrays]
    if all(len(m) == 1 for m in matches):
        order = ", ".join("qkv"[m[0]] for m in matches)
        return report(False, f"the right three blocks in the wrong order: you returned the ({order}) blocks. "
                             "c_attn's columns are [q | k | v]: the first D columns are the queries.")
    return report(False, f"the parts have the right shape ({d}, {d}) but not the right numbers: "
                         f"W_q should be c_attn[:, :{d}], W_k c_attn[:, {d}:{2 * d}], W_v c_attn[:, {2 * d}:].")


# ---------------------------------------------------------------- counting attention parameters from shapes

_ATTENTION_PARTS = ("attention.self.query.", "attention.self.key.", "attention.self.value.", "attention.output.dense.")


def check_attention_param_total(count, shapes):
    """Check the number of parameters of BERT's four attention projections (weights and biases) in every layer.

    Parameters
    ----------
    count : int or None
        The learner's answer.
    shapes : dict of str -> (shape tuple, dtype str)
        Checkpoint names and shapes, e.g. ``checkpoints.minilm_tensor_shapes("encoder.")``.
        The projections are ``attention.self.query/key/value`` and
        ``attention.output.dense``; ``attention.output.LayerNorm`` does not count.

    Returns
    -------
    Verdict
        Truthy when the answer is right; displayed as its one-line message.

    Used in Chapter 7.
    """
    if count is None:
        return report(False, NOT_ATTEMPTED)
    if isinstance(count, bool) or not isinstance(count, numbers.Real):
        return report(False, f"n_attn should be a single number (an int), but it is a {type(count).__name__}.")
    if int(count) != count:
        return report(False, f"n_attn = {count} is not a whole number: parameters come in whole numbers.")
    count = int(count)

    def total(keep):
        return sum(int(np.prod(shape)) for name, (shape, _) in shapes.items() if keep(name))

    def is_proj(name, parts=_ATTENTION_PARTS):
        return any(p in name for p in parts)

    layers = sorted({name.split(".")[2] for name in shapes if name.startswith("encoder.layer.")})
    n_layers = len(layers)
    expected = total(is_proj)
    first = f"encoder.layer.{layers[0]}." if layers else ""
    if count == expected:
        return report(True, f"Correct: {n_layers} layers x 4 projections (weight + bias) = {expected:,} parameters.")
    if n_layers and count == total(lambda n: n.startswith(first) and is_proj(n)):
        return report(False, f"{count:,} is one layer: the model has {n_layers} layers, each with its own four projections.")
    if count == total(lambda n: is_proj(n) and n.endswith(".weight")):
        return report(False, f"{count:,} counts the weights only: every projection also has a bias (the .bias tensors).")
    if count == total(lambda n: is_proj(n) or "attention.output.LayerNorm" in n):
        return report(False, f"{count:,} includes attention.output.LayerNorm: count only the four projections.")
    if count == total(lambda n: is_proj(n, _ATTENTION_PARTS[:3])):
        return report(False, f"{count:,} counts query, key and value only: attention.output.dense (W_o) is the fourth projection.")
    if count == total(lambda n: "attention" in n or n.startswith("embeddings")) or count == total(lambda n: True):
        return report(False, f"{count:,} counts tensors outside the attention projections (embeddings, feed-forward, "
                             "LayerNorm): keep only the names with attention.self or attention.output.dense.")
    return report(False, f"{count:,} is not right: add np.prod(shape) over the names that contain attention.self "
                         "or attention.output.dense, weights and biases, in every layer.")


# ---------------------------------------------------------------- names across model families

_BERT_TO_LLAMA = {
    "attention.self.query": "self_attn.q_proj",
    "attention.self.key": "self_attn.k_proj",
    "attention.self.value": "self_attn.v_proj",
    "attention.output.dense": "self_attn.o_proj",
}


def check_bert_to_llama_names(mapping):
    """Check a dict from BERT's attention names to Llama's (``self_attn.q_proj`` and friends).

    Parameters
    ----------
    mapping : dict of str -> str, or None
        Keys ``attention.self.query``, ``attention.self.key``,
        ``attention.self.value``, ``attention.output.dense``; values Llama's
        module names (with or without the ``self_attn.`` prefix).

    Returns
    -------
    Verdict
        Truthy when the answer is right; displayed as its one-line message.

    Used in Chapter 7.
    """
    if mapping is None:
        return report(False, NOT_ATTEMPTED)
    if not isinstance(mapping, dict):
        return report(False, f"mapping should be a dict from BERT names to Llama names, but it is a {type(mapping).__name__}.")
    missing = [k for k in _BERT_TO_LLAMA if k not in mapping]
    extra = [k for k in mapping if k not in _BERT_TO_LLAMA]
    if extra:
        hint = ""
        if any(str(k).startswith("encoder.layer") or str(k).endswith((".weight", ".bias")) for k in extra):
            hint = " Use the names without the layer prefix and without .weight/.bias."
        elif any(str(k) in ("output.dense", "intermediate.dense") for k in extra):
            hint = " output.dense and intermediate.dense are BERT's feed-forward, not attention."
        return report(False, f"unexpected keys {extra}: the keys are {list(_BERT_TO_LLAMA)}.{hint}")
    if missing:
        return report(False, f"missing keys {missing}: map all four of {list(_BERT_TO_LLAMA)}.")
    got = {k: str(v).strip().removeprefix("self_attn.") for k, v in mapping.items()}
    want = {k: v.removeprefix("self_attn.") for k, v in _BERT_TO_LLAMA.items()}
    if got == want:
        return report(True, "Correct: query -> q_proj, key -> k_proj, value -> v_proj, and attention.output.dense "
                            "(W_o) -> o_proj; all are nn.Linear weights stored (out, in).")
    if got["attention.output.dense"] in ("down_proj", "mlp.down_proj", "up_proj", "mlp.up_proj", "gate_proj", "mlp.gate_proj"):
        return report(False, "attention.output.dense is attention's output projection W_o, so its Llama name is o_proj; "
                             "the mlp names belong to the feed-forward (BERT's intermediate.dense and output.dense).")
    if got["attention.self.key"] == "v_proj" and got["attention.self.value"] == "k_proj":
        return report(False, "key and value are swapped: key -> k_proj (matched against queries), value -> v_proj (passed on).")
    if got["attention.self.query"] == "k_proj" and got["attention.self.key"] == "q_proj":
        return report(False, "query and key are swapped: query -> q_proj, key -> k_proj.")
    wrong = [k for k in want if got[k] != want[k]]
    return report(False, f"not right for {wrong}: Llama names its attention projections "
                         "self_attn.q_proj, k_proj, v_proj and o_proj.")
