"""Rerank requests (a query and its candidates) and the readers that load them:
the TREC DL JSON of ``bm25_top100.json``, rank_llm's request files (JSONL and
list-JSON), a plain ``{"query", "docs"}`` form, and a TREC run joined with a
topics file and a document source; :func:`as_request` turns rank_llm
``Request`` objects and plain dicts into :class:`Request`."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Tuple, Union

import numpy as np

from ._errors import InvalidInputError
from ._io import finite, parse_json, read_lines, read_text, split_lines, where_of
from .runs import Order, PathLike, Ranking, read_run

__all__ = [
    "Candidate",
    "Request",
    "as_request",
    "load_requests",
    "load_topics",
    "load_documents",
    "first_stage_ranking",
]

Format = Literal["dl-json", "rank-llm", "plain", "trec"]
FORMATS = ("dl-json", "rank-llm", "plain", "trec")
TEXT_KEYS = ("text", "segment", "contents", "content", "body", "passage")
ID_KEYS = ("docid", "doc_id", "id", "_id", "pid")
QID_KEYS = ("qid", "query_id", "id", "_id")


def _id(value: Any, what: str) -> str:
    """An id as ``str``: strings as they are, integers (Python or numpy, not
    bool) as their decimal text; anything else is an error naming ``what``."""
    if isinstance(value, str):
        return str(value)  # a str subclass (numpy.str_) as a plain str
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    raise InvalidInputError(f"{what} must be a string or an integer, got {_show(value)}")


def _show(value: Any) -> str:
    """A short rendering of a bad value for a message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _plain_str(value: Any, what: str) -> str:
    """A str (subclasses such as numpy.str_ made plain), else an error ``"{what} VALUE, not a string"``."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} {_show(value)}, not a string")
    return str(value)


def _score(value: Any, what: str) -> float:
    if type(value) is int and -(2**53) <= value <= 2**53:  # exact, finite
        return float(value)
    if finite(value):
        return float(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        raise InvalidInputError(f"{what} {_show(value)} is not a finite number")
    raise InvalidInputError(f"{what} {_show(value)} is not a number")


@dataclass(frozen=True)
class Candidate:
    """One candidate document: its id, its text and its first-stage score.

    An integer ``docid`` is stored as its decimal string (so ``7`` and ``"7"``
    are the same document, and a query listing both is an error); the score
    must be a finite number.
    """

    docid: str
    text: str
    score: float = 0.0

    def __post_init__(self) -> None:
        if type(self.docid) is not str:
            object.__setattr__(self, "docid", _id(self.docid, "docid"))
        if type(self.text) is not str:
            object.__setattr__(self, "text", _plain_str(self.text, f"text: document {self.docid!r} has text"))
        if type(self.score) is not float or not finite(self.score):
            object.__setattr__(self, "score", _score(self.score, f"score: document {self.docid!r} has score"))


@dataclass(frozen=True)
class Request:
    """A query and its candidates in first-stage order (best first).

    An integer ``qid`` is stored as its decimal string. A document id that
    appears twice (including ``7`` beside ``"7"``) is an error.
    """

    qid: str
    query: str
    candidates: List[Candidate] = field(default_factory=list)

    def __post_init__(self) -> None:
        if type(self.qid) is not str:
            object.__setattr__(self, "qid", _id(self.qid, "qid"))
        if type(self.query) is not str:
            object.__setattr__(self, "query", _plain_str(self.query, f"query: query {self.qid!r} has query text"))
        if type(self.candidates) is not list:
            if isinstance(self.candidates, (str, bytes, Mapping)) or not isinstance(self.candidates, Iterable):
                raise InvalidInputError(
                    f"candidates: query {self.qid!r}: expected a list of Candidate, got {type(self.candidates).__name__}"
                )
            object.__setattr__(self, "candidates", list(self.candidates))
        seen = set()
        for c in self.candidates:
            if not isinstance(c, Candidate):
                raise InvalidInputError(
                    f"candidates: query {self.qid!r}: expected Candidate objects, got {type(c).__name__}"
                )
            if c.docid in seen:
                raise InvalidInputError(f"candidates: query {self.qid!r} lists document {c.docid!r} twice")
            seen.add(c.docid)

    def __len__(self) -> int:
        return len(self.candidates)

    @classmethod
    def from_texts(
        cls,
        query: str,
        docs: Sequence[str],
        qid: str = "q",
        doc_ids: Optional[Sequence[Union[str, int]]] = None,
        scores: Optional[Sequence[float]] = None,
    ) -> "Request":
        """A request from a query and passage texts in first-stage order.

        Args:
            query: the query text.
            docs: the passages, best first.
            qid: the query id (default ``"q"``).
            doc_ids: one id per passage; default their positions ``"0"``,
                ``"1"``, ...
            scores: first-stage scores; default ``0.0`` each.
        """
        if isinstance(docs, (str, bytes)) or not isinstance(docs, Sequence):
            raise InvalidInputError(f"docs: expected a sequence of passage texts, got {type(docs).__name__}")
        ids = [str(i) for i in range(len(docs))] if doc_ids is None else list(doc_ids)
        sc = [0.0] * len(docs) if scores is None else list(scores)
        if len(ids) != len(docs) or len(sc) != len(docs):
            raise InvalidInputError(
                f"doc_ids/scores: {len(docs)} docs but {len(ids)} doc ids and {len(sc)} scores; give one of each per doc"
            )
        return cls(qid, query, [Candidate(_id(d, "doc_ids: an id"), t, s) for d, t, s in zip(ids, docs, sc)])


def first_stage_ranking(request: Request) -> Ranking:
    """The request's candidates in first-stage order, as a :class:`Ranking`."""
    scores = np.array([c.score for c in request.candidates], dtype=np.float64)
    return Ranking(request.qid, [c.docid for c in request.candidates], scores)


