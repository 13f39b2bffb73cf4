"""Request loading (dl-json, rank_llm JSONL, TREC run + topics + docs),
write_run/read_run round trips, and the Run / Qrels / Ranking containers."""

from __future__ import annotations

import gc
import json
import os
import warnings

import numpy as np
import pytest

import rankwise as rw
from conftest import SHARED_DATA as DATA
from conftest import needs_shared as needs_data
from rankwise import Candidate, InvalidInputError, Ranking, Request

# ---------------------------------------------------------------------------
# real DL19 data
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dl19_requests():
    if not (DATA / "dl19" / "bm25_top100.json").is_file():
        pytest.skip(f"shared TREC DL data not found at {DATA}")
    return rw.load_requests(DATA / "dl19" / "bm25_top100.json")


@needs_data
def test_dl19_json(dl19_requests):
    reqs = dl19_requests
    assert len(reqs) == 43
    assert all(isinstance(r, Request) for r in reqs)
    assert all(len(r) == 100 for r in reqs)
    assert len({r.qid for r in reqs}) == 43
    raw = json.loads((DATA / "dl19" / "bm25_top100.json").read_text())
    topics = dict(line.split("\t", 1) for line in (DATA / "dl19" / "topics.tsv").read_text().splitlines() if line)
    for req, entry in zip(reqs, raw):
        hits = sorted(entry["hits"], key=lambda h: h["rank"])
        assert req.qid == str(hits[0]["qid"])
        assert req.query == entry["query"] == topics[req.qid]
        assert [c.docid for c in req.candidates] == [str(h["docid"]) for h in hits]
        assert [c.score for c in req.candidates] == [float(h["score"]) for h in hits]
        assert all(isinstance(c, Candidate) and c.text.strip() for c in req.candidates)
    # first-stage order is the rank column of the TREC version of the same lists
    trec = rw.read_run(DATA / "dl19" / "bm25_top100.trec", order="rank")
    for req in reqs:
        fs = rw.first_stage_ranking(req)
        assert fs.qid == req.qid
        assert fs.docids == trec[req.qid].docids
        assert fs.scores == pytest.approx(trec[req.qid].scores)
    # the judged queries are exactly these
    assert {r.qid for r in reqs} == set(rw.read_qrels(DATA / "dl19" / "qrels.txt"))


@needs_data
def test_dl19_json_depth_and_explicit_format(dl19_requests):
    short = rw.load_requests(DATA / "dl19" / "bm25_top100.json", "dl-json", depth=20)
    assert len(short) == 43
    for s, full in zip(short, dl19_requests):
        assert len(s) == 20
        assert s.qid == full.qid and s.query == full.query
        assert s.candidates == full.candidates[:20]
    assert rw.load_requests(DATA / "dl19" / "bm25_top100.json", depth=1000) == dl19_requests


# ---------------------------------------------------------------------------
# rank_llm JSONL
# ---------------------------------------------------------------------------


def rank_llm_line(qid, query, cands):
    return json.dumps({"query": {"text": query, "qid": qid}, "candidates": cands})


def test_rank_llm_jsonl(tmp_path):
    p = tmp_path / "requests.jsonl"
    lines = [
        rank_llm_line(
            "q1",
            "what is a flea",
            [
                {"docid": "d1", "score": 3.5, "doc": {"title": "Fleas", "text": "Small insects."}},
                {"docid": "d2", "score": 2.0, "doc": {"segment": "A segment body."}},
                {"docid": 7, "score": 1, "doc": {"title": "", "contents": "Contents body."}},
                {"docid": "d4", "doc": {"title": "T", "segment": "seg", "text": "txt"}},
            ],
        ),
        "",
        rank_llm_line(2, "second", [{"docid": "x", "score": 1.0, "text": "inline text, no doc key"}]),
    ]
    p.write_text("\n".join(lines) + "\n")
    reqs = rw.load_requests(p)
    assert reqs == rw.load_requests(p, format="rank-llm")
    assert [r.qid for r in reqs] == ["q1", "2"]
    r1 = reqs[0]
    assert r1.query == "what is a flea"
    assert r1.candidates == [
        Candidate("d1", "Fleas: Small insects.", 3.5),
        Candidate("d2", "A segment body.", 2.0),
        Candidate("7", "Contents body.", 1.0),
        Candidate("d4", "T: txt", 0.0),  # "text" comes before "segment"; score defaults to 0
    ]
    assert reqs[1].candidates == [Candidate("x", "inline text, no doc key", 1.0)]
    short = rw.load_requests(p, depth=2)
    assert [len(r) for r in short] == [2, 1]
    assert short[0].candidates == r1.candidates[:2]


