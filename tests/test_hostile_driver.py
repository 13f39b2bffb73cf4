"""A hostile review of the continuous driver (rerank_iter, the Dispatcher):
scorers that hang, answer late, raise odd things, return odd things, mutate
their input or call back into rankwise; consumers that walk away or press
Ctrl-C; request streams that break midway. Every judge here is SIMULATED
(Oracle, or a function of the call). A case marked xfail(strict=True) is a
bug found by this review: the reason names it, and the test passes once it
is fixed."""

from __future__ import annotations

import _thread
import asyncio
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections import Counter
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor

import numpy as np
import pytest

import rankwise as rw
from rankwise.recording import read_calls
from rankwise.scorers import Answer, Cached, Oracle, as_scorer
from synthetic import Shuffled, synthetic_requests, true_order

# --- SIMULATED scorers ----------------------------------------------------------------------------------------------


def Async(judge, **options):
    """SIMULATED server scorer (synthetic.Shuffled): answers arrive in random order; it logs every call it saw."""
    return Shuffled(judge, **{"workers": 8, "thread_name_prefix": "hostile-async", **options})


def _shown(call):
    return len(call.docs) if hasattr(call, "docs") else (2 if hasattr(call, "doc_a") else 1)


def _driver_threads():
    return [t for t in threading.enumerate() if t.name == "rankwise-scorer"]


def _wait_for_threads(baseline, limit=10.0):
    """The number of live threads once it is back at ``baseline`` (or after ``limit`` s)."""
    end = time.monotonic() + limit
    while threading.active_count() > baseline and time.monotonic() < end:
        time.sleep(0.02)
    return threading.active_count()


@pytest.fixture
def pools():
    made = []
    yield made
    for s in made:
        s.close()


def _lockstep(reqs, strategy, judge):
    return rw.rerank(reqs, strategy, judge, batch_size=1)


# --- futures that never complete, complete late, complete after cancel ------------------------------------------------


def test_a_future_completed_after_the_driver_gave_up_changes_nothing():
    reqs, utility = synthetic_requests(4, 6, seed=101)
    judge = Oracle(utility, kind="pointwise")
    late, errors = [], []

    class Late:
        kind = "pointwise"

        def __call__(self, calls):
            return judge(calls)

        def submit(self, calls):
            out = []
            for c in calls:
                f: Future = Future()
                if c.qid == "q1":
                    late.append((f, judge([c])[0]))
                else:
                    f.set_result(judge([c])[0])
                out.append(f)
            return out

    with pytest.warns(rw.ScorerWarning, match="q1"):
        out = rw.rerank(reqs, rw.Pointwise(), Late(), call_timeout=0.2)
    for f, v in late:  # the scorer answers after the driver gave up: set_result on a cancelled future
        try:
            f.set_result(v)
        except InvalidStateError as e:
            errors.append(e)
    assert late and len(errors) == len(late)  # the driver cancelled every one it gave up on
    assert [r.spend["failed"] for r in out] == [0, 1, 0, 0]
    assert out[1].docids == [d.docid for d in reqs[1].candidates]
    assert out[2].docids == true_order(utility, "q2")


def test_a_batch_scorer_that_hangs_then_returns_late_applies_nothing_twice():
    reqs, utility = synthetic_requests(5, 8, seed=102)
    judge = Oracle(utility, kind="pointwise")
    returned = threading.Event()
    hooked = []
    old_hook = threading.excepthook
    threading.excepthook = lambda args: hooked.append(args)

    def scorer(calls):
        if any(c.qid == "q1" for c in calls) and not returned.is_set():
            time.sleep(0.6)
            returned.set()  # the late batch returns, after its timeout, on the abandoned worker
        return judge(calls)

    try:
        with pytest.warns(rw.ScorerWarning, match="q1"):
            out = rw.rerank_iter(reqs, rw.Pointwise(), as_scorer(scorer, "pointwise"), batch_size=8, call_timeout=0.3)
            got = {r.qid: r for r in out}
        assert returned.wait(5)
        time.sleep(0.05)
    finally:
        threading.excepthook = old_hook
    assert not hooked  # no crash on the abandoned worker
    assert sorted(got) == [f"q{i}" for i in range(5)]
    assert got["q1"].spend["failed"] == 1 and "call_timeout" in got["q1"].error
    for q in ("q0", "q2", "q3", "q4"):
        assert got[q].docids == true_order(utility, q) and got[q].spend["calls"] == 8


