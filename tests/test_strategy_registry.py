"""The strategy registry, the generic planner binding, and JointRank's
block designs against the JointRank code's choices and counts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import rankwise as rw
from rankwise import _core, strategies


def test_every_strategy_is_registered_exported_and_builds_its_planner() -> None:
    assert list(strategies.STRATEGIES) == [
        "sliding-window",
        "tournament-sort",
        "tourrank",
        "jointrank",
        "sparse-pairwise",
        "all-pairs",
        "setwise",
        "pointwise",
    ]
    rust = {n.replace("-", "_") for n in _core.Plan.planners()}
    for name, cls in strategies.registry().items():
        assert getattr(rw, cls.__name__) is cls and cls.__name__ in rw.__all__
        assert cls.planner.replace("-", "_") in rust
        plan = cls().plan(7, "q")
        assert plan.n == 7 and plan.kind == cls.call_kind
        assert strategies.strategy_class(name.upper().replace("-", "_")) is cls


def test_old_names_and_the_deprecated_tournament() -> None:
    assert strategies.strategy_class("tournament") is rw.TournamentSort
    with pytest.warns(DeprecationWarning, match="TournamentSort"):
        t = rw.Tournament(group_size=4, advance=2)
    assert isinstance(t, rw.TournamentSort) and "tournament" not in strategies.STRATEGIES
    a, b = t.plan(9, "q").requests(), rw.TournamentSort(group_size=4, advance=2).plan(9, "q").requests()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    with pytest.raises(rw.InvalidInputError, match="^strategy: unknown strategy 'nope'"):
        strategies.strategy_class("nope")


def test_a_new_strategy_is_a_dataclass_on_a_registered_planner() -> None:
    @dataclasses.dataclass(frozen=True)
    class Windowed(strategies.Strategy, name="test-windowed", planner="sliding_window"):
        window: int = 4
        step: int = 2
        passes: int = 1

    try:
        assert strategies.STRATEGIES["test-windowed"] is Windowed
        offsets, items = Windowed().plan(6, "q").requests()
        assert offsets.tolist() == [0, 4] and items.tolist() == [2, 3, 4, 5]
    finally:
        del strategies.STRATEGIES["test-windowed"]


def test_the_generic_binding_checks_names_and_parameters() -> None:
    with pytest.raises(rw.InvalidInputError, match='^planner: unknown planner "nope"'):
        _core.Plan.new("nope", 3, {})
    with pytest.raises(rw.InvalidInputError, match="^windw: not a parameter of sliding_window"):
        _core.Plan.new("sliding-window", 3, {"window": 2, "step": 1, "passes": 1, "windw": 3})
    with pytest.raises(rw.InvalidInputError, match="^passes: missing"):
        _core.Plan.new("sliding_window", 3, {"window": 2, "step": 1})
    with pytest.raises(rw.InvalidInputError, match="^n: must be a non-negative integer"):
        _core.Plan.new("pointwise", -1, {})
    with pytest.raises(rw.InvalidInputError, match="^window: must be an integer, got a float"):
        rw.SlidingWindow(window=2.5)  # type: ignore[arg-type]
    with pytest.raises(rw.InvalidInputError, match="^window: must be an integer, got a bool"):
        rw.SlidingWindow(window=True)
    # numpy integers are integers
    assert rw.SlidingWindow(window=np.int64(4)).plan(8, "q").kind == "listwise"


def test_choice_lists_come_from_the_enums() -> None:
    assert _core.choices("design") == ["auto", "equi_replicate", "replicate", "random", "latin", "triangular"]
    assert "plackett_luce" in _core.choices("block-aggregator")
    assert rw.JointRank(aggregator="plackett-luce").aggregator == "plackett-luce"
    with pytest.raises(rw.InvalidInputError, match='^aggregator: unknown aggregator "x"; expected one of pagerank'):
        rw.JointRank(aggregator="x")  # type: ignore[arg-type]
    with pytest.raises(rw.InvalidInputError, match="^what: unknown choice list"):
        _core.choices("nope")


@pytest.mark.parametrize(
    "n, block_size, replicas, design",
    [
        (55, 10, 2, "equi_replicate"),  # was triangular, which JointRank's code never picks
        (10, 4, 2, "equi_replicate"),
        (100, 10, 2, "latin"),
        (100, 20, 4, "equi_replicate"),
        (101, 20, 4, "replicate"),
        (55, 10, 3, "replicate"),
    ],
)
def test_auto_picks_as_jointranks_code(n: int, block_size: int, replicas: int, design: str) -> None:
    assert rw.JointRank(block_size=block_size, replicas=replicas).design_for(n) == design


def test_replicate_makes_as_many_blocks_as_jointrank() -> None:
    # JointRank's ReplicateBlockDesign: floor(4 * 101 / 20) = 20 blocks, items 3-4 times (was 21, 4-5 times)
    offsets, items = rw.JointRank(block_size=20, replicas=4, design="replicate").plan(101, "q").requests()
    assert len(offsets) - 1 == 20
    counts = np.bincount(items, minlength=101)
    assert counts.min() >= 3 and counts.max() <= 4
