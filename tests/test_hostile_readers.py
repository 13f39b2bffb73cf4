"""Hostile inputs for every text reader (issue 10): a UTF-8 byte-order mark,
line separators that ``str.splitlines`` would split on, malformed DL-JSON
hits, int/str id collisions, undecodable bytes. Each case was a wrong result
or a raw Python exception before; now it reads right or raises
``InvalidInputError`` naming the file and the line or entry."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any, Callable, Dict

import numpy as np
import pytest

import rankwise as rw
from conftest import SHARED_DATA as DATA
from rankwise import Candidate, InvalidInputError, Request
from rankwise.scorers import Replay

ROOT = Path(__file__).resolve().parents[1]
BOM = b"\xef\xbb\xbf"

# ---------------------------------------------------------------------------
# one small file per reader, and how to read it
# ---------------------------------------------------------------------------

RUN = b"q1 Q0 d1 1 2.5 bm25\nq1 Q0 d2 2 1.5 bm25\nq2 Q0 d1 1 0.5 bm25\n"
QRELS = b"q1 0 d1 2\nq1 0 d2 0\nq2 0 d1 1\n"
TOPICS_TSV = b"q1\tfirst query\nq2\tsecond query\n"
TOPICS_JSONL = b'{"qid": "q1", "query": "first query"}\n{"qid": "q2", "query": "second query"}\n'
DOCS_TSV = b"d1\tpassage one\nd2\tpassage two\n"
DOCS_JSONL = b'{"docid": "d1", "text": "passage one"}\n{"docid": "d2", "text": "passage two"}\n'
DL_JSON = json.dumps(
    [
        {
            "query": "first query",
            "hits": [
                {"qid": "q1", "docid": "d1", "rank": 1, "score": 2.5, "content": "passage one"},
                {"qid": "q1", "docid": "d2", "rank": 2, "score": 1.5, "content": "passage two"},
            ],
        }
    ]
).encode()
RANK_LLM = {
    "query": {"text": "first query", "qid": "q1"},
    "candidates": [
        {"docid": "d1", "score": 2.5, "doc": {"text": "passage one"}},
        {"docid": "d2", "score": 1.5, "doc": {"text": "passage two"}},
    ],
}
RANK_LLM_JSONL = (json.dumps(RANK_LLM) + "\n").encode()
RANK_LLM_LIST = json.dumps([RANK_LLM], indent=2).encode()
PLAIN_JSON = json.dumps({"qid": "q1", "query": "first query", "docs": ["passage one", "passage two"]}).encode()
RECORDING = b'{"qid": "q1", "docids_in_prompt_order": ["d1", "d2"], "llm_permutation_0based": [1, 0]}\n'


def _trec_requests(path: Path) -> Any:
    topics = path.with_name("topics.tsv")
    docs = path.with_name("docs.tsv")
    topics.write_bytes(TOPICS_TSV)
    docs.write_bytes(DOCS_TSV)
    return rw.load_requests(path, topics=topics, docs=docs)


def _replay(path: Path) -> Any:
    replay = Replay.from_jsonl(path)
    call = rw.scorers.ListwiseCall("q1", "first query", (Candidate("d1", ""), Candidate("d2", "")))
    return replay([call])


def _as_dict(obj: Any) -> Any:
    """Something comparable for each reader's result."""
    if isinstance(obj, (rw.Run, rw.Qrels)):
        return {q: (list(v.docids), v.scores.tolist()) if isinstance(v, rw.Ranking) else v for q, v in obj.items()}
    return obj


READERS: Dict[str, tuple[bytes, str, Callable[[Path], Any]]] = {
    "trec run": (RUN, "run.trec", rw.read_run),
    "qrels": (QRELS, "qrels.txt", rw.read_qrels),
    "topics tsv": (TOPICS_TSV, "t.tsv", rw.load_topics),
    "topics jsonl": (TOPICS_JSONL, "t.jsonl", rw.load_topics),
    "docs tsv": (DOCS_TSV, "d.tsv", rw.load_documents),
    "docs jsonl": (DOCS_JSONL, "d.jsonl", rw.load_documents),
    "dl json": (DL_JSON, "dl.json", rw.load_requests),
    "rank_llm jsonl": (RANK_LLM_JSONL, "r.jsonl", rw.load_requests),
    "rank_llm list json": (RANK_LLM_LIST, "r.json", rw.load_requests),
    "plain json": (PLAIN_JSON, "p.json", rw.load_requests),
    "trec + topics + docs": (RUN, "first.trec", _trec_requests),
    "recording": (RECORDING, "calls.jsonl", _replay),
}


