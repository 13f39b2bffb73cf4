"""Rankings, runs and qrels, and the TREC formats they are read from and
written to. Parsing, storage, evaluation and fusion live in Rust; these
classes are thin Python views with the usual Mapping interface."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Literal, Mapping, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

from . import _core
from ._errors import InvalidInputError

__all__ = ["Ranking", "Run", "Qrels", "read_run", "read_qrels", "write_run"]

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
        return cls(
            _core.run_from_lists(
                [r.qid for r in rs], [r.docids for r in rs], [np.ascontiguousarray(r.scores) for r in rs], order
            )
        )

    @classmethod
    def from_dict(cls, run: Mapping[str, Mapping[str, float]], order: Order = "score") -> "Run":
        """A run from ``{qid: {docid: score}}`` (pytrec_eval's format)."""
        qids = [str(q) for q in run]
        docids = [[str(d) for d in run[q]] for q in run]
        try:
            scores = [np.fromiter((float(s) for s in run[q].values()), dtype=np.float64) for q in run]
        except (TypeError, ValueError) as e:
            raise InvalidInputError(f"run: scores must be numbers ({e})") from None
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


def _grade(qid: Any, docid: Any, g: Any) -> int:
    """An integer grade that fits in 32 bits (integral floats accepted)."""
    ok = isinstance(g, (int, np.integer)) and not isinstance(g, bool)
    if not ok and isinstance(g, (float, np.floating)) and float(g).is_integer():
        g, ok = int(g), True
    if not ok or not -(2**31) <= int(g) < 2**31:
        raise InvalidInputError(f"qrels: grade {g!r} of document {docid!r} for query {qid!r} is not a 32-bit integer")
    return int(g)


def _read_text(path: PathLike, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"{what}: file not found: {os.fspath(path)}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"{what}: cannot read {os.fspath(path)}: {e}") from None


def read_run(path: PathLike, *, order: Order = "score") -> Run:
    """Read a TREC run file (``qid Q0 docid rank score tag``).

    Args:
        path: the file.
        order: ``"score"`` (default) orders each query's documents as
            trec_eval does (score descending, ties by doc id descending);
            ``"rank"`` uses the rank column (for runs whose score column is not
            meaningful); ``"given"`` keeps the file's order.

    Raises:
        InvalidInputError: naming the file and line of a malformed line (wrong
            column count, non-numeric rank or score), a doc id repeated within
            a query, or an empty file.
    """
    return Run(_core.run_from_trec(_read_text(path, "run"), os.fspath(path), order))


def read_qrels(path: PathLike) -> Qrels:
    """Read TREC qrels (``qid iteration docid grade``); errors name the file
    and line of a malformed line or a repeated judgment."""
    return Qrels(_core.qrels_from_trec(_read_text(path, "qrels"), os.fspath(path)))


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
    text = run._data.to_trec(tag)
    target = Path(path)
    if target.is_dir():
        raise InvalidInputError(f"path: {os.fspath(path)} is a directory")
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as e:
        raise InvalidInputError(f"path: cannot write {os.fspath(path)}: {e}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
