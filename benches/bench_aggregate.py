#!/usr/bin/env python
"""Benchmark rankwise's aggregators against numpy, evalica, choix and networkx.

Synthetic Bradley–Terry data (fixed seeds): ``n`` items with true
log-strengths ~ N(0, 1); ``m`` comparisons between uniformly random distinct
pairs, the winner drawn with the Bradley–Terry probability. Every method is
timed end to end from the numpy arrays ``winners``/``losers`` (median of K
repeats, ``time.perf_counter``), including whatever input conversion or
graph/matrix construction the peer needs; where construction is a distinct
step (networkx graph, choix list of tuples, the prior's virtual games) it is
also reported on its own ("build s").

Usage::

    python benches/bench_aggregate.py                 # n in {1e3, 1e4, 1e5}
    python benches/bench_aggregate.py --sizes small   # n in {1e3, 1e4}
    python benches/bench_aggregate.py --quick         # n = 1e3 only (smoke run)
    python benches/bench_aggregate.py --repeats 3 --out results.md

Timings are never asserted; the script only prints them.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import signal
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
from scipy.stats import kendalltau

import rankwise
from _common import cpu_info, try_import, version

TOL = 1e-6  # every method's own convergence criterion, see CRITERIA
SEED = 20231
MAX_REPS = 100  # cap on the repeats a cheap call gets from --min-time
TAU_SAMPLE = 20_000  # Kendall tau on at most this many items (fixed subsample)

# ----------------------------------------------------------------------------
# optional peers


with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    evalica = try_import("evalica")
    pd = try_import("pandas")
choix = try_import("choix")
nx = try_import("networkx")


# ----------------------------------------------------------------------------
# data


@dataclass
class Data:
    n: int
    m: int
    true: np.ndarray  # true log-strengths
    winners: np.ndarray  # int64
    losers: np.ndarray  # int64
    tau_idx: np.ndarray  # items used for Kendall tau
    refs: Dict[str, np.ndarray] = field(default_factory=dict)  # per kernel, untimed


def make_data(n: int, m: int) -> Data:
    rng = np.random.default_rng([SEED, n, m])
    true = rng.standard_normal(n)
    a = rng.integers(0, n, m)
    b = rng.integers(0, n - 1, m)
    b += b >= a  # uniformly random distinct pairs
    a_wins = rng.random(m) < 1.0 / (1.0 + np.exp(true[b] - true[a]))
    winners = np.where(a_wins, a, b).astype(np.int64)
    losers = np.where(a_wins, b, a).astype(np.int64)
    tau_idx = np.arange(n) if n <= TAU_SAMPLE else np.sort(rng.choice(n, TAU_SAMPLE, replace=False))
    return Data(n, m, true, winners, losers, tau_idx)


def with_prior_games(d: Data) -> Tuple[np.ndarray, np.ndarray]:
    """The comparisons plus Newman's prior written as data: every item beats a
    dummy item (id ``n``) once and loses to it once. Maximum likelihood on
    this data, rescaled so the dummy has strength 1, *is* rankwise's MAP
    estimate with ``prior=1`` (the likelihood is scale-invariant), so peers
    without Newman's prior solve exactly the same problem."""
    ids = np.arange(d.n, dtype=np.int64)
    dummy = np.full(d.n, d.n, dtype=np.int64)
    return np.concatenate([d.winners, ids, dummy]), np.concatenate([d.losers, dummy, ids])


# ----------------------------------------------------------------------------
# numpy implementation of Newman's iteration (same algorithm as rankwise)


def _scale_root_one(logp: np.ndarray) -> float:
    """Root u of sum_i tanh((u + logp_i)/2) (one component), as rankwise's
    safeguarded Newton."""
    lo, hi = -float(logp.max()), -float(logp.min())
    if hi - lo < 1e-15:
        return lo
    u = -float(logp.mean())
    for _ in range(100):
        t = np.tanh((u + logp) * 0.5)
        f = float(t.sum())
        df = 0.5 * float(len(t) - t @ t)
        if f > 0:
            hi = u
        else:
            lo = u
        nxt = u - f / df
        if not (lo < nxt < hi):
            nxt = 0.5 * (lo + hi)
        if abs(nxt - u) <= 1e-15 * (1 + abs(u)) or hi - lo <= 1e-15 * (1 + abs(u)):
            return nxt
        u = nxt
    return u


