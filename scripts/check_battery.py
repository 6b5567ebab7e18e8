"""Try every exercise check as a hostile but fair learner would, and count what goes wrong.

Run from the repository root, as a new user would::

    PYTHONPATH=src python scripts/check_battery.py            # 100 exercises per check
    PYTHONPATH=src python scripts/check_battery.py --seeds 20 --verbose

For every ``check_*`` in ``helpers.exercises.__all__`` it draws exercises
with the data generators of ``tests/exercise_cases.py`` (shaped like the
notebooks' data, one per seed) and counts:

(a) correct answers that are rejected: each exercise's answer computed the
    ways a learner may compute it (float64 with ``@``, float32 from float32
    inputs, ``np.einsum``, Python loops, a numpy int, a 0-d array, ...);
(b) tracebacks: calls that raise instead of returning a Verdict, for a
    battery of hostile answers (None, a str, a function, 10**400, nan, an
    object whose ``__array__`` raises, a ragged list, arrays of random wrong
    shapes, ...) in every answer slot, also inside tuples and dicts;
(c) wrong answers that are accepted: each case's typical mistakes (unless
    the exercise's data make one coincide with the right answer), and the
    correct answer changed by a relative 1e-4 in one entry (a whole number
    changed by 1, a string by one letter);
(d) the specific cases listed in issue 9 and issue 14.

Everything is seeded, so two runs print the same numbers. The exit status is
1 if any count is not zero.
"""

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from exercise_cases import CASES, ArrayRaises, hostile_answers, nested_hostile, same_answers  # noqa: E402

from helpers import exercises  # noqa: E402


def checks():
    return {name: getattr(exercises, name) for name in exercises.__all__ if name.startswith("check_")}


def call(check, answers, data):
    """(verdict or None, the exception's description or None)."""
    try:
        verdict = check(*answers, **data)
    except Exception as error:  # what the battery counts
        return None, f"{type(error).__name__}: {str(error)[:120]}"
    if not isinstance(verdict, exercises.Verdict) or not isinstance(verdict.message, str):
        return None, f"returned {type(verdict).__name__}, not a Verdict"
    return verdict, None


def first_variant(case, data):
    return next(iter(case.correct(data).values()))


# ---------------------------------------------------------------- (a) correct answers rejected

def correct_rejected(seeds, examples, by_how):
    counts, totals = Counter(), Counter()
    for name, check in checks().items():
        case = CASES[name]
        for seed in range(seeds):
            data = case.data(np.random.default_rng(seed))
            for how, answers in case.correct(data).items():
                totals[name] += 1
                verdict, error = call(check, answers, data)
                by_how[how][1] += 1
                if verdict is None or not verdict:
                    counts[name] += 1
                    by_how[how][0] += 1
                    examples[name].append(f"(a) seed {seed}, {how}: {error or verdict.message}")
    return counts, totals


# ---------------------------------------------------------------- (b) tracebacks

def random_shapes(rng, n=12):
    """Arrays of random shapes (rank 0 to 4, sizes 0 to 5), random values, some with NaN."""
    out = []
    for _ in range(n):
        shape = tuple(int(s) for s in rng.integers(0, 6, size=int(rng.integers(0, 5))))
        a = rng.normal(size=shape) * 10.0 ** rng.integers(-3, 4)
        if a.size and rng.random() < 0.2:
            a.flat[0] = np.nan
        out.append(a)
    return out


def tracebacks(examples):
    counts, totals = Counter(), Counter()
    hostile = hostile_answers()
    for name, check in checks().items():
        case = CASES[name]
        data = case.data(np.random.default_rng(0))
        right = first_variant(case, data)
        rng = np.random.default_rng(1)
        for slot in range(len(right)):
            values = list(hostile.items()) + [(f"random shape {a.shape}", a) for a in random_shapes(rng)]
            values += [(f"{label} inside", inner) for label, v in hostile.items()
                       for inner in nested_hostile(right[slot], v)]
            for label, value in values:
                answers = list(right)
                answers[slot] = value
                totals[name] += 1
                _, error = call(check, answers, data)
                if error:
                    counts[name] += 1
                    examples[name].append(f"(b) slot {slot}, {label}: {error}")
    return counts, totals


# ---------------------------------------------------------------- (c) wrong answers accepted

