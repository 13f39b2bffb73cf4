"""Oracle, the SIMULATED judge: seeded noise that hurts on average, position bias, built from a run or
from qrels, and bad arguments."""

from __future__ import annotations

import pytest

import rankwise as rw
from conftest import SHARED_DATA, needs_shared
from rankwise.scorers import ListwiseCall, Oracle, PairwiseCall
from synthetic import synthetic_requests

DL19 = SHARED_DATA / "dl19"


def test_oracle_noise_is_seeded_and_hurts_on_average():
    reqs, utility = synthetic_requests(20, 40, seed=10)
    qrels = rw.Qrels.from_dict({q: {d: int(u >= 35) for d, u in docs.items()} for q, docs in utility.items()})

    def ndcg(**noise):
        return rw.evaluate(rw.rerank(reqs, rw.JointRank(), Oracle(utility, **noise)), qrels, ["ndcg@10"])["ndcg@10"]

    assert ndcg(temperature=3.0, seed=1) == ndcg(temperature=3.0, seed=1)
    assert ndcg(temperature=3.0, seed=1) != ndcg(temperature=3.0, seed=2)
    assert ndcg() > ndcg(temperature=10.0, seed=1)
    assert "SIMULATED" in repr(Oracle(utility))


def test_oracle_position_bias_favours_the_first_slot():
    utility = {"q": {"a": 1.0, "b": 1.2}}
    call = ListwiseCall("q", "", (rw.Candidate("a", ""), rw.Candidate("b", "")))
    assert Oracle(utility)([call]) == [[1, 0]]
    assert Oracle(utility, position_bias=0.5)([call]) == [[0, 1]]
    pair = PairwiseCall("q", "", rw.Candidate("a", ""), rw.Candidate("b", ""))
    assert (
        Oracle(utility, kind="pairwise")([pair])[0]
        < 0.5
        < Oracle(utility, kind="pairwise", position_bias=0.5)([pair])[0]
    )


@pytest.mark.slow
@needs_shared
def test_oracle_from_a_run_and_from_qrels():
    reqs = rw.load_requests(DL19 / "bm25_top100.json")
    qrels = rw.read_qrels(DL19 / "qrels.txt")
    gpt = rw.read_run(DL19 / "llm" / "gpt35_sliding_run1.trec", order="rank")
    # restricting the gpt-3.5 run to windows and sliding again reproduces its top 10 (simulated)
    out = rw.rerank(reqs, rw.SlidingWindow(), Oracle(gpt))
    for r in out:
        assert r.docids[:10] == gpt[r.qid].docids[:10]
    perfect = rw.evaluate(rw.rerank(reqs, rw.AllPairs(), Oracle(qrels, kind="pairwise")), qrels, ["ndcg@10"])["ndcg@10"]
    assert round(perfect, 4) == 0.8922  # the perfect reordering of the top 100 (DESIGN.md)


def test_oracle_bad_arguments():
    with pytest.raises(rw.InvalidInputError, match="temperature"):
        Oracle({}, temperature=-1)
    with pytest.raises(rw.InvalidInputError, match="temperature"):
        Oracle({}, temperature=float("nan"))
    with pytest.raises(rw.InvalidInputError, match="drop"):
        Oracle({}, drop=1.5)
    with pytest.raises(rw.InvalidInputError, match="kind"):
        Oracle({}, kind="setwise")  # type: ignore[arg-type]
    with pytest.raises(rw.InvalidInputError, match="cannot answer"):
        Oracle({"q": {}}, kind="pointwise")([ListwiseCall("q", "", ())])
