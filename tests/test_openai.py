"""OpenAIScorer against a small chat-completions server on loopback, started
by the tests: normal answers, logprobs, retries on 5xx/429/timeouts, a clear
error on 4xx, malformed JSON and missing logprobs."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import rankwise as rw
from rankwise.scorers import ListwiseCall, OpenAIScorer, PointwiseCall


class Server:
    """Answers like a served LLM that prefers passages mentioning 'flea'.

    The query text selects a behaviour: FAIL500 / FAIL429 / SLOW fail the
    first time they are seen, FAIL400 / BADJSON / NOLOGPROBS always.
    """

    def __init__(self) -> None:
        self.seen: Counter = Counter()
        self.bodies: list = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # the scorer's start-up probe
                if self.path.endswith("/models"):
                    return self.reply(200, {"object": "list", "data": [{"id": "m", "object": "model"}]})
                self.reply(404, {"error": "no such route"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.bodies.append(body)
                text = " ".join(m["content"] for m in body["messages"])
                key = next(
                    (k for k in ("FAIL500", "FAIL429", "SLOW", "FAIL400", "BADJSON", "NOLOGPROBS") if k in text), None
                )
                server.seen[key] += 1
                first = server.seen[key] == 1
                if key == "FAIL500" and first:
                    return self.reply(500, {"error": "overloaded"})
                if key == "FAIL429" and first:
                    return self.reply(429, {"error": "slow down"}, headers={"Retry-After": "0"})
                if key == "SLOW" and first:
                    time.sleep(1.0)
                if key == "FAIL400":
                    return self.reply(400, {"error": {"message": "bad model"}})
                if key == "BADJSON":
                    return self.reply(200, None, raw=b"{not json")
                self.reply(200, server.answer(body, text, with_logprobs=key != "NOLOGPROBS"))

            def reply(self, code, obj, raw=None, headers=None):
                data = raw if raw is not None else json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, body, text, with_logprobs):
        msgs = body["messages"]
        passages = [m["content"] for m in msgs if m["role"] == "user" and re.match(r"^\[(\d+|[A-W])\] ", m["content"])]
        usage = {"prompt_tokens": len(text.split()), "completion_tokens": 1}
        if passages:
            ids = [re.match(r"^\[(\w+)\]", p).group(1) for p in passages]
            order = sorted(range(len(passages)), key=lambda i: -passages[i].count("flea"))
            content = " > ".join(f"[{ids[i]}]" for i in order)
            top = [{"token": ids[i], "logprob": -0.1 * r} for r, i in enumerate(order)]
        else:
            yes = "flea" in text.split("<Document>:")[-1]
            content = "yes" if yes else "no"
            top = [
                {"token": "yes", "logprob": -0.1 if yes else -2.0},
                {"token": "no", "logprob": -2.0 if yes else -0.1},
            ]
        choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        if with_logprobs and body.get("logprobs"):
            choice["logprobs"] = {
                "content": [{"token": top[0]["token"], "logprob": top[0]["logprob"], "top_logprobs": top}]
            }
        return {"id": "x", "object": "chat.completion", "choices": [choice], "usage": usage}


@pytest.fixture()
def server():
    s = Server()
    yield s
    s.httpd.shutdown()


def reqs(query="how long do fleas live", n=6):
    docs = [rw.Candidate(f"d{i}", ("a flea " * (i % 3)) + f"passage {i}") for i in range(n)]
    return [rw.Request("q1", query, docs)]


def test_listwise_generation_and_first_and_pointwise(server):
    r = reqs()
    truth = sorted(range(6), key=lambda i: -(i % 3))  # more "flea" first, ties in prompt order
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


def test_transient_failures_are_retried(server):
    for query in ("FAIL500 fleas", "FAIL429 fleas", "SLOW fleas"):
        scorer = OpenAIScorer(server.url, "m", timeout=0.5, backoff=0.01)
        out = rw.rerank(reqs(query), rw.SlidingWindow(window=6), scorer, on_error="raise")[0]
        assert out.spend["failed"] == 0 and scorer.retries == 1, query


@pytest.mark.parametrize(
    "query, match", [("FAIL400 fleas", "HTTP 400"), ("BADJSON fleas", "malformed"), ("NOLOGPROBS fleas", "logprobs")]
)
def test_permanent_failures_name_the_cause(server, query, match):
    method = "first" if "LOGPROBS" in query else "generate"
    scorer = OpenAIScorer(server.url, "m", method=method, max_retries=2, backoff=0.01)
    with pytest.raises(rw.ScorerError, match=match):
        rw.rerank(reqs(query), rw.SlidingWindow(window=6), scorer, on_error="raise")
    assert scorer.retries == 0  # not retried


def test_one_bad_request_does_not_sink_the_batch(server):
    good = reqs("fleas")[0]
    bad = rw.Request("q2", "FAIL400 fleas", good.candidates)
    scorer = OpenAIScorer(server.url, "m", kind="pointwise", concurrency=4)
    with pytest.warns(rw.ScorerWarning, match="q2"):
        out = rw.rerank([good, bad], rw.Pointwise(), scorer, batch_size=12)
    assert out[0].spend["failed"] == 0 and out[1].spend["failed"] == 1 and "HTTP 400" in out[1].error
    # the good query's 6 calls were sent once: no batch-level retry
    assert sum(1 for b in server.bodies if "FAIL400" not in json.dumps(b)) == 6


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