def test_a_queued_batch_is_not_charged_for_its_wait():
    reqs, utility = synthetic_requests(4, 4, seed=103)
    judge = Oracle(utility, kind="pointwise")

    def scorer(calls):
        time.sleep(0.3)  # every batch takes 0.3 s, under the 0.45 s limit
        return judge(calls)

    with warnings.catch_warnings():
        warnings.simplefilter("error", rw.ScorerWarning)
        out = rw.rerank(reqs, rw.Pointwise(), as_scorer(scorer, "pointwise"), batch_size=4, call_timeout=0.45)
    assert [r.spend["failed"] for r in out] == [0, 0, 0, 0]


def test_a_prepare_stuck_past_the_timeout_fails_only_its_batch():
    reqs, utility = synthetic_requests(4, 6, seed=104)
    judge = Oracle(utility, kind="pointwise")
    release = threading.Event()

    class TwoHalves:
        kind = "pointwise"

        def __call__(self, calls):
            return self.run(self.prepare(calls))

        def prepare(self, calls):
            if any(c.qid == "q0" for c in calls):
                release.wait(20)  # the tokenizer hangs on this batch
            return list(calls)

        def run(self, calls):
            return judge(calls)

    try:
        with pytest.warns(rw.ScorerWarning):
            out = rw.rerank(reqs, rw.Pointwise(), TwoHalves(), batch_size=6, call_timeout=0.3)
    finally:
        release.set()
    assert [r.spend["failed"] for r in out] == [1, 0, 0, 0]


# --- odd exceptions ----------------------------------------------------------------------------------------------------


class Odd(BaseException):
    """A BaseException that is not KeyboardInterrupt, SystemExit or GeneratorExit."""


def _raising(utility, exc, path):
    judge = Oracle(utility, kind="pointwise")

    class Raising:
        kind = "pointwise"

        def __call__(self, calls):
            if any(c.qid == "q1" for c in calls):
                raise exc()
            return judge(calls)

    class RaisingFuture(Raising):
        def submit(self, calls):
            out = []
            for c in calls:
                f: Future = Future()
                if c.qid == "q1":
                    f.set_exception(exc())
                else:
                    f.set_result(judge([c])[0])
                out.append(f)
            return out

    return Raising() if path == "batch" else RaisingFuture()


@pytest.mark.parametrize("path", ["batch", "submit"])
@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_keyboard_interrupt_and_system_exit_from_the_scorer_stop_the_run(exc, path):
    reqs, utility = synthetic_requests(3, 4, seed=105)
    before = threading.active_count()
    with pytest.raises(exc):
        rw.rerank(reqs, rw.Pointwise(), _raising(utility, exc, path), batch_size=4)
    assert _wait_for_threads(before) <= before


@pytest.mark.parametrize("path", ["batch", "submit"])
@pytest.mark.parametrize("exc", [asyncio.CancelledError, Odd], ids=["asyncio.CancelledError", "Odd"])
def test_an_odd_base_exception_fails_that_query_only(exc, path):
    reqs, utility = synthetic_requests(3, 4, seed=105)
    with pytest.warns(rw.ScorerWarning, match="q1"):
        out = rw.rerank(reqs, rw.Pointwise(), _raising(utility, exc, path), batch_size=4)
    assert [r.spend["failed"] for r in out] == [0, 1, 0]


def test_an_answer_wrapping_an_exception_fails_that_query():
    reqs, utility = synthetic_requests(3, 4, seed=106)
    judge = Oracle(utility, kind="pointwise")

    def scorer(calls):
        return [
            Answer(RuntimeError("backend 500"), tokens_in=7) if c.qid == "q2" else a
            for c, a in zip(calls, judge(calls))
        ]

    with pytest.warns(rw.ScorerWarning, match="q2"):
        out = rw.rerank(reqs, rw.Pointwise(), as_scorer(scorer, "pointwise"))
    assert [r.spend["failed"] for r in out] == [0, 0, 1]
    assert "backend 500" in out[2].error and out[2].spend["tokens_in"] == 7


