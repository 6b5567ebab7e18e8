"""Exercise checks on multi-head attention and the bug clinic (chapter 6)."""

__all__ = []
