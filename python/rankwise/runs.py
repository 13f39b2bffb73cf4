"""Rankings, runs and qrels, and the TREC formats they are read from and
written to. Parsing, storage, evaluation and fusion live in Rust; these
classes are thin Python views with the usual Mapping interface."""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import signal
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Literal, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import _core
from ._errors import InvalidInputError
from ._io import read_text, write_text_atomic

__all__ = ["Ranking", "Run", "Qrels", "RunWriter", "read_run", "read_qrels", "write_run", "write_rank_llm_jsonl"]

PathLike = Union[str, "os.PathLike[str]"]
Order = Literal["score", "rank", "given"]


@dataclass(frozen=True)
class Ranking:
    """One query's ranked documents, best first.

    Attributes:
        qid: the query id.
        docids: document ids, best first.
        scores: float64 array, one score per document (non-increasing when
            the ranking came from scores; synthetic when a reranker produced
            only an order).
        spend: what producing it cost (e.g. ``{"calls": 9, "docs_shown": 180}``),
            filled in by rerankers; empty otherwise.
        error: why a reranker fell back to the first-stage order for this
            query (``spend["failed"] == 1``); None otherwise.
    """

    qid: str
    docids: List[str]
    scores: npt.NDArray[np.float64]
    spend: Dict[str, float] = field(default_factory=dict)
    error: Optional[str] = None

    def __post_init__(self) -> None:
        scores = np.asarray(self.scores, dtype=np.float64)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "docids", [str(d) for d in self.docids])
        if scores.shape != (len(self.docids),):
            raise InvalidInputError(
                f"scores: query {self.qid!r} has {len(self.docids)} doc ids but scores of shape {scores.shape}"
            )

    @classmethod
    def from_order(
        cls, qid: str, docids: Sequence[str], spend: Optional[Dict[str, float]] = None, error: Optional[str] = None
    ) -> "Ranking":
        """A ranking with synthetic scores ``n, n-1, ..., 1`` that keep the given order."""
        n = len(docids)
        return cls(qid, list(docids), np.arange(n, 0, -1, dtype=np.float64), dict(spend or {}), error)

    def __len__(self) -> int:
        return len(self.docids)


class Run(Mapping[str, Ranking]):
    """Rankings for many queries, held in Rust; a ``Mapping`` from query id
    to :class:`Ranking`, in query order.

    Build one with :func:`read_run`, :meth:`from_rankings` or
    :meth:`from_dict`. Within each query the documents are ordered as
    ``order`` says: ``"score"`` (default) is trec_eval's order (score
    descending, ties by doc id descending), ``"rank"`` sorts by the rank
    column of a TREC file, ``"given"`` keeps the input order. A doc id
    repeated within a query is an error.
    """

    __slots__ = ("_data", "_index")

    def __init__(self, data: "_core.RunData") -> None:
        self._data = data
        self._index: Optional[Dict[str, int]] = None

    @classmethod
    def from_rankings(cls, rankings: Iterable[Ranking], order: Order = "given") -> "Run":
        """A run from :class:`Ranking` objects (their order kept by default)."""
        rs = list(rankings)
        if not all(isinstance(r, Ranking) for r in rs):
            raise InvalidInputError("rankings: expected Ranking objects")
        with _valid_text("run"):
            data = _core.run_from_lists(
                [r.qid for r in rs], [r.docids for r in rs], [np.ascontiguousarray(r.scores) for r in rs], order
            )
        return cls(data)

    @classmethod
    def from_dict(cls, run: Mapping[str, Mapping[str, float]], order: Order = "score") -> "Run":
        """A run from ``{qid: {docid: score}}`` (pytrec_eval's format)."""
        qids = [str(q) for q in run]
        docids = [[str(d) for d in run[q]] for q in run]
        try:
            scores = [np.fromiter((float(s) for s in run[q].values()), dtype=np.float64) for q in run]
        except (TypeError, ValueError) as e:
            raise InvalidInputError(f"run: scores must be numbers ({e})") from None
        with _valid_text("run"):
            return cls(_core.run_from_lists(qids, docids, scores, order))

    def to_dict(self) -> Dict[str, Dict[str, float]]:
        """``{qid: {docid: score}}``."""
        return {r.qid: dict(zip(r.docids, r.scores.tolist())) for r in self.values()}

    def _lookup(self) -> Dict[str, int]:
        if self._index is None:
            self._index = {q: i for i, q in enumerate(self._data.qids())}
        return self._index

    def __getitem__(self, qid: str) -> Ranking:
        i = self._lookup().get(qid)
        if i is None:
            raise KeyError(qid)
        q, docids, scores = self._data.query(i)
        return Ranking(q, docids, scores)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data.qids())

    def __len__(self) -> int:
        return len(self._data)

    @property
    def n_entries(self) -> int:
        """Total number of (query, document) entries."""
        return self._data.n_entries()

    def to_trec(self, tag: str = "rankwise") -> str:
        """The run as TREC text (``qid Q0 docid rank score tag`` lines, ranks
        from 1 in each query's order). Raises :class:`InvalidInputError` for an
        id or tag that is empty or holds whitespace."""
        with _valid_text("tag"):
            return self._data.to_trec(tag)

    def write(self, path: PathLike, tag: str = "rankwise") -> None:
        """Write in TREC format (``qid Q0 docid rank score tag``), atomically."""
        write_run(self, path, tag=tag)

    def __repr__(self) -> str:
        return f"Run({len(self)} queries, {self.n_entries} entries)"


