"""The numpy helpers of the QKV course: projections, attention, masks, heads, positions and the block.

The API taught by the book is re-exported here. Topic modules that need more
than numpy are imported by name where a chapter uses them:
``helpers.plotting`` and ``helpers.widgets`` (matplotlib, ipywidgets),
``helpers.exercises`` (the exercise checks), ``helpers.checkpoints`` (real
weights; safetensors, tokenizers, gguf), ``helpers.bert`` and
``helpers.smollm2`` (whole models), ``helpers.cost`` (FLOP and memory
counts, timing and peak-memory measurement). ``helpers.block`` also holds
the depth measurements of chapter 8 (``random_blocks``, ``depth_profile``).
Chapter 9 trains tiny attention-only models with ``helpers.grad`` (backward
passes, cross-entropy, Adam), ``helpers.tasks`` (the lookup, previous-token
and induction data), ``helpers.tiny`` (the model and its training loop),
``helpers.recipes`` (the chapter's exact settings) and ``helpers.circuits``
(QK and OV circuits, head scores, ablation).
"""

from .attention import scaled_dot_product_attention, softmax
from .block import feed_forward, gelu, gelu_tanh, silu, swiglu, transformer_block
from .heads import merge_heads, multi_head_attention, repeat_kv, split_heads
from .masks import causal_mask, padding_mask
from .norms import layer_norm, rms_norm
from .positions import alibi_bias, alibi_slopes, sinusoidal_offset_map, sinusoidal_positions
from .projections import linear
from .rope import apply_rope, rope_angles, rope_pairing_permutation
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
    "rope_pairing_permutation",
    "sinusoidal_positions",
    "sinusoidal_offset_map",
    "alibi_slopes",
    "alibi_bias",
    "layer_norm",
    "rms_norm",
    "gelu",
    "gelu_tanh",
    "silu",
    "swiglu",
    "feed_forward",
    "transformer_block",
    "tiled_attention",
]
