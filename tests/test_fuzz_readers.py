"""A fuzz suite for every reader, with a fixed example budget: arbitrary
bytes, mutated valid files and structured-but-wrong JSON find no crash and no
unclear error. A reader either returns a well-formed result or raises a
rankwise error whose message names the file."""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rankwise as rw
from rankwise import Candidate, RankwiseError, Request
from rankwise.scorers import Replay

BUDGET = settings(
    max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow], database=None
)
SMALL = settings(BUDGET, max_examples=50)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="rankwise-fuzz-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _requests_ok(reqs: Any) -> None:
    assert isinstance(reqs, list)
    for r in reqs:
        assert isinstance(r, Request) and type(r.qid) is str and type(r.query) is str
        assert len({c.docid for c in r.candidates}) == len(r.candidates)
        for c in r.candidates:
            assert isinstance(c, Candidate) and type(c.docid) is str and type(c.text) is str
            assert type(c.score) is float and np.isfinite(c.score)


def _run_ok(run: Any, folder: Path) -> None:
    assert isinstance(run, rw.Run)
    for r in run.values():
        assert type(r.qid) is str and all(type(d) is str for d in r.docids)
    # a run that was read can be written and read back unchanged
    out = folder / "roundtrip.trec"
    rw.write_run(run, out)
    back = rw.read_run(out, order="given")
    assert list(back) == list(run)
    for q in run:
        assert back[q].docids == run[q].docids
        assert np.array_equal(back[q].scores, run[q].scores)


def _qrels_ok(qrels: Any, folder: Path) -> None:
    assert isinstance(qrels, rw.Qrels)
    for q, judged in qrels.items():
        assert type(q) is str and all(type(d) is str and type(g) is int for d, g in judged.items())


def _topics_ok(topics: Any, folder: Path) -> None:
    assert all(type(k) is str and type(v) is str and k.strip() for k, v in topics.items())


def _docs_ok(docs: Any, folder: Path) -> None:
    assert all(type(k) is str and type(v) is str for k, v in docs.items())


def _replay_ok(replay: Any, folder: Path) -> None:
    assert isinstance(replay, Replay) and len(replay) >= 0


def _trec_requests(path: Path) -> Any:
    topics = path.with_name("fuzz_topics.tsv")
    docs = path.with_name("fuzz_docs.tsv")
    topics.write_text("q1\tfirst\nq2\tsecond\n")
    docs.write_text("d1\tone\nd2\ttwo\nd3\tthree\n")
    return rw.load_requests(path, topics=topics, docs=docs)


READERS: dict[str, tuple[str, Callable[[Path], Any], Callable[[Any, Path], None]]] = {
    "trec run": ("fuzz.trec", rw.read_run, _run_ok),
    "qrels": ("fuzz.qrels", rw.read_qrels, _qrels_ok),
    "topics": ("fuzz_t.tsv", rw.load_topics, _topics_ok),
    "docs": ("fuzz_d.jsonl", rw.load_documents, _docs_ok),
    "requests": ("fuzz_r.json", rw.load_requests, lambda r, f: _requests_ok(r)),
    "dl-json": ("fuzz_dl.json", lambda p: rw.load_requests(p, "dl-json"), lambda r, f: _requests_ok(r)),
    "rank-llm": ("fuzz_rl.jsonl", lambda p: rw.load_requests(p, "rank-llm"), lambda r, f: _requests_ok(r)),
    "plain": ("fuzz_p.json", lambda p: rw.load_requests(p, "plain"), lambda r, f: _requests_ok(r)),
    "trec requests": ("fuzz_first.trec", _trec_requests, lambda r, f: _requests_ok(r)),
    "recording": ("fuzz_calls.jsonl", Replay.from_jsonl, _replay_ok),
}


def check(folder: Path, name: str, content: bytes) -> None:
    """Read ``content`` with reader ``name``: a good result, or a rankwise
    error naming the file; anything else fails the test."""
    filename, reader, ok = READERS[name]
    path = folder / filename
    path.write_bytes(content)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = reader(path)
    except RankwiseError as e:
        assert filename in str(e), f"the error does not name the file: {e}"
        return
    ok(result, folder)


