"""Rerank requests (a query and its candidates) and the readers that load them:
the TREC DL JSON of ``bm25_top100.json``, rank_llm's request JSONL, and a TREC
run joined with a topics file and a document source."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Literal, Optional

import numpy as np

from ._errors import InvalidInputError
from .runs import Order, PathLike, Ranking, _read_text, read_run

__all__ = ["Candidate", "Request", "load_requests", "load_topics", "load_documents", "first_stage_ranking"]

Format = Literal["dl-json", "rank-llm", "trec"]
TEXT_KEYS = ("text", "segment", "contents", "content", "body", "passage")
ID_KEYS = ("docid", "doc_id", "id", "_id", "pid")


@dataclass(frozen=True)
class Candidate:
    """One candidate document: its id, its text and its first-stage score."""

    docid: str
    text: str
    score: float = 0.0


@dataclass(frozen=True)
class Request:
    """A query and its candidates in first-stage order (best first)."""

    qid: str
    query: str
    candidates: List[Candidate] = field(default_factory=list)

    def __post_init__(self) -> None:
        seen = set()
        for c in self.candidates:
            if c.docid in seen:
                raise InvalidInputError(f"candidates: query {self.qid!r} lists document {c.docid!r} twice")
            seen.add(c.docid)

    def __len__(self) -> int:
        return len(self.candidates)


def first_stage_ranking(request: Request) -> Ranking:
    """The request's candidates in first-stage order, as a :class:`Ranking`."""
    scores = np.array([c.score for c in request.candidates], dtype=np.float64)
    return Ranking(request.qid, [c.docid for c in request.candidates], scores)


def _doc_text(doc: Dict[str, Any], where: str) -> str:
    text = next((str(doc[k]) for k in TEXT_KEYS if k in doc and doc[k] is not None), None)
    if text is None:
        raise InvalidInputError(f"{where}: no passage text (looked for keys {', '.join(TEXT_KEYS)})")
    title = doc.get("title")
    return f"{title}: {text}" if title else text


def _read_dl_json(path: PathLike, depth: Optional[int]) -> List[Request]:
    where = os.fspath(path)
    try:
        entries = json.loads(_read_text(path, "path"))
    except json.JSONDecodeError as e:
        raise InvalidInputError(f"path: {where} is not valid JSON: {e}") from None
    if not isinstance(entries, list):
        raise InvalidInputError(f"path: {where}: expected a JSON list of {{query, hits}} objects")
    return [_dl_json_request(entry, where, i, depth) for i, entry in enumerate(entries)]


def _dl_json_request(entry: Any, where: str, i: int, depth: Optional[int]) -> Request:
    """One entry (``{query, hits}``) of a DL JSON list; ``rankwise.ray`` streams entries through it too."""
    if not isinstance(entry, dict) or "query" not in entry or "hits" not in entry:
        raise InvalidInputError(f"path: {where}, entry {i}: expected keys 'query' and 'hits'")
    hits = sorted(entry["hits"], key=lambda h: h.get("rank", 0))
    if not hits:
        raise InvalidInputError(f"path: {where}, entry {i}: no hits")
    try:
        qid = str(hits[0]["qid"])
        cands = [Candidate(str(h["docid"]), str(h["content"]), float(h.get("score", 0.0))) for h in hits]
    except KeyError as k:
        raise InvalidInputError(f"path: {where}, entry {i}: a hit lacks key {k}") from None
    return Request(qid, str(entry["query"]), cands[:depth])


def _read_rank_llm(path: PathLike, depth: Optional[int]) -> List[Request]:
    where = os.fspath(path)
    lines = _read_text(path, "path").splitlines()
    return [_rank_llm_request(line, f"{where}, line {n}", depth) for n, line in enumerate(lines, 1) if line.strip()]


def _rank_llm_request(line: str, at: str, depth: Optional[int]) -> Request:
    """One line of rank_llm's request JSONL; ``rankwise.ray`` streams lines through it too."""
    try:
        obj = json.loads(line)
        query = obj["query"]
        cands = []
        for c in obj["candidates"][:depth]:
            cands.append(Candidate(str(c["docid"]), _doc_text(c.get("doc", c), at), float(c.get("score", 0.0))))
        return Request(str(query["qid"]), str(query["text"]), cands)
    except json.JSONDecodeError as e:
        raise InvalidInputError(f"path: {at}: invalid JSON: {e}") from None
    except (KeyError, TypeError) as e:
        raise InvalidInputError(
            f"path: {at}: expected {{query: {{text, qid}}, candidates: [{{docid, doc}}]}} ({e})"
        ) from None


