"""Cascades (issue 13): a chain of stages, each a strategy with its own scorer
and depth, driven so that a query that finishes stage k enters stage k+1 at
once. The judges here are SIMULATED (Oracle), the slow scorers sleep."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

import rankwise as rw
from rankwise.scorers import Oracle, as_scorer
from synthetic import synthetic_requests, true_order
from test_pipeline import Shuffled


def _by_hand(reqs, stages, **options):
    """The stages run one after another over all queries: the reference."""
    current, spends = reqs, {r.qid: [] for r in reqs}
    for strategy, scorer, depth in stages:
        out = rw.rerank(current, dataclasses.replace(strategy, depth=depth), scorer, **options)
        nxt = []
        for req, ranking in zip(current, out):
            spends[req.qid].append(ranking.spend)
            by_id = {c.docid: c for c in req.candidates}
            nxt.append(rw.Request(req.qid, req.query, [by_id[d] for d in ranking.docids]))
        current = nxt
    return [r for r in current], spends


def _check_same(reqs, stages, cascade_out, **options):
    hand, spends = _by_hand(reqs, stages, **options)
    assert [r.docids for r in cascade_out] == [[c.docid for c in h.candidates] for h in hand]
    for r in cascade_out:
        per = spends[r.qid]
        for k, sp in enumerate(per):
            for key, v in sp.items():
                assert r.spend[f"stage{k + 1}.{key}"] == v
        assert r.spend["calls"] == sum(sp["calls"] for sp in per)
        assert r.spend["docs_shown"] == sum(sp["docs_shown"] for sp in per)
        assert r.spend["failed"] == 0.0
        assert all(isinstance(v, float) for v in r.spend.values())


def test_two_stages_pointwise_then_listwise_equal_the_stages_by_hand():
    reqs, utility = synthetic_requests(7, 40, seed=3)
    mono = Oracle(utility, kind="pointwise", temperature=3.0, seed=1)
    llm = Oracle(utility, kind="listwise", temperature=1.0, seed=2)
    stages = [(rw.Pointwise(), mono, 30), (rw.SlidingWindow(window=5, step=2), llm, 12)]
    out = rw.rerank(reqs, rw.Cascade([rw.Stage(*s) for s in stages]))
    _check_same(reqs, stages, out)
    # the second stage changed something, and only within the top 12
    first = rw.rerank(reqs, rw.Pointwise(depth=30), mono)
    assert any(a.docids[:12] != b.docids[:12] for a, b in zip(out, first))
    assert all(a.docids[12:] == b.docids[12:] for a, b in zip(out, first))


def test_three_stages_with_submit_scorers_in_random_order_equal_the_stages_by_hand():
    reqs, utility = synthetic_requests(6, 35, seed=8)
    stages = [
        (rw.Pointwise(), Shuffled(Oracle(utility, kind="pointwise", temperature=3.0, seed=4), seed=1), None),
        (rw.SlidingWindow(window=6, step=3), Oracle(utility, kind="listwise", temperature=1.5, seed=5), 15),
        (rw.AllPairs(), Shuffled(Oracle(utility, kind="pairwise", temperature=0.5, seed=6), seed=2), 6),
    ]
    out = rw.rerank(reqs, rw.Cascade(stages), max_in_flight=5)  # tuples are stages too
    _check_same(reqs, stages, out)
    assert all(set(r.spend) >= {"stage1.calls", "stage2.calls", "stage3.calls"} for r in out)
    assert all(r.spend["stage3.calls"] == 30.0 for r in out)  # AllPairs over 6: both orders of 15 pairs


def test_mono_duo_pointwise_then_all_pairs_puts_the_true_top_first():
    reqs, utility = synthetic_requests(5, 50, seed=11)
    mono = Oracle(utility, kind="pointwise", temperature=0.0)
    duo = Oracle(utility, kind="pairwise", temperature=0.0)
    stages = [(rw.Pointwise(), mono, None), (rw.AllPairs(), duo, 8)]
    out = rw.rerank(reqs, rw.Cascade([rw.Stage(*s) for s in stages]))
    _check_same(reqs, stages, out)
    for r in out:
        assert r.docids[:8] == true_order(utility, r.qid)[:8]


def test_one_scorer_in_two_stages_is_one_dispatcher_and_still_the_same():
    reqs, utility = synthetic_requests(5, 20, seed=2)
    judge = Oracle(utility, kind="pointwise", temperature=2.0, seed=9)  # serves a listwise stage too
    stages = [(rw.Pointwise(), judge, None), (rw.SlidingWindow(window=4, step=2), judge, 10)]
    stats = rw.RerankStats()
    out = rw.rerank(reqs, rw.Cascade(stages), stats=stats, batch_size=3)
    _check_same(reqs, stages, out, batch_size=3)
    assert stats.queries == 5 and stats.calls == sum(r.spend["calls"] for r in out)


def test_rerank_iter_takes_a_cascade_and_yields_every_query():
    reqs, utility = synthetic_requests(9, 12, seed=5)
    cascade = rw.Cascade(
        [(rw.Pointwise(), Oracle(utility, kind="pointwise")), (rw.Setwise(), Oracle(utility, kind="listwise"), 4)]
    )
    got = {r.qid: r for r in rw.rerank_iter(iter(reqs), cascade)}
    assert sorted(got) == sorted(r.qid for r in reqs)
    assert all(got[q].docids[:4] == true_order(utility, q)[:4] for q in got)


def _failing_on(judge, qid):
    def score(calls):
        if any(c.qid == qid for c in calls):
            raise RuntimeError(f"simulated failure on {qid}")
        return judge(calls)

    return as_scorer(score, judge.kind)


def test_a_failing_stage_keeps_the_order_of_the_stages_before_it():
    reqs, utility = synthetic_requests(4, 20, seed=6)
    mono = Oracle(utility, kind="pointwise", temperature=2.0, seed=3)
    llm = Oracle(utility, kind="listwise")
    cascade = rw.Cascade([(rw.Pointwise(), mono), (rw.SlidingWindow(window=5), _failing_on(llm, "q1"), 10)])
    with pytest.warns(rw.ScorerWarning, match="1 queries"):
        out = rw.rerank(reqs, cascade)
    after_stage1 = rw.rerank(reqs, rw.Pointwise(), mono)
    bad = out[1]
    assert bad.docids == after_stage1[1].docids  # stage 1's order, not the first-stage one
    assert bad.spend["failed"] == 1.0 and bad.spend["stage2.failed"] == 1.0 and bad.spend["stage1.failed"] == 0.0
    assert bad.error is not None and bad.error.startswith("stage 2 (SlidingWindow): ")
    assert all(r.error is None and r.spend["stage2.calls"] > 0 for r in (out[0], out[2], out[3]))


def test_a_failing_first_stage_keeps_the_first_stage_order_and_skips_the_rest():
    reqs, utility = synthetic_requests(3, 10, seed=7)
    cascade = rw.Cascade(
        [
            (rw.Pointwise(), _failing_on(Oracle(utility, kind="pointwise"), "q2")),
            (rw.SlidingWindow(window=4), Oracle(utility, kind="listwise"), 5),
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rw.ScorerWarning)
        out = rw.rerank(reqs, cascade, retries=0)
    assert out[2].docids == [c.docid for c in reqs[2].candidates]
    assert out[2].error.startswith("stage 1 (Pointwise): ")
    assert out[2].spend["stage2.calls"] == 0.0 and out[2].spend["calls"] == out[2].spend["stage1.calls"]
    with pytest.raises(rw.ScorerError, match=r"query 'q2': stage 1 \(Pointwise\)"):
        rw.rerank(reqs, cascade, on_error="raise", retries=0)


def test_bad_cascades_are_clear_errors():
    judge = Oracle({}, kind="pointwise")
    good = rw.Cascade([(rw.Pointwise(), judge)])
    reqs, _ = synthetic_requests(1, 3)
    with pytest.raises(rw.InvalidInputError, match="scorer: a Cascade carries one scorer per stage"):
        rw.rerank(reqs, good, judge)
    with pytest.raises(rw.InvalidInputError, match="scorer: Pointwise needs a scorer"):
        rw.rerank(reqs, rw.Pointwise())
    with pytest.raises(rw.InvalidInputError, match="at least one stage"):
        rw.Cascade([])
    with pytest.raises(rw.InvalidInputError, match=r"stages\[1\]: expected a Stage"):
        rw.Cascade([(rw.Pointwise(), judge), "pointwise"])
    with pytest.raises(rw.InvalidInputError, match=r"stages\[0\]: .*needs a scorer"):
        rw.Cascade([(rw.Pointwise(), None)])
    with pytest.raises(rw.InvalidInputError, match="stage: expected a rankwise strategy"):
        rw.Stage("pointwise", judge)
    with pytest.raises(rw.InvalidInputError, match="depth"):
        rw.Stage(rw.Pointwise(), judge, depth=0)
    with pytest.raises(rw.InvalidInputError, match="stages: expected a list"):
        rw.Cascade(rw.Pointwise())
    with pytest.raises(rw.InvalidInputError, match=r"stage 2 \(Pointwise\): .*pointwise calls, which a listwise"):
        rw.rerank(reqs, rw.Cascade([(rw.Pointwise(), judge), (rw.Pointwise(), Oracle({}, kind="listwise"))]))
    with pytest.raises(rw.InvalidInputError, match="record: "):
        rw.rerank(reqs, good, record="x.jsonl")


def test_stage_depth_and_strategy_depth_the_smaller_wins():
    judge = Oracle({}, kind="pointwise")
    assert rw.Stage(rw.Pointwise(depth=5), judge, depth=9).effective_depth == 5
    assert rw.Stage(rw.Pointwise(), judge, depth=9).effective_depth == 9
    assert rw.Stage(rw.Pointwise(), judge).effective_depth is None
    assert rw.Cascade([(rw.Pointwise(depth=7), judge)]).depth == 7


class _Sleepy:
    """A batch scorer that sleeps per batch and records when it was busy (SIMULATED judge)."""

    def __init__(self, judge, delay):
        self.judge, self.kind, self.delay = judge, judge.kind, delay
        self.busy: list = []
        self.lock = threading.Lock()

    def __call__(self, calls):
        t0 = time.perf_counter()
        time.sleep(self.delay)
        with self.lock:
            self.busy.append((t0, time.perf_counter()))
        return self.judge(calls)


class _SleepySubmit(_Sleepy):
    """A ``submit`` scorer whose futures complete after a sleep (a SIMULATED server)."""

    def __init__(self, judge, delay):
        super().__init__(judge, delay)
        self.pool = ThreadPoolExecutor(4)

    def submit(self, calls):
        return [self.pool.submit(lambda c=c: self([c])[0]) for c in calls]


@pytest.mark.slow
@pytest.mark.parametrize("path", ["batch", "submit"])
def test_a_cascade_overlaps_its_stages_and_beats_running_them_one_after_another(path):
    """8 queries, each stage one call per query at 50 ms, one call at a time
    per scorer: by hand the stages take 8 + 8 calls one after the other; the
    cascade overlaps them (about 9 calls' time), a comparison within this test."""
    reqs, utility = synthetic_requests(8, 6, seed=4)
    made = []

    def stages():
        kind = _Sleepy if path == "batch" else _SleepySubmit
        out = [
            (rw.SlidingWindow(window=6), kind(Oracle(utility, kind="listwise", temperature=1.0, seed=1), 0.05), None),
            (rw.SlidingWindow(window=3), kind(Oracle(utility, kind="listwise", temperature=0.5, seed=2), 0.05), 3),
        ]
        made.extend(s for _, s, _ in out)
        return out

    try:
        by_hand = stages()
        t0 = time.perf_counter()
        hand, _ = _by_hand(reqs, by_hand, batch_size=1, max_in_flight=1)
        sequential = time.perf_counter() - t0
        cascaded = stages()
        t0 = time.perf_counter()
        out = rw.rerank(reqs, rw.Cascade(cascaded), batch_size=1, max_in_flight=1)
        overlapped = time.perf_counter() - t0
    finally:
        for s in made:
            if isinstance(s, _SleepySubmit):
                s.pool.shutdown(wait=True)
    print(f"{path}: cascade {overlapped:.3f} s, stages by hand {sequential:.3f} s")
    assert [r.docids for r in out] == [[c.docid for c in h.candidates] for h in hand]
    assert overlapped < 0.75 * sequential, (overlapped, sequential)
    # structurally: stage 2's scorer was busy while stage 1's still ran; by hand, only after it
    s1, s2 = cascaded[0][1].busy, cascaded[1][1].busy
    assert min(a for a, _ in s2) < max(b for _, b in s1)
    h1, h2 = by_hand[0][1].busy, by_hand[1][1].busy
    assert min(a for a, _ in h2) >= max(b for _, b in h1)


# --- the command line ------------------------------------------------------------------------------


def _cli_setup():
    from rankwise import cli

    ex = cli.EXAMPLES
    return cli, ex / "dl19_top30.json", ex / "dl19_qrels.txt"


def test_cli_stages_equal_the_python_cascade_and_write_per_stage_spend(tmp_path, capsys):
    cli, inp, qrels = _cli_setup()
    out = tmp_path / "c.trec"
    stages = [
        "--stage",
        f"pointwise,scorer=oracle:{qrels},temperature=2,seed=3,depth=25",
        "--stage",
        f"sliding-window,window=6,step=3,scorer=oracle:{qrels},temperature=1,seed=4,depth=10",
    ]
    assert cli.main(["rerank", str(inp), "-o", str(out), *stages, "--no-progress"]) == 0
    capsys.readouterr()
    reqs = rw.load_requests(inp)
    q = rw.read_qrels(qrels)
    cascade = rw.Cascade(
        [
            (rw.Pointwise(), Oracle(q, kind="pointwise", temperature=2.0, seed=3), 25),
            (rw.SlidingWindow(window=6, step=3), Oracle(q, kind="listwise", temperature=1.0, seed=4), 10),
        ]
    )
    want = rw.rerank(reqs, cascade)
    got = rw.read_run(out)
    assert [got[r.qid].docids for r in want] == [r.docids for r in want]
    spend = [json.loads(line) for line in (tmp_path / "c.trec.spend.jsonl").read_text().splitlines()]
    assert [s["stage1.calls"] for s in spend] == [25.0] * len(reqs)
    assert all(s["calls"] == s["stage1.calls"] + s["stage2.calls"] and s["stage2.calls"] > 0 for s in spend)
    # the same cascade from a config file resumes the job; another one is refused
    cfg = tmp_path / "cascade.json"
    cfg.write_text(
        json.dumps(
            [
                {"strategy": "pointwise", "scorer": f"oracle:{qrels}", "temperature": 2, "seed": 3, "depth": 25},
                {
                    "strategy": "sliding-window",
                    "params": {"window": 6, "step": 3},
                    "scorer": f"oracle:{qrels}",
                    "temperature": 1,
                    "seed": 4,
                    "depth": 10,
                },
            ]
        )
    )
    assert cli.main(["rerank", str(inp), "-o", str(out), "--cascade", str(cfg), "--resume", "--no-progress"]) == 0
    other = [*stages[:3], stages[3].replace("depth=10", "depth=9")]
    assert cli.main(["rerank", str(inp), "-o", str(out), *other, "--resume", "--no-progress"]) == 2
    assert "holds another job" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--stage", "pointwise"], "a stage needs scorer=SPEC"),
        (["--stage", "scorer=minilm"], "start with the strategy"),
        (["--stage", "bogus,scorer=minilm"], "unknown strategy 'bogus'"),
        (["--stage", "pointwise,scorer=minilm,window=3"], "pointwise has no parameter 'window'"),
        (["--stage", "sliding-window,scorer=minilm,window=x"], "window='x' is not a valid int"),
        (["--stage", "pointwise,scorer=minilm,depth=0"], "depth must be at least 1"),
        (["--stage", "pointwise,scorer=minilm", "--depth", "5"], "--depth does not apply to a cascade"),
        (["--stage", "pointwise,scorer=http://localhost:1/v1"], "needs model=NAME"),
        (["--stage", "pointwise,scorer=minilm,kind=listwise"], "minilm is a pointwise scorer"),
        (["--cascade", "nope.json"], "--cascade: nope.json does not exist"),
    ],
)
def test_cli_bad_stages_are_one_line_and_status_2(tmp_path, capsys, extra, message):
    cli, inp, _ = _cli_setup()
    assert cli.main(["rerank", str(inp), "-o", str(tmp_path / "x.trec"), *extra, "--no-progress"]) == 2
    assert message in capsys.readouterr().err