def _scale_roots(logp: np.ndarray, lab: np.ndarray, k: int) -> np.ndarray:
    """The same root per connected component, vectorised over components."""
    cnt = np.bincount(lab, minlength=k)
    lo = np.full(k, np.inf)
    np.minimum.at(lo, lab, -logp)
    hi = np.full(k, -np.inf)
    np.maximum.at(hi, lab, -logp)
    done = (hi - lo) < 1e-15
    out = lo.copy()
    u = -np.bincount(lab, logp, k) / cnt
    for _ in range(100):
        t = np.tanh((u[lab] + logp) * 0.5)
        f = np.bincount(lab, t, k)
        df = np.bincount(lab, 0.5 * (1 - t * t), k)
        pos = f > 0
        hi = np.where(pos, u, hi)
        lo = np.where(pos, lo, u)
        nxt = u - f / df
        nxt = np.where((nxt > lo) & (nxt < hi), nxt, 0.5 * (lo + hi))
        stop = (np.abs(nxt - u) <= 1e-15 * (1 + np.abs(u))) | (hi - lo <= 1e-15 * (1 + np.abs(u)))
        new = stop & ~done
        out[new] = nxt[new]
        done |= stop
        u = nxt
        if done.all():
            return out
    out[~done] = u[~done]
    return out


def newman_numpy(
    winners: np.ndarray,
    losers: np.ndarray,
    n: int,
    prior: float = 1.0,
    tol: float = TOL,
    max_iter: int = 10_000,
    accelerate: bool = True,
) -> Tuple[np.ndarray, int, bool]:
    """Newman's iteration (JMLR 2023, eq. 26 with his prior: ``prior`` virtual
    wins and losses against a strength-1 dummy), Jacobi sweeps vectorised
    with ``np.bincount`` over the raw comparisons. Stops when the largest
    change of any log-strength is below ``tol`` (rankwise's rule).

    ``accelerate=True`` adds rankwise's two extra steps per sweep, so both
    run the identical iteration (same sweeps, same iterates to ~1e-15): the
    overshoot damping (geometric midpoint when the log-step reverses) and the
    exact common-scale step per connected component. ``accelerate=False`` is
    the plain textbook iteration.

    Returns (log-strengths, sweeps, converged).
    """
    w = np.asarray(winners, dtype=np.int64)
    l = np.asarray(losers, dtype=np.int64)
    if accelerate:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        graph = coo_matrix((np.ones(w.size), (w, l)), shape=(n, n))
        k, lab = connected_components(graph, directed=False)
        prev = np.zeros(n)
    p = np.ones(n)
    for it in range(1, max_iter + 1):
        inv = 1.0 / (p[w] + p[l])
        num = np.bincount(w, p[l] * inv, n)  # sum_j w_ij p_j / (p_i + p_j)
        den = np.bincount(l, inv, n)  # sum_j w_ji / (p_i + p_j)
        d = prior / (p + 1.0)
        nxt = (d + num) / (d + den)
        if accelerate:
            step = np.log(nxt / p)
            if step @ prev < 0:  # overshoot: take the geometric midpoint
                nxt = np.sqrt(nxt * p)
                prev = 0.5 * step
            else:
                prev = step
            logp = np.log(nxt)
            if k == 1:
                nxt *= math.exp(_scale_root_one(logp))
            else:
                nxt *= np.exp(_scale_roots(logp, lab, k))[lab]
        change = float(np.max(np.abs(np.log(nxt / p))))
        p = nxt
        if not math.isfinite(change):
            return np.log(p), it, False
        if change < tol:
            return np.log(p), it, True
    return np.log(p), max_iter, False


# ----------------------------------------------------------------------------
# methods


@dataclass
class Out:
    scores: np.ndarray  # one per item 0..n-1, higher is better
    iterations: Optional[int] = None
    note: str = ""


