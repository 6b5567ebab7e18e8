"""Exercise checks on masks and cross-attention (chapter 5)."""

__all__ = []