def test_rank_llm_errors(tmp_path):
    p = tmp_path / "bad.jsonl"
    good = rank_llm_line("q1", "x", [{"docid": "a", "doc": {"text": "t"}}])
    p.write_text(good + "\n" + '{"query": {"text": "x", "qid": "q2"}, "candidates": [\n')
    with pytest.raises(InvalidInputError) as e:
        rw.load_requests(p)
    assert "bad.jsonl, line 2" in str(e.value) and "invalid JSON" in str(e.value)

    p.write_text(good + "\n" + rank_llm_line("q2", "x", [{"docid": "a", "doc": {"title": "only a title"}}]))
    with pytest.raises(InvalidInputError) as e:
        rw.load_requests(p)
    assert "line 2" in str(e.value) and "no passage text" in str(e.value)

    p.write_text(json.dumps({"query": "flat string", "candidates": []}) + "\n")
    with pytest.raises(InvalidInputError, match="line 1"):
        rw.load_requests(p)

    p.write_text(rank_llm_line("q1", "x", [{"docid": "a", "doc": {"text": "t"}}, {"docid": "a", "doc": {"text": "u"}}]))
    with pytest.raises(InvalidInputError, match="twice"):
        rw.load_requests(p)


# ---------------------------------------------------------------------------
# dl-json written by hand
# ---------------------------------------------------------------------------


def test_dl_json_sorted_by_rank_and_errors(tmp_path):
    p = tmp_path / "small.json"
    hits = [
        {"qid": 5, "docid": "b", "rank": 2, "score": 1.0, "content": "B"},
        {"qid": 5, "docid": "a", "rank": 1, "score": 2.0, "content": "A"},
    ]
    p.write_text(json.dumps([{"query": "q five", "hits": hits}]))
    (r,) = rw.load_requests(p)
    assert r == Request("5", "q five", [Candidate("a", "A", 2.0), Candidate("b", "B", 1.0)])

    dup = hits + [{"qid": 5, "docid": "a", "rank": 3, "score": 0.5, "content": "A again"}]
    p.write_text(json.dumps([{"query": "q", "hits": dup}]))
    with pytest.raises(InvalidInputError, match="twice"):
        rw.load_requests(p)

    p.write_text(json.dumps([{"query": "q", "hits": [{"qid": 1, "docid": "a", "rank": 1}]}]))
    with pytest.raises(InvalidInputError, match="entry 0.*content"):
        rw.load_requests(p)

    p.write_text('[{"query": "q", "hits": [}')
    with pytest.raises(InvalidInputError, match="invalid JSON"):
        rw.load_requests(p)


def test_request_rejects_duplicate_candidates():
    with pytest.raises(InvalidInputError, match="twice"):
        Request("q", "x", [Candidate("a", "t"), Candidate("b", "t"), Candidate("a", "u")])


# ---------------------------------------------------------------------------
# TREC run + topics + docs
# ---------------------------------------------------------------------------

TREC_RUN = "q1 Q0 d2 1 9.5 bm25\nq1 Q0 d1 2 7.0 bm25\nq1 Q0 d3 3 3.0 bm25\nq2 Q0 d3 1 4.0 bm25\nq2 Q0 d9 2 1.0 bm25\n"


@pytest.fixture
def trec_files(tmp_path):
    run = tmp_path / "run.trec"
    run.write_text(TREC_RUN)
    topics = tmp_path / "topics.tsv"
    topics.write_text("q1\tfirst query\nq2\tsecond\tquery with a tab\nq3\tunused\n")
    docs_jsonl = tmp_path / "docs.jsonl"
    docs_jsonl.write_text(
        "\n".join(
            json.dumps(d)
            for d in [
                {"docid": "d1", "title": "One", "text": "text one"},
                {"id": "d2", "contents": "text two"},
                {"pid": "d3", "segment": "text three"},
                {"_id": "d9", "passage": "text nine"},
                {"docid": "d100", "text": "not in the run"},
            ]
        )
        + "\n"
    )
    docs_tsv = tmp_path / "docs.tsv"
    docs_tsv.write_text("d1\tOne: text one\nd2\ttext two\nd3\ttext three\nd9\ttext nine\nd100\tunused\n")
    return run, topics, docs_jsonl, docs_tsv


