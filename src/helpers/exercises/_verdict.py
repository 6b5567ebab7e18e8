"""What every exercise check shares: the Verdict, the one reader of answers, and the one tolerance rule.

* :class:`Verdict` is what a check returns; :func:`exercise_check` gives
  every check its ``hint=False`` keyword and keeps numpy's warnings quiet.
* :func:`as_answer_array` and :func:`read_number` read any answer object, and
  turn what cannot be an answer (None, a function, a str, 10**400, NaN, an
  object whose ``__array__`` raises, ...) into a specific message instead of
  a traceback.
* :class:`Reference` and :func:`close` are the tolerance rule: an answer is
  right when it matches the float64 reference within the rounding error of the
  answer's own dtype, scaled by the size of the terms summed.
  :func:`number_matches` applies the same rule to a single number, and also
  accepts a number rounded to the digits given.
"""

import functools
import html
import inspect
import math
import numbers
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np

from ..attention import scaled_dot_product_attention, softmax

__all__ = ["Verdict", "NOT_ATTEMPTED", "report", "exercise_check", "kind", "wrong_kind", "not_a", "to_array",
           "as_answer_array", "read_number", "Reference", "given", "exactly", "attention", "close", "resembles",
           "number_matches", "show", "brief", "distinct", "listed", "shape_mismatch", "read_attention_output",
           "rows_sum_problem"]

NOT_ATTEMPTED = "Not attempted yet: replace None with your answer and run the cell again."

#: The diagnosis of an attention output laid out (d_v, T), used by :func:`read_attention_output`.
ONE_COLUMN_PER_QUERY = ": one column per query, but the course keeps one row per query (and per token)"

#: Appended by ``hint=True`` when a message has no second nudge.
NO_HINT = "(No further hint for this one: the message above says what to change.)"


# ---------------------------------------------------------------- the verdict

class Verdict:
    """The outcome of a check: truthy when the answer is right, displayed as its message.

    Returning an object (rather than printing and returning a bool) makes a
    check cell show exactly one line, ``Correct: ...`` or what is wrong,
    instead of the message followed by ``True`` or ``False``.

    ``hint`` is an optional second nudge, shown only when the learner asks
    for it with ``check_x(..., hint=True)``. The message names the mistake and
    the principle; the hint comes closer to the fix, but never spells out the
    solution's code.

    In JupyterLab and in the book the message is shown as HTML
    (:meth:`_repr_html_`), which wraps between words; the text form
    (``repr``, what nbval compares) is the message itself.
    """

    def __init__(self, ok, message, hint=None):
        self.ok = bool(ok)
        self.message = message
        self.hint = hint

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return self.message

    def with_hint(self):
        """The same verdict, with its hint (or a note that there is none) appended to the message."""
        if self.ok:
            return self
        return Verdict(False, f"{self.message} {f'Hint: {self.hint}' if self.hint else NO_HINT}", self.hint)

    def _repr_html_(self):
        if self.ok:
            colour, icon = "#2e7d32", "\u2714"  # green, check mark
        elif self.message.startswith("Not attempted"):
            colour, icon = "#757575", "\u2026"  # grey, ellipsis
        else:
            colour, icon = "#c62828", "\u2718"  # red, cross
        return (f'<div class="qkv-verdict" role="status" style="border-left: 4px solid {colour}; '
                'padding: 0.2em 0.7em; white-space: normal; overflow-wrap: break-word; word-break: normal">'
                f'<span aria-hidden="true" style="color: {colour}">{icon}</span> '
                f"{html.escape(self.message)}</div>")


def report(ok, message, hint=None):
    return Verdict(ok, message, hint)


_HINT_DOC = """
    hint : bool, default False
        If True, a wrong answer's message ends with a second nudge towards
        the fix (never the solution's code)."""


