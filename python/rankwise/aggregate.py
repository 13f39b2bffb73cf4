"""Aggregators: from pairwise comparisons or rankings to one global ranking.

Comparisons are parallel arrays: ``winners[k]`` beat ``losers[k]`` with
weight ``weights[k]`` (default 1). Item ids are integers in ``[0, n_items)``;
``n_items`` defaults to the largest id + 1. A weight may be fractional (a
probability from an LLM) and any finite non-negative number (weights above
1e150 are scaled down exactly before the work, so sums cannot overflow); a
tie is two half-weight comparisons (:func:`elo` also takes ``draws=``);
comparisons of weight 0 are ignored.

No result holds NaN, an infinity or ``-0.0``: what cannot be computed in
floating point raises :class:`InvalidInputError` or :class:`EstimationError`.

Every function returns an :class:`AggregationResult` whose ``scores`` are
higher-is-better and whose ``ranking`` lists item ids best first (ties broken
by lower id). The work runs in Rust with the GIL released.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal, Optional, Tuple

import numpy as np
import numpy.typing as npt

from . import _core
from . import _validate as v
from ._errors import ConvergenceWarning, InvalidInputError

__all__ = [
    "AggregationResult",
    "bradley_terry",
    "plackett_luce",
    "pagerank",
    "win_rate",
    "copeland",
    "borda",
    "elo",
    "comparisons_from_rankings",
]


@dataclass(frozen=True)
class AggregationResult:
    """Scores for every item, the ranking they imply, and diagnostics.

    Attributes:
        scores: float64 array, one score per item, higher is better.
        ranking: int64 array of item ids, best first; ties broken by lower id.
        method: which aggregator produced it, e.g. ``"bradley_terry/newman"``.
        iterations: sweeps run by an iterative method; ``None`` otherwise.
        converged: whether an iterative method met ``tol``; ``None`` otherwise.
    """

    scores: npt.NDArray[np.float64]
    ranking: npt.NDArray[np.int64]
    method: str
    iterations: Optional[int] = None
    converged: Optional[bool] = None

    def __repr__(self) -> str:
        it = "" if self.iterations is None else f", iterations={self.iterations}, converged={self.converged}"
        return f"AggregationResult(method={self.method!r}, n_items={self.scores.size}{it})"


def _iterative(
    name: str, out: Tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], int, bool], tol: float
) -> AggregationResult:
    scores, ranking, iterations, converged = out
    if not converged:
        warnings.warn(
            f"{name} stopped after max_iter={iterations} sweeps before the change fell below tol={tol}; "
            "raise max_iter or tol",
            ConvergenceWarning,
            stacklevel=3,
        )
    return AggregationResult(scores, ranking, name, iterations, converged)


def bradley_terry(
    winners: npt.ArrayLike,
    losers: npt.ArrayLike,
    n_items: Optional[int] = None,
    weights: Optional[npt.ArrayLike] = None,
    *,
    method: Literal["newman", "zermelo"] = "newman",
    prior: float = 1.0,
    tol: float = 1e-8,
    max_iter: int = 10_000,
) -> AggregationResult:
    """Maximum a posteriori Bradley–Terry strengths.

    The model: ``P(i beats j) = p_i / (p_i + p_j)``. The estimate maximises the
    likelihood times Newman's prior: ``prior`` virtual wins and ``prior``
    virtual losses of every item against a dummy item of strength 1
    (M. E. J. Newman, "Efficient computation of rankings from pairwise
    comparisons", JMLR 24, 2023). The prior keeps the estimate finite when an
    item never wins or never loses, which is common with sparse LLM judgments.

    Args:
        winners, losers: integer item ids, one comparison per position.
        n_items: number of items; default ``max id + 1``.
        weights: non-negative weight per comparison; default 1.
        method: ``"newman"`` (default) is Newman's iteration (his eq. 26 with
            the prior terms), typically 10–40x fewer sweeps than
            ``"zermelo"``, the classical MM iteration. Both maximise the same
            objective and agree to within ``tol``.
        prior: virtual wins and losses per item, default 1.0. ``prior=0`` is
            plain maximum likelihood and raises :class:`EstimationError` when
            the estimate does not exist (the "beat" graph is not strongly
            connected, e.g. an item never loses). A positive prior must be at
            least 1e-10 times ``max(1, largest weight)`` (only the ratio of
            weights to prior matters; smaller priors put the estimate beyond
            floating point): :class:`InvalidInputError` otherwise.
        tol: stop when no log-strength changes by more than this between
            sweeps; default 1e-8.
        max_iter: sweep limit, default 10,000; hitting it warns with
            :class:`ConvergenceWarning`.

    Returns:
        :class:`AggregationResult` with ``scores`` = log-strengths (an item
        never compared scores 0, the dummy's strength, when ``prior > 0``).
    """
    w, l = v.pairs(winners, losers)
    out = _core.bradley_terry(
        w,
        l,
        v.n_items(n_items),
        v.weights(weights),
        str(method),
        v.real("prior", prior),
        v.real("tol", tol),
        v.positive_int("max_iter", max_iter),
    )
    return _iterative(f"bradley_terry/{method}", out, tol)


def plackett_luce(
    rankings: Any,
    n_items: Optional[int] = None,
    weights: Optional[npt.ArrayLike] = None,
    *,
    method: Literal["newman", "mm"] = "newman",
    prior: float = 1.0,
    tol: float = 1e-8,
    max_iter: int = 10_000,
) -> AggregationResult:
    """Maximum a posteriori Plackett–Luce strengths from rankings.

    Each ranking lists item ids best first, e.g. the ranking a listwise LLM
    returns for one block of candidates; rankings may cover different items
    and have different lengths. A ranking ``a > b > c`` is read as "a chosen
    from {a, b, c}, then b from {b, c}". The prior is Newman's, as in
    :func:`bradley_terry`; when every ranking has two items the result equals
    :func:`bradley_terry` on those pairs.

    Args:
        rankings: a list of 1-D integer arrays (best first), or a 2-D integer
            array with one ranking per row. Ids must not repeat within a ranking.
        n_items: number of items; default ``max id + 1``.
        weights: non-negative weight per ranking; default 1.
        method: ``"newman"`` (default), Newman's iteration generalised to
            rankings, or ``"mm"``, Hunter's (2004) MM algorithm (Zermelo's
            iteration generalised; the name ``"zermelo"`` is refused here).
        prior: virtual wins and losses per item against a strength-1 dummy,
            default 1.0; ``prior=0`` is maximum likelihood (may raise
            :class:`EstimationError`); a positive prior must be at least
            1e-10 times ``max(1, largest weight)``, as in :func:`bradley_terry`.
        tol: stop when no log-strength changes by more than this; default 1e-8.
        max_iter: sweep limit, default 10,000.

    Returns:
        :class:`AggregationResult` with ``scores`` = log-strengths.
    """
    if method not in ("newman", "mm"):
        raise InvalidInputError(f'method: unknown method {method!r} for plackett_luce; expected "newman" or "mm"')
    items, lengths = v.rankings(rankings)
    out = _core.plackett_luce(
        items,
        lengths,
        v.n_items(n_items),
        v.weights(weights),
        str(method),
        v.real("prior", prior),
        v.real("tol", tol),
        v.positive_int("max_iter", max_iter),
    )
    return _iterative(f"plackett_luce/{method}", out, tol)


def pagerank(
    winners: npt.ArrayLike,
    losers: npt.ArrayLike,
    n_items: Optional[int] = None,
    weights: Optional[npt.ArrayLike] = None,
    *,
    damping: float = 0.85,
    tol: float = 1e-10,
    max_iter: int = 1_000,
) -> AggregationResult:
    """PageRank on the comparison graph, as JointRank and evalica use it.

    Every loser passes its score to the items that beat it, in proportion to
    the weight of those wins; items that never lost spread their score
    uniformly (dangling nodes). Scores sum to 1.

    Args:
        winners, losers, n_items, weights: the comparisons, as in
            :func:`bradley_terry`.
        damping: probability of following an edge, default 0.85.
        tol: stop when the L1 change of the score vector is below this;
            default 1e-10.
        max_iter: sweep limit, default 1,000.
    """
    w, l = v.pairs(winners, losers)
    out = _core.pagerank(
        w,
        l,
        v.n_items(n_items),
        v.weights(weights),
        v.real("damping", damping),
        v.real("tol", tol),
        v.positive_int("max_iter", max_iter),
    )
    return _iterative("pagerank", out, tol)


def win_rate(
    winners: npt.ArrayLike,
    losers: npt.ArrayLike,
    n_items: Optional[int] = None,
    weights: Optional[npt.ArrayLike] = None,
) -> AggregationResult:
    """JointRank's average win rate.

    For each opponent an item met: the share of the (weighted) games against
    it that the item won; the score is the mean of those shares over the
    opponents met, in [0, 1]. Items never compared score -1, so they rank
    below every compared item.
    """
    w, l = v.pairs(winners, losers)
    scores, ranking = _core.win_rate(w, l, v.n_items(n_items), v.weights(weights))
    return AggregationResult(scores, ranking, "win_rate")


def copeland(
    winners: npt.ArrayLike,
    losers: npt.ArrayLike,
    n_items: Optional[int] = None,
    weights: Optional[npt.ArrayLike] = None,
) -> AggregationResult:
    """Copeland score: the number of opponents an item beat (more weight won
    than lost against them) minus the number it lost to; an even record
    counts 0."""
    w, l = v.pairs(winners, losers)
    scores, ranking = _core.copeland(w, l, v.n_items(n_items), v.weights(weights))
    return AggregationResult(scores, ranking, "copeland")


def borda(
    rankings: Any,
    n_items: Optional[int] = None,
    weights: Optional[npt.ArrayLike] = None,
) -> AggregationResult:
    """Borda count over rankings.

    In a ranking of length ``L`` the item at 0-based position ``p`` gets
    ``weight * (L - 1 - p)`` points, the number of items it is ranked above;
    items absent from a ranking get nothing from it.

    Args:
        rankings: as in :func:`plackett_luce`.
        n_items: number of items; default ``max id + 1``.
        weights: non-negative weight per ranking; default 1.
    """
    items, lengths = v.rankings(rankings)
    scores, ranking = _core.borda(items, lengths, v.n_items(n_items), v.weights(weights))
    return AggregationResult(scores, ranking, "borda")


def elo(
    winners: npt.ArrayLike,
    losers: npt.ArrayLike,
    n_items: Optional[int] = None,
    weights: Optional[npt.ArrayLike] = None,
    *,
    draws: Optional[npt.ArrayLike] = None,
    k: float = 4.0,
    initial: float = 1000.0,
    scale: float = 400.0,
    base: float = 10.0,
) -> AggregationResult:
    """Elo ratings, updated sequentially in comparison order.

    For each comparison the winner's expected score is
    ``E = 1 / (1 + base ** ((R_loser - R_winner) / scale))``; the winner gains
    and the loser loses ``k * weight * (S - E)``, where ``S`` is 1 for a win
    and 1/2 for a draw. Defaults follow evalica and LMSYS (``k=4``,
    ``initial=1000``, ``scale=400``, ``base=10``); chess uses ``k=32``. The
    result depends on the order of the comparisons.

    Args:
        draws: booleans, one per comparison, True where it was a draw
            (``winners[k]`` and ``losers[k]`` are then just the two sides);
            default: no draws. A draw between equal ratings changes nothing,
            as in evalica; two half-weight comparisons in opposite directions
            do not express a draw exactly (the first one moves the ratings
            before the second is scored).

    A rating change that leaves the floating-point range (huge ``k`` times
    huge weights) raises :class:`InvalidInputError`.
    """
    w, l = v.pairs(winners, losers)
    d = None
    if draws is not None:
        try:
            d = np.asarray(draws)
        except (ValueError, TypeError) as e:  # ragged nesting
            raise InvalidInputError(f"draws: must be a 1-D array of booleans ({e})") from None
        if d.ndim != 1 or (d.size and d.dtype != np.bool_):
            raise InvalidInputError(f"draws: must be a 1-D array of booleans, got dtype {d.dtype}, shape {d.shape}")
        d = np.ascontiguousarray(d, dtype=np.bool_)
    scores, ranking = _core.elo(
        w,
        l,
        v.n_items(n_items),
        v.weights(weights),
        d,
        v.real("initial", initial),
        v.real("k", k),
        v.real("scale", scale),
        v.real("base", base),
    )
    return AggregationResult(scores, ranking, "elo")


def comparisons_from_rankings(
    rankings: Any,
) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Every (earlier, later) pair within each ranking.

    Args:
        rankings: as in :func:`plackett_luce`.

    Returns:
        ``(winners, losers)`` int64 arrays, ranking by ranking, in order.

    A ranking of ``L`` items gives ``L (L - 1) / 2`` pairs: more than 2**26
    pairs in all (rankings of about 11,000 items) raise
    :class:`InvalidInputError` with the memory they would need, before
    anything is allocated.
    """
    items, lengths = v.rankings(rankings)
    return _core.comparisons_from_rankings(items, lengths)