@pytest.mark.parametrize(
    "field, bad",
    [
        ("tokens_in", "lots"),
        ("tokens_in", float("nan")),
        ("tokens_out", -5),
        ("latency", "fast"),
        ("latency", float("nan")),
        ("flops", float("inf")),
    ],
    ids=repr,
)
def test_an_answer_with_a_bad_cost_field_is_a_clear_error(field, bad):
    reqs, utility = synthetic_requests(3, 4, seed=106)
    judge = Oracle(utility, kind="pointwise")

    def scorer(calls):
        return [Answer(a, **{field: bad}) if c.qid == "q1" else a for c, a in zip(calls, judge(calls))]

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rw.ScorerWarning)
            out = rw.rerank(reqs, rw.Pointwise(), as_scorer(scorer, "pointwise"))
    except rw.RankwiseError as e:  # refused as a scorer bug: fine, if it names the field
        assert field in str(e)
    else:  # or that query fails, naming the field
        assert [r.spend["failed"] for r in out] == [0, 1, 0] and field in (out[1].error or "")


# --- what a batch scorer returns ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, fails",
    [
        ("generator", False),
        ("numpy", False),
        ("tuple", False),
        ("none", True),
        ("short", True),
        ("long", True),
        ("scalar", True),
    ],
)
def test_what_a_batch_scorer_returns(shape, fails):
    reqs, utility = synthetic_requests(3, 5, seed=107)
    judge = Oracle(utility, kind="pointwise")

    def scorer(calls):
        a = list(judge(calls))
        return {
            "generator": (x for x in a),
            "numpy": np.asarray(a, dtype=np.float32),
            "tuple": tuple(a),
            "none": None,
            "short": a[:-1],
            "long": a + [0.5],
            "scalar": 0.5,
        }[shape]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = rw.rerank(reqs, rw.Pointwise(), as_scorer(scorer, "pointwise"), batch_size=5)
    assert [r.spend["failed"] for r in out] == [float(fails)] * 3
    assert any(issubclass(w.category, rw.ScorerWarning) for w in caught) == fails
    if not fails:
        assert [r.docids for r in out] == [true_order(utility, q) for q in ("q0", "q1", "q2")]


class BadFloat:
    """An answer whose ``float()`` raises RuntimeError, as ``float(torch.tensor([1.0, 2.0]))`` does."""

    def __float__(self):
        raise RuntimeError("a Tensor with 2 elements cannot be converted to Scalar")


@pytest.mark.parametrize(
    "answer, ok",
    [
        (float("nan"), False),
        (np.float32("nan"), False),
        (float("inf"), False),
        ("nan", False),
        (Answer(float("nan")), False),
        (Answer(Answer(0.5)), False),
        ([0.5], False),
        (np.float32(0.25), True),
        (np.int8(3), True),
        (True, True),
        ("7", True),  # text that float() reads is taken as that number
        (-0.0, True),
    ],
    ids=repr,
)
def test_odd_pointwise_answers(answer, ok):
    reqs, utility = synthetic_requests(3, 4, seed=108)
    judge = Oracle(utility, kind="pointwise")

    def scorer(calls):
        return [answer if c.qid == "q1" else a for c, a in zip(calls, judge(calls))]

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        out = rw.rerank(reqs, rw.Pointwise(), as_scorer(scorer, "pointwise"))
    assert [r.spend["failed"] for r in out] == [0, float(not ok), 0]
    assert out[0].docids == true_order(utility, "q0")
    if not ok:
        assert out[1].error and out[1].docids == [d.docid for d in reqs[1].candidates]


def test_an_answer_whose_float_raises_fails_that_query_only():
    reqs, utility = synthetic_requests(3, 4, seed=108)
    judge = Oracle(utility, kind="pointwise")

    def scorer(calls):
        return [BadFloat() if c.qid == "q1" else a for c, a in zip(calls, judge(calls))]

    with pytest.warns(rw.ScorerWarning, match="q1"):
        out = rw.rerank(reqs, rw.Pointwise(), as_scorer(scorer, "pointwise"))
    assert [r.spend["failed"] for r in out] == [0, 1, 0]


def test_negative_zero_ties_with_zero():
    reqs, _ = synthetic_requests(2, 9, seed=109)
    first_stage = [[d.docid for d in r.candidates] for r in reqs]
    for pattern in ([0.0] * 9, [-0.0] * 9, [(-0.0 if i % 2 else 0.0) for i in range(9)]):

        def scorer(calls, pattern=pattern):
            return [pattern[int(c.doc.docid.split("d")[-1]) % 9] for c in calls]

        out = rw.rerank(reqs, rw.Pointwise(), as_scorer(scorer, "pointwise"))
        assert [r.docids for r in out] == first_stage  # all tied: first-stage order
        assert all(not np.signbit(s) or s != 0 for r in out for s in r.scores)


