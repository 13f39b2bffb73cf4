"""Every input form users already have (issue 14): the plain ``{"query",
"docs"}`` form in JSON and JSONL, rank_llm's request files (list-JSON and
JSONL) and its ``Request`` objects, ``Request.from_texts``, ir_datasets
datasets, and rank_llm's Result JSONL as output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Union

import numpy as np
import pytest

import rankwise as rw
from conftest import SHARED_DATA as DATA
from rankwise import Candidate, InvalidInputError, Request
from rankwise.data import as_request
from rankwise.runs import write_rank_llm_jsonl

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "data"

# ---------------------------------------------------------------------------
# rank_llm's data classes, mirrored from src/rank_llm/data.py (castorini/rank_llm)
# ---------------------------------------------------------------------------


@dataclass
class RLQuery:
    text: str
    qid: Union[str, int]


@dataclass
class RLCandidate:
    docid: Union[str, int]
    score: float
    doc: Dict[str, Any]


@dataclass
class RLRequest:
    query: RLQuery
    candidates: List[RLCandidate] = field(default_factory=list)


def rl_write_json(data: List[RLRequest], path: Path) -> None:
    """rank_llm's DataWriter.write_in_json_format."""
    results = [{"query": d.query.__dict__, "candidates": [c.__dict__ for c in d.candidates]} for d in data]
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False), "utf-8")


def rl_write_jsonl(data: List[RLRequest], path: Path) -> None:
    """rank_llm's DataWriter.write_in_jsonl_format."""
    with open(path, "w", encoding="utf-8") as f:
        for d in data:
            f.write(
                json.dumps(
                    {"query": d.query.__dict__, "candidates": [c.__dict__ for c in d.candidates]}, ensure_ascii=False
                )
            )
            f.write("\n")


RL_REQUESTS = [
    RLRequest(
        RLQuery("how long is the life cycle of a flea", 264014),
        [
            RLCandidate("4834547", 15.5, {"segment": "The life cycle of a flea can last anywhere from 20 days."}),
            RLCandidate(6641238, 14.2, {"title": "Fleas", "contents": "A flea can live up to a year\u2028or more."}),
            RLCandidate("96852", 13.0, {"text": "Flea pupa. The larvae spin cocoons.", "segment": "ignored"}),
        ],
    ),
    RLRequest(
        RLQuery("what is a lobster roll", "1124210"),
        [RLCandidate("1", 3.0, {"content": "A lobster roll is a sandwich."})],
    ),
]

EXPECTED = [
    Request(
        "264014",
        "how long is the life cycle of a flea",
        [
            Candidate("4834547", "The life cycle of a flea can last anywhere from 20 days.", 15.5),
            Candidate("6641238", "Fleas: A flea can live up to a year\u2028or more.", 14.2),
            Candidate("96852", "Flea pupa. The larvae spin cocoons.", 13.0),
        ],
    ),
    Request("1124210", "what is a lobster roll", [Candidate("1", "A lobster roll is a sandwich.", 3.0)]),
]


def test_rank_llm_list_json(tmp_path):
    """Before: a list-JSON request file was sniffed as DL JSON and failed."""
    p = tmp_path / "requests.json"
    rl_write_json(RL_REQUESTS, p)
    assert rw.load_requests(p) == EXPECTED
    assert rw.load_requests(p, "rank-llm") == EXPECTED
    assert rw.load_requests(p, depth=1) == [Request(r.qid, r.query, r.candidates[:1]) for r in EXPECTED]
    with pytest.raises(InvalidInputError, match="entry 0"):
        rw.load_requests(p, "dl-json")


def test_rank_llm_jsonl(tmp_path):
    p = tmp_path / "requests.jsonl"
    rl_write_jsonl(RL_REQUESTS, p)
    assert rw.load_requests(p) == rw.load_requests(p, "rank-llm") == EXPECTED


def test_rank_llm_objects():
    assert [as_request(r) for r in RL_REQUESTS] == EXPECTED


def test_as_request_keeps_requests_as_they_are():
    r = EXPECTED[0]
    assert as_request(r) is r


