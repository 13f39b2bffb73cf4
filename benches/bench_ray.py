"""Queries per second through rankwise.ray on this machine, with a scorer whose
time is latency, not CPU (it sleeps: a stand-in for a GPU or a server).

    .venv/bin/python benches/bench_ray.py --out benches/results/ray.md   # 256 and 1024 queries, 3 repeats (~6 min)
    .venv/bin/python benches/bench_ray.py --queries 64 --repeats 1       # a smoke run

Rows: plain ``rankwise.rerank()`` in this process; ``rankwise.ray.rerank_iter``
on 1 and on 2 actors of a local Ray cluster (``ray.init(num_cpus=2)``, started
once, outside the timings). Each Ray time is a whole job: the actor pool
starts, each actor builds its scorer, the requests are shipped, rankings come
back. Medians over repeats. The results of every run are checked equal to
the plain one.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rankwise as rw  # noqa: E402
from _common import cpu_info, version  # noqa: E402


class SleepingScorer:
    """Listwise: sleeps ``per_batch + per_call * len(calls)`` seconds, then
    answers each window in its given order reversed (deterministic)."""

    kind = "listwise"
    batch_size = 32

    def __init__(self, per_batch: float = 0.020, per_call: float = 0.001) -> None:
        self.per_batch, self.per_call = per_batch, per_call

    def __call__(self, calls: List[Any]) -> List[List[int]]:
        time.sleep(self.per_batch + self.per_call * len(calls))
        return [list(range(len(c.docs)))[::-1] for c in calls]


def make_requests(n: int, depth: int) -> List[rw.Request]:
    return [
        rw.Request(
            f"q{i}", f"query {i}", [rw.Candidate(f"d{i}_{j}", f"passage {j} of query {i}") for j in range(depth)]
        )
        for i in range(n)
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--depth", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--queries-per-batch", type=int, default=32)
    ap.add_argument("--out", default=None, help="also write the table as markdown here")
    args = ap.parse_args()

    import ray

    import rankwise.ray as rr

    strategy = rw.SlidingWindow()  # 9 sequential calls of 20 per query at depth 100
    t = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    startup = time.perf_counter() - t

    def key(rs: List[rw.Ranking]) -> Dict[str, List[str]]:
        return {r.qid: r.docids for r in rs}

    rows = []
    for n in args.queries:
        requests = make_requests(n, args.depth)
        reference = key(rw.rerank(requests, strategy, SleepingScorer(), progress=False))

        def timed(
            name: str, run: Any, n: int = n, requests: List[rw.Request] = requests, reference: Any = reference
        ) -> None:
            totals, firsts = [], []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                got, first = [], None
                for r in run(requests):
                    if first is None:
                        first = time.perf_counter() - t0
                    got.append(r)
                totals.append(time.perf_counter() - t0)
                firsts.append(first or 0.0)
                assert key(got) == reference, f"{name}: results differ from one process"
            row = (n, name, statistics.median(totals), min(totals), max(totals), statistics.median(firsts))
            rows.append(row)
            print(f"{n:>5} {name:<38} median {row[2]:6.2f} s  first ranking at {row[5]:5.2f} s", file=sys.stderr)

        timed("rankwise.rerank_iter() (this process)", lambda q: rw.rerank_iter(q, strategy, SleepingScorer()))
        for w in (1, 2):
            timed(
                f"rankwise.ray.rerank_iter, {w} worker{'s' * (w > 1)}",
                lambda q, w=w: rr.rerank_iter(
                    q, strategy, SleepingScorer, workers=w, queries_per_batch=args.queries_per_batch, progress=False
                ),
            )
    ray.shutdown()

    cpu, cores = cpu_info()
    per_batch = 0.020 + 0.001 * SleepingScorer.batch_size
    lines = [
        "# rankwise.ray: queries per second with a latency-bound scorer",
        "",
        f"Synthetic queries x {args.depth} candidates, SlidingWindow (9 sequential calls of 20 documents per "
        f"query), a scorer that sleeps 20 ms per batch + 1 ms per call (batches of {SleepingScorer.batch_size} "
        f"calls: {per_batch * 1000:.0f} ms a batch, so one process needs at least 9 x n / 32 x {per_batch:.3f} s), "
        f"queries_per_batch={args.queries_per_batch}; medians of {args.repeats} runs. Ray {version('ray')}, a local "
        f"cluster ray.init(num_cpus=2) started once in {startup:.1f} s (not in the times); {cpu}, {cores} cores "
        "shared with other jobs. *first* is when the first ranking arrived: for Ray, mostly starting the actor "
        "processes (a Python worker that imports ray, pyarrow and rankwise, then builds its scorer).",
        "",
        "| queries | run | median s | min s | max s | first s | queries/s | after first: queries/s | vs one process |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    base: Dict[int, float] = {}
    for n, name, med, lo, hi, first in rows:
        base.setdefault(n, med)
        after = n / (med - first) if med > first else float("nan")
        lines.append(
            f"| {n} | {name} | {med:.2f} | {lo:.2f} | {hi:.2f} | {first:.2f} | {n / med:.1f} | {after:.1f} "
            f"| {base[n] / med:.2f}x |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