def _read(tmp_path: Path, name: str, content: bytes) -> Any:
    _, filename, reader = READERS[name]
    path = tmp_path / filename
    path.write_bytes(content)
    return _as_dict(reader(path))


# ---------------------------------------------------------------------------
# 1. a UTF-8 byte-order mark is dropped by every reader
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(READERS))
def test_bom_is_dropped(tmp_path, name):
    content = READERS[name][0]
    plain = _read(tmp_path, name, content)
    assert _read(tmp_path, name, BOM + content) == plain
    # Windows line ends too
    assert _read(tmp_path, name, BOM + content.replace(b"\n", b"\r\n")) == plain


def test_bom_qrels_evaluate_as_without(tmp_path):
    """The reproduction: a BOM qrels file evaluated 44 queries (one of them
    '\\ufeff19335') at nDCG@10 0.4943 instead of the 43 at 0.5058."""
    if not (DATA / "dl19" / "qrels.txt").is_file():
        pytest.skip(f"shared TREC DL data not found at {DATA}")
    raw = (DATA / "dl19" / "qrels.txt").read_bytes()
    bom = tmp_path / "qrels_bom.txt"
    bom.write_bytes(BOM + raw)
    run = rw.read_run(DATA / "dl19" / "bm25_top100.trec")
    plain, with_bom = rw.read_qrels(DATA / "dl19" / "qrels.txt"), rw.read_qrels(bom)
    assert list(with_bom) == list(plain) and len(with_bom) == 43
    assert rw.evaluate(run, with_bom, ["ndcg@10"]) == rw.evaluate(run, plain, ["ndcg@10"])


def test_bom_run_first_qid(tmp_path):
    p = tmp_path / "run.trec"
    p.write_bytes(BOM + RUN)
    assert list(rw.read_run(p)) == ["q1", "q2"]


# ---------------------------------------------------------------------------
# 2. lines end at \n only: U+2028, U+0085, \x0c and friends stay inside a record
# ---------------------------------------------------------------------------

SEPARATORS = ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1c", "\x1d", "\x1e"]


@pytest.mark.parametrize("sep", SEPARATORS, ids=[f"U+{ord(s):04X}" for s in SEPARATORS])
def test_jsonl_line_with_raw_separator(tmp_path, sep):
    text = f"passage{sep}with a separator"
    rec = {"query": {"text": f"query{sep}x", "qid": "q1"}, "candidates": [{"docid": "d1", "doc": {"text": text}}]}
    p = tmp_path / "r.jsonl"
    p.write_text(json.dumps(rec, ensure_ascii=False) + "\n" + RANK_LLM_JSONL.decode().replace("q1", "q2"), "utf-8")
    reqs = rw.load_requests(p)
    assert [r.qid for r in reqs] == ["q1", "q2"]
    assert reqs[0].query == f"query{sep}x" and reqs[0].candidates[0].text == text

    docs = tmp_path / "docs.jsonl"
    docs.write_text(json.dumps({"docid": "d1", "text": text}, ensure_ascii=False) + "\n", "utf-8")
    assert rw.load_documents(docs) == {"d1": text}
    topics = tmp_path / "topics.jsonl"
    topics.write_text(json.dumps({"qid": "q1", "query": text}, ensure_ascii=False) + "\n", "utf-8")
    assert rw.load_topics(topics) == {"q1": text}


