#!/usr/bin/env python
"""Reranking strategies on TREC DL19 with SIMULATED judges, and the driver's
overhead per query.

Quality. Every strategy and aggregator reranks the BM25 top-100 of the 43
judged DL19 queries, asking ``rankwise.scorers.Oracle``: a SIMULATED judge
that answers from the qrels grades (0..3, unjudged = 0) perturbed per call
(Gumbel noise at a temperature = Plackett–Luce sampling, a bonus for the
prompt's first slots, omitted lower-half ids). The groupwise rows ask the
same judge for the perturbed grades themselves (one score per shown
document, lower-half ones left unscored at the drop rate), which
``JointRank(aggregator="zscore")`` standardises per block and averages; with
an order-based aggregator a groupwise judge ranks exactly as the listwise
one (the scores give the same order), so only zscore rows are shown. Three noise levels, three
seeds each; the table gives nDCG@10 (mean ± sd over seeds), calls, documents
shown and sequential rounds per query. These are simulations, not LLM
results: they compare how strategies use a judge of a given quality.

Overhead. Everything except the scorer (planning, aggregation, the Python
driver's bookkeeping) per query, for 100 and 1,000 candidates, measured as
wall time minus the time inside the scorer.

Usage::

    python benches/bench_strategies.py                # full run (a few minutes)
    python benches/bench_strategies.py --quick        # one seed, one level, no all-pairs
    python benches/bench_strategies.py --out benches/results/strategies.md --plot benches/results/strategies.png
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import rankwise as rw
from _common import cpu_info, try_import
from rankwise.scorers import Oracle

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dl19"

LEVELS: Dict[str, Dict[str, float]] = {
    "mild": dict(temperature=0.5),
    "noisy": dict(temperature=1.0, position_bias=0.5, drop=0.1),
    "very noisy": dict(temperature=2.0, position_bias=1.0, drop=0.2),
}
SEEDS = (0, 1, 2)


#: a cascade's stages, (strategy, depth) each; every stage gets its own SIMULATED judge
Stages = List[Tuple[rw.Strategy, int]]


class Groupwise:
    """A strategy asked through a SIMULATED groupwise judge (one score per shown document)."""

    def __init__(self, strategy: rw.Strategy) -> None:
        self.strategy = strategy


def configs(quick: bool) -> List[Tuple[str, str, Any]]:
    """(family, label, strategy or cascade stages)"""
    out: List[Tuple[str, str, Any]] = [
        ("sliding window", "SlidingWindow(20, 10)", rw.SlidingWindow()),
        ("sliding window", "SlidingWindow(20, 10) x2 passes", rw.SlidingWindow(passes=2)),
        ("tournament", "TournamentSort(20, advance 5, top 10)", rw.TournamentSort()),
        ("tournament", "TournamentSort(10, advance 2, top 10)", rw.TournamentSort(group_size=10, advance=2)),
        ("tourrank", "TourRank(10 tournaments, 100>50>20>10>5>2)", rw.TourRank()),
        ("tourrank", "TourRank(2 tournaments, 100>50>20>10>5>2)", rw.TourRank(tournaments=2)),
    ]
    for replicas in (2, 4):
        for agg in ("pagerank", "win_rate", "bradley_terry", "plackett_luce", "copeland", "borda"):
            out.append(
                ("jointrank", f"JointRank(20, r={replicas}, {agg})", rw.JointRank(replicas=replicas, aggregator=agg))
            )
        # the same blocks answered with one score per document (GroupRank/ICR style), the scores averaged
        out.append(
            (
                "jointrank, groupwise",
                f"JointRank(20, r={replicas}, zscore), groupwise judge",
                Groupwise(rw.JointRank(replicas=replicas, aggregator="zscore")),
            )
        )
    out += [
        ("setwise", "Setwise(4, heapsort, top 10)", rw.Setwise()),
        ("setwise", "Setwise(10, heapsort, top 10)", rw.Setwise(set_size=10)),
        ("setwise", "Setwise(4, bubblesort, top 10)", rw.Setwise(method="bubblesort")),
        ("pointwise", "Pointwise", rw.Pointwise()),
        # Expando-Mono-Duo style (Pradeep et al., 2021): a cheap pointwise judge on all, a second judge on the top
        (
            "cascade",
            "Cascade(Pointwise 100 > SlidingWindow(20, 10) top 20)",
            [(rw.Pointwise(), 100), (rw.SlidingWindow(), 20)],
        ),
        ("cascade", "Cascade(Pointwise 100 > AllPairs top 10)", [(rw.Pointwise(), 100), (rw.AllPairs(), 10)]),
    ]
    for sampler in ("skip", "window", "random"):
        for agg in ("additive", "bradley_terry", "pagerank", "greedy", "kwiksort"):
            out.append(
                (
                    "sparse pairwise",
                    f"SparsePairwise({sampler}, {agg})",
                    rw.SparsePairwise(sampler=sampler, aggregator=agg),
                )
            )
    if not quick:
        out += [
            ("all pairs", "AllPairs(additive)", rw.AllPairs()),
            ("all pairs", "AllPairs(bradley_terry)", rw.AllPairs(aggregator="bradley_terry")),
        ]
    return out


def quality(quick: bool, only: Optional[str] = None) -> Tuple[List[Dict[str, Any]], float]:
    reqs = rw.load_requests(DATA / "bm25_top100.json")
    qrels = rw.read_qrels(DATA / "qrels.txt")
    bm25 = rw.evaluate([rw.first_stage_ranking(r) for r in reqs], qrels, ["ndcg@10"])["ndcg@10"]
    levels = {"noisy": LEVELS["noisy"]} if quick else LEVELS
    seeds = SEEDS[:1] if quick else SEEDS
    rows = []
    for family, label, strategy in configs(quick):
        if only is not None and only.lower() not in family.lower() and only.lower() not in label.lower():
            continue
        t = time.perf_counter()
        row: Dict[str, Any] = dict(family=family, label=label)
        for level, noise in levels.items():
            scores, spends = [], []
            for seed in seeds:
                if isinstance(strategy, list):  # a cascade: one SIMULATED judge per stage, each its own seed
                    cascade = rw.Cascade(
                        [
                            (s, Oracle(qrels, kind=s.call_kind, seed=seed + 1000 * k, **noise), depth)
                            for k, (s, depth) in enumerate(strategy)
                        ]
                    )
                    out = rw.rerank(reqs, cascade, batch_size=256)
                elif isinstance(strategy, Groupwise):  # SIMULATED: the perturbed grades of the shown documents
                    judge = Oracle(qrels, kind="groupwise", seed=seed, **noise)
                    out = rw.rerank(reqs, strategy.strategy, judge, batch_size=256)
                else:
                    judge = Oracle(qrels, kind=strategy.call_kind, seed=seed, **noise)  # SIMULATED
                    out = rw.rerank(reqs, strategy, judge, batch_size=256)
                scores.append(rw.evaluate(out, qrels, ["ndcg@10"])["ndcg@10"])
                spends.append(out)
            row[level] = (statistics.mean(scores), statistics.stdev(scores) if len(scores) > 1 else 0.0)
        out = spends[0]
        row["calls"] = statistics.mean(r.spend["calls"] for r in out)
        row["docs"] = statistics.mean(r.spend["docs_shown"] for r in out)
        row["rounds"] = statistics.mean(r.spend["rounds"] for r in out)
        rows.append(row)
        print(f"  {label:<40} {time.perf_counter() - t:6.1f} s", file=sys.stderr)
    return rows, bm25


def synthetic(n_queries: int, n_docs: int) -> Tuple[List[rw.Request], Dict[str, Dict[str, float]]]:
    rng = random.Random(7)
    reqs, util = [], {}
    for q in range(n_queries):
        qid = f"q{q}"
        docs = [f"{qid}-{i}" for i in range(n_docs)]
        util[qid] = {d: rng.random() * 3 for d in docs}
        reqs.append(rw.Request(qid, "query", [rw.Candidate(d, "") for d in docs]))
    return reqs, util


def overhead(quick: bool) -> List[Dict[str, Any]]:
    strategies: List[Tuple[str, Any]] = [
        ("SlidingWindow(20, 10)", rw.SlidingWindow()),
        ("TournamentSort(20, 5, top 10)", rw.TournamentSort()),
        ("TourRank(10 tournaments)", rw.TourRank()),
        ("JointRank(20, r=4, pagerank)", rw.JointRank()),
        ("JointRank(20, r=4, plackett_luce)", rw.JointRank(aggregator="plackett_luce")),
        ("SparsePairwise(skip, bradley_terry)", rw.SparsePairwise()),
        ("Setwise(4, heapsort, top 10)", rw.Setwise()),
        ("Pointwise", rw.Pointwise()),
        ("AllPairs(additive)", rw.AllPairs()),
        ("Cascade(Pointwise > SlidingWindow top 20)", [(rw.Pointwise(), None), (rw.SlidingWindow(), 20)]),
    ]
    rows = []
    for n, q in ((100, 20 if quick else 50), (1000, 2 if quick else 10)):
        reqs_all, util = synthetic(q, n)
        for label, strategy in strategies:
            reqs = reqs_all[:1] if (isinstance(strategy, rw.AllPairs) and n == 1000) else reqs_all
            if quick and isinstance(strategy, rw.AllPairs) and n == 1000:
                continue
            if isinstance(strategy, list):  # a cascade: a SIMULATED judge per stage
                strategy = rw.Cascade([(s, Oracle(util, kind=s.call_kind), d) for s, d in strategy])
                judge = None
            else:
                judge = Oracle(util, kind=strategy.call_kind)  # SIMULATED, no noise
            runs = []
            for _ in range(3):
                st = rw.RerankStats()
                gc.collect()
                rw.rerank(reqs, strategy, judge, batch_size=256, stats=st)
                runs.append(st)
            per_query = statistics.median((s.wall_seconds - s.scorer_seconds) / s.queries for s in runs)
            rows.append(
                dict(
                    n=n,
                    label=label,
                    queries=len(reqs),
                    calls=runs[0].calls / len(reqs),
                    us=per_query * 1e6,
                    us_per_call=per_query * 1e6 / max(1.0, runs[0].calls / len(reqs)),
                )
            )
            print(f"  n={n} {label:<38} {per_query * 1e6:10.0f} us/query", file=sys.stderr)
    return rows


def markdown(rows: List[Dict[str, Any]], bm25: float, over: List[Dict[str, Any]], quick: bool) -> str:
    cpu, cores = cpu_info()
    levels = [lv for lv in LEVELS if lv in rows[0]]
    lines = [
        "# Strategies on DL19 with SIMULATED judges",
        "",
        f"rankwise {rw.__version__}, Python {platform.python_version()}, {cpu}, {cores} cores usable.",
        f"Seeds per level: {1 if quick else len(SEEDS)}. BM25 nDCG@10 = {bm25:.4f}; perfect reordering of the top 100 = 0.8922.",
        "",
        "Judge: `Oracle(qrels)` — a SIMULATION, not an LLM. Levels: "
        + "; ".join(f"**{k}** {', '.join(f'{a}={b}' for a, b in v.items())}" for k, v in LEVELS.items() if k in levels)
        + ".",
        "",
        "| family | strategy | "
        + " | ".join(f"nDCG@10 {lv}" for lv in levels)
        + " | calls/q | docs shown/q | rounds/q |",
        "|---|---|" + "---|" * len(levels) + "---|---|---|",
    ]
    for r in rows:
        cells = " | ".join(f"{r[lv][0]:.4f} ± {r[lv][1]:.4f}" for lv in levels)
        lines.append(
            f"| {r['family']} | {r['label']} | {cells} | {r['calls']:.1f} | {r['docs']:.0f} | {r['rounds']:.1f} |"
        )
    lines += [
        "",
        "## Overhead outside the scorer (planning, aggregation, driver)",
        "",
        "Synthetic lists; wall time minus time inside the scorer, median of 3 runs, per query.",
        "",
        "| candidates | strategy | queries | calls/q | µs per query | µs per call |",
        "|---|---|---|---|---|---|",
    ]
    for o in over:
        lines.append(
            f"| {o['n']} | {o['label']} | {o['queries']} | {o['calls']:.0f} | {o['us']:,.0f} | {o['us_per_call']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def plot(rows: List[Dict[str, Any]], bm25: float, path: str) -> None:
    mpl = try_import("matplotlib")
    if mpl is None:
        return
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    level = "noisy" if "noisy" in rows[0] else next(lv for lv in LEVELS if lv in rows[0])
    fig, ax = plt.subplots(figsize=(9, 5.5))
    families = sorted({r["family"] for r in rows})
    colors = dict(zip(families, plt.get_cmap("tab10").colors))
    for fam in families:
        pts = [r for r in rows if r["family"] == fam]
        ax.errorbar(
            [r["calls"] for r in pts],
            [r[level][0] for r in pts],
            yerr=[r[level][1] for r in pts],
            fmt="o",
            color=colors[fam],
            label=fam,
            capsize=2,
            alpha=0.85,
        )
    best = max(rows, key=lambda r: r[level][0])
    for r in rows:
        if (
            r is best
            or "plackett_luce" in r["label"]
            or r["label"].startswith("SlidingWindow(20, 10)")
            and "x2" not in r["label"]
        ):
            ax.annotate(r["label"], (r["calls"], r[level][0]), fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.axhline(bm25, color="grey", ls="--", lw=1)
    ax.text(ax.get_xlim()[0] if False else 6, bm25 + 0.005, "BM25", color="grey", fontsize=8)
    ax.axhline(0.8922, color="grey", ls=":", lw=1)
    ax.text(6, 0.8922 + 0.005, "perfect reordering", color="grey", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("scorer calls per query (log)")
    ax.set_ylabel("nDCG@10")
    ax.set_title(f"DL19, SIMULATED judge ({level}: " + ", ".join(f"{a}={b}" for a, b in LEVELS[level].items()) + ")")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    print(f"plot written to {path}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one seed, one noise level, no all-pairs")
    ap.add_argument("--out", help="also write the markdown tables here")
    ap.add_argument("--plot", help="write nDCG@10 against calls (png) here")
    ap.add_argument("--only", help="only the quality rows whose family or label contains this (e.g. cascade)")
    ap.add_argument("--no-overhead", action="store_true", help="skip the overhead table")
    args = ap.parse_args()
    if not DATA.exists():
        sys.exit(f"shared DL19 data not found at {DATA}")
    print("quality (SIMULATED judges):", file=sys.stderr)
    rows, bm25 = quality(args.quick, args.only)
    over: List[Dict[str, Any]] = []
    if not args.no_overhead:
        print("overhead:", file=sys.stderr)
        over = overhead(args.quick)
    md = markdown(rows, bm25, over, args.quick)
    print(md)
    if args.out:
        Path(args.out).write_text(md)
    if args.plot:
        plot(rows, bm25, args.plot)


if __name__ == "__main__":
    main()