def exercise_check(function):
    """Decorate an exported check: add the keyword ``hint=False`` and silence numpy's floating-point warnings.

    A check computes with the learner's numbers, which may overflow or be
    NaN; numpy's RuntimeWarnings would then clutter the cell above the
    verdict, which already says what is wrong.
    """
    @functools.wraps(function)
    def check(*args, hint=False, **kwargs):
        with np.errstate(all="ignore"):
            verdict = function(*args, **kwargs)
        return verdict.with_hint() if hint else verdict

    signature = inspect.signature(function)
    extra = inspect.Parameter("hint", inspect.Parameter.KEYWORD_ONLY, default=False)
    check.__signature__ = signature.replace(parameters=[*signature.parameters.values(), extra])
    if function.__doc__ and "\n\n    Returns\n" in function.__doc__:
        check.__doc__ = function.__doc__.replace("\n\n    Returns\n", _HINT_DOC + "\n\n    Returns\n", 1)
    return check


# ---------------------------------------------------------------- reading an answer

def show(x):
    """A number as a message prints it: an int with thousands separators (a huge one summarised), a float in full.

    A float is printed with the fewest digits that still tell it apart from every other float of its dtype
    (numpy's repr, 12 significant digits at most), so a message never shows a wrong 768.0001 as "768".
    """
    if isinstance(x, (bool, np.bool_)):
        return str(x)
    if isinstance(x, numbers.Integral):
        x = int(x)
        if abs(x) >= 10 ** 15:
            # str() of an int with more than 4300 digits raises, so count the digits from the bits
            digits = len(str(abs(x))) if x.bit_length() < 10_000 else int(x.bit_length() * math.log10(2)) + 1
            return f"a number with {digits:,} digits"
        return f"{x:,}"
    if isinstance(x, numbers.Real):
        text = str(x) if isinstance(x, np.floating) else repr(float(x))
        return text if len(text) <= 14 else f"{float(x):.12g}"  # 12 significant digits at most
    return repr(x)


def brief(x):
    """A short, safe description of any answer object for a message (a long repr is cut, a huge int summarised)."""
    if isinstance(x, numbers.Number) and not isinstance(x, (bool, np.bool_)):
        return show(x) if isinstance(x, numbers.Real) else repr(x)
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape}"
    try:
        text = " ".join(repr(x).split())  # one line
    except Exception:  # a broken __repr__
        return f"a {type(x).__name__}"
    return text if len(text) <= 40 else text[:37] + "..."


def distinct(a, b, style="g"):
    """Format the numbers a != b with enough digits (4 at least) that they do not look equal.

    ``style`` is a format type: "g" counts significant digits, "f" decimals.
    """
    for digits in range(4, 18):
        sa, sb = f"{a:.{digits}{style}}", f"{b:.{digits}{style}}"
        if sa != sb:
            return sa, sb
    return repr(a), repr(b)


def listed(values, target):
    """``values`` as a list for a message, rounded to 4 decimals unless that makes one look like ``target``."""
    def one(v):
        rounded = round(float(v), 4)
        return distinct(v, target)[0] if rounded == target and v != target else repr(rounded)
    return "[" + ", ".join(one(v) for v in np.ravel(values)) + "]"


def kind(x):
    """The type of ``x`` with its article, for a message: "an int", "a str", "an ndarray"."""
    name = type(x).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def wrong_kind(answer, name, what):
    """The message for an answer object that cannot be ``what`` at all (a function, a str, a dict, ...), or None."""
    if callable(answer) and not isinstance(answer, (np.ndarray, np.generic, type)):
        return f"{name} is a function: did you forget to call it? Put the result of the call in {name}."
    if isinstance(answer, (str, bytes, np.str_, np.bytes_)):
        text = repr(answer) if len(answer) <= 30 else repr(answer[:30]) + "..."
        return f"{name} is {kind(answer)} ({text}), but it should be {what}: remove the quotes."
    if isinstance(answer, (dict, set, frozenset)):
        return f"{name} is {kind(answer)}, but it should be {what}."
    return None


