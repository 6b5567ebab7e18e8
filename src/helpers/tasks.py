"""Three toy tasks that a tiny attention-only model learns: lookup, previous token, induction (chapter 9).

Each task makes random batches from an explicit ``rng``. A batch holds the
input tokens, the target token at every position, the positions that are
scored, and the position that a head solving the task should attend to, so
that a trained head can be scored against it.

The tasks are built so that no shortcut solves them: the lookup's pairs are
shuffled, and the induction task's repeated segment has a random length and
starts at a random distance from the original. :class:`Induction` with a
``fixed_offset`` shows why the distance must vary: a model can then predict
every repeated token from positions alone, and no induction head forms.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._checks import positive_int

__all__ = ["Batch", "Lookup", "PreviousToken", "Induction"]


class Batch(NamedTuple):
    """One batch of a task (chapter 9).

    Attributes
    ----------
    tokens : ndarray of int, shape (B, T) or (B, T, C)
        Input token ids. With a third axis, each position carries C tokens
        whose embeddings are added (the lookup: a key and a value).
    targets : ndarray of int, shape (B, T)
        The token to predict at each position (meaningful where ``where``).
    where : ndarray of bool, shape (B, T)
        The positions that are scored, by the loss and by the accuracy.
    attend : ndarray of int, shape (B, T)
        The position a head that solves the task attends to from each
        position, -1 where there is none.
    """

    tokens: np.ndarray
    targets: np.ndarray
    where: np.ndarray
    attend: np.ndarray


def _distinct_rows(rng, batch_size, n, k):
    """(B, k) ints: for each row, k distinct values out of 0..n-1, in random order."""
    return np.argsort(rng.random((batch_size, n)), axis=1)[:, :k]


@dataclass(frozen=True)
class Lookup:
    """A key-value lookup: find the pair whose key matches the query, output its value (chapter 9).

    A sequence holds ``n_pairs`` positions, each carrying a key token and a
    value token (their embeddings are added), then one query position that
    carries one of those keys and the "?" token, which marks the question.
    The target at the query position is the value stored with that key. The
    keys of a sequence are distinct; values are drawn independently.

    The vocabulary, V = 2 N + 1 tokens for N = ``n_keys``: keys ``k0 .. k{N-1}``
    (ids 0..N-1), values ``v0 .. v{N-1}`` (N..2N-1) and "?" (2N). A head that
    solves the task matches the query's key with the same key among the
    pairs (its QK circuit on the key embeddings is diagonal) and copies that
    pair's value (its OV circuit on the value embeddings is diagonal).

    Parameters
    ----------
    n_keys : int, default 16
        N, the number of different keys (and of values).
    n_pairs : int, default 8
        Key-value pairs per sequence, at most N; T = n_pairs + 1.
    """

    n_keys: int = 16
    n_pairs: int = 8

    def __post_init__(self):
        positive_int(self.n_keys, "n_keys")
        positive_int(self.n_pairs, "n_pairs")
        if self.n_pairs > self.n_keys:
            raise ValueError(f"n_pairs={self.n_pairs} is larger than n_keys={self.n_keys}: the keys of a sequence are distinct")

    @property
    def vocab_size(self):
        """V = 2 N + 1."""
        return 2 * self.n_keys + 1

    @property
    def seq_len(self):
        """T = n_pairs + 1 (the pairs, then the query)."""
        return self.n_pairs + 1

    @property
    def key_tokens(self):
        """Ids of ``k0 .. k{N-1}``, shape (N,)."""
        return np.arange(self.n_keys)

    @property
    def value_tokens(self):
        """Ids of ``v0 .. v{N-1}``, shape (N,)."""
        return np.arange(self.n_keys, 2 * self.n_keys)

    @property
    def query_token(self):
        """Id of "?", which the query position carries beside its key."""
        return 2 * self.n_keys

    @property
    def token_names(self):
        """Names of the V tokens: ``["k0", ..., "v0", ..., "?"]``."""
        n = range(self.n_keys)
        return [f"k{i}" for i in n] + [f"v{i}" for i in n] + ["?"]

    def batch(self, rng, batch_size):
        """A random batch; tokens (B, T, 2), the query at position T - 1.

        Parameters
        ----------
        rng : numpy.random.Generator
        batch_size : int
            B.

        Returns
        -------
        Batch
            ``attend`` is the position of the matching pair at the query
            position, -1 elsewhere.
        """
        b, n, p = positive_int(batch_size, "batch_size"), self.n_keys, self.n_pairs
        keys = _distinct_rows(rng, b, n, p)  # (B, P), distinct within a row
        values = rng.integers(0, n, size=(b, p))  # (B, P)
        asked = rng.integers(0, p, size=b)  # (B,): which pair the query asks for
        rows = np.arange(b)
        tokens = np.empty((b, p + 1, 2), dtype=np.int64)
        tokens[:, :p, 0] = keys
        tokens[:, :p, 1] = n + values
        tokens[:, p, 0] = keys[rows, asked]  # the key asked for ...
        tokens[:, p, 1] = self.query_token  # ... marked as the question
        targets = np.zeros((b, p + 1), dtype=np.int64)
        targets[:, p] = n + values[rows, asked]
        where = np.zeros((b, p + 1), dtype=bool)
        where[:, p] = True
        attend = np.full((b, p + 1), -1, dtype=np.int64)
        attend[:, p] = asked
        return Batch(tokens, targets, where, attend)


@dataclass(frozen=True)
class PreviousToken:
    """Output the previous token: the target at position t is the token at t - 1.

    Trained by :func:`helpers.recipes.train_previous_token`.

    Tokens are drawn uniformly at random, so nothing but the position of the
    previous token predicts it. Position 0 has no previous token and is not scored.

    Parameters
    ----------
    vocab_size : int, default 24
        V.
    seq_len : int, default 16
        T.
    """

    vocab_size: int = 24
    seq_len: int = 16

    def __post_init__(self):
        positive_int(self.vocab_size, "vocab_size")
        if positive_int(self.seq_len, "seq_len") < 2:
            raise ValueError(f"seq_len must be at least 2 (a position and its previous one), got {self.seq_len}")

    def batch(self, rng, batch_size):
        """A random batch; tokens (B, T); ``attend`` is t - 1 from every t >= 1."""
        b, t = positive_int(batch_size, "batch_size"), self.seq_len
        tokens = rng.integers(0, self.vocab_size, size=(b, t))
        targets = np.zeros((b, t), dtype=np.int64)
        targets[:, 1:] = tokens[:, :-1]
        where = np.broadcast_to(np.arange(t) >= 1, (b, t)).copy()
        attend = np.broadcast_to(np.arange(t) - 1, (b, t)).copy()  # -1 at position 0: none
        return Batch(tokens, targets, where, attend)


@dataclass(frozen=True)
class Induction:
    """Continue a repeated segment: ``... A B C ... A B`` -> ``C`` (chapter 9).

    Each sequence holds T distinct random tokens, except that a segment of
    random length L (``min_len`` to ``max_len``) is copied further on, at a
    random distance from the original (at least L, so the copies do not
    overlap) and a random start. Inside the copy, every token but the last
    predicts its successor: find the earlier occurrence of the current token,
    and output the token that followed it. These L - 1 positions are scored.
    Since every other token appears once, each has exactly one right answer.

    With ``fixed_offset`` the copy always starts that many positions after
    the original. That is the pitfall: the answer at position t is then
    always the token at t + 1 - fixed_offset, a purely positional rule that
    one head can learn without any induction.

    Parameters
    ----------
    vocab_size : int, default 48
        V; at least T.
    seq_len : int, default 24
        T.
    min_len, max_len : int, default 4 and 10
        Range of the segment length L (inclusive); 2 <= min_len <= max_len <= T / 2.
    fixed_offset : int, optional
        The distance between the copies, fixed (the pitfall); None (default)
        draws it at random for every sequence.
    """

    vocab_size: int = 48
    seq_len: int = 24
    min_len: int = 4
    max_len: int = 10
    fixed_offset: int | None = None

    def __post_init__(self):
        v, t = positive_int(self.vocab_size, "vocab_size"), positive_int(self.seq_len, "seq_len")
        lo, hi = positive_int(self.min_len, "min_len"), positive_int(self.max_len, "max_len")
        if v < t:
            raise ValueError(f"vocab_size={v} is smaller than seq_len={t}: the non-repeated tokens must be distinct")
        if not 2 <= lo <= hi or 2 * hi > t:
            raise ValueError(f"need 2 <= min_len <= max_len <= seq_len / 2 so that two copies fit, "
                             f"got min_len={lo}, max_len={hi}, seq_len={t}")
        if self.fixed_offset is not None:
            off = positive_int(self.fixed_offset, "fixed_offset")
            if off < hi or off + hi > t:
                raise ValueError(f"fixed_offset={off} must lie in max_len..seq_len - max_len = {hi}..{t - hi} "
                                 "so that the copies never overlap and always fit")

    def batch(self, rng, batch_size):
        """A random batch; tokens (B, T); ``attend`` is the position after the earlier occurrence.

        Returns
        -------
        Batch
            ``where`` marks the L - 1 predictable positions of each sequence.
        """
        b, t = positive_int(batch_size, "batch_size"), self.seq_len
        length = rng.integers(self.min_len, self.max_len + 1, size=b)  # (B,) L
        if self.fixed_offset is None:
            first = rng.integers(0, t - 2 * length + 1)  # (B,) start of the original, 0 .. T - 2L
            start = rng.integers(first + length, t - length + 1)  # (B,) start of the copy, after the original
            offset = start - first
        else:
            offset = np.full(b, self.fixed_offset)
            first = rng.integers(0, t - length - offset + 1)
            start = first + offset
        fresh = _distinct_rows(rng, b, self.vocab_size, t)  # (B, T) distinct tokens
        pos = np.arange(t)
        in_copy = (pos >= start[:, None]) & (pos < (start + length)[:, None])  # (B, T)
        source = np.where(in_copy, pos - offset[:, None], pos)  # where each token is read from
        tokens = np.take_along_axis(fresh, source, axis=1)
        targets = np.zeros((b, t), dtype=np.int64)
        targets[:, :-1] = tokens[:, 1:]
        where = in_copy & (pos < (start + length - 1)[:, None])  # the copy but its last token
        attend = np.where(where, pos - offset[:, None] + 1, -1)  # the token after the earlier occurrence
        return Batch(tokens, targets, where, attend)
