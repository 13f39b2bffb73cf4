"""OpenAIScorer against a SIMULATED loopback server that misbehaves on cue (tests/loopback_server.py).

Every call ends within its documented limit, ``max_call_seconds`` (a correctness bound on a
fault, plus a small slack for a loaded machine); a trickled body does not extend ``timeout``;
a huge Retry-After is not waited out; dropped connections are retried; Ctrl-C stops a
process at once; the start-up probe and the environment variables do what they say.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Iterator

import pytest

import rankwise as rw
from rankwise.scorers import Answer, ListwiseCall, OpenAIScorer, PointwiseCall
from rankwise.scorers.openai import DEFAULT_MAX_IN_FLIGHT, _retry_after

sys.path.insert(0, str(Path(__file__).parent))
from loopback_server import LoopbackServer  # noqa: E402

SLACK = 1.0  # seconds a loaded 2-core machine may add to a documented limit


@pytest.fixture()
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(trickle_interval=0.5) as s:
        yield s


DOCS = tuple(rw.Candidate(f"d{i}", t) for i, t in enumerate(["fleas live long", "cats", "fleas live a year"]))


def listwise() -> ListwiseCall:
    return ListwiseCall("q", "how long do fleas live", DOCS)


def pointwise() -> PointwiseCall:
    return PointwiseCall("q", "how long do fleas live", DOCS[0])


def timed(scorer: OpenAIScorer, calls: list) -> tuple:
    t0 = time.monotonic()
    out = scorer(calls)
    return out, time.monotonic() - t0


# --- deadlines ------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["trickle", "stall"])
def test_a_slow_or_silent_server_is_cut_at_the_deadline(server, fault):
    url = server.url_for(fault)
    scorer = OpenAIScorer(url, "m", timeout=1.0, max_retries=0)
    assert scorer.max_call_seconds == 1.0
    (ans,), elapsed = timed(scorer, [listwise()])
    assert isinstance(ans, rw.ScorerError) and "gave up after 1 try" in str(ans)
    assert elapsed <= scorer.max_call_seconds + SLACK  # before: a trickled body kept a timeout=2 call > 45 s
    scorer.close()


def test_retries_stay_within_max_call_seconds(server):
    scorer = OpenAIScorer(server.url_for("trickle"), "m", timeout=0.5, max_retries=2, backoff=0.05)
    assert scorer.max_call_seconds == pytest.approx(3 * 0.5 + 0.05 * 3)
    (ans,), elapsed = timed(scorer, [listwise()])
    assert isinstance(ans, rw.ScorerError) and "gave up after 3 tries" in str(ans)
    assert elapsed <= scorer.max_call_seconds + SLACK
    assert scorer.retries == 2


def test_an_explicit_max_call_seconds_cuts_the_retries(server):
    scorer = OpenAIScorer(server.url_for("stall"), "m", timeout=0.4, max_retries=50, max_call_seconds=1.0, backoff=0)
    (ans,), elapsed = timed(scorer, [listwise()])
    assert isinstance(ans, rw.ScorerError) and "max_call_seconds=1" in str(ans)
    assert elapsed <= 1.0 + SLACK and scorer.retries <= 3


def test_a_huge_retry_after_is_not_waited_out(server):
    scorer = OpenAIScorer(server.url_for("retry-after"), "m", timeout=2, max_retries=2)
    (ans,), elapsed = timed(scorer, [listwise()])
    assert isinstance(ans, rw.ScorerError)
    assert "Retry-After 3600 s would pass max_call_seconds=7.5" in str(ans) and "HTTP 429" in str(ans)
    assert elapsed <= scorer.max_call_seconds + SLACK  # before: 120 s
    assert scorer.retries == 0


@pytest.mark.parametrize(
    "fault",
    ["trickle", "stall", "drop", "reset", "retry-after", "429", "500", "503", "400", "404", "badjson", "nochoices"],
)
def test_every_fault_ends_within_the_documented_limit(server, fault):
    scorer = OpenAIScorer(server.url_for(fault), "m", timeout=0.5, max_retries=1, backoff=0.05)
    (ans,), elapsed = timed(scorer, [listwise()])
    assert isinstance(ans, rw.ScorerError), fault
    assert elapsed <= scorer.max_call_seconds + SLACK, fault


# --- retried and not retried -------------------------------------------------------------


@pytest.mark.parametrize("fault", ["drop", "reset", "429", "500", "503"])
def test_transient_faults_are_retried_and_then_answered(server, fault):
    scorer = OpenAIScorer(server.url_for(fault, times=1), "m", timeout=2, backoff=0.01)
    (ans,) = scorer([listwise()])
    assert ans == "[1] > [3] > [2]", fault  # the SIMULATED judge ranks by query words held
    assert scorer.retries == 1 and scorer.requests == 1


def test_a_connection_dropped_mid_body_names_the_cause_when_it_persists(server):
    scorer = OpenAIScorer(server.url_for("drop"), "m", timeout=2, max_retries=2, backoff=0.01)
    (ans,) = scorer([listwise()])
    assert isinstance(ans, rw.ScorerError) and "gave up after 3 tries" in str(ans)
    assert "RemoteProtocolError" in str(ans)  # httpx's IncompleteRead
    assert server.faults["drop"] == 3


@pytest.mark.parametrize(
    "fault, match", [("400", "HTTP 400"), ("404", "HTTP 404"), ("badjson", "malformed"), ("nochoices", "no choices")]
)
def test_permanent_faults_fail_the_call_at_once(server, fault, match):
    scorer = OpenAIScorer(server.url_for(fault), "m", max_retries=3, backoff=0.01)
    (ans,) = scorer([listwise()])
    assert isinstance(ans, rw.ScorerError) and match in str(ans)
    assert scorer.retries == 0 and server.faults[fault] == 1


@pytest.mark.parametrize("kind, method", [("listwise", "first"), ("pointwise", "yes_no")])
def test_missing_logprobs_are_named(server, kind, method):
    scorer = OpenAIScorer(server.url_for("nologprobs"), "m", kind=kind, method=method)
    (ans,) = scorer([listwise() if kind == "listwise" else pointwise()])
    assert isinstance(ans, rw.ScorerError) and "logprobs" in str(ans)


def test_connection_refused_after_the_probe_is_transient_but_bounded():
    server = LoopbackServer().start()
    scorer = OpenAIScorer(server.url, "m", timeout=0.5, max_retries=2, backoff=0.05)
    server.stop()
    (ans,), elapsed = timed(scorer, [listwise()])
    assert isinstance(ans, rw.ScorerError) and "gave up after 3 tries" in str(ans) and "Connect" in str(ans)
    assert scorer.retries == 2 and elapsed <= scorer.max_call_seconds + SLACK


def test_a_failed_call_does_not_sink_the_batch(server):
    good = OpenAIScorer(server.url, "m")
    bad = OpenAIScorer(server.url_for("400"), "m")
    answers = good([listwise(), listwise()]) + bad([listwise()])
    assert answers[:2] == ["[1] > [3] > [2]"] * 2 and isinstance(answers[2], rw.ScorerError)


def test_backoff_is_exponential_with_jitter():
    scorer = OpenAIScorer("http://x/v1", "m", probe=False, backoff=0.5)
    for attempt in range(4):
        waits = [scorer._backoff_wait(attempt) for _ in range(200)]
        base = 0.5 * 2**attempt
        assert all(base / 2 <= w <= base for w in waits)
        assert len(set(waits)) > 100  # jittered: clients that failed together do not retry together


def test_retry_after_reads_seconds_and_http_dates():
    assert _retry_after("3") == 3.0 and _retry_after("0.5") == 0.5
    assert _retry_after(None) is None and _retry_after("soon") is None and _retry_after("-1") is None
    assert _retry_after("nan") is None and _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


# --- Ctrl-C and close --------------------------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_against_a_stalled_server_stops_at_once(server):
    script = textwrap.dedent(
        f"""
        import rankwise as rw
        from rankwise.scorers import OpenAIScorer
        reqs = [rw.Request(f"q{{i}}", "fleas", [rw.Candidate(f"d{{j}}", "a flea") for j in range(20)]) for i in range(4)]
        scorer = OpenAIScorer({server.url_for("stall")!r}, "m", timeout=30, max_retries=3)
        rw.rerank(reqs, rw.SlidingWindow(), scorer)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    try:
        t_wait = time.monotonic() + 30
        while server.requests < 4 and time.monotonic() < t_wait and child.poll() is None:
            time.sleep(0.05)
        assert server.requests >= 4, "the child never reached the server"
        t0 = time.monotonic()
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=10)
        elapsed = time.monotonic() - t0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert "KeyboardInterrupt" in err
    assert elapsed <= 2.0  # before: 241 s of retries after "interrupted"


