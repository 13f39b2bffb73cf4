"""Call recordings (rankwise.recording), Replay of them, and the Cached
scorer: wrappers that change nothing the driver sees, torn lines after a real
SIGKILL, and a resumed run that pays no call twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import rankwise as rw
from rankwise.recording import CallRecorder, Recording, read_calls, scorer_identity
from rankwise.scorers import Answer, Cached, ListwiseCall, Oracle, PairwiseCall, PointwiseCall, Replay

STRATEGIES = [
    rw.SlidingWindow(window=6, step=3),
    rw.Pointwise(),
    rw.SparsePairwise(),
    rw.TournamentSort(group_size=5, advance=2, top_k=5),
]


def requests(n_queries: int = 4, n_docs: int = 12):
    reqs, utility = [], {}
    for q in range(n_queries):
        docs = [f"q{q}d{i}" for i in range(n_docs)]
        utility[f"q{q}"] = {d: float((7 * i + 3 * q) % n_docs) for i, d in enumerate(docs)}
        reqs.append(rw.Request(f"q{q}", f"query {q}", [rw.Candidate(d, f"text {d}") for d in docs]))
    return reqs, utility


def docs(*ids):
    return tuple(rw.Candidate(d, f"text {d}") for d in ids)


# --- Recording + Replay: identical rankings ------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES, ids=repr)
def test_replaying_a_recorded_oracle_run_gives_identical_rankings(tmp_path, strategy):
    reqs, utility = requests()
    oracle = Oracle(utility, kind=strategy.call_kind, temperature=1.0, position_bias=0.5, seed=3)
    path = tmp_path / "calls.jsonl"
    rec = Recording(oracle, path)
    first = rw.rerank(reqs, strategy, rec, batch_size=5)
    rec.close()
    records = read_calls(path)
    total = sum(r.spend["calls"] for r in first)
    assert len(records) == total == rec.recorder.written > 0
    assert {r.kind for r in records} == {strategy.call_kind}
    assert all(r.query == f"query {r.qid[1:]}" and r.scorer == repr(oracle) and r.error is None for r in records)
    replay = Replay.from_jsonl(path)
    assert replay.kind == strategy.call_kind
    again = rw.rerank(reqs, strategy, replay, batch_size=3)
    assert [r.docids for r in again] == [r.docids for r in first]
    assert replay.hits == total
    # noise matters: a different judge ranks differently, so the match above is not luck
    other = rw.rerank(reqs, strategy, Oracle(utility, kind=strategy.call_kind, temperature=1.0, seed=4))
    assert [r.docids for r in other] != [r.docids for r in first]


def test_a_record_holds_the_answer_fields_and_the_prompt_order(tmp_path):
    def scorer(calls):
        return [
            Answer(
                [2, 0, 1],
                raw="[3] > [1] > [2]",
                prompt=[{"role": "user", "content": "rank"}],
                tokens_in=11,
                tokens_out=5,
                latency=0.25,
            )
            for _ in calls
        ]

    path = tmp_path / "c.jsonl"
    rec = Recording(rw.scorers.as_scorer(scorer, "listwise"), path)
    out = rec([ListwiseCall("q1", "what", docs("c", "a", "b"))])
    assert isinstance(out[0], Answer)  # passed through unchanged
    line = json.loads(path.read_text())
    assert line["docids_in_prompt_order"] == ["c", "a", "b"]
    assert (line["kind"], line["qid"], line["query"], line["value"], line["raw"]) == (
        "listwise",
        "q1",
        "what",
        [2, 0, 1],
        "[3] > [1] > [2]",
    )
    assert line["prompt"] == [{"role": "user", "content": "rank"}]
    assert (line["tokens_in"], line["tokens_out"], line["latency"], line["error"]) == (11, 5, 0.25, None)
    assert " at 0x" not in line["scorer"]


def test_numpy_and_failed_answers_are_recorded_as_json(tmp_path):
    path = tmp_path / "c.jsonl"
    with CallRecorder(path) as rec:
        rec.record(PointwiseCall("q", "x", docs("a")[0]), np.float32(0.5))
        rec.record(ListwiseCall("q", "x", docs("a", "b")), np.array([1, 0]))
        rec.record(PointwiseCall("q", "x", docs("b")[0]), float("nan"))
        rec.record(PairwiseCall("q", "x", *docs("a", "b")), rw.ScorerError("HTTP 500"))
        rec.record(PairwiseCall("q", "x", *docs("b", "a")), error=TimeoutError("slow"))
    text = path.read_text()
    assert "NaN" not in text  # strict JSON
    got = read_calls(path)
    assert [(r.kind, r.docids, r.value, r.error) for r in got] == [
        ("pointwise", ("a",), 0.5, None),
        ("listwise", ("a", "b"), [1, 0], None),
        ("pointwise", ("b",), "nan", None),
        ("pairwise", ("a", "b"), None, "ScorerError: HTTP 500"),
        ("pairwise", ("b", "a"), None, "TimeoutError: slow"),
    ]
    # a replayed NaN is the same non-answer: that query falls back, as it did
    replay = Replay.from_jsonl(path, kind="pointwise")
    with pytest.warns(rw.ScorerWarning):
        (r,) = rw.rerank([rw.Request("q", "x", list(docs("a", "b")))], rw.Pointwise(), replay)
    assert r.spend["failed"] == 1


def test_replay_of_a_failed_call_fails_it_and_mixed_kinds_need_a_choice(tmp_path):
    path = tmp_path / "c.jsonl"
    with CallRecorder(path) as rec:
        rec.record(PairwiseCall("q", "x", *docs("a", "b")), rw.ScorerError("HTTP 500"))
        rec.record(PointwiseCall("q", "x", docs("a")[0]), 1.0)
    with pytest.raises(rw.InvalidInputError, match="pairwise and pointwise calls; pass kind="):
        Replay.from_jsonl(path)
    (ans,) = Replay.from_jsonl(path, kind="pairwise")([PairwiseCall("q", "x", *docs("a", "b"))])
    assert isinstance(ans, rw.ScorerError) and "HTTP 500" in str(ans)


# --- the wrapper changes nothing the driver sees ---------------------------------------------------------------


class BatchScorer:
    kind = "pointwise"
    batch_size = 7
    tokens_in = 3
    tokens_out = 4

    def __call__(self, calls):
        return [float(len(c.doc.docid)) for c in calls]


class SubmitScorer:
    kind = "pointwise"
    max_in_flight = 9

    def __init__(self):
        self.pool = ThreadPoolExecutor(2)
        self.gate = threading.Event()

    def _one(self, c):
        self.gate.wait(10)
        if c.doc.docid == "bad":
            raise rw.ScorerError("this call failed")
        return 1.0

    def submit(self, calls):
        return [self.pool.submit(self._one, c) for c in calls]

    def __call__(self, calls):
        return [f.result() for f in self.submit(calls)]


@pytest.mark.parametrize("wrap", [Recording, Cached], ids=["Recording", "Cached"])
def test_wrappers_forward_exactly_the_attributes_the_scorer_has(tmp_path, wrap):
    w = wrap(BatchScorer(), tmp_path / "c.jsonl")
    assert (w.kind, w.batch_size, w.tokens_in, w.tokens_out) == ("pointwise", 7, 3, 4)
    assert not hasattr(w, "submit") and not hasattr(w, "max_in_flight")
    s = wrap(SubmitScorer(), tmp_path / "d.jsonl")
    assert callable(s.submit) and s.max_in_flight == 9
    assert not hasattr(s, "batch_size") and not hasattr(s, "tokens_in")
    plain = wrap(lambda calls: [1.0] * len(calls), tmp_path / "e.jsonl")
    assert not hasattr(plain, "kind")


class TwoHalves:
    """A batch scorer in two halves, as in-process models are: prepare (prompts) and run (the model)."""

    kind = "pointwise"

    def __init__(self):
        self.prepared, self.ran = [], 0

    def prepare(self, calls):
        self.prepared.extend(c.doc.docid for c in calls)
        return [c.doc.docid for c in calls]

    def run(self, ids):
        self.ran += len(ids)
        return [float(len(i)) for i in ids]

    def __call__(self, calls):
        return self.run(self.prepare(calls))


@pytest.mark.parametrize("wrap", [Recording, Cached], ids=["Recording", "Cached"])
def test_wrappers_keep_a_scorers_two_halves(tmp_path, wrap):
    assert not hasattr(wrap(BatchScorer(), tmp_path / "b.jsonl"), "prepare")
    inner = TwoHalves()
    path = tmp_path / "c.jsonl"
    w = wrap(inner, path)
    assert callable(w.prepare) and callable(w.run)
    calls = [PointwiseCall("q", "x", d) for d in docs("a", "bb", "a")]
    assert w.run(w.prepare(calls)) == [1.0, 2.0, 1.0]
    assert [r.docids for r in read_calls(path)] == (
        [("a",), ("bb",), ("a",)] if wrap is Recording else [("a",), ("bb",)]
    )
    if wrap is Cached:  # hits never reach the scorer's halves
        again = Cached(inner, path)
        assert again.run(again.prepare(calls)) == [1.0, 2.0, 1.0] and inner.prepared == ["a", "bb"]
    reqs, _ = requests(2)
    out = rw.rerank(reqs, rw.Pointwise(), wrap(TwoHalves(), tmp_path / "run.jsonl"), batch_size=5)
    plain = rw.rerank(reqs, rw.Pointwise(), TwoHalves(), batch_size=5)
    assert [r.docids for r in out] == [r.docids for r in plain]
    assert len(read_calls(tmp_path / "run.jsonl")) == sum(len(r.candidates) for r in reqs)


@pytest.mark.parametrize("wrap", [Recording, Cached], ids=["Recording", "Cached"])
def test_a_submitted_call_is_on_disk_before_its_future_resolves(tmp_path, wrap):
    inner = SubmitScorer()
    path = tmp_path / "c.jsonl"
    w = wrap(inner, path)
    futures = w.submit([PointwiseCall("q", "x", d) for d in docs("a", "bad")])
    assert all(isinstance(f, Future) for f in futures)
    assert not futures[0].done() and read_calls(path) == []
    inner.gate.set()
    assert futures[0].result(10) == 1.0
    assert ("a",) in [r.docids for r in read_calls(path)]  # written before the answer was handed over
    with pytest.raises(rw.ScorerError, match="this call failed"):
        futures[1].result(10)
    got = {r.docids: r for r in read_calls(path)}
    assert got[("a",)].value == 1.0 and got[("bad",)].error == "ScorerError: this call failed"


@pytest.mark.parametrize("wrap", [Recording, Cached], ids=["Recording", "Cached"])
def test_cancelling_a_wrapped_future_cancels_the_scorers(tmp_path, wrap):
    class Pending:
        kind = "pointwise"

        def __init__(self):
            self.futures = []

        def submit(self, calls):
            self.futures = [Future() for _ in calls]
            return self.futures

        def __call__(self, calls):
            raise AssertionError("the driver prefers submit")

    inner = Pending()
    (f,) = wrap(inner, tmp_path / "c.jsonl").submit([PointwiseCall("q", "x", docs("a")[0])])
    assert f.cancel() and inner.futures[0].cancelled()


def test_a_batch_that_raises_is_recorded_per_call_then_raised(tmp_path):
    def broken(calls):
        raise ConnectionError("server down")

    rec = Recording(rw.scorers.as_scorer(broken, "pointwise"), tmp_path / "c.jsonl")
    with pytest.raises(ConnectionError):
        rec([PointwiseCall("q", "x", d) for d in docs("a", "b")])
    assert [r.error for r in read_calls(rec.path)] == ["ConnectionError: server down"] * 2


def test_threads_never_interleave_lines(tmp_path):
    path = tmp_path / "c.jsonl"
    rec = CallRecorder(path)
    big = "x" * 20000

    def work(t):
        for i in range(50):
            rec.record(PointwiseCall(f"q{t}", big, rw.Candidate(f"d{i}", "")), float(i))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = read_calls(path)
    assert len(got) == 400 == rec.written
    assert sorted((r.qid, r.docids[0]) for r in got) == sorted((f"q{t}", f"d{i}") for t in range(8) for i in range(50))


# --- the reader -------------------------------------------------------------------------------------------------


def test_reader_drops_a_torn_last_line_and_names_file_and_line_otherwise(tmp_path):
    path = tmp_path / "c.jsonl"
    with CallRecorder(path) as rec:
        for i in range(3):
            rec.record(PointwiseCall("q", "x", rw.Candidate(f"d{i}", "")), float(i))
    whole = path.read_bytes()
    path.write_bytes(whole[:-15])  # a kill in the middle of the third line
    assert [r.docids for r in read_calls(path)] == [("d0",), ("d1",)]
    # a new recorder cuts the torn line off before appending
    with CallRecorder(path) as rec:
        rec.record(PointwiseCall("q", "x", rw.Candidate("d9", "")), 9.0)
    assert [r.docids for r in read_calls(path)] == [("d0",), ("d1",), ("d9",)]
    # a complete last line without its newline is kept, and completed on append
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(lines[:2]))
    assert len(read_calls(path)) == 2
    with CallRecorder(path) as rec:
        rec.record(PointwiseCall("q", "x", rw.Candidate("d8", "")), 8.0)
    assert [r.docids for r in read_calls(path)] == [("d0",), ("d1",), ("d8",)]
    # a broken line before the last one is an error naming file and line
    path.write_bytes(lines[0] + b"\n{torn\n" + lines[1] + b"\n")
    with pytest.raises(rw.InvalidInputError, match=rf"{path.name}, line 2: invalid JSON"):
        read_calls(path)
    path.write_bytes(lines[0] + b'\n{"v": 1, "kind": "sideways", "qid": "q", "docids_in_prompt_order": []}\n')
    with pytest.raises(rw.InvalidInputError, match="line 2: not a call record"):
        read_calls(path)
    path.write_bytes(b'{"v": 1, "kind": "pointwise", "qid": "q", "docids_in_prompt_order": ["a", "b"], "value": 1}\n')
    with pytest.raises(rw.InvalidInputError, match="line 1: .*pointwise call shows 1"):
        read_calls(path)
    path.write_bytes(b"[1, 2]\n")
    with pytest.raises(rw.InvalidInputError, match="line 1: expected a JSON object"):
        read_calls(path)
    with pytest.raises(rw.InvalidInputError, match="file not found"):
        read_calls(tmp_path / "missing.jsonl")


def test_a_torn_multibyte_character_is_a_torn_line_and_bad_bytes_elsewhere_are_named(tmp_path):
    path = tmp_path / "c.jsonl"
    with CallRecorder(path) as rec:
        rec.record(PointwiseCall("q", "\u00e9t\u00e9", rw.Candidate("a", "")), 1.0)
        rec.record(PointwiseCall("q", "\u00e9t\u00e9", rw.Candidate("b", "")), 2.0)
    data = path.read_bytes()
    cut = data.rindex("\u00e9".encode()) + 1  # inside the last line's last two-byte character
    path.write_bytes(b"\xef\xbb\xbf" + data[:cut])
    (only,) = read_calls(path)
    assert only.docids == ("a",) and only.query == "\u00e9t\u00e9"
    path.write_bytes(b"\xff\n" + data)
    with pytest.raises(rw.InvalidInputError, match="line 1: not valid UTF-8"):
        read_calls(path)


def test_reader_after_a_real_sigkill_mid_write(tmp_path):
    """A child appends big records until it is SIGKILLed: every line the reader
    keeps is whole, and a recorder reopened on the file appends cleanly."""
    path = tmp_path / "c.jsonl"
    code = textwrap.dedent(
        f"""
        import sys
        import rankwise as rw
        from rankwise.recording import CallRecorder
        from rankwise.scorers import PointwiseCall
        rec = CallRecorder({str(path)!r})
        big = "y" * 4_000_000
        i = 0
        while True:
            rec.record(PointwiseCall("q", big, rw.Candidate(f"d{{i}}", "")), float(i))
            i += 1
            if i == 3:
                print("ready", flush=True)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    assert child.returncode == -signal.SIGKILL
    got = read_calls(path)
    assert len(got) >= 3
    assert [r.docids for r in got] == [(f"d{i}",) for i in range(len(got))]
    assert all(r.value == float(i) and len(r.query or "") == 4_000_000 for i, r in enumerate(got))
    with CallRecorder(path) as rec:
        rec.record(PointwiseCall("q", "x", rw.Candidate("last", "")), -1.0)
    again = read_calls(path)
    assert [r.docids for r in again] == [r.docids for r in got] + [("last",)]