@dataclass
class Method:
    name: str
    kernel: str  # "bt", "pagerank", "win_rate", "copeland", "elo"
    solve: Callable[[Any], Any]  # ctx -> raw result (timed)
    extract: Callable[[Any, Data], Out]  # raw -> Out (untimed)
    build: Optional[Callable[[Data], Any]] = None  # Data -> ctx (timed; None: ctx = Data)
    baseline: bool = False  # the rankwise row the kernel's ratios divide by
    cost: Callable[[int, int], float] = lambda n, m: n + m  # relative work, for projections
    mem: Callable[[int, int], float] = lambda n, m: 0.0  # peak bytes beyond the data, for skips
    available: bool = True


def _rw_iter(res: Any, d: Data) -> Out:
    note = "" if res.converged in (None, True) else "did not converge (max_iter)"
    return Out(np.asarray(res.scores), res.iterations, note)


def _series_scores(series: Any, n: int) -> np.ndarray:
    return series.reindex(pd.RangeIndex(n)).to_numpy(dtype=np.float64)


def _evalica_winners(m: int) -> Any:
    # evalica 0.4.2's Rust extension takes winners as a uint8 array (Winner.X == 1)
    return np.full(m, int(evalica.Winner.X), dtype=np.uint8) if _EVALICA_UINT8 else [evalica.Winner.X] * m


def _evalica_build(d: Data) -> Any:
    idx = pd.RangeIndex(d.n)  # explicit index: ids map to themselves, no label discovery
    return d.winners, d.losers, _evalica_winners(d.m), idx


def _evalica_build_bt(d: Data) -> Any:
    w, l = with_prior_games(d)
    return w, l, _evalica_winners(w.size), pd.RangeIndex(d.n + 1)


def _evalica_bt_extract(res: Any, d: Data) -> Out:
    s = np.log(_series_scores(res.scores, d.n + 1))
    note = "hit limit" if res.iterations >= EVALICA_LIMIT else ""
    return Out(s[: d.n] - s[d.n], res.iterations, note)


def _choix_build(d: Data) -> Any:
    w, l = with_prior_games(d)
    return d.n + 1, list(zip(w.tolist(), l.tolist()))


def _choix_solve(fn: Callable[..., Any], max_iter: int) -> Callable[[Any], Any]:
    def run(ctx: Any) -> Any:
        n_items, data = ctx
        try:
            return fn(n_items, data, alpha=0.0, tol=TOL, max_iter=max_iter)
        except RuntimeError as e:  # choix raises when max_iter is hit
            return e

    return run


def _choix_extract(res: Any, d: Data) -> Out:
    if isinstance(res, Exception):
        return Out(np.full(d.n, np.nan), None, f"failed: {res}")
    return Out(res[: d.n] - res[d.n], None)


