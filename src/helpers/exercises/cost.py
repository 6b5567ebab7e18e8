"""Exercise checks on the cost of attention: FLOPs, memory, tiling (chapter 9)."""

__all__ = []
