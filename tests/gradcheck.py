"""Central finite differences, the independent reference for every gradient test (chapter 9).

Shared by tests/test_grad.py and tests/test_tiny.py. A finite difference
only calls the forward function, so it cannot share a mistake with a
backward pass written by hand.
"""

import numpy as np

TOL = 1e-6  # the relative error the chapter promises
STEP = 1e-6  # finite-difference step in float64


def rel_error(a, b, floor=1.0):
    """||a - b|| / max(||a|| + ||b||, floor).

    The floor makes this an absolute error for a gradient that is 0 in exact
    arithmetic (e.g. that of the key bias of multi-head attention), where
    rounding noise of 1e-16 against finite-difference noise of 1e-10 has no
    meaningful ratio. The gradients of tests/test_grad.py have norms well above 1.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), floor))


def numeric_grad(loss, inputs, name, step=STEP):
    """Central differences of ``loss(**inputs)`` (a scalar) with respect to ``inputs[name]``, entry by entry."""
    base = inputs[name]
    g = np.zeros_like(base, dtype=np.float64)
    for idx in np.ndindex(*base.shape):
        plus, minus = base.copy(), base.copy()
        plus[idx] += step
        minus[idx] -= step
        g[idx] = (loss(**{**inputs, name: plus}) - loss(**{**inputs, name: minus})) / (2 * step)
    return g


def check_against_fd(loss, inputs, analytic, floor=1.0):
    """Assert that every analytic gradient matches finite differences to TOL, with no NaN (``floor``: see rel_error)."""
    assert analytic, "nothing to compare"
    for name, g in analytic.items():
        assert g.shape == np.shape(inputs[name]), f"d{name} has shape {g.shape}, {name} has {np.shape(inputs[name])}"
        assert np.all(np.isfinite(g)), f"d{name} is not finite"
        err = rel_error(g, numeric_grad(loss, inputs, name), floor)
        assert err <= TOL, f"d{name}: relative error {err:.2e} > {TOL}"