EXPECTED_TREC = [
    Request(
        "q1",
        "first query",
        [Candidate("d2", "text two", 9.5), Candidate("d1", "One: text one", 7.0), Candidate("d3", "text three", 3.0)],
    ),
    Request("q2", "second\tquery with a tab", [Candidate("d3", "text three", 4.0), Candidate("d9", "text nine", 1.0)]),
]


def test_trec_run_with_topics_and_docs(trec_files):
    run, topics, docs_jsonl, docs_tsv = trec_files
    for docs in (docs_jsonl, docs_tsv):
        assert rw.load_requests(run, topics=topics, docs=docs) == EXPECTED_TREC
        assert rw.load_requests(run, "trec", topics=topics, docs=docs) == EXPECTED_TREC
    short = rw.load_requests(run, topics=topics, docs=docs_tsv, depth=1)
    assert [[c.docid for c in r.candidates] for r in short] == [["d2"], ["d3"]]


def test_trec_depth_needs_only_top_docs(trec_files, tmp_path):
    run, topics, _, _ = trec_files
    docs = tmp_path / "few.tsv"
    docs.write_text("d2\ttwo\nd1\tone\nd3\tthree\n")  # d9 (rank 2 of q2) absent
    reqs = rw.load_requests(run, topics=topics, docs=docs, depth=1)
    assert [r.candidates[0].text for r in reqs] == ["two", "three"]
    with pytest.raises(InvalidInputError) as e:
        rw.load_requests(run, topics=topics, docs=docs)
    assert "'d9'" in str(e.value) and "q2" in str(e.value) and "few.tsv" in str(e.value)


def test_trec_topics_jsonl(trec_files, tmp_path):
    run, _, _, docs_tsv = trec_files
    topics = tmp_path / "topics.jsonl"
    topics.write_text(
        '{"qid": "q1", "query": "first query"}\n{"query_id": "q2", "text": "second\\tquery with a tab"}\n'
    )
    assert rw.load_requests(run, topics=topics, docs=docs_tsv) == EXPECTED_TREC


@pytest.mark.parametrize("which", ["topics", "docs", "both"])
def test_trec_needs_topics_and_docs(trec_files, which):
    run, topics, docs, _ = trec_files
    kw = {"topics": topics, "docs": docs}
    if which == "both":
        kw = {}
    else:
        kw.pop(which)
    with pytest.raises(InvalidInputError, match="topics=.*docs="):
        rw.load_requests(run, **kw)


def test_trec_query_missing_from_topics(trec_files, tmp_path):
    run, _, docs, _ = trec_files
    topics = tmp_path / "t.tsv"
    topics.write_text("q1\tonly the first\n")
    with pytest.raises(InvalidInputError, match="'q2'.*t.tsv"):
        rw.load_requests(run, topics=topics, docs=docs)


def test_load_documents_and_topics_errors(tmp_path):
    p = tmp_path / "docs.jsonl"
    p.write_text('{"docid": "a", "text": "x"}\n{"docid": "b", "text": \n')
    with pytest.raises(InvalidInputError) as e:
        rw.load_documents(p)
    assert "docs.jsonl, line 2" in str(e.value) and "invalid JSON" in str(e.value)
    p.write_text('{"docid": "a", "text": "x"}\n{"docid": "a", "text": "y"}\n')
    with pytest.raises(InvalidInputError, match="line 2.*twice"):
        rw.load_documents(p)
    p.write_text('{"name": "a", "text": "x"}\n')
    with pytest.raises(InvalidInputError, match="no document id"):
        rw.load_documents(p)
    t = tmp_path / "docs.tsv"
    t.write_text("a\tx\nno tab here\n")
    with pytest.raises(InvalidInputError, match="docs.tsv, line 2"):
        rw.load_documents(t)
    with pytest.raises(InvalidInputError, match="line 2"):  # malformed even when not wanted
        rw.load_documents(t, wanted=["a"])
    topics = tmp_path / "topics.tsv"
    topics.write_text("1\tq\n1\tagain\n")
    with pytest.raises(InvalidInputError, match="line 2.*twice"):
        rw.load_topics(topics)
    topics.write_text("1\tq\n2 no tab\n")
    with pytest.raises(InvalidInputError, match="topics.tsv, line 2"):
        rw.load_topics(topics)
    with pytest.raises(InvalidInputError, match="not found"):
        rw.load_topics(tmp_path / "missing.tsv")
    with pytest.raises(InvalidInputError, match="not found"):
        rw.load_documents(tmp_path / "missing.jsonl")


