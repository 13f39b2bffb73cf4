"""The continuous driver: calls dispatched as soon as they are planned,
answers consumed in completion order, results independent of arrival order;
the submit(calls) -> futures path, in-flight limits, per-call timeouts and
scorers that break the protocol. The judges here are SIMULATED (Oracle)."""

from __future__ import annotations

import _thread
import threading
import time
import warnings
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pytest

import rankwise as rw
from conftest import SHARED_DATA as SHARED
from conftest import needs_shared
from rankwise.scorers import Answer, Oracle, as_scorer
from synthetic import ALL_STRATEGIES, Shuffled, synthetic_requests, true_order


def _noisy(strategy, utility):
    return Oracle(utility, kind=strategy.call_kind, temperature=2.0, seed=5)


@pytest.mark.parametrize("strategy", ALL_STRATEGIES, ids=repr)
def test_results_do_not_depend_on_arrival_order(strategy):
    reqs, utility = synthetic_requests(6, 37, seed=21)
    lockstep = rw.rerank(reqs, strategy, _noisy(strategy, utility), batch_size=1)
    for seed in (1, 2):
        shuffled = Shuffled(_noisy(strategy, utility), seed=seed)
        out = rw.rerank(reqs, strategy, shuffled, max_in_flight=1 + 13 * seed)
        assert [r.docids for r in out] == [r.docids for r in lockstep]
        assert [r.spend for r in out] == [r.spend for r in lockstep]
        assert shuffled.submitted == sum(r.spend["calls"] for r in out)


@needs_shared
@pytest.mark.slow
def test_shared_data_runs_are_byte_identical_under_random_arrival():
    reqs = rw.load_requests(SHARED / "dl19" / "bm25_top100.json")
    qrels = rw.read_qrels(SHARED / "dl19" / "qrels.txt")
    for strategy in (rw.SlidingWindow(), rw.Tournament(), rw.JointRank(), rw.Setwise(), rw.SparsePairwise()):
        judge = Oracle(qrels, kind=strategy.call_kind, temperature=1.0, seed=3)
        a = rw.Run.from_rankings(rw.rerank(reqs, strategy, judge, batch_size=32)).to_trec("x")
        b = rw.Run.from_rankings(rw.rerank(reqs, strategy, Shuffled(judge, seed=9, max_delay=0.001))).to_trec("x")
        assert a == b, strategy


def test_a_finished_round_is_planned_without_waiting_for_other_queries():
    """One query's calls stall; every other query still runs all its rounds."""
    reqs, utility = synthetic_requests(5, 30, seed=22)
    judge = Oracle(utility, kind="listwise")
    release = threading.Event()
    pool = ThreadPoolExecutor(8)

    class Stalling:
        kind = "listwise"

        def __call__(self, calls):
            return judge(calls)

        def submit(self, calls):
            def one(c):
                if c.qid == "q0":
                    release.wait(10)
                return judge([c])[0]

            return [pool.submit(one, c) for c in calls]

    gen = rw.rerank_iter(reqs, rw.SlidingWindow(10, 5), Stalling())
    first_four = [next(gen).qid for _ in range(4)]  # SlidingWindow(10, 5) on 30 docs: 5 sequential rounds each
    assert sorted(first_four) == ["q1", "q2", "q3", "q4"]
    release.set()
    last = list(gen)
    assert [r.qid for r in last] == ["q0"]
    assert last[0].docids == rw.rerank(reqs[:1], rw.SlidingWindow(10, 5), judge)[0].docids


def test_max_in_flight_is_reached_and_never_exceeded():
    reqs, utility = synthetic_requests(8, 40, seed=23)
    for limit in (1, 5, 50):
        shuffled = Shuffled(Oracle(utility, kind="pairwise"), seed=limit)
        out = rw.rerank(reqs, rw.SparsePairwise(), shuffled, max_in_flight=limit)
        assert shuffled.peak == limit
        assert all(r.spend["failed"] == 0 for r in out)
    shuffled = Shuffled(Oracle(utility, kind="pairwise"), max_in_flight=7)  # the scorer's own preference
    rw.rerank(reqs, rw.SparsePairwise(), shuffled)
    assert shuffled.peak == 7