def test_as_request_dicts_of_both_shapes():
    rl = {"query": {"text": "q", "qid": 3}, "candidates": [{"docid": 1, "score": 2.0, "doc": {"text": "a"}}]}
    assert as_request(rl) == Request("3", "q", [Candidate("1", "a", 2.0)])
    plain = {"query": "q", "docs": ["a", "b"]}
    assert as_request(plain) == Request("q", "q", [Candidate("0", "a"), Candidate("1", "b")])
    assert as_request(plain, default_qid="7").qid == "7"
    plain_ids = {
        "qid": "x",
        "query": "q",
        "docs": [{"id": "d1", "text": "a", "score": 1.5}, {"docid": 2, "content": "b"}],
    }
    assert as_request(plain_ids) == Request("x", "q", [Candidate("d1", "a", 1.5), Candidate("2", "b")])
    dl = {
        "query": "q",
        "hits": [
            {"qid": 9, "docid": "b", "rank": 2, "content": "B"},
            {"qid": 9, "docid": "a", "rank": 1, "content": "A"},
        ],
    }
    assert as_request(dl) == Request("9", "q", [Candidate("a", "A"), Candidate("b", "B")])
    assert as_request({"query": "q", "docs": [("d9", "text")]}) == Request("q", "q", [Candidate("d9", "text")])


def test_rerank_takes_rank_llm_objects_and_dicts():
    """Before: rerank() said "expected Request objects, got Request"."""
    from rankwise.scorers import as_scorer

    scorer = as_scorer(lambda calls: [float(len(c.doc.text)) for c in calls], "pointwise")
    expected = rw.rerank(EXPECTED, rw.Pointwise(), scorer, progress=False)
    assert [r.docids for r in rw.rerank(RL_REQUESTS, rw.Pointwise(), scorer, progress=False)] == [
        r.docids for r in expected
    ]
    assert expected[0].docids == [c.docid for c in sorted(EXPECTED[0].candidates, key=lambda c: -len(c.text))]
    dicts = [
        {"query": {"text": r.query.text, "qid": r.query.qid}, "candidates": [c.__dict__ for c in r.candidates]}
        for r in RL_REQUESTS
    ]
    assert [r.docids for r in rw.rerank(dicts, rw.Pointwise(), scorer, progress=False)] == [r.docids for r in expected]
    plain = [
        {"qid": r.qid, "query": r.query, "docs": [{"id": c.docid, "text": c.text} for c in r.candidates]}
        for r in EXPECTED
    ]
    assert [r.docids for r in rw.rerank(plain, rw.Pointwise(), scorer, progress=False)] == [r.docids for r in expected]


def test_real_rank_llm_classes_if_installed(tmp_path):
    """The same against rank_llm itself (``pip install --no-deps rank-llm dacite``
    is enough for rank_llm.data)."""
    data = pytest.importorskip("rank_llm.data")
    reqs = [
        data.Request(
            data.Query(r.query.text, r.query.qid), [data.Candidate(c.docid, c.score, dict(c.doc)) for c in r.candidates]
        )
        for r in RL_REQUESTS
    ]
    assert [as_request(r) for r in reqs] == EXPECTED
    for name, method in [("r.json", "write_in_json_format"), ("r.jsonl", "write_in_jsonl_format")]:
        getattr(data.DataWriter(reqs), method)(str(tmp_path / name))
        assert rw.load_requests(tmp_path / name) == EXPECTED
    # rank_llm reads what rankwise writes
    ranking = rw.Ranking("264014", ["96852", "4834547", "6641238"], np.array([3.0, 2.0, 1.0]), {"calls": 1.0})
    write_rank_llm_jsonl([ranking], EXPECTED, tmp_path / "out.jsonl")
    (back,) = data.read_requests_from_file(str(tmp_path / "out.jsonl"))
    assert back.query.qid == "264014" and [c.docid for c in back.candidates] == ranking.docids
    assert [c.score for c in back.candidates] == [3.0, 2.0, 1.0]


# ---------------------------------------------------------------------------
# the plain form
# ---------------------------------------------------------------------------

PLAIN = [
    {"qid": "q1", "query": "first", "docs": ["passage a", "passage b"]},
    {"query": "second", "docs": [{"id": "x", "text": "passage x"}, {"docid": "y", "content": "passage y", "score": 2}]},
]
PLAIN_EXPECTED = [
    Request("q1", "first", [Candidate("0", "passage a"), Candidate("1", "passage b")]),
    Request("1", "second", [Candidate("x", "passage x"), Candidate("y", "passage y", 2.0)]),  # qid: its position
]