@pytest.mark.parametrize(
    "answer, ok",
    [
        ("huge", True),  # a million positions, mostly out of range: repaired, not fatal
        (np.array([2, 1, 0, 1, 99], dtype=np.uint64), True),
        ([True, False], False),
        ([[0, 1]], False),
        (None, False),
        (3, False),
        (b"[2] > [1]", False),
        ("3 1 2", True),  # text: parsed
    ],
    ids=["huge", "uint64", "bools", "nested", "None", "int", "bytes", "digits"],
)
def test_odd_listwise_answers(answer, ok):
    reqs, utility = synthetic_requests(3, 10, seed=110)
    judge = Oracle(utility, kind="listwise")
    if isinstance(answer, str) and answer == "huge":
        answer = list(range(10**6))

    def scorer(calls):
        return [answer if c.qid == "q1" else a for c, a in zip(calls, judge(calls))]

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        out = rw.rerank(reqs, rw.SlidingWindow(window=4, step=2), as_scorer(scorer, "listwise"))
    clean = rw.rerank(reqs, rw.SlidingWindow(window=4, step=2), judge)
    assert [r.spend["failed"] for r in out] == [0, float(not ok), 0]
    assert out[0].docids == clean[0].docids and out[2].docids == clean[2].docids
    assert sorted(out[1].docids) == sorted(d.docid for d in reqs[1].candidates)


# --- scorers that mutate, re-enter, are slow ------------------------------------------------------------------------


def test_a_scorer_that_rewrites_its_calls_changes_nothing():
    reqs, utility = synthetic_requests(4, 12, seed=111)
    judge = Oracle(utility, kind="listwise")

    def vandal(calls):
        answers = judge(calls)
        calls.reverse()
        calls[:] = [calls[0]] * len(calls)
        return answers

    got = rw.rerank(reqs, rw.SlidingWindow(5, 2), as_scorer(vandal, "listwise"), batch_size=7)
    assert [r.docids for r in got] == [r.docids for r in rw.rerank(reqs, rw.SlidingWindow(5, 2), judge)]


@pytest.mark.parametrize("path", ["batch", "submit"])
def test_a_recorded_scorer_that_empties_its_list(tmp_path, path, pools):
    reqs, utility = synthetic_requests(3, 8, seed=112)
    judge = Oracle(utility, kind="listwise")
    inner = Async(judge)
    pools.append(inner)

    class Greedy:
        kind = "listwise"

        def __call__(self, calls):
            answers = judge(calls)
            calls.clear()
            return answers

    class GreedySubmit(Greedy):
        def submit(self, calls):
            futures = inner.submit(list(calls))
            calls.clear()
            return futures

    scorer = Greedy() if path == "batch" else GreedySubmit()
    rec = tmp_path / "calls.jsonl"
    with warnings.catch_warnings():
        warnings.simplefilter("error", rw.ScorerWarning)
        out = rw.rerank(reqs, rw.SlidingWindow(4, 2), scorer, record=rec)
    assert [r.docids for r in out] == [r.docids for r in rw.rerank(reqs, rw.SlidingWindow(4, 2), judge)]
    assert len(read_calls(rec)) == sum(r.spend["calls"] for r in out)


def test_a_scorer_that_calls_rerank_inside_itself(pools):
    reqs, utility = synthetic_requests(3, 10, seed=113)
    judge = Oracle(utility, kind="pointwise")
    inner_async = Async(judge, seed=4)
    pools.append(inner_async)

    def nested(calls):
        # re-entrant: each batch reranks its documents with another rerank() run first (on the driver's worker)
        sub = [rw.Request(f"{c.qid}-{i}", c.query, [c.doc]) for i, c in enumerate(calls)]
        assert [len(r.docids) for r in rw.rerank(sub, rw.Pointwise(), judge)] == [1] * len(calls)
        return judge(calls)

    class NestedSubmit:
        kind = "pointwise"

        def __call__(self, calls):
            return judge(calls)

        def submit(self, calls):  # on the driver's own thread, with the outer run's calls in flight
            sub = [rw.Request(f"inner-{c.qid}-{i}", c.query, [c.doc]) for i, c in enumerate(calls)]
            rw.rerank(sub, rw.Pointwise(), inner_async)
            return inner_async.submit(calls)

    want = [true_order(utility, q) for q in ("q0", "q1", "q2")]
    assert [r.docids for r in rw.rerank(reqs, rw.Pointwise(), as_scorer(nested, "pointwise"), batch_size=4)] == want
    assert [r.docids for r in rw.rerank(reqs, rw.Pointwise(), NestedSubmit(), max_in_flight=5)] == want


