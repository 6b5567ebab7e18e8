"""Array answers copied from a printout: right to the digits printed.

A learner may copy printed numbers into an answer, e.g. ``out4 = [0.0765, 3.4823]`` from the
solution of an exercise, or ``[-1.5, 0.025]`` from numpy's printout of ``[-1.49997, 0.02517]``.
Such an answer is right to the digits shown, and a check should not call it wrong. This extends
the rule of :func:`number_matches` (``digits=True``: the reference rounded, either way on a tie,
or cut off to the digits written, with at least 3 significant digits) from one number to an array,
the two ways numpy prints one:

* with the same number of decimals for every entry (``[-1.5, 0.0252]`` is printed to 4 decimals,
  numpy drops the trailing zeros); or
* in scientific notation, with the same number of significant digits for every entry
  (``[1.000e+00, 1.026e-06]``).
"""

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np

from ._verdict import Reference, _digits_given

__all__ = ["rounded_like", "too_coarse"]

_WAYS = (ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_DOWN)


def _rounds_to(written, exact, step):
    """True if ``exact`` rounded (or cut off) to a multiple of ``step`` is ``written`` (all Decimals)."""
    try:
        return any(written == exact.quantize(step, rounding=way) for way in _WAYS)
    except InvalidOperation:  # far more digits than a Decimal holds: not a printout of it
        return False


def rounded_like(a, reference):
    """True if every entry of the array ``a`` is ``reference`` printed to a common precision.

    Parameters
    ----------
    a : ndarray
        The answer, as read by :func:`as_answer_array`.
    reference : Reference
        The expected values.

    Returns
    -------
    bool
        True when the entries of ``a`` are the reference's entries rounded (or cut off) either
        to the number of decimals of the most precise entry written, with the largest entry
        keeping at least 3 significant digits, or to the number of significant digits of the
        most precise entry written, at least 3. An answer of another shape, with NaN or inf,
        or all zeros, is never accepted here.
    """
    a = np.asarray(a)
    if not isinstance(reference, Reference) or a.shape != reference.shape or a.size == 0:
        return False
    if a.dtype.kind != "f" or not np.all(np.isfinite(a)) or not np.any(a):
        return False
    written = [_digits_given(v).normalize() for v in a.ravel()]
    exact = [Decimal(float(v)) for v in reference.value.ravel()]
    decimals = max(max(-w.as_tuple().exponent, 0) for w in written)
    significant = max(len(w.as_tuple().digits) for w in written if w != 0)
    step = Decimal(1).scaleb(-decimals)
    largest = max(abs(e) for e in exact)
    if largest != 0 and largest.adjusted() + decimals >= 2:  # the largest entry keeps 3 significant digits
        if all(_rounds_to(w, e, step) for w, e in zip(written, exact)):
            return True
    if significant >= 3:
        return all(_rounds_to(w, e, Decimal(1).scaleb(e.adjusted() - significant + 1) if e != 0 else step)
                   for w, e in zip(written, exact))
    return False


def too_coarse(a, reference, name):
    """A message if ``a`` is ``reference`` rounded to a common number of decimals too few to judge, else None.

    ``[0.7, 0.3]`` for ``[0.6964, 0.3036]`` is the right answer rounded to 1 decimal, but with fewer
    than 3 significant digits a rounded answer cannot tell a right computation from a near miss.
    """
    a = np.asarray(a)
    if not isinstance(reference, Reference) or a.shape != reference.shape or a.size == 0:
        return None
    if a.dtype.kind != "f" or not np.all(np.isfinite(a)) or not np.any(a):
        return None
    written = [_digits_given(v).normalize() for v in a.ravel()]
    decimals = max(max(-w.as_tuple().exponent, 0) for w in written)
    step = Decimal(1).scaleb(-decimals)
    if all(_rounds_to(w, Decimal(float(e)), step) for w, e in zip(written, reference.value.ravel())):
        places = f"{decimals} decimal{'s' if decimals != 1 else ''}"
        return (f"{name} matches the right answer rounded to {places}, too few to tell it from a near miss: "
                "a rounded answer needs at least 3 significant digits. Better, leave the numbers unrounded.")
    return None