# ---------------------------------------------------------------------------
# valid seeds, and mutations of them
# ---------------------------------------------------------------------------

REQ = {
    "query": {"text": "what is a flea", "qid": "q1"},
    "candidates": [
        {"docid": "d1", "score": 2.5, "doc": {"title": "Fleas", "text": "small insects"}},
        {"docid": 7, "score": 1, "doc": {"segment": "a segment"}},
    ],
}
SEEDS = {
    "trec run": b"q1 Q0 d1 1 2.5 bm25\nq1 Q0 d2 2 1.5 bm25\nq2 Q0 d3 1 0.5 bm25\n",
    "qrels": b"q1 0 d1 2\nq1 0 d2 0\nq2 0 d3 1\n",
    "topics": b'q1\tfirst query\n{"qid": "q2", "query": "second"}\n',
    "docs": b'{"docid": "d1", "title": "T", "text": "one"}\nd2\ttwo\n{"id": 3, "contents": "three"}\n',
    "requests": json.dumps(
        [{"query": "q", "hits": [{"qid": 1, "docid": "a", "rank": 1, "score": 1.0, "content": "A"}]}]
    ).encode(),
    "dl-json": json.dumps(
        [
            {
                "query": "q",
                "hits": [
                    {"qid": "1", "docid": "a", "rank": 2, "score": 1.0, "content": "A"},
                    {"qid": "1", "docid": "b", "rank": 1, "score": 2.0, "content": "B"},
                ],
            }
        ],
        indent=1,
    ).encode(),
    "rank-llm": (json.dumps(REQ) + "\n" + json.dumps(REQ).replace('"q1"', '"q2"') + "\n").encode(),
    "plain": json.dumps([{"query": "q", "docs": ["a", {"id": "x", "text": "b", "score": 2}]}]).encode(),
    "trec requests": b"q1 Q0 d1 1 2.5 bm25\nq1 Q0 d2 2 1.5 bm25\nq2 Q0 d3 1 0.5 bm25\n",
    "recording": (
        b'{"qid": "q1", "docids_in_prompt_order": ["d1", "d2"], "llm_permutation_0based": [1, 0]}\n'
        b'{"qid": "q1", "docids_in_prompt_order": ["d2", "d3"], "llm_response": "[2] > [1]"}\n'
    ),
}
NASTY = [
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"\x00",
    b"\r",
    b"\n",
    b"\r\n",
    b"\t",
    b" ",
    b"#",
    "\u2028".encode(),
    "\x85".encode(),
    b"\x0c",
    b"{",
    b"}",
    b"[",
    b"]",
    b'"',
    b",",
    b":",
    b"null",
    b"NaN",
    b"1e999",
    b"-",
    b"9" * 30,
    b"[" * 3000,
    "\ud83d".encode("utf-8", "surrogatepass"),
]


