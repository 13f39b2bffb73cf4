"""Reranking strategies: which scorer calls to make, and how to combine them.

Each strategy is a small frozen dataclass of parameters (defaults from the
literature); :func:`rankwise.rerank` turns it into one Rust planner per
query. Every strategy takes ``depth`` (keyword only): only the first
``depth`` candidates are reranked, the rest stay below them in first-stage
order (default: all).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Dict, Literal, Mapping, Optional, Tuple, Type

from . import _core
from ._errors import InvalidInputError
from ._validate import at_least

# the classes ``rankwise`` exports (``from .strategies import *``); a new strategy adds its name here
__all__ = [
    "Strategy",
    "SlidingWindow",
    "TournamentSort",
    "Tournament",
    "TourRank",
    "JointRank",
    "SparsePairwise",
    "AllPairs",
    "Setwise",
    "Pointwise",
]

#: Every strategy by its name (as the CLI spells it), in definition order;
#: filled by :class:`Strategy` subclasses (``class X(Strategy, name="x")``).
STRATEGIES: Dict[str, Type["Strategy"]] = {}
_ALIASES: Dict[str, str] = {}


def _key(name: str) -> str:
    return name.lower().replace("-", "_")


def registry() -> Mapping[str, Type["Strategy"]]:
    """A copy of :data:`STRATEGIES`: strategy name -> class."""
    return dict(STRATEGIES)


def strategy_class(name: str) -> Type["Strategy"]:
    """The strategy called ``name`` (``-`` and ``_`` alike; old names too)."""
    key = _key(name)
    key = _ALIASES.get(key, key)
    for n, cls in STRATEGIES.items():
        if _key(n) == key:
            return cls
    raise InvalidInputError(f"strategy: unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}")


def query_seed(seed: int, qid: str) -> int:
    """The seed of one query's plan: a hash of the strategy's seed and the
    query id, so a query's plan does not depend on which other queries run
    with it (or on which shard)."""
    h = hashlib.blake2b(f"{seed}\x1f{qid}".encode(), digest_size=8)
    return int.from_bytes(h.digest(), "little")


@dataclass(frozen=True)
class Strategy:
    """Base class: ``depth`` and the planner factory.

    A strategy is a frozen dataclass whose fields are its planner's
    parameters; ``class X(Strategy, name="x", planner="x_planner")``
    registers it under ``name`` (the CLI's spelling) and builds the Rust
    planner ``planner`` (default: ``name``) with the fields by name. Every
    value is checked in Rust, which names the field in its error.
    """

    depth: Optional[int] = field(default=None, kw_only=True)
    #: the kind of call the planner makes ("listwise", "pointwise" or "pairwise")
    call_kind: ClassVar[str] = "listwise"
    #: the registry name, and the Rust planner it builds
    name: ClassVar[str] = ""
    planner: ClassVar[str] = ""

    def __init_subclass__(
        cls, name: Optional[str] = None, planner: Optional[str] = None, aliases: Tuple[str, ...] = (), **kw: Any
    ) -> None:
        super().__init_subclass__(**kw)
        if name is None:
            return
        cls.name, cls.planner = name, planner or name
        STRATEGIES[name] = cls
        for a in aliases:
            _ALIASES[_key(a)] = _key(name)

    def __post_init__(self) -> None:
        if self.depth is not None:
            at_least("depth", self.depth, 1)
        # build a planner once so bad parameters fail here, not per query
        self.plan(1, "")

    def params(self, qid: str) -> Dict[str, Any]:
        """The planner's parameters for query ``qid``: the fields but
        ``depth``; a ``seed`` is hashed with the query id (:func:`query_seed`)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "depth"}
        if "seed" in out:
            out["seed"] = query_seed(at_least("seed", out["seed"], 0), qid)
        return out

    def plan(self, n: int, qid: str) -> "_core.Plan":
        """The Rust planner for one query with ``n`` candidates."""
        return _core.Plan.new(self.planner, n, self.params(qid))


@dataclass(frozen=True)
class SlidingWindow(Strategy, name="sliding-window", planner="sliding_window"):
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


@dataclass(frozen=True)
class TournamentSort(Strategy, name="tournament-sort", planner="tournament_sort", aliases=("tournament",)):
    """ListT5's tournament sort with output caching (Yoon et al., ACL 2024).

    Groups of at most ``group_size`` candidates are ranked in parallel and
    their best ``advance`` move up a tree (a parent takes
    ``group_size // advance`` children); the root's best is the next result.
    After each winner only the groups whose members changed are asked again.
    The best ``top_k`` come out exact under a consistent judge; the rest
    follow by how far they advanced. (TourRank's points over parallel
    tournaments are :class:`TourRank`.)

    Args:
        group_size: candidates per call, default 20.
        advance: how many of a group move up, ``<= group_size / 2``, default 5.
        top_k: how many winners to extract, default 10.
    """

    group_size: int = 20
    advance: int = 5
    top_k: int = 10


@dataclass(frozen=True)
class Tournament(TournamentSort):
    """Deprecated name of :class:`TournamentSort` (it is ListT5's tournament
    sort, not TourRank); same parameters and plans."""

    def __post_init__(self) -> None:
        warnings.warn("rankwise.Tournament is now TournamentSort", DeprecationWarning, stacklevel=3)
        super().__post_init__()


