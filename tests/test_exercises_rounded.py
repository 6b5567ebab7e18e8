"""Answers copied from a printout are right to the digits printed (helpers.exercises._rounded)."""

import numpy as np
import pytest

from helpers.exercises._rounded import rounded_like, too_coarse
from helpers.exercises._verdict import given

REF = given(np.array([[-1.49997291, 0.02516649], [0.999998974, 1.02583768e-06]]))


@pytest.mark.parametrize("answer", [
    [[-1.5, 0.0252], [1.0, 0.0]],             # numpy's positional printout, 4 decimals, trailing zeros dropped
    [[-1.5, 0.025], [1.0, 0.0]],              # 3 decimals: the largest entry still has 3 significant digits
    [[-1.5, 0.02516], [1.0, 1.026e-06]],      # numpy's scientific printout, 4 significant digits
    [[-1.4999, 0.0251], [0.9999, 0.0]],       # cut off instead of rounded
])
def test_a_printout_of_the_reference_is_accepted(answer):
    assert rounded_like(np.array(answer), REF)


@pytest.mark.parametrize("answer", [
    [[-1.5, 0.0], [1.0, 0.0]],                # 1 decimal: -1.5 and 1.0 keep only 2 significant digits
    [[-1.5, 0.0253], [1.0, 0.0]],             # the last digit of one entry is wrong
    [[1.5, 0.0252], [1.0, 0.0]],              # a sign is wrong
    [[-1.5, 0.0252], [1.0]],                  # ragged: never an array of the right shape
    [[0.0, 0.0], [0.0, 0.0]],                 # all zeros
    [[np.nan, 0.0252], [1.0, 0.0]],
])
def test_anything_else_is_not(answer):
    try:
        a = np.array(answer, dtype=float)
    except ValueError:
        return
    assert not rounded_like(a, REF)


def test_too_coarse_names_the_decimals_and_only_fires_on_a_rounded_right_answer():
    message = too_coarse(np.array([[-1.5, 0.0], [1.0, 0.0]]), REF, "out")
    assert message.startswith("out matches the right answer rounded to 1 decimal,")
    assert too_coarse(np.array([[-1.0, 0.0], [1.0, 0.0]]), REF, "out") is not None  # 0 decimals
    assert too_coarse(np.array([[-1.3, 0.0], [1.0, 0.0]]), REF, "out") is None      # -1.3 is not -1.49997 rounded
    assert too_coarse(np.zeros((2, 2)), REF, "out") is None
