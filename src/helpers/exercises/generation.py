"""Exercise checks on running a whole language model: generation and the KV cache (chapter 10)."""

__all__ = []
