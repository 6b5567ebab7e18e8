"""Linear projections: the ``x @ W + b`` behind q_proj, k_proj and v_proj (chapter 1)."""

import math

from ._checks import as_float, require_matrix, require_ndim, result_dtype


def linear(x, w, b=None):
    """Apply a linear projection ``y = x @ w + b`` (taught in chapter 1).

    The course uses row vectors: each row of ``x`` is one token, and ``w``
    has shape (d_in, d_out). PyTorch's ``nn.Linear.weight`` is stored the
    other way round, (d_out, d_in), so pass ``weight.T``.

    Parameters
    ----------
    x : array_like, shape (..., d_in)
        Inputs, e.g. (B, T, D) token vectors. Any number of leading axes.
    w : array_like, shape (d_in, d_out)
        Weight matrix.
    b : array_like, shape (d_out,), optional
        Bias added to every output row.

    Returns
    -------
    y : ndarray, shape (..., d_out)
        Same float dtype as the inputs (float32 stays float32; float16 is
        computed in float32, so no partial sum overflows, and returned as
        float16; integers give float64). An entry too large for the dtype
        (above 65504 in float16) is inf, with numpy's overflow warning.

    Raises
    ------
    ValueError
        If ``w`` is not 2-D, if ``x``'s last axis is not d_in, or if ``b``
        is not of shape (d_out,).
    """
    dtype = result_dtype(x, w, b)
    x = as_float(x, "x")
    w = as_float(w, "w")
    require_ndim(x, "x", 1, "(..., d_in)")
    require_matrix(w, "w", "(d_in, d_out)")
    if x.shape[-1] != w.shape[0]:
        raise ValueError(f"w has shape {w.shape} but x has shape {x.shape}: w needs one row per input "
                         f"dimension, d_in={x.shape[-1]} (a PyTorch weight is (out, in): pass weight.T)")
    if b is not None:
        b = as_float(b, "b")
        if b.shape != (w.shape[1],):
            raise ValueError(f"b has shape {b.shape} but w has shape {w.shape}: b must have shape (d_out,) = ({w.shape[1]},)")
    # Stack all rows into one (N, d_in) matrix so the whole batch is ONE matrix
    # product (numpy would otherwise run one product per batch entry), then
    # restore the leading axes: (..., d_in) @ (d_in, d_out) -> (..., d_out).
    rows = x.reshape(math.prod(x.shape[:-1]), w.shape[0])  # sizes spelled out: works for empty arrays too
    y = (rows @ w).reshape(x.shape[:-1] + (w.shape[1],))
    if b is not None:
        y = y + b  # broadcasts over every row
    return y.astype(dtype, copy=False)
