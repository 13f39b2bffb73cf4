"""A deterministic pointwise scorer for the CLI tests (a SIMULATED judge from
qrels) that sleeps per batch, so a test can kill the job in the middle, and
fails on request for one query."""

from __future__ import annotations

import os
import time

from rankwise import read_qrels
from rankwise.scorers import Oracle, as_scorer

_oracle = Oracle(read_qrels(os.environ["RANKWISE_TEST_QRELS"]), kind="pointwise")


def _score(calls):
    time.sleep(float(os.environ.get("RANKWISE_TEST_DELAY", "0")))
    bad = os.environ.get("RANKWISE_TEST_FAIL_QID")
    if bad and any(c.qid == bad for c in calls):
        raise RuntimeError(f"simulated scorer failure on {bad}")
    return _oracle(calls)


scorer = as_scorer(_score, "pointwise")