@pytest.mark.parametrize("sep", SEPARATORS, ids=[f"U+{ord(s):04X}" for s in SEPARATORS])
def test_tsv_field_with_raw_separator(tmp_path, sep):
    docs = tmp_path / "docs.tsv"
    docs.write_text(f"d1\tpage one{sep}page two\nd2\tsecond\n", "utf-8")
    assert rw.load_documents(docs) == {"d1": f"page one{sep}page two", "d2": "second"}
    topics = tmp_path / "topics.tsv"
    topics.write_text(f"q1\ta{sep}b\nq2\tc\n", "utf-8")
    assert rw.load_topics(topics) == {"q1": f"a{sep}b", "q2": "c"}


def test_tsv_ids_without_surrounding_spaces(tmp_path):
    """' q1 ' in a topics TSV never matched the run's 'q1'."""
    topics = tmp_path / "t.tsv"
    topics.write_text(" q1 \tfirst query \nq2\tsecond\n")
    assert rw.load_topics(topics) == {"q1": "first query ", "q2": "second"}
    docs = tmp_path / "d.tsv"
    docs.write_text("d1  \tone\n\ttwo\n")
    with pytest.raises(InvalidInputError, match=r"d\.tsv, line 2: empty document id"):
        rw.load_documents(docs)
    docs.write_text("d1  \tone\n d1\tagain\n")
    with pytest.raises(InvalidInputError, match=r"d\.tsv, line 2: document 'd1' appears twice"):
        rw.load_documents(docs)


@pytest.mark.parametrize("sep", ["\u00a0", "\x85", "\u2028"], ids=["U+00A0", "U+0085", "U+2028"])
def test_trec_ids_keep_unicode_spaces(tmp_path, sep):
    p = tmp_path / "run.trec"
    p.write_text(f"q1 Q0 d{sep}1 1 2.5 bm25\nq1 Q0 d2 2 1.5 bm25\n", "utf-8")
    assert rw.read_run(p, order="rank")["q1"].docids == [f"d{sep}1", "d2"]


def test_crlf_is_one_line_end(tmp_path):
    docs = tmp_path / "docs.tsv"
    docs.write_bytes(b"d1\tone\r\nd2\ttwo\r\n")
    assert rw.load_documents(docs) == {"d1": "one", "d2": "two"}
    lone = tmp_path / "lone.tsv"
    lone.write_bytes(b"d1\tone\rstill one\nd2\ttwo\n")  # a lone \r is not a line end
    assert rw.load_documents(lone) == {"d1": "one\rstill one", "d2": "two"}


READER_MODULES = ["_io.py", "data.py", "runs.py", "irds.py", "recording.py", "scorers/replay.py", "scorers/cache.py"]


def test_no_reader_splits_on_splitlines():
    """The class closed: no reader module calls str.splitlines (it splits on
    U+2028, U+0085, \\x0c, ... that JSON strings and passages may hold)."""
    pkg = ROOT / "python" / "rankwise"
    for name in READER_MODULES:
        path = pkg / name
        if not path.is_file():
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "splitlines":
                pytest.fail(f"{name}, line {node.lineno}: splitlines() splits records at U+2028/U+0085/\\x0c")


# ---------------------------------------------------------------------------
# 3. malformed DL-JSON hits: InvalidInputError naming the file, entry and hit
# ---------------------------------------------------------------------------

HIT = {"qid": "1037798", "docid": "d1", "rank": 1, "score": 2.0, "content": "text"}


def _dl(tmp_path: Path, hits: Any, query: Any = "who is robert gray") -> Path:
    good = {"query": "ok", "hits": [dict(HIT, qid="1", docid="x")]}
    p = tmp_path / "dl19.json"
    p.write_text(json.dumps([good, {"query": query, "hits": hits}]))
    return p


