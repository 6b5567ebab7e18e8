"""A tiny attention-only transformer, its backward pass and a deterministic training loop (chapter 9).

The model, with the book's letters (B batch, T positions, D model width,
H heads, d head width, V vocabulary, L layers)::

    x = embed[tokens] + pos[:T]                      (B, T, D), the residual stream
    for each of the L layers:
        x = x + multi_head_attention(norm(x), ...)   causal, H heads of width d
    logits = norm(x) @ unembed                       (B, T, V)

``norm`` is RMSNorm when ``TinyConfig.norm`` is True and the identity
otherwise. There is no feed-forward layer: whatever the model computes, its
heads compute. The parameters live in one flat dict of arrays::

    "embed" (V, D), "pos" (T, D), "unembed" (D, V),
    "layers.{l}.w_q", "layers.{l}.w_k", "layers.{l}.w_v" (D, H*d), "layers.{l}.w_o" (H*d, D),
    and with norm=True "layers.{l}.norm" and "final_norm" (D,).

The forward pass is built from the course's helpers, the backward pass from
:mod:`helpers.grad`, and :func:`train` runs Adam on batches of a task from
:mod:`helpers.tasks`.
"""

import contextlib
from dataclasses import dataclass, field

import numpy as np

from ._checks import positive_int
from .grad import _mha_vjp, adam_step, cross_entropy, cross_entropy_backward, linear_backward, rms_norm_backward
from .heads import multi_head_attention
from .masks import causal_mask
from .norms import rms_norm
from .projections import linear

__all__ = ["TinyConfig", "TrainingRun", "init_params", "forward", "loss_and_grads", "cosine_lr", "train",
           "moving_average", "accuracy", "ablate_heads", "check_head"]

WEIGHTS = ("w_q", "w_k", "w_v", "w_o")


@dataclass(frozen=True)
class TinyConfig:
    """The sizes of a tiny attention-only model (chapter 9).

    Parameters
    ----------
    vocab_size : int
        V.
    seq_len : int
        T, the number of learned positions (the longest input).
    d_model : int, default 32
        D, the width of the residual stream.
    n_layers : int, default 1
        L.
    n_heads : int, default 1
        H, heads per layer.
    d_head : int, optional
        d, the head width (d_k = d_v); default D // H.
    norm : bool, default False
        RMSNorm before every layer and before the unembedding.
    """

    vocab_size: int
    seq_len: int
    d_model: int = 32
    n_layers: int = 1
    n_heads: int = 1
    d_head: int | None = None
    norm: bool = False

    def __post_init__(self):
        for name in ("vocab_size", "seq_len", "d_model", "n_layers", "n_heads"):
            positive_int(getattr(self, name), name)
        if self.d_head is None:
            if self.d_model % self.n_heads:
                raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}: give d_head")
            object.__setattr__(self, "d_head", self.d_model // self.n_heads)
        positive_int(self.d_head, "d_head")


def init_params(config, rng, embed_std=0.5):
    """Random initial parameters (chapter 9).

    Token and position embeddings are normal with standard deviation
    ``embed_std``; every weight matrix is normal with variance 1 / d_in,
    which keeps the size of the residual stream steady through the layers;
    RMSNorm gains start at 1.

    The embeddings' scale sets how peaked the first attention patterns are.
    In the lookup, where three embeddings add up at every position, a
    standard deviation of 1 gave initial scores large enough to saturate
    softmax for some seeds: the gradients vanished (chapter 4) and the loss
    stayed on its plateau. 0.5 avoids that.

    Parameters
    ----------
    config : TinyConfig
    rng : numpy.random.Generator
    embed_std : float, default 0.5

    Returns
    -------
    params : dict of str to ndarray (float64)
        The keys and shapes listed in the module docstring.
    """
    c = config
    hd = c.n_heads * c.d_head

    def normal(rows, cols):
        return rng.standard_normal((rows, cols)) / np.sqrt(rows)

    params = {"embed": embed_std * rng.standard_normal((c.vocab_size, c.d_model)),
              "pos": embed_std * rng.standard_normal((c.seq_len, c.d_model))}
    for layer in range(c.n_layers):
        for name, shape in zip(WEIGHTS, [(c.d_model, hd)] * 3 + [(hd, c.d_model)]):
            params[f"layers.{layer}.{name}"] = normal(*shape)
        if c.norm:
            params[f"layers.{layer}.norm"] = np.ones(c.d_model)
    if c.norm:
        params["final_norm"] = np.ones(c.d_model)
    params["unembed"] = normal(c.d_model, c.vocab_size)
    return params


def check_head(config, layer, head):
    """Raise a ValueError unless head ``head`` of layer ``layer`` exists in a model of this config."""
    if not (0 <= layer < config.n_layers and 0 <= head < config.n_heads):
        raise ValueError(f"head ({layer}, {head}) does not exist: the model has {config.n_layers} layers "
                         f"of {config.n_heads} heads")


def _check_tokens(config, tokens):
    """Return ``tokens`` as an int array (B, T) or (B, T, C), or raise a ValueError naming the shapes."""
    tokens = np.asarray(tokens)
    if tokens.dtype.kind not in "iu" or tokens.ndim not in (2, 3):
        raise ValueError(f"tokens must be integer ids of shape (B, T) or (B, T, C), "
                         f"but has dtype {tokens.dtype} and shape {tokens.shape}")
    if tokens.shape[1] > config.seq_len:
        raise ValueError(f"tokens has shape {tokens.shape}: T={tokens.shape[1]} is longer than seq_len={config.seq_len}")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= config.vocab_size):
        raise ValueError(f"tokens must lie in 0..{config.vocab_size - 1}, got values from {tokens.min()} to {tokens.max()}")
    return tokens