def test_batch_scorers_get_full_batches_never_concurrently_and_the_next_one_waits_queued():
    reqs, utility = synthetic_requests(10, 40, seed=24)
    judge = Oracle(utility, kind="listwise")
    sizes, inside, overlap = [], [0], []

    def scorer(calls):
        inside[0] += 1
        overlap.append(inside[0])
        time.sleep(0.002)
        sizes.append(len(calls))
        inside[0] -= 1
        return judge(calls)

    out = rw.rerank(reqs, rw.JointRank(), as_scorer(scorer, "listwise"), batch_size=16)
    assert max(overlap) == 1
    assert all(s == 16 for s in sizes[:-1]) and sum(sizes) == sum(r.spend["calls"] for r in out)
    assert [r.docids for r in out] == [r.docids for r in rw.rerank(reqs, rw.JointRank(), judge, batch_size=3)]


def test_a_scorers_preferred_batch_size_is_the_default():
    reqs, utility = synthetic_requests(4, 50, seed=25)
    sizes = []

    class Big:
        kind = "pointwise"
        preferred_batch_size = 64

        def __call__(self, calls):
            sizes.append(len(calls))
            return Oracle(utility, kind="pointwise")(calls)

    rw.rerank(reqs, rw.Pointwise(), Big())
    assert max(sizes) == 64
    rw.rerank(reqs, rw.Pointwise(), Big(), batch_size=10)
    assert max(sizes[-20:]) == 10


def test_a_future_that_never_completes_times_out_and_falls_back():
    reqs, utility = synthetic_requests(4, 12, seed=26)
    judge = Oracle(utility, kind="pointwise")
    pool = ThreadPoolExecutor(4)

    class Hanging:
        kind = "pointwise"

        def __call__(self, calls):
            return judge(calls)

        def submit(self, calls):
            return [Future() if c.qid == "q2" else pool.submit(lambda c=c: judge([c])[0]) for c in calls]

    t = time.monotonic()
    with pytest.warns(rw.ScorerWarning, match="q2"):
        out = rw.rerank(reqs, rw.Pointwise(), Hanging(), call_timeout=0.3)
    assert time.monotonic() - t < 5  # the deadline, not forever
    assert [r.spend["failed"] for r in out] == [0, 0, 1, 0]
    assert "call_timeout" in out[2].error
    assert out[0].docids == true_order(utility, "q0")


def test_a_batch_scorer_stuck_past_the_timeout_is_left_behind():
    reqs, utility = synthetic_requests(4, 12, seed=27)
    judge = Oracle(utility, kind="pointwise")
    release = threading.Event()

    def scorer(calls):
        if any(c.qid == "q1" for c in calls):
            release.wait(20)
        return judge(calls)

    try:
        with pytest.warns(rw.ScorerWarning, match="q1"):
            out = rw.rerank(reqs, rw.Pointwise(), as_scorer(scorer, "pointwise"), batch_size=12, call_timeout=0.3)
    finally:
        release.set()
    assert [r.spend["failed"] for r in out] == [0, 1, 0, 0]
    assert out[3].docids == true_order(utility, "q3")


def _broken_submit(utility, how):
    judge = Oracle(utility, kind="pointwise")

    class Broken:
        kind = "pointwise"

        def __call__(self, calls):
            return judge(calls)

        def submit(self, calls):
            done = []
            for c in calls:
                f: Future = Future()
                f.set_result(judge([c])[0])
                done.append(f)
            if any(c.qid == "q1" for c in calls):
                if how == "count":
                    return done[:-1]
                if how == "same":
                    return [done[0]] * len(done)
                if how == "not_future":
                    return [0.5] * len(done)
                raise RuntimeError("connection pool exhausted")
            return done

    return Broken()


@pytest.mark.parametrize("how", ["count", "raise"])
def test_a_failing_submit_is_retried_then_isolated(how):
    reqs, utility = synthetic_requests(3, 8, seed=28)
    with pytest.warns(rw.ScorerWarning, match="q1"):
        out = rw.rerank(reqs, rw.Pointwise(), _broken_submit(utility, how))
    assert [r.spend["failed"] for r in out] == [0, 1, 0]
    assert out[0].docids == true_order(utility, "q0") and out[2].docids == true_order(utility, "q2")
    assert {"count": "futures for", "raise": "exhausted"}[how] in out[1].error


@pytest.mark.parametrize("how, match", [("same", "one future for two calls"), ("not_future", "Future objects")])
def test_a_submit_that_cannot_tell_its_answers_apart_is_a_clear_error(how, match):
    reqs, utility = synthetic_requests(3, 8, seed=28)
    with pytest.raises(rw.ScorerError, match=match):
        rw.rerank(reqs, rw.Pointwise(), _broken_submit(utility, how))


