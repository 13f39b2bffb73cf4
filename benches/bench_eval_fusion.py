#!/usr/bin/env python
"""Benchmark rankwise's run/qrels construction, evaluation and fusion against
ranx, pytrec_eval and rankops.

Synthetic data (fixed seed): ``Q`` queries; each query has a pool of ``2D``
doc ids (``"d12345"``), and each of two runs ranks ``D`` docs drawn from that
pool without replacement, so the two runs share ~50% of their documents.
Scores are random floats without ties (run 1 BM25-like, run 2 cosine-like, both
nudged up by the relevance grade so the metrics are not near zero); qrels judge
``J`` (default 50) docs of the pool per query with grades 0..3.

Every operation is timed from data already in memory, in the structure the
library takes (rankwise ``Run``/``Qrels``, ranx ``Run``/``Qrels``, pytrec_eval's
nested dicts, rankops' per-query lists of ``(doc, score)``); building those
structures is timed on its own in the construction rows. Each call is timed on
its own (``time.perf_counter``, cyclic GC off as in timeit) after one untimed
warm-up call, which for ranx is where numba compiles (or loads from its
on-disk cache) its kernels; the median of K repeats is reported.

Usage::

    python benches/bench_eval_fusion.py                 # Q = 1000, D = 1000
    python benches/bench_eval_fusion.py --quick         # Q = 100 (smoke run)
    python benches/bench_eval_fusion.py --repeats 7 --out eval_fusion.md

Timings are never asserted; the script only prints them and whether the
targets are met.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import math
import os
import platform
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

import rankwise
from _common import cpu_info, try_import, version

SEED = 20240611
METRICS = ["ndcg@10", "map", "recall@100"]
PYTREC_MEASURES = {"ndcg_cut.10", "map", "recall.100"}
PYTREC_KEYS = {"ndcg@10": "ndcg_cut_10", "map": "map", "recall@100": "recall_100"}
RRF_K = 60
TOP = 10  # fused top-k compared between libraries
GRADE_P = [0.4, 0.3, 0.2, 0.1]  # qrels grades 0..3

# ----------------------------------------------------------------------------
# optional peers


_t0 = time.perf_counter()
ranx = try_import("ranx")
RANX_IMPORT_S = time.perf_counter() - _t0
pytrec_eval = try_import("pytrec_eval")
rankops = try_import("rankops")


# ----------------------------------------------------------------------------
# data


@dataclass
class Data:
    q: int
    d: int
    run1: Dict[str, Dict[str, float]]
    run2: Dict[str, Dict[str, float]]
    qrels: Dict[str, Dict[str, int]]
    overlap: float  # mean fraction of run 1's docs also in run 2


def _untied(draw: Callable[[], np.ndarray]) -> np.ndarray:
    """Scores from ``draw`` with no two equal, even once rounded to float32
    (redrawn otherwise): trec_eval, hence pytrec_eval, holds scores as float32
    and breaks ties by doc id, and rankops computes in float32, so scores that
    differ only in float64 would be ties for them and not for rankwise/ranx."""
    while True:
        s = draw()
        if np.unique(s.astype(np.float32)).size == s.size:
            return s


def make_data(q: int, d: int, judged: int, seed: int = SEED) -> Data:
    rng = np.random.default_rng(seed)
    pool_n = 2 * d
    run1: Dict[str, Dict[str, float]] = {}
    run2: Dict[str, Dict[str, float]] = {}
    qrels: Dict[str, Dict[str, int]] = {}
    overlaps = []
    for i in range(q):
        qid = f"q{i}"
        pool = [f"d{i * pool_n + j}" for j in range(pool_n)]
        grade = np.zeros(pool_n, dtype=np.int64)
        jidx = rng.choice(pool_n, size=min(judged, pool_n), replace=False)
        grade[jidx] = rng.choice(4, size=jidx.size, p=GRADE_P)
        qrels[qid] = {pool[j]: int(grade[j]) for j in jidx}
        i1 = rng.choice(pool_n, size=d, replace=False)
        i2 = rng.choice(pool_n, size=d, replace=False)
        s1 = _untied(lambda: 10.0 + 3.0 * rng.standard_normal(d) + 2.0 * grade[i1])  # noqa: B023 (called at once)
        s2 = _untied(lambda: 1.0 / (1.0 + np.exp(-(rng.standard_normal(d) + 0.7 * grade[i2]))))  # noqa: B023 (called at once)
        run1[qid] = dict(zip([pool[j] for j in i1], s1.tolist()))
        run2[qid] = dict(zip([pool[j] for j in i2], s2.tolist()))
        overlaps.append(np.intersect1d(i1, i2).size / d)
    return Data(q, d, run1, run2, qrels, float(np.mean(overlaps)))


def write_trec_files(data: Data, folder: str) -> Tuple[str, str]:
    run_path = os.path.join(folder, "run1.trec")
    qrels_path = os.path.join(folder, "qrels.txt")
    rankwise.write_run(rankwise.Run.from_dict(data.run1), run_path, tag="bench")
    with open(qrels_path, "w") as f:
        for qid, judged in data.qrels.items():
            for doc, g in judged.items():
                f.write(f"{qid} 0 {doc} {g}\n")
    return run_path, qrels_path


# ----------------------------------------------------------------------------
# timing


@dataclass
class Row:
    op: str
    lib: str
    median: float
    first: float  # the untimed warm-up call's time (JIT compile / cache load for ranx)
    reps: int
    note: str = ""
    ratio: Optional[float] = None


def measure(
    fn: Callable[[], Any], repeats: int, before: Optional[Callable[[], None]] = None
) -> Tuple[float, float, Any]:
    """(median s, first-call s, last result) of ``fn()``; ``before()`` runs untimed before every call."""
    times = []
    result = None
    for _ in range(repeats + 1):
        if before is not None:
            before()
        result = None
        gc.collect()
        gc.disable()
        try:
            t = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t)
        finally:
            gc.enable()
    return statistics.median(times[1:]), times[0], result


# ----------------------------------------------------------------------------
# peers' native inputs / outputs


def rankops_lists(run: Dict[str, Dict[str, float]]) -> List[List[Tuple[str, float]]]:
    """rankops' input: per query a list of (doc, score), best first (rankops ranks by list position)."""
    return [sorted(docs.items(), key=itemgetter(1), reverse=True) for docs in run.values()]