BAD_HITS = {
    "hits are numbers": ([1, 2], r"entry 1.*hit 0: expected an object"),
    "hits null": (None, r"entry 1: hits must be a list"),
    "hits a string": ("abc", r"entry 1: hits must be a list"),
    "hit null": ([HIT, None], r"entry 1 \(qid '1037798'\), hit 1: expected an object"),
    "rank a string beside an int": (
        [dict(HIT, rank="1"), dict(HIT, docid="d2", rank=2)],
        r"entry 1 \(qid '1037798'\), hit 0: rank '1' is not an integer",
    ),
    "rank missing beside an int": (
        [dict(HIT, docid="d2", rank=2), {k: v for k, v in HIT.items() if k != "rank"}],
        r"hit 1: no rank",
    ),
    "rank a float": ([dict(HIT, rank=1.5)], r"rank 1.5 is not an integer"),
    "score abc": (
        [HIT, dict(HIT, docid="d2", rank=2, score="abc")],
        r"entry 1 \(qid '1037798'\), hit 1: score 'abc' is not a number",
    ),
    "score null": ([dict(HIT, score=None)], r"hit 0: score None is not a number"),
    "score a list": ([dict(HIT, score=[1])], r"hit 0: score \[1\] is not a number"),
    "score Infinity": ([dict(HIT, score=1e999)], r"invalid JSON: Infinity is not a finite number"),
    "content null": ([dict(HIT, content=None)], r"hit 0: content is None, not a string"),
    "content a number": ([dict(HIT, content=5)], r"hit 0: content is 5, not a string"),
    "content missing": ([{k: v for k, v in HIT.items() if k != "content"}], r"hit 0: a hit lacks key 'content'"),
    "docid null": ([dict(HIT, docid=None)], r"hit 0: docid must be a string or an integer, got None"),
    "docid a dict": ([dict(HIT, docid={"a": 1})], r"hit 0: docid must be a string or an integer"),
    "qid a float": ([dict(HIT, qid=1.5)], r"hit 0: qid must be a string or an integer, got 1.5"),
    "qids differ": ([HIT, dict(HIT, docid="d2", rank=2, qid="2")], r"hit 1: qid '2' differs"),
    "no qid at all": ([{k: v for k, v in HIT.items() if k != "qid"}], r"entry 1: no qid"),
    "int and str doc id collide": ([dict(HIT, docid=7), dict(HIT, docid="7", rank=2)], r"document '7' twice"),
    "empty hits": ([], r"entry 1: no hits"),
}


@pytest.mark.parametrize("case", list(BAD_HITS))
def test_dl_json_bad_hits(tmp_path, case):
    hits, pattern = BAD_HITS[case]
    p = _dl(tmp_path, hits)
    prefix = r"dl19\.json: " if pattern.startswith(("entry", "invalid")) else r"dl19\.json: entry 1.*"
    with pytest.raises(InvalidInputError, match=prefix + pattern):
        rw.load_requests(p)


def test_dl_json_bad_query(tmp_path):
    with pytest.raises(InvalidInputError, match=r"dl19\.json: entry 1.*query is None, not a string"):
        rw.load_requests(_dl(tmp_path, [HIT], query=None))
    with pytest.raises(InvalidInputError, match=r"dl19\.json: entry 1.*query is \['x'\], not a string"):
        rw.load_requests(_dl(tmp_path, [HIT], query=["x"]))


def test_dl_json_entry_not_an_object(tmp_path):
    p = tmp_path / "dl19.json"
    p.write_text(json.dumps([{"query": "ok", "hits": [HIT]}, 5]))
    with pytest.raises(InvalidInputError, match=r"dl19\.json: entry 1: expected .*got 5"):
        rw.load_requests(p)


BAD_RANK_LLM = {
    "score x": ({"docid": "d1", "score": "x", "doc": {"text": "t"}}, r"candidate 0: score 'x' is not a number"),
    "score null": ({"docid": "d1", "score": None, "doc": {"text": "t"}}, r"candidate 0: score None is not a number"),
    "doc a string": ({"docid": "d1", "doc": "t"}, r"candidate 0: doc must be an object"),
    "text a number": ({"docid": "d1", "doc": {"text": 5}}, r"candidate 0: text is 5, not a string"),
    "title a list": ({"docid": "d1", "doc": {"title": [1], "text": "t"}}, r"candidate 0: title is \[1\]"),
    "no docid": ({"doc": {"text": "t"}}, r"candidate 0: no docid"),
    "candidate a number": (3, r"candidate 0: no docid"),
}