def test_load_documents_wanted_filter(tmp_path):
    p = tmp_path / "docs.jsonl"
    p.write_text(
        '{"docid": "a", "title": "T", "text": "x"}\n{"docid": "b", "text": "y"}\n\n{"docid": "c", "body": "z"}\n'
    )
    assert rw.load_documents(p) == {"a": "T: x", "b": "y", "c": "z"}
    assert rw.load_documents(p, wanted={"c", "zzz"}) == {"c": "z"}


# ---------------------------------------------------------------------------
# format selection and argument errors
# ---------------------------------------------------------------------------


def test_format_sniffing_vs_explicit(tmp_path, trec_files):
    run, topics, docs, _ = trec_files
    jl = tmp_path / "r.jsonl"
    jl.write_text(rank_llm_line("q", "x", [{"docid": "a", "doc": {"text": "t"}}]) + "\n")
    js = tmp_path / "r.json"
    js.write_text(
        json.dumps([{"query": "x", "hits": [{"qid": "q", "docid": "a", "rank": 1, "score": 0.0, "content": "t"}]}])
    )
    assert rw.load_requests(jl) == rw.load_requests(jl, "rank-llm") == [Request("q", "x", [Candidate("a", "t", 0.0)])]
    assert rw.load_requests(js) == rw.load_requests(js, "dl-json") == [Request("q", "x", [Candidate("a", "t", 0.0)])]
    # an explicit format wins over sniffing: a wrong one is an error, not a silent fallback
    with pytest.raises(InvalidInputError):
        rw.load_requests(js, "rank-llm")
    with pytest.raises(InvalidInputError):
        rw.load_requests(jl, "dl-json")
    with pytest.raises(InvalidInputError):
        rw.load_requests(jl, "trec", topics=topics, docs=docs)
    # content that matches no format
    odd = tmp_path / "odd.txt"
    odd.write_text("just some words\n")
    with pytest.raises(InvalidInputError, match="cannot tell the format.*odd.txt"):
        rw.load_requests(odd)


def test_sniffing_closes_the_file(tmp_path):
    """Format sniffing must not leak an open file handle (ResourceWarning)."""
    jl = tmp_path / "r.jsonl"
    jl.write_text(rank_llm_line("q", "x", [{"docid": "a", "doc": {"text": "t"}}]) + "\n")
    gc.collect()  # what earlier tests left for the collector is theirs, not this reader's
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        rw.load_requests(jl)
        gc.collect()
    leaks = [w for w in rec if issubclass(w.category, ResourceWarning) and "r.jsonl" in str(w.message)]
    assert not leaks, [str(w.message) for w in leaks]


@pytest.mark.parametrize("fmt", ["xml", "json", "TREC", "rankllm"])
def test_unknown_format(tmp_path, fmt):
    p = tmp_path / "r.jsonl"
    p.write_text(rank_llm_line("q", "x", [{"docid": "a", "doc": {"text": "t"}}]) + "\n")
    with pytest.raises(InvalidInputError, match="unknown format"):
        rw.load_requests(p, fmt)


@pytest.mark.parametrize("depth", [0, -1, True, 2.5, "10"])
def test_bad_depth(tmp_path, depth):
    p = tmp_path / "r.jsonl"
    p.write_text(rank_llm_line("q", "x", [{"docid": "a", "doc": {"text": "t"}}]) + "\n")
    with pytest.raises(InvalidInputError, match="depth"):
        rw.load_requests(p, depth=depth)


def test_missing_path(tmp_path):
    with pytest.raises(InvalidInputError, match="not found.*nope.json"):
        rw.load_requests(tmp_path / "nope.json")
    with pytest.raises(InvalidInputError, match="not found"):
        rw.load_requests(tmp_path)  # a directory is not a request file


# ---------------------------------------------------------------------------
# write_run / read_run
# ---------------------------------------------------------------------------