# ---------------------------------------------------------------------------
# converting one request-shaped object (a file entry, a dict, a rank_llm object)
# ---------------------------------------------------------------------------


def _text_of(value: Any, at: str, key: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{at}: {key} is {_show(value)}, not a string")
    return value


def _doc_text(doc: Mapping[str, Any], at: str) -> str:
    """The passage of a document dict: the first non-null text key, with a
    non-empty title prepended as ``"title: text"``."""
    key = next((k for k in TEXT_KEYS if doc.get(k) is not None), None)
    if key is None:
        raise InvalidInputError(f"{at}: no passage text (looked for keys {', '.join(TEXT_KEYS)})")
    text = _text_of(doc[key], at, key)
    title = doc.get("title")
    if title is not None and not isinstance(title, str):
        raise InvalidInputError(f"{at}: title is {_show(title)}, not a string")
    return f"{title}: {text}" if title else text


def _candidates(items: Any, at: str, what: str) -> List[Any]:
    if not isinstance(items, (list, tuple)):
        raise InvalidInputError(f"{at}: {what} must be a list, got {_show(items)}")
    return list(items)


def _build(qid: str, query: str, cands: List[Candidate], at: str) -> Request:
    try:
        return Request(qid, query, cands)
    except InvalidInputError as e:
        raise InvalidInputError(f"{at}: {e}") from None


def _from_dl_json(entry: Mapping[str, Any], at: str, depth: Optional[int]) -> Request:
    """``{"query": str, "hits": [{"qid", "docid", "rank", "score", "content"}]}``."""
    hits = _candidates(entry["hits"], at, "hits")
    if not hits:
        raise InvalidInputError(f"{at}: no hits")
    qid: Optional[str] = _id(entry["qid"], f"{at}: qid") if "qid" in entry else None
    first = hits[0]
    if qid is None and isinstance(first, Mapping) and isinstance(first.get("qid"), (str, int)):
        qid = _id(first["qid"], f"{at}, hit 0: qid")  # named in the messages below
    ranks: List[Optional[int]] = []
    rows: List[Tuple[str, str, float]] = []
    for j, h in enumerate(hits):
        if type(h) is dict:  # fast path for a well-formed hit; anything else is checked below
            d, t, sc, rk, hq = h.get("docid"), h.get("content"), h.get("score", 0.0), h.get("rank"), h.get("qid", qid)
            if (
                type(d) is str
                and type(t) is str
                and type(sc) is float
                and sc - sc == 0.0  # finite
                and (rk is None or type(rk) is int)
                and qid is not None
                and (hq == qid or (type(hq) is int and str(hq) == qid))
            ):
                ranks.append(rk)
                rows.append((d, t, sc))
                continue
        hat = f"{at}{'' if qid is None else f' (qid {qid!r})'}, hit {j}"
        if not isinstance(h, Mapping):
            raise InvalidInputError(f"{hat}: expected an object with docid and content, got {_show(h)}")
        for key in ("docid", "content"):
            if key not in h:
                raise InvalidInputError(f"{hat}: a hit lacks key {key!r}")
        if "qid" in h:
            hq = _id(h["qid"], f"{hat}: qid")
            if qid is None:
                qid = hq
            elif hq != qid:
                raise InvalidInputError(f"{hat}: qid {hq!r} differs from the entry's qid {qid!r}")
        rank = h.get("rank")
        if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int)):
            raise InvalidInputError(f"{hat}: rank {_show(rank)} is not an integer")
        ranks.append(rank)
        score = _score(h["score"], f"{hat}: score") if "score" in h else 0.0
        rows.append((_id(h["docid"], f"{hat}: docid"), _text_of(h["content"], hat, "content"), score))
    if qid is None:
        raise InvalidInputError(f"{at}: no qid (neither the entry nor its hits give one)")
    if any(r is not None for r in ranks):
        if any(r is None for r in ranks):
            j = ranks.index(None)
            raise InvalidInputError(f"{at} (qid {qid!r}), hit {j}: no rank, while other hits have one")
        order = sorted(range(len(rows)), key=lambda j: ranks[j])  # type: ignore[arg-type,return-value]
        rows = [rows[j] for j in order]
    cands = [Candidate(d, t, s) for d, t, s in rows[:depth]]
    return _build(qid, _text_of(entry["query"], at, "query"), cands, f"{at} (qid {qid!r})")