# --- Cached --------------------------------------------------------------------------------------------------


class Counting:
    """A listwise scorer that counts the calls it answers."""

    kind = "listwise"

    def __init__(self, oracle):
        self.oracle, self.paid = oracle, []

    def __call__(self, calls):
        self.paid.extend((c.qid, tuple(d.docid for d in c.docs)) for c in calls)
        return self.oracle(calls)

    def __repr__(self):
        return "Counting(oracle)"


def test_cached_answers_a_rerun_from_the_file(tmp_path):
    reqs, utility = requests()
    strategy = rw.SlidingWindow(window=5, step=2)
    oracle = Oracle(utility, temperature=1.0, seed=2)
    path = tmp_path / "cache.jsonl"
    first_scorer = Counting(oracle)
    first = rw.rerank(reqs, strategy, Cached(first_scorer, path), batch_size=4)
    assert len(first_scorer.paid) == len(set(first_scorer.paid)) == sum(r.spend["calls"] for r in first)
    second_scorer = Counting(oracle)
    cached = Cached(second_scorer, path)
    again = rw.rerank(reqs, strategy, cached, batch_size=7)
    assert second_scorer.paid == [] and cached.hits == len(first_scorer.paid)
    assert [r.docids for r in again] == [r.docids for r in first]
    # another identity (another model) does not reuse those answers
    other = Counting(oracle)
    rw.rerank(reqs, strategy, Cached(other, path, identity="another model"))
    assert len(other.paid) == len(first_scorer.paid)
    # a changed query text is asked again
    changed = [rw.Request(r.qid, r.query + "?", r.candidates) for r in reqs[:1]]
    third = Counting(oracle)
    rw.rerank(changed, strategy, Cached(third, path))
    assert len(third.paid) > 0