def test_close_cancels_pending_requests_at_once(server):
    scorer = OpenAIScorer(server.url_for("stall"), "m", timeout=30)
    futures = scorer.submit([listwise()] * 5)
    t_wait = time.monotonic() + 10
    while server.requests < 5 and time.monotonic() < t_wait:
        time.sleep(0.02)
    t0 = time.monotonic()
    scorer.close()
    assert time.monotonic() - t0 <= SLACK + 2.0  # close() waits at most 2 s for the loop
    assert all(f.cancelled() for f in futures)
    # a closed scorer starts a fresh loop when used again
    assert OpenAIScorer(server.url, "m").__call__([listwise()]) == ["[1] > [3] > [2]"]


def test_a_pickled_scorer_starts_its_own_pool(server):
    scorer = OpenAIScorer(server.url, "m", max_in_flight=7)
    assert scorer([listwise()]) == ["[1] > [3] > [2]"]
    copy = pickle.loads(pickle.dumps(scorer))
    assert copy._runner is None and copy.max_in_flight == 7 and copy.model == "m"
    assert copy([listwise()]) == ["[1] > [3] > [2]"] and copy._runner is not scorer._runner
    scorer.close()
    copy.close()


def test_context_manager_closes(server):
    with OpenAIScorer(server.url, "m") as scorer:
        assert scorer([listwise()]) == ["[1] > [3] > [2]"]
        runner = scorer._runner
    assert runner is not None and not runner.thread.is_alive() and scorer._runner is None