def test_plain_json_list(tmp_path):
    p = tmp_path / "plain.json"
    p.write_text(json.dumps(PLAIN, indent=1))
    assert rw.load_requests(p) == rw.load_requests(p, "plain") == PLAIN_EXPECTED


def test_plain_jsonl(tmp_path):
    p = tmp_path / "plain.jsonl"
    p.write_text("".join(json.dumps(obj) + "\n" for obj in PLAIN))
    assert rw.load_requests(p) == PLAIN_EXPECTED


def test_plain_single_object(tmp_path):
    p = tmp_path / "one.json"
    p.write_text(json.dumps(PLAIN[0], indent=2))
    assert rw.load_requests(p) == PLAIN_EXPECTED[:1]
    p.write_text(json.dumps({"query": "no id", "docs": ["a"]}))
    assert rw.load_requests(p) == [Request("0", "no id", [Candidate("0", "a")])]


def test_explicit_format_must_match(tmp_path):
    p = tmp_path / "plain.json"
    p.write_text(json.dumps(PLAIN))
    for fmt in ("dl-json", "rank-llm"):
        with pytest.raises(InvalidInputError, match="entry 0: expected"):
            rw.load_requests(p, fmt)


# ---------------------------------------------------------------------------
# Request.from_texts
# ---------------------------------------------------------------------------


def test_from_texts():
    r = Request.from_texts("what is a flea", ["an insect", "a dog"])
    assert r == Request("q", "what is a flea", [Candidate("0", "an insect"), Candidate("1", "a dog")])
    r = Request.from_texts("x", ["a", "b"], qid=5, doc_ids=["d1", 2], scores=[2.0, 1.0])
    assert r == Request("5", "x", [Candidate("d1", "a", 2.0), Candidate("2", "b", 1.0)])
    with pytest.raises(InvalidInputError, match="2 docs but 1 doc ids"):
        Request.from_texts("x", ["a", "b"], doc_ids=["d1"])
    with pytest.raises(InvalidInputError, match="expected a sequence of passage texts, got str"):
        Request.from_texts("x", "ab")
    with pytest.raises(InvalidInputError, match="twice"):
        Request.from_texts("x", ["a", "b"], doc_ids=[1, "1"])


# ---------------------------------------------------------------------------
# output: rank_llm's Result JSONL with the spend inside
# ---------------------------------------------------------------------------