def _get(obj: Any, key: str) -> Any:
    """``obj[key]`` for a mapping, ``obj.key`` for an object; KeyError if absent."""
    if isinstance(obj, Mapping):
        return obj[key]
    try:
        return getattr(obj, key)
    except AttributeError:
        raise KeyError(key) from None


def _has(obj: Any, key: str) -> bool:
    return key in obj if isinstance(obj, Mapping) else hasattr(obj, key)


def _from_rank_llm(obj: Any, at: str, depth: Optional[int]) -> Request:
    """rank_llm's ``Request``: ``{"query": {"text", "qid"}, "candidates":
    [{"docid", "score", "doc": {...}}]}``, as a dict or as its dataclasses."""
    try:
        query = _get(obj, "query")
        qtext, qid = _get(query, "text"), _get(query, "qid")
        items = _candidates(_get(obj, "candidates"), at, "candidates")
    except KeyError as k:
        raise InvalidInputError(
            f"{at}: expected {{query: {{text, qid}}, candidates: [{{docid, score, doc}}]}}, no {k.args[0]!r} found"
        ) from None
    qid = _id(qid, f"{at}: qid")
    qat = f"{at} (qid {qid!r})"
    cands = []
    for j, c in enumerate(items[:depth]):
        cat = f"{qat}, candidate {j}"
        if not _has(c, "docid"):
            raise InvalidInputError(f"{cat}: no docid")
        doc = _get(c, "doc") if _has(c, "doc") else c
        if not isinstance(doc, Mapping):
            raise InvalidInputError(f"{cat}: doc must be an object with a text key, got {_show(doc)}")
        score = _get(c, "score") if _has(c, "score") else 0.0
        cands.append(
            Candidate(_id(_get(c, "docid"), f"{cat}: docid"), _doc_text(doc, cat), _score(score, f"{cat}: score"))
        )
    return _build(qid, _text_of(qtext, qat, "query text"), cands, qat)