def test_a_slow_submit_and_max_in_flight_one_with_many_queries(pools):
    reqs, utility = synthetic_requests(30, 6, seed=114)
    judge = Oracle(utility, kind="listwise", temperature=1.0, seed=2)
    scorer = Async(judge, seed=9)
    pools.append(scorer)
    plain_submit = scorer.submit

    def slow_submit(calls):
        time.sleep(0.001 * len(calls))
        return plain_submit(calls)

    scorer.submit = slow_submit
    stats = rw.RerankStats()
    out = rw.rerank(reqs, rw.SlidingWindow(4, 2), scorer, max_in_flight=1, stats=stats)
    assert scorer.peak == 1
    assert [r.docids for r in out] == [r.docids for r in _lockstep(reqs, rw.SlidingWindow(4, 2), judge)]
    assert stats.calls == len(scorer.seen) == stats.batches


# --- consumers that walk away, Ctrl-C ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["close", "del", "break"])
def test_abandoning_rerank_iter_cancels_and_leaves_no_thread(how):
    reqs, utility = synthetic_requests(20, 10, seed=115)
    judge = Oracle(utility, kind="pointwise")
    seen = Counter()

    def scorer(calls):
        seen["calls"] += len(calls)
        time.sleep(0.01)
        return judge(calls)

    class TwoHalves:
        kind = "pointwise"

        def __call__(self, calls):
            return scorer(calls)

        def prepare(self, calls):
            return list(calls)

        def run(self, calls):
            return scorer(calls)

    before = threading.active_count()
    for s in (as_scorer(scorer, "pointwise"), TwoHalves()):
        it = rw.rerank_iter(reqs, rw.Pointwise(), s, batch_size=10)
        next(it)
        assert _driver_threads()  # the driver's workers, until the generator is closed or collected
        if how == "break":
            for _ in it:
                break
        elif how == "close":
            it.close()
        del it
        assert _wait_for_threads(before) <= before
        assert not _driver_threads()
    assert seen["calls"] < 2 * 20 * 10  # it stopped early


def test_abandoning_rerank_iter_cancels_what_is_in_flight():
    reqs, _ = synthetic_requests(10, 10, seed=116)
    futures = []

    class Stalling:
        kind = "pointwise"

        def __call__(self, calls):
            raise AssertionError("the driver must use submit")

        def submit(self, calls):
            out = []
            for c in calls:
                f: Future = Future()
                if c.qid == "q0":
                    f.set_result(1.0)
                else:
                    futures.append(f)
                out.append(f)
            return out

    it = rw.rerank_iter(reqs, rw.Pointwise(), Stalling(), max_in_flight=30)
    assert next(it).qid == "q0"
    it.close()
    assert futures and all(f.cancelled() for f in futures)


def _interrupt_in(where, reqs, utility):
    """A rerank_iter run that presses Ctrl-C (``_thread.interrupt_main``) at ``where``."""
    judge = Oracle(utility, kind="pointwise")
    fired = threading.Event()

    def press():
        if not fired.is_set():
            fired.set()
            _thread.interrupt_main()

    def batch(calls):
        if where == "scorer" and any(c.qid == "q3" for c in calls):
            press()  # from the worker thread, while the scorer runs
            time.sleep(0.3)
        return judge(calls)

    class Submitting:
        kind = "pointwise"
        pool = ThreadPoolExecutor(2)

        def __call__(self, calls):
            return judge(calls)

        def submit(self, calls):
            if any(c.qid == "q3" for c in calls):
                press()  # on the driver's thread, inside submit()
                time.sleep(0.05)
            return [self.pool.submit(lambda c=c: judge([c])[0]) for c in calls]

    def source():
        for r in reqs:
            if where == "requests" and r.qid == "q5":
                press()
                time.sleep(0.05)
            yield r

    scorer = Submitting() if where == "submit" else as_scorer(batch, "pointwise")
    got = []
    try:
        for r in rw.rerank_iter(source(), rw.Pointwise(), scorer, batch_size=4, max_in_flight=4):
            got.append(r.qid)
            if where == "consumer" and len(got) == 2:
                press()
                time.sleep(0.05)
    finally:
        if where == "submit":
            Submitting.pool.shutdown(wait=True)
    return got