@pytest.mark.parametrize("path", ["batch", "submit"])
def test_a_scorer_that_empties_its_list_changes_nothing(path):
    reqs, utility = synthetic_requests(5, 15, seed=29)
    judge = Oracle(utility, kind="listwise")

    def greedy(calls):
        answers = judge(calls)
        while calls:
            calls.pop(0)
        return answers

    if path == "batch":
        scorer = as_scorer(greedy, "listwise")
    else:
        pool = ThreadPoolExecutor(2)

        class scorer_cls:
            kind = "listwise"

            def __call__(self, calls):
                return greedy(calls)

            def submit(self, calls):
                futures = [pool.submit(lambda c=c: judge([c])[0]) for c in calls]
                calls.clear()
                return futures

        scorer = scorer_cls()
    got = {r.qid: r.docids for r in rw.rerank_iter(reqs, rw.SlidingWindow(6, 3), scorer)}
    assert got == {r.qid: r.docids for r in rw.rerank(reqs, rw.SlidingWindow(6, 3), judge)}


def test_a_huge_integer_score_fails_that_query_only():
    reqs, utility = synthetic_requests(3, 5, seed=30)
    judge = Oracle(utility, kind="pointwise")

    def scorer(calls):
        return [10**400 if c.qid == "q1" else s for c, s in zip(calls, judge(calls))]

    with pytest.warns(rw.ScorerWarning):
        out = rw.rerank(reqs, rw.Pointwise(), as_scorer(scorer, "pointwise"))
    assert [r.spend["failed"] for r in out] == [0, 1, 0]
    assert "too large" in out[1].error


@pytest.mark.parametrize("answer", ["", "?", "[99] > [42]", [], np.array([], dtype=np.int64)])
def test_text_answers_that_name_nothing_count_as_repaired(answer):
    reqs, _ = synthetic_requests(2, 40, seed=31)

    def scorer(calls):
        return [answer for _ in calls]

    out = rw.rerank(reqs, rw.SlidingWindow(), as_scorer(scorer, "listwise"))
    for r, req in zip(out, reqs):
        assert r.spend["repaired"] == r.spend["calls"] == 3
        assert r.docids == [c.docid for c in req.candidates]  # nothing named: prompt order everywhere


def test_partial_and_duplicated_text_answers_are_repaired_once_each():
    reqs, _ = synthetic_requests(1, 3, seed=32)
    for text, repaired in [
        ("[2] > [1] > [3]", 0),
        ("[2] > [2] > [1] > [3]", 1),
        ("[2]", 1),
        ("[2] > [1] > [3] > [4]", 1),
    ]:
        out = rw.rerank(reqs, rw.SlidingWindow(), as_scorer(lambda calls, t=text: [t] * len(calls), "listwise"))
        assert out[0].spend["repaired"] == repaired, text
        assert out[0].docids[0] == reqs[0].candidates[1].docid


def test_answers_with_their_cost_add_up_per_query():
    reqs, utility = synthetic_requests(3, 10, seed=33)
    judge = Oracle(utility, kind="pointwise")

    def scorer(calls):
        return [
            Answer(s, raw=str(s), tokens_in=100, tokens_out=5, latency=0.01, thinking_tokens=4, flops=2e9)
            for s in judge(calls)
        ]

    out = rw.rerank(reqs, rw.Pointwise(), as_scorer(scorer, "pointwise"))
    for r in out:
        assert r.docids == true_order(utility, r.qid)
        assert r.spend["tokens_in"] == 1000 and r.spend["tokens_out"] == 50 and r.spend["thinking_tokens"] == 40
        assert r.spend["latency"] == pytest.approx(0.1) and r.spend["flops"] == pytest.approx(2e10)


def test_ctrl_c_stops_at_once_with_calls_in_flight():
    reqs, utility = synthetic_requests(3, 10, seed=34)
    never = []

    class Stalled:
        kind = "pointwise"

        def __call__(self, calls):
            raise AssertionError("the driver must use submit")

        def submit(self, calls):
            fs = [Future() for _ in calls]
            never.extend(fs)
            return fs

    timer = threading.Timer(0.5, _thread.interrupt_main)
    t = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        rw.rerank(reqs, rw.Pointwise(), Stalled(), call_timeout=30)  # the timeout only keeps a broken test finite
    assert time.monotonic() - t < 2.0
    assert never and all(f.cancelled() for f in never)  # nothing left waiting