@dataclass(frozen=True)
class TourRank(Strategy, name="tourrank"):
    """TourRank (Chen et al., WWW 2025): points from parallel tournaments.

    ``tournaments`` tournaments run side by side, each over all candidates.
    Stage ``s`` keeps ``stages[s]`` of those alive: they are dealt into
    ``groups[s]`` groups by seeding (pots of strength, one member of each pot
    per group, drawn at random per tournament), each group is ranked by one
    call in its own random order, and its share of ``stages[s]`` advances,
    earning a point. The final order is by total points (ties keep the
    first-stage order). Defaults are the authors' code: 100 -> 50 (5 groups
    of 20) -> 20 (5 of 10) -> 10 -> 5 -> 2, 10 tournaments: 130 calls in 5
    rounds for 100 candidates. Under a consistent judge the last stage's two
    share the top points; end ``stages`` with 1 to give the winner its own.

    Args:
        tournaments: how many tournaments, default 10.
        stages: how many candidates each stage keeps, decreasing, default
            (50, 20, 10, 5, 2).
        groups: groups per stage, default (5, 5, 1, 1, 1).
        seed: draw and prompt-order seed (hashed with each query id), default 0.
    """

    tournaments: int = 10
    stages: Tuple[int, ...] = (50, 20, 10, 5, 2)
    groups: Tuple[int, ...] = (5, 5, 1, 1, 1)
    seed: int = 0


Design = Literal["auto", "equi_replicate", "replicate", "random", "latin", "triangular"]
BlockAggregator = Literal["pagerank", "win_rate", "bradley_terry", "plackett_luce", "copeland", "borda", "zscore"]


@dataclass(frozen=True)
class JointRank(Strategy, name="jointrank"):
    """JointRank (Dedov, 2025): overlapping blocks ranked in one parallel round.

    The candidates are laid out in blocks of ``block_size`` so that each
    appears in about ``replicas`` blocks; every block is ranked in the same
    round; each block ranking gives ``k (k-1) / 2`` pairwise comparisons (or
    is used whole, for ``plackett_luce`` and ``borda``) and the aggregator
    turns them into one ranking.

    Designs: ``equi_replicate`` (every candidate in exactly ``replicas``
    blocks; needs ``replicas * n`` divisible by ``block_size``),
    ``replicate`` (any ``n``: ``floor(replicas * n / block_size)`` blocks, so
    a few candidates appear once less), ``random`` (``ceil(replicas * n /
    block_size)`` random blocks), ``latin`` (``n = block_size**2``: rows,
    columns, then diagonals), ``triangular`` (``n = block_size (block_size +
    1) / 2``, ``replicas = 2``), and ``auto`` (default), which picks as the
    JointRank code does (``get_joint``): with ``replicas=2`` latin when it
    fits, then equi_replicate when it fits, else replicate; it never picks
    triangular or random. Block counts match that code; the shuffles that fill
    the blocks are rankwise's own (seeded). A list no longer than
    ``block_size`` is ``replicas`` shuffled copies of itself.

    Blocks answered with one score per shown document (a groupwise scorer
    such as GroupRank or ICR, or a pointwise one scoring each shown
    document) are ordered by their scores and aggregated like any block
    ranking, so ``bradley_terry`` is Bradley–Terry on the pairs the scores
    imply; or, with ``aggregator="zscore"``, the scores themselves are
    used: each block's scores are standardised (minus the block's mean, over
    its population standard deviation; all 0 when that is 0) and a
    candidate's score is the mean of its standardised scores over the
    blocks that scored it, which removes each block's own offset and scale
    (attention scores, uncalibrated group scores). Candidates no block
    scored follow in first-stage order; ties keep first-stage order.

    Args:
        block_size: candidates per call, default 20.
        replicas: blocks per candidate, default 4.
        design: block design, default "auto".
        aggregator: pagerank (default), win_rate, bradley_terry,
            plackett_luce, copeland, borda, or zscore (needs a groupwise or
            pointwise scorer).
        seed: design seed (hashed with each query id), default 0.
    """

    block_size: int = 20
    replicas: int = 4
    design: Design = "auto"
    aggregator: BlockAggregator = "pagerank"
    seed: int = 0

    @property
    def needs_scores(self) -> bool:
        """Whether the blocks must be answered with scores (``aggregator="zscore"``), not orders."""
        return self.aggregator == "zscore"

    def design_for(self, n: int) -> str:
        """The design used for a list of ``n`` candidates (``auto`` resolved)."""
        p = {"block_size": self.block_size, "replicas": self.replicas, "design": self.design}
        return _core.Plan.block_design(n, p)


Sampler = Literal["skip", "window", "random", "all"]
PairAggregator = Literal["additive", "bradley_terry", "pagerank", "greedy", "kwiksort"]


@dataclass(frozen=True)
class SparsePairwise(Strategy, name="sparse-pairwise", planner="sparse_pairwise"):
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


@dataclass(frozen=True)
class AllPairs(Strategy, name="all-pairs", planner="all_pairs"):
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


@dataclass(frozen=True)
class Setwise(Strategy, name="setwise"):
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


@dataclass(frozen=True)
class Pointwise(Strategy, name="pointwise"):
    """One call per candidate, sorted by score (ties keep first-stage order)."""

    call_kind: ClassVar[str] = "pointwise"