class Qrels(Mapping[str, Dict[str, int]]):
    """Relevance judgments held in Rust; a ``Mapping`` from query id to
    ``{docid: grade}``. Build with :func:`read_qrels` or :meth:`from_dict`;
    a document judged twice for one query is an error."""

    __slots__ = ("_data", "_index")

    def __init__(self, data: "_core.QrelsData") -> None:
        self._data = data
        self._index: Optional[Dict[str, int]] = None

    @classmethod
    def from_dict(cls, qrels: Mapping[str, Mapping[str, int]]) -> "Qrels":
        """Judgments from ``{qid: {docid: grade}}``."""
        qids = [str(q) for q in qrels]
        docids = [[str(d) for d in qrels[q]] for q in qrels]
        grades = [[_grade(q, d, g) for d, g in qrels[q].items()] for q in qrels]
        with _valid_text("qrels"):
            return cls(_core.qrels_from_lists(qids, docids, grades))

    def __getitem__(self, qid: str) -> Dict[str, int]:
        if self._index is None:
            self._index = {q: i for i, q in enumerate(self._data.qids())}
        i = self._index.get(qid)
        if i is None:
            raise KeyError(qid)
        docids, grades = self._data.query(i)
        return dict(zip(docids, grades))

    def __iter__(self) -> Iterator[str]:
        return iter(self._data.qids())

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Qrels({len(self)} queries)"


@contextmanager
def _valid_text(what: str) -> Iterator[None]:
    """Ids and tags go to Rust (and to files) as UTF-8: a str holding a lone
    surrogate cannot, so it is an InvalidInputError rather than a raw
    UnicodeEncodeError."""
    try:
        yield
    except UnicodeEncodeError as e:
        bad = e.object[e.start : e.end] if isinstance(e.object, str) else ""
        raise InvalidInputError(
            f"{what}: an id or tag holds {bad!r}, a lone surrogate, which is not text that can be stored or written"
        ) from None


def _grade(qid: Any, docid: Any, g: Any) -> int:
    """An integer grade that fits in 32 bits (integral floats accepted)."""
    ok = isinstance(g, (int, np.integer)) and not isinstance(g, bool)
    if not ok and isinstance(g, (float, np.floating)) and float(g).is_integer():
        g, ok = int(g), True
    if not ok or not -(2**31) <= int(g) < 2**31:
        raise InvalidInputError(f"qrels: grade {g!r} of document {docid!r} for query {qid!r} is not a 32-bit integer")
    return int(g)


def read_run(path: PathLike, *, order: Order = "score") -> Run:
    """Read a TREC run file (``qid Q0 docid rank score tag``).

    Args:
        path: the file.
        order: ``"score"`` (default) orders each query's documents as
            trec_eval does (score descending, ties by doc id descending);
            ``"rank"`` uses the rank column (for runs whose score column is not
            meaningful); ``"given"`` keeps the file's order.

    Lines are read as trec_eval reads them: blank lines and comment lines
    (first non-blank character ``#``) are skipped, and columns after the
    sixth are ignored (one ``UserWarning`` per file says how many lines had
    them).

    Raises:
        InvalidInputError: naming the file and line of a malformed line (fewer
            than six columns, non-numeric rank, a score that is not a finite
            number), a doc id repeated within a query, or an empty file.
    """
    data = _core.run_from_trec(read_text(path, "run"), os.fspath(path), order)
    if data.extra_column_lines:
        import warnings

        warnings.warn(
            f"{os.fspath(path)}: {data.extra_column_lines} lines have more than six columns; "
            "the extra columns were ignored, as trec_eval ignores them",
            UserWarning,
            stacklevel=2,
        )
    return Run(data)