@pytest.mark.parametrize("where", ["scorer", "submit", "requests", "consumer"])
def test_ctrl_c_anywhere_stops_the_run_and_leaves_no_thread(where):
    reqs, utility = synthetic_requests(8, 4, seed=117)
    before = threading.active_count()
    got = None
    with pytest.raises(KeyboardInterrupt):
        got = _interrupt_in(where, reqs, utility)
    assert got is None
    assert _wait_for_threads(before) <= before
    assert not _driver_threads()


@pytest.mark.parametrize("how", ["abandon", "ctrl-c in stage 2"])
def test_a_cascade_walked_away_from_leaves_no_thread(how):
    reqs, utility = synthetic_requests(12, 10, seed=126)
    point, lists = Oracle(utility, kind="pointwise"), Oracle(utility, kind="listwise")
    fired = threading.Event()

    def second(calls):
        if how != "abandon" and not fired.is_set():
            fired.set()
            _thread.interrupt_main()  # Ctrl-C while the second stage's scorer runs
            time.sleep(0.2)
        return lists(calls)

    cascade = rw.Cascade(
        [
            rw.Stage(rw.Pointwise(), as_scorer(point, "pointwise")),
            rw.Stage(rw.SlidingWindow(4, 2), as_scorer(second, "listwise"), depth=6),
        ]
    )
    before = threading.active_count()
    if how == "abandon":
        it = rw.rerank_iter(reqs, cascade, None, batch_size=4)
        first = next(it)
        assert len(_driver_threads()) >= 2  # one worker per stage's scorer
        it.close()
        assert first.spend["failed"] == 0
    else:
        with pytest.raises(KeyboardInterrupt):
            rw.rerank(reqs, cascade, None, batch_size=4)
    assert _wait_for_threads(before) <= before
    assert not _driver_threads()


# --- request streams that break midway --------------------------------------------------------------------------------


def _stream_that_breaks_once_a_query_finished(reqs, stats, fault):
    """Requests, until the driver has finished a query (stats.queries > 0);
    then ``fault()`` (a raise, a duplicate request)."""
    for r in reqs:
        if stats.queries:
            yield from fault()
            return
        yield r


@pytest.mark.parametrize("path", ["batch", "submit"])
@pytest.mark.parametrize("fault", ["raise", "duplicate"])
def test_a_request_stream_that_breaks_loses_nothing_finished(path, fault, pools):
    reqs, utility = synthetic_requests(40, 2, seed=118)
    # q0 has one candidate, so it is finished as soon as it is started (no call to make): the loss is
    # deterministic; it also hits queries finished by a poll, when the driver refills before it yields
    reqs[0] = rw.Request("q0", reqs[0].query, reqs[0].candidates[:1])
    judge = Oracle(utility, kind="pointwise")
    scorer = as_scorer(judge, "pointwise") if path == "batch" else Async(judge, max_delay=0.0)
    if path == "submit":
        pools.append(scorer)
    stats, got = rw.RerankStats(), []

    def boom():
        raise RuntimeError("the request file is truncated")
        yield  # pragma: no cover

    def dup():
        yield reqs[0]

    stream = _stream_that_breaks_once_a_query_finished(reqs, stats, boom if fault == "raise" else dup)
    with pytest.raises(RuntimeError if fault == "raise" else rw.InvalidInputError, match="truncated|q0"):
        for r in rw.rerank_iter(stream, rw.Pointwise(), scorer, batch_size=1, max_in_flight=1, stats=stats):
            got.append(r.qid)
    assert stats.queries and len(got) == stats.queries  # every query the driver finished was handed over


def test_a_duplicate_query_id_late_in_a_stream_names_it():
    reqs, utility = synthetic_requests(6, 3, seed=119)
    stream = reqs + [rw.Request("q2", "again", [rw.Candidate("x", "x")])]
    with pytest.raises(rw.InvalidInputError, match="'q2' appears twice"):
        list(rw.rerank_iter(iter(stream), rw.Pointwise(), Oracle(utility, kind="pointwise")))


