"""The numpy helpers of the QKV course: projections, attention, masks, heads and RoPE.

The API taught by the book is re-exported here. Topic modules that need more
than numpy are imported by name where a chapter uses them:
``helpers.plotting`` and ``helpers.widgets`` (matplotlib, ipywidgets),
``helpers.exercises`` (the exercise checks), ``helpers.checkpoints`` (real
weights; safetensors, tokenizers, gguf), ``helpers.norms``, ``helpers.bert``
and ``helpers.smollm2`` (whole models), ``helpers.cost`` (FLOP and memory
counts, timing and peak-memory measurement).
"""

from .attention import scaled_dot_product_attention, softmax
from .heads import merge_heads, multi_head_attention, repeat_kv, split_heads
from .masks import causal_mask, padding_mask
from .projections import linear
from .rope import apply_rope, rope_angles
from .tiled import tiled_attention

__all__ = [
    "linear",
    "softmax",
    "causal_mask",
    "padding_mask",
    "scaled_dot_product_attention",
    "split_heads",
    "merge_heads",
    "repeat_kv",
    "multi_head_attention",
    "apply_rope",
    "rope_angles",
    "tiled_attention",
]