def _from_plain(obj: Mapping[str, Any], at: str, depth: Optional[int], default_qid: str) -> Request:
    """``{"query": str, "docs": [str | {id, text}], "qid"?}``."""
    qkey = next((k for k in QID_KEYS if k in obj), None)
    qid = default_qid if qkey is None else _id(obj[qkey], f"{at}: {qkey}")
    qat = f"{at} (qid {qid!r})"
    items = _candidates(obj["docs"], qat, "docs")
    cands = []
    for j, d in enumerate(items[:depth]):
        dat = f"{qat}, doc {j}"
        if isinstance(d, str):
            cands.append(Candidate(str(j), d))
        elif isinstance(d, Mapping):
            key = next((k for k in ID_KEYS if k in d), None)
            docid = str(j) if key is None else _id(d[key], f"{dat}: {key}")
            score = _score(d["score"], f"{dat}: score") if "score" in d else 0.0
            cands.append(Candidate(docid, _doc_text(d, dat), score))
        elif isinstance(d, tuple) and len(d) == 2:
            cands.append(Candidate(_id(d[0], f"{dat}: id"), _text_of(d[1], dat, "text")))
        else:
            raise InvalidInputError(f"{dat}: expected a passage text or {{id, text}}, got {_show(d)}")
    return _build(qid, _text_of(obj["query"], qat, "query"), cands, qat)


def _shape(obj: Any) -> Optional[str]:
    """Which request form ``obj`` has, or None."""
    if isinstance(obj, Mapping):
        if "hits" in obj and "query" in obj:
            return "dl-json"
        if "candidates" in obj and "query" in obj:
            return "rank-llm"
        if "docs" in obj and "query" in obj:
            return "plain"
        return None
    if hasattr(obj, "query") and hasattr(obj, "candidates"):
        return "rank-llm"
    return None


_SHAPES = {
    "dl-json": '{"query": str, "hits": [{"qid", "docid", "rank", "score", "content"}]}',
    "rank-llm": '{"query": {"text", "qid"}, "candidates": [{"docid", "score", "doc": {...}}]}',
    "plain": '{"query": str, "docs": [str | {"id", "text"}], "qid": optional}',
}


def _convert(obj: Any, at: str, depth: Optional[int], want: Optional[str], default_qid: str) -> Request:
    shape = _shape(obj)
    if shape is None or (want is not None and shape != want):
        forms = [want] if want is not None else list(_SHAPES)
        expected = " or ".join(_SHAPES[f] for f in forms)
        got = f"an object with keys {sorted(map(str, obj))[:8]}" if isinstance(obj, Mapping) else _show(obj)
        raise InvalidInputError(f"{at}: expected {expected}; got {got}")
    if shape == "dl-json":
        return _from_dl_json(obj, at, depth)
    if shape == "rank-llm":
        return _from_rank_llm(obj, at, depth)
    return _from_plain(obj, at, depth, default_qid)


def as_request(obj: Any, *, default_qid: str = "q") -> Request:
    """A :class:`Request` from any request-shaped object.

    Accepts a :class:`Request` (returned as is, at the cost of one
    ``isinstance``), a rank_llm ``Request`` or any object with ``.query.text``,
    ``.query.qid`` and ``.candidates[i].docid / .doc / .score``, and dicts of
    the forms :func:`load_requests` reads: rank_llm's ``{"query": {"text",
    "qid"}, "candidates": [...]}``, the plain ``{"query": str, "docs": [str |
    {"id", "text"}]}`` (optional ``"qid"``, default ``default_qid``; doc ids
    default to their positions) and a DL-JSON entry ``{"query", "hits"}``.

    Raises:
        InvalidInputError: naming what it got and what is wrong with it.
    """
    if isinstance(obj, Request):
        return obj
    return _convert(obj, f"requests: {type(obj).__name__}", None, None, default_qid)


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------


def _read_json_requests(text: str, where: str, want: Optional[str], depth: Optional[int]) -> List[Request]:
    entries = _json_entries(text, where)
    if not entries:
        raise InvalidInputError(f"path: {where}: no requests in the file")
    return [_convert(obj, f"path: {where}: {pos}", depth, want, str(i)) for i, (pos, obj) in enumerate(entries)]