# --- the probe and the environment --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_probe_an_unreachable_server_fails_at_once():
    url = f"http://127.0.0.1:{free_port()}/v1"
    t0 = time.monotonic()
    with pytest.raises(rw.ScorerError, match="cannot reach .*/v1/models.*probe=False"):
        OpenAIScorer(url, "m")
    assert time.monotonic() - t0 <= SLACK  # before: 21 s of calls and BM25 order for every query
    assert OpenAIScorer(url, "m", probe=False).model == "m"  # offline construction


def test_probe_an_unknown_model_is_named():
    with LoopbackServer(models=["Qwen/Qwen3-8B", "other"]) as s:
        with pytest.raises(rw.InvalidInputError, match=r"model: 'm' is not served .* Qwen/Qwen3-8B, other"):
            OpenAIScorer(s.url, "m")
        with pytest.raises(rw.InvalidInputError, match="none given .* serves 2"):
            OpenAIScorer(s.url)
        assert OpenAIScorer(s.url, "other").model == "other"


def test_probe_picks_the_only_served_model(server):
    scorer = OpenAIScorer(server.url)
    assert scorer.model == "m"
    scorer([listwise()])
    assert server.bodies[-1]["model"] == "m"


def test_probe_a_server_without_models_or_silent(server):
    with pytest.raises(rw.ScorerError, match="HTTP 404.*probe=False"):
        OpenAIScorer(server.url_for("nomodels"), "m")
    t0 = time.monotonic()
    with pytest.raises(rw.ScorerError, match="did not answer within 0.5 s"):
        OpenAIScorer(server.url_for("deaf"), "m", timeout=0.5)
    assert time.monotonic() - t0 <= 0.5 + SLACK
    with pytest.raises(rw.InvalidInputError, match="model: required when probe=False"):
        OpenAIScorer(server.url, probe=False)