@st.composite
def mutated(draw: Any, name: str) -> bytes:
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "delete", "replace", "truncate", "duplicate"]))
        pos = draw(st.integers(0, len(data)))
        if op == "insert":
            data[pos:pos] = draw(st.sampled_from(NASTY) | st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == "replace" and pos < len(data):
            data[pos] = draw(st.integers(0, 255))
        elif op == "truncate":
            del data[pos:]
        elif op == "duplicate":
            data[pos:pos] = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@pytest.mark.parametrize("name", list(READERS))
def test_arbitrary_bytes(folder, name):
    @BUDGET
    @given(st.binary(max_size=200) | st.text(max_size=100).map(lambda s: s.encode("utf-8", "surrogatepass")))
    def run(content: bytes) -> None:
        check(folder, name, content)

    run()


@pytest.mark.parametrize("name", list(READERS))
def test_mutated_valid_files(folder, name):
    @BUDGET
    @given(mutated(name))
    def run(content: bytes) -> None:
        check(folder, name, content)

    run()


def test_seeds_read(folder):
    """The seeds themselves are valid, so the mutations start from real files."""
    for name, content in SEEDS.items():
        filename, reader, ok = READERS[name]
        path = folder / filename
        path.write_bytes(content)
        ok(reader(path), folder)


# ---------------------------------------------------------------------------
# structured but wrong: the right shapes holding any JSON value
# ---------------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
SCALAR_OR_ANY = st.sampled_from(["a", "1", 1, 0, -1, 2.5, None, True, "", " ", "x y", "\u2028"]) | JSON


def hit() -> st.SearchStrategy[Any]:
    return (
        st.fixed_dictionaries(
            {},
            optional={
                "qid": SCALAR_OR_ANY,
                "docid": SCALAR_OR_ANY,
                "rank": SCALAR_OR_ANY,
                "score": SCALAR_OR_ANY,
                "content": SCALAR_OR_ANY,
            },
        )
        | JSON
    )


def candidate() -> st.SearchStrategy[Any]:
    doc = st.fixed_dictionaries({}, optional={"text": SCALAR_OR_ANY, "title": SCALAR_OR_ANY, "segment": SCALAR_OR_ANY})
    return (
        st.fixed_dictionaries(
            {}, optional={"docid": SCALAR_OR_ANY, "score": SCALAR_OR_ANY, "doc": doc | JSON, "text": SCALAR_OR_ANY}
        )
        | JSON
    )


DL_ENTRY = st.fixed_dictionaries(
    {"query": SCALAR_OR_ANY, "hits": st.lists(hit(), max_size=4) | JSON}, optional={"qid": SCALAR_OR_ANY}
)
RL_ENTRY = st.fixed_dictionaries(
    {
        "query": st.fixed_dictionaries({}, optional={"text": SCALAR_OR_ANY, "qid": SCALAR_OR_ANY}) | JSON,
        "candidates": st.lists(candidate(), max_size=4) | JSON,
    }
)
PLAIN_ENTRY = st.fixed_dictionaries(
    {"query": SCALAR_OR_ANY, "docs": st.lists(SCALAR_OR_ANY | candidate(), max_size=4) | JSON},
    optional={"qid": SCALAR_OR_ANY},
)
ENTRY = DL_ENTRY | RL_ENTRY | PLAIN_ENTRY | JSON


def _dump(obj: Any, ascii_only: bool) -> str:
    return json.dumps(obj, ensure_ascii=ascii_only)


@BUDGET
@given(st.lists(ENTRY, max_size=4), st.booleans(), st.sampled_from(["list", "jsonl", "one"]))
def test_structured_requests(folder, entries, ascii_only, layout):
    if layout == "list":
        text = _dump(entries, ascii_only)
    elif layout == "one":
        text = _dump(entries[0] if entries else {}, ascii_only)
    else:
        text = "".join(_dump(e, ascii_only) + "\n" for e in entries)
    for name in ("requests", "dl-json", "rank-llm", "plain"):
        check(folder, name, text.encode("utf-8", "surrogatepass"))


def test_structured_requests_as_objects():
    """as_request on the same structures: a Request or an InvalidInputError."""
    from rankwise.data import as_request

    @BUDGET
    @given(ENTRY)
    def run(entry: Any) -> None:
        try:
            r = as_request(entry)
        except rw.InvalidInputError as e:
            assert str(e).startswith("requests: ")
            return
        _requests_ok([r])

    run()


@SMALL
@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "qid": SCALAR_OR_ANY,
                "query_id": SCALAR_OR_ANY,
                "query": SCALAR_OR_ANY,
                "text": SCALAR_OR_ANY,
                "docid": SCALAR_OR_ANY,
                "id": SCALAR_OR_ANY,
                "title": SCALAR_OR_ANY,
                "contents": SCALAR_OR_ANY,
            },
        )
        | JSON,
        max_size=5,
    ),
    st.booleans(),
)
def test_structured_topics_and_docs(folder, rows, ascii_only):
    text = "".join(_dump(r, ascii_only) + "\n" for r in rows).encode("utf-8", "surrogatepass")
    check(folder, "topics", text)
    check(folder, "docs", text)