def _json_entries(text: str, where: str) -> List[Tuple[str, Any]]:
    """The request objects of a JSON document (one object or a list of them)
    or a JSONL file, each with its position for messages (``"entry 3"``,
    ``"line 4"``)."""
    try:
        doc = parse_json(text, "path", where)
    except InvalidInputError as whole:
        if text.lstrip().startswith("["):
            raise
        lines = [(n, line) for n, line in split_lines(text) if line.strip()]
        if not lines:
            raise
        try:
            parse_json(lines[0][1], "path", where)
        except InvalidInputError:
            raise whole from None  # not JSONL: one (multi-line) JSON document, whose own error stands
        return [(f"line {n}", parse_json(line, "path", f"{where}, line {n}")) for n, line in lines]
    if isinstance(doc, list):
        return [(f"entry {i}", obj) for i, obj in enumerate(doc)]
    if isinstance(doc, dict):
        numbers_ = [n for n, line in split_lines(text) if line.strip()]
        return [(f"line {numbers_[0]}" if len(numbers_) == 1 else "entry 0", doc)]
    raise InvalidInputError(f"path: {where}: expected a JSON object or a list of them, got {_show(doc)}")


def load_topics(path: PathLike) -> Dict[str, str]:
    """Queries from a TSV (``qid<TAB>query``; spaces around the qid dropped)
    or JSONL (``{qid|query_id|id, query|text}``)."""
    where = where_of(path, "topics")
    topics: Dict[str, str] = {}
    for lineno, line in read_lines(path, "topics"):
        if not line.strip():
            continue
        at = f"topics: {where}, line {lineno}"
        if line.lstrip().startswith("{"):
            obj = parse_json(line, "topics", f"{where}, line {lineno}")
            if not isinstance(obj, dict):
                raise InvalidInputError(f"{at}: expected a {{qid, query}} object")
            qkey = next((k for k in QID_KEYS if k in obj), None)
            tkey = next((k for k in ("query", "text", "title") if k in obj), None)
            if qkey is None or tkey is None:
                raise InvalidInputError(f"{at}: expected {{qid, query}} JSON (keys qid|query_id|id, query|text|title)")
            qid = _id(obj[qkey], f"{at}: {qkey}")
            text = _text_of(obj[tkey], at, tkey)
        else:
            parts = line.split("\t", 1)
            if len(parts) != 2:
                raise InvalidInputError(f"{at}: expected qid<TAB>query")
            qid, text = parts[0].strip(), parts[1]  # spaces around an id are not part of it
        if not qid.strip():
            raise InvalidInputError(f"{at}: empty query id")
        if qid in topics:
            raise InvalidInputError(f"{at}: query {qid!r} appears twice")
        topics[qid] = text
    return topics


def load_documents(path: PathLike, wanted: Optional[Iterable[str]] = None) -> Dict[str, str]:
    """Passages from a JSONL (an id key and a text key, title prepended when
    present) or a TSV (``docid<TAB>text``; spaces around the docid dropped);
    only ``wanted`` ids when given. Every line is checked, wanted or not."""
    where = where_of(path, "docs")
    want = None if wanted is None else set(wanted)
    docs: Dict[str, str] = {}
    for lineno, line in read_lines(path, "docs"):
        if not line.strip():
            continue
        at = f"docs: {where}, line {lineno}"
        if line.lstrip().startswith("{"):
            obj = parse_json(line, "docs", f"{where}, line {lineno}")
            if not isinstance(obj, dict):
                raise InvalidInputError(f"{at}: expected an object with an id and a text")
            key = next((k for k in ID_KEYS if k in obj), None)
            if key is None:
                raise InvalidInputError(f"{at}: no document id (looked for keys {', '.join(ID_KEYS)})")
            docid = _id(obj[key], f"{at}: {key}")
            text = _doc_text(obj, at)
        else:
            parts = line.split("\t", 1)
            if len(parts) != 2:
                raise InvalidInputError(f"{at}: expected docid<TAB>text")
            docid, text = parts[0].strip(), parts[1]  # spaces around an id are not part of it
        if not docid.strip():
            raise InvalidInputError(f"{at}: empty document id")
        if want is not None and docid not in want:
            continue
        if docid in docs:
            raise InvalidInputError(f"{at}: document {docid!r} appears twice")
        docs[docid] = text
    return docs