def test_cached_sends_a_repeated_call_once_and_does_not_keep_failures(tmp_path):
    asked = []

    def scorer(calls):
        asked.extend(c.doc.docid for c in calls)
        return [rw.ScorerError("no") if c.doc.docid == "bad" else 0.5 for c in calls]

    c = Cached(rw.scorers.as_scorer(scorer, "pointwise"), tmp_path / "c.jsonl")
    calls = [PointwiseCall("q", "x", d) for d in docs("a", "a", "bad")]
    out = c(calls)
    assert out[:2] == [0.5, 0.5] and isinstance(out[2], rw.ScorerError)
    assert asked == ["a", "bad"]
    out = c(calls)
    assert asked == ["a", "bad", "bad"] and out[:2] == [0.5, 0.5]


def test_cached_submit_path_dedups_in_flight_calls(tmp_path):
    inner = SubmitScorer()
    paid = []
    orig = inner._one

    def one(call):
        paid.append(call.doc.docid)
        return orig(call)

    inner._one = one
    c = Cached(inner, tmp_path / "c.jsonl")
    f1 = c.submit([PointwiseCall("q", "x", d) for d in docs("a", "b", "a")])
    f2 = c.submit([PointwiseCall("q", "x", d) for d in docs("b")])
    inner.gate.set()
    assert [f.result(10) for f in f1 + f2] == [1.0] * 4
    assert sorted(paid) == ["a", "b"]
    f3 = c.submit([PointwiseCall("q", "x", d) for d in docs("a", "b")])
    assert [f.result(10) for f in f3] == [1.0, 1.0] and sorted(paid) == ["a", "b"]


