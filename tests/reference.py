"""Plain numpy reference implementations, used only by the tests.

They are written for clarity, not speed: dense ``n x n`` matrices and the
classical fixed-point iterations, run to a much tighter tolerance than the
library's defaults. Nothing here imports rankwise.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np

__all__ = [
    "win_matrix",
    "bradley_terry",
    "plackett_luce",
    "pagerank",
    "win_rate",
    "copeland",
    "borda",
    "elo",
    "ranking",
    "kendall_tau",
    "flatten_rankings",
]


class ReferenceDidNotConverge(RuntimeError):
    """The reference iteration hit its sweep limit (a problem with the test data)."""


def _weights(m: int, weights: Optional[Sequence[float]]) -> np.ndarray:
    if weights is None:
        return np.ones(m)
    return np.asarray(weights, dtype=np.float64)


def win_matrix(winners, losers, n: int, weights=None) -> np.ndarray:
    """``W[i, j]`` = total weight of comparisons ``i`` won against ``j``,
    accumulated in comparison order."""
    w = np.asarray(winners, dtype=np.int64)
    l = np.asarray(losers, dtype=np.int64)
    W = np.zeros((n, n))
    np.add.at(W, (w, l), _weights(w.size, weights))
    return W


def bradley_terry(
    winners,
    losers,
    n: int,
    weights=None,
    prior: float = 1.0,
    tol: float = 1e-13,
    max_iter: int = 500_000,
) -> np.ndarray:
    """MAP Bradley-Terry log-strengths with Newman's prior, by Zermelo's MM.

    ``p_i <- (W_i + prior) / (sum_j n_ij / (p_i + p_j) + 2 prior / (p_i + 1))``

    With ``prior == 0`` (plain maximum likelihood) the strengths are
    normalised to geometric mean 1 after every sweep. Stops when no
    log-strength changes by more than ``tol``.
    """
    W = win_matrix(winners, losers, n, weights)
    N = W + W.T
    wins = W.sum(axis=1)
    p = np.ones(n)
    for _ in range(max_iter):
        den = (N / (p[:, None] + p[None, :])).sum(axis=1) + 2.0 * prior / (p + 1.0)
        new = (wins + prior) / den
        if prior == 0:
            new = new / np.exp(np.mean(np.log(new)))
        change = np.max(np.abs(np.log(new) - np.log(p))) if n else 0.0
        p = new
        if change < tol:
            return np.log(p)
    raise ReferenceDidNotConverge("bradley_terry reference")


def flatten_rankings(rankings) -> Tuple[np.ndarray, np.ndarray]:
    """``(items, lengths)`` for a list of rankings or a 2-D array."""
    parts = [np.asarray(r, dtype=np.int64).reshape(-1) for r in rankings]
    lengths = np.array([p.size for p in parts], dtype=np.int64)
    items = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return items, lengths


def plackett_luce(
    rankings,
    n: int,
    weights=None,
    prior: float = 1.0,
    tol: float = 1e-13,
    max_iter: int = 500_000,
) -> np.ndarray:
    """MAP Plackett-Luce log-strengths with Newman's prior, by Hunter's MM.

    A ranking ``i_0 > ... > i_{L-1}`` has stages ``t = 0..L-2``; at stage
    ``t`` item ``i_t`` is chosen from ``{i_t, ..., i_{L-1}}`` of total
    strength ``D_t``. With ``wins_i`` the (weighted) number of stages item
    ``i`` is chosen at:

    ``p_i <- (wins_i + prior) / (sum_{stages t containing i} w/D_t + 2 prior/(p_i+1))``
    """
    items, lengths = flatten_rankings(rankings)
    w = _weights(lengths.size, weights)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    ranking_of = np.repeat(np.arange(lengths.size), lengths)
    pos = np.arange(items.size) - starts[ranking_of]
    length_of = lengths[ranking_of]
    is_stage = pos < length_of - 1  # the position starts a choice stage
    wpos = w[ranking_of]
    wins = np.bincount(items[is_stage], weights=wpos[is_stage], minlength=n).astype(np.float64)
    p = np.ones(n)
    for _ in range(max_iter):
        den = np.zeros(n)
        # plain loops over rankings: slow but obviously right
        for k in range(lengths.size):
            L = lengths[k]
            if L < 2 or w[k] == 0:
                continue
            r = items[starts[k] : starts[k] + L]
            pr = p[r]
            D = np.cumsum(pr[::-1])[::-1][: L - 1]  # D_t for t = 0..L-2
            inv = np.cumsum(w[k] / D)  # inv[t] = sum_{u <= t} w/D_u
            # item at position q belongs to stages 0..min(q, L-2)
            den[r] += inv[np.minimum(np.arange(L), L - 2)]
        den += 2.0 * prior / (p + 1.0)
        new = (wins + prior) / den
        if prior == 0:
            new = new / np.exp(np.mean(np.log(new)))
        change = np.max(np.abs(np.log(new) - np.log(p))) if n else 0.0
        p = new
        if change < tol:
            return np.log(p)
    raise ReferenceDidNotConverge("plackett_luce reference")


def pagerank(
    winners,
    losers,
    n: int,
    weights=None,
    damping: float = 0.85,
    tol: float = 1e-15,
    max_iter: int = 100_000,
) -> np.ndarray:
    """PageRank by dense power iteration.

    ``M[winner, loser]`` holds the won weight; column ``j`` is divided by the
    total weight ``j`` lost, so every loser passes its score to the items that
    beat it. Columns of items that never lost (dangling) are replaced by the
    uniform distribution.
    """
    M = win_matrix(winners, losers, n, weights)
    lost = M.sum(axis=0)
    dangling = lost == 0
    T = np.divide(M, lost[None, :], out=np.zeros_like(M), where=~dangling[None, :])
    pr = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        new = (1.0 - damping) / n + damping * (T @ pr + pr[dangling].sum() / n)
        new /= new.sum()
        change = np.abs(new - pr).sum()
        pr = new
        if change < tol:
            break
    return pr


def win_rate(winners, losers, n: int, weights=None) -> np.ndarray:
    """Mean over the opponents met of the share of games won against each;
    -1 for items never compared (with positive weight)."""
    W = win_matrix(winners, losers, n, weights)
    N = W + W.T
    met = N > 0
    share = np.divide(W, N, out=np.zeros_like(W), where=met)
    count = met.sum(axis=1)
    out = np.full(n, -1.0)
    has = count > 0
    out[has] = share.sum(axis=1)[has] / count[has]
    return out


def copeland(winners, losers, n: int, weights=None) -> np.ndarray:
    """Opponents beaten on net weight minus opponents lost to."""
    W = win_matrix(winners, losers, n, weights)
    return np.sign(W - W.T).sum(axis=1).astype(np.float64)


def borda(rankings, n: int, weights=None) -> np.ndarray:
    """Item at 0-based position ``p`` of a length-``L`` ranking gets
    ``weight * (L - 1 - p)`` points."""
    rankings = [np.asarray(r, dtype=np.int64).reshape(-1) for r in rankings]
    w = _weights(len(rankings), weights)
    out = np.zeros(n)
    for k, r in enumerate(rankings):
        L = r.size
        for p, i in enumerate(r):
            out[i] += w[k] * (L - 1 - p)
    return out


def elo(
    winners,
    losers,
    n: int,
    weights=None,
    k: float = 4.0,
    initial: float = 1000.0,
    scale: float = 400.0,
    base: float = 10.0,
) -> np.ndarray:
    """Sequential Elo: ``E = 1 / (1 + base ** ((R_l - R_w) / scale))``, the
    winner gains and the loser loses ``k * weight * (1 - E)``."""
    w = np.asarray(winners, dtype=np.int64)
    l = np.asarray(losers, dtype=np.int64)
    wt = _weights(w.size, weights)
    r = np.full(n, float(initial))
    for a, b, x in zip(w, l, wt):
        e = 1.0 / (1.0 + base ** ((r[b] - r[a]) / scale))
        delta = k * x * (1.0 - e)
        r[a] += delta
        r[b] -= delta
    return r


def ranking(scores) -> np.ndarray:
    """Item ids best first: by score descending, ties by lower id."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.lexsort((np.arange(scores.size), -scores)).astype(np.int64)


def kendall_tau(x, y) -> float:
    """Kendall's tau-a between two score vectors (O(n^2) memory and time)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.size
    sx = np.sign(x[:, None] - x[None, :])
    sy = np.sign(y[:, None] - y[None, :])
    return float((sx * sy).sum() / (n * (n - 1)))
