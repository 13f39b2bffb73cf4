"""OpenAIScorer through rerank() against the SIMULATED loopback server (tests/loopback_server.py):
normal answers, logprobs, retries on 5xx/429/timeouts, a clear error on 4xx, malformed JSON and
missing logprobs, and a failed call that does not sink its batch. The fault modes one by one, and
their deadlines, are in test_openai_faults.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterator

import pytest

import rankwise as rw
from rankwise.scorers import ListwiseCall, OpenAIScorer, PointwiseCall

sys.path.insert(0, str(Path(__file__).parent))
from loopback_server import LoopbackServer  # noqa: E402


@pytest.fixture()
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as s:
        yield s


def reqs(query: str = "how long do fleas live", n: int = 6) -> list:
    # the SIMULATED judge ranks passages by the query words they hold: 0, 1 or 2 here
    docs = [rw.Candidate(f"d{i}", " ".join(["fleas", "live"][: i % 3]) + f" passage {i}") for i in range(n)]
    return [rw.Request("q1", query, docs)]


def test_listwise_generation_and_first_and_pointwise(server):
    r = reqs()
    truth = sorted(range(6), key=lambda i: -(i % 3))  # more query words first, ties in prompt order
    for scorer, strategy in [
        (OpenAIScorer(server.url, "m"), rw.SlidingWindow(window=6)),
        (OpenAIScorer(server.url, "m", method="first"), rw.SlidingWindow(window=6)),
        (OpenAIScorer(server.url, "m", kind="pointwise"), rw.Pointwise()),
    ]:
        out = rw.rerank(r, strategy, scorer, on_error="raise")[0]
        if scorer.kind == "listwise":
            assert out.docids == [f"d{i}" for i in truth]
        else:
            assert {d for d in out.docids[:4]} == {"d1", "d2", "d4", "d5"}
        assert scorer.tokens_in > 0 and scorer.requests >= 1
    assert server.bodies[-1]["logprobs"] is True and server.bodies[-1]["max_tokens"] == 1


@pytest.mark.parametrize("fault", ["500", "429", "stall"])
def test_transient_failures_are_retried(server, fault):
    scorer = OpenAIScorer(server.url_for(fault, times=1), "m", timeout=0.5, backoff=0.01)
    out = rw.rerank(reqs(), rw.SlidingWindow(window=6), scorer, on_error="raise")[0]
    assert out.spend["failed"] == 0 and scorer.retries == 1, fault


@pytest.mark.parametrize("fault, match", [("400", "HTTP 400"), ("badjson", "malformed"), ("nologprobs", "logprobs")])
def test_permanent_failures_name_the_cause(server, fault, match):
    method = "first" if fault == "nologprobs" else "generate"
    scorer = OpenAIScorer(server.url_for(fault), "m", method=method, max_retries=2, backoff=0.01)
    with pytest.raises(rw.ScorerError, match=match):
        rw.rerank(reqs(), rw.SlidingWindow(window=6), scorer, on_error="raise")
    assert scorer.retries == 0  # not retried


def test_one_bad_request_does_not_sink_the_batch(server):
    good = reqs("fleas")[0]
    bad = rw.Request("q2", "FAULT=400 fleas", good.candidates)
    scorer = OpenAIScorer(server.url, "m", kind="pointwise", max_in_flight=4)
    with pytest.warns(rw.ScorerWarning, match="q2"):
        out = rw.rerank([good, bad], rw.Pointwise(), scorer, batch_size=12)
    assert out[0].spend["failed"] == 0 and out[1].spend["failed"] == 1 and "HTTP 400" in out[1].error
    # the good query's 6 calls were sent once: no batch-level retry
    assert sum(1 for b in server.bodies if "FAULT=400" not in json.dumps(b)) == 6


def test_unreachable_server_gives_up_clearly():
    with pytest.raises(rw.ScorerError, match="cannot reach http://127.0.0.1:9/v1/models"):
        OpenAIScorer("http://127.0.0.1:9/v1", "m")  # the probe fails at once
    scorer = OpenAIScorer("http://127.0.0.1:9/v1", "m", max_retries=1, backoff=0.0, timeout=0.5, probe=False)
    call = ListwiseCall("q", "query", tuple(reqs()[0].candidates))
    (answer,) = scorer([call])
    assert isinstance(answer, rw.ScorerError) and "gave up after 2 tries" in str(answer)


def test_bad_arguments():
    with pytest.raises(rw.InvalidInputError, match="base_url"):
        OpenAIScorer("localhost:8000", "m")
    with pytest.raises(rw.InvalidInputError, match="kind"):
        OpenAIScorer("http://x/v1", "m", kind="pairwise")
    with pytest.raises(rw.InvalidInputError, match="method"):
        OpenAIScorer("http://x/v1", "m", kind="pointwise", method="first")
    with pytest.raises(rw.InvalidInputError, match="answers ListwiseCall"):
        OpenAIScorer("http://x/v1", "m", probe=False)([PointwiseCall("q", "q", rw.Candidate("d", "t"))])