@pytest.mark.parametrize("case", list(BAD_RANK_LLM))
def test_rank_llm_bad_candidates(tmp_path, case):
    cand, pattern = BAD_RANK_LLM[case]
    rec = {"query": {"text": "q", "qid": "1037798"}, "candidates": [cand]}
    p = tmp_path / "r.jsonl"
    p.write_text(RANK_LLM_JSONL.decode() + json.dumps(rec) + "\n")
    with pytest.raises(InvalidInputError, match=r"r\.jsonl: line 2 \(qid '1037798'\), " + pattern):
        rw.load_requests(p)


def test_rank_llm_bad_query(tmp_path):
    p = tmp_path / "r.jsonl"
    for query, pattern in [
        ({"text": "q"}, r"line 1: expected .* no 'qid' found"),
        ({"text": None, "qid": "1"}, r"line 1 \(qid '1'\): query text is None"),
        ({"text": "q", "qid": None}, r"line 1: qid must be a string or an integer, got None"),
        ("flat", r"line 1: expected"),
    ]:
        p.write_text(json.dumps({"query": query, "candidates": []}) + "\n")
        with pytest.raises(InvalidInputError, match=pattern):
            rw.load_requests(p)
    p.write_text(json.dumps({"query": {"text": "q", "qid": "1"}, "candidates": {"a": 1}}) + "\n")
    with pytest.raises(InvalidInputError, match=r"line 1: candidates must be a list"):
        rw.load_requests(p)


# ---------------------------------------------------------------------------
# 4. int ids are strings up front; an int/str collision is caught before any work
# ---------------------------------------------------------------------------


def test_int_ids_become_strings():
    r = Request(19335, "q", [Candidate(7, "a"), Candidate(np.int64(8), "b", np.float32(0.5))])
    assert r.qid == "19335" and [c.docid for c in r.candidates] == ["7", "8"]
    assert isinstance(r.candidates[1].score, float)
    assert r == Request("19335", "q", [Candidate("7", "a"), Candidate("8", "b", 0.5)])


def test_int_qid_writes_a_run(tmp_path):
    """Before: an int qid passed every check and failed in write_run, after the work."""
    r = Request(19335, "q", [Candidate(7, "a", 2.0), Candidate(8, "b", 1.0)])
    rw.write_run([rw.first_stage_ranking(r)], tmp_path / "run.trec")
    assert list(rw.read_run(tmp_path / "run.trec")) == ["19335"]


def test_int_str_docid_collision_caught_at_construction():
    with pytest.raises(InvalidInputError, match=r"query 'q' lists document '1' twice"):
        Request("q", "x", [Candidate(1, "a"), Candidate("1", "b")])


def test_numpy_strings_are_plain_strings():
    """numpy.str_ ids and texts (e.g. from a DataFrame) were refused as "not a string"."""
    a = np.array(["q7", "a query", "d1", "a passage"])
    r = Request(a[0], a[1], [Candidate(a[2], a[3], np.float64(1.5))])
    assert [type(x) for x in (r.qid, r.query, r.candidates[0].docid, r.candidates[0].text)] == [str] * 4
    assert r == Request("q7", "a query", [Candidate("d1", "a passage", 1.5)])


def test_int_str_collision_caught_at_load(tmp_path):
    rec = {
        "query": {"text": "q", "qid": 5},
        "candidates": [{"docid": 1, "doc": {"text": "a"}}, {"docid": "1", "doc": {"text": "b"}}],
    }
    p = tmp_path / "r.jsonl"
    p.write_text(json.dumps(rec) + "\n")
    with pytest.raises(InvalidInputError, match=r"r\.jsonl: line 1 \(qid '5'\).*document '1' twice"):
        rw.load_requests(p)