def read_qrels(path: PathLike) -> Qrels:
    """Read TREC qrels (``qid iteration docid grade``); blank lines and
    ``#`` comment lines are skipped, as trec_eval does; errors name the file
    and line of a malformed line or a repeated judgment."""
    return Qrels(_core.qrels_from_trec(read_text(path, "qrels"), os.fspath(path)))


def as_run(run: Any, what: str = "run") -> Run:
    """A :class:`Run` from a Run, a sequence of :class:`Ranking`, ``{qid:
    Ranking}``, ``{qid: (doc ids, scores)}`` (numpy arrays welcome; ordered by
    score) or ``{qid: {docid: score}}``."""
    if isinstance(run, Run):
        return run
    if isinstance(run, Ranking):
        return Run.from_rankings([run])
    if isinstance(run, Mapping):
        values = list(run.values())
        if all(isinstance(v, Ranking) for v in values):
            return Run.from_rankings(values)
        if all(isinstance(v, tuple) and len(v) == 2 for v in values):
            # {qid: (doc ids, scores)} with arrays: kept in the given order
            return Run.from_rankings(
                [
                    Ranking(str(q), [str(d) for d in np.asarray(ids).tolist()], np.asarray(sc, dtype=np.float64))
                    for q, (ids, sc) in run.items()
                ],
                order="score",
            )
        return Run.from_dict(run)
    if isinstance(run, (list, tuple)):
        return Run.from_rankings(run)
    raise InvalidInputError(
        f"{what}: expected a Run, a list of Ranking or {{qid: {{docid: score}}}}, got {type(run).__name__}"
    )


def as_qrels(qrels: Any) -> Qrels:
    if isinstance(qrels, Qrels):
        return qrels
    if isinstance(qrels, Mapping):
        return Qrels.from_dict(qrels)
    raise InvalidInputError(f"qrels: expected Qrels or {{qid: {{docid: grade}}}}, got {type(qrels).__name__}")


def write_run(
    rankings: Union[Run, Iterable[Ranking], Mapping[str, Any]], path: PathLike, *, tag: str = "rankwise"
) -> None:
    """Write rankings in TREC format (``qid Q0 docid rank score tag``, ranks
    from 1 in the rankings' order). The file is written to a temporary name
    and renamed, so a crash never leaves a half-written run."""
    run = as_run(rankings if not isinstance(rankings, (Iterator,)) else list(rankings))
    if run.n_entries == 0:
        # TREC text cannot hold a query without documents: the file would be empty, which read_run refuses
        raise InvalidInputError("rankings: no query has a document; a TREC run file of it would be empty")
    write_text_atomic(path, run.to_trec(tag))


def _plain_number(value: Any, what: str) -> Union[int, float]:
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and np.isfinite(value):
        return float(value)
    raise InvalidInputError(f"{what} is {value!r}, not a finite number")