def pytrec_means(per_query: Dict[str, Dict[str, float]]) -> Dict[str, float]:
    n = len(per_query)
    return {m: math.fsum(v[PYTREC_KEYS[m]] for v in per_query.values()) / n for m in METRICS}


def top_rankwise(run: "rankwise.Run") -> Dict[str, List[str]]:
    return {q: run[q].docids[:TOP] for q in run}


def top_ranx(run: Any) -> Dict[str, List[str]]:
    return {q: list(itertools.islice(run.run[q].keys(), TOP)) for q in run.run.keys()}


def top_rankops(qids: Sequence[str], fused: List[List[Tuple[str, float]]]) -> Dict[str, List[str]]:
    return {q: [doc for doc, _ in f[:TOP]] for q, f in zip(qids, fused)}


# reference fusions in float64, straight from the definitions (ranx's)


def ref_rrf(data: Data, k: float, first_rank: int = 1) -> Dict[str, Dict[str, float]]:
    out = {}
    for q in data.run1:
        acc: Dict[str, float] = {}
        for run in (data.run1, data.run2):
            for r, doc in enumerate(sorted(run[q], key=run[q].get, reverse=True)):
                acc[doc] = acc.get(doc, 0.0) + 1.0 / (k + r + first_rank)
        out[q] = acc
    return out


def ref_combsum_minmax(data: Data) -> Dict[str, Dict[str, float]]:
    out = {}
    for q in data.run1:
        acc: Dict[str, float] = {}
        for run in (data.run1, data.run2):
            lo, hi = min(run[q].values()), max(run[q].values())
            den = max(hi - lo, 1e-9)
            for doc, s in run[q].items():
                acc[doc] = acc.get(doc, 0.0) + (s - lo) / den
        out[q] = acc
    return out


def tie_aware_agreement(top: Dict[str, List[str]], ref: Dict[str, Dict[str, float]]) -> float:
    """% of queries whose top-k is *a* correct top-k of ``ref``: the reference
    scores of its docs, in its order, equal the reference's k best scores (any
    order among equal scores accepted, including at the cut)."""
    ok = 0
    for q, scores in ref.items():
        best = sorted(scores.values(), reverse=True)[:TOP]
        got = top.get(q, [])
        if len(got) == len(best) and len(set(got)) == len(got):
            vals = [scores.get(d, math.nan) for d in got]
            ok += all(abs(v - b) <= 1e-12 * max(1.0, abs(b)) for v, b in zip(vals, best))
    return 100.0 * ok / len(ref)


