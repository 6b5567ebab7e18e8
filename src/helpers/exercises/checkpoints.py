"""Exercise checks on real checkpoints: weight layouts, names and fused matrices (chapter 10)."""

import numpy as np

from ..projections import linear
from ._verdict import (NOT_ATTEMPTED, as_answer_array, brief, close, exercise_check, given, not_a, read_number,
                       report, resembles, show)

__all__ = ["check_checkpoint_query", "check_split_c_attn", "check_attention_param_total", "check_bert_to_llama_names"]


# ---------------------------------------------------------------- a query from a checkpoint weight

@exercise_check
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

    Used in Chapter 10.
    """
    if q is None:
        return report(False, NOT_ATTEMPTED)
    expected = given(x) @ given(weight).T + given(bias)  # float32 weights make float32 rounding fair
    x, weight, bias = (np.asarray(a, dtype=float) for a in (x, weight, bias))
    expected = expected.with_value(linear(x, weight.T, bias))  # (H*d,)
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
        return resembles(q, candidate)

    layout = "The course's W has shape (in, out); the checkpoint stores (out, in)."
    n_out, n_in = weight.shape
    if close(q, expected):
        return report(True, f"Correct: q = x @ weight.T + bias, shape {expected.shape}: "
                            "the checkpoint's (out, in) weight transposed to the course's (in, out).")
    if same(lambda: x @ weight + bias):
        return report(False, "q equals x @ weight + bias: the checkpoint stores (out, in), so the weight is the wrong "
                             "way round for x @ W (it is square, so no error warned you).", layout)
    if same(lambda: x @ weight.reshape(n_in, n_out) + bias):
        return report(False, "q uses weight.reshape(in, out): reshape keeps the numbers in memory order, "
                             "so they land in the wrong places.", "A transpose swaps the axes; a reshape only "
                                                                 "regroups the numbers in their stored order.")
    if same(lambda: x @ weight.T):
        return report(False, "q equals x @ weight.T without the bias: BERT's query has a bias.")
    if same(lambda: x @ weight):
        return report(False, "q equals x @ weight: both the transpose and the bias are missing.", layout)
    return report(False, f"q has the right shape {expected.shape} but wrong values (off by up to "
                         f"{np.abs(q - expected.value).max():.3g}).", layout + " The query has a bias.")


# ---------------------------------------------------------------- splitting GPT-2's fused c_attn

@exercise_check
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

    Used in Chapter 10.
    """
    if parts is None:
        return report(False, NOT_ATTEMPTED)
    c_attn = np.asarray(c_attn, dtype=float)
    d = c_attn.shape[0]
    expected = [given(c_attn[:, i * d:(i + 1) * d]) for i in range(3)]
    names = ("W_q", "W_k", "W_v")
    if isinstance(parts, np.ndarray) and parts.ndim == 3 and parts.shape[0] == 3:
        parts = list(parts)  # the three parts stacked into one array: the same answer
    elif isinstance(parts, np.ndarray) and parts.shape == c_attn.shape:
        return report(False, f"answer is one array of shape {parts.shape}, the whole of c_attn: cut it into three.",
                      "np.split cuts an array into equal parts along the axis you give it.")
    if not isinstance(parts, (tuple, list)) or len(parts) != 3:
        return report(False, not_a(parts, "answer", "three matrices (W_q, W_k, W_v), e.g. a tuple of three arrays"))
    arrays = []
    for name, part in zip(names, parts):
        a, problem = as_answer_array(part, name)
        if problem:
            return report(False, problem)
        arrays.append(a)
    shapes = [a.shape for a in arrays]
    if all(s == (d // 3, 3 * d) for s in shapes) and d % 3 == 0:
        return report(False, f"your three parts have shape {shapes[0]}: you split along axis 0, the rows (the inputs). "
                             f"q, k and v sit side by side in the columns.", "np.split takes the axis to cut along.")
    if any(s != (d, d) for s in shapes):
        wrong = [f"{n} {s}" for n, s in zip(names, shapes) if s != (d, d)]
        return report(False, f"expected three ({d}, {d}) matrices (D = {d}), but got {', '.join(wrong)}.")
    if all(close(a, e) for a, e in zip(arrays, expected)):
        return report(True, f"Correct: c_attn (D, 3D) = {c_attn.shape} splits along axis 1 into W_q, W_k, W_v "
                            f"of ({d}, {d}), in that order, with no transpose (Conv1D already stores (in, out)).")
    if all(resembles(a, e.value.T) for a, e in zip(arrays, expected)):
        return report(False, "each part is transposed: GPT-2's Conv1D stores (in, out), already the course layout, "
                             "so unlike nn.Linear no .T is needed.")
    matches = [[j for j, e in enumerate(expected) if resembles(a, e.value)] for a in arrays]
    if all(len(m) == 1 for m in matches):
        order = ", ".join("qkv"[m[0]] for m in matches)
        return report(False, f"the right three blocks in the wrong order: you returned the ({order}) blocks. "
                             "c_attn's columns are [q | k | v]: the first D columns are the queries.")
    return report(False, f"the parts have the right shape ({d}, {d}) but not the right numbers: each should be one "
                         f"block of D = {d} neighbouring columns of c_attn.",
                  "The queries are the first D columns, then come the keys, then the values.")


# ---------------------------------------------------------------- counting attention parameters from shapes

_ATTENTION_PARTS = ("attention.self.query.", "attention.self.key.", "attention.self.value.", "attention.output.dense.")


@exercise_check
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

    Used in Chapter 10.
    """
    if count is None:
        return report(False, NOT_ATTEMPTED)
    count, problem = read_number(count, "n_attn", whole=True)
    if problem:
        return report(False, problem)

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
    if n_layers > 1 and count == total(lambda n: n.startswith(first) and is_proj(n)):
        return report(False, f"{show(count)} is one layer: the model has {n_layers} layers, each with its own four "
                             "projections.")
    if count == total(lambda n: is_proj(n) and n.endswith(".weight")):
        return report(False, f"{show(count)} counts the weights only: every projection also has a bias (the .bias "
                             "tensors).")
    if count == total(lambda n: is_proj(n) or "attention.output.LayerNorm" in n):
        return report(False, f"{show(count)} includes attention.output.LayerNorm: count only the four projections.")
    if count == total(lambda n: is_proj(n, _ATTENTION_PARTS[:3])):
        return report(False, f"{show(count)} counts query, key and value only: attention.output.dense (W_o) is the "
                             "fourth projection.")
    if count == total(lambda n: "attention" in n or n.startswith("embeddings")) or count == total(lambda n: True):
        return report(False, f"{show(count)} counts tensors outside the attention projections (embeddings, "
                             "feed-forward, LayerNorm): only the names with attention.self or attention.output.dense "
                             "count.")
    return report(False, f"{show(count)} is not right: count every number of the query, key, value and "
                         "attention.output.dense tensors, weights and biases, in every layer.",
                  "A tensor of shape (a, b) holds a * b numbers; let a loop over the names add them up.")


# ---------------------------------------------------------------- names across model families

_BERT_TO_LLAMA = {
    "attention.self.query": "self_attn.q_proj",
    "attention.self.key": "self_attn.k_proj",
    "attention.self.value": "self_attn.v_proj",
    "attention.output.dense": "self_attn.o_proj",
}

#: What each of the four projections does, for the message about two swapped names.
_ROLES = {
    "attention.self.query": "the query is what a token asks with",
    "attention.self.key": "the key is what a token is matched on",
    "attention.self.value": "the value is what a token passes on once matched",
    "attention.output.dense": "attention.output.dense (W_o) mixes the heads' outputs",
}

_MLP_NAMES = ("down_proj", "up_proj", "gate_proj")


def _llama_name(value):
    """A Llama module name without the ``self_attn.`` prefix, or None if ``value`` is not a str."""
    if not isinstance(value, str):
        return None
    return value.strip().removeprefix("self_attn.")


@exercise_check
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
        Truthy when the answer is right; otherwise names the slip: two names
        swapped (and which), one name used twice, a feed-forward name, a name
        that is not Llama's, a layer prefix or a .weight suffix, the dict
        the wrong way round.

    Used in Chapter 10.
    """
    if mapping is None:
        return report(False, NOT_ATTEMPTED)
    if not isinstance(mapping, dict):
        return report(False, not_a(mapping, "mapping", "a dict from BERT names to Llama names"))
    want = {k: v.removeprefix("self_attn.") for k, v in _BERT_TO_LLAMA.items()}
    roles = "Llama names its attention projections after the same roles: q_proj, k_proj, v_proj and o_proj."
    keys = [k for k in mapping if isinstance(k, str)]
    if keys and all(_llama_name(k) in want.values() for k in keys) and len(keys) == len(mapping):
        return report(False, "the dict goes the other way: its keys should be BERT's names and its values Llama's.")
    missing = [k for k in _BERT_TO_LLAMA if k not in mapping]
    extra = [k if isinstance(k, str) else brief(k) for k in mapping if k not in _BERT_TO_LLAMA]
    if extra:
        message = ""
        if any(str(k).startswith("encoder.layer") or str(k).endswith((".weight", ".bias")) for k in keys):
            message = " Use the names without the layer prefix and without .weight/.bias."
        elif any(k in ("output.dense", "intermediate.dense") for k in keys):
            message = " output.dense and intermediate.dense are BERT's feed-forward, not attention."
        return report(False, f"unexpected keys {extra}: the keys are {list(_BERT_TO_LLAMA)}.{message}")
    if missing:
        return report(False, f"missing keys {missing}: map all four of {list(_BERT_TO_LLAMA)}.")
    got = {k: _llama_name(v) for k, v in mapping.items()}
    for k, v in got.items():
        if v is None:
            return report(False, f"mapping[{k!r}] is {brief(mapping[k])}: give each Llama name as a str.")
    if got == want:
        return report(True, "Correct: query -> q_proj, key -> k_proj, value -> v_proj, and attention.output.dense "
                            "(W_o) -> o_proj; all are nn.Linear weights stored (out, in).")
    for k, v in got.items():
        if v.startswith("model.layers.") or v.endswith((".weight", ".bias")):
            return report(False, f"mapping[{k!r}] = {v!r}: give the module name alone, without the layer prefix "
                                 "and without .weight or .bias.")
        if v.lower() != v and v.lower() in want.values():
            return report(False, f"mapping[{k!r}] = {v!r}: Llama's names are all lower case.")
    if got["attention.output.dense"].removeprefix("mlp.") in _MLP_NAMES:
        return report(False, "attention.output.dense is attention's output projection W_o; the mlp names belong to "
                             "the feed-forward (BERT's intermediate.dense and output.dense).")
    for k, v in got.items():
        if v not in want.values():
            return report(False, f"mapping[{k!r}] = {mapping[k]!r} is not a Llama name for an attention projection.",
                          roles)
    used = {}
    for k, v in got.items():
        if v in used:
            return report(False, f"{v} appears twice, for {used[v]} and {k}: each of the four projections has a name "
                                 "of its own.", roles)
        used[v] = k
    wrong = [k for k in want if got[k] != want[k]]
    short = [k.removeprefix("attention.self.") for k in wrong]
    if len(wrong) == 2:
        return report(False, f"{short[0]} and {short[1]} are swapped: {_ROLES[wrong[0]]}, and {_ROLES[wrong[1]]}.",
                      roles)
    return report(False, f"the names of {', '.join(short)} are shuffled: each BERT name goes to the Llama projection "
                         "with the same role.", roles)