def test_write_rank_llm_jsonl(tmp_path):
    rankings = [
        rw.Ranking("1124210", ["1"], np.array([1.0]), {"calls": 1.0, "docs_shown": 1.0}),
        rw.Ranking.from_order("264014", ["96852", "6641238", "4834547"], spend={"calls": 2.0}, error="scorer failed"),
    ]
    out = tmp_path / "results.jsonl"
    write_rank_llm_jsonl(rankings, RL_REQUESTS, out)
    lines = out.read_text("utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == 3
    first, second = (json.loads(line) for line in lines[:2])
    assert first == {
        "query": {"text": "what is a lobster roll", "qid": "1124210"},
        "candidates": [{"docid": "1", "score": 1.0, "doc": {"text": "A lobster roll is a sandwich."}}],
        "spend": {"calls": 1.0, "docs_shown": 1.0},
    }
    assert [c["docid"] for c in second["candidates"]] == ["96852", "6641238", "4834547"]
    assert [c["score"] for c in second["candidates"]] == [3.0, 2.0, 1.0]
    assert second["spend"] == {"calls": 2.0} and second["error"] == "scorer failed"
    assert "\u2028" in out.read_text("utf-8")  # ensure_ascii=False, as rank_llm writes
    # read back as requests, in ranked order
    back = rw.load_requests(out)
    assert [r.qid for r in back] == ["1124210", "264014"]
    assert [c.docid for c in back[1].candidates] == ["96852", "6641238", "4834547"]
    assert {c.docid: c.text for c in back[1].candidates} == {c.docid: c.text for c in EXPECTED[0].candidates}
    write_rank_llm_jsonl(rankings, EXPECTED, tmp_path / "bare.jsonl", spend=False)
    assert all("spend" not in json.loads(line) for line in (tmp_path / "bare.jsonl").read_text().split("\n")[:-1])
    assert sorted(os.listdir(tmp_path)) == ["bare.jsonl", "results.jsonl"]  # no temp file left


def test_write_rank_llm_jsonl_errors(tmp_path):
    good = rw.Ranking("1124210", ["1"], np.array([1.0]))
    with pytest.raises(InvalidInputError, match="no request for ranked query 'zz'"):
        write_rank_llm_jsonl([rw.Ranking("zz", ["1"], np.array([1.0]))], EXPECTED, tmp_path / "o.jsonl")
    with pytest.raises(InvalidInputError, match="document 'nope' of query '1124210' is not among"):
        write_rank_llm_jsonl([rw.Ranking("1124210", ["nope"], np.array([1.0]))], EXPECTED, tmp_path / "o.jsonl")
    with pytest.raises(InvalidInputError, match="spend: 'calls' of query '1124210' is nan"):
        bad = rw.Ranking("1124210", ["1"], np.array([1.0]), {"calls": float("nan")})
        write_rank_llm_jsonl([bad], EXPECTED, tmp_path / "o.jsonl")
    with pytest.raises(InvalidInputError, match="is a directory"):
        write_rank_llm_jsonl([good], EXPECTED, tmp_path)
    with pytest.raises(InvalidInputError, match="cannot write"):
        write_rank_llm_jsonl([good], EXPECTED, tmp_path / "no" / "such" / "dir.jsonl")
    assert not (tmp_path / "o.jsonl").exists()


def test_dl19_through_rank_llm_files(tmp_path):
    """The shared DL19 candidates, written as rank_llm list-JSON and JSONL, read
    back as the same requests."""
    if not (DATA / "dl19" / "bm25_top100.json").is_file():
        pytest.skip(f"shared TREC DL data not found at {DATA}")
    reqs = rw.load_requests(DATA / "dl19" / "bm25_top100.json", depth=20)
    rl = [
        RLRequest(RLQuery(r.query, r.qid), [RLCandidate(c.docid, c.score, {"contents": c.text}) for c in r.candidates])
        for r in reqs
    ]
    rl_write_json(rl, tmp_path / "dl19.json")
    rl_write_jsonl(rl, tmp_path / "dl19.jsonl")
    assert rw.load_requests(tmp_path / "dl19.json") == reqs
    assert rw.load_requests(tmp_path / "dl19.jsonl") == reqs
    assert [as_request(r) for r in rl] == reqs
    rankings = [rw.first_stage_ranking(r) for r in reqs]
    write_rank_llm_jsonl(rankings, reqs, tmp_path / "out.jsonl")
    assert rw.load_requests(tmp_path / "out.jsonl") == reqs


# ---------------------------------------------------------------------------
# ir_datasets
# ---------------------------------------------------------------------------


class _Rec:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)

    def default_text(self) -> str:
        return self.__dict__["text"]


class FakeDataset:
    """The part of an ir_datasets Dataset that irds.load uses."""

    def __init__(self, scored: bool = True) -> None:
        self.scored = scored

    def queries_iter(self):
        return iter(
            [_Rec(query_id="1", text="first", description="first, at length"), _Rec(query_id="2", text="second")]
        )

    def docs_store(self):
        docs = {f"d{i}": _Rec(doc_id=f"d{i}", text=f"doc {i}") for i in range(5)}

        class Store:
            def get_many(self, ids):
                return {i: docs[i] for i in ids if i in docs}

        return Store()

    def has_scoreddocs(self):
        return self.scored

    def scoreddocs_iter(self):
        rows = [("1", "d3", 9.0), ("1", "d1", 7.5), ("1", "d0", 8.0), ("2", "d4", 1.0)]
        return iter(_Rec(query_id=q, doc_id=d, score=s) for q, d, s in rows)


def test_irds_dataset_object():
    from rankwise import irds

    reqs = irds.load(FakeDataset())
    assert reqs == [
        Request(
            "1", "first", [Candidate("d3", "doc 3", 9.0), Candidate("d0", "doc 0", 8.0), Candidate("d1", "doc 1", 7.5)]
        ),
        Request("2", "second", [Candidate("d4", "doc 4", 1.0)]),
    ]
    assert [len(r) for r in irds.load(FakeDataset(), depth=2)] == [2, 1]
    assert irds.load(FakeDataset(), order="given")[0].candidates[0].docid == "d3"
    assert [c.docid for c in irds.load(FakeDataset(), order="given")[0].candidates] == ["d3", "d1", "d0"]
    run = {"2": {"d0": 1.0, "d2": 3.0}}
    assert irds.load(FakeDataset(scored=False), run=run) == [
        Request("2", "second", [Candidate("d2", "doc 2", 3.0), Candidate("d0", "doc 0", 1.0)])
    ]


