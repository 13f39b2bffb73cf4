"""Replay: recorded LLM calls answered again (RankVicuna-7B's DL19 windows reproduce its published
nDCG@10 through rerank), a strategy that deviates from the recording, and malformed recordings."""

from __future__ import annotations

import json

import pytest

import rankwise as rw
from conftest import SHARED_DATA, needs_shared
from rankwise.scorers import ListwiseCall, Replay, as_scorer

DL19 = SHARED_DATA / "dl19"


@needs_shared
def test_replaying_rankvicuna_reproduces_its_ndcg_in_9_calls_per_query():
    reqs = rw.load_requests(DL19 / "bm25_top100.json")
    replay = Replay.from_jsonl(DL19 / "llm" / "rankvicuna7b_windows.jsonl")
    batches = []

    def scorer(calls):
        batches.append({c.qid for c in calls})
        return replay(calls)

    stats = rw.RerankStats()
    out = rw.rerank(reqs, rw.SlidingWindow(20, 10), as_scorer(scorer, "listwise"), batch_size=32, stats=stats)
    ndcg = rw.evaluate(out, rw.read_qrels(DL19 / "qrels.txt"), ["ndcg@10"])["ndcg@10"]
    assert round(ndcg, 4) == 0.6682
    assert all(r.spend["calls"] == 9 and r.spend["rounds"] == 9 and r.spend["failed"] == 0 for r in out)
    assert replay.hits == 387 == stats.calls
    # batches are full and span many queries (one call per query per round)
    assert all(len(b) == 32 for b in batches[:-1])
    assert min(len(b) for b in batches[:-1]) >= 16
    assert stats.queries_per_batch > 16
    assert [r.qid for r in out] == [r.qid for r in reqs]


@needs_shared
def test_replay_catches_a_deviating_strategy():
    reqs = rw.load_requests(DL19 / "bm25_top100.json")[:2]
    replay = Replay.from_jsonl(DL19 / "llm" / "rankvicuna7b_windows.jsonl")
    with pytest.raises(rw.ScorerError, match="no recorded call for query"):
        rw.rerank(reqs, rw.SlidingWindow(20, 5), replay, on_error="raise")
    with pytest.warns(rw.ScorerWarning, match="2 queries kept their first-stage order"):
        out = rw.rerank(reqs, rw.SlidingWindow(20, 5), replay)
    for r, req in zip(out, reqs):
        assert r.docids == [c.docid for c in req.candidates]
        assert r.spend["failed"] == 1 and "no recorded call" in r.error


def test_replay_from_jsonl_errors(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"qid": "1", "docids_in_prompt_order": ["a", "b"]}\n')
    with pytest.raises(rw.InvalidInputError, match="line 1"):
        Replay.from_jsonl(bad)
    bad.write_text("{not json\n")
    with pytest.raises(rw.InvalidInputError, match="invalid JSON"):
        Replay.from_jsonl(bad)
    ok = tmp_path / "ok.jsonl"
    ok.write_text(json.dumps({"qid": 1, "docids_in_prompt_order": ["a", "b"], "llm_response": "[2] > [1]"}) + "\n")
    assert Replay.from_jsonl(ok)([ListwiseCall("1", "q", (rw.Candidate("a", ""), rw.Candidate("b", "")))]) == [[1, 0]]