def not_a(answer, name, what):
    """The message for an answer that is not the container the exercise asks for (a dict, a tuple of three, ...)."""
    if callable(answer) and not isinstance(answer, (np.ndarray, np.generic, type)):
        return wrong_kind(answer, name, what)
    length = f" of length {len(answer)}" if isinstance(answer, (tuple, list)) else ""
    return f"{name} should be {what}, but it is {kind(answer)}{length}."


def to_array(answer, name, what):
    """The first step of reading an array answer: ``(ndarray, None)``, or ``(None, message)``.

    Turns away what cannot be an array at all (:func:`wrong_kind`), a
    conversion that fails (a ragged list, an ``__array__`` that raises) and
    an object array holding None or something that is not a number; an
    object array of numbers becomes float64. Other dtypes are kept as they
    are, for the caller to judge.
    """
    problem = wrong_kind(answer, name, what)
    if problem:
        return None, problem
    try:
        a = np.asarray(answer)
    except Exception as error:  # e.g. a ragged nested list, or an __array__ that raises
        return None, (f"{name} could not be turned into a numpy array ({type(error).__name__}): "
                      "give an array, or a list of lists of the same length.")
    if a.dtype.kind == "O":
        if any(v is None for v in a.flat):
            return None, f"{name} holds None: every entry needs a value."
        try:
            a = a.astype(float)
        except OverflowError:
            return None, f"{name} holds a number too large for a float (e.g. 10**400): check the arithmetic."
        except (TypeError, ValueError):
            return None, (f"{name} holds something that is not a number (e.g. a str or arrays of "
                          "different shapes): give an array of numbers.")
    return a, None


def as_answer_array(answer, name, *, finite=True):
    """Return ``(array, None)``, or ``(None, message)`` if ``answer`` is not an array of real numbers.

    The array keeps the answer's float dtype (float16, float32 or float64),
    which sets the tolerance of :func:`close`; integers become float64.
    With ``finite=False``, NaN and inf are kept (for checks that diagnose
    them).
    """
    a, problem = to_array(answer, name, "an array of numbers")
    if problem:
        return None, problem
    if a.dtype.kind == "b" or (a.dtype.kind in "iuf" and _holds_bool(answer)):
        return None, f"{name} holds True/False values, but it should hold numbers."
    if a.dtype.kind == "c":
        return None, f"{name} holds complex numbers; the answer is real: keep only the real numbers."
    if a.dtype.kind not in "iuf":
        return None, f"{name} should be a numpy array of numbers, but it is {kind(answer)} of dtype {a.dtype}."
    if a.dtype.kind != "f" or a.dtype.itemsize > 8:
        a = a.astype(np.float64)
    if finite and not np.all(np.isfinite(a)):
        return None, f"{name} contains NaN or inf: check your arithmetic."
    return a, None


def _holds_bool(answer, depth=0):
    """True if a (nested) list or tuple holds a bool, which numpy would silently turn into 0 or 1."""
    if not isinstance(answer, (list, tuple)) or depth > 4:
        return False
    return any(isinstance(x, (bool, np.bool_)) or _holds_bool(x, depth + 1) for x in answer)


#: A whole number with this many digits or more is a typo, e.g. ** typed for *.
TOO_MANY_DIGITS = 30