def _layer_weights(params, layer):
    return [params[f"layers.{layer}.{name}"] for name in WEIGHTS]


def _embed(params, tokens):
    """The residual stream at the start: token embeddings (C per position add up) plus positions, (B, T, D)."""
    x = params["embed"][tokens]  # (B, T, D) or (B, T, C, D)
    if tokens.ndim == 3:
        x = x.sum(axis=2)
    return x + params["pos"][:tokens.shape[1]]


def _norm(config, params, name, x):
    """RMSNorm with the gain ``params[name]`` if the model has norms, else x unchanged."""
    return rms_norm(x, params[name]) if config.norm else x


def forward(config, params, tokens):
    """Run the model (chapter 9).

    Parameters
    ----------
    config : TinyConfig
    params : dict of str to ndarray
    tokens : array_like of int, shape (B, T) or (B, T, C)
        Token ids, T <= seq_len; with C tokens per position their embeddings add.

    Returns
    -------
    logits : ndarray, shape (B, T, V)
        The prediction of the next (or target) token at every position.
    weights : list of L ndarrays, shape (B, H, T, T)
        The attention weights of every layer.

    Raises
    ------
    ValueError
        If ``tokens`` is not an integer array of a valid shape and range.
    """
    c = config
    tokens = _check_tokens(config, tokens)
    x = _embed(params, tokens)  # (B, T, D), the residual stream
    mask = causal_mask(tokens.shape[1])
    weights = []
    for layer in range(c.n_layers):
        h = _norm(c, params, f"layers.{layer}.norm", x)
        out, w = multi_head_attention(h, *_layer_weights(params, layer), num_heads=c.n_heads, mask=mask)
        x = x + out  # the residual connection
        weights.append(w)  # (B, H, T, T)
    logits = linear(_norm(c, params, "final_norm", x), params["unembed"])  # (B, T, V)
    return logits, weights