@pytest.mark.parametrize(
    "make, pattern",
    [
        (lambda: Request(None, "q"), r"qid must be a string or an integer, got None"),
        (lambda: Request(1.5, "q"), r"qid must be a string or an integer, got 1.5"),
        (lambda: Request(True, "q"), r"qid must be a string or an integer, got True"),
        (lambda: Request("q", None), r"query 'q' has query text None"),
        (lambda: Request("q", "x", "abc"), r"expected a list of Candidate, got str"),
        (lambda: Request("q", "x", ["abc"]), r"expected Candidate objects, got str"),
        (lambda: Candidate(None, "t"), r"docid must be a string or an integer, got None"),
        (lambda: Candidate(("a",), "t"), r"docid must be a string or an integer"),
        (lambda: Candidate("a", None), r"document 'a' has text None, not a string"),
        (lambda: Candidate("a", "t", float("nan")), r"document 'a' has score nan is not a finite number"),
        (lambda: Candidate("a", "t", "1.5"), r"document 'a' has score '1.5' is not a number"),
        (lambda: Candidate("a", "t", 10**400), r"is not a finite number"),
    ],
)
def test_request_and_candidate_reject_bad_fields(make, pattern):
    with pytest.raises(InvalidInputError, match=pattern):
        make()


# ---------------------------------------------------------------------------
# 5. the class: undecodable bytes, broken JSON, missing files, for every reader
# ---------------------------------------------------------------------------


def _third_line_bad(content: bytes) -> bytes:
    """The content with an invalid UTF-8 byte on line 3 (and a line after it)."""
    lines = content.split(b"\n")
    while len(lines) < 4:
        lines.insert(1, lines[0])
    lines[2] = lines[2][:3] + b"\xff" + lines[2][3:]
    return b"\n".join(lines)


@pytest.mark.parametrize("name", list(READERS))
def test_invalid_utf8_names_file_and_line(tmp_path, name):
    content, filename, reader = READERS[name]
    if name in ("dl json", "plain json"):
        content = content.replace(b", ", b",\n")
    path = tmp_path / filename
    path.write_bytes(_third_line_bad(content))
    with pytest.raises(InvalidInputError, match=rf"{filename}, line 3: (not valid|invalid) UTF-8"):
        reader(path)


@pytest.mark.parametrize("name", list(READERS))
def test_utf16_is_an_error_not_garbage(tmp_path, name):
    content, filename, reader = READERS[name]
    path = tmp_path / filename
    path.write_bytes(content.decode().encode("utf-16"))
    with pytest.raises(InvalidInputError, match=filename):
        reader(path)


@pytest.mark.parametrize("name", list(READERS))
def test_missing_file_and_directory(tmp_path, name):
    _, filename, reader = READERS[name]
    with pytest.raises(InvalidInputError, match=rf"not found.*{filename}"):
        reader(tmp_path / filename)
    (tmp_path / "adir").mkdir()
    with pytest.raises(InvalidInputError, match="adir"):
        reader(tmp_path / "adir")


@pytest.mark.parametrize(
    "content, pattern",
    [
        ("[" * 100_000 + "]" * 100_000, r"r\.json: JSON nested too deeply"),
        ('[{"query": "q", "hits": [}]', r"r\.json: invalid JSON \(column 26\)"),
        ('{\n  "query": "q",\n  "docs": [\n}', r"r\.json: invalid JSON \(line 4, column 1\)"),
        ('{"query": "q", "docs": ["a"], "x": NaN}', r"r\.json.*NaN is not a finite number"),
        ('{"query": "q", "docs": ["a"], "x": ' + "1" * 5000 + "}", r"r\.json: invalid JSON"),
        ('{"query": "q", "docs": [{"id": "a", "text": "t", "score": 1e999}]}', r"doc 0: score inf is not a finite"),
        ("5", r"r\.json: expected a JSON object or a list of them, got 5"),
        ("[]", r"r\.json: no requests"),
        ('"just a string"', r"r\.json: expected a JSON object"),
        ('[{"query": "q"}]', r"r\.json: entry 0: expected .*got an object with keys \['query'\]"),
    ],
)
def test_broken_json_documents(tmp_path, content, pattern):
    p = tmp_path / "r.json"
    p.write_text(content)
    with pytest.raises(InvalidInputError, match=pattern):
        rw.load_requests(p)


