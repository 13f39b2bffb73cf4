"""Hostile input to the planners: sizes that would exhaust memory, integers
too large for the bindings, and adversarial answers.

The allocation cases run in a subprocess under a 2 GiB address-space cap,
so an abort or an out-of-memory kill fails the test instead of the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rankwise as rw

CAP = 2 * 2**30

_RUN_CAPPED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
import rankwise as rw
try:
    {stmt}
except rw.InvalidInputError as e:
    print("InvalidInputError:", e)
    sys.exit(0)
print("no error")
sys.exit(3)
"""


def run_capped(stmt: str) -> subprocess.CompletedProcess[str]:
    code = textwrap.dedent(_RUN_CAPPED).format(cap=CAP, stmt=stmt)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "stmt, arg",
    [
        ("rw.AllPairs().plan(50000, 'q').requests()", "n"),
        ("rw.SlidingWindow(window=2, step=1, passes=10**9).plan(100, 'q')", "passes"),
        ("rw.JointRank(replicas=10**7).plan(100, 'q')", "replicas"),
        ("rw.SparsePairwise(sampler='window', window=10**9).plan(100000, 'q')", "window"),
        ("rw.SparsePairwise(sampler='skip', window=10**9, skip=1).plan(100000, 'q')", "window"),
        ("rw.SparsePairwise(sampler='random', budget=10**12).plan(100000, 'q')", "budget"),
        ("rw.Pointwise().plan(10**12, 'q')", "n"),
        ("rw.Setwise().plan(2**40, 'q')", "n"),
        ("rw.TournamentSort().plan(5 * 10**9, 'q')", "n"),
        ("rw.TourRank(tournaments=10**9).plan(100, 'q')", "tournaments"),
    ],
)
def test_sizes_from_input_raise_before_allocating(stmt: str, arg: str) -> None:
    if not hasattr(rw, stmt.split("(")[0].split(".")[1]):
        pytest.skip("strategy not in this build")
    p = run_capped(stmt)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr[-2000:])
    assert p.stdout.startswith(f"InvalidInputError: {arg}: "), p.stdout
    assert "would show" in p.stdout or "candidates" in p.stdout, p.stdout


def test_a_budget_keeps_a_wide_sampler_small() -> None:
    plan = rw.SparsePairwise(sampler="window", window=10**9, budget=1000).plan(100000, "q")
    offsets, items = plan.requests()
    assert len(offsets) == 1001 and len(items) == 2000


@pytest.mark.parametrize(
    "make, arg",
    [
        (lambda: rw.SlidingWindow(window=99999999999999999999), "window"),
        (lambda: rw.SlidingWindow(step=2**70), "step"),
        (lambda: rw.JointRank(block_size=2**64), "block_size"),
        (lambda: rw.SparsePairwise(budget=2**64 + 5), "budget"),
        (lambda: rw.Setwise(top_k=10**30), "top_k"),
        (lambda: rw.SlidingWindow().plan(2**70, "q"), "n"),
        (lambda: rw.SlidingWindow(window="20"), "window"),
        (lambda: rw.JointRank(design=3), "design"),
    ],
)
def test_bad_parameters_raise_naming_the_argument(make: object, arg: str) -> None:
    with pytest.raises(rw.InvalidInputError, match=f"^{arg}: "):
        make()  # type: ignore[operator]


# --- adversarial answers --------------------------------------------------------------

STRATEGIES = [
    rw.SlidingWindow(window=4, step=2),
    rw.SlidingWindow(window=3, step=3, passes=2),
    rw.TournamentSort(group_size=4, advance=2, top_k=3),
    rw.JointRank(block_size=4, replicas=2, aggregator="plackett_luce"),
    rw.JointRank(block_size=3, replicas=3, aggregator="borda"),
    rw.JointRank(block_size=5, replicas=2, aggregator="bradley_terry"),
    rw.SparsePairwise(window=2, skip=2, aggregator="kwiksort"),
    rw.SparsePairwise(sampler="random", aggregator="greedy"),
    rw.AllPairs(aggregator="pagerank"),
    rw.Setwise(set_size=3, top_k=3),
    rw.Setwise(set_size=3, method="bubblesort", top_k=2),
    rw.Pointwise(),
]
if hasattr(rw, "TourRank"):
    STRATEGIES += [rw.TourRank(tournaments=2, stages=(6, 3, 1), groups=(2, 1, 1)), rw.TourRank(tournaments=1)]

EXTREME = [0.0, 1.0, -0.0, 1e308, -1e308, 5e-324, float("nan"), float("inf"), -float("inf"), 0.5, 2.0, -1.0]


def listwise_answer(draw: st.DrawFn, k: int) -> list[int]:
    mode = draw(st.sampled_from(["perm", "partial", "repeated", "range", "empty", "junk"]))
    if mode == "perm":
        return list(draw(st.permutations(range(k))))
    if mode == "partial":
        return draw(st.lists(st.integers(0, k - 1), max_size=k, unique=True))
    if mode == "repeated":
        return draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=3 * k))
    if mode == "range":
        return draw(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=k + 2))
    if mode == "empty":
        return []
    return draw(st.lists(st.sampled_from([-1, k, k + 1, 2**40, 0]), max_size=2 * k))


def rankwise_error(e: BaseException) -> bool:
    return isinstance(e, rw.RankwiseError)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(data=st.data())
def test_planners_survive_adversarial_answers(data: st.DataObject) -> None:
    strategy = data.draw(st.sampled_from(STRATEGIES), label="strategy")
    n = data.draw(st.integers(0, 13), label="n")
    plan = strategy.plan(n, "q")  # type: ignore[attr-defined]
    for _ in range(500):
        offsets, items = plan.requests()
        calls = len(offsets) - 1
        if calls == 0:
            break
        assert offsets[0] == 0 and np.all(np.diff(offsets) >= 1)
        assert np.all((items >= 0) & (items < n))
        wrong_count = data.draw(st.integers(0, 9)) == 0
        try:
            if plan.kind == "listwise":
                answers = [listwise_answer(data.draw, int(offsets[c + 1] - offsets[c])) for c in range(calls)]
                if wrong_count:
                    answers = answers[: data.draw(st.integers(0, calls + 1))] + [[0]] * data.draw(st.integers(0, 1))
                flat = np.array([x for a in answers for x in a], dtype=np.int64)
                offs = np.cumsum([0] + [len(a) for a in answers]).astype(np.int64)
                plan.submit_orders(offs, flat)
            else:
                values = [data.draw(st.sampled_from(EXTREME) | st.floats(allow_nan=True)) for _ in range(calls)]
                if wrong_count:
                    values = values[: data.draw(st.integers(0, calls + 1))]
                plan.submit_values(np.array(values, dtype=np.float64))
        except Exception as e:  # noqa: BLE001 - any non-rankwise error fails below
            assert rankwise_error(e), repr(e)
            # a refused answer leaves the round pending: answer it cleanly
            same_offsets, same_items = plan.requests()
            assert np.array_equal(same_offsets, offsets) and np.array_equal(same_items, items)
            if plan.kind == "listwise":
                plan.submit_orders(
                    offsets - offsets[0],
                    np.concatenate([np.arange(offsets[c + 1] - offsets[c]) for c in range(calls)]).astype(np.int64),
                )
            else:
                plan.submit_values(np.full(calls, 0.5))
    else:
        pytest.fail("plan did not finish in 500 rounds")
    r = plan.result()
    assert sorted(r.tolist()) == list(range(n))
    sp = plan.spend()
    assert len(sp) == 5 and sp[4] <= sp[3]