def test_irds_errors(tmp_path, monkeypatch):
    from rankwise import irds

    with pytest.raises(InvalidInputError, match="has no scoreddocs; pass run="):
        irds.load(FakeDataset(scored=False))
    with pytest.raises(InvalidInputError, match="documents of query '2' are not in FakeDataset's collection.*'zz'"):
        irds.load(FakeDataset(), run={"2": {"zz": 1.0}})
    with pytest.raises(InvalidInputError, match="query '9' of the run is not among FakeDataset's queries"):
        irds.load(FakeDataset(), run={"9": {"d1": 1.0}})
    with pytest.raises(InvalidInputError, match="has no field 'narrative'"):
        irds.load(FakeDataset(), query_field="narrative")
    assert irds.load(FakeDataset(), query_field="description", run={"1": {"d1": 1.0}})[0].query == "first, at length"
    with pytest.raises(InvalidInputError, match="depth"):
        irds.load(FakeDataset(), depth=0)
    run = tmp_path / "run.trec"
    run.write_text("1 Q0 d1 1 5.0 x\n1 Q0 d2 2 6.0 x\n")
    assert [c.docid for c in irds.load(FakeDataset(), run=run)[0].candidates] == ["d2", "d1"]
    assert [c.docid for c in irds.load(FakeDataset(), run=run, order="rank")[0].candidates] == ["d1", "d2"]
    monkeypatch.setitem(sys.modules, "ir_datasets", None)  # as if not installed
    with pytest.raises(InvalidInputError, match="needs the ir_datasets package"):
        irds.load("msmarco-passage/trec-dl-2019")


class BadScoredDocs(FakeDataset):
    def __init__(self, row: Any) -> None:
        super().__init__()
        self.row = row

    def scoreddocs_iter(self):
        return iter([_Rec(query_id="1", doc_id="d1", score=1.0), _Rec(**self.row)])


@pytest.mark.parametrize(
    "row, pattern",
    [
        ({"query_id": "1", "doc_id": "d2", "score": "abc"}, r"entry 1: score 'abc' is not a number"),
        ({"query_id": "1", "doc_id": "d2", "score": float("nan")}, r"entry 1: score nan is not a finite number"),
        ({"query_id": "1", "doc_id": None, "score": 1.0}, r"entry 1: doc_id must be a string or an integer"),
        ({"query_id": 1.5, "doc_id": "d2", "score": 1.0}, r"entry 1: query_id must be a string or an integer"),
        ({"query_id": "1", "doc_id": "d1", "score": 2.0}, r"entry 1: document 'd1' listed twice for query '1'"),
    ],
)
def test_irds_bad_scoreddocs(row, pattern):
    """Before: float('abc') raised a raw ValueError, and a None doc id became the document 'None'."""
    from rankwise import irds

    with pytest.raises(InvalidInputError, match=r"run: BadScoredDocs's scoreddocs, " + pattern):
        irds.load(BadScoredDocs(row))