def load_topics(path: PathLike) -> Dict[str, str]:
    """Queries from a TSV (``qid<TAB>query``) or JSONL (``{qid|query_id|id, query|text}``)."""
    where = os.fspath(path)
    topics: Dict[str, str] = {}
    for lineno, line in enumerate(_read_text(path, "topics").splitlines(), 1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
                qid = next(str(obj[k]) for k in ("qid", "query_id", "id", "_id") if k in obj)
                text = next(str(obj[k]) for k in ("query", "text", "title") if k in obj)
            except (json.JSONDecodeError, StopIteration):
                raise InvalidInputError(f"topics: {where}, line {lineno}: expected {{qid, query}} JSON") from None
        else:
            parts = line.rstrip("\n").split("\t", 1)
            if len(parts) != 2:
                raise InvalidInputError(f"topics: {where}, line {lineno}: expected qid<TAB>query")
            qid, text = parts
        if qid in topics:
            raise InvalidInputError(f"topics: {where}, line {lineno}: query {qid!r} appears twice")
        topics[qid] = text
    return topics


def load_documents(path: PathLike, wanted: Optional[Iterable[str]] = None) -> Dict[str, str]:
    """Passages from a JSONL (an id key and a text key, title prepended when
    present) or a TSV (``docid<TAB>text``); only ``wanted`` ids when given."""
    where = os.fspath(path)
    want = None if wanted is None else set(wanted)
    docs: Dict[str, str] = {}
    for lineno, line in enumerate(_read_text(path, "docs").splitlines(), 1):
        if not line.strip():
            continue
        at = f"docs: {where}, line {lineno}"
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise InvalidInputError(f"{at}: invalid JSON: {e}") from None
            docid = next((str(obj[k]) for k in ID_KEYS if k in obj), None)
            if docid is None:
                raise InvalidInputError(f"{at}: no document id (looked for keys {', '.join(ID_KEYS)})")
            if want is not None and docid not in want:
                continue
            text = _doc_text(obj, at)
        else:
            parts = line.rstrip("\n").split("\t", 1)
            if len(parts) != 2:
                raise InvalidInputError(f"{at}: expected docid<TAB>text")
            docid, text = parts
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
            "path: a TREC run needs topics= (qid<TAB>query) and docs= (JSONL or TSV of docid, text)"
        )
    run = read_run(path, order=order)
    queries = load_topics(topics)
    wanted = {d for r in run.values() for d in r.docids[:depth]}
    texts = load_documents(docs, wanted)
    out = []
    for r in run.values():
        if r.qid not in queries:
            raise InvalidInputError(f"topics: query {r.qid!r} of the run is not in {os.fspath(topics)}")
        missing = [d for d in r.docids[:depth] if d not in texts]
        if missing:
            raise InvalidInputError(
                f"docs: {len(missing)} documents of query {r.qid!r} are not in {os.fspath(docs)} (e.g. {missing[0]!r})"
            )
        out.append(
            Request(
                r.qid,
                queries[r.qid],
                [Candidate(d, texts[d], float(s)) for d, s in zip(r.docids[:depth], r.scores[:depth])],
            )
        )
    return out


def _sniff(path: PathLike) -> Format:
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        head = f.read(4096)
    stripped = head.lstrip()
    if stripped.startswith("["):
        return "dl-json"
    if stripped.startswith("{"):
        return "rank-llm"
    first = stripped.splitlines()[0].split() if stripped else []
    if len(first) == 6:
        return "trec"
    raise InvalidInputError(
        f"format: cannot tell the format of {os.fspath(path)}; pass format='dl-json', 'rank-llm' or 'trec'"
    )


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

    Formats (chosen from the content unless ``format`` is given):

    * ``"dl-json"``: a JSON list of ``{"query": str, "hits": [{"qid",
      "docid", "rank", "score", "content"}]}`` (``bm25_top100.json``).
    * ``"rank-llm"``: rank_llm's request JSONL, one ``{"query": {"text",
      "qid"}, "candidates": [{"docid", "score", "doc": {...}}]}`` per line;
      the passage is the first of the doc keys text, segment, contents,
      content, body, passage, with the title prepended when present.
    * ``"trec"``: a TREC run plus ``topics=`` (``qid<TAB>query`` TSV or JSONL)
      and ``docs=`` (JSONL or ``docid<TAB>text`` TSV).

    Args:
        depth: keep only the first ``depth`` candidates of each query.
        order: for ``"trec"``, how candidates are ordered: ``"score"``
            (default, trec_eval's order) or ``"rank"`` (the rank column).

    Raises:
        InvalidInputError: naming the file and line (or entry) of what is
            malformed or missing; nothing is skipped silently.
    """
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 1):
        raise InvalidInputError(f"depth: must be a positive integer, got {depth!r}")
    if not Path(path).is_file():
        raise InvalidInputError(f"path: file not found: {os.fspath(path)}")
    fmt = format or _sniff(path)
    if fmt == "dl-json":
        return _read_dl_json(path, depth)
    if fmt == "rank-llm":
        return _read_rank_llm(path, depth)
    if fmt == "trec":
        return _read_trec(path, topics, docs, depth, order)
    raise InvalidInputError(f"format: unknown format {fmt!r}; expected 'dl-json', 'rank-llm' or 'trec'")