def test_broken_jsonl_line(tmp_path):
    p = tmp_path / "r.jsonl"
    p.write_text(RANK_LLM_JSONL.decode() + "\n" + "[" * 100_000 + "\n")
    with pytest.raises(InvalidInputError, match=r"r\.jsonl, line 3: JSON nested too deeply"):
        rw.load_requests(p)
    p.write_text(RANK_LLM_JSONL.decode() + '{"query": {"text": "q", "qid": "2"}, "candidates": [\n')
    with pytest.raises(InvalidInputError, match=r"r\.jsonl, line 2: invalid JSON"):
        rw.load_requests(p)
    p.write_text(RANK_LLM_JSONL.decode() + "[1, 2]\n")
    with pytest.raises(InvalidInputError, match=r"r\.jsonl: line 2: expected"):
        rw.load_requests(p)


@pytest.mark.parametrize(
    "reader, filename, content, pattern",
    [
        (rw.load_topics, "t.jsonl", '{"qid": null, "query": "x"}\n', r"t\.jsonl, line 1: qid must be a string"),
        (rw.load_topics, "t.jsonl", '{"qid": "1", "query": ["x"]}\n', r"t\.jsonl, line 1: query is \['x'\]"),
        (rw.load_topics, "t.jsonl", '{"qid": "1"}\n', r"t\.jsonl, line 1: expected \{qid, query\}"),
        (rw.load_topics, "t.jsonl", '{"qid": "1", "query": "x"\n', r"t\.jsonl, line 1: invalid JSON"),
        (rw.load_topics, "t.tsv", "\tno id\n", r"t\.tsv, line 1: empty query id"),
        (rw.load_documents, "d.jsonl", '{"docid": [1], "text": "x"}\n', r"d\.jsonl, line 1: docid must be"),
        (rw.load_documents, "d.jsonl", '{"docid": "1", "text": 3}\n', r"d\.jsonl, line 1: text is 3"),
        (rw.load_documents, "d.jsonl", '{"docid": "1", "text": null}\n', r"d\.jsonl, line 1: no passage text"),
        (rw.load_documents, "d.jsonl", '{"docid": "1", "text": "x"}\n{"docid": 1, "text": "y"}\n', r"line 2.*twice"),
    ],
)
def test_topics_and_docs_bad_fields(tmp_path, reader, filename, content, pattern):
    p = tmp_path / filename
    p.write_text(content)
    with pytest.raises(InvalidInputError, match=pattern):
        reader(p)


def test_as_request_names_what_it_got():
    from rankwise.data import as_request

    with pytest.raises(InvalidInputError, match=r"requests: int: expected"):
        as_request(5)
    with pytest.raises(InvalidInputError, match=r"requests: dict: expected .*got an object with keys \['q'\]"):
        as_request({"q": 1})
    with pytest.raises(InvalidInputError, match=r"requests: dict \(qid 'q'\), doc 1: expected a passage text"):
        as_request({"query": "x", "docs": ["a", 5]})


# ---------------------------------------------------------------------------
# found by tests/test_fuzz_readers.py
# ---------------------------------------------------------------------------


def test_every_leading_bom_is_dropped(tmp_path):
    """A doubled mark (two files concatenated) left U+FEFF in the first qid,
    and write_run's file then read back without it."""
    p = tmp_path / "run.trec"
    p.write_bytes(BOM + BOM + RUN)
    assert list(rw.read_run(p)) == ["q1", "q2"]


def test_trec_request_errors_name_the_run(tmp_path):
    run = tmp_path / "first.trec"
    run.write_bytes(RUN)
    with pytest.raises(InvalidInputError, match=r"first\.trec is a TREC run, which needs topics="):
        rw.load_requests(run)
    topics = tmp_path / "t.tsv"
    topics.write_text("q1\tonly one\n")
    docs = tmp_path / "d.tsv"
    docs.write_bytes(DOCS_TSV)
    with pytest.raises(InvalidInputError, match=r"query 'q2' of the run .*first\.trec is not in .*t\.tsv"):
        rw.load_requests(run, topics=topics, docs=docs)
    topics.write_bytes(TOPICS_TSV)
    docs.write_text("d1\tone\n")
    with pytest.raises(InvalidInputError, match=r"query 'q1' of the run .*first\.trec are not in .*d\.tsv.*'d2'"):
        rw.load_requests(run, topics=topics, docs=docs)