def perturbed(value):
    """Versions of a correct answer with one small but real change each."""
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (int, np.integer)):
        return [value + 1]
    if isinstance(value, (float, np.floating)):
        return [value * (1 + 1e-4) if value else 1e-4]
    if isinstance(value, str):
        return [value + "x"]
    if isinstance(value, dict):
        return [{**value, key: v} for key in value for v in perturbed(value[key])]
    try:
        a = np.array(value)
    except ValueError:
        a = None
    if a is not None and a.dtype.kind in "biuf" and a.ndim >= 1 and a.size:
        a = a.copy()
        if a.dtype.kind == "b":
            a.flat[0] = not a.flat[0]
        elif a.dtype.kind in "iu":
            a.flat[0] += 1
        else:
            i = int(np.argmax(np.abs(a)))
            a.flat[i] = a.flat[i] * (1 + 1e-4) if a.flat[i] else 1e-4
        return [a]
    if isinstance(value, (tuple, list)):
        return [type(value)(p if j == i else v for j, v in enumerate(value))
                for i, item in enumerate(value) for p in perturbed(item)]
    return []


def wrong_accepted(seeds, examples):
    counts, totals = Counter(), Counter()
    for name, check in checks().items():
        case = CASES[name]
        for seed in range(seeds):
            data = case.data(np.random.default_rng(seed))
            right = first_variant(case, data)
            wrong = [(f"mistake {i}", make(data)) for i, (make, _) in enumerate(case.mistakes)]
            wrong = [(label, answers) for label, answers in wrong if not same_answers(answers, right)]
            for slot in range(len(right) if case.one_answer else 0):
                for p in perturbed(right[slot]):
                    answers = list(right)
                    answers[slot] = p
                    wrong.append((f"slot {slot} changed", tuple(answers)))
            for label, answers in wrong:
                totals[name] += 1
                verdict, error = call(check, answers, data)
                if verdict is not None and verdict:
                    counts[name] += 1
                    examples[name].append(f"(c) seed {seed}, {label}: {verdict.message}")
    return counts, totals


# ---------------------------------------------------------------- (d) the cases named in the issues

W_NULL = np.array([[1.0, 2.0], [3.0, 6.0]])
Q_TOP, K_TOP = np.array([1.0, 1.0]), np.array([[0.5, 0.5], [2.0, 0.5], [-1.0, 0.2], [0.1, 1.5]])
C_ATTN = np.arange(6 * 18.0).reshape(6, 18)
LLAMA = {"attention.self.query": "self_attn.q_proj", "attention.self.key": "self_attn.k_proj",
         "attention.self.value": "self_attn.v_proj", "attention.output.dense": "self_attn.o_proj"}


def named_cases():
    """(description, call, what is right: "accept", "reject" or "verdict")."""
    ex = exercises
    scores = np.random.default_rng(5).normal(size=(4, 5))
    mask = np.tril(np.ones((4, 5), dtype=bool))
    return [
        ("check_top_key accepts 1.0", lambda: ex.check_top_key(1.0, Q_TOP, K_TOP), "accept"),
        ("check_top_key accepts np.array(1)", lambda: ex.check_top_key(np.array(1), Q_TOP, K_TOP), "accept"),
        ("check_split_c_attn accepts a stacked array",
         lambda: ex.check_split_c_attn(np.stack(np.split(C_ATTN, 3, axis=1)), C_ATTN), "accept"),
        ("check_score_memory accepts a 0-d array",
         lambda: ex.check_score_memory(np.array(2 * 12 * 2048 * 2048 * 4), 2, 12, 2048), "accept"),
        ("check_null_vector accepts [3e-10, -1e-10]", lambda: ex.check_null_vector([3e-10, -1e-10], W_NULL), "accept"),
        ("check_null_vector rejects [1e300, 1e300]", lambda: ex.check_null_vector([1e300, 1e300], W_NULL), "reject"),
        ("check_dot_product_variance accepts divide_by = 11.31",
         lambda: ex.check_dot_product_variance(128, 11.31, 128), "accept"),
        ("check_dot_product_variance accepts divide_by = 11.313",
         lambda: ex.check_dot_product_variance(128, 11.313, 128), "accept"),
        ("check_linear_param_count(nan, 3, 4) gives a Verdict",
         lambda: ex.check_linear_param_count(float("nan"), 3, 4), "verdict"),
        ("check_score_memory(2 * 12 * 2048 ** 2048 * 4) gives a Verdict",
         lambda: ex.check_score_memory(2 * 12 * 2048 ** 2048 * 4, 2, 12, 2048), "verdict"),
        ("check_masked_softmax survives an __array__ that raises",
         lambda: ex.check_masked_softmax(ArrayRaises(), scores, mask), "verdict"),
    ]