@SMALL
@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "qid": SCALAR_OR_ANY,
                "docids_in_prompt_order": st.lists(SCALAR_OR_ANY, max_size=4) | JSON,
                "llm_permutation_0based": st.lists(SCALAR_OR_ANY, max_size=4) | JSON,
                "llm_response": SCALAR_OR_ANY,
            },
        )
        | JSON,
        max_size=4,
    ),
    st.booleans(),
)
def test_structured_recordings(folder, rows, ascii_only):
    text = "".join(_dump(r, ascii_only) + "\n" for r in rows).encode("utf-8", "surrogatepass")
    check(folder, "recording", text)


TOKEN = st.sampled_from(["q1", "Q0", "d1", "1", "0", "-1", "2.5", "nan", "inf", "1e999", "x", "#", "\u00a0", "9" * 25])


@SMALL
@given(st.lists(st.lists(TOKEN, min_size=0, max_size=8), max_size=6), st.sampled_from([" ", "\t", "  "]))
def test_structured_trec_lines(folder, rows, sep):
    text = "".join(sep.join(r) + "\n" for r in rows).encode()
    for name in ("trec run", "qrels", "trec requests"):
        check(folder, name, text)


@BUDGET
@given(
    st.lists(
        st.sampled_from(NASTY) | st.binary(max_size=6) | st.sampled_from([b"a", b"bc", b"\xef\xbb\xbfx"]), max_size=12
    )
)
def test_stream_lines_is_read_lines(folder, parts):
    """The lazy reader (rankwise.ray's streaming input) gives the lines the
    whole-file reader gives, or the same kind of error on the same line."""
    from rankwise import _io

    path = folder / "lines.txt"
    path.write_bytes(b"".join(parts))
    try:
        whole = list(_io.read_lines(path, "path"))
    except rw.InvalidInputError as e:
        with pytest.raises(rw.InvalidInputError) as lazy:
            list(_io.stream_lines(path, "path"))
        assert str(e).split(": not valid UTF-8")[0] == str(lazy.value).split(": not valid UTF-8")[0]
        return
    assert list(_io.stream_lines(path, "path")) == whole


class _Rec:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


class _FuzzDataset:
    """An ir_datasets-like dataset whose records hold anything."""

    def __init__(self, queries: Any, docs: Any, scored: Any) -> None:
        self.queries, self.docs, self.scored = queries, docs, scored

    def queries_iter(self) -> Any:
        return iter(_Rec(query_id=q, text=t) for q, t in self.queries)

    def docs_store(self) -> Any:
        docs = {d: _Rec(doc_id=d, text=t) for d, t in self.docs if isinstance(d, str)}

        class Store:
            def get_many(self, ids: Any) -> Any:
                return {i: docs[i] for i in ids if i in docs}

        return Store()

    def scoreddocs_iter(self) -> Any:
        return iter(_Rec(query_id=q, doc_id=d, score=s) for q, d, s in self.scored)


IDS = st.sampled_from(["1", "2", "d1", "d2", 1, 2, None, 1.5, True, "", [1]])


@BUDGET
@given(
    st.lists(st.tuples(IDS, SCALAR_OR_ANY), max_size=4),
    st.lists(st.tuples(IDS, SCALAR_OR_ANY), max_size=4),
    st.lists(st.tuples(IDS, IDS, SCALAR_OR_ANY), max_size=5),
)
def test_irds_any_records(queries, docs, scored):
    """irds.load over records holding anything: requests, or an InvalidInputError."""
    from rankwise import irds

    try:
        reqs = irds.load(_FuzzDataset(queries, docs, scored))
    except rw.InvalidInputError as e:
        assert str(e).split(":")[0] in ("run", "queries", "docs", "dataset")
        return
    _requests_ok(reqs)
