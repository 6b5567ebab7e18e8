"""The settings that train chapter 9's tiny models, kept in one place for the book and its tests (chapter 9).

Each function builds a task and a model, trains it with :func:`helpers.tiny.train`
and returns both. The sizes, step counts and learning rates were chosen so
that every model passes the chapter's bars with a margin and trains in a few
seconds on one CPU core; ``notes`` of the pull request that added them lists
the measured numbers.
"""

from .tasks import Induction, Lookup, PreviousToken
from .tiny import TinyConfig, cosine_lr, train

__all__ = ["train_lookup", "train_previous_token", "train_induction",
           "LOOKUP_SNAPSHOTS", "PREVIOUS_TOKEN_SNAPSHOTS", "INDUCTION_SNAPSHOTS"]

#: Steps at which the recipes keep the parameters, by default: around the moments the heads form.
LOOKUP_SNAPSHOTS = (0, 20, 40, 50, 60, 70, 80, 100, 300)
PREVIOUS_TOKEN_SNAPSHOTS = (0, 5, 10, 15, 20, 25, 30, 50, 200)
INDUCTION_SNAPSHOTS = (0, 100, 150, 175, 200, 225, 250, 300, 400, 600)


def train_lookup(d_head=16, *, steps=300, seed=0, snapshot_steps=None):
    """Train one layer with one head on :class:`helpers.tasks.Lookup` (chapter 9).

    16 keys, 8 pairs per sequence (T = 9), D = 32, batch 64, Adam with a
    cosine learning rate from 1e-2.

    Parameters
    ----------
    d_head : int, default 16
        The head width d = d_k = d_v; the chapter varies it (1, 2, 4, 8, 16)
        to show that the rank of ``W_q W_k^T`` limits the lookup.
    steps, seed : int
    snapshot_steps : iterable of int, optional
        Default: the module's ``*_SNAPSHOTS`` up to ``steps``.

    Returns
    -------
    task : helpers.tasks.Lookup
    run : helpers.tiny.TrainingRun
    """
    task = Lookup(n_keys=16, n_pairs=8)
    config = TinyConfig(task.vocab_size, task.seq_len, d_model=32, n_layers=1, n_heads=1, d_head=d_head)
    run = train(config, task, steps=steps, seed=seed, batch_size=64, lr=cosine_lr(1e-2, steps),
                snapshot_steps=_snapshots(snapshot_steps, LOOKUP_SNAPSHOTS, steps))
    return task, run


def train_previous_token(*, steps=200, seed=0, snapshot_steps=None):
    """Train one layer with one head on :class:`helpers.tasks.PreviousToken` (chapter 9).

    V = 24, T = 16, D = 32, batch 32, Adam with a cosine learning rate from 1e-2.

    Returns
    -------
    task : helpers.tasks.PreviousToken
    run : helpers.tiny.TrainingRun
    """
    task = PreviousToken(vocab_size=24, seq_len=16)
    config = TinyConfig(task.vocab_size, task.seq_len, d_model=32, n_layers=1, n_heads=1)
    run = train(config, task, steps=steps, seed=seed, batch_size=32, lr=cosine_lr(1e-2, steps),
                snapshot_steps=_snapshots(snapshot_steps, PREVIOUS_TOKEN_SNAPSHOTS, steps))
    return task, run


def train_induction(*, fixed_offset=None, steps=600, seed=0, snapshot_steps=None):
    """Train two layers of two heads on :class:`helpers.tasks.Induction` (chapter 9).

    V = 48, T = 24, segments of 4 to 10 tokens, D = 32 (two heads of
    d = 16 per layer), batch 32, Adam with a cosine learning rate from 1e-2,
    embeddings initialised with standard deviation 1 (a longer plateau
    before the drop than with 0.5, so the sudden drop is easy to see).

    Parameters
    ----------
    fixed_offset : int, optional
        Train on the pitfall instead: the copy always starts this many
        positions after the original (10 to 14).
    steps, seed : int
    snapshot_steps : iterable of int, optional
        Default: the module's ``*_SNAPSHOTS`` up to ``steps``.

    Returns
    -------
    task : helpers.tasks.Induction
    run : helpers.tiny.TrainingRun
    """
    task = Induction(vocab_size=48, seq_len=24, min_len=4, max_len=10, fixed_offset=fixed_offset)
    config = TinyConfig(task.vocab_size, task.seq_len, d_model=32, n_layers=2, n_heads=2)
    run = train(config, task, steps=steps, seed=seed, batch_size=32, lr=cosine_lr(1e-2, steps), embed_std=1.0,
                snapshot_steps=_snapshots(snapshot_steps, INDUCTION_SNAPSHOTS, steps))
    return task, run


def _snapshots(given, default, steps):
    """The given snapshot steps, or the default ones that fall within ``steps``."""
    return [s for s in default if s <= steps] if given is None else given