def test_recording_deeply_nested_lines(tmp_path):
    """A torn last line nested too deeply raised RecursionError; it is dropped
    like any torn line. Inside the file it is an error naming the line."""
    p = tmp_path / "calls.jsonl"
    p.write_bytes(RECORDING + b"[" * 100_000)
    assert len(Replay.from_jsonl(p)) == 1
    p.write_bytes(b"[" * 100_000 + b"\n" + RECORDING)
    with pytest.raises(InvalidInputError, match=r"calls\.jsonl, line 1: JSON nested too deeply"):
        Replay.from_jsonl(p)


PATH_READERS = [rw.read_run, rw.read_qrels, rw.load_topics, rw.load_documents, rw.load_requests, Replay.from_jsonl]


@pytest.mark.parametrize("reader", PATH_READERS, ids=lambda f: f.__qualname__)
@pytest.mark.parametrize(
    "path, pattern",
    [
        (123, r"expected a file path \(str or os.PathLike\), got int"),
        (None, r"expected a file path \(str or os.PathLike\), got NoneType"),
        ("run\x00.trec", r"a file path cannot hold a NUL byte"),
        (b"/nonexistent/run.trec", r"file not found: /nonexistent/run\.trec"),
    ],
)
def test_bad_paths(reader, path, pattern):
    """Before: TypeError or ValueError ('embedded null byte') from the OS layer."""
    with pytest.raises(InvalidInputError, match=pattern):
        reader(path)


def test_deeply_nested_lines_outside_the_readers(tmp_path):
    """A line nested too deeply for json raised RecursionError in the JSONL
    readers that decode lines themselves: the run journal on resume, the call
    recorder's torn-tail cut and rankwise.ray's JSONL sniff."""
    from rankwise import ray as rwray
    from rankwise.recording import CallRecorder
    from rankwise.runs import RunWriter

    deep = b"[" * 100_000
    out = tmp_path / "out.trec"
    out.write_text("")
    (tmp_path / "out.trec.rankwise.jsonl").write_bytes(deep + b"\n")
    with pytest.raises(InvalidInputError, match=r"out\.trec\.rankwise\.jsonl is not a rankwise journal"):
        RunWriter(out, [Request.from_texts("q", ["a"], qid="q1")], mode="resume")

    calls = tmp_path / "calls.jsonl"
    calls.write_bytes(RECORDING + b'{"qid": ' + deep)  # a torn last line
    CallRecorder(calls).close()
    assert calls.read_bytes() == RECORDING

    reqs = tmp_path / "r.jsonl"
    reqs.write_bytes(b'{"a": ' + deep + b"\n" + RANK_LLM_JSONL)
    with pytest.raises(InvalidInputError, match=r"r\.jsonl.*JSON nested too deeply"):
        list(rwray.iter_requests(reqs))


@pytest.mark.parametrize("name", list(READERS))
def test_gzip_files_read_as_their_text(tmp_path, name):
    """MS MARCO and TREC files often come gzipped: read as the text inside."""
    import gzip

    content = READERS[name][0]
    assert _read(tmp_path, name, gzip.compress(BOM + content)) == _read(tmp_path, name, content)
    with pytest.raises(InvalidInputError, match=rf"{READERS[name][1]} is not a readable gzip file"):
        _read(tmp_path, name, gzip.compress(content)[:-6])  # truncated


def test_gzip_stream_lines(tmp_path):
    import gzip

    from rankwise import _io

    p = tmp_path / "docs.tsv.gz"
    p.write_bytes(gzip.compress(b"d1\tone\r\nd2\ttwo \xe2\x80\xa8 more\n"))
    assert (
        list(_io.stream_lines(p, "docs"))
        == list(_io.read_lines(p, "docs"))
        == [(1, "d1\tone"), (2, "d2\ttwo \u2028 more")]
    )
    p.write_bytes(gzip.compress(b"d1\tone\n" * 1000)[:-30])
    with pytest.raises(InvalidInputError, match=r"docs\.tsv\.gz is not a readable gzip file"):
        list(_io.stream_lines(p, "docs"))