CHILD = textwrap.dedent(
    """
    import json, os, signal, sys
    import rankwise as rw
    from rankwise.scorers import Oracle
    from rankwise.scorers.cache import Cached

    paid_log, cache, kill_after, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    reqs, utility = [], {}
    for q in range(6):
        ids = [f"q{q}d{i}" for i in range(15)]
        utility[f"q{q}"] = {d: float((5 * i + q) % 15) for i, d in enumerate(ids)}
        reqs.append(rw.Request(f"q{q}", f"query {q}", [rw.Candidate(d, "t") for d in ids]))
    oracle = Oracle(utility, temperature=1.0, seed=7)
    fd = os.open(paid_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    paid = [0]

    class Counting:
        kind = "listwise"
        def __call__(self, calls):
            if 0 <= kill_after <= paid[0]:
                os.kill(os.getpid(), signal.SIGKILL)  # for real, in the middle of the run
            answers = oracle(calls)
            lines = "".join(json.dumps([c.qid, [d.docid for d in c.docs]]) + "\\n" for c in calls)
            os.write(fd, lines.encode())
            paid[0] += len(calls)
            return answers
        def __repr__(self):
            return "Counting(oracle seed 7)"

    ranked = rw.rerank(reqs, rw.SlidingWindow(window=5, step=2), Cached(Counting(), cache), batch_size=3)
    with open(out, "w") as f:
        json.dump({r.qid: r.docids for r in ranked}, f)
    """
)


