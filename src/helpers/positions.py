"""Absolute and relative position signals besides RoPE: sinusoidal positions and ALiBi (chapter 7).

* :func:`sinusoidal_positions` is the fixed table of Vaswani et al. (2017),
  added to the token vectors before the first layer.
* :func:`sinusoidal_offset_map` is the (D, D) matrix that moves every row of
  that table k positions on: an offset is a linear map, one 2 x 2 rotation
  per frequency.
* :func:`alibi_slopes` and :func:`alibi_bias` are ALiBi (Press et al., 2022):
  no position vectors at all, a penalty linear in the distance added to
  every head's scores.

The letters are the book's: T query positions, S key positions, D model
width, H heads.
"""

import numpy as np

from ._checks import positive_int
from .rope import check_positions, rope_frequencies


def sinusoidal_positions(T, D, base=10000.0):
    """The sinusoidal position table of "Attention Is All You Need" (chapter 7).

    Row t, columns ``2i`` and ``2i + 1`` (i = 0 .. D/2 - 1)::

        PE[t, 2i]     = sin(t * w_i)
        PE[t, 2i + 1] = cos(t * w_i)      with  w_i = base ** (-2i / D)

    This is the paper's layout: sines at the even columns, cosines at the odd
    ones, each sine beside the cosine of the same frequency. (Some code puts
    all sines first and all cosines after; that is the same table with its
    columns reordered.) The frequencies are RoPE's,
    :func:`helpers.rope.rope_frequencies`.

    Parameters
    ----------
    T : int
        Number of positions (rows), 0 .. T-1.
    D : int
        Model width (even): one sine and one cosine per frequency.
    base : float, default 10000.0
        Finite and > 0; the paper uses 10000.

    Returns
    -------
    pe : ndarray of float64, shape (T, D)
        Every entry in [-1, 1]; every row has norm ``sqrt(D / 2)``.

    Raises
    ------
    ValueError
        If T or D is not a positive integer, D is odd, or base is not finite and > 0.
    """
    T = positive_int(T, "T")
    D = positive_int(D, "D")
    if D % 2 != 0:
        raise ValueError(f"sinusoidal positions need an even width D (a sine and a cosine per frequency), got D={D}")
    angles = np.arange(T)[:, None] * rope_frequencies(D, base)[None, :]  # (T, D/2)
    pe = np.empty((T, D))
    pe[:, 0::2] = np.sin(angles)  # even columns: sines
    pe[:, 1::2] = np.cos(angles)  # odd columns: cosines of the same frequency
    return pe


def sinusoidal_offset_map(k, D, base=10000.0):
    """The fixed matrix M_k with ``PE[t + k] = PE[t] @ M_k`` for every t (chapter 7).

    Columns (2i, 2i + 1) of the table are ``(sin(t w_i), cos(t w_i))``. The
    angle-sum formulas give, for every t::

        [sin((t+k) w), cos((t+k) w)] = [sin(t w), cos(t w)] @ [[ cos(k w), -sin(k w)],
                                                                [ sin(k w),  cos(k w)]]

    so M_k is block diagonal: one 2 x 2 rotation per frequency, by the angle
    ``-k w_i`` in the row-vector convention (``x @ M``). It does not depend
    on t: "k positions later" is one linear map, which a projection such as
    W_q or W_k can learn. ``M_j @ M_k = M_(j+k)``, ``M_0 = I``, and every
    M_k is orthogonal (``M_(-k) = M_k.T``).

    Parameters
    ----------
    k : int
        The offset, any integer (negative moves back).
    D : int
        Model width (even), as in :func:`sinusoidal_positions`.
    base : float, default 10000.0

    Returns
    -------
    m : ndarray of float64, shape (D, D)

    Raises
    ------
    ValueError
        If k is not a finite integer, D not a positive even integer, or base not finite and > 0.
    """
    k = check_positions(np.asarray(k), "k")
    if k.ndim != 0:
        raise ValueError(f"k must be a single integer offset, but has shape {k.shape}")
    D = positive_int(D, "D")
    if D % 2 != 0:
        raise ValueError(f"sinusoidal positions need an even width D, got D={D}")
    angle = float(k) * rope_frequencies(D, base)  # (D/2,)
    c, s = np.cos(angle), np.sin(angle)
    m = np.zeros((D, D))
    even, odd = np.arange(0, D, 2), np.arange(1, D, 2)
    m[even, even], m[even, odd] = c, -s  # new sin = sin c + cos s; new cos = -sin s + cos c
    m[odd, even], m[odd, odd] = s, c
    return m


def alibi_slopes(num_heads):
    """ALiBi's per-head slopes m_h, as in Press et al. (2022) and their code (chapter 7).

    For H a power of two, a geometric sequence: ``m_h = 2 ** (-8 h / H)``
    for h = 1 .. H (H = 8: 1/2, 1/4, ..., 1/256). Otherwise, with n the
    largest power of two below H: the n slopes for n heads, then the first
    H - n of the odd-numbered slopes for 2n heads (h = 1, 3, 5, ...), which
    interleave with the first ones.

    Parameters
    ----------
    num_heads : int
        H.

    Returns
    -------
    slopes : ndarray of float64, shape (H,)
        All in (0, 1); head 0 has the steepest slope (the most local head).
    """
    h = positive_int(num_heads, "num_heads")

    def powers_of_two(n):  # n a power of two
        return 2.0 ** (-8.0 * np.arange(1, n + 1) / n)

    n = 1 << (h.bit_length() - 1)  # the largest power of two <= H
    if n == h:
        return powers_of_two(h)
    return np.concatenate([powers_of_two(n), powers_of_two(2 * n)[0::2][: h - n]])


def alibi_bias(n_q, n_kv=None, *, num_heads):
    """ALiBi's additive score bias: ``-m_h * |distance|`` for every head, query and key (chapter 7).

    ALiBi adds no vector to the tokens. Instead every head h adds
    ``-m_h * |i - j|`` to the score of query position i and key position j,
    before the softmax: the farther the key, the lower its score, by a fixed
    amount per token, and a steeper slope makes a more local head. Queries are
    the last ``n_q`` of the ``n_kv`` positions, as in :func:`helpers.causal_mask`.
    A causal model (the paper's) also masks the future; then only j <= i
    counts and the bias is ``-m_h * (i - j)``.

    Parameters
    ----------
    n_q : int
        T, number of queries.
    n_kv : int, optional
        S, number of keys (default ``n_q``); at least ``n_q``.
    num_heads : int
        H; the slopes are :func:`alibi_slopes`.

    Returns
    -------
    bias : ndarray of float64, shape (H, T, S)
        0 on the query's own position, negative elsewhere. Use it as
        ``scores + bias`` with scores (..., H, T, S).

    Raises
    ------
    ValueError
        If a size is not a positive integer or ``n_kv < n_q``.
    """
    t = positive_int(n_q, "n_q")
    s = t if n_kv is None else positive_int(n_kv, "n_kv")
    if s < t:
        raise ValueError(f"n_kv={s} is smaller than n_q={t}: the queries are the last n_q of the n_kv positions")
    distance = np.abs(np.arange(s - t, s)[:, None] - np.arange(s)[None, :])  # (T, S)
    return -alibi_slopes(num_heads)[:, None, None] * distance[None]  # (H, T, S)
