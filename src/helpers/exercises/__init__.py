"""Check functions for the exercises in the notebooks.

Each ``check_*`` function takes the learner's answer (and the data of the
exercise) and returns a :class:`Verdict`: true or false, shown in the notebook
as one line of text, when the check is the last line of a cell:

* ``"Correct: ..."`` when the answer is right;
* ``"Not attempted yet: ..."`` when the stub still holds ``None``;
* otherwise a specific explanation of what is wrong, e.g. a shape mismatch
  and the likely cause. It names the mistake and the principle, not the code
  of the fix; ``check_x(..., hint=True)`` adds a second nudge.

The checks are fair and never raise (``exercises/_verdict.py``): a numeric
answer is right when it matches the float64 reference within the rounding
of its own dtype, scaled by the size of the terms, so a correct answer in
float32, with einsum or with loops passes; any answer object (None, a str, a
function, 10**400, NaN, a ragged list) gets a Verdict with a specific
message. The expected answers come from the math helpers
(``helpers.linear`` and friends), so the checks and the book cannot disagree.
The functions are grouped by topic, not by chapter, so later chapters reuse
them. ``tests/test_exercises_contract.py`` holds every exported check to this
contract.
"""

from ._verdict import Verdict
from .projections import *  # noqa: F401,F403  (chapter 1)
from .scores import *  # noqa: F401,F403  (chapter 2)
from .qkv import *  # noqa: F401,F403  (chapter 3)
from .attention import *  # noqa: F401,F403  (chapter 4)
from .masks import *  # noqa: F401,F403  (chapter 5)
from .heads import *  # noqa: F401,F403  (chapter 6)
from .learning import *  # noqa: F401,F403  (chapter 9)
from .checkpoints import *  # noqa: F401,F403  (chapter 10)
from .variants import *  # noqa: F401,F403  (chapter 11)
from .cost import *  # noqa: F401,F403  (chapter 12)
from .generation import *  # noqa: F401,F403  (chapter 13)
from . import attention as _attention, checkpoints as _checkpoints, cost as _cost, generation as _generation
from . import heads as _heads, learning as _learning, masks as _masks, projections as _projections, qkv as _qkv
from . import scores as _scores, variants as _variants

__all__ = (["Verdict"] + _projections.__all__ + _scores.__all__ + _qkv.__all__ + _attention.__all__
           + _masks.__all__ + _heads.__all__ + _checkpoints.__all__ + _variants.__all__
           + _cost.__all__ + _generation.__all__ + _learning.__all__)