def run_child(tmp_path, name, kill_after):
    paid, cache, out = tmp_path / f"{name}.paid", tmp_path / f"{name}.cache", tmp_path / f"{name}.json"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(paid), str(cache), str(kill_after), str(out)],
        capture_output=True,
        timeout=120,
    )
    return proc, paid, cache, out


def paid_calls(path):
    return [tuple(json.loads(line)[:1]) + (tuple(json.loads(line)[1]),) for line in path.read_text().splitlines()]


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_pays_no_call_twice(tmp_path):
    proc, ref_paid, _, ref_out = run_child(tmp_path, "reference", -1)
    assert proc.returncode == 0, proc.stderr.decode()
    reference = json.loads(ref_out.read_text())
    n_calls = len(paid_calls(ref_paid))
    assert n_calls > 20
    proc, paid, cache, out = run_child(tmp_path, "run", n_calls // 2)
    assert proc.returncode == -signal.SIGKILL and not out.exists()
    before = paid_calls(paid)
    assert 0 < len(before) < n_calls
    proc, paid, cache, out = run_child(tmp_path, "run", -1)  # the same cache, resumed
    assert proc.returncode == 0, proc.stderr.decode()
    every = paid_calls(paid)
    assert len(every) == len(set(every)) == n_calls  # each call paid exactly once over both runs
    assert sorted(every) == sorted(paid_calls(ref_paid))
    assert json.loads(out.read_text()) == reference
    # a torn last cache line (a kill inside its write) costs that one call again, and no other
    data = cache.read_bytes()
    cache.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 1] + data[data.rstrip(b"\n").rfind(b"\n") + 1 :][:30])
    proc, paid, cache, out = run_child(tmp_path, "run", -1)
    assert proc.returncode == 0, proc.stderr.decode()
    assert len(paid_calls(paid)) == n_calls + 1
    assert json.loads(out.read_text()) == reference