def _nx_build(d: Data) -> Any:
    # each loser -> winner edge weighted by the number of wins
    key = d.losers * d.n + d.winners
    uniq, cnt = np.unique(key, return_counts=True)
    g = nx.DiGraph()
    g.add_nodes_from(range(d.n))
    g.add_weighted_edges_from(zip((uniq // d.n).tolist(), (uniq % d.n).tolist(), cnt.tolist()))
    return g


def _nx_solve(g: Any) -> Any:
    try:
        # networkx stops at sum|change| < len(G) * tol: tol/n gives rankwise's L1 < tol
        return nx.pagerank(g, alpha=0.85, tol=TOL / g.number_of_nodes(), max_iter=10_000, weight="weight")
    except nx.PowerIterationFailedConvergence as e:
        return e


def _nx_extract(res: Any, d: Data) -> Out:
    if isinstance(res, Exception):
        return Out(np.full(d.n, np.nan), None, f"failed: {res}")
    return Out(np.fromiter((res[i] for i in range(d.n)), dtype=np.float64, count=d.n))


EVALICA_LIMIT = 100_000
_EVALICA_UINT8 = True


def methods() -> List[Method]:
    rw = rankwise
    ms: List[Method] = [
        # --- Bradley–Terry: ratios vs rankwise BT newman
        Method(
            "rankwise BT newman",
            "bt",
            lambda d: rw.bradley_terry(d.winners, d.losers, d.n, method="newman", tol=TOL),
            _rw_iter,
            baseline=True,
        ),
        Method(
            "rankwise BT zermelo",
            "bt",
            lambda d: rw.bradley_terry(d.winners, d.losers, d.n, method="zermelo", tol=TOL, max_iter=100_000),
            _rw_iter,
        ),
        Method(
            "numpy Newman (rankwise's iteration)",
            "bt",
            lambda d: newman_numpy(d.winners, d.losers, d.n, tol=TOL),
            lambda r, d: Out(r[0], r[1], "" if r[2] else "did not converge"),
            cost=lambda n, m: n + m,
        ),
        Method(
            "numpy Newman (plain eq. 26)",
            "bt",
            lambda d: newman_numpy(d.winners, d.losers, d.n, tol=TOL, accelerate=False),
            lambda r, d: Out(r[0], r[1], "" if r[2] else "did not converge"),
            cost=lambda n, m: 10 * (n + m),  # sweeps grow with m/n; be conservative
        ),
        Method(
            "evalica BT (+prior games)",
            "bt",
            lambda c: evalica.bradley_terry(c[0], c[1], c[2], index=c[3], tolerance=TOL, limit=EVALICA_LIMIT),
            _evalica_bt_extract,
            build=_evalica_build_bt,
            cost=lambda n, m: n * n + 20 * m,
            mem=lambda n, m: 4 * 8.0 * n * n,
            available=evalica is not None and pd is not None,
        ),
        Method(
            "choix ILSR (+prior games)",
            "bt",
            _choix_solve(choix.ilsr_pairwise if choix else None, 1_000),
            _choix_extract,
            build=_choix_build,
            cost=lambda n, m: n**3 / 1e4 + m,
            mem=lambda n, m: 5 * 8.0 * n * n,
            available=choix is not None,
        ),
        Method(
            "choix MM (+prior games)",
            "bt",
            _choix_solve(choix.mm_pairwise if choix else None, 100_000),
            _choix_extract,
            build=_choix_build,
            cost=lambda n, m: n + m,
            available=choix is not None,
        ),
        # --- PageRank: ratios vs rankwise pagerank
        Method(
            "rankwise pagerank",
            "pagerank",
            lambda d: rw.pagerank(d.winners, d.losers, d.n, tol=TOL),
            _rw_iter,
            baseline=True,
        ),
        Method(
            "evalica pagerank",
            "pagerank",
            lambda c: evalica.pagerank(c[0], c[1], c[2], index=c[3], tolerance=TOL, limit=EVALICA_LIMIT),
            lambda r, d: Out(_series_scores(r.scores, d.n), None),
            build=_evalica_build,
            cost=lambda n, m: n * n + 20 * m,
            mem=lambda n, m: 4 * 8.0 * n * n,
            available=evalica is not None and pd is not None,
        ),
        Method(
            "networkx pagerank (graph build incl.)",
            "pagerank",
            _nx_solve,
            _nx_extract,
            build=_nx_build,
            cost=lambda n, m: n + m,
            mem=lambda n, m: 1500.0 * m,  # ~1.5 kB per edge
            available=nx is not None,
        ),
        # --- counting and Elo
        Method(
            "rankwise win_rate",
            "win_rate",
            lambda d: rw.win_rate(d.winners, d.losers, d.n),
            _rw_iter,
            baseline=True,
        ),
        Method(
            "evalica average_win_rate",
            "win_rate",
            lambda c: evalica.average_win_rate(c[0], c[1], c[2], index=c[3]),
            lambda r, d: Out(_series_scores(r.scores, d.n), None),
            build=_evalica_build,
            cost=lambda n, m: n * n + 20 * m,
            mem=lambda n, m: 4 * 8.0 * n * n,
            available=evalica is not None and pd is not None,
        ),
        Method(
            "rankwise copeland",
            "copeland",
            lambda d: rw.copeland(d.winners, d.losers, d.n),
            _rw_iter,
            baseline=True,
        ),
        Method(
            "rankwise elo",
            "elo",
            lambda d: rw.elo(d.winners, d.losers, d.n, k=4.0),
            _rw_iter,
            baseline=True,
        ),
        Method(
            "evalica elo",
            "elo",
            lambda c: evalica.elo(c[0], c[1], c[2], index=c[3], k=4.0),
            lambda r, d: Out(_series_scores(r.scores, d.n), None),
            build=_evalica_build,
            available=evalica is not None and pd is not None,
        ),
    ]
    return ms


CRITERIA = [
    "All iterative methods use tolerance 1e-6 in their own convergence criterion; they differ:",
    "rankwise BT (both methods) and numpy Newman: max |change of any log-strength| < 1e-6 between sweeps. "
    "Iterations with a slow linear mode (zermelo, plain Newman without the scale step) meet it while still "
    "~1e-5..1e-4 from the optimum: see *err vs ref*.",
    "evalica BT: Zermelo/MM sweeps (Gauss–Seidel) on a dense n×n matrix, strengths rescaled to geometric mean 1; "
    "stops when the L2 norm of the change of the *strengths* (not log) < 1e-6 (stricter than max-abs as n grows); "
    f"limit raised to {EVALICA_LIMIT} (default 100).",
    "choix ILSR / MM: L1 norm of the change of the centred log-strengths <= 1e-6 * n_items, "
    "i.e. the *mean* absolute change < 1e-6 (looser than max-abs).",
    "rankwise pagerank: L1 change < 1e-6; networkx is given tol = 1e-6/n because it stops at L1 change < n*tol, "
    "so both use the same rule; evalica pagerank: power iteration on a dense n×n matrix normalised to unit L2 norm, "
    "stops when the L2 norm of the change < 1e-6.",
    "BT peers without Newman's prior (evalica, choix with alpha=0) get it as data: every item beats a dummy item once "
    "and loses to it once; ML on that data rescaled to dummy strength 1 is exactly rankwise's MAP with prior=1, so all "
    "BT rows estimate the same thing. The extra 2n games are built inside the timed call ('build s').",
    "evalica pagerank reports `limit` as its iteration count (it returns `limit`, not the sweeps run; its runtime does "
    "not depend on `limit`), so no iteration count is shown. choix and networkx do not report iterations.",
    "evalica and choix ILSR hold dense n×n matrices (n=1e5: 80 GB each) and are skipped where they do not fit.",
]


# ----------------------------------------------------------------------------
# timing


@dataclass
class Row:
    method: Method
    total: Optional[float] = None  # median seconds, end to end
    build: Optional[float] = None  # median seconds of the build step
    reps: int = 0
    out: Optional[Out] = None
    skipped: str = ""
    ratio: Optional[float] = None
    tau: Optional[float] = None
    err: Optional[float] = None


def mem_available() -> float:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return 8e9


class CallTimeout(BaseException):
    """Raised by the alarm when one call runs past the hard limit (a
    BaseException, so peers' ``except Exception`` cannot swallow it)."""


def _alarm(signum: int, frame: Any) -> None:
    raise CallTimeout()


def run_once(meth: Method, d: Data) -> Tuple[float, float, Any]:
    t0 = time.perf_counter()
    ctx = meth.build(d) if meth.build is not None else d
    t1 = time.perf_counter()
    raw = meth.solve(ctx)
    t2 = time.perf_counter()
    return t2 - t0, t1 - t0, raw


def time_method(
    meth: Method, d: Data, repeats: int, method_budget: float, hard_limit: float, min_time: float
) -> Tuple[float, float, int, Any]:
    """Median end-to-end and build time, timeit-style: one ``gc.collect()``
    before the series, the cyclic GC off while it runs, calls back to back. A
    first call warms up and estimates the cost; a cheap method then gets
    ``repeats`` fresh timed calls, a slow one keeps the first call and gets as
    many more as fit ``method_budget``; calls are repeated further until they
    add up to ``min_time`` seconds (at most MAX_REPS calls). A call still running after
    ``hard_limit`` seconds is interrupted (SIGALRM; code in a compiled
    extension is interrupted only when it returns) and raises CallTimeout."""
    use_alarm = hasattr(signal, "setitimer")
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _alarm)
    gc.collect()
    gc.disable()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, hard_limit)
            t, b, raw = run_once(meth, d)
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
            samples: List[Tuple[float, float]] = [] if t * repeats <= method_budget else [(t, b)]
            want = max(1, min(repeats, int(method_budget // max(t, 1e-9))))
            spent = 0.0
            # cheap calls repeat further, up to min_time in all (at most MAX_REPS), for a steadier median
            while len(samples) < want or (spent < min_time and len(samples) < MAX_REPS):
                t, b, raw = run_once(meth, d)
                samples.append((t, b))
                spent += t
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        gc.enable()
    totals = [s[0] for s in samples]
    builds = [s[1] for s in samples]
    return float(np.median(totals)), float(np.median(builds)), len(samples), raw


def tau_of(scores: np.ndarray, d: Data) -> Optional[float]:
    s = scores[d.tau_idx]
    if not np.isfinite(s).all():
        return None
    r = kendalltau(s, d.true[d.tau_idx])
    return float(getattr(r, "statistic", r[0]))


def reference(kernel: str, d: Data) -> Optional[np.ndarray]:
    """Tightly converged rankwise result per kernel (untimed), for the error column."""
    if kernel not in d.refs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kernel == "bt":
                r = rankwise.bradley_terry(d.winners, d.losers, d.n, tol=1e-12, max_iter=100_000)
            elif kernel == "pagerank":
                r = rankwise.pagerank(d.winners, d.losers, d.n, tol=1e-14, max_iter=100_000)
            else:
                return None
        d.refs[kernel] = np.asarray(r.scores)
    return d.refs[kernel]


def error_vs_ref(kernel: str, scores: np.ndarray, d: Data, base: Optional[Out]) -> Optional[float]:
    ref = reference(kernel, d)
    if ref is None:  # counting kernels: agreement with the rankwise row
        ref = base.scores if base is not None else None
    if ref is None or not np.isfinite(scores).all():
        return None
    if kernel == "pagerank":
        return float(np.abs(scores - ref).sum())
    return float(np.abs(scores - ref).max())


def bench_size(
    n: int,
    m: int,
    ms: List[Method],
    repeats: int,
    call_budget: float,
    method_budget: float,
    min_time: float,
    history: Dict[str, Tuple[float, float]],
) -> List[Row]:
    t = time.perf_counter()
    d = make_data(n, m)
    print(f"\n[n={n:,} m={m:,}: data generated in {time.perf_counter() - t:.2f} s]", file=sys.stderr)
    avail = mem_available()
    rows: List[Row] = []
    base: Dict[str, Row] = {}
    for meth in ms:
        row = Row(meth)
        rows.append(row)
        if not meth.available:
            row.skipped = "skipped (not installed)"
            continue
        need = meth.mem(n, m)
        if need > 0.5 * avail:
            row.skipped = f"skipped (needs ~{need / 1e9:.3g} GB, {avail / 1e9:.3g} GB available)"
            continue
        if meth.name in history:
            prev_cost, prev_t = history[meth.name]
            projected = prev_t * meth.cost(n, m) / prev_cost
            if projected > call_budget:
                row.skipped = f"skipped (projected {projected:.3g} s)"
                continue
        print(f"  {meth.name} ...", end="", flush=True, file=sys.stderr)
        hard = 3 * call_budget
        try:
            row.total, row.build, row.reps, raw = time_method(meth, d, repeats, method_budget, hard, min_time)
        except CallTimeout:
            print(" aborted", file=sys.stderr)
            row.skipped = f"aborted (one call ran past {hard:.3g} s)"
            history[meth.name] = (meth.cost(n, m), hard)
            continue
        print(f" {row.total:.4f} s x{row.reps}", file=sys.stderr)
        history[meth.name] = (meth.cost(n, m), row.total)
        row.out = meth.extract(raw, d)
        if meth.baseline:
            base[meth.kernel] = row
    for row in rows:
        if row.out is None:
            continue
        b = base.get(row.method.kernel)
        if b is not None and b.total and b is not row:
            row.ratio = row.total / b.total
        elif b is row:
            row.ratio = 1.0
        row.tau = tau_of(row.out.scores, d)
        row.err = error_vs_ref(row.method.kernel, row.out.scores, d, b.out if b is not None else None)
    return rows


# ----------------------------------------------------------------------------
# report


def fmt_s(x: Optional[float]) -> str:
    if x is None:
        return "—"
    return f"{x:.4f}" if x < 10 else f"{x:.2f}"


def fmt_g(x: Optional[float], spec: str) -> str:
    return "—" if x is None else format(x, spec)


def table(n: int, m: int, rows: List[Row]) -> str:
    tau_note = "" if n <= TAU_SAMPLE else f" (tau on a fixed sample of {TAU_SAMPLE:,} items)"
    lines = [
        f"### n = {n:,} items, m = {m:,} comparisons{tau_note}",
        "",
        "| method | kernel | median s | build s | ratio | iters | Kendall tau | err vs ref | reps | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        meth = r.method
        if r.out is None:
            lines.append(f"| {meth.name} | {meth.kernel} | — | — | — | — | — | — | 0 | {r.skipped} |")
            continue
        build = fmt_s(r.build) if meth.build is not None else "—"
        ratio = "—" if r.ratio is None else ("1 (base)" if meth.baseline else f"{r.ratio:.1f}x")
        it = "—" if r.out.iterations is None else str(r.out.iterations)
        lines.append(
            f"| {meth.name} | {meth.kernel} | {fmt_s(r.total)} | {build} | {ratio} | {it} | "
            f"{fmt_g(r.tau, '.4f')} | {fmt_g(r.err, '.1e')} | {r.reps} | {r.out.note} |"
        )
    return "\n".join(lines)


def summary(results: Dict[Tuple[int, int], List[Row]]) -> str:
    target = (10_000, 1_000_000)
    if target in results:
        key, head = target, "Targets at n=1e4, m=1e6"
    else:
        key = max(results, key=lambda k: k[0] * k[1])
        head = f"Targets (n=1e4, m=1e6 not run; showing n={key[0]:,}, m={key[1]:,}, targets apply only at n=1e4, m=1e6)"
    rows = {r.method.name: r for r in results[key]}

    def one(label: str, peer: str, goal: float) -> str:
        r = rows.get(peer)
        if r is None or r.ratio is None:
            why = r.skipped if r is not None and r.skipped else "not measured"
            return f"{label}: n/a, {why} (target >= {goal:g}x)"
        ok = "met" if r.ratio >= goal else "NOT met"
        return f"{label}: {r.ratio:.1f}x (target >= {goal:g}x: {ok})"

    parts = [
        one("rankwise BT newman vs numpy Newman", "numpy Newman (rankwise's iteration)", 10),
        one("vs evalica BT", "evalica BT (+prior games)", 100),
        one("rankwise pagerank vs networkx (graph build incl.)", "networkx pagerank (graph build incl.)", 20),
    ]
    return f"**{head}:** " + "; ".join(parts) + "."


def machine() -> str:
    cpu, usable = cpu_info()
    threads = {
        k: os.environ[k] for k in ("RANKWISE_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS") if k in os.environ
    }
    lines = [
        "## rankwise aggregation benchmark",
        "",
        f"- machine: {platform.platform()}; CPU: {cpu}; cpu_count={os.cpu_count()}, usable={usable}; "
        f"memory available {mem_available() / 1e9:.1f} GB" + (f"; env {threads}" if threads else ""),
        f"- python {platform.python_version()}; numpy {np.__version__}; scipy {version('scipy')}; "
        f"pandas {version('pandas')}",
        f"- rankwise {rankwise.__version__}; evalica {version('evalica')}; choix {version('choix')}; "
        f"networkx {version('networkx')}",
        f"- tolerance {TOL:g} for every iterative method (criteria differ, see notes); seed {SEED}",
    ]
    return "\n".join(lines)


def legend(repeats: int, call_budget: float, method_budget: float, min_time: float) -> str:
    lines = [
        "",
        "Columns: *median s* end to end from the numpy arrays (median over *reps* back-to-back calls after one "
        f"warm-up call, cyclic GC off as in timeit; cheap calls repeat until they add up to {min_time:g} s; "
        "a call projected past "
        f"{call_budget:g} s from the previous size is skipped, one running past {3 * call_budget:g} s is aborted; "
        f"slow methods get fewer than {repeats} reps to stay within ~{method_budget:g} s each); *build s* the distinct construction step "
        "inside that time (graph, list of tuples, prior games, dense-index setup); *ratio* = this row's time / the "
        "rankwise row of the same kernel (BT rows vs rankwise BT newman, PageRank rows vs rankwise pagerank); "
        "*Kendall tau* vs the true strengths; *err vs ref*: BT max |log-strength − reference| "
        "(reference: rankwise newman at tol 1e-12), PageRank L1 distance to rankwise at tol 1e-14, "
        "win_rate/elo max |score − rankwise's|.",
        "",
        "Notes:",
    ] + [f"- {c}" for c in CRITERIA]
    return "\n".join(lines)


SIZES = {
    "quick": [(1_000, 10_000), (1_000, 100_000)],
    "small": [(n, k * n) for n in (1_000, 10_000) for k in (10, 100)],
    "all": [(n, k * n) for n in (1_000, 10_000, 100_000) for k in (10, 100)],
}


def main(argv: Optional[List[str]] = None) -> None:
    global _EVALICA_UINT8
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--sizes",
        choices=["small", "all"],
        default="all",
        help="small: n in {1e3, 1e4}; all: n in {1e3, 1e4, 1e5} (default); m in {10n, 100n}",
    )
    ap.add_argument("--quick", action="store_true", help="smoke run: n = 1e3 only")
    ap.add_argument("--repeats", type=int, default=5, help="timed calls per method (median), default 5")
    ap.add_argument(
        "--call-budget",
        type=float,
        default=20.0,
        help="skip a peer whose projected time per call exceeds this many seconds (default 20)",
    )
    ap.add_argument(
        "--method-budget",
        type=float,
        default=15.0,
        help="rough seconds per method and size; slow methods get fewer repeats (default 15)",
    )
    ap.add_argument(
        "--min-time",
        type=float,
        default=0.3,
        help="repeat cheap calls until they add up to this many seconds (at most "
        f"{MAX_REPS} calls) for a steadier median; 0 = exactly --repeats (default 0.3)",
    )
    ap.add_argument(
        "--rankwise-threads",
        type=int,
        help="set RANKWISE_NUM_THREADS for rankwise (default: its own choice, all cores)",
    )
    ap.add_argument("--out", help="also write the markdown report to this path")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    if args.rankwise_threads is not None:  # read once, at rankwise's first parallel call
        os.environ["RANKWISE_NUM_THREADS"] = str(args.rankwise_threads)

    if evalica is not None:  # the extension wants winners as uint8; fall back to a list of Winner
        try:
            evalica.counting([0], [1], np.ones(1, dtype=np.uint8))
        except Exception:  # noqa: BLE001
            _EVALICA_UINT8 = False

    started = time.perf_counter()
    out: List[str] = [machine()]
    print(out[0], flush=True)
    ms = methods()
    history: Dict[str, Tuple[float, float]] = {}
    results: Dict[Tuple[int, int], List[Row]] = {}
    for n, m in SIZES["quick" if args.quick else args.sizes]:
        rows = bench_size(n, m, ms, args.repeats, args.call_budget, args.method_budget, args.min_time, history)
        results[(n, m)] = rows
        text = "\n" + table(n, m, rows)
        out.append(text)
        print(text, flush=True)
    tail = [
        legend(args.repeats, args.call_budget, args.method_budget, args.min_time),
        "",
        summary(results),
        f"\n_total benchmark time {time.perf_counter() - started:.0f} s_",
    ]
    for t in tail:
        print(t)
    out.extend(tail)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