def write_rank_llm_jsonl(
    rankings: Union[Run, Iterable[Ranking], Mapping[str, Ranking]],
    requests: Iterable[Any],
    path: PathLike,
    *,
    spend: bool = True,
) -> None:
    """Write rankings as rank_llm's Result JSONL, one line per query in the
    rankings' order, as rank_llm's ``DataWriter.write_in_jsonl_format`` writes
    them (``ensure_ascii=False``)::

        {"query": {"text": ..., "qid": ...},
         "candidates": [{"docid": ..., "score": ..., "doc": {"text": ...}}, ...],
         "spend": {"calls": 9, "docs_shown": 180, ...}}

    Candidates are in ranked order with the ranking's scores; the passage
    text comes from the request. ``"spend"`` (left out with ``spend=False``)
    holds the ranking's per-query spend, and ``"error"`` is added for a query
    that fell back; rank_llm's readers ignore both keys, and
    :func:`rankwise.load_requests` reads the file back as requests. Written to
    a temporary name and renamed.

    Args:
        rankings: :class:`Ranking` objects (with their ``spend``), a
            ``{qid: Ranking}`` mapping or a :class:`Run`.
        requests: the requests that were ranked (anything
            :func:`rankwise.data.as_request` takes), for the query and
            passage texts.

    Raises:
        InvalidInputError: a ranked query or document that is not among the
            requests, or a spend value that is not a finite number.
    """
    from .data import as_request  # data imports this module

    if isinstance(rankings, Run):
        ranked: List[Ranking] = list(rankings.values())
    elif isinstance(rankings, Mapping):
        ranked = list(rankings.values())
    else:
        ranked = list(rankings)
    by_qid = {}
    for i, obj in enumerate(requests):
        one = as_request(obj, default_qid=str(i))
        by_qid[one.qid] = one
    lines = []
    for r in ranked:
        if not isinstance(r, Ranking):
            raise InvalidInputError(f"rankings: expected Ranking objects, got {type(r).__name__}")
        req = by_qid.get(r.qid)
        if req is None:
            raise InvalidInputError(f"requests: no request for ranked query {r.qid!r}")
        texts = {c.docid: c.text for c in req.candidates}
        cands = []
        for d, s in zip(r.docids, r.scores.tolist()):
            if d not in texts:
                raise InvalidInputError(f"rankings: document {d!r} of query {r.qid!r} is not among its candidates")
            cands.append(
                {
                    "docid": d,
                    "score": _plain_number(s, f"rankings: score of {d!r} in query {r.qid!r}"),
                    "doc": {"text": texts[d]},
                }
            )
        record: Dict[str, Any] = {"query": {"text": req.query, "qid": r.qid}, "candidates": cands}
        if spend:
            record["spend"] = {str(k): _plain_number(v, f"spend: {k!r} of query {r.qid!r}") for k, v in r.spend.items()}
            if r.error is not None:
                record["error"] = str(r.error)
        lines.append(json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n")
    write_text_atomic(path, "".join(lines))


# --- a resumable, crash-safe run writer ------------------------------------------------------

JOURNAL_FORMAT = 1


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def requests_digest(requests: Iterable[Any]) -> str:
    """A SHA-256 over the requests' query ids, query texts and candidates (id,
    text, first-stage score), in order: what a :class:`RunWriter` checks on
    resume to tell its own input from another."""
    h = hashlib.sha256()
    for r in requests:
        for part in (r.qid, r.query, str(len(r.candidates))):
            b = str(part).encode("utf-8")
            h.update(len(b).to_bytes(8, "little") + b)
        for c in r.candidates:
            for part in (c.docid, c.text, repr(float(c.score))):
                b = str(part).encode("utf-8")
                h.update(len(b).to_bytes(8, "little") + b)
    return h.hexdigest()


class RunWriter:
    """Writes a run query by query so that a kill at any instruction loses at
    most the query being written, and a later ``mode="resume"`` finishes the
    job with a result byte-identical to an uninterrupted run.

    Files, beside ``path``:

    * ``PATH.rankwise.jsonl``, the journal: a header line (format version,
      rankwise version, a digest of the requests, the tag and the caller's
      ``job`` description, e.g. strategy and scorer), then one line per
      finished query holding its ranking, spend and failure, each appended
      in a single write; finally one line announcing the digests of the
      derived files before they are written.
    * ``PATH`` (the TREC run), ``PATH.spend.jsonl`` (per-query spend) and
      ``PATH.failed.jsonl`` (queries that fell back to the first-stage
      order, with the reason; only when there are some): derived from the
      journal by :meth:`finish`, in input order, each written to a temporary
      name and renamed.
    * ``PATH.rankwise.lock``: held with an exclusive ``flock`` while the
      writer is open, so a second writer of the same output is refused.

    Nothing but the lock file is created, and nothing is changed, until the
    first :meth:`write`, so a job that fails to start leaves its output as it
    was. On resume, a torn or garbled journal tail is dropped; a journal
    written for other requests or another job, an output that is not the one
    the journal announced (a foreign run, qrels), and a record whose documents
    are not the request's candidates are refused with
    :class:`InvalidInputError`, and nothing is deleted. Records of queries that
    fell back are done again.

    Args:
        path: the TREC run to write.
        requests: the job's requests (objects with ``qid``, ``query`` and
            ``candidates``), in the order the finished run lists them.
        tag: the run tag, default ``"rankwise"``.
        job: a JSON-serialisable description of what produces the rankings
            (strategy with its parameters, scorer); resume requires it equal.
        mode: ``"new"`` (default; refuses an existing output), ``"resume"``
            (keeps the finished queries of this job's journal) or
            ``"overwrite"`` (replaces the output; the old files stay until
            the first write, and are replaced at :meth:`finish`).
        format: what ``path`` holds: ``"trec"`` (default) or ``"jsonl"``,
            rank_llm's Result JSONL with the per-query spend
            (:func:`write_rank_llm_jsonl`); resume requires it equal.

    Attributes:
        done: ``{qid: Ranking}`` recovered on resume (queries that fell back
            are not among them).
    """

    def __init__(
        self,
        path: PathLike,
        requests: Sequence[Any],
        *,
        tag: str = "rankwise",
        job: Optional[Mapping[str, Any]] = None,
        mode: Literal["new", "resume", "overwrite"] = "new",
        format: Literal["trec", "jsonl"] = "trec",
    ) -> None:
        if mode not in ("new", "resume", "overwrite"):
            raise InvalidInputError(f"mode: must be 'new', 'resume' or 'overwrite', got {mode!r}")
        if format not in ("trec", "jsonl"):
            raise InvalidInputError(f"format: must be 'trec' or 'jsonl', got {format!r}")
        self.format = format
        self._requests = list(requests)
        self.path = Path(path)
        self.tag, self.mode = tag, mode
        name = self.path.name
        self.journal_path = self.path.with_name(name + ".rankwise.jsonl")
        self.lock_path = self.path.with_name(name + ".rankwise.lock")
        self.spend_path = self.path.with_name(name + ".spend.jsonl")
        self.failed_path = self.path.with_name(name + ".failed.jsonl")
        self.order = [str(r.qid) for r in requests]
        self.candidates = {str(r.qid): [str(c.docid) for c in r.candidates] for r in requests}
        self.header: Dict[str, Any] = {
            "rankwise_run": JOURNAL_FORMAT,
            "version": _core.__version__,
            "input": requests_digest(requests),
            "tag": tag,
            "job": json.loads(json.dumps(dict(job or {}), sort_keys=True)),
            "output_format": format,
        }
        self.records: Dict[str, Ranking] = {}
        self.done: Dict[str, Ranking] = {}
        self._fd = -1
        self._lock_fd = -1
        self._valid_end: Optional[int] = None  # journal bytes to keep before appending; None: start a new one
        if self.path.is_dir():
            raise InvalidInputError(f"path: {self.path} is a directory")
        self._lock()
        try:
            self._check()
        except BaseException:
            self.close()
            raise

    @staticmethod
    def files(path: PathLike) -> List[Path]:
        """The files a writer of ``path`` reads and writes (the lock file apart)."""
        p = Path(path)
        return [
            p,
            p.with_name(p.name + ".spend.jsonl"),
            p.with_name(p.name + ".failed.jsonl"),
            p.with_name(p.name + ".rankwise.jsonl"),
        ]

    # -- opening --------------------------------------------------------------------------------

    def _lock(self) -> None:
        try:
            if not self.path.parent.is_dir():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise OSError(e.errno, f"cannot create output {self.path}: {e.strerror}", e.filename) from None
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock_fd)
            self._lock_fd = -1
            raise InvalidInputError(
                f"path: another process is writing {self.path} (it holds {self.lock_path.name}); "
                "wait for it to finish or write elsewhere"
            ) from None

    def _outputs(self) -> List[Path]:
        return [self.path, self.spend_path, self.failed_path]

    def _digests(self) -> Dict[str, Optional[str]]:
        out: Dict[str, Optional[str]] = {}
        for p in self._outputs():
            out[p.name] = _sha256(p.read_bytes()) if p.is_file() else None
        return out

    def _read_journal(self) -> Tuple[Optional[Dict[str, Any]], List[Dict[str, Any]], int]:
        """(header, entries, bytes of complete, valid lines); a torn or garbled tail is not counted."""
        data = self.journal_path.read_bytes()
        entries: List[Dict[str, Any]] = []
        header: Optional[Dict[str, Any]] = None
        pos = 0
        while True:
            nl = data.find(b"\n", pos)
            if nl < 0:
                break
            try:
                obj = json.loads(data[pos:nl].decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):  # deep nesting too
                break
            if not isinstance(obj, dict):
                break
            if header is None:
                if obj.get("rankwise_run") is None:
                    break
                header = obj
            else:
                entries.append(obj)
            pos = nl + 1
        return header, entries, pos

    def _check(self) -> None:
        journal = self.journal_path.is_file()
        existing = [p for p in self._outputs() if p.exists()]
        if self.mode == "overwrite":
            self.header["overwrote"] = self._digests()
            return
        if self.mode == "new":
            if journal or existing:
                what = existing[0] if existing else self.journal_path
                raise InvalidInputError(f"path: {what} exists: resume it or overwrite it")
            return
        if not journal:
            if existing:
                raise InvalidInputError(
                    f"path: {existing[0]} was not written by rankwise (there is no {self.journal_path.name}); "
                    "refusing to resume into it: write elsewhere, or overwrite it"
                )
            return  # nothing to resume: start afresh
        header, entries, end = self._read_journal()
        if header is None:
            raise InvalidInputError(f"path: {self.journal_path} is not a rankwise journal; refusing to resume from it")
        header.setdefault("output_format", "trec")
        differ = [
            k
            for k in ("rankwise_run", "version", "input", "tag", "job", "output_format")
            if header.get(k) != self.header[k]
        ]
        if differ:
            detail = "; ".join(f"{k}: {header.get(k)!r} there, {self.header[k]!r} here" for k in differ if k != "input")
            if "input" in differ:
                detail = "the requests differ" + (f"; {detail}" if detail else "")
            raise InvalidInputError(
                f"path: {self.path} holds another job ({detail}); refusing to resume it: write elsewhere, or overwrite it"
            )
        announced = [header.get("overwrote") or {}] + [
            e["finish"] for e in entries if isinstance(e.get("finish"), dict)
        ]
        for p, digest in self._digests().items():
            if digest is not None and not any(a.get(p) == digest for a in announced):
                raise InvalidInputError(
                    f"path: {self.path.with_name(p)} was changed since rankwise wrote it; "
                    "refusing to resume into it: write elsewhere, or overwrite it"
                )
        for e in entries:
            if "finish" in e:
                continue
            r = self._record(e)
            self.records[r.qid] = r
        self.done = {q: r for q, r in self.records.items() if r.error is None}
        self._valid_end = end
        self.header = header

    def _record(self, e: Dict[str, Any]) -> Ranking:
        where = f"path: {self.journal_path}"
        try:
            qid, docids = str(e["qid"]), [str(d) for d in e["docids"]]
            r = Ranking(qid, docids, np.asarray(e["scores"], dtype=np.float64), dict(e["spend"]), e.get("error"))
        except (KeyError, TypeError, ValueError) as err:
            raise InvalidInputError(f"{where}: a malformed record ({err}); refusing to resume from it") from None
        cands = self.candidates.get(qid)
        if cands is None or len(cands) != len(docids) or set(cands) != set(docids):
            raise InvalidInputError(
                f"{where}: the record of query {qid!r} does not rank that query's candidates; refusing to resume from it"
            )
        return r

    # -- writing --------------------------------------------------------------------------------

    @staticmethod
    def _write_all(fd: int, data: bytes, path: Path) -> None:
        # one write in production; under RANKWISE_TEST_KILL_AT also a write point halfway (a torn line)
        parts = [data[: len(data) // 2], data[len(data) // 2 :]] if os.environ.get("RANKWISE_TEST_KILL_AT") else [data]
        try:
            for part in parts:
                _write_point()
                view = memoryview(part)
                while view:
                    view = view[os.write(fd, view) :]
            _write_point()
        except OSError as e:
            raise OSError(e.errno, f"{e.strerror}: {path}", str(path)) from None

    def _sweep(self) -> None:
        """Remove the temporaries a killed writer of this output left (the lock is ours)."""
        for p in [*self._outputs(), self.journal_path]:
            for kind in ("tmp", "render"):
                for stale in p.parent.glob(f".{glob.escape(p.name)}.{kind}*"):
                    if stale.name[len(p.name) + len(kind) + 2 :].isdigit():
                        stale.unlink(missing_ok=True)

    def _start(self) -> None:
        self._sweep()
        try:
            if self._valid_end is None:  # a new journal: the header first, renamed into place
                tmp = self.journal_path.with_name(f".{self.journal_path.name}.tmp{os.getpid()}")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    self._write_all(fd, (json.dumps(self.header, sort_keys=True) + "\n").encode("utf-8"), tmp)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                _write_point()
                os.replace(tmp, self.journal_path)
            elif self.journal_path.stat().st_size != self._valid_end:
                _write_point()
                os.truncate(self.journal_path, self._valid_end)  # drop a torn tail
            self._fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND)
        except OSError as e:
            if str(self.journal_path) in (e.strerror or ""):
                raise
            raise OSError(e.errno, f"{e.strerror}: {self.journal_path}", str(self.journal_path)) from None

    def write(self, ranking: Ranking) -> None:
        """Append one finished query (one line, one write)."""
        if self._lock_fd < 0:
            raise InvalidInputError("RunWriter: closed")
        cands = self.candidates.get(ranking.qid)
        if cands is None or len(cands) != len(ranking.docids) or set(cands) != set(ranking.docids):
            raise InvalidInputError(f"ranking: query {ranking.qid!r} does not rank that query's candidates")
        if self._fd < 0:
            self._start()
        rec = {
            "qid": ranking.qid,
            "docids": ranking.docids,
            "scores": ranking.scores.tolist(),
            "spend": ranking.spend,
            "error": ranking.error,
        }
        self._write_all(self._fd, (json.dumps(rec) + "\n").encode("utf-8"), self.journal_path)
        self.records[ranking.qid] = ranking
        if ranking.error is None:
            self.done[ranking.qid] = ranking

    def rendered(self) -> Dict[Path, Optional[bytes]]:
        """The derived files' contents (None: the file should not exist), from the records in input order."""
        rs = [self.records[q] for q in self.order if q in self.records]
        if self.format == "jsonl":
            tmp = self.path.with_name(f".{self.path.name}.render{os.getpid()}")
            try:
                write_rank_llm_jsonl(rs, self._requests, tmp)
                trec = tmp.read_bytes()
            finally:
                tmp.unlink(missing_ok=True)
        else:
            trec = Run.from_rankings(rs).to_trec(self.tag).encode("utf-8") if rs else b""
        spend = "".join(json.dumps({"qid": r.qid, **r.spend}) + "\n" for r in rs).encode("utf-8")
        failed = "".join(json.dumps({"qid": r.qid, "error": r.error}) + "\n" for r in rs if r.error is not None)
        return {self.path: trec, self.spend_path: spend, self.failed_path: failed.encode("utf-8") or None}

    def finish(self) -> None:
        """Write the TREC run and its side files from the journal, in input
        order: their digests are announced in the journal first, then each is
        written to a temporary name and renamed. Call it once every query is
        written; it closes the writer."""
        missing = [q for q in self.order if q not in self.records]
        if missing:
            raise InvalidInputError(f"RunWriter.finish: {len(missing)} queries not written, e.g. {missing[0]!r}")
        files = self.rendered()
        if self._fd < 0:
            current = {p: (p.read_bytes() if p.is_file() else None) for p in files}
            if current == files:  # a resumed, finished run: nothing to do
                self._sweep()
                self.close()
                return
            self._start()
        digests = {p.name: (None if b is None else _sha256(b)) for p, b in files.items()}
        self._write_all(self._fd, (json.dumps({"finish": digests}) + "\n").encode("utf-8"), self.journal_path)
        for p, b in files.items():
            if b is None:
                _write_point()
                p.unlink(missing_ok=True)
                continue
            tmp = p.with_name(f".{p.name}.tmp{os.getpid()}")
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    self._write_all(fd, b, p)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                _write_point()
                os.replace(tmp, p)
            finally:
                tmp.unlink(missing_ok=True)
        self.close()

    def close(self) -> None:
        """Release the journal and the lock (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def __enter__(self) -> "RunWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_write_points = 0


def _write_point() -> None:
    """A place where a kill leaves a file half-done; ``RANKWISE_TEST_KILL_AT=N``
    (tests only) kills the process with SIGKILL at the N-th one."""
    global _write_points
    at = os.environ.get("RANKWISE_TEST_KILL_AT")
    if at:
        _write_points += 1
        if _write_points == int(at):
            os.kill(os.getpid(), signal.SIGKILL)