def test_reranker_takes_a_cascade():
    reqs, utility = synthetic_requests(1, 12, seed=9)
    req = reqs[0]
    texts = [(c.docid, c.text) for c in req.candidates]
    mono = Oracle(utility, kind="pointwise", temperature=2.0, seed=1)
    cascade = rw.Cascade([(rw.Pointwise(), mono), (rw.SlidingWindow(window=4), Oracle(utility, kind="listwise"), 4)])
    want = rw.rerank(reqs, cascade)[0].docids
    rr = rw.Reranker(cascade)
    ranked = rr.rank(req.query, texts, qid="q0")
    assert [str(r.document.doc_id) for r in ranked.results] == want
    with pytest.raises(rw.InvalidInputError, match="a Cascade carries one scorer per stage"):
        rw.Reranker(cascade, mono)
    with pytest.raises(rw.InvalidInputError, match=r"score\(\) needs a pointwise scorer"):
        rr.score(req.query, "text")


def test_a_cascade_refused_at_its_second_stage_starts_no_thread():
    import threading as th

    before = {t.ident for t in th.enumerate() if t.name == "rankwise-scorer"}
    judge = Oracle({}, kind="pointwise")
    reqs, _ = synthetic_requests(1, 3)
    with pytest.raises(rw.InvalidInputError, match="stage 2"):
        rw.rerank(reqs, rw.Cascade([(rw.Pointwise(), judge), (rw.Pointwise(), Oracle({}, kind="listwise"))]))
    assert {t.ident for t in th.enumerate() if t.name == "rankwise-scorer"} <= before