def test_irds_formats_read_the_fixture_layout(tmp_path):
    """In process: ir_datasets' own format classes (TsvDocs, TsvQueries,
    TrecScoredDocs) over the tests/data/irds files, as its msmarco-passage
    module builds them, through irds.load."""
    pytest.importorskip("ir_datasets")
    from ir_datasets.datasets.base import Dataset
    from ir_datasets.formats import TrecScoredDocs, TsvDocs, TsvQueries
    from ir_datasets.util import LocalDownload

    from rankwise import irds

    shutil.copytree(FIXTURES / "irds", tmp_path / "home")
    base = tmp_path / "home" / "msmarco-passage"
    ds = Dataset(
        TsvDocs(LocalDownload(base / "collection.tsv"), namespace="msmarco", lang="en"),
        TsvQueries(LocalDownload(base / "trec-dl-2019" / "queries.tsv"), namespace="msmarco", lang="en"),
        TrecScoredDocs(LocalDownload(base / "trec-dl-2019" / "ms.run")),
    )
    reqs = irds.load(ds)
    collection = dict(line.split("\t", 1) for line in (base / "collection.tsv").read_text().split("\n") if line)
    queries = dict(
        line.split("\t", 1) for line in (base / "trec-dl-2019" / "queries.tsv").read_text().split("\n") if line
    )
    order: Dict[str, List[str]] = {}
    for line in (base / "trec-dl-2019" / "ms.run").read_text().split("\n"):
        if line:
            q, d = line.split("\t")
            order.setdefault(q, []).append(d)
    assert [r.qid for r in reqs] == list(order)
    for r in reqs:
        assert r.query == queries[r.qid]
        assert [c.docid for c in r.candidates] == order[r.qid]  # no scores: file order kept
        assert all(c.text == collection[c.docid] for c in r.candidates)


IRDS_SCRIPT = textwrap.dedent(
    """
    import json, os, shutil, sys
    home = sys.argv[2]
    shutil.copytree(sys.argv[1], home)
    os.environ["IR_DATASETS_HOME"] = home
    import rankwise as rw
    from rankwise import irds
    out = {}
    reqs = irds.load("msmarco-passage/trec-dl-2019")
    out["reqs"] = [[r.qid, r.query, [[c.docid, c.text, c.score] for c in r.candidates]] for r in reqs]
    run = os.path.join(home, "given.trec")
    with open(run, "w") as f:
        f.write("104861 Q0 2 1 3.5 bm25\\n104861 Q0 5 2 1.5 bm25\\n")
    out["with_run"] = [[c.docid for c in r.candidates] for r in irds.load("msmarco-passage/trec-dl-2019", run=run)]
    out["depth"] = [len(r) for r in irds.load("msmarco-passage/trec-dl-2019", depth=2)]
    try:
        irds.load("msmarco-passage/trec-dl-2020")  # its scoreddocs are not in the cache
    except rw.InvalidInputError as e:
        out["missing"] = str(e)
    try:
        irds.load("no-such-dataset/at-all")
    except rw.InvalidInputError as e:
        out["unknown"] = str(e)
    print(json.dumps(out))
    """
)


@pytest.mark.slow
def test_irds_local_cache_layout(tmp_path):
    """ir_datasets itself, pointed at a small copy of its cache layout for
    msmarco-passage/trec-dl-2019 (collection.tsv, queries.tsv, ms.run), with
    the network guarded: what is not cached is an error, never a download."""
    pytest.importorskip("ir_datasets")
    script = tmp_path / "irds_script.py"
    script.write_text(IRDS_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "IR_DATASETS_HOME"}
    env["IR_DATASETS_DL_TRIES"] = "1"
    proc = subprocess.run(
        [sys.executable, str(script), str(FIXTURES / "irds"), str(tmp_path / "home")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().split("\n")[-1])
    collection = dict(
        line.split("\t", 1)
        for line in (FIXTURES / "irds/msmarco-passage/collection.tsv").read_text().split("\n")
        if line
    )
    queries = dict(
        line.split("\t", 1)
        for line in (FIXTURES / "irds/msmarco-passage/trec-dl-2019/queries.tsv").read_text().split("\n")
        if line
    )
    run_rows = [
        line.split("\t")
        for line in (FIXTURES / "irds/msmarco-passage/trec-dl-2019/ms.run").read_text().split("\n")
        if line
    ]
    expected: Dict[str, List[str]] = {}
    for q, d in run_rows:
        expected.setdefault(q, []).append(d)
    # MS MARCO's qid/docid run has no scores: the file order is kept
    assert [[q, text, [d for d, _, _ in cands]] for q, text, cands in out["reqs"]] == [
        [q, queries[q], docs] for q, docs in expected.items()
    ]
    assert all(text == collection[d] and score == 0.0 for _, _, cands in out["reqs"] for d, text, score in cands)
    assert out["with_run"] == [["2", "5"]]
    assert out["depth"] == [min(2, len(d)) for d in expected.values()]
    assert "not in the local ir_datasets cache" in out["missing"] and "top1000" in out["missing"]
    assert "'no-such-dataset/at-all' is not an ir_datasets dataset id" in out["unknown"]
