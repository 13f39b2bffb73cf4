"""Reranking strategies: which scorer calls to make, and how to combine them.

Each strategy is a small frozen dataclass of parameters (defaults from the
literature); :func:`rankwise.rerank` turns it into one Rust planner per
query. Every strategy takes ``depth`` (keyword only): only the first
``depth`` candidates are reranked, the rest stay below them in first-stage
order (default: all).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Optional

from . import _core
from ._validate import at_least

__all__ = [
    "Strategy",
    "SlidingWindow",
    "Tournament",
    "JointRank",
    "SparsePairwise",
    "AllPairs",
    "Setwise",
    "Pointwise",
]


def query_seed(seed: int, qid: str) -> int:
    """The seed of one query's plan: a hash of the strategy's seed and the
    query id, so a query's plan does not depend on which other queries run
    with it (or on which shard)."""
    h = hashlib.blake2b(f"{seed}\x1f{qid}".encode(), digest_size=8)
    return int.from_bytes(h.digest(), "little")


@dataclass(frozen=True)
class Strategy:
    """Base class: ``depth`` and the planner factory."""

    depth: Optional[int] = field(default=None, kw_only=True)
    #: the kind of call the planner makes ("listwise", "pointwise" or "pairwise")
    call_kind: ClassVar[str] = "listwise"

    def __post_init__(self) -> None:
        if self.depth is not None:
            at_least("depth", self.depth, 1)
        # build a planner once so bad parameters fail here, not per query
        self.plan(1, "")

    def plan(self, n: int, qid: str) -> "_core.Plan":
        """The Rust planner for one query with ``n`` candidates."""
        raise NotImplementedError


@dataclass(frozen=True)
class SlidingWindow(Strategy):
    """RankGPT's sliding window (Sun et al., EMNLP 2023), back to front.

    A window of ``window`` candidates moves from the bottom of the list to
    the top in steps of ``step``; each call reorders its window. The top
    window is always ranked, also when ``n - window`` is not a multiple of
    ``step`` (the last window is then shorter). ``n <= window`` is one call.

    Args:
        window: candidates per call, default 20.
        step: how far the window moves, ``1 <= step <= window``; default
            ``window // 2`` (10 for the default window, as RankGPT).
        passes: sweeps over the list, default 1.
    """

    window: int = 20
    step: Optional[int] = None
    passes: int = 1

    def plan(self, n: int, qid: str) -> "_core.Plan":
        window = at_least("window", self.window, 2)
        step = window // 2 if self.step is None else at_least("step", self.step, 1)
        return _core.Plan.sliding_window(n, window, step, at_least("passes", self.passes, 1))


@dataclass(frozen=True)
class Tournament(Strategy):
    """Tournament sort with output caching (ListT5, Yoon et al. 2024; TourRank).

    Groups of at most ``group_size`` candidates are ranked in parallel and
    their best ``advance`` move up a tree (a parent takes
    ``group_size // advance`` children); the root's best is the next result.
    After each winner only the groups whose members changed are asked again.
    The best ``top_k`` come out exact under a consistent judge; the rest
    follow by how far they advanced.

    Args:
        group_size: candidates per call, default 20.
        advance: how many of a group move up, ``<= group_size / 2``, default 5.
        top_k: how many winners to extract, default 10.
    """

    group_size: int = 20
    advance: int = 5
    top_k: int = 10

    def plan(self, n: int, qid: str) -> "_core.Plan":
        return _core.Plan.tournament(
            n,
            at_least("group_size", self.group_size, 2),
            at_least("advance", self.advance, 1),
            at_least("top_k", self.top_k, 1),
        )


Design = Literal["auto", "equi_replicate", "replicate", "random", "latin", "triangular"]
BlockAggregator = Literal["pagerank", "win_rate", "bradley_terry", "plackett_luce", "copeland", "borda"]


@dataclass(frozen=True)
class JointRank(Strategy):
    """JointRank (Dedov, 2025): overlapping blocks ranked in one parallel round.

    The candidates are laid out in blocks of ``block_size`` so that each
    appears in about ``replicas`` blocks; every block is ranked in the same
    round; each block ranking gives ``k (k-1) / 2`` pairwise comparisons (or
    is used whole, for ``plackett_luce`` and ``borda``) and the aggregator
    turns them into one ranking.

    Designs: ``equi_replicate`` (every candidate in exactly ``replicas``
    blocks; needs ``replicas * n`` divisible by ``block_size``),
    ``replicate`` (the same for any ``n``), ``random``, ``latin`` (``n =
    block_size**2``: rows, columns, then diagonals), ``triangular`` (``n =
    block_size (block_size + 1) / 2``, ``replicas = 2``), and ``auto``
    (default), which picks as the JointRank code does: with ``replicas=2``
    latin or triangular when they fit, else equi_replicate when it fits, else
    replicate. A list no longer than ``block_size`` is ``replicas`` shuffled
    copies of itself.

    Args:
        block_size: candidates per call, default 20.
        replicas: blocks per candidate, default 4.
        design: block design, default "auto".
        aggregator: pagerank (default), win_rate, bradley_terry,
            plackett_luce, copeland or borda.
        seed: design seed (hashed with each query id), default 0.
    """

    block_size: int = 20
    replicas: int = 4
    design: Design = "auto"
    aggregator: BlockAggregator = "pagerank"
    seed: int = 0

    def plan(self, n: int, qid: str) -> "_core.Plan":
        return _core.Plan.joint_rank(
            n,
            at_least("block_size", self.block_size, 2),
            at_least("replicas", self.replicas, 1),
            str(self.design),
            str(self.aggregator),
            query_seed(at_least("seed", self.seed, 0), qid),
        )

    def design_for(self, n: int) -> str:
        """The design used for a list of ``n`` candidates (``auto`` resolved)."""
        return _core.Plan.block_design(n, self.block_size, self.replicas, str(self.design))


Sampler = Literal["skip", "window", "random", "all"]
PairAggregator = Literal["additive", "bradley_terry", "pagerank", "greedy", "kwiksort"]


@dataclass(frozen=True)
class SparsePairwise(Strategy):
    """Sparse pairwise reranking (Gienapp et al., ICTIR 2022): compare a
    sample of pairs in one parallel round, then aggregate.

    Samplers over the first-stage order: ``window`` (each candidate against
    the next ``window``), ``skip`` (against those ``skip, 2 skip, ..., window
    * skip`` places below: the same budget reaching further), ``random``
    (``budget`` uniform pairs; by default as many as ``window`` makes).
    ``budget`` also caps the others (nearest pairs first).

    Aggregators: ``additive`` (summed win probabilities), ``bradley_terry``
    (default), ``pagerank``, ``greedy`` (Cohen et al. 1999) and ``kwiksort``
    (Ailon et al. 2008; pairs never compared keep their first-stage order).

    Args:
        sampler: default "skip".
        budget: most pairs per query; default None (the sampler's own count).
        window: pairs per candidate, default 5.
        skip: stride of the skip sampler, default 5.
        aggregator: default "bradley_terry".
        seed: sampling and pivot seed (hashed with each query id), default 0.
    """

    sampler: Sampler = "skip"
    budget: Optional[int] = None
    window: int = 5
    skip: int = 5
    aggregator: PairAggregator = "bradley_terry"
    seed: int = 0
    call_kind: ClassVar[str] = "pairwise"

    def plan(self, n: int, qid: str) -> "_core.Plan":
        budget = None if self.budget is None else at_least("budget", self.budget, 1)
        return _core.Plan.pairwise(
            n,
            str(self.sampler),
            at_least("window", self.window, 1),
            at_least("skip", self.skip, 1),
            budget,
            str(self.aggregator),
            query_seed(at_least("seed", self.seed, 0), qid),
        )


@dataclass(frozen=True)
class AllPairs(Strategy):
    """PRP all pairs (Qin et al., NAACL 2024): every pair in both orders,
    ``n (n - 1)`` calls in one round, so position bias cancels.

    Args:
        aggregator: "additive" (default, PRP's sum of win probabilities),
            bradley_terry, pagerank, greedy or kwiksort.
        seed: kwiksort's pivot seed, default 0.
    """

    aggregator: PairAggregator = "additive"
    seed: int = 0
    call_kind: ClassVar[str] = "pairwise"

    def plan(self, n: int, qid: str) -> "_core.Plan":
        return _core.Plan.pairwise(
            n, "all", 1, 1, None, str(self.aggregator), query_seed(at_least("seed", self.seed, 0), qid)
        )


@dataclass(frozen=True)
class Setwise(Strategy):
    """Setwise sorting (Zhuang et al., SIGIR 2024): each call shows
    ``set_size`` candidates and only its best is used.

    ``heapsort`` (default) builds a heap with ``set_size - 1`` children per
    node (one level's sift-downs in parallel) and extracts ``top_k``;
    ``bubblesort`` makes ``top_k`` sequential passes from the bottom. Over a
    pointwise scorer each set costs one call per candidate.

    Args:
        set_size: candidates per call, default 4.
        method: "heapsort" or "bubblesort".
        top_k: how many to extract exactly, default 10.
    """

    set_size: int = 4
    method: Literal["heapsort", "bubblesort"] = "heapsort"
    top_k: int = 10

    def plan(self, n: int, qid: str) -> "_core.Plan":
        return _core.Plan.setwise(
            n, at_least("set_size", self.set_size, 2), str(self.method), at_least("top_k", self.top_k, 1)
        )


@dataclass(frozen=True)
class Pointwise(Strategy):
    """One call per candidate, sorted by score (ties keep first-stage order)."""

    call_kind: ClassVar[str] = "pointwise"

    def plan(self, n: int, qid: str) -> "_core.Plan":
        return _core.Plan.pointwise(n)
