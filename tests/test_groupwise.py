"""Groupwise answers: one score per shown document of a listwise call (GroupRank, ICR), their parsing,
their use by every strategy, and JointRank's z-score aggregation. The judges here are SIMULATED."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rankwise as rw
from rankwise.scorers import Oracle, Replay, as_scorer
from synthetic import ALL_STRATEGIES, synthetic_requests, true_order

LIST_AND_PAIR = [s for s in ALL_STRATEGIES if s.call_kind != "pointwise"] + [rw.TourRank(), rw.TournamentSort()]


# --- parsing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, n, scores",
    [
        ("[1]: 7\n[2]: 3\n[3]: 9", 3, [7, 3, 9]),
        ("<think>[1] is 2</think><answer>[2] = 0.8, [1] = -0.25</answer>", 2, [-0.25, 0.8]),
        ('{"1": 6, "2": 4.5, "[3]": 10}', 3, [6, 4.5, 10]),
        ("[1] score 7/10; [2] - 5", 2, [7, 5]),
        ("7, 3, 9", 3, [7, 3, 9]),
        ("[2]: 3", 2, [math.nan, 3]),
        ("[1] > [2]", 2, [math.nan, math.nan]),  # a permutation names no score
    ],
)
def test_parse_scores_reads_the_usual_shapes(text, n, scores):
    p = rw.parse_scores(text, n)
    np.testing.assert_array_equal(p.scores, np.array(scores, dtype=float))
    assert p.parsed == sum(not math.isnan(x) for x in scores)
    assert p.missing == [i for i, x in enumerate(scores) if math.isnan(x)]


def test_parse_scores_reports_repairs_and_checks_its_arguments():
    p = rw.parse_scores("[2]: 5 [2]: 1 [7]: 3 [0]: 1", 3)
    assert (p.duplicates, p.out_of_range, p.missing, p.clean) == ([1], [6, -1], [0, 2], False)
    assert rw.parse_scores("[1]: 1", 1).clean
    with pytest.raises(rw.InvalidInputError, match="text"):
        rw.parse_scores(b"[1]: 2", 1)
    with pytest.raises(rw.InvalidInputError, match="n"):
        rw.parse_scores("", -1)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list('[]0123456789.:=- ,"<>/answerthink\n１٣')), max_size=80), st.integers(0, 12)
)
def test_parse_scores_never_fails_and_accounts_for_every_document(text, n):
    p = rw.parse_scores(text, n)
    assert p.scores.shape == (n,)
    assert all(math.isnan(x) or math.isfinite(x) for x in p.scores)
    assert p.parsed + len(p.missing) == n
    assert sorted(p.missing) == [i for i in range(n) if math.isnan(p.scores[i])]


# --- every strategy ------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", LIST_AND_PAIR, ids=lambda s: repr(s)[:60])
@pytest.mark.parametrize("noise", [{}, {"temperature": 1.0, "position_bias": 0.5}])
def test_groupwise_scores_give_the_rankings_their_orders_give(strategy, noise):
    """A groupwise judge's scores order each call exactly as the listwise judge with the same
    noise does (and imply the pairwise judge's probabilities), so every strategy ranks alike."""
    reqs, u = synthetic_requests(3, 40, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        want = rw.rerank(reqs, strategy, Oracle(u, kind=strategy.call_kind, **noise))
        got = rw.rerank(reqs, strategy, Oracle(u, kind="groupwise", **noise))
    assert [r.docids for r in got] == [r.docids for r in want]
    assert [r.spend["calls"] for r in got] == [r.spend["calls"] for r in want]


def test_a_groupwise_answer_left_incomplete_is_repaired_and_counted():
    reqs, u = synthetic_requests(2, 30, seed=1)
    out = rw.rerank(reqs, rw.SlidingWindow(window=10, step=5), Oracle(u, kind="groupwise", drop=1.0))
    # the lower half of every window unscored: each answer repaired, none unparsed
    assert all(r.spend["repaired"] == r.spend["calls"] > 0 and r.spend["unparsed"] == 0 for r in out)
    assert all(sorted(r.docids) == sorted(d.docid for d in q.candidates) for r, q in zip(out, reqs))


def _group_scorer(fn):
    return as_scorer(lambda calls: [fn(c) for c in calls], "groupwise")


@pytest.mark.parametrize(
    "answer, why",
    [
        (lambda c: [1.0] * (len(c.docs) - 1), "scores, one per shown document"),
        (lambda c: [math.nan] * len(c.docs), "finite"),
        (lambda c: {"nope": 1.0}, "did not show"),
        (lambda c: object(), "one score per shown document"),
    ],
)
def test_bad_groupwise_answers_fail_their_query_with_a_reason(answer, why):
    reqs, _ = synthetic_requests(1, 12, seed=0)
    with pytest.warns(rw.ScorerWarning):
        (r,) = rw.rerank(reqs, rw.SlidingWindow(window=6, step=3), _group_scorer(answer))
    assert r.spend["failed"] == 1 and why in r.error
    assert r.docids == [d.docid for d in reqs[0].candidates], "keeps its first-stage order"


def test_text_none_and_mapping_answers_are_read():
    reqs, u = synthetic_requests(1, 8, seed=3)
    best = true_order(u, "q0")

    def text(c):
        return " ".join(f"[{i + 1}]: {u['q0'][d.docid]}" for i, d in enumerate(c.docs))

    def mapping(c):
        return {d.docid: u["q0"][d.docid] for d in c.docs}

    for fn in (text, mapping):
        (r,) = rw.rerank(reqs, rw.SlidingWindow(window=8), _group_scorer(fn))
        assert r.docids == best and r.spend["repaired"] == 0


# --- JointRank's z-score aggregation -------------------------------------------------------


def test_zscore_is_the_mean_of_standardised_block_scores():
    """Against a hand computation from the blocks the plan showed and deliberately uncalibrated scores."""
    reqs, u = synthetic_requests(2, 30, seed=7)
    shown = []

    def scores(c):  # each block on its own offset and scale
        b = len(shown)
        shown.append(c)
        return [100.0 * (b % 3) + (1 + b % 4) * u[c.qid][d.docid] for d in c.docs]

    strategy = rw.JointRank(block_size=10, replicas=3, aggregator="zscore")
    out = rw.rerank(reqs, strategy, _group_scorer(scores), batch_size=1)
    for r, req in zip(out, reqs):
        total, count = {}, {}
        for b, c in enumerate(shown):
            if c.qid != req.qid:
                continue
            s = np.array([100.0 * (b % 3) + (1 + b % 4) * u[c.qid][d.docid] for d in c.docs])
            z = (s - s.mean()) / s.std()
            for d, zi in zip(c.docs, z):
                total[d.docid] = total.get(d.docid, 0.0) + zi
                count[d.docid] = count.get(d.docid, 0) + 1
        first = [d.docid for d in req.candidates]
        want = sorted(first, key=lambda d: (-(total[d] / count[d]) if d in count else math.inf, first.index(d)))
        assert r.docids == want


def test_zscore_removes_block_scales_that_break_raw_score_averaging():
    reqs, u = synthetic_requests(4, 40, seed=2)
    shown = []

    def shifted(c):  # a block's offset depends on its first document: raw scores are not comparable
        off = 50.0 * (sum(map(ord, c.docs[0].docid)) % 5)
        s = [off + u[c.qid][d.docid] for d in c.docs]
        shown.append((c, s))
        return s

    strategy = rw.JointRank(block_size=10, replicas=4, aggregator="zscore")
    out = rw.rerank(reqs, strategy, _group_scorer(shifted))
    z_hits = [len(set(true_order(u, r.qid)[:10]) & set(r.docids[:10])) for r in out]
    raw_hits = []  # the mean of the raw scores over the same blocks, for contrast
    for req in reqs:
        total, count = {}, {}
        for c, s in shown:
            if c.qid == req.qid:
                for d, x in zip(c.docs, s):
                    total[d.docid] = total.get(d.docid, 0.0) + x
                    count[d.docid] = count.get(d.docid, 0) + 1
        order = sorted(total, key=lambda d: -total[d] / count[d])
        raw_hits.append(len(set(true_order(u, req.qid)[:10]) & set(order[:10])))
    assert min(z_hits) >= 7 and sum(z_hits) > sum(raw_hits), (z_hits, raw_hits)


def test_zscore_needs_scores_and_says_so_before_any_call():
    reqs, u = synthetic_requests(1, 20)
    judge = Oracle(u, kind="listwise")
    calls = []
    scorer = as_scorer(lambda cs: (calls.extend(cs), judge(cs))[1], "listwise")
    with pytest.raises(rw.InvalidInputError, match="zscore.*groupwise or pointwise"):
        rw.rerank(reqs, rw.JointRank(aggregator="zscore"), scorer)
    assert calls == []
    # a pointwise scorer serves it: each shown document scored
    (r,) = rw.rerank(reqs, rw.JointRank(aggregator="zscore"), Oracle(u, kind="pointwise"))
    assert r.spend["failed"] == 0


def test_groupwise_calls_are_recorded_and_replayed(tmp_path):
    reqs, u = synthetic_requests(3, 30, seed=4)
    path = tmp_path / "calls.jsonl"
    judge = Oracle(u, kind="groupwise", temperature=0.7, drop=0.4)
    want = rw.rerank(reqs, rw.JointRank(aggregator="zscore"), judge, record=path)
    replay = Replay.from_jsonl(path)
    assert replay.kind == "groupwise"
    got = rw.rerank(reqs, rw.JointRank(aggregator="zscore"), replay)
    assert [r.docids for r in got] == [r.docids for r in want]
    assert [r.spend for r in got] == [r.spend for r in want]


@pytest.mark.parametrize(
    "strategy", [rw.AllPairs(), rw.SlidingWindow(window=4, step=2)], ids=lambda s: type(s).__name__
)
@pytest.mark.parametrize("n", [0, 1, 5])
def test_parsed_scores_for_another_number_of_documents_fail_their_query(strategy, n):
    """A ParsedScores read for the wrong window size is refused like a list of the wrong length
    (a pairwise plan once took the first two of five silently, and crashed with IndexError on fewer)."""
    reqs, _ = synthetic_requests(1, 8, seed=0)
    answer = rw.parse_scores(" ".join(f"[{i + 1}]: {i}" for i in range(n)), n)
    with pytest.warns(rw.ScorerWarning):
        (r,) = rw.rerank(reqs, strategy, _group_scorer(lambda c: answer))
    assert r.spend["failed"] == 1 and f"got {n}" in r.error and "one per shown document" in r.error


@pytest.mark.parametrize(
    "strategy", [rw.JointRank(block_size=6, replicas=2, aggregator="zscore"), rw.AllPairs()], ids=lambda s: repr(s)[:40]
)
def test_mapping_answers_are_recorded_replayed_and_cached(strategy, tmp_path):
    """A doc id -> score mapping (a documented groupwise answer) is recorded as a JSON object,
    so a replay and a cache give the run again (it was once recorded as an unrecordable error)."""
    reqs, u = synthetic_requests(2, 12, seed=6)

    def mapping(c):  # every other document scored
        return {d.docid: u[c.qid][d.docid] for i, d in enumerate(c.docs) if i % 2 == 0}

    path = tmp_path / "calls.jsonl"
    want = rw.rerank(reqs, strategy, _group_scorer(mapping), record=path)
    assert all(r.spend["failed"] == 0 for r in want)
    records = rw.recording.read_calls(path)
    assert records and all(rec.error is None and isinstance(rec.value, dict) for rec in records)
    got = rw.rerank(reqs, strategy, Replay.from_jsonl(path))
    assert [(r.docids, r.spend) for r in got] == [(r.docids, r.spend) for r in want]
    cache = tmp_path / "cache.jsonl"
    rw.rerank(reqs, strategy, rw.scorers.Cached(_group_scorer(mapping), cache, identity="m"))
    refuse = rw.scorers.Cached(_group_scorer(lambda c: ValueError("not cached")), cache, identity="m")
    again = rw.rerank(reqs, strategy, refuse)
    assert refuse.misses == 0 and [r.docids for r in again] == [r.docids for r in want]


def test_a_mapping_with_keys_that_are_not_doc_ids_is_not_recorded_as_one(tmp_path):
    """JSON turns an int key into a string, which could then match a doc id on replay: such an answer is
    recorded as unrecordable (the live run fails it anyway: the call showed no document 0)."""
    reqs, _ = synthetic_requests(1, 6, seed=0)
    path = tmp_path / "calls.jsonl"
    with pytest.warns(rw.ScorerWarning):
        (r,) = rw.rerank(reqs, rw.SlidingWindow(window=6), _group_scorer(lambda c: {0: 1.0}), record=path)
    assert r.spend["failed"] == 1
    (rec,) = rw.recording.read_calls(path)
    assert rec.value is None and "unrecordable" in rec.error


# --- review findings: magnitudes, signs, the parsers' limit ------------------------------------


@pytest.mark.parametrize("scale", [1e300, 1e160, 1e-170, 1e-320])
def test_zscore_standardises_scores_of_any_magnitude(scale):
    """Scores whose squares overflow or vanish rank as the same scores at scale 1 (they quietly kept the
    first-stage order)."""
    reqs, u = synthetic_requests(2, 24, seed=9)
    strategy = rw.JointRank(block_size=6, replicas=3, aggregator="zscore")
    want = rw.rerank(reqs, strategy, _group_scorer(lambda c: [u[c.qid][d.docid] for d in c.docs]))
    got = rw.rerank(reqs, strategy, _group_scorer(lambda c: [scale * u[c.qid][d.docid] for d in c.docs]))
    assert [r.docids for r in got] == [r.docids for r in want]
    assert [r.docids for r in want] != [[d.docid for d in q.candidates] for q in reqs]


@pytest.mark.parametrize(
    "text, scores",
    [
        ("-3, -1, -2", [-3, -1, -2]),
        ("[-0.5, 0.2, -0.1]", [-0.5, 0.2, -0.1]),
        ("[1]: 5e-05, [2]: 3e-04, [3]: .5", [5e-05, 3e-04, 0.5]),
        ("[1]: \u22123 [2] -2 [3] - 4", [-3, -2, 4]),
    ],
)
def test_parse_scores_reads_signs_exponents_and_leading_dots(text, scores):
    np.testing.assert_array_equal(rw.parse_scores(text, 3).scores, np.array(scores, dtype=float))


def test_the_parsers_refuse_a_window_too_large_to_allocate_naming_n():
    from rankwise import _core

    for n in (2**61, 10**12, -1):
        for parse in (_core.parse_scores, _core.parse_permutation):
            with pytest.raises(rw.InvalidInputError, match=r"^n: must be in \[0, 1000000\]"):
                parse("[1]: 2", n)


def test_a_plan_refuses_orders_for_zscore_before_taking_the_round():
    plan = rw.JointRank(block_size=4, replicas=2, aggregator="zscore").plan(8, "q")
    offsets, items = plan.requests()
    k = np.diff(offsets)
    with pytest.raises(rw.InvalidInputError, match="zscore"):
        plan.submit_orders(offsets, np.concatenate([np.arange(x) for x in k]))
    assert plan.spend()[0] == 0
    plan.submit_scores(offsets, np.arange(len(items), dtype=np.float64))  # the same round, answered with scores
    assert len(plan.requests()[0]) == 1  # none left: done
    assert plan.spend()[0] == len(k) and sorted(plan.result().tolist()) == list(range(8))
