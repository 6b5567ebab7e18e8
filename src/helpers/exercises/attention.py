"""Exercise checks on scaled dot-product attention (chapter 4)."""

__all__ = []
