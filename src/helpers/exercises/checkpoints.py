"""Exercise checks on real checkpoints: weight layouts, names and fused matrices (chapter 7)."""

__all__ = []