def read_number(answer, name, *, whole=False):
    """Read a single number: return ``(value, None)``, or ``(None, message)``.

    Accepts Python and numpy ints and floats, and 0-d and 1-element arrays.
    ``value`` is an ``int`` for an integer answer (exact, any size below
    10**30), else a numpy float scalar of the answer's dtype, so that
    :func:`number_matches` knows its precision.

    With ``whole=True`` (a count, a size, an index) an integral float such
    as ``1.0`` becomes the int 1, and a fraction or a negative number gets a
    message. NaN, inf, a huge int (e.g. ``2 * 12 * 2048 ** 2048 * 4``, a
    typo for ``**``), a str, a bool and a function each get a message of their
    own.
    """
    problem = wrong_kind(answer, name, "a single number")
    if problem:
        return None, problem
    if isinstance(answer, (bool, np.bool_)):
        return None, f"{name} is {answer}, a bool: give a number."
    if isinstance(answer, (list, tuple, np.ndarray)):
        a, problem = as_answer_array(answer, name, finite=False)
        if problem:
            return None, problem
        if a.size != 1:
            return None, f"{name} should be a single number, but it has shape {a.shape}."
        original = np.asarray(answer).reshape(-1)[0]
        answer = original if isinstance(original, (numbers.Integral, np.integer)) else a.reshape(())[()]
    if isinstance(answer, numbers.Integral):
        value = int(answer)
    elif isinstance(answer, np.floating):
        value = answer
    elif isinstance(answer, numbers.Real):
        try:
            value = np.float64(float(answer))
        except OverflowError:
            return None, f"{name} is too large to be a float: check the arithmetic, e.g. ** typed for *."
    elif isinstance(answer, numbers.Complex):
        return None, f"{name} is a complex number; the answer is a real number."
    else:
        return None, f"{name} should be a single number, but it is {kind(answer)}."
    if isinstance(value, np.floating):
        if np.isnan(value):
            return None, f"{name} is NaN (not a number): something in the arithmetic gave 0/0, inf - inf or 0 * inf."
        if np.isinf(value):
            return None, f"{name} is {value}: the arithmetic overflowed. Give a finite number."
        if whole:
            if not float(value).is_integer():
                return None, f"{name} = {value} is not a whole number, but the answer is a count or an index."
            value = int(value)
    if isinstance(value, int) and abs(value) >= 10 ** TOO_MANY_DIGITS:
        return None, (f"{name} is {show(value)}, far too large for this exercise: did you type ** (a power) "
                      "where you meant * (a product)?")
    if whole and value < 0:
        return None, f"{name} = {show(value)} is negative, but the answer is a count or an index: 0 or more."
    return value, None


# ---------------------------------------------------------------- the tolerance rule

