"""The numpy helpers of the QKV course: projections, attention, masks, heads and RoPE."""

from .attention import scaled_dot_product_attention, softmax
from .heads import merge_heads, multi_head_attention, repeat_kv, split_heads
from .masks import causal_mask, padding_mask
from .projections import linear
from .rope import apply_rope, rope_angles

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
]
