"""Exercise checks on grouped-query attention, RoPE and the KV cache (chapter 8)."""

__all__ = []