def exact_agreement(a: Dict[str, List[str]], b: Dict[str, List[str]]) -> float:
    return 100.0 * sum(a[q] == b.get(q) for q in a) / len(a)


# ----------------------------------------------------------------------------
# report


def machine(data: Data, judged: int, repeats: int) -> str:
    cpu, usable = cpu_info()
    env = {
        k: os.environ[k] for k in ("RANKWISE_NUM_THREADS", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS") if k in os.environ
    }
    numba_threads = ""
    try:
        import numba

        numba_threads = f"; numba threads {numba.config.NUMBA_NUM_THREADS}"
    except Exception:  # noqa: BLE001
        pass
    lines = [
        "## rankwise evaluation and fusion benchmark",
        "",
        f"- machine: {platform.platform()}; CPU: {cpu}; cpu_count={os.cpu_count()}, usable={usable}"
        + numba_threads
        + (f"; env {env}" if env else ""),
        f"- python {platform.python_version()}; numpy {np.__version__}",
        f"- rankwise {rankwise.__version__} ({os.path.dirname(rankwise.__file__)}); ranx {version('ranx')} "
        f"(numba {version('numba')}); pytrec-eval-terrier {version('pytrec-eval-terrier')}; "
        f"rankops {version('rankops')}",
        f"- data: Q={data.q} queries x D={data.d} docs per run, 2 runs sharing {100 * data.overlap:.1f}% of docs, "
        f"{judged} judged docs/query (grades 0..3); seed {SEED}; median of {repeats} timed calls after 1 warm-up",
    ]
    return "\n".join(lines)


def table(rows: List[Row]) -> str:
    out = [
        "| operation | library | median s | ratio vs rankwise | notes |",
        "|---|---|---:|---:|---|",
    ]
    for r in rows:
        ratio = "—" if r.ratio is None else ("1.00" if r.lib.startswith("rankwise") else f"{r.ratio:.2f}")
        out.append(f"| {r.op} | {r.lib} | {r.median:.4g} | {ratio} | {r.note} |")
    return "\n".join(out)


def set_ratios(rows: List[Row]) -> None:
    base: Dict[str, float] = {}
    for r in rows:
        if r.lib.startswith("rankwise") and r.op not in base:
            base[r.op] = r.median
    for r in rows:
        if r.op in base and base[r.op] > 0:
            r.ratio = r.median / base[r.op]


def targets(rows: List[Row]) -> str:
    def get(op: str, lib: str) -> Optional[Row]:
        return next((r for r in rows if r.op == op and r.lib == lib), None)

    def one(label: str, op: str, lib: str, goal: float) -> str:
        r = get(op, lib)
        if r is None or r.ratio is None:
            return f"{label}: not measured (NOT met)"
        return f"{label}: {r.ratio:.1f}x ({'met' if r.ratio >= goal else 'NOT met'})"

    parts = [
        one("evaluate vs ranx warm (>= 5x)", OP_EVAL, "ranx (warm)", 5),
        one("fuse rrf vs ranx (>= 10x)", OP_RRF, "ranx (warm)", 10),
        one("fuse rrf vs rankops (>= 10x)", OP_RRF, "rankops", 10),
        one("fuse combsum vs ranx (>= 10x)", OP_COMBSUM, "ranx (warm)", 10),
        one("fuse combsum vs rankops (>= 10x)", OP_COMBSUM, "rankops", 10),
    ]
    return "**Targets:** " + "; ".join(parts) + "."


OP_RUN = "Run from dict (1 run)"
OP_QRELS = "Qrels from dict"
OP_READ_RUN = "read TREC run file (1 run)"
OP_READ_QRELS = "read TREC qrels file"
OP_EVAL = "evaluate ndcg@10+map+recall@100"
OP_EVAL_DICT = "evaluate, run given as dict"
OP_RRF = f"fuse 2 runs: rrf k={RRF_K}"
OP_COMBSUM = "fuse 2 runs: combsum min-max"


# ----------------------------------------------------------------------------
# benchmark


def bench(data: Data, repeats: int) -> Tuple[List[Row], List[str]]:
    rows: List[Row] = []
    notes: List[str] = []
    qids = list(data.run1)

    def add(
        op: str, lib: str, fn: Callable[[], Any], note: str = "", before: Optional[Callable[[], None]] = None
    ) -> Any:
        med, first, res = measure(fn, repeats, before)
        rows.append(Row(op, lib, med, first, repeats, note))
        print(f"  {op:<36} {lib:<34} {med:10.4g} s  (first call {first:.4g} s)", flush=True)
        return res

    # -- construction --------------------------------------------------------
    print("construction", flush=True)
    rw1 = add(OP_RUN, "rankwise Run.from_dict", lambda: rankwise.Run.from_dict(data.run1))
    rw2 = rankwise.Run.from_dict(data.run2)
    if ranx is not None:
        rx1 = add(OP_RUN, "ranx (warm)", lambda: ranx.Run(data.run1), "ranx.Run(dict): numba typed dicts, sorted")
        rx2 = ranx.Run(data.run2)
    if rankops is not None:
        ro1 = add(
            OP_RUN,
            "rankops",
            lambda: rankops_lists(data.run1),
            "Python: per query sorted list of (doc, score); rankops has no run type",
        )
        ro2 = rankops_lists(data.run2)
    rwq = add(OP_QRELS, "rankwise Qrels.from_dict", lambda: rankwise.Qrels.from_dict(data.qrels))
    if ranx is not None:
        rxq = add(OP_QRELS, "ranx (warm)", lambda: ranx.Qrels(data.qrels), "ranx.Qrels(dict)")
    if pytrec_eval is not None:
        pte = add(
            OP_QRELS,
            "pytrec_eval",
            lambda: pytrec_eval.RelevanceEvaluator(data.qrels, PYTREC_MEASURES, relevance_level=1),
            "RelevanceEvaluator(qrels, measures)",
        )

    with tempfile.TemporaryDirectory(prefix="rankwise_bench_") as tmp:
        run_path, qrels_path = write_trec_files(data, tmp)
        add(OP_READ_RUN, "rankwise read_run", lambda: rankwise.read_run(run_path))
        if ranx is not None:
            add(
                OP_READ_RUN,
                "ranx (warm)",
                lambda: ranx.Run.from_file(run_path, kind="trec"),
                "Run.from_file: Python line loop, then Run.from_dict",
            )
        if pytrec_eval is not None:

            def ptr() -> Any:
                with open(run_path) as f:
                    return pytrec_eval.parse_run(f)

            add(OP_READ_RUN, "pytrec_eval", ptr, "parse_run -> dict (Python)")
        add(OP_READ_QRELS, "rankwise read_qrels", lambda: rankwise.read_qrels(qrels_path))
        if ranx is not None:
            add(OP_READ_QRELS, "ranx (warm)", lambda: ranx.Qrels.from_file(qrels_path, kind="trec"))
        if pytrec_eval is not None:

            def ptq() -> Any:
                with open(qrels_path) as f:
                    return pytrec_eval.parse_qrel(f)

            add(OP_READ_QRELS, "pytrec_eval", ptq, "parse_qrel -> dict (Python)")

    # -- evaluation ----------------------------------------------------------
    print("evaluate", flush=True)
    means: Dict[str, Dict[str, float]] = {}
    means["rankwise"] = add(OP_EVAL, "rankwise", lambda: rankwise.evaluate(rw1, rwq, METRICS, relevance_level=1))
    if ranx is not None:

        def clear_ranx_results() -> None:
            # ranx.evaluate(save_results_in_run=True) writes every result into the
            # Run (run.scores / run.mean_scores); it never reads them back, but we
            # empty them before each call so every call starts from the same state.
            rx1.scores.clear()
            rx1.mean_scores.clear()
            rx1.std_scores.clear()

        res = add(
            OP_EVAL,
            "ranx (warm)",
            lambda: ranx.evaluate(rxq, rx1, METRICS),
            "ranx.evaluate(Qrels, Run)",
            before=clear_ranx_results,
        )
        means["ranx"] = {m: float(v) for m, v in res.items()}
    if pytrec_eval is not None:
        means["pytrec_eval"] = add(
            OP_EVAL,
            "pytrec_eval",
            lambda: pytrec_means(pte.evaluate(data.run1)),
            "evaluate(run dict) + means in Python",
        )
    add(
        OP_EVAL_DICT,
        "rankwise",
        lambda: rankwise.evaluate(data.run1, rwq, METRICS, relevance_level=1),
        "Run.from_dict inside",
    )
    if ranx is not None:
        add(
            OP_EVAL_DICT,
            "ranx (warm)",
            lambda: ranx.evaluate(rxq, data.run1, METRICS),
            "dict -> hashed typed list inside",
        )
    if pytrec_eval is not None:
        add(OP_EVAL_DICT, "pytrec_eval", lambda: pytrec_means(pte.evaluate(data.run1)), "same call as above")

    libs = list(means)
    pairs = {
        f"{a}-{b}": max(abs(means[a][m] - means[b][m]) for m in METRICS) for a, b in itertools.combinations(libs, 2)
    }
    notes.append(
        "evaluate means: "
        + "; ".join(f"{lib} " + ", ".join(f"{m}={means[lib][m]:.6f}" for m in METRICS) for lib in libs)
    )
    notes.append(
        f"evaluate agreement: max |difference of means| = {max(pairs.values(), default=0.0):.3g} ("
        + ", ".join(f"{k} {v:.3g}" for k, v in pairs.items())
        + ")"
    )

    # -- fusion --------------------------------------------------------------
    print("fuse", flush=True)
    fused: Dict[str, Dict[str, Dict[str, List[str]]]] = {"rrf": {}, "combsum": {}}
    f = add(OP_RRF, "rankwise", lambda: rankwise.fuse([rw1, rw2], method="rrf", k=RRF_K))
    fused["rrf"]["rankwise"] = top_rankwise(f)
    if ranx is not None:
        f = add(
            OP_RRF,
            "ranx (warm)",
            lambda: ranx.fuse([rx1, rx2], norm=None, method="rrf", params={"k": RRF_K}),
            "fuse(norm=None): ranx's default norm='min-max' would min-max rrf's input for nothing",
        )
        fused["rrf"]["ranx"] = top_ranx(f)
    if rankops is not None:
        f = add(
            OP_RRF,
            "rankops",
            lambda: [rankops.rrf(a, b, k=RRF_K) for a, b in zip(ro1, ro2)],
            "rankops.rrf per query (Python loop)",
        )
        fused["rrf"]["rankops"] = top_rankops(qids, f)
        # rankops ranks from 0: its k + 1 is ranx's / rankwise's k (untimed check)
        fused["rrf"]["rankops k+1"] = top_rankops(qids, [rankops.rrf(a, b, k=RRF_K + 1) for a, b in zip(ro1, ro2)])

    f = add(OP_COMBSUM, "rankwise", lambda: rankwise.fuse([rw1, rw2], method="combsum", norm="min-max"))
    fused["combsum"]["rankwise"] = top_rankwise(f)
    if ranx is not None:
        f = add(
            OP_COMBSUM,
            "ranx (warm)",
            lambda: ranx.fuse([rx1, rx2], norm="min-max", method="sum"),
            "fuse(norm='min-max', method='sum')",
        )
        fused["combsum"]["ranx"] = top_ranx(f)
    if rankops is not None:
        f = add(
            OP_COMBSUM,
            "rankops",
            lambda: [rankops.combsum(a, b) for a, b in zip(ro1, ro2)],
            "rankops.combsum per query (min-max built in)",
        )
        fused["combsum"]["rankops"] = top_rankops(qids, f)

    # -- fused top-10 agreement ---------------------------------------------
    refs = {"rrf": ref_rrf(data, RRF_K), "combsum": ref_combsum_minmax(data)}
    ref_rrf0 = ref_rrf(data, RRF_K, first_rank=0)
    for method, tops in fused.items():
        parts = []
        for lib, top in tops.items():
            if lib == "rankops k+1":
                continue
            parts.append(f"{lib} {tie_aware_agreement(top, refs[method]):.1f}%")
        exact = [
            f"{lib} {exact_agreement(top, tops['rankwise']):.1f}%"
            for lib, top in tops.items()
            if lib not in ("rankwise", "rankops k+1")
        ]
        notes.append(
            f"fused top-{TOP} {method}: correct (tie-aware, vs a float64 reference) "
            + ", ".join(parts)
            + ("; identical id lists vs rankwise: " + ", ".join(exact) if exact else "")
        )
    if "rankops" in fused["rrf"]:
        notes.append(
            f"rankops.rrf counts ranks from 0 (score 1/(k + r - 1) for 1-based rank r; float32 scores), so with "
            f"k={RRF_K} it is not ranx's/rankwise's rrf k={RRF_K}: its top-{TOP} is correct for "
            f"{tie_aware_agreement(fused['rrf']['rankops'], ref_rrf0):.1f}% of queries under its own definition; "
            f"called with k={RRF_K + 1} (same formula as k={RRF_K} from rank 1; untimed) it is correct for "
            f"{tie_aware_agreement(fused['rrf']['rankops k+1'], refs['rrf']):.1f}% vs the reference and "
            f"{exact_agreement(fused['rrf']['rankops k+1'], fused['rrf']['rankwise']):.1f}% identical to rankwise "
            f"(RRF has many exact ties, e.g. two docs each retrieved by one run at the same rank, which each "
            f"library breaks its own way: rankwise by doc id descending, ranx by its unstable sort)"
        )

    if ranx is not None:
        firsts = {r.op: r.first for r in rows if r.lib == "ranx (warm)"}
        notes.append(
            f"ranx first calls (numba JIT compile, or load of its on-disk cache, excluded from the medians): "
            f"import {RANX_IMPORT_S:.2f} s; " + "; ".join(f"{op} {s:.3g} s" for op, s in firsts.items())
        )
    set_ratios(rows)
    return rows, notes


LEGEND = [
    "Columns: *median s* = median wall time of the timed calls; *ratio vs rankwise* = this row's time / the rankwise "
    "row of the same operation (> 1: rankwise is faster).",
    "ranx rows are warm: the first call of each is untimed (numba compiles its kernels, or loads them from "
    "the on-disk cache that `cache=True` keeps in site-packages). ranx 0.3.21 keeps no cache that evaluate reads "
    "back (it re-sorts/hashes the Run into a typed list on every call); evaluate only stores results in "
    "`run.scores` / `run.mean_scores`, which are emptied before each call. Runs are sorted once at construction.",
    "rankops has a per-query API over Python lists of (doc, score) tuples, ranked by list position; its rows "
    "loop over queries in Python, from lists built once (the rankops construction row: sorting the dict by score).",
    "pytrec_eval takes the run as a dict on every call, so its evaluate row includes converting it.",
]


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: Q = 100 queries")
    ap.add_argument("--queries", type=int, help="number of queries Q (default 1000, 100 with --quick)")
    ap.add_argument("--docs", type=int, default=1000, help="docs per query and run D (default 1000)")
    ap.add_argument("--judged", type=int, default=50, help="judged docs per query (default 50)")
    ap.add_argument("--repeats", type=int, default=5, help="timed calls per operation (median), default 5")
    ap.add_argument("--rankwise-threads", type=int, help="set RANKWISE_NUM_THREADS (default: all cores)")
    ap.add_argument("--out", help="also write the report (markdown table, notes, targets) to this path")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    if args.rankwise_threads is not None:  # read once, at rankwise's first parallel call
        os.environ["RANKWISE_NUM_THREADS"] = str(args.rankwise_threads)
    q = args.queries if args.queries is not None else (100 if args.quick else 1000)

    started = time.perf_counter()
    t = time.perf_counter()
    data = make_data(q, args.docs, args.judged)
    print(f"data generated in {time.perf_counter() - t:.1f} s", flush=True)
    head = machine(data, args.judged, args.repeats)
    print(head + "\n", flush=True)
    with warnings.catch_warnings():
        # ranx's ndcg emits NumbaTypeSafetyWarning (uint64 -> int64 cast of hashed doc ids)
        warnings.simplefilter("ignore")
        rows, notes = bench(data, args.repeats)
    out = [head, "", table(rows), ""] + [f"- {x}" for x in notes] + [""] + [f"- {x}" for x in LEGEND]
    out += ["", targets(rows), "", f"_total benchmark time {time.perf_counter() - started:.0f} s_"]
    text = "\n".join(out)
    print("\n" + "\n".join(out[2:]))
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
