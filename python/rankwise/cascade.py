"""Cascades: a chain of stages, each a strategy with its own scorer and depth.

``Cascade([Stage(Pointwise(), minilm, depth=1000), Stage(SlidingWindow(), llm, depth=100)])``
reranks the first 1,000 candidates pointwise with a cheap model, then the
top 100 of that order with a sliding window of an LLM; the mono-duo pattern
of Expando-Mono-Duo (Pradeep et al., 2021) is ``Stage(Pointwise(), mono)``
then ``Stage(AllPairs(), duo, depth=50)``.

:func:`rankwise.rerank` drives a cascade with one dispatcher per distinct
scorer: a query that finishes stage k enters stage k+1 at once, so all the
stages' scorers are busy at the same time (the stages are not run one after
another over the whole collection). Stage k+1 sees the candidates in stage
k's order: its top ``depth`` reranked, the rest below them in that order.
The result is the same as running the stages by hand one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional, Tuple

from ._errors import InvalidInputError
from ._validate import at_least
from .strategies import Strategy

__all__ = ["Cascade", "Stage"]


@dataclass(frozen=True)
class Stage:
    """One stage of a :class:`Cascade`.

    Args:
        strategy: how the stage reranks (e.g. ``Pointwise()``, ``SlidingWindow()``).
        scorer: the stage's scorer (a batch callable or a ``submit`` scorer).
        depth: how many of the previous stage's order (the first-stage
            list for stage 1) this stage reranks; default the strategy's
            ``depth``, else all. When both are given, the smaller one.
    """

    strategy: Strategy
    scorer: Any
    depth: Optional[int] = None

    def __post_init__(self) -> None:
        if not isinstance(self.strategy, Strategy):
            raise InvalidInputError(
                f"stage: expected a rankwise strategy (e.g. Pointwise()), got {type(self.strategy).__name__}"
            )
        if self.scorer is None or not callable(self.scorer):
            raise InvalidInputError(
                f"stage: {type(self.strategy).__name__} needs a scorer (a batch callable), got {type(self.scorer).__name__}"
            )
        if self.depth is not None:
            at_least("depth", self.depth, 1)

    @property
    def effective_depth(self) -> Optional[int]:
        """What the stage reranks: the smaller of its and its strategy's depth (None: all)."""
        given = [d for d in (self.depth, self.strategy.depth) if d is not None]
        return min(given) if given else None


def _as_stage(i: int, s: Any) -> Stage:
    if isinstance(s, Stage):
        return s
    if isinstance(s, tuple) and len(s) in (2, 3):
        try:
            return Stage(*s)
        except InvalidInputError as e:
            raise InvalidInputError(f"stages[{i}]: {str(e).removeprefix('stage: ')}") from None
    raise InvalidInputError(
        f"stages[{i}]: expected a Stage or a (strategy, scorer[, depth]) tuple, got {type(s).__name__}"
    )


class Cascade:
    """A chain of stages (:class:`Stage`, or ``(strategy, scorer[, depth])``
    tuples), for :func:`rankwise.rerank` with no scorer of its own.

    Every query's :class:`~rankwise.Ranking` has the totals in ``spend``
    (``calls``, ``docs_shown``, ``rounds``, ... summed over the stages;
    ``failed`` 0 or 1) and each stage's own under ``stage1.calls``,
    ``stage2.calls``, ... A stage that fails keeps the order of the stages
    before it (the first-stage order if stage 1 failed), and the query is
    marked failed with an error naming the stage; the stages after it are
    not run (their ``stageK.*`` spend is 0).
    """

    def __init__(self, stages: Iterable[Any]) -> None:
        if isinstance(stages, (Stage, Strategy)) or not isinstance(stages, Iterable):
            raise InvalidInputError(f"stages: expected a list of stages, got {type(stages).__name__}")
        self.stages: Tuple[Stage, ...] = tuple(_as_stage(i, s) for i, s in enumerate(stages))
        if not self.stages:
            raise InvalidInputError("stages: a cascade needs at least one stage")

    @property
    def depth(self) -> Optional[int]:
        """How deep the first stage reranks (None: all)."""
        return self.stages[0].effective_depth

    def __len__(self) -> int:
        return len(self.stages)

    def __repr__(self) -> str:
        inner = ", ".join(f"Stage({s.strategy!r}, {type(s.scorer).__name__}, depth={s.depth})" for s in self.stages)
        return f"Cascade([{inner}])"