def loss_and_grads(config, params, tokens, targets, where=None):
    """The loss of a batch and its gradient with respect to every parameter (chapter 9).

    The forward pass keeps the residual stream before each layer; the
    backward pass walks the layers in reverse. Through a residual connection
    ``x + attention(norm(x))`` the gradient takes both paths: it flows on
    unchanged and, added to it, back through the heads. The step through the
    heads is that of :func:`helpers.grad.multi_head_attention_backward`,
    using what the forward pass kept rather than running it again.

    Parameters
    ----------
    config : TinyConfig
    params : dict of str to ndarray
    tokens : array_like of int, shape (B, T) or (B, T, C)
    targets : array_like of int, shape (B, T)
    where : array_like of bool, shape (B, T), optional
        The positions that count (default: all).

    Returns
    -------
    loss : float
        Mean cross-entropy over the chosen positions.
    grads : dict of str to ndarray
        Same keys and shapes as ``params``.
    """
    c = config
    tokens = _check_tokens(config, tokens)
    mask = causal_mask(tokens.shape[1])

    # Forward, as in forward(), keeping each layer's input and its backward function.
    x = _embed(params, tokens)  # (B, T, D)
    stack = []
    for layer in range(c.n_layers):
        h = _norm(c, params, f"layers.{layer}.norm", x)
        out, _, backward = _mha_vjp(h, *_layer_weights(params, layer), c.n_heads, c.n_heads,
                                    None, None, None, None, None, mask)
        stack.append((x, backward))
        x = x + out  # the residual connection
    h = _norm(c, params, "final_norm", x)
    logits = linear(h, params["unembed"])  # (B, T, V)
    loss = cross_entropy(logits, targets, where)

    # Backward, from the loss to the embeddings.
    grads = {}
    d_logits = cross_entropy_backward(logits, targets, where)  # (B, T, V)
    dh, grads["unembed"], _ = linear_backward(h, params["unembed"], d_logits)  # (B, T, D)
    dx = _norm_backward(c, params, "final_norm", x, dh, grads)
    for layer in reversed(range(c.n_layers)):
        x, backward = stack[layer]
        g = backward(dx)  # through the heads of this layer
        for name in WEIGHTS:
            grads[f"layers.{layer}.{name}"] = g[name]
        dx = dx + _norm_backward(c, params, f"layers.{layer}.norm", x, g["x"], grads)  # residual + head paths
    grads["pos"] = np.zeros_like(params["pos"])
    grads["pos"][:tokens.shape[1]] = dx.sum(axis=0)  # every sequence adds to the same positions
    one_hot = np.eye(c.vocab_size, dtype=dx.dtype)[tokens]  # (B, T, V) or (B, T, C, V)
    if tokens.ndim == 3:
        one_hot = one_hot.sum(axis=2)  # (B, T, V): how often each token sits at each position
    grads["embed"] = one_hot.reshape(-1, c.vocab_size).T @ dx.reshape(-1, c.d_model)  # (V, D)
    return loss, grads


def _norm_backward(config, params, name, x, d_out, grads):
    """Gradient through the optional RMSNorm ``name`` at input x; stores the gain's gradient in ``grads``."""
    if not config.norm:
        return d_out
    dx, grads[name] = rms_norm_backward(x, params[name], d_out)
    return dx


def cosine_lr(peak, steps, warmup=0):
    """A learning-rate schedule: linear warm-up to ``peak``, then a cosine down to 0 at ``steps``.

    The schedule of :mod:`helpers.recipes`.

    Parameters
    ----------
    peak : float
    steps : int
        Total number of steps.
    warmup : int, default 0
        Steps of linear warm-up from ``peak / warmup``.

    Returns
    -------
    schedule : callable
        ``schedule(step) -> float``, for :func:`train`'s ``lr``.
    """
    steps = positive_int(steps, "steps")
    if not 0 <= warmup < steps:
        raise ValueError(f"warmup must lie in 0..steps-1 = 0..{steps - 1}, got {warmup}")

    def schedule(step):
        if step < warmup:
            return peak * (step + 1) / warmup
        return 0.5 * peak * (1 + np.cos(np.pi * (step - warmup) / (steps - warmup)))

    return schedule


@dataclass
class TrainingRun:
    """The result of :func:`train`: the trained parameters and the loss of every step.

    Attributes
    ----------
    config : TinyConfig
    params : dict of str to ndarray
        The parameters after the last step.
    losses : ndarray, shape (steps,)
        The training loss of every step's batch, before that step's update.
    snapshots : dict of int to dict
        Copies of the parameters before the given steps (step ``steps``
        means after the last one).
    """

    config: TinyConfig
    params: dict
    losses: np.ndarray
    snapshots: dict = field(default_factory=dict)