def test_scorer_identity_drops_memory_addresses_pace_and_wrappers(tmp_path):
    def f(calls):
        return calls

    assert " at 0x" in repr(f) and " at 0x" not in scorer_identity(f)
    assert scorer_identity(rw.scorers.as_scorer(f, "pointwise")).startswith("as_scorer(<function ")
    server = rw.scorers.OpenAIScorer("http://127.0.0.1:9/v1", model="m", max_in_flight=7, probe=False)
    assert "max_in_flight" in repr(server) and scorer_identity(server) == scorer_identity(
        rw.scorers.OpenAIScorer("http://127.0.0.1:9/v1", model="m", max_in_flight=64, probe=False)
    )
    assert "max_in_flight" not in scorer_identity(server) and "'m'" in scorer_identity(server)
    inner = BatchScorer()
    assert scorer_identity(Cached(Recording(inner, tmp_path / "r.jsonl"), tmp_path / "c.jsonl")) == scorer_identity(
        inner
    )


def test_bad_arguments_raise_clear_errors(tmp_path):
    with pytest.raises(rw.InvalidInputError, match="scorer: must be callable"):
        Recording(3, tmp_path / "c.jsonl")
    with pytest.raises(rw.InvalidInputError, match="scorer: must be callable"):
        Cached(None, tmp_path / "c.jsonl")
    with pytest.raises(rw.InvalidInputError, match="identity: must be a string"):
        Cached(BatchScorer(), tmp_path / "c.jsonl", identity=3)
    with pytest.raises(rw.InvalidInputError, match="path: cannot open"):
        Recording(BatchScorer(), tmp_path)
    with pytest.raises(rw.InvalidInputError, match="calls: expected ListwiseCall"):
        Recording(BatchScorer(), tmp_path / "d.jsonl")(["not a call"])
    for wrap in (Recording, Cached):
        with pytest.raises(rw.InvalidInputError, match="path: expected a file path"):
            wrap(BatchScorer(), None)
        with pytest.raises(rw.InvalidInputError, match="path: a file path cannot hold a NUL"):
            wrap(BatchScorer(), str(tmp_path / "a\x00b"))
    huge = tmp_path / "huge.jsonl"
    huge.write_text(
        '{"v": 1, "kind": "pointwise", "qid": "q", "docids_in_prompt_order": ["a"], "value": 1, "tokens_in": 1e400}\n'
    )
    with pytest.raises(rw.InvalidInputError, match="huge.jsonl, line 1: not a call record"):
        read_calls(huge)
    os.makedirs(tmp_path / "dir.jsonl")
    with pytest.raises(rw.InvalidInputError):
        Cached(BatchScorer(), tmp_path / "dir.jsonl")