def _read_trec(
    path: PathLike, topics: Optional[PathLike], docs: Optional[PathLike], depth: Optional[int], order: Order
) -> List[Request]:
    if topics is None or docs is None:
        raise InvalidInputError(
            f"path: {where_of(path)} is a TREC run, which needs topics= (qid<TAB>query) and docs= "
            "(JSONL or TSV of docid, text)"
        )
    run = read_run(path, order=order)
    queries = load_topics(topics)
    wanted = {d for r in run.values() for d in r.docids[:depth]}
    texts = load_documents(docs, wanted)
    out = []
    for r in run.values():
        if r.qid not in queries:
            raise InvalidInputError(f"topics: query {r.qid!r} of the run {where_of(path)} is not in {where_of(topics)}")
        missing = [d for d in r.docids[:depth] if d not in texts]
        if missing:
            raise InvalidInputError(
                f"docs: {len(missing)} documents of query {r.qid!r} of the run {where_of(path)} are not in "
                f"{where_of(docs)} (e.g. {missing[0]!r})"
            )
        out.append(
            Request(
                r.qid,
                queries[r.qid],
                [Candidate(d, texts[d], float(s)) for d, s in zip(r.docids[:depth], r.scores[:depth])],
            )
        )
    return out


def _sniff(text: str, where: str) -> Optional[str]:
    """None for JSON/JSONL content, ``"trec"`` for a TREC run, else an error."""
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return None
    for _, line in split_lines(stripped):
        if line.strip() and not line.lstrip().startswith("#"):
            if len(line.split()) >= 6:
                return "trec"
            break
    try:
        parse_json(text, "path", where)
    except InvalidInputError:
        raise InvalidInputError(
            f"format: cannot tell the format of {where}; pass format='dl-json', 'rank-llm', 'plain' or 'trec'"
        ) from None
    return None  # JSON, but not an object or a list: the JSON reader says so


def load_requests(
    path: PathLike,
    format: Optional[Format] = None,
    *,
    topics: Optional[PathLike] = None,
    docs: Optional[PathLike] = None,
    depth: Optional[int] = None,
    order: Order = "score",
) -> List[Request]:
    """Load rerank requests from a file.

    Formats (each JSON form may be one JSON object, a JSON list of objects,
    or JSONL with one object per line; chosen from the content unless
    ``format`` is given):

    * ``"dl-json"``: ``{"query": str, "hits": [{"qid", "docid", "rank",
      "score", "content"}]}`` (``bm25_top100.json``); hits are put in rank
      order when they carry ranks.
    * ``"rank-llm"``: rank_llm's requests, ``{"query": {"text", "qid"},
      "candidates": [{"docid", "score", "doc": {...}}]}``, as its
      ``read_requests_from_file`` reads them and its ``DataWriter`` writes
      them (JSONL, or list-JSON from ``write_in_json_format``); the passage is
      the first of the doc keys text, segment, contents, content, body,
      passage, with a title prepended as ``"title: text"``.
    * ``"plain"``: ``{"query": str, "docs": [...], "qid": optional}`` with
      docs as strings or ``{"id"|"docid", "text"|"content", "score"?}``;
      the qid defaults to the entry's position from 0, doc ids to theirs.
    * ``"trec"``: a TREC run plus ``topics=`` (``qid<TAB>query`` TSV or JSONL)
      and ``docs=`` (JSONL or ``docid<TAB>text`` TSV).

    Text is UTF-8 (a byte-order mark is dropped); lines end at ``\\n``
    (``\\r\\n`` too) and nowhere else. Integer ids become their decimal
    strings. Scores must be finite numbers (missing: 0.0).

    Args:
        depth: keep only the first ``depth`` candidates of each query.
        order: for ``"trec"``, how candidates are ordered: ``"score"``
            (default, trec_eval's order) or ``"rank"`` (the rank column).

    Raises:
        InvalidInputError: naming the file and the line (JSONL, 1-based) or
            entry and hit (JSON lists, 0-based) of what is malformed or
            missing; nothing is skipped silently.
    """
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 1):
        raise InvalidInputError(f"depth: must be a positive integer, got {depth!r}")
    if format is not None and format not in FORMATS:
        raise InvalidInputError(f"format: unknown format {format!r}; expected one of {', '.join(map(repr, FORMATS))}")
    where = where_of(path)
    if not Path(where).is_file():
        raise InvalidInputError(f"path: file not found: {where}")
    if format == "trec":
        return _read_trec(path, topics, docs, depth, order)
    text = read_text(path, "path")
    if format is None and _sniff(text, where) == "trec":
        return _read_trec(path, topics, docs, depth, order)
    return _read_json_requests(text, where, format, depth)
