"""The ``rankwise`` command line.

``rankwise demo`` aggregates simulated listwise judgments of 100 candidates
with every aggregator and reports how well each recovers the hidden order.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from . import __version__, aggregate


def _kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall tau-a between two score vectors (O(n^2); for small demos)."""
    da = np.sign(a[:, None] - a[None, :])
    db = np.sign(b[:, None] - b[None, :])
    n = a.size
    return float((da * db).sum() / (n * (n - 1)))


def demo(n_items: int = 100, block: int = 20, replicas: int = 4, temperature: float = 1.0, seed: int = 0) -> int:
    """Rank ``n_items`` candidates from block rankings of a simulated judge."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=n_items)
    # each replica partitions the candidates into blocks (a JointRank-style
    # design); the simulated judge ranks each block by Plackett-Luce sampling
    rankings: List[np.ndarray] = []
    for _ in range(replicas):
        perm = rng.permutation(n_items)
        for start in range(0, n_items, block):
            members = perm[start : start + block]
            gumbel = rng.gumbel(size=members.size) * temperature
            rankings.append(members[np.argsort(-(truth[members] + gumbel), kind="stable")])
    winners, losers = aggregate.comparisons_from_rankings(rankings)
    print(f"rankwise {__version__} demo: {n_items} candidates, {len(rankings)} block rankings of {block}")
    print(f"from a SIMULATED listwise judge (Plackett-Luce noise, temperature {temperature}, seed {seed});")
    print(f"{winners.size} pairwise comparisons derived from the blocks.\n")
    print(f"{'aggregator':<26}{'Kendall tau vs truth':>22}{'time (ms)':>12}")
    runs: List[Tuple[str, Callable[[], aggregate.AggregationResult]]] = [
        ("plackett_luce", lambda: aggregate.plackett_luce(rankings, n_items)),
        ("bradley_terry (newman)", lambda: aggregate.bradley_terry(winners, losers, n_items)),
        ("bradley_terry (zermelo)", lambda: aggregate.bradley_terry(winners, losers, n_items, method="zermelo")),
        ("pagerank", lambda: aggregate.pagerank(winners, losers, n_items)),
        ("win_rate", lambda: aggregate.win_rate(winners, losers, n_items)),
        ("copeland", lambda: aggregate.copeland(winners, losers, n_items)),
        ("borda", lambda: aggregate.borda(rankings, n_items)),
        ("elo (k=4)", lambda: aggregate.elo(winners, losers, n_items)),
    ]
    for name, run in runs:
        t0 = time.perf_counter()
        result = run()
        ms = (time.perf_counter() - t0) * 1e3
        print(f"{name:<26}{_kendall_tau(result.scores, truth):>22.3f}{ms:>12.2f}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="rankwise", description="Plan, drive and aggregate LLM reranking calls.")
    parser.add_argument("--version", action="version", version=f"rankwise {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p_demo = sub.add_parser(
        "demo",
        help="aggregate simulated block rankings with every aggregator",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p_demo.add_argument("--items", type=int, default=100, help="number of candidates")
    p_demo.add_argument("--block", type=int, default=20, help="candidates per block ranking")
    p_demo.add_argument("--replicas", type=int, default=4, help="times each candidate is ranked")
    p_demo.add_argument("--temperature", type=float, default=1.0, help="noise of the simulated judge")
    p_demo.add_argument("--seed", type=int, default=0, help="random seed")
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.items < 2 or args.block < 2 or args.replicas < 1:
            parser.error("--items and --block must be >= 2 and --replicas >= 1")
        return demo(args.items, args.block, args.replicas, args.temperature, args.seed)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
