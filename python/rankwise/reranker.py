"""A reranker object for code that reranks one query at a time.

:class:`Reranker` holds a strategy, a scorer and the :func:`~rankwise.rerank`
options, and answers ``rank(query, docs)`` with a result shaped like the
``rerankers`` library's (``RankedResults`` of ``Result`` objects holding a
``Document``, ``.top_k(k)``, ``.get_result_by_docid``), so code written for
``rerankers`` reads it unchanged. ``rank_many`` batches many queries through
one :func:`~rankwise.rerank` run (scorer batches span queries), and
``arank``/``arank_many`` are their ``async`` versions.

With ``rerankers`` installed, :func:`as_rerankers_ranker` gives a real
``rerankers.models.ranker.BaseRanker`` subclass whose ``rank`` returns
``rerankers``' own result classes, for code that checks the type (the
LangChain compressor, pipelines typed on ``BaseRanker``).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from ._errors import InvalidInputError, ScorerError
from .cascade import Cascade
from .data import Candidate, Request, as_request
from .rerank import rerank
from .runs import Ranking
from .scorers._base import PointwiseCall, scorer_kind
from .strategies import Strategy

__all__ = ["Document", "Result", "RankedResults", "Reranker", "as_rerankers_ranker"]


class Document:
    """A document as ``rerankers.Document`` has it: ``text``, ``doc_id`` (as given:
    an int stays an int) and ``metadata``."""

    def __init__(
        self,
        text: Optional[str] = None,
        doc_id: Optional[Union[str, int]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        document_type: str = "text",
        image_path: Optional[str] = None,
        base64: Optional[str] = None,
    ) -> None:
        self.attributes = ["text", "base64", "image_path", "doc_id", "metadata", "document_type"]
        self.text, self.doc_id = text, doc_id
        self.metadata: Dict[str, Any] = metadata if metadata is not None else {}
        self.document_type, self.image_path, self.base64 = document_type, image_path, base64
        if document_type == "text" and text is None:
            raise InvalidInputError("text: required when document_type is 'text'")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Document) and (self.text, self.doc_id, self.metadata) == (
            other.text,
            other.doc_id,
            other.metadata,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Document(text={self.text!r}, doc_id={self.doc_id!r}, metadata={self.metadata!r})"


class Result:
    """One ranked document, as ``rerankers.Result``: ``document``, ``score`` and
    ``rank`` (1-based); ``text``, ``doc_id``, ``metadata`` and metadata keys
    read through to the document."""

    def __init__(self, document: Any, score: Optional[float] = None, rank: Optional[int] = None) -> None:
        if score is None and rank is None:
            raise InvalidInputError("score, rank: either must be given")
        self.document, self.score, self.rank = document, score, rank

    def __getattr__(self, item: str) -> Any:
        document = self.__dict__.get("document")
        if document is None:
            raise AttributeError(item)
        if hasattr(document, item):
            return getattr(document, item)
        metadata = getattr(document, "metadata", None) or {}
        if item in metadata:
            return metadata[item]
        raise AttributeError(f"'Result' object has no attribute {item!r}")

    def __repr__(self) -> str:
        return f"Result(document={self.document!r}, score={self.score!r}, rank={self.rank!r})"


class RankedResults:
    """The ranked documents of one query, as ``rerankers.RankedResults``.

    Attributes:
        results: :class:`Result` objects, best first (``rank`` 1, 2, ...).
        query: the query text.
        has_scores: False: rankwise strategies produce an order (the scores
            are the synthetic ``n..1`` of :class:`~rankwise.Ranking`), so
            :meth:`top_k` goes by rank, as for ``rerankers``' listwise models.
        ranking: the :class:`~rankwise.Ranking` behind it, with its ``spend``
            (calls, documents shown, tokens, ``failed``) and ``error``.
    """

    def __init__(
        self, results: List[Result], query: str, has_scores: bool = False, ranking: Optional[Ranking] = None
    ) -> None:
        self.results, self.query, self.has_scores, self.ranking = results, query, has_scores, ranking

    def __iter__(self) -> Iterator[Result]:
        return iter(self.results)

    def __getitem__(self, index: int) -> Result:
        return self.results[index]

    def __len__(self) -> int:
        return len(self.results)

    def results_count(self) -> int:
        """How many results there are."""
        return len(self.results)

    def top_k(self, k: int) -> List[Result]:
        """The ``k`` best results (by score when ``has_scores``, else by rank)."""
        if self.has_scores:
            key = sorted(self.results, key=lambda r: r.score if r.score is not None else float("-inf"), reverse=True)
        else:
            key = sorted(self.results, key=lambda r: r.rank if r.rank is not None else float("inf"))
        return key[:k]

    def get_score_by_docid(self, doc_id: Union[int, str]) -> Optional[float]:
        """The score of the document ``doc_id``, or None."""
        r = self.get_result_by_docid(doc_id)
        return r.score if r is not None else None

    def get_result_by_docid(self, doc_id: Union[int, str]) -> Optional[Result]:
        """The result of the document ``doc_id``, or None."""
        return next((r for r in self.results if r.document.doc_id == doc_id), None)

    def __repr__(self) -> str:
        return f"RankedResults(results={self.results!r}, query={self.query!r}, has_scores={self.has_scores!r})"


def _documents(docs: Any, doc_ids: Optional[Sequence[Union[str, int]]]) -> List[Any]:
    """The documents of a query as ``Document``-like objects (text, doc_id, metadata), in the given order.

    ``docs``: a text, a list of texts, ``(doc_id, text)`` pairs, rankwise
    :class:`~rankwise.Candidate` objects, or ``Document`` objects (this
    module's or ``rerankers``'; kept as they are, metadata and all)."""
    if isinstance(docs, str) or hasattr(docs, "text"):
        docs = [docs]
    try:
        docs = list(docs)
    except TypeError:
        raise InvalidInputError(f"docs: expected a list of texts or documents, got {type(docs).__name__}") from None
    if doc_ids is not None:
        if isinstance(doc_ids, (str, bytes)):
            raise InvalidInputError("doc_ids: expected a list of ids, got a string")
        doc_ids = list(doc_ids)
        if len(doc_ids) != len(docs):
            raise InvalidInputError(f"doc_ids: {len(doc_ids)} ids for {len(docs)} documents")
    out: List[Any] = []
    for i, d in enumerate(docs):
        given = None if doc_ids is None else doc_ids[i]
        if isinstance(d, str):
            out.append(Document(d, doc_id=i if given is None else given))
        elif isinstance(d, Candidate):
            out.append(Document(d.text, doc_id=d.docid if given is None else given))
        elif isinstance(d, tuple) and len(d) == 2 and isinstance(d[1], str):
            out.append(Document(d[1], doc_id=d[0] if given is None else given))
        elif isinstance(getattr(d, "text", None), str):
            if given is not None:
                d.doc_id = given
            elif getattr(d, "doc_id", None) is None:
                d.doc_id = i
            out.append(d)
        else:
            raise InvalidInputError(
                f"docs: document {i} is a {type(d).__name__}; expected a text, a (doc_id, text) pair, "
                "a Candidate or a Document with text"
            )
    for i, d in enumerate(out):
        if isinstance(d.doc_id, bool) or not isinstance(d.doc_id, (str, int)):
            raise InvalidInputError(f"doc_ids: document {i} has id {d.doc_id!r}; ids must be strings or ints")
    return out


Job = Tuple[Request, str, List[Any]]  # (request, query text, documents in input order)


def _job(qid: str, query: Any, docs: Any, doc_ids: Optional[Sequence[Union[str, int]]]) -> Job:
    if not isinstance(query, str):
        raise InvalidInputError(f"query: expected a string, got {type(query).__name__}")
    documents = _documents(docs, doc_ids)
    return Request(qid, query, [Candidate(str(d.doc_id), d.text) for d in documents]), query, documents


def _results(job: Job, ranking: Ranking) -> RankedResults:
    _, query, documents = job
    by_id = {str(d.doc_id): d for d in documents}
    results = [
        Result(by_id[docid], score=float(score), rank=r)
        for r, (docid, score) in enumerate(zip(ranking.docids, ranking.scores.tolist()), 1)
    ]
    return RankedResults(results, query, has_scores=False, ranking=ranking)


class Reranker:
    """A rankwise strategy and scorer as an object that ranks queries.

    Args:
        strategy: e.g. ``SlidingWindow()``, ``JointRank()``, ``Pointwise()``.
        scorer: any rankwise scorer (see :mod:`rankwise.scorers`).
        **rerank_options: keyword options of :func:`~rankwise.rerank`
            (``batch_size``, ``on_error``, ``retries``, ...). Defaults differ in
            two places for one-query-at-a-time use: ``on_error="raise"`` (a
            failing scorer raises :class:`~rankwise.ScorerError` instead of
            quietly keeping the input order) and ``progress=False``.

    Example::

        rr = rw.Reranker(rw.SlidingWindow(), scorer)
        top = rr.rank("what is a flea", ["text one", "text two"]).top_k(1)
    """

    def __init__(self, strategy: Union[Strategy, Cascade], scorer: Any = None, **rerank_options: Any) -> None:
        if isinstance(strategy, Cascade):  # each stage carries its scorer
            if scorer is not None:
                raise InvalidInputError("scorer: a Cascade carries one scorer per stage; pass scorer=None")
        elif not isinstance(strategy, Strategy):
            raise InvalidInputError(
                f"strategy: expected a rankwise strategy (e.g. SlidingWindow()) or a Cascade, got {type(strategy).__name__}"
            )
        else:
            scorer_kind(scorer, strategy.call_kind)  # a clear error now for a non-callable or a bad kind
        known = [
            name for name, p in inspect.signature(rerank).parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        for name in rerank_options:
            if name not in known:
                raise InvalidInputError(f"{name}: not an option of rerank(); expected one of {', '.join(known)}")
        rerank_options.setdefault("on_error", "raise")
        rerank_options.setdefault("progress", False)
        self.strategy, self.scorer, self.options = strategy, scorer, rerank_options

    def _run(self, jobs: List[Job]) -> List[RankedResults]:
        runnable = [j for j in jobs if j[0].candidates]  # no documents: nothing to rank, no call
        rankings = iter(rerank([j[0] for j in runnable], self.strategy, self.scorer, **self.options))
        return [_results(j, next(rankings)) if j[0].candidates else RankedResults([], j[1]) for j in jobs]

    def rank(
        self,
        query: str,
        docs: Any,
        doc_ids: Optional[Sequence[Union[str, int]]] = None,
        *,
        qid: str = "q",
    ) -> RankedResults:
        """Rank ``docs`` for ``query``.

        Args:
            query: the query text.
            docs: a list of texts (or one text), ``(doc_id, text)`` pairs,
                :class:`~rankwise.Candidate` objects or ``Document`` objects
                (``rerankers``' or this module's), in first-stage order.
            doc_ids: ids for the documents (default: the documents' own ids,
                or 0, 1, ... for texts, as ``rerankers`` does); unique.
            qid: the query id the scorer sees (default ``"q"``; it keys
                recordings and caches together with the query text).

        Returns:
            A :class:`RankedResults`, best first; an empty one for no documents.
        """
        return self._run([_job(qid, query, docs, doc_ids)])[0]

    def rank_many(self, requests: Iterable[Any]) -> List[RankedResults]:
        """Rank many queries in one run, so scorer batches span queries.

        ``requests``: ``(query, docs)`` or ``(query, docs, doc_ids)`` tuples
        (``docs`` as for :meth:`rank`), dicts with ``query``, ``docs`` and
        optionally ``doc_ids`` and ``qid``, :class:`~rankwise.Request` objects,
        rank_llm ``Request`` objects, or any dict
        :func:`~rankwise.data.as_request` reads. Query ids default to ``"0"``,
        ``"1"``, ... by position and must be unique. Returns one
        :class:`RankedResults` per request, in order.
        """
        jobs: List[Job] = []
        for i, r in enumerate(requests):
            if isinstance(r, tuple) and len(r) in (2, 3):
                jobs.append(_job(str(i), r[0], r[1], r[2] if len(r) == 3 else None))
            elif isinstance(r, dict) and isinstance(r.get("query"), str) and "docs" in r:
                jobs.append(_job(str(r.get("qid", i)), r["query"], r["docs"], r.get("doc_ids")))
            else:  # a Request, a rank_llm Request, or a dict of the forms load_requests reads
                req = as_request(r, default_qid=str(i))
                jobs.append(_job(req.qid, req.query, req.candidates, None))
        return self._run(jobs)

    async def arank(
        self,
        query: str,
        docs: Any,
        doc_ids: Optional[Sequence[Union[str, int]]] = None,
        *,
        qid: str = "q",
    ) -> RankedResults:
        """:meth:`rank` without blocking the event loop (the driver runs in a worker thread)."""
        return await asyncio.to_thread(self.rank, query, docs, doc_ids, qid=qid)

    async def arank_many(self, requests: Iterable[Any]) -> List[RankedResults]:
        """:meth:`rank_many` without blocking the event loop."""
        reqs = list(requests)
        return await asyncio.to_thread(self.rank_many, reqs)

    def order(self, query: str, docs: Sequence[Any]) -> List[int]:
        """The indices of ``docs`` (texts or ``(doc_id, text)`` pairs), best first:
        what :func:`~rankwise.rank_function` returns."""
        documents = _documents(docs, None)
        index = {str(d.doc_id): i for i, d in enumerate(documents)}
        ranked = self.rank(query, documents)
        return [index[str(r.document.doc_id)] for r in ranked.results]

    def score(self, query: str, doc: str) -> float:
        """One document's relevance score, when the scorer is pointwise (as
        ``rerankers``' ``score``); other kinds score documents only relative to
        each other, so they raise :class:`~rankwise.InvalidInputError`."""
        if isinstance(self.strategy, Cascade) or scorer_kind(self.scorer, self.strategy.call_kind) != "pointwise":
            raise InvalidInputError("scorer: score() needs a pointwise scorer; rank() ranks with any kind")
        (answer,) = list(self.scorer([PointwiseCall("q", query, Candidate("0", doc))]))
        answer = getattr(answer, "value", answer)
        if isinstance(answer, BaseException):
            raise ScorerError(f"the scorer failed on the call: {answer!r}")
        try:
            return float(answer)
        except (TypeError, ValueError):
            raise ScorerError(f"the scorer's answer is not a number: {answer!r}") from None

    def __repr__(self) -> str:
        return f"Reranker({self.strategy!r}, {self.scorer!r})"


def as_rerankers_ranker(strategy: Strategy, scorer: Any, **rerank_options: Any) -> Any:
    """A ``rerankers`` ranker (a ``rerankers.models.ranker.BaseRanker``
    subclass) that ranks with ``strategy`` and ``scorer``, for code that
    expects one: its ``rank``/``rank_async`` return ``rerankers``' own
    ``RankedResults`` of ``Result``/``Document`` objects. Needs ``rerankers``
    installed (``pip install rerankers``); options as for :class:`Reranker`."""
    try:
        from rerankers.documents import Document as RDocument
        from rerankers.models.ranker import BaseRanker
        from rerankers.results import RankedResults as RRankedResults
        from rerankers.results import Result as RResult
    except ImportError:
        raise InvalidInputError(
            "as_rerankers_ranker needs the rerankers package (pip install rerankers); "
            "Reranker gives results of the same shape without it"
        ) from None
    inner = Reranker(strategy, scorer, **rerank_options)

    class RankwiseRanker(BaseRanker):  # type: ignore[misc]
        """A rankwise strategy and scorer as a ``rerankers`` ranker."""

        def __init__(self, reranker: Reranker) -> None:
            self.reranker = reranker

        def rank(self, query: str, docs: Any, doc_ids: Optional[Sequence[Union[str, int]]] = None) -> Any:
            ours = self.reranker.rank(query, docs, doc_ids)
            results = []
            for r in ours.results:
                d = r.document
                doc = d if isinstance(d, RDocument) else RDocument(d.text, doc_id=d.doc_id, metadata=d.metadata)
                results.append(RResult(doc, score=r.score, rank=r.rank))
            return RRankedResults(results=results, query=query, has_scores=False)

        def score(self, query: str, doc: str) -> float:
            return self.reranker.score(query, doc)

        def __repr__(self) -> str:
            return f"RankwiseRanker({self.reranker!r})"

    return RankwiseRanker(inner)