#: Four slips and a word their diagnosis must contain (the old check gave all four "not right for [...]").
NAME_SLIPS = {
    "value and o_proj swapped": ({**LLAMA, "attention.self.value": "self_attn.o_proj",
                                  "attention.output.dense": "self_attn.v_proj"}, "swapped"),
    "query and value swapped": ({**LLAMA, "attention.self.query": "self_attn.v_proj",
                                 "attention.self.value": "self_attn.q_proj"}, "swapped"),
    "two names the same": ({**LLAMA, "attention.self.key": "self_attn.q_proj"}, "twice"),
    "a BERT name kept": ({**LLAMA, "attention.self.query": "self_attn.query"}, "not a Llama name"),
}


def named(examples):
    failures = 0
    rows = []
    for text, run, want in named_cases():
        verdict, error = call(lambda *a, **k: run(), (), {})
        if want == "verdict":
            ok = error is None
        elif want == "accept":
            ok = error is None and bool(verdict)
        else:
            ok = error is None and not verdict
        failures += not ok
        rows.append((text, ok, error or verdict.message))
    messages = {}
    for slip, (mapping, word) in NAME_SLIPS.items():
        verdict, error = call(exercises.check_bert_to_llama_names, (mapping,), {})
        messages[slip] = (error or verdict.message, bool(verdict) or word not in (error or verdict.message))
    generic = sum(bad for _, bad in messages.values())
    failures += generic > 0
    rows.append((f"check_bert_to_llama_names: {generic} of {len(NAME_SLIPS)} slips get no diagnosis of their own",
                 generic == 0, " | ".join(f"{k}: {m}" for k, (m, _) in messages.items())))
    return failures, rows


# ---------------------------------------------------------------- report

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=100, help="exercises drawn per check (default 100)")
    parser.add_argument("--verbose", action="store_true", help="print up to 3 examples of each failure per check")
    args = parser.parse_args(argv)
    missing = sorted(set(checks()) - set(CASES))
    if missing:
        sys.exit(f"no case in tests/exercise_cases.py for {missing}")
    examples = defaultdict(list)
    by_how = defaultdict(lambda: [0, 0])
    a, a_total = correct_rejected(args.seeds, examples, by_how)
    b, b_total = tracebacks(examples)
    c, c_total = wrong_accepted(max(1, args.seeds // 5), examples)
    d_fail, d_rows = named(examples)
    print(f"{'check':<30} {'(a) correct rejected':>22} {'(b) tracebacks':>16} {'(c) wrong accepted':>20}")
    for name in checks():
        if a[name] or b[name] or c[name] or args.verbose:
            print(f"{name:<30} {a[name]:>10} of {a_total[name]:<9} {b[name]:>5} of {b_total[name]:<8} "
                  f"{c[name]:>6} of {c_total[name]:<9}")
    print(f"{'total':<30} {sum(a.values()):>10} of {sum(a_total.values()):<9} {sum(b.values()):>5} of "
          f"{sum(b_total.values()):<8} {sum(c.values()):>6} of {sum(c_total.values()):<9}")
    print("(a) by way of writing the answer: " + ", ".join(
        f"{how} {n} of {total}" for how, (n, total) in sorted(by_how.items()) if n or args.verbose))
    print(f"\n(d) the cases named in the issues: {d_fail} of {len(d_rows)} wrong")
    for text, ok, message in d_rows:
        print(f"  {'ok  ' if ok else 'FAIL'} {text}" + ("" if ok and not args.verbose else f"\n       -> {message}"))
    if args.verbose:
        for name, lines in examples.items():
            kinds = defaultdict(list)
            for line in lines:
                kinds[line[:3]].append(line)
            for kind_lines in kinds.values():
                for line in kind_lines[:3]:
                    print(f"  {name}: {line}")
    return 1 if (sum(a.values()) or sum(b.values()) or sum(c.values()) or d_fail) else 0


if __name__ == "__main__":
    sys.exit(main())