def test_rerank_refuses_a_duplicate_query_id_before_any_scorer_call():
    reqs, utility = synthetic_requests(6, 3, seed=119)
    judge = Oracle(utility, kind="pointwise")
    asked = []

    def scorer(calls):
        asked.extend(calls)
        return judge(calls)

    stream = reqs + [rw.Request("q2", "again", [rw.Candidate("x", "x")])]
    with pytest.raises(rw.InvalidInputError, match="'q2' appears twice"):
        rw.rerank(stream, rw.Pointwise(), as_scorer(scorer, "pointwise"), batch_size=2)
    assert asked == []


# --- results under random arrival, determinism, spend ---------------------------------------------------------------

MORE_STRATEGIES = [
    rw.TourRank(),
    rw.TourRank(tournaments=2),
    rw.TournamentSort(),
    rw.TournamentSort(group_size=4, advance=2, top_k=5),
]


@pytest.mark.parametrize("strategy", MORE_STRATEGIES, ids=repr)
def test_tourrank_and_tournament_sort_under_random_arrival(strategy, pools):
    reqs, utility = synthetic_requests(4, 45, seed=120)
    judge = Oracle(utility, kind="listwise", temperature=2.0, seed=5)
    lockstep = _lockstep(reqs, strategy, judge)
    for seed in (1, 2):
        s = Async(Oracle(utility, kind="listwise", temperature=2.0, seed=5), seed=seed)
        pools.append(s)
        out = rw.rerank(reqs, strategy, s, max_in_flight=1 + 17 * seed)
        assert [r.docids for r in out] == [r.docids for r in lockstep]
        assert [r.spend for r in out] == [r.spend for r in lockstep]


@pytest.mark.parametrize(
    "strategy",
    [rw.SlidingWindow(6, 3), rw.JointRank(block_size=8, replicas=2), rw.TourRank(tournaments=2), rw.AllPairs()],
    ids=repr,
)
def test_a_pointwise_scorer_serving_other_kinds_under_random_arrival(strategy, pools):
    reqs, utility = synthetic_requests(3, 16, seed=121)
    judge = Oracle(utility, kind="pointwise", temperature=1.0, seed=3)
    lockstep = _lockstep(reqs, strategy, judge)
    s = Async(Oracle(utility, kind="pointwise", temperature=1.0, seed=3), seed=7)
    pools.append(s)
    out = rw.rerank(reqs, strategy, s, max_in_flight=23)
    assert [r.docids for r in out] == [r.docids for r in lockstep]
    assert [r.spend for r in out] == [r.spend for r in lockstep]


@pytest.mark.parametrize("path", ["batch", "submit"])
@pytest.mark.parametrize(
    "strategy, kind",
    [
        (rw.JointRank(block_size=7, replicas=2), "listwise"),
        (rw.Setwise(), "listwise"),
        (rw.SparsePairwise(), "pointwise"),
    ],
    ids=["jointrank", "setwise", "sparse-pairwise-by-points"],
)
def test_spend_equals_what_the_scorer_saw_and_runs_repeat(path, strategy, kind, pools):
    reqs, utility = synthetic_requests(5, 21, seed=122)
    runs = []
    for seed in (3, 4):
        judge = Oracle(utility, kind=kind, temperature=1.5, seed=8)
        seen = []
        lock = threading.Lock()

        def counting(calls, judge=judge, seen=seen, lock=lock):
            with lock:
                seen.extend(calls)
            return judge(calls)

        if path == "batch":
            scorer = as_scorer(counting, kind)
        else:
            scorer = Async(as_scorer(counting, kind), seed=seed)
            pools.append(scorer)
        stats = rw.RerankStats()
        out = rw.rerank(reqs, strategy, scorer, batch_size=5 + seed, stats=stats)
        runs.append([(r.docids, r.spend) for r in out])
        per_q = Counter(c.qid for c in seen)
        docs_q = Counter()
        for c in seen:
            docs_q[c.qid] += _shown(c)
        for r in out:
            assert r.spend["calls"] == per_q[r.qid] and r.spend["docs_shown"] == docs_q[r.qid]
        assert stats.calls == len(seen) and stats.docs_shown == sum(docs_q.values())
    assert runs[0] == runs[1]  # the same run twice, under other arrival orders and batch sizes


