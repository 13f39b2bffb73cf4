#!/usr/bin/env python
"""rankwise's throughput against a SIMULATED continuous-batching server, as a share of a plain client's.

The server (``tests/loopback_server.py``, its own process on 127.0.0.1) answers every
chat-completions request after an independent lognormal latency (``--median`` seconds,
``--sigma``; sigma 0 is a constant latency), at most ``--slots`` at once, like vLLM with
``--max-num-seqs``. It answers RankGPT prompts with a permutation. It is a simulation: no
model runs, and the numbers say how well a client keeps such a server busy, nothing about
ranking quality.

For each strategy (JointRank, SlidingWindow, Tournament, Setwise) on the 43 DL19 queries
(BM25 top-100), in the same run and against the same server:

* the **floor**: a plain ``httpx.AsyncClient`` that knows the strategy's call graph in
  advance (each query's rounds, with the very request bodies rankwise sends) and keeps up to
  ``--floor-in-flight`` requests outstanding: a one-round strategy sends all its calls at
  once, a sequential one runs one concurrent chain of rounds per query. No planning, no
  parsing beyond ``json.loads``;
* **rankwise**: ``rerank(requests, strategy, OpenAIScorer(url, model))`` at default
  settings, then at a few other settings; the best is reported.

It prints, and writes as markdown (``--out``), rankwise's share of the floor's throughput
(calls per second; the same calls), medians over ``--repeats`` runs.

Usage::

    python benches/bench_throughput.py                        # sigma 0.5 and 0, 3 repeats
    python benches/bench_throughput.py --sigma 0.5 --repeats 1 --queries 10 --strategies JointRank
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import inspect
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import httpx
import numpy as np

import rankwise as rw
from rankwise.scorers import ListwiseCall, OpenAIScorer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benches"))
from _common import cpu_info  # noqa: E402
from loopback_server import answer  # noqa: E402

DATA = Path("/work/shared/data/dl19/bm25_top100.json")
STRATEGIES = {
    "JointRank": rw.JointRank,
    "SlidingWindow": rw.SlidingWindow,
    "Tournament": getattr(rw, "TournamentSort", None) or rw.Tournament,
    "Setwise": rw.Setwise,
}
# other settings tried for "best"; each is (scorer keywords, rerank keywords), kept when rerank takes them
SETTINGS: List[Tuple[str, Dict[str, Any], Dict[str, Any]]] = [
    ("max_in_flight=512", {"max_in_flight": 512}, {"max_in_flight": 512}),
    ("max_in_flight=1024", {"max_in_flight": 1024}, {"max_in_flight": 1024}),
]
LOCKSTEP_SETTINGS = [("batch_size=256", {}, {"batch_size": 256}), ("batch_size=4096", {}, {"batch_size": 4096})]


def call_graph(
    requests: Sequence[rw.Request], strategy: Any, bodies_of: OpenAIScorer
) -> List[List[List[Dict[str, Any]]]]:
    """Each query's rounds of request bodies, found by driving its planner with the server's own answers."""
    graph = []
    for req in requests:
        n = len(req.candidates) if strategy.depth is None else min(strategy.depth, len(req.candidates))
        plan = strategy.plan(n, req.qid)
        rounds: List[List[Dict[str, Any]]] = []
        while True:
            offsets, items = plan.requests()
            if len(offsets) <= 1:
                break
            if str(plan.kind) != "listwise":
                raise SystemExit(
                    f"{type(strategy).__name__} plans {plan.kind} calls; this benchmark drives listwise ones"
                )
            bounds, flat = offsets.tolist(), items.tolist()
            bodies, orders = [], []
            for c in range(len(bounds) - 1):
                docs = tuple(req.candidates[i] for i in flat[bounds[c] : bounds[c + 1]])
                body = bodies_of._body(ListwiseCall(req.qid, req.query, docs))
                text = answer(body)["choices"][0]["message"]["content"]
                bodies.append(body)
                orders.append([int(x) for x in rw.parse_permutation(text, len(docs)).order])
            plan.submit_orders(
                np.cumsum([0] + [len(o) for o in orders], dtype=np.int64), np.asarray(sum(orders, []), dtype=np.int64)
            )
            rounds.append(bodies)
        graph.append(rounds)
    return graph


async def floor(url: str, graph: List[List[List[Dict[str, Any]]]], in_flight: int) -> float:
    """Seconds for a plain client to make every call of ``graph``, round after round per query."""
    sem = asyncio.Semaphore(in_flight)
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(limits=limits, timeout=600) as client:

        async def one(body: Dict[str, Any]) -> None:
            async with sem:
                r = await client.post(url + "/chat/completions", json=body)
                r.raise_for_status()
                r.json()

        async def chain(rounds: List[List[Dict[str, Any]]]) -> None:
            for bodies in rounds:
                await asyncio.gather(*(one(b) for b in bodies))

        t0 = time.perf_counter()
        await asyncio.gather(*(chain(r) for r in graph))
        return time.perf_counter() - t0


def server_stats(url: str) -> Dict[str, Any]:
    base = url.rsplit("/v1", 1)[0]
    out: Dict[str, Any] = httpx.get(base + "/_stats").json()
    return out


def run_rankwise(
    url: str, requests: Sequence[rw.Request], strategy: Any, scorer_kw: Dict[str, Any], rerank_kw: Dict[str, Any]
) -> Tuple[float, int, List[rw.Ranking]]:
    scorer = OpenAIScorer(url, "m", **scorer_kw)
    before = server_stats(url)["requests"]
    try:
        t0 = time.perf_counter()
        out = rw.rerank(requests, strategy, scorer, progress=False, **rerank_kw)
        wall = time.perf_counter() - t0
    finally:
        scorer.close()
    return wall, server_stats(url)["requests"] - before, out


def git_state() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()

    dirty = git("status", "--porcelain", "--", "python/rankwise")
    return f"{git('log', '-1', '--format=%h')}" + (" + uncommitted changes in python/rankwise" if dirty else "")


def start_server(median: float, sigma: float, slots: int) -> Tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "loopback_server.py"),
            "--median",
            str(median),
            "--sigma",
            str(sigma),
            "--slots",
            str(slots),
            "--until-stdin-closes",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "SIMULATED server: " not in line:
        proc.kill()
        raise SystemExit(f"the loopback server did not start: {line!r}")
    return proc, line.split("SIMULATED server: ", 1)[1].strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--median", type=float, default=0.3, help="median latency in seconds (default 0.3)")
    ap.add_argument("--sigma", type=float, nargs="+", default=[0.5, 0.0], help="lognormal sigmas (default 0.5 0)")
    ap.add_argument("--slots", type=int, default=256, help="requests the server answers at once (default 256)")
    ap.add_argument("--queries", type=int, default=43, help="DL19 queries (default all 43)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per setting; medians reported (default 3)")
    ap.add_argument("--floor-in-flight", type=int, default=None, help="the floor's in-flight limit (default --slots)")
    ap.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=list(STRATEGIES))
    ap.add_argument("--no-best", action="store_true", help="defaults only")
    ap.add_argument("--settings", type=int, default=2, help="how many other settings to try for the best (default 2)")
    ap.add_argument("--out", default=str(ROOT / "benches" / "results" / "throughput.md"))
    a = ap.parse_args()
    warnings.simplefilter("ignore", rw.ScorerWarning)

    requests = rw.load_requests(DATA)[: a.queries]
    floor_n = a.floor_in_flight or a.slots
    takes = set(inspect.signature(rw.rerank).parameters)
    tried = SETTINGS if "max_in_flight" in takes else LOCKSTEP_SETTINGS  # a driver before max_in_flight
    settings = [] if a.no_best else tried[: a.settings]
    load0 = os.getloadavg()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    ).stdout.strip()
    cpu, cores = cpu_info()
    rows = []
    for sigma in a.sigma:
        proc, url = start_server(a.median, sigma, a.slots)
        try:
            print(f"SIMULATED server {url}: median {a.median} s, sigma {sigma}, {a.slots} slots", flush=True)
            for name in a.strategies:
                strategy = STRATEGIES[name]()
                graph = call_graph(requests, strategy, OpenAIScorer(url, "m", probe=False))
                calls = sum(len(b) for rounds in graph for b in rounds)
                depth = max(len(rounds) for rounds in graph)
                asyncio.run(floor(url, graph[:8], floor_n))  # warm-up: imports, first connections
                run_rankwise(url, requests[:8], strategy, {}, {})
                walls: Dict[str, List[float]] = {"floor": [], "default": [], **{n: [] for n, _, _ in settings}}
                for _ in range(a.repeats):
                    walls["floor"].append(asyncio.run(floor(url, graph, floor_n)))
                    for label, skw, rkw in [("default", {}, {})] + settings:
                        wall, made, _ = run_rankwise(url, requests, strategy, skw, rkw)
                        if made != calls:
                            print(f"  note: {name} {label} made {made} requests, the floor {calls}", flush=True)
                        walls[label].append(wall)
                        print(f"    {name} {label}: {wall:.2f} s (floor {walls['floor'][-1]:.2f} s)", flush=True)
                med = {k: statistics.median(v) for k, v in walls.items()}
                # each run against the floor run just before it (the machine's load drifts): median of those ratios
                share = {k: statistics.median(f / w for f, w in zip(walls["floor"], v)) for k, v in walls.items()}
                best = max((k for k in share if k != "floor"), key=lambda k: share[k])
                row = {
                    "sigma": sigma,
                    "strategy": name,
                    "calls": calls,
                    "rounds": depth,
                    "floor_s": med["floor"],
                    "floor_cps": calls / med["floor"],
                    "default_s": med["default"],
                    "default_share": share["default"],
                    "best": best,
                    "best_share": share[best],
                    "all": {k: v for k, v in share.items() if k != "floor"},
                }
                rows.append(row)
                print(
                    f"  {name:13s} {calls:4d} calls, {depth:2d} rounds: floor {row['floor_s']:.2f} s "
                    f"({row['floor_cps']:.0f} calls/s); rankwise default {row['default_s']:.2f} s = "
                    f"{100 * row['default_share']:.0f}% of the floor; best {best} {100 * row['best_share']:.0f}%",
                    flush=True,
                )
        finally:
            proc.terminate()
            proc.wait(10)

    lines = [
        "# rankwise against a SIMULATED continuous-batching server",
        "",
        f"`python benches/bench_throughput.py` on {datetime.date.today()}, commit `{commit}`; {cpu}, {cores} usable cores "
        f"(shared with other work: load average {load0[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, so "
        "absolute times are noisy; the floor and rankwise ran in the same run, alternately).",
        "",
        f"SIMULATED: a loopback server (tests/loopback_server.py, its own process) answering each request after a "
        f"lognormal latency, median {a.median} s, at most {a.slots} at once; no model runs. "
        f"{len(requests)} DL19 queries, BM25 top-100. The floor is a plain httpx.AsyncClient that knows each query's "
        f"rounds in advance and keeps up to {floor_n} requests in flight. Shares are of the floor's throughput "
        f"(the same calls; floor seconds / rankwise seconds, each rankwise run against the floor run "
        f"of the same repeat), medians over {a.repeats} repeats; the times are medians too.",
        "",
        "| sigma | strategy | calls | rounds | floor | rankwise at defaults | best setting | rankwise at best |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['sigma']:g} | {r['strategy']} | {r['calls']} | {r['rounds']} | {r['floor_s']:.2f} s ({r['floor_cps']:.0f} calls/s) "
            f"| {r['default_s']:.2f} s, **{100 * r['default_share']:.0f}%** | {r['best']} | {100 * r['best_share']:.0f}% |"
        )
    if settings:
        lines += ["", "Every setting, share of the floor:", ""]
        names = ["default"] + [n for n, _, _ in settings]
        lines += ["| sigma | strategy | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
        for r in rows:
            lines.append(
                f"| {r['sigma']:g} | {r['strategy']} | " + " | ".join(f"{100 * r['all'][n]:.0f}%" for n in names) + " |"
            )
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    if a.out:
        Path(a.out).write_text(text)
        print(f"written to {a.out}")


if __name__ == "__main__":
    main()