class Reference:
    """A float64 reference value and the rounding error a correct computation of it may carry.

    ``err`` (same shape as ``value``, never negative) bounds, in units of the
    unit roundoff u of the precision the learner computes in, how far a
    correct computation of the same formula may land from ``value``::

        |computed - value| <= err * u      (to first order in u)

    whatever the order of the sums and whether ``@``, ``einsum`` or loops do
    them. It is the standard forward error analysis (Higham, *Accuracy and
    Stability of Numerical Algorithms*, ch. 3): rounding an input costs u
    times its size; a sum of n terms, e.g. one entry of a matrix product,
    costs at most n u times the sum of the absolute values of its terms,
    ``|a| @ |b|``, not of the result, so cancellation is allowed; ``exp`` and
    the other elementary functions cost a few units of u; errors in the
    inputs of an operation carry through it. The methods below apply these
    rules as they compute the value.

    ``eps`` is the machine epsilon of the coarsest precision the exercise's
    own data come in (0 for float64 data): :func:`close` never judges an
    answer computed from float32 data more finely than float32.
    """

    #: Units of u lost by one elementary function (exp, tanh, cos, ...): 8 u is 4 ulp, and numpy's float32
    #: versions of these functions stay within about 4 ulp (its exp within 2.52).
    FUNCTION_UNITS = 8

    def __init__(self, value, err, eps=0.0):
        self.value = np.asarray(value, dtype=np.float64)
        self.err = np.broadcast_to(np.asarray(err, dtype=np.float64), self.value.shape)
        self.eps = eps

    @property
    def shape(self):
        return self.value.shape

    def with_value(self, value):
        """The same rounding bound around ``value``: e.g. the same formula's value as a helper computes it."""
        return Reference(value, self.err, self.eps)

    @property
    def T(self):  # noqa: N802 (numpy's name)
        return Reference(self.value.T, self.err.T, self.eps)

    def swapaxes(self, a, b):
        return Reference(np.swapaxes(self.value, a, b), np.swapaxes(self.err, a, b), self.eps)

    def __getitem__(self, index):
        return Reference(self.value[index], self.err[index], self.eps)

    def reshape(self, *shape):
        return Reference(self.value.reshape(*shape), self.err.reshape(*shape), self.eps)

    def __neg__(self):
        return Reference(-self.value, self.err, self.eps)

    def __add__(self, other):
        other = given(other)
        value = self.value + other.value
        return Reference(value, self.err + other.err + np.abs(value), max(self.eps, other.eps))

    __radd__ = __add__

    def __sub__(self, other):
        return self + (-given(other))

    def __rsub__(self, other):
        return given(other) + (-self)

    def __mul__(self, other):
        other = given(other)
        value = self.value * other.value
        return Reference(value, self.err * np.abs(other.value) + np.abs(self.value) * other.err + np.abs(value),
                         max(self.eps, other.eps))

    __rmul__ = __mul__

    def __truediv__(self, other):
        other = given(other)
        value = self.value / other.value
        err = (self.err + np.abs(value) * other.err) / np.abs(other.value) + np.abs(value)
        return Reference(value, err, max(self.eps, other.eps))

    def __matmul__(self, other):
        other = given(other)
        n = self.value.shape[-1]
        size = np.abs(self.value) @ np.abs(other.value)  # the size of the terms summed in each entry
        err = self.err @ np.abs(other.value) + np.abs(self.value) @ other.err + (n + 1) * size
        return Reference(self.value @ other.value, err, max(self.eps, other.eps))

    def __pow__(self, exponent):
        """``self ** exponent`` (both rounded): exp(e ln b) moves by |ln b| de and by |e| db / b, plus pow's own."""
        exponent = given(exponent)
        value = self.value ** exponent.value
        err = np.abs(value) * (np.abs(np.log(np.abs(self.value))) * exponent.err
                               + np.abs(exponent.value) * self.err / np.abs(self.value) + self.FUNCTION_UNITS)
        return Reference(value, err, max(self.eps, exponent.eps))

    @staticmethod
    def concatenate(parts, axis=-1):
        return Reference(np.concatenate([p.value for p in parts], axis=axis),
                         np.concatenate([p.err for p in parts], axis=axis), max(p.eps for p in parts))

    def sum(self, axis=-1, keepdims=False):
        n = self.value.shape[axis]
        size = np.abs(self.value).sum(axis=axis, keepdims=keepdims)
        return Reference(self.value.sum(axis=axis, keepdims=keepdims),
                         self.err.sum(axis=axis, keepdims=keepdims) + n * size, self.eps)

    def apply(self, f, df, size=None):
        """``f`` applied elementwise; ``df`` is its derivative; ``size`` the size of its terms (default ``|f|``)."""
        value = f(self.value)
        size = np.abs(value) if size is None else size(self.value)
        return Reference(value, np.abs(df(self.value)) * self.err + self.FUNCTION_UNITS * size, self.eps)

    def exp(self):
        return self.apply(np.exp, np.exp)

    def cos(self):
        return self.apply(np.cos, lambda x: -np.sin(x), size=lambda x: np.ones_like(x))

    def sin(self):
        return self.apply(np.sin, np.cos, size=lambda x: np.ones_like(x))

    def softmax(self, axis=-1):
        """:func:`helpers.softmax`; -inf (a masked score) gives a weight of exactly 0, with no error."""
        s, e = self.value, self.err
        finite = np.isfinite(s)
        e = np.where(finite, e, 0.0)
        p = softmax(s, axis=axis)
        top = np.max(np.where(finite, s, -np.inf), axis=axis, keepdims=True)
        shift = np.where(finite, np.abs(s - np.where(np.isfinite(top), top, 0.0)), 0.0)
        # exp(s_j - m): the errors of s_j, of m and of the subtraction, then exp's own
        r = e + np.max(e, axis=axis, keepdims=True) + shift + self.FUNCTION_UNITS
        r_sum = np.sum(p * r, axis=axis, keepdims=True) + s.shape[axis]  # the sum of the exps (relative)
        return Reference(p, np.where(p > 0, p * (r + r_sum + 1), 0.0), self.eps)


