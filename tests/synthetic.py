"""Synthetic rerank requests with a hidden utility per document, and one instance of every strategy: shared by
the strategy, driver and pipeline tests."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import rankwise as rw
from rankwise.scorers import Oracle

ALL_STRATEGIES = [
    rw.SlidingWindow(),
    rw.SlidingWindow(window=7, step=3, passes=2),
    rw.Tournament(),
    rw.Tournament(group_size=5, advance=2, top_k=10),
    rw.JointRank(),
    rw.JointRank(aggregator="plackett_luce"),
    rw.JointRank(block_size=10, replicas=2, aggregator="bradley_terry"),
    rw.JointRank(design="random", aggregator="win_rate"),
    rw.SparsePairwise(),
    rw.SparsePairwise(sampler="random", aggregator="kwiksort"),
    rw.SparsePairwise(sampler="window", window=3, aggregator="greedy"),
    rw.SparsePairwise(aggregator="pagerank"),
    rw.AllPairs(),
    rw.Setwise(),
    rw.Setwise(method="bubblesort", set_size=3),
    rw.Pointwise(),
]


def synthetic_requests(n_queries: int, n_docs: int, seed: int = 0):
    """Requests with a hidden utility per document (the first-stage order is random)."""
    rng = random.Random(seed)
    reqs, utility = [], {}
    for q in range(n_queries):
        qid = f"q{q}"
        docs = [f"{qid}d{i}" for i in range(n_docs)]
        u = list(range(n_docs))
        rng.shuffle(u)
        utility[qid] = {d: float(x) for d, x in zip(docs, u)}
        reqs.append(rw.Request(qid, f"query {q}", [rw.Candidate(d, f"text of {d}") for d in docs]))
    return reqs, utility


def oracle_for(strategy, utility, **noise):
    return Oracle(utility, kind=strategy.call_kind, **noise)


def true_order(utility, qid):
    return sorted(utility[qid], key=lambda d: -utility[qid][d])


class Shuffled:
    """A SIMULATED server scorer: ``submit`` answers each call on a thread pool
    after a random delay, so answers arrive in a random order; it logs every
    call it saw (``seen``) and the most calls outstanding at once (``peak``)."""

    def __init__(
        self, judge, *, seed=0, max_delay=0.003, workers=16, max_in_flight=None, thread_name_prefix="shuffled"
    ):
        self.judge, self.kind = judge, judge.kind
        self.rng = random.Random(seed)
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix=thread_name_prefix)
        self.max_delay = max_delay
        self.lock = threading.Lock()
        self.outstanding = self.peak = 0
        self.seen = []
        if max_in_flight is not None:
            self.max_in_flight = max_in_flight

    @property
    def submitted(self):
        return len(self.seen)

    def __call__(self, calls):
        return self.judge(calls)

    def _one(self, call, delay):
        time.sleep(delay)
        try:
            return self.judge([call])[0]
        finally:
            with self.lock:
                self.outstanding -= 1

    def submit(self, calls):
        with self.lock:
            self.outstanding += len(calls)
            self.peak = max(self.peak, self.outstanding)
            self.seen.extend(calls)
        return [self.pool.submit(self._one, c, self.rng.uniform(0, self.max_delay)) for c in calls]

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)
