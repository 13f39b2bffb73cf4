"""TourRank (Chen et al., WWW 2025) through the public API: the paper's
shape, a consistent judge, determinism under the seed, bad parameters."""

from __future__ import annotations

import numpy as np
import pytest

import rankwise as rw
from rankwise.strategies import query_seed


def run_plan(plan: object, utility: np.ndarray) -> tuple[list[int], tuple[int, ...], list[list[int]]]:
    shown: list[list[int]] = []
    while True:
        offsets, items = plan.requests()  # type: ignore[attr-defined]
        if len(offsets) == 1:
            break
        ids: list[int] = []
        for c in range(len(offsets) - 1):
            call = items[offsets[c] : offsets[c + 1]]
            shown.append(call.tolist())
            ids.extend(np.argsort(-utility[call], kind="stable").tolist())
        plan.submit_orders(offsets, np.array(ids, dtype=np.int64))  # type: ignore[attr-defined]
    return plan.result().tolist(), plan.spend(), shown  # type: ignore[attr-defined]


def utilities(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n).astype(np.float64)  # item i's utility; n - 1 is best


def test_registered_and_exported() -> None:
    assert rw.strategies.STRATEGIES["tourrank"] is rw.TourRank
    assert rw.strategies.strategy_class("TourRank") is rw.TourRank


def test_the_papers_shape_and_a_consistent_judge() -> None:
    u = utilities(100, 1)
    order, spend, shown = run_plan(rw.TourRank().plan(100, "q1"), u)
    best = np.argsort(-u)
    assert sorted(order) == list(range(100))
    # 10 tournaments x (5 + 5 + 1 + 1 + 1) calls in 5 rounds, groups of 20, 10, 20, 10, 5
    assert spend[:3] == (130, 10 * (100 + 50 + 20 + 10 + 5), 5)
    assert sorted({len(s) for s in shown}) == [5, 10, 20]
    # the true top two win every stage of every tournament
    assert set(order[:2]) == set(best[:2].tolist())
    # with a stage of one at the end the true best is first
    order, _, _ = run_plan(
        rw.TourRank(tournaments=3, stages=(50, 20, 10, 5, 2, 1), groups=(5, 5, 1, 1, 1, 1)).plan(100, "q1"), u
    )
    assert order[0] == best[0]


def test_deterministic_per_query_seed() -> None:
    u = utilities(60, 2)
    a = run_plan(rw.TourRank(seed=3).plan(60, "q"), u)
    b = run_plan(rw.TourRank(seed=3).plan(60, "q"), u)
    assert a == b
    # another query (or seed) draws other groups and prompt orders
    c = run_plan(rw.TourRank(seed=3).plan(60, "other"), u)
    assert c[2] != a[2]
    assert query_seed(3, "q") != query_seed(3, "other")


@pytest.mark.parametrize("n", [0, 1, 2, 5, 33])
def test_short_lists(n: int) -> None:
    u = utilities(n, 4)
    order, spend, _ = run_plan(rw.TourRank(tournaments=2).plan(n, "q"), u)
    assert sorted(order) == list(range(n))
    if n >= 2:
        assert order[0] in np.argsort(-u)[:2].tolist()


@pytest.mark.parametrize(
    "kwargs, arg",
    [
        ({"tournaments": 0}, "tournaments"),
        ({"stages": (5, 5)}, "stages"),
        ({"stages": ()}, "stages"),
        ({"groups": (1, 2)}, "groups"),
        ({"stages": (5, -1), "groups": (1, 1)}, "stages"),
        ({"stages": "50,20"}, "stages"),
        ({"tournaments": 2**80}, "tournaments"),
    ],
)
def test_bad_parameters_name_the_argument(kwargs: dict, arg: str) -> None:
    with pytest.raises(rw.InvalidInputError, match=f"^{arg}: "):
        rw.TourRank(**kwargs)


def test_through_rerank_with_a_simulated_judge() -> None:
    from rankwise.scorers import Oracle

    u = utilities(40, 5)
    reqs = [rw.Request("q", "query", [rw.Candidate(f"d{i}", f"text {i}") for i in range(40)])]
    judge = Oracle({"q": {f"d{i}": float(u[i]) for i in range(40)}})
    out = rw.rerank(reqs, rw.TourRank(), judge)
    top2 = {f"d{i}" for i in np.argsort(-u)[:2]}
    assert out[0].qid == "q" and set(out[0].docids[:2]) == top2 and out[0].spend["calls"] > 0


def test_cli_takes_stage_lists() -> None:
    from rankwise import cli

    args = cli.parser().parse_args(
        ["rerank", "in.json", "-o", "out.trec", "--strategy", "tourrank", "--stages", "50,20,10,5,2,1"]
        + ["--groups", "5,5,1,1,1,1", "--tournaments", "3"]
    )
    s = cli.build_strategy(args, args.strategy)
    assert s == rw.TourRank(tournaments=3, stages=(50, 20, 10, 5, 2, 1), groups=(5, 5, 1, 1, 1, 1))