def given(x, dtype=None):
    """An input of the exercise as the learner uses it: rounded once to their precision (err = |x|).

    An input stored in float32 (e.g. a checkpoint's weight), or ``dtype=np.float32`` for an input that the
    course's own code rounds to float32 (e.g. :func:`helpers.smollm2.fuse_layer`), makes float32 the finest
    precision :func:`close` assumes for anything computed from it, whatever dtype the answer comes in.
    """
    if isinstance(x, Reference):
        return x
    x = np.asarray(x)
    dtype = np.dtype(x.dtype if dtype is None else dtype)
    eps = float(np.finfo(dtype).eps) if dtype.kind == "f" and dtype.itemsize < 8 else 0.0
    x = x.astype(np.float64)
    return Reference(x, np.abs(x), eps)


def exactly(x):
    """A value every correct computation gets exactly (e.g. a mask, or a small integer), err = 0."""
    return Reference(x, 0.0)


def attention(q, k, v, mask=None, scale=None):
    """:func:`helpers.scaled_dot_product_attention` as References: ``(out, weights)``."""
    q, k, v = given(q), given(k), given(v)
    scale = given(1 / np.sqrt(q.shape[-1]) if scale is None else scale)
    scores = (q @ k.swapaxes(-1, -2)) * scale
    if mask is not None:
        scores = Reference(np.where(mask, scores.value, -np.inf), scores.err, scores.eps)
    weights = scores.softmax()
    out = weights @ v
    value_out, value_w = scaled_dot_product_attention(q.value, k.value, v.value, mask=mask, scale=scale.value)
    return out.with_value(value_out), weights.with_value(value_w)