def test_write_read_round_trip(tmp_path):
    run = rw.Run.from_dict(
        {"q2": {"a": 0.1, "b": 1 / 3, "c": -2.5e-17}, "q1": {"z": 1e300, "y": 7.0}, "q3": {"only": 0.0}}
    )
    p = tmp_path / "out.trec"
    rw.write_run(run, p, tag="mytag")
    lines = [l.split() for l in p.read_text().splitlines()]
    assert all(len(l) == 6 and l[1] == "Q0" and l[5] == "mytag" for l in lines)
    by_q = {}
    for q, _, d, rank, score, _ in lines:
        by_q.setdefault(q, []).append((d, int(rank), float(score)))
    assert list(by_q) == ["q2", "q1", "q3"]
    for q, rows in by_q.items():
        assert [r[1] for r in rows] == list(range(1, len(rows) + 1))
        assert [r[0] for r in rows] == run[q].docids
        assert [r[2] for r in rows] == run[q].scores.tolist()  # exact: shortest round-trip repr
    for order in ("score", "rank", "given"):
        back = rw.read_run(p, order=order)
        assert list(back) == list(run)
        for q in run:
            assert back[q].docids == run[q].docids
            assert np.array_equal(back[q].scores, run[q].scores)
    assert sorted(os.listdir(tmp_path)) == ["out.trec"]  # no temp file left behind
    # Run.write is the same, and overwriting works
    run.write(p, tag="other")
    assert p.read_text().splitlines()[0].endswith(" other")
    assert sorted(os.listdir(tmp_path)) == ["out.trec"]


def test_write_run_keeps_given_order_and_accepts_rankings(tmp_path):
    rankings = [Ranking.from_order("b", ["x", "y", "z"]), Ranking("a", ["m", "n"], [0.5, 0.9])]
    p = tmp_path / "r.trec"
    rw.write_run(rankings, p)
    assert p.read_text() == (
        "b Q0 x 1 3.0 rankwise\nb Q0 y 2 2.0 rankwise\nb Q0 z 3 1.0 rankwise\n"
        "a Q0 m 1 0.5 rankwise\na Q0 n 2 0.9 rankwise\n"
    )
    q = tmp_path / "g.trec"
    rw.write_run(iter(rankings), q)  # a generator works too
    assert q.read_text() == p.read_text()
    assert rw.read_run(p, order="rank")["a"].docids == ["m", "n"]
    assert rw.read_run(p)["a"].docids == ["n", "m"]
    assert sorted(os.listdir(tmp_path)) == ["g.trec", "r.trec"]


@pytest.mark.parametrize("tag", ["", "two words", "tab\there", "new\nline"])
def test_write_run_bad_tag(tmp_path, tag):
    with pytest.raises(InvalidInputError, match="tag"):
        rw.write_run({"q": {"a": 1.0}}, tmp_path / "r.trec", tag=tag)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("qid, docid", [("q", "a b"), ("q", "a\tb"), ("q", ""), ("q 1", "a"), ("", "a"), ("q", "a\nb")])
def test_write_run_ids_that_trec_cannot_hold(tmp_path, qid, docid):
    """An id with whitespace (or an empty id) cannot be written as a TREC
    column. write_run must refuse it (as it refuses such a tag) instead of
    writing a file that read_run then rejects or misreads."""
    p = tmp_path / "r.trec"
    run = [Ranking.from_order(qid, [docid, "z"])]
    try:
        rw.write_run(run, p)
    except InvalidInputError:
        assert not p.exists()
        return
    back = rw.read_run(p, order="given")
    assert back.to_dict() == rw.Run.from_rankings(run).to_dict()


def test_write_run_failure_leaves_no_temp_file(tmp_path):
    """When the final rename fails (the target is a directory), the temporary
    file must not be left behind."""
    target = tmp_path / "taken"
    target.mkdir()
    with pytest.raises((OSError, InvalidInputError)):
        rw.write_run({"q": {"a": 1.0}}, target)
    assert sorted(os.listdir(tmp_path)) == ["taken"]


# ---------------------------------------------------------------------------
# Run, Qrels and Ranking containers
# ---------------------------------------------------------------------------


def test_run_mapping_behaviour():
    run = rw.Run.from_dict({"q2": {"a": 1.0, "b": 2.0, "c": 2.0}, "q10": {"x": 0.0}, "q1": {"y": 5.0}})
    assert len(run) == 3
    assert list(run) == ["q2", "q10", "q1"]  # insertion order, not sorted
    assert list(run.keys()) == ["q2", "q10", "q1"]
    assert "q10" in run and "q3" not in run
    r = run["q2"]
    assert isinstance(r, Ranking) and r.qid == "q2"
    assert r.docids == ["c", "b", "a"]  # score desc, ties by doc id desc
    assert r.scores.dtype == np.float64 and r.scores.tolist() == [2.0, 2.0, 1.0]
    assert len(r) == 3
    assert run.n_entries == 5
    assert repr(run) == "Run(3 queries, 5 entries)"
    with pytest.raises(KeyError):
        run["q3"]
    with pytest.raises(KeyError):
        run[2]
    assert run.get("q3") is None
    assert [q for q, _ in run.items()] == list(run)
    assert [v.qid for v in run.values()] == list(run)