def train(config, task, *, steps, seed=0, batch_size=64, lr=1e-2, snapshot_steps=(), params=None, embed_std=0.5,
          dtype=np.float64, blas_threads=1):
    """Train a tiny model on a task with Adam; deterministic for a given seed (chapter 9).

    The seed gives two independent random streams, one for the initial
    parameters and one for the batches, so the same seed gives the same
    model and the same losses, bit for bit, on the same machine.

    Parameters
    ----------
    config : TinyConfig
    task : object with ``batch(rng, batch_size)``
        E.g. :class:`helpers.tasks.Lookup`; its batches must fit ``config``.
    steps : int
        Number of Adam steps.
    seed : int, default 0
    batch_size : int, default 64
        B, fresh random sequences at every step.
    lr : float or callable, default 1e-2
        Adam's learning rate, or a function of the step (0..steps-1) that
        returns it, e.g. :func:`cosine_lr`.
    snapshot_steps : iterable of int, default ()
        Steps (0..steps) before which to keep a copy of the parameters.
    params : dict, optional
        Start from these instead of a random initialisation.
    embed_std : float, default 0.5
        The initial embeddings' standard deviation (see :func:`init_params`).
    dtype : numpy float dtype, default float64
        The dtype of the parameters and of every computation.
    blas_threads : int or None, default 1
        BLAS threads while training, set with threadpoolctl when it is
        installed. The matrices are so small that more threads only wait for
        each other: on a busy 2-core machine, 2 threads ran 10 times slower
        than 1 (with the same losses, bit for bit). None leaves BLAS alone.

    Returns
    -------
    TrainingRun
    """
    steps = positive_int(steps, "steps")
    keep = {int(s) for s in snapshot_steps}
    if any(s < 0 or s > steps for s in keep):
        raise ValueError(f"snapshot_steps must lie in 0..steps={steps}, got {sorted(keep)}")
    with _blas_threads(blas_threads):
        return _train(config, task, steps, seed, batch_size, lr, keep, params, embed_std, dtype)


def _blas_threads(n):
    """A context that limits BLAS to ``n`` threads if threadpoolctl is installed (else it does nothing)."""
    if n is not None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            pass
        else:
            return threadpool_limits(positive_int(n, "blas_threads"), user_api="blas")
    return contextlib.nullcontext()


def _train(config, task, steps, seed, batch_size, lr, keep, params, embed_std, dtype):
    """The training loop of :func:`train`, on checked arguments."""
    init_rng, data_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    params = init_params(config, init_rng, embed_std) if params is None else params
    params = {n: np.asarray(p, dtype=dtype) for n, p in params.items()}
    schedule = lr if callable(lr) else (lambda step: lr)
    state, losses, snapshots = None, np.empty(steps), {}
    for step in range(steps):
        if step in keep:
            snapshots[step] = {n: p.copy() for n, p in params.items()}
        batch = task.batch(data_rng, batch_size)
        losses[step], grads = loss_and_grads(config, params, batch.tokens, batch.targets, batch.where)
        params, state = adam_step(params, grads, state, lr=float(schedule(step)))
    if steps in keep:
        snapshots[steps] = {n: p.copy() for n, p in params.items()}
    return TrainingRun(config, params, losses, snapshots)


def moving_average(values, window):
    """Mean of each run of ``window`` consecutive values, to read a noisy loss curve (chapter 9).

    Parameters
    ----------
    values : array_like, shape (N,)
        E.g. ``TrainingRun.losses``.
    window : int
        1 <= window <= N.

    Returns
    -------
    smoothed : ndarray, shape (N - window + 1,)
        Entry i is the mean of ``values[i : i + window]``.
    """
    values = np.asarray(values, dtype=np.float64)
    window = positive_int(window, "window")
    if values.ndim != 1 or not 1 <= window <= len(values):
        raise ValueError(f"values must be 1-D with at least window={window} entries, but has shape {values.shape}")
    sums = np.cumsum(np.concatenate([[0.0], values]))
    return (sums[window:] - sums[:-window]) / window


def accuracy(config, params, batch):
    """Fraction of the scored positions of a batch where the top logit is the target (chapter 9).

    Parameters
    ----------
    config : TinyConfig
    params : dict of str to ndarray
    batch : helpers.tasks.Batch

    Returns
    -------
    float in [0, 1]
    """
    logits, _ = forward(config, params, batch.tokens)
    right = logits.argmax(axis=-1) == batch.targets
    return float(right[batch.where].mean())


def ablate_heads(config, params, heads):
    """Parameters with some heads switched off: their output is zero (chapter 9).

    Head ``h`` of layer ``l`` writes to the residual stream only through rows
    ``h*d : (h+1)*d`` of that layer's ``w_o``; zeroing those rows removes
    its output and leaves every other head untouched.

    Parameters
    ----------
    config : TinyConfig
    params : dict of str to ndarray
    heads : iterable of (layer, head)

    Returns
    -------
    params : dict of str to ndarray
        A new dict; the given one is not changed.
    """
    out = dict(params)
    d = config.d_head
    for layer, head in heads:
        check_head(config, layer, head)
        w_o = out[f"layers.{layer}.w_o"].copy()
        w_o[head * d:(head + 1) * d] = 0
        out[f"layers.{layer}.w_o"] = w_o
    return out