def _eps(dtype):
    """Machine epsilon of the answer's precision (never finer than float64, the precision of the reference)."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f" or dtype.itemsize > 8:
        dtype = np.dtype(np.float64)
    return np.finfo(dtype).eps, np.finfo(dtype).tiny


def close(a, reference):
    """True if the answer ``a`` (from :func:`as_answer_array`) is the :class:`Reference` to within its own rounding.

    The rule, entry by entry, with eps the machine epsilon of ``a``'s dtype
    (2**-23 for float32, 2**-52 for float64; float32 at least when the
    exercise's data are float32, see :func:`given`) and tiny its smallest
    normal number (for results that underflow)::

        |a - reference.value| <= eps * reference.err + tiny

    ``reference.err`` bounds a correct computation's error in units of
    u = eps / 2, so the answer may stray twice as far as that first-order
    bound: half of the margin covers the float64 reference's own rounding,
    the rest the second-order terms the bound leaves out. The bound grows
    with the number of terms n summed (n u for each entry of a product) and
    with their size, not the size of the result, so a correct answer whose
    terms cancel is not rejected.

    How tight is it? For an entry of ``x @ W`` with d = 16 terms of size
    about 1, computed in float32, the tolerance is about 17 * 1.2e-7 = 2e-6,
    and a typical correct answer is ten times closer. Real mistakes (a
    missing 1/sqrt(d_k), a transposed matrix, a softmax over the wrong axis,
    a bias added twice) change entries by 10% or more: about 10**5 times the
    tolerance. A float64 answer gets a tolerance 10**9 times smaller again.
    """
    reference = given(reference) if not isinstance(reference, Reference) else reference
    a = np.asarray(a)
    if a.shape != reference.shape:
        return False
    eps, tiny = _eps(a.dtype)
    if reference.eps > eps:  # the exercise's data (or the course's code) are float32: so may the answer's rounding be
        eps, tiny = _eps(np.float32)
    with np.errstate(all="ignore"):
        tolerance = eps * reference.err + tiny
        return bool(np.all((np.abs(a - reference.value) <= tolerance) & np.isfinite(tolerance)))


def resembles(a, b, rtol=1e-3):
    """True if ``a`` matches ``b`` to about 3 significant digits (relative to the largest entry of ``b``).

    Used only to *name* a wrong answer's mistake, e.g. "this is softmax
    without the scale", never to accept an answer: a mistake computed in
    float32 must still get its diagnosis.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    with np.errstate(all="ignore"):
        scale = np.max(np.abs(b)) if b.size else 0.0
        return bool(np.all(np.abs(a - b) <= rtol * (np.abs(b) + scale)))


# ---------------------------------------------------------------- single numbers

def _digits_given(value):
    """The answer as the learner wrote it: its shortest decimal form in its own dtype, as a Decimal."""
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(np.format_float_positional(value, unique=True, trim="-"))


def number_matches(value, expected, err=None, *, digits=False):
    """True if the number ``value`` (from :func:`read_number`) is the reference ``expected``.

    Right when any of these holds:

    * ``value`` is an int and equals ``expected`` exactly;
    * it is ``expected`` within the rounding of its own dtype (:func:`close`,
      with ``err``, default ``|expected|``, in units of u);
    * ``digits=True`` (for an exercise whose answer the learner may round,
      e.g. sqrt(128) = 11.3137...) and the answer, as written, is
      ``expected`` rounded (either way on a tie) or cut off to the digits
      given, with at least 3 significant digits. So 11.31, 11.314 and 11.313
      are right for 11.3137...; 11.3 is right too, but 11 is too coarse and
      11.32 is wrong.
    """
    if isinstance(value, int) and abs(value) > 2 ** 1000:
        return False
    if isinstance(value, int) and float(expected).is_integer() and value == int(expected):
        return True
    err = abs(float(expected)) if err is None else err
    if not isinstance(value, int) and close(np.asarray(value), Reference(expected, err)):
        return True
    if not digits:
        return False
    written = _digits_given(value)
    if written == 0 or len(written.normalize().as_tuple().digits) < 3:
        return False
    step = Decimal(1).scaleb(written.normalize().as_tuple().exponent)
    exact = Decimal(float(expected))
    try:
        return any(written == exact.quantize(step, rounding=way) for way in (ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_DOWN))
    except InvalidOperation:  # far more digits than the reference has: not a rounding of it
        return False


# ---------------------------------------------------------------- shared messages

def shape_mismatch(name, shape, expected, letters, known=()):
    """The Verdict for an answer of the wrong shape.

    ``letters`` names the expected shape in the book's letters, e.g. "(T, S)";
    ``known`` is a sequence of ``(wrong_shape, explanation)`` or
    ``(wrong_shape, explanation, hint)``: the first one whose shape matches is
    appended, so a known mistake gets its own diagnosis (and hint).
    """
    match = next((entry[1:] for entry in known if tuple(shape) == tuple(entry[0])), ("",))
    return report(False, f"{name} has shape {shape} but expected {letters} = {expected}{match[0]}.",
                  match[1] if len(match) > 1 else None)


def read_attention_output(out, expected_shape, known=()):
    """Read the output of an attention exercise whose weights are right: ``(array, None)`` or ``(None, Verdict)``.

    ``expected_shape`` is (T, d_v); ``known`` adds wrong shapes with their
    diagnosis, as for :func:`shape_mismatch` (one column per query is known).
    """
    if out is None:
        return None, report(False, "weights is right. Now compute out, the weighted average of the value rows.")
    a, problem = as_answer_array(out, "out")
    if problem:
        return None, report(False, problem)
    T, d_v = expected_shape
    if a.shape != tuple(expected_shape):
        return None, shape_mismatch("out", a.shape, expected_shape, "(T, d_v)", [
            ((d_v, T), ONE_COLUMN_PER_QUERY, "(T, S) combined with (S, d_v) gives (T, d_v)."), *known])
    return a, None


def rows_sum_problem(weights):
    """A message if the rows of attention ``weights`` do not sum to 1 (to 3 digits), else None."""
    sums = np.asarray(weights, dtype=np.float64).sum(axis=-1)
    if resembles(sums, np.ones_like(sums)):
        return None
    return (f"the rows of weights sum to {listed(sums, 1.0)}, not 1: the softmax must run along "
            "the key axis, so that each query's weights add up to 1.")
