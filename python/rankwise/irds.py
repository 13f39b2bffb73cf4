"""Rerank requests from an `ir_datasets <https://ir-datasets.com>`_ dataset:
its queries, its documents and a first-stage run (the dataset's own
``scoreddocs`` or a run you give), read from the local ir_datasets cache
without touching the network.

``ir_datasets`` is optional (``pip install ir_datasets``) and imported only
when :func:`load` is given a dataset id. Its cache lives under
``IR_DATASETS_HOME`` (default ``~/.ir_datasets``), one folder per dataset
family, e.g. for ``msmarco-passage/trec-dl-2019``::

    $IR_DATASETS_HOME/msmarco-passage/collection.tsv            # docid<TAB>text
    $IR_DATASETS_HOME/msmarco-passage/irds_version.txt          # "v2"
    $IR_DATASETS_HOME/msmarco-passage/trec-dl-2019/queries.tsv  # qid<TAB>text
    $IR_DATASETS_HOME/msmarco-passage/trec-dl-2019/ms.run       # qid docid (BM25 top 1000)

ir_datasets reads ``IR_DATASETS_HOME`` when it is first imported: set it
before then.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Dict, Iterator, List, Literal, Mapping, Optional, Union

from ._errors import InvalidInputError
from .data import Candidate, Request, _id, _score
from .runs import PathLike, Run, as_run, read_run

__all__ = ["load"]

IrdsOrder = Literal["score", "rank", "given"]


class _WouldDownload(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """Make any ir_datasets download raise :class:`_WouldDownload` instead."""
    try:
        from ir_datasets.util import download as dl
    except ImportError:  # not ir_datasets' layout: nothing to guard
        yield
        return
    cls = getattr(dl, "RequestsDownload", None)
    original = getattr(cls, "stream", None)
    if cls is None or original is None:
        yield
        return

    @contextlib.contextmanager
    def refuse(self: Any) -> Iterator[Any]:
        raise _WouldDownload(str(getattr(self, "url", "?")))
        yield  # pragma: no cover

    cls.stream = refuse
    try:
        yield
    finally:
        cls.stream = original


def _dataset(dataset: Any) -> Any:
    if not isinstance(dataset, str):
        return dataset
    try:
        import ir_datasets
    except ImportError:
        raise InvalidInputError(
            "dataset: loading an ir_datasets id needs the ir_datasets package (pip install ir_datasets), "
            "or pass a dataset object"
        ) from None
    try:
        return ir_datasets.load(dataset)
    except KeyError:
        raise InvalidInputError(f"dataset: {dataset!r} is not an ir_datasets dataset id") from None


def _text(record: Any, field: Optional[str], what: str) -> str:
    if field is not None:
        if not hasattr(record, field):
            fields = getattr(record, "_fields", None)
            raise InvalidInputError(f"{what}: has no field {field!r} (fields: {fields})")
        value = getattr(record, field)
    elif callable(getattr(record, "default_text", None)):
        value = record.default_text()
    else:
        value = getattr(record, "text", None)
    if not isinstance(value, str):
        raise InvalidInputError(f"{what}: text is {value!r}, not a string")
    return value


def _home() -> str:
    return os.environ.get("IR_DATASETS_HOME", os.path.join("~", ".ir_datasets"))


def load(
    dataset: Any,
    *,
    run: Union[None, PathLike, Run, Mapping[str, Any]] = None,
    depth: Optional[int] = None,
    order: Optional[IrdsOrder] = None,
    query_field: Optional[str] = None,
    doc_field: Optional[str] = None,
    download: bool = False,
) -> List[Request]:
    """Rerank requests from an ir_datasets dataset, in the run's query order.

    Args:
        dataset: an ir_datasets id (``"msmarco-passage/trec-dl-2019/judged"``)
            or a dataset object (anything with ``queries_iter()``,
            ``docs_store()`` and, without ``run``, ``scoreddocs_iter()``).
        run: the first-stage run: a TREC run file, a :class:`~rankwise.Run`
            or ``{qid: {docid: score}}``; default the dataset's
            ``scoreddocs``.
        depth: keep only the first ``depth`` candidates of each query.
        order: how each query's candidates are ordered: ``"score"``
            (trec_eval's order), ``"rank"`` (a run file's rank column) or
            ``"given"`` (file order). Default ``"score"``, except for
            scoreddocs without scores (MS MARCO's ``qid docid`` runs, all
            0), which keep file order.
        query_field / doc_field: the record field holding the text (e.g.
            ``"description"`` of a TREC topic); default each record's
            ``default_text()``.
        download: let ir_datasets download what is not cached; default
            False, so a missing file raises instead of reaching the network.

    Raises:
        InvalidInputError: the package missing for an id, an unknown id, a
            file not in the local cache (naming the URL it would fetch), a
            run query without a query text or a run document not in the
            collection.
    """
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 1):
        raise InvalidInputError(f"depth: must be a positive integer, got {depth!r}")
    if order is not None and order not in ("score", "rank", "given"):
        raise InvalidInputError(f"order: expected 'score', 'rank' or 'given', got {order!r}")
    name = dataset if isinstance(dataset, str) else type(dataset).__name__
    guard = contextlib.nullcontext() if download else _offline()
    try:
        with guard:
            return _load(_dataset(dataset), name, run, depth, order, query_field, doc_field)
    except _WouldDownload as e:
        raise InvalidInputError(
            f"dataset: {name}: a file it needs is not in the local ir_datasets cache "
            f"(IR_DATASETS_HOME={_home()}); ir_datasets would download {e.url}; "
            "fetch it first, or pass download=True"
        ) from None
    except (FileNotFoundError, NotImplementedError, AttributeError) as e:
        raise InvalidInputError(f"dataset: {name}: {type(e).__name__}: {e}") from None


def _first_stage(ds: Any, name: str, run: Any, order: Optional[IrdsOrder]) -> Run:
    if run is None:
        if not callable(getattr(ds, "scoreddocs_iter", None)) or (
            callable(getattr(ds, "has_scoreddocs", None)) and not ds.has_scoreddocs()
        ):
            raise InvalidInputError(f"run: {name} has no scoreddocs; pass run= (a TREC run file or a Run)")
        table: Dict[str, Dict[str, float]] = {}
        for i, sd in enumerate(ds.scoreddocs_iter()):
            at = f"run: {name}'s scoreddocs, entry {i}"
            qid, docid = _id(sd.query_id, f"{at}: query_id"), _id(sd.doc_id, f"{at}: doc_id")
            per = table.setdefault(qid, {})
            if docid in per:
                raise InvalidInputError(f"{at}: document {docid!r} listed twice for query {qid!r}")
            per[docid] = _score(sd.score, f"{at}: score")
        if not table:
            raise InvalidInputError(f"run: {name}'s scoreddocs are empty")
        if order is None:
            scores = {s for per in table.values() for s in per.values()}
            order = "given" if len(scores) == 1 else "score"
        return Run.from_dict(table, order="given" if order == "rank" else order)
    if isinstance(run, (str, os.PathLike)):
        return read_run(run, order=order or "score")
    return as_run(run)


def _load(
    ds: Any,
    name: str,
    run: Any,
    depth: Optional[int],
    order: Optional[IrdsOrder],
    query_field: Optional[str],
    doc_field: Optional[str],
) -> List[Request]:
    first = _first_stage(ds, name, run, order)
    asked = set(first)
    queries: Dict[str, str] = {}
    for i, q in enumerate(ds.queries_iter()):
        qid = _id(q.query_id, f"queries: {name}, entry {i}: query_id")
        if qid in asked:
            queries[qid] = _text(q, query_field, f"queries: {name}, query {qid!r}")
    wanted = sorted({d for r in first.values() for d in r.docids[:depth]})
    store = ds.docs_store()
    found = store.get_many(wanted)
    texts = {str(k): _text(v, doc_field, f"docs: {name}, document {k!r}") for k, v in found.items()}
    out = []
    for r in first.values():
        if r.qid not in queries:
            raise InvalidInputError(f"queries: query {r.qid!r} of the run is not among {name}'s queries")
        ids = r.docids[:depth]
        missing = [d for d in ids if d not in texts]
        if missing:
            raise InvalidInputError(
                f"docs: {len(missing)} documents of query {r.qid!r} are not in {name}'s collection (e.g. {missing[0]!r})"
            )
        scores = r.scores[: len(ids)].tolist()
        out.append(Request(r.qid, queries[r.qid], [Candidate(d, texts[d], s) for d, s in zip(ids, scores)]))
    return out