def test_environment_variables(server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    scorer = OpenAIScorer(model="m")
    assert scorer.base_url == server.url
    scorer([listwise()])
    assert server.last_headers.get("authorization") == "Bearer sk-test"
    OpenAIScorer(model="m", api_key="other")([listwise()])
    assert server.last_headers.get("authorization") == "Bearer other"
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(rw.InvalidInputError, match=r"base_url: none given and \$OPENAI_BASE_URL"):
        OpenAIScorer(model="m")
    OpenAIScorer(server.url, "m")([listwise()])
    assert "authorization" not in server.last_headers


# --- the protocol: futures, answers, the pool, the request bodies ---------------------------


def test_submit_gives_answers_with_usage_latency_prompt_and_raw_text(server):
    scorer = OpenAIScorer(server.url, "m")
    (fut,) = scorer.submit([listwise()])
    a = fut.result(timeout=10)
    assert isinstance(a, Answer) and a.value == a.raw == "[1] > [3] > [2]"
    assert a.tokens_in > 0 and a.tokens_out == 5 and a.latency is not None and a.latency > 0
    assert a.prompt == server.bodies[-1]["messages"] and a.prompt[-1]["role"] == "user"
    assert scorer.tokens_in == a.tokens_in and scorer.requests == 1
    (bad,) = OpenAIScorer(server.url_for("400"), "m").submit([listwise()])
    with pytest.raises(rw.ScorerError, match="HTTP 400"):
        bad.result(timeout=10)


def test_connections_are_kept_alive_and_in_flight_is_bounded():
    with LoopbackServer(median=0.05, slots=1000) as s:
        scorer = OpenAIScorer(s.url, "m", max_in_flight=8)
        answers = scorer([listwise()] * 64)
        assert answers == ["[1] > [3] > [2]"] * 64
        assert s.max_in_flight == 8  # all 64 submitted at once; 8 answered at a time
        assert s.connections <= 8  # before: one new TCP connection per request
    with LoopbackServer(median=0.2, slots=1000) as s:
        scorer = OpenAIScorer(s.url, "m", max_in_flight=100)  # 4 pools of 25 connections
        assert len(scorer._get_runner().clients) == 4
        assert scorer([listwise()] * 300) == ["[1] > [3] > [2]"] * 300
        assert s.max_in_flight == 100 and s.connections <= 100 + 1  # + 1: the probe connected before the pools filled


def test_request_bodies_carry_what_each_method_needs(server):
    OpenAIScorer(server.url, "m", extra_body={"top_k": 1, "seed": 7})([listwise()])
    gen = server.bodies[-1]
    assert gen["temperature"] == 0.0 and gen["max_tokens"] == 6 * 3 + 8 and "logprobs" not in gen
    assert gen["top_k"] == 1 and gen["seed"] == 7
    (order,) = OpenAIScorer(server.url, "m", method="first")([listwise()])
    first = server.bodies[-1]
    assert first["logprobs"] is True and first["top_logprobs"] == 5 and first["max_tokens"] == 3
    assert order == [0, 2, 1]
    big = ListwiseCall("q", "fleas", tuple(rw.Candidate(f"d{i}", "x") for i in range(23)))
    OpenAIScorer(server.url, "m", method="first")([big])
    assert server.bodies[-1]["top_logprobs"] == 20  # vLLM's default --max-logprobs
    (p,) = OpenAIScorer(server.url, "m", kind="pointwise")([pointwise()])
    yn = server.bodies[-1]
    assert yn["logprobs"] is True and yn["top_logprobs"] == 20 and yn["max_tokens"] == 1 and p > 0.5


def test_yes_no_as_chat_messages_or_as_a_raw_completions_prompt(server):
    (p,) = OpenAIScorer(server.url, "m", kind="pointwise")([pointwise()])
    chat = server.bodies[-1]
    assert [m["role"] for m in chat["messages"]] == ["system", "user"] and p > 0.5
    assert "<|im_start|>" not in json.dumps(chat)  # the server applies the chat template, once
    raw = OpenAIScorer(server.url, "m", kind="pointwise", endpoint="completions")
    (a,) = raw.submit([pointwise()])
    answer = a.result(timeout=10)
    body = server.bodies[-1]
    assert body["prompt"].startswith("<|im_start|>system") and body["prompt"].endswith("</think>\n\n")
    assert body["logprobs"] == 20 and body["max_tokens"] == 1 and "messages" not in body
    assert answer.value == pytest.approx(p) and answer.raw == "yes" and answer.prompt == body["prompt"]
    (no,) = raw([PointwiseCall("q", "how long do fleas live", DOCS[1])])
    assert no < 0.5
    (bad,) = OpenAIScorer(server.url_for("nologprobs"), "m", kind="pointwise", endpoint="completions")([pointwise()])
    assert isinstance(bad, rw.ScorerError) and "logprobs" in str(bad)
    with pytest.raises(rw.InvalidInputError, match="endpoint"):
        OpenAIScorer(server.url, "m", endpoint="completions")  # listwise needs the chat template
    with pytest.raises(rw.InvalidInputError, match="endpoint"):
        OpenAIScorer(server.url, "m", kind="pointwise", endpoint="responses")


def test_in_flight_settings():
    assert OpenAIScorer("http://x/v1", "m", probe=False).max_in_flight == DEFAULT_MAX_IN_FLIGHT == 256
    s = OpenAIScorer("http://x/v1", "m", probe=False, concurrency=16)
    assert s.max_in_flight == s.concurrency == s.batch_size == 16
    with pytest.raises(rw.InvalidInputError, match="disagree"):
        OpenAIScorer("http://x/v1", "m", probe=False, concurrency=16, max_in_flight=32)
    for bad in (
        {"max_in_flight": 0},
        {"timeout": 0},
        {"timeout": float("inf")},
        {"backoff": -1},
        {"max_retries": -1},
        {"max_call_seconds": 0},
        {"max_call_seconds": float("nan")},
    ):
        with pytest.raises(rw.InvalidInputError, match=next(iter(bad))):
            OpenAIScorer("http://x/v1", "m", probe=False, **bad)


def test_without_httpx_rankwise_imports_and_the_scorer_names_the_extra():
    script = textwrap.dedent(
        """
        import sys
        sys.modules["httpx"] = None  # as if not installed
        import rankwise as rw
        from rankwise.scorers import OpenAIScorer
        try:
            OpenAIScorer("http://127.0.0.1:9/v1", "m", probe=False)
        except ImportError as e:
            print(e)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=dict(os.environ)
    )
    assert "pip install 'rankwise[http]'" in out.stdout, out.stderr