def test_a_recording_works_as_a_cache(tmp_path):
    reqs, utility = requests(2)
    oracle = Oracle(utility, temperature=0.5, seed=1)
    path = tmp_path / "calls.jsonl"
    first = rw.rerank(reqs, rw.SlidingWindow(window=5, step=2), Recording(Counting(oracle), path))
    again_scorer = Counting(oracle)
    again = rw.rerank(reqs, rw.SlidingWindow(window=5, step=2), Cached(again_scorer, path))
    assert again_scorer.paid == [] and [r.docids for r in again] == [r.docids for r in first]


def test_paths_accept_pathlike(tmp_path):
    assert isinstance(Recording(BatchScorer(), Path(tmp_path) / "x.jsonl").path, Path)


class PoolOracle:
    """An Oracle behind submit(calls) -> futures, as the server scorers are."""

    def __init__(self, oracle):
        self.oracle, self.kind, self.max_in_flight = oracle, oracle.kind, 4
        self.pool = ThreadPoolExecutor(2)
        self.paid = 0

    def _one(self, call):
        self.paid += 1
        return Answer(self.oracle([call])[0], raw="r", tokens_in=10, tokens_out=2)

    def submit(self, calls):
        return [self.pool.submit(self._one, c) for c in calls]

    def __call__(self, calls):
        return [f.result() for f in self.submit(calls)]

    def __repr__(self):
        return "PoolOracle()"


def test_rerank_record_then_replay_and_a_cached_submit_scorer_through_the_driver(tmp_path):
    reqs, utility = requests(3)
    strategy = rw.SparsePairwise()
    pool = PoolOracle(Oracle(utility, kind="pairwise", temperature=1.0, seed=9))
    path = tmp_path / "calls.jsonl"
    first = rw.rerank(reqs, strategy, Cached(pool, path), record=tmp_path / "rec.jsonl")
    paid = pool.paid
    assert paid == sum(r.spend["calls"] for r in first) and all(r.spend["tokens_in"] > 0 for r in first)
    recorded = read_calls(tmp_path / "rec.jsonl")
    assert len(recorded) == paid and all(r.raw == "r" and r.tokens_in == 10 for r in recorded)
    replayed = rw.rerank(reqs, strategy, Replay.from_jsonl(tmp_path / "rec.jsonl"))
    assert [r.docids for r in replayed] == [r.docids for r in first]
    again = rw.rerank(reqs, strategy, Cached(pool, path))
    assert pool.paid == paid and [r.docids for r in again] == [r.docids for r in first]