def test_stats_count_submissions_and_busy_time():
    reqs, utility = synthetic_requests(4, 20, seed=35)
    stats = rw.RerankStats()
    shuffled = Shuffled(Oracle(utility, kind="listwise"), max_delay=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rw.rerank(reqs, rw.JointRank(), shuffled, stats=stats)
    assert stats.calls == shuffled.submitted == 4 * 4  # 20 docs, block 20: `replicas` shuffled copies
    assert stats.batches >= 1 and 0 < stats.scorer_seconds <= stats.wall_seconds


def test_bad_driver_options():
    reqs, utility = synthetic_requests(1, 5)
    judge = Oracle(utility, kind="pointwise")
    with pytest.raises(rw.InvalidInputError, match="max_in_flight"):
        rw.rerank(reqs, rw.Pointwise(), judge, max_in_flight=0)
    with pytest.raises(rw.InvalidInputError, match="call_timeout"):
        rw.rerank(reqs, rw.Pointwise(), judge, call_timeout=-1)
    with pytest.raises(rw.InvalidInputError, match="call_timeout"):
        rw.rerank(reqs, rw.Pointwise(), judge, call_timeout="soon")  # type: ignore[arg-type]


def test_record_writes_every_call_and_replay_reproduces_the_run(tmp_path):
    reqs, utility = synthetic_requests(4, 25, seed=36)
    judge = Oracle(utility, kind="listwise", temperature=1.0, seed=2)
    path = tmp_path / "calls.jsonl"
    out = rw.rerank(reqs, rw.SlidingWindow(10, 5), judge, record=path)
    lines = path.read_text().splitlines()
    assert len(lines) == sum(r.spend["calls"] for r in out)
    replayed = rw.rerank(reqs, rw.SlidingWindow(10, 5), rw.scorers.Replay.from_jsonl(path))
    assert [r.docids for r in replayed] == [r.docids for r in out]


def test_requests_in_the_shapes_users_have():
    reqs, utility = synthetic_requests(2, 6, seed=37)
    as_dicts = [
        {"qid": r.qid, "query": r.query, "docs": [{"id": c.docid, "text": c.text} for c in r.candidates]} for r in reqs
    ]
    judge = Oracle(utility, kind="pointwise")
    assert [r.docids for r in rw.rerank(as_dicts, rw.Pointwise(), judge)] == [
        r.docids for r in rw.rerank(reqs, rw.Pointwise(), judge)
    ]
    with pytest.raises(rw.InvalidInputError, match="requests"):
        rw.rerank([42], rw.Pointwise(), judge)


def test_a_two_half_scorer_has_the_next_batch_prepared_while_the_model_runs():
    reqs, utility = synthetic_requests(6, 40, seed=38)
    judge = Oracle(utility, kind="listwise")
    prepared_second = threading.Event()
    log = []

    class TwoHalves:
        kind = "listwise"

        def __call__(self, calls):
            return self.run(self.prepare(calls))

        def prepare(self, calls):
            log.append(("prepare", len(calls)))
            if sum(1 for e in log if e[0] == "prepare") == 2:
                prepared_second.set()
            return list(calls)

        def run(self, calls):
            if not log or log[0] != "overlap-checked":
                log.insert(0, "overlap-checked")
                log.append(("overlapped", prepared_second.wait(5)))  # batch 2 is prepared during batch 1
            return judge(calls)

    out = rw.rerank(reqs, rw.JointRank(), TwoHalves(), batch_size=8)
    assert ("overlapped", True) in log
    assert [r.docids for r in out] == [r.docids for r in rw.rerank(reqs, rw.JointRank(), judge)]


def test_a_failing_prepare_falls_back_to_the_plain_path():
    reqs, utility = synthetic_requests(3, 10, seed=39)
    judge = Oracle(utility, kind="pointwise")

    class BadPrepare:
        kind = "pointwise"

        def __call__(self, calls):
            return judge(calls)

        def prepare(self, calls):
            raise RuntimeError("tokenizer hiccup")

        def run(self, prepared):
            raise AssertionError("never reached")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = rw.rerank(reqs, rw.Pointwise(), BadPrepare())
    assert all(r.docids == true_order(utility, r.qid) for r in out)


def test_plain_dicts_without_query_ids_are_numbered_by_position():
    docs = ["a cat", "a dog", "a flea"]
    out = rw.rerank(
        [{"query": "flea", "docs": docs}, {"query": "cat", "docs": docs}],
        rw.Pointwise(),
        as_scorer(lambda calls: [float(c.doc.text.endswith(c.query)) for c in calls], "pointwise"),
    )
    assert [r.qid for r in out] == ["0", "1"]
    assert [r.docids[0] for r in out] == ["2", "0"]