def test_spend_counts_the_calls_a_failed_query_was_answered():
    reqs, utility = synthetic_requests(3, 5, seed=123)
    judge = Oracle(utility, kind="pointwise")
    seen = []

    def scorer(calls):
        seen.extend(calls)
        return [float("nan") if (c.qid, c.doc.docid) == ("q1", "q1d0") else a for c, a in zip(calls, judge(calls))]

    stats = rw.RerankStats()
    with pytest.warns(rw.ScorerWarning, match="q1"):
        out = rw.rerank(reqs, rw.Pointwise(), as_scorer(scorer, "pointwise"), batch_size=15, stats=stats)
    assert out[1].spend["failed"] == 1
    assert stats.calls == len(seen) == 15 and stats.docs_shown == 15


# --- wrappers keep the scorer's pace ------------------------------------------------------------------------------------


def test_recording_keeps_submit_in_flight_and_batch_sizes(tmp_path, pools):
    reqs, utility = synthetic_requests(6, 12, seed=124)
    judge = Oracle(utility, kind="pointwise")
    s = Async(judge, max_in_flight=3, max_delay=0.002)
    pools.append(s)
    out = rw.rerank(reqs, rw.Pointwise(), s, record=tmp_path / "a.jsonl")
    assert s.peak == 3 and len(read_calls(tmp_path / "a.jsonl")) == len(s.seen) == 72
    sizes = []

    class Batchy:
        kind = "pointwise"
        preferred_batch_size = 5

        def __call__(self, calls):
            sizes.append(len(calls))
            return judge(calls)

    rw.rerank(reqs, rw.Pointwise(), Batchy(), record=tmp_path / "b.jsonl")
    assert max(sizes) == 5
    assert [r.docids for r in out] == [true_order(utility, f"q{i}") for i in range(6)]


def test_cached_submit_scorer_serving_jointrank_by_points(tmp_path, pools):
    reqs, utility = synthetic_requests(3, 10, seed=125)
    s = Async(Oracle(utility, kind="pointwise"))
    pools.append(s)
    strategy = rw.JointRank(block_size=4, replicas=3)  # each document in 3 blocks: 3 identical PointwiseCalls
    want = rw.rerank(reqs, strategy, Oracle(utility, kind="pointwise"))
    out = rw.rerank(reqs, strategy, Cached(s, tmp_path / "c.jsonl"))
    assert [r.docids for r in out] == [r.docids for r in want]


@pytest.mark.slow
def test_a_submit_that_blocks_is_bounded_by_call_timeout():
    """A submit() that blocks (a connection pool that never frees a slot) used to hang the run for ever,
    call_timeout=0.3 notwithstanding; now it is a failed submission: retried, then split, so only the query
    whose calls block fails."""
    code = textwrap.dedent(
        """
        import sys, threading, warnings
        sys.path.insert(0, "tests")
        from concurrent.futures import Future
        import rankwise as rw
        from rankwise.scorers import Oracle
        from synthetic import synthetic_requests
        reqs, utility = synthetic_requests(3, 4, seed=1)
        judge = Oracle(utility, kind="pointwise")
        class Blocking:
            kind = "pointwise"
            def __call__(self, calls):
                return judge(calls)
            def submit(self, calls):
                if any(c.qid == "q1" for c in calls):
                    threading.Event().wait()
                out = []
                for a in judge(calls):
                    f = Future()
                    f.set_result(a)
                    out.append(f)
                return out
        warnings.simplefilter("ignore")
        out = rw.rerank(reqs, rw.Pointwise(), Blocking(), call_timeout=0.3, max_in_flight=4)
        print([r.spend["failed"] for r in out])
        """
    )
    try:
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("a blocking submit() hung the run past call_timeout")
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "[0.0, 1.0, 0.0]"


# --- memory -----------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_million_candidate_query_under_a_memory_cap():
    code = textwrap.dedent(
        """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        import rankwise as rw
        from rankwise.scorers import Oracle
        n = 10**6
        docs = [rw.Candidate(f"d{i}", "t") for i in range(n)]
        utility = {"q": {f"d{i}": float((i * 7919) % 1000) for i in range(200)}}
        req = rw.Request("q", "query", docs)
        (r,) = rw.rerank([req], rw.SlidingWindow(depth=100), Oracle(utility, kind="listwise"))
        assert len(r.docids) == n and len(set(r.docids)) == n
        assert r.docids[100:] == [f"d{i}" for i in range(100, n)]
        assert r.spend["failed"] == 0
        print("ok", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "MB")
        """
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.startswith("ok")