def test_run_from_dict_to_dict_round_trip():
    d = {"q1": {"a": 0.5, "b": 2.0, "c": -1.0}, "q2": {"z": 3.0}}
    run = rw.Run.from_dict(d)
    assert run.to_dict() == d
    assert list(run.to_dict()["q1"]) == ["b", "a", "c"]  # score order
    assert rw.Run.from_dict(run.to_dict()).to_dict() == d
    given = rw.Run.from_dict(d, order="given")
    assert list(given.to_dict()["q1"]) == ["a", "b", "c"]
    # numeric ids become strings
    assert rw.Run.from_dict({1: {2: 1.0}}).to_dict() == {"1": {"2": 1.0}}
    with pytest.raises(InvalidInputError, match="NaN"):
        rw.Run.from_dict({"q": {"a": float("nan")}})


def test_run_from_rankings():
    rs = [Ranking("q", ["a", "b"], [1.0, 2.0]), Ranking("p", ["c"], [0.0])]
    assert rw.Run.from_rankings(rs)["q"].docids == ["a", "b"]  # given order by default
    assert rw.Run.from_rankings(rs, order="score")["q"].docids == ["b", "a"]
    with pytest.raises(InvalidInputError, match="more than once"):
        rw.Run.from_rankings([rs[0], rs[0]])
    with pytest.raises(InvalidInputError, match="Ranking"):
        rw.Run.from_rankings([{"q": {"a": 1.0}}])


def test_ranking_from_order_and_validation():
    r = Ranking.from_order("q", ["c", "a", "b"], spend={"calls": 2})
    assert r.docids == ["c", "a", "b"]
    assert r.scores.tolist() == [3.0, 2.0, 1.0]
    assert r.spend == {"calls": 2}
    assert len(r) == 3
    assert rw.Run.from_rankings([r], order="score")["q"].docids == ["c", "a", "b"]
    empty = Ranking.from_order("e", [])
    assert len(empty) == 0 and empty.scores.shape == (0,)
    assert Ranking("q", [1, 2], [1, 0]).docids == ["1", "2"]
    with pytest.raises(InvalidInputError, match="scores"):
        Ranking("q", ["a", "b"], [1.0])


def test_qrels_mapping_behaviour(tmp_path):
    p = tmp_path / "qrels.txt"
    p.write_text("2 0 a 1\n2 0 b 0\n1 0 a 3\n\n2 0 c 2\n")
    q = rw.read_qrels(p)
    assert len(q) == 2
    assert list(q) == ["2", "1"]
    assert q["2"] == {"a": 1, "b": 0, "c": 2}
    assert q["1"] == {"a": 3}
    assert "1" in q and "3" not in q
    with pytest.raises(KeyError):
        q["3"]
    assert repr(q) == "Qrels(2 queries)"
    d = {k: v for k, v in q.items()}
    assert rw.Qrels.from_dict(d)["2"] == d["2"]
    assert list(rw.Qrels.from_dict(d)) == ["2", "1"]
    assert rw.Qrels.from_dict({1: {"a": np.int64(2)}})["1"] == {"a": 2}


@pytest.mark.parametrize("grade", [1.5, 2.7, float("nan"), 2**40, None, "high"])
def test_qrels_from_dict_rejects_non_integer_grades(grade):
    """read_qrels rejects a grade "1.5"; from_dict must not truncate 1.5 to 1
    silently, and out-of-range or non-numeric grades are input errors too
    (rankwise's contract: every bad-input error is a RankwiseError)."""
    with pytest.raises(InvalidInputError, match="grade"):
        rw.Qrels.from_dict({"q": {"a": grade}})


def test_qrels_from_dict_accepts_integer_types():
    assert rw.Qrels.from_dict({"q": {"a": 2, "b": np.int32(1), "c": 0, "d": -1}})["q"] == {
        "a": 2,
        "b": 1,
        "c": 0,
        "d": -1,
    }


@pytest.mark.parametrize("score", ["abc", None, [1.0]])
def test_run_from_dict_bad_scores_are_input_errors(score):
    with pytest.raises(InvalidInputError):
        rw.Run.from_dict({"q": {"a": score}})
