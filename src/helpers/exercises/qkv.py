"""Exercise checks on queries, keys and values (chapter 3)."""

__all__ = []
