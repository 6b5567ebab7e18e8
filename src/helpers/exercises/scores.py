"""Exercise checks on dot products, score matrices and softmax (chapter 2)."""

__all__ = []
