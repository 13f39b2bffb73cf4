#!/usr/bin/env python
"""ICR's forward passes: the query and N/A prompts of a window packed into one
row (the shared passages read once; each query region attends to them and to
itself through a 4-D mask) against the two prompts run side by side, on a
random-weight Llama (the arithmetic is the same; the weights do not matter for
time). Same run, same windows; prints tokens read, median wall time and the
ratio. Scores are checked equal between the two (to 1e-4 relative).

    python benches/bench_icr.py                    # 4 windows x 20 passages x 80 words, 8 layers
    python benches/bench_icr.py --out benches/results/icr.md
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import numpy as np

import rankwise as rw
from _common import cpu_info, random_llama_config
from rankwise.scorers import HFScorer, icr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--windows", type=int, default=4)
    ap.add_argument("--passages", type=int, default=20)
    ap.add_argument("--words", type=int, default=80)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import torch
    import transformers

    from rankwise.scorers.embedding import minilm_path

    torch.manual_seed(0)
    tok = transformers.AutoTokenizer.from_pretrained(minilm_path())
    cfg = random_llama_config(
        tok.vocab_size, args.hidden, args.layers, 128, max_position_embeddings=8192, attn_implementation="eager"
    )
    model = transformers.LlamaForCausalLM(cfg).eval()
    s = HFScorer(model, tok, kind="groupwise", method="icr", device="cpu", max_length=8000, batch_size=8)
    rng = np.random.default_rng(0)
    vocab = "flea life cycle egg larva pupa adult host blood weeks days temperature humidity cat dog".split()
    calls = [
        rw.scorers.ListwiseCall(
            f"q{q}",
            "how long is the life cycle of a flea",
            tuple(rw.Candidate(f"d{i}", " ".join(rng.choice(vocab, args.words))) for i in range(args.passages)),
        )
        for q in range(args.windows)
    ]
    prepared = s._icr_prepare(calls)

    def separate() -> list:
        """The two prompts of each window side by side, each read whole (the layout before packing)."""
        out = []
        with torch.inference_mode():
            for w in prepared:
                ids, mask, pos = s._encode_left(w.texts)
                width = ids.shape[1]
                acc = s._icr_attention(ids, mask, pos, [width - len(x) + q for x, q in zip(w.ids, w.starts)])
                v = [acc[j, width - len(x) :].double().numpy() for j, x in enumerate(w.ids)]
                out.append(icr.icr_scores(v[0], v[1], w.spans, s.icr_calibration))
        return out

    def packed() -> list:
        return [a.value for a in s._icr_run(prepared)]

    np.testing.assert_allclose(np.array(packed()), np.array(separate()), rtol=1e-4, atol=1e-5)
    times: dict = {"separate": [], "packed": []}
    for _ in range(args.repeats):
        for name, fn in (("separate", separate), ("packed", packed)):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    sep, pk = statistics.median(times["separate"]), statistics.median(times["packed"])
    tok_sep = sum(len(x) for w in prepared for x in w.ids)
    tok_pk = sum(len(s._icr_packed(w)[0]) for w in prepared)
    cpu, cores = cpu_info()
    lines = [
        "# ICR: packed query and N/A prompts against separate prompts",
        "",
        f"rankwise {rw.__version__}, Python {platform.python_version()}, torch {torch.__version__}, {cpu}, "
        f"{cores} cores; random-weight Llama (hidden {args.hidden}, {args.layers} layers, eager attention, fp32, CPU); "
        f"{args.windows} windows x {args.passages} passages x {args.words} words; median of {args.repeats}.",
        "",
        "| layout | tokens read | wall s (median) |",
        "|---|---|---|",
        f"| two prompts per window, each read whole | {tok_sep:,} | {sep:.2f} |",
        f"| packed: passages once, both query regions after them | {tok_pk:,} | {pk:.2f} |",
        "",
        f"Tokens read {tok_sep / tok_pk:.2f}x fewer, wall time {sep / pk:.2f}x lower; scores equal to 1e-4.",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
