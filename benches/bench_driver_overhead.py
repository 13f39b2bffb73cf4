#!/usr/bin/env python
"""The driver's own cost per call: everything but the scorer (planning,
aggregation, bookkeeping, the dispatcher's threads and futures), measured
as ``wall - time inside the scorer`` with an instant SIMULATED judge
(Oracle), 50 synthetic queries x 100 candidates, batches of 32, medians of
5 alternating runs.

With ``--lockstep PATH`` it also loads an older ``rankwise/rerank.py`` (the
lockstep driver, e.g. ``git show 942f739:python/rankwise/rerank.py >
/tmp/lockstep.py``) as a module of this rankwise and measures it in the same
run, for a ratio.

Usage::

    python benches/bench_driver_overhead.py [--lockstep /tmp/lockstep.py] [--out benches/results/driver_overhead.md]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import rankwise as rw  # noqa: E402
from rankwise.scorers import Oracle  # noqa: E402
from synthetic import synthetic_requests  # noqa: E402


def load_lockstep(path: Optional[Path]) -> Any:
    if path is None:
        return None
    text = path.read_text().replace(
        "_, _, rounds, repaired = q.plan.spend()", "_, _, rounds, repaired = q.plan.spend()[:4]"
    )
    spec = importlib.util.spec_from_loader("rankwise._lockstep", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "rankwise"
    sys.modules["rankwise._lockstep"] = module  # dataclasses look their module up there
    exec(compile(text, str(path), "exec"), module.__dict__)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lockstep", type=Path, help="an older rerank.py to measure beside the current driver")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    old = load_lockstep(args.lockstep)
    head = "| strategy | calls/query | driver µs/query | driver µs/call |"
    if old is not None:
        head += " lockstep µs/query | lockstep µs/call | ratio |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for label, s in [
        ("SlidingWindow(20, 10)", rw.SlidingWindow()),
        ("JointRank(20, r=4)", rw.JointRank()),
        ("SparsePairwise(skip)", rw.SparsePairwise()),
        ("Setwise(4, heapsort)", rw.Setwise()),
        ("Pointwise", rw.Pointwise()),
        ("TourRank()", rw.TourRank()),
    ]:
        reqs, util = synthetic_requests(50, 100, seed=1)
        judge = Oracle(util, kind=s.call_kind)  # SIMULATED and instant: what is left is the driver
        runs: dict = {"new": [], "old": []}
        calls = 0
        for _ in range(args.repeats):
            for name, mod in (("new", rw), ("old", old)):
                if mod is None:
                    continue
                st = mod.RerankStats()
                mod.rerank(reqs, s, judge, stats=st, batch_size=32)
                runs[name].append(st.wall_seconds - st.scorer_seconds)
                calls = st.calls
        new = statistics.median(runs["new"])
        row = f"| {label} | {calls / 50:.0f} | {new / 50 * 1e6:,.0f} | {new / calls * 1e6:.1f} |"
        if old is not None:
            o = statistics.median(runs["old"])
            row += f" {o / 50 * 1e6:,.0f} | {o / calls * 1e6:.1f} | {new / o:.2f}x |"
        lines.append(row)
        print(row, flush=True)
    text = "\n".join(
        [
            "# The driver's cost per call (everything but the scorer)",
            "",
            "50 synthetic queries x 100 candidates, an instant SIMULATED judge (Oracle), batches of 32, "
            f"medians of {args.repeats} alternating runs on the shared 2-core machine; wall - time inside the scorer.",
            "",
            *lines,
        ]
    )
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
