"""Rerank a collection on a Ray cluster (``pip install 'rankwise[ray]'``).

:func:`rerank_iter` runs rankwise's own driver (:func:`rankwise.rerank_iter`)
inside a Ray Data ``map_batches`` actor pool: each actor builds its scorer
once (a GPU model, an HTTP client of its node's server, ...) and reranks the
batches of queries Ray hands it, with scorer batches that span the queries
of its batch. Rankings stream back to the caller in completion order.

The same results as one process, by construction: a query's plan is seeded
with its query id and never depends on the queries beside it, so a run on N
workers equals :func:`rankwise.rerank` in one process query by query (the
tests compare the TREC files byte for byte after sorting by query id).

Faults: an actor that dies (killed, out of memory, a lost node) is restarted
by Ray and its unfinished batch is run again, so no query is lost; the driver
yields each query id once (a guard against a batch that ran twice). A scorer
factory that fails, a misconfigured scorer (:class:`~rankwise.InvalidInputError`)
or ``on_error="raise"`` ends the job with one clear rankwise exception instead
of Ray's tracebacks, and nothing after it is yielded.

Inputs: a Ray Dataset with columns ``qid``, ``query``, ``docids``, ``texts``
and optionally ``scores`` (see :func:`requests_dataset`), paths of DL JSON or
rank_llm JSONL files (streamed entry by entry on the workers, never loaded
whole on the driver; one read task per file), or an iterable of
:class:`~rankwise.Request`. This module imports Ray on first use;
``import rankwise`` never does.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import socket
import time
import traceback
import warnings
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Literal,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np

from ._errors import InvalidInputError, RankwiseError, ScorerError, ScorerWarning
from ._progress import Progress
from ._validate import at_least
from .data import Candidate, Request
from .rerank import RerankStats
from .rerank import rerank_iter as _local_rerank_iter
from .runs import PathLike, Ranking
from .strategies import Strategy

if TYPE_CHECKING:  # pragma: no cover
    import ray.data

__all__ = ["rerank_iter", "rerank", "requests_dataset", "write_parquet", "iter_requests", "RAY_MISSING"]

RAY_MISSING = "rankwise.ray needs Ray: pip install 'rankwise[ray]'"
ScorerFactory = Union[str, Callable[[], Any], Tuple[str, Dict[str, Any]]]
#: the columns of a requests Dataset (``scores`` optional)
COLUMNS = ("qid", "query", "docids", "texts", "scores")
_READ_CHUNK = 1 << 20  # bytes read at a time from a DL JSON file


def _ray() -> Any:
    """Ray, or the one-line ImportError that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise ImportError(RAY_MISSING) from None
    return ray


# --- streaming readers (plain Python; they run inside Ray read tasks) ---------------------------


def _lines(path: PathLike) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` read lazily: split at ``\\n`` only, a ``\\r``
    before it and a leading byte-order mark dropped: :func:`rankwise._io.stream_lines`."""
    from ._io import stream_lines

    return stream_lines(path, "path")


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a finite number")


def _json_array(path: PathLike) -> Iterator[tuple[str, Any]]:
    """The elements of a JSON list one at a time, with ``"entry i"``: memory
    holds one chunk of the file and one element, not the file."""
    where = os.fspath(path)
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    utf8 = codecs.getincrementaldecoder("utf-8")()
    try:
        f = open(path, "rb")
    except OSError as e:
        raise InvalidInputError(f"path: cannot read {where}: {e.strerror or e}") from None
    buf, pos, eof, i, read = "", 0, False, 0, 0

    def more() -> bool:
        nonlocal buf, pos, eof, read
        data = f.read(max(_READ_CHUNK, len(buf) - pos))  # doubling: an entry longer than a chunk is decoded O(1) times
        try:
            text = utf8.decode(data, final=not data)
        except UnicodeDecodeError as e:
            raise InvalidInputError(f"path: {where}: not valid UTF-8 at byte {read + e.start} ({e.reason})") from None
        if read == 0 and text.startswith("\ufeff"):
            text = text[1:]
        read += len(data)
        buf, pos, eof = buf[pos:] + text, 0, not data
        return bool(data)

    def skip_ws() -> None:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf) or eof or not more():
                return

    try:
        skip_ws()
        if pos >= len(buf) or buf[pos] != "[":
            raise InvalidInputError(f"path: {where}: expected a JSON list of request objects")
        pos += 1
        skip_ws()
        if pos < len(buf) and buf[pos] == "]":
            return
        while True:
            while True:
                try:
                    obj, end = decoder.raw_decode(buf, pos)
                except (json.JSONDecodeError, ValueError, RecursionError) as e:
                    if not eof and more():
                        continue
                    raise InvalidInputError(f"path: {where}, entry {i}: invalid JSON: {e}") from None
                if end >= len(buf) and not eof and more():  # a value cut at the buffer's end: read on
                    continue
                pos = end
                break
            yield f"entry {i}", obj
            i += 1
            skip_ws()
            if pos < len(buf) and buf[pos] == ",":
                pos += 1
                skip_ws()
                continue
            if pos < len(buf) and buf[pos] == "]":
                return
            raise InvalidInputError(f"path: {where}, after entry {i - 1}: expected ',' or ']'")
    finally:
        f.close()


def iter_requests(path: PathLike, *, depth: Optional[int] = None) -> Iterator[Request]:
    """Stream the requests of a JSON list or JSONL file (DL JSON, rank_llm,
    plain forms) one at a time, parsed as :func:`rankwise.load_requests`
    parses each entry, without holding the file in memory. Other inputs (one
    JSON object, a TREC run) go to :func:`rankwise.load_requests` whole."""
    from . import data

    where = os.fspath(path)
    if not Path(path).is_file():
        raise InvalidInputError(f"path: file not found: {where}")
    first = next((line.lstrip() for _, line in _lines(path) if line.strip()), "")
    if first.startswith("["):
        entries: Iterator[tuple[str, Any]] = _json_array(path)
    elif first.startswith("{") and _is_json(first):
        entries = ((f"line {n}", _parse_line(line, where, n)) for n, line in _lines(path) if line.strip())
    else:
        yield from data.load_requests(path, depth=depth)
        return
    for i, (pos, obj) in enumerate(entries):
        yield data._convert(obj, f"path: {where}: {pos}", depth, None, str(i))


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except (ValueError, RecursionError):  # deep nesting too
        return False
    return True


def _parse_line(line: str, where: str, n: int) -> Any:
    from ._io import parse_json

    return parse_json(line, "path", f"{where}, line {n}")


# --- rows <-> requests ------------------------------------------------------------------------


def _columns(requests: Sequence[Request]) -> Dict[str, Any]:
    return {
        "qid": [r.qid for r in requests],
        "query": [r.query for r in requests],
        "docids": [[c.docid for c in r.candidates] for r in requests],
        "texts": [[c.text for c in r.candidates] for r in requests],
        "scores": [[c.score for c in r.candidates] for r in requests],
    }


def _requests(batch: Dict[str, Any]) -> List[Request]:
    qids = batch["qid"]
    scores = batch.get("scores")
    out = []
    for k in range(len(qids)):
        docids, texts = list(batch["docids"][k]), list(batch["texts"][k])
        sc = list(scores[k]) if scores is not None and scores[k] is not None else [0.0] * len(docids)
        if not len(docids) == len(texts) == len(sc):
            raise InvalidInputError(f"requests: query {str(qids[k])!r} has different numbers of docids, texts, scores")
        try:  # Candidate and Request check the types themselves: a null text is an error, never the text "None"
            cands = [Candidate(d, t, 0.0 if s is None else s) for d, t, s in zip(docids, texts, sc)]
            out.append(Request(qids[k], batch["query"][k], cands))
        except InvalidInputError as e:
            raise InvalidInputError(f"requests: query {str(qids[k])!r}: {e}") from None
    return out


def _table(requests: Sequence[Request]) -> Any:
    import pyarrow as pa

    return pa.table(_columns(requests))


def _datasource(paths: Sequence[str], depth: Optional[int], rows_per_block: int) -> Any:
    from ray.data.block import BlockMetadata
    from ray.data.datasource import Datasource, ReadTask

    class RequestFiles(Datasource):  # type: ignore[misc]
        """One streaming read task per file: blocks of ``rows_per_block`` requests."""

        def estimate_inmemory_data_size(self) -> Optional[int]:
            return sum(os.path.getsize(p) for p in paths)

        def get_read_tasks(self, parallelism: int, **_: Any) -> List[Any]:
            def read(path: str) -> Callable[[], Iterator[Any]]:
                def fn() -> Iterator[Any]:
                    chunk: List[Request] = []
                    for r in iter_requests(path, depth=depth):
                        chunk.append(r)
                        if len(chunk) == rows_per_block:
                            yield _table(chunk)
                            chunk = []
                    if chunk:
                        yield _table(chunk)

                return fn

            meta = [
                BlockMetadata(num_rows=None, size_bytes=os.path.getsize(p), input_files=[p], exec_stats=None)
                for p in paths
            ]
            return [ReadTask(read(p), m) for p, m in zip(paths, meta)]

    return RequestFiles()


def requests_dataset(source: Any, *, depth: Optional[int] = None, rows_per_block: int = 32) -> "ray.data.Dataset":
    """The requests as a Ray Dataset with columns ``qid``, ``query``,
    ``docids``, ``texts``, ``scores`` (lists per query, first-stage order).

    ``source``: a Dataset (returned as is), a path or list of paths of DL
    JSON / rank_llm JSONL files (read on the workers, streamed, one task per
    file), or an iterable of :class:`~rankwise.Request` (held by the driver).
    Files and Request lists become blocks of ``rows_per_block`` requests
    (default 32): the unit Ray hands an actor, and that it runs again when
    the actor dies.
    """
    ray = _ray()
    rows_per_block = at_least("rows_per_block", rows_per_block, 1)
    if isinstance(source, ray.data.Dataset):
        schema = source.schema()
        missing = [c for c in COLUMNS[:4] if schema is None or c not in schema.names]
        if missing:
            raise InvalidInputError(
                f"requests: a Ray Dataset of requests needs the columns {', '.join(COLUMNS[:4])} (and optionally "
                f"scores); it lacks {', '.join(missing)}"
            )
        return source
    if isinstance(source, (str, os.PathLike)):
        source = [source]
    items = list(source)
    if items and all(isinstance(p, (str, os.PathLike)) for p in items):
        paths = [os.fspath(p) for p in items]
        for p in paths:
            if not Path(p).is_file():
                raise InvalidInputError(f"requests: file not found: {p}")
        return ray.data.read_datasource(_datasource(paths, depth, rows_per_block))
    if not all(isinstance(r, Request) for r in items):
        raise InvalidInputError("requests: expected a Ray Dataset, paths, or Request objects")
    if not items:
        raise InvalidInputError("requests: no queries")
    if depth is not None:
        items = [Request(r.qid, r.query, r.candidates[:depth]) for r in items]
    return ray.data.from_arrow([_table(items[i : i + rows_per_block]) for i in range(0, len(items), rows_per_block)])


# --- the actor --------------------------------------------------------------------------------


def _build_scorer(factory: ScorerFactory) -> Any:
    if isinstance(factory, str):
        from .scorers import from_spec

        return from_spec(factory)
    if isinstance(factory, tuple):  # (spec, options) from scorer_options=
        from .scorers import from_spec

        return from_spec(factory[0], **factory[1])
    return factory()


def _one_line(e: BaseException) -> str:
    """``Type: first line`` of an error; a Ray error is unwrapped to its cause first."""
    for _ in range(20):  # RayTaskError.cause, then the chain Ray Data builds with "raise ... from"
        inner = getattr(e, "cause", None) or e.__cause__
        if not isinstance(inner, BaseException) or inner is e:
            break
        e = inner
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return f"{type(e).__name__}: {lines[0]}" if lines else type(e).__name__


class _Reranker:
    """The callable class of the actor pool: one scorer per actor."""

    def __init__(self, strategy: Strategy, factory: bytes, options: Dict[str, Any]) -> None:
        self.strategy, self.options = strategy, options
        self.fatal: Optional[tuple[str, str]] = None
        self.scorer: Any = None
        try:
            from ray import cloudpickle

            made = cloudpickle.loads(factory)  # here, so that a factory the worker cannot import is one clear error
        except Exception as e:
            self.scorer = None
            self.fatal = (
                "factory",
                f"the scorer factory cannot be loaded on a Ray worker (can it import it?): {_one_line(e)}",
            )
            return
        try:
            self.scorer = _build_scorer(made)
        except BaseException as e:  # shown once on the driver, not as a Ray traceback
            if isinstance(e, KeyboardInterrupt):
                raise
            self.scorer = None
            self.fatal = ("factory", f"the scorer factory failed on a Ray worker: {_one_line(e)}")

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, Any]:
        qids = [str(q) for q in batch["qid"]]
        n = len(qids)
        out: Dict[str, Any] = {
            "qid": qids,
            "docids": [[] for _ in qids],
            "scores": [[] for _ in qids],
            "spend": ["{}"] * n,
            "error": [""] * n,
            "fatal": [""] * n,
            "fatal_kind": [""] * n,
            "scorer_seconds": [0.0] * n,
            "tokens_in": [0] * n,
            "tokens_out": [0] * n,
            "batches": [0] * n,
            "batch_queries": [0] * n,
        }
        fatal = self.fatal
        if fatal is None:
            st = RerankStats()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ScorerWarning)  # the driver warns once for the whole job
                    done = {
                        r.qid: r
                        for r in _local_rerank_iter(
                            _requests(batch), self.strategy, self.scorer, progress=False, stats=st, **self.options
                        )
                    }
            except InvalidInputError as e:
                fatal = ("input", str(e))
            except RankwiseError as e:
                fatal = ("scorer", str(e))
            except Exception as e:  # a bug or a broken environment on the worker: one line with where it happened
                tb = traceback.extract_tb(e.__traceback__)[-1:]
                at = f" (at {Path(tb[0].filename).name}:{tb[0].lineno})" if tb else ""
                fatal = ("scorer", f"reranking failed on a Ray worker: {_one_line(e)}{at}")
            else:
                for k, q in enumerate(qids):
                    r = done[q]
                    out["docids"][k] = r.docids
                    out["scores"][k] = np.asarray(r.scores, dtype=np.float64)
                    out["spend"][k] = json.dumps(r.spend)
                    out["error"][k] = r.error or ""
                out["scorer_seconds"][0] = st.scorer_seconds
                out["tokens_in"][0], out["tokens_out"][0] = st.tokens_in, st.tokens_out
                out["batches"][0], out["batch_queries"][0] = st.batches, st.batch_queries
        if fatal is not None:
            out["fatal_kind"] = [fatal[0]] * n
            out["fatal"] = [fatal[1]] * n
        return out


# --- the driver -------------------------------------------------------------------------------


def _connect(ray: Any, address: Optional[str], num_cpus: Optional[int]) -> bool:
    """Attach to (or start) a cluster; True when this call started it."""
    if ray.is_initialized():
        return False
    if address in (None, "local"):
        ray.init(num_cpus=num_cpus, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
        return True
    _probe(address)
    try:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise InvalidInputError(f"address: no Ray cluster at {address!r}: {_one_line(e)}") from None
    return True


def _probe(address: str, timeout: float = 5.0) -> None:
    """Fail at once when nothing listens at ``HOST:PORT`` (or ``ray://HOST:PORT``):
    Ray itself keeps retrying a dead address for minutes."""
    hostport = address[len("ray://") :] if address.startswith("ray://") else address
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto" and other forms: Ray answers those quickly
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise InvalidInputError(f"address: no Ray cluster at {address!r}: {e.strerror or e}") from None


def rerank_iter(
    requests: Any,
    strategy: Strategy,
    scorer_factory: ScorerFactory,
    *,
    scorer_options: Optional[Dict[str, Any]] = None,
    workers: int = 2,
    num_cpus: float = 0.5,
    num_gpus: float = 0,
    address: Optional[str] = None,
    queries_per_batch: int = 32,
    batch_size: Optional[int] = None,
    max_in_flight: Optional[int] = None,
    call_timeout: Optional[float] = None,
    depth: Optional[int] = None,
    skip: Iterable[str] = (),
    on_error: Literal["fallback", "raise"] = "fallback",
    retries: int = 1,
    worker_restarts: int = 3,
    progress: Optional[bool] = None,
    stats: Optional[RerankStats] = None,
    record: Optional[PathLike] = None,
) -> Iterator[Ranking]:
    """Rerank ``requests`` on a Ray cluster; yields each query's
    :class:`~rankwise.Ranking` (with ``spend`` and ``error``) as it arrives,
    every query id exactly once, in completion order.

    Args:
        requests: a Ray Dataset (columns ``qid``, ``query``, ``docids``,
            ``texts``, optional ``scores``), a path or list of paths of DL
            JSON / rank_llm JSONL files (streamed on the workers), or an
            iterable of :class:`~rankwise.Request`.
        strategy: any rankwise strategy (pickled to the workers).
        scorer_factory: a zero-argument callable that returns a scorer, run
            once in each actor (so a GPU model loads once per worker), or a
            ``--scorer`` spec string (``minilm``, ``replay:FILE``,
            ``http://host:8000/v1``, ...) that each actor builds with
            :func:`rankwise.scorers.from_spec`.
        scorer_options: keywords for ``from_spec`` with a spec string
            (``model=``, ``kind=``, ``device=``, ...); default none.
        workers: actors in the pool, default 2.
        num_cpus: CPUs reserved per actor, default 0.5 (the scorer's time is
            on a GPU or a server; a whole CPU per actor on a 2-core machine
            starves the read tasks and deadlocks).
        num_gpus: GPUs per actor, default 0 (1 for a 7B model per GPU; 0.5
            packs two actors on one GPU).
        address: None or ``"local"`` (default): the running cluster if
            ``ray.init`` was called, else a local one started for this job and
            stopped after it; ``"auto"``, ``"HOST:PORT"`` or ``"ray://..."``:
            an existing cluster.
        queries_per_batch: queries per ``map_batches`` batch, default 32: an
            actor's scorer batches span that many queries; a dead actor's
            batch is run again whole. A short list of requests is cut finer,
            so that each worker gets at least 4 batches.
        batch_size: scorer calls per batch inside an actor; default None: the
            scorer's ``batch_size`` attribute, else 32.
        max_in_flight, call_timeout: as :func:`rankwise.rerank_iter`, per
            actor (default None: the driver's defaults).
        depth: rerank only the first ``depth`` candidates (paths and Request
            lists; default all).
        skip: query ids to leave out (those a resumed job already has).
        on_error, retries: as :func:`rankwise.rerank`, per actor.
        worker_restarts: restarts of a dead actor (and retries of its batch),
            default 3.
        progress: a progress line of queries done across the cluster, on
            stderr; default: when it is a terminal.
        stats: a :class:`~rankwise.RerankStats` summed over the workers
            (``scorer_seconds`` is the sum over actors, so it can exceed the
            wall time).
        record: not supported on Ray (the actors would share one file):
            record in one process, or give each actor's scorer its own file.

    Raises:
        ImportError: Ray is not installed (``pip install 'rankwise[ray]'``).
        InvalidInputError: bad input, a query id repeated across the inputs
            (before any scorer work), no cluster at ``address``.
        ScorerError: the scorer factory failed on a worker, or a scorer error
            with ``on_error="raise"``; raised once, after the rankings
            finished before it.
    """
    ray = _ray()
    if not isinstance(strategy, Strategy):
        raise InvalidInputError(
            f"strategy: expected a rankwise strategy (e.g. SlidingWindow()), got {type(strategy).__name__}"
        )
    if not (isinstance(scorer_factory, str) or callable(scorer_factory)):
        raise InvalidInputError(f"scorer_factory: expected a callable or a --scorer spec, got {scorer_factory!r}")
    factory: Any = scorer_factory
    if scorer_options:
        if not isinstance(scorer_factory, str):
            raise InvalidInputError("scorer_options: only for a spec string; a callable factory takes its own")
        factory = (scorer_factory, dict(scorer_options))
    workers = at_least("workers", workers, 1)
    queries_per_batch = at_least("queries_per_batch", queries_per_batch, 1)
    worker_restarts = at_least("worker_restarts", worker_restarts, 0)
    retries = at_least("retries", retries, 0)
    if batch_size is not None:
        batch_size = at_least("batch_size", batch_size, 1)
    for name, v in (("num_cpus", num_cpus), ("num_gpus", num_gpus)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
            raise InvalidInputError(f"{name}: must be a number >= 0, got {v!r}")
    if on_error not in ("fallback", "raise"):
        raise InvalidInputError(f"on_error: must be 'fallback' or 'raise', got {on_error!r}")
    if record is not None:
        raise InvalidInputError(
            "record: not supported with Ray (the actors would share one file); record in one process"
        )
    if max_in_flight is not None:
        max_in_flight = at_least("max_in_flight", max_in_flight, 1)
    done_qids = {str(q) for q in skip}
    started = _connect(ray, address, None)
    st = stats if stats is not None else RerankStats()
    t0 = time.perf_counter()
    data_log = logging.getLogger("ray.data")
    level = data_log.level
    data_log.setLevel(logging.CRITICAL)  # no per-dataset chatter or tracebacks: errors are ours to report, once
    try:
        _check_resources(ray, num_cpus, num_gpus)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        local: Optional[List[Request]] = None
        per = queries_per_batch
        if not isinstance(requests, (str, os.PathLike, ray.data.Dataset)):
            items = list(requests)
            if items and all(isinstance(r, (str, os.PathLike)) for r in items):
                requests = items
            elif all(isinstance(r, Request) for r in items):
                local = items
            else:
                raise InvalidInputError("requests: expected a Ray Dataset, paths, or Request objects")
        if local is not None:  # in the driver's memory already: its ids are checked there
            total = _check_ids([{"qid": [r.qid for r in local]}], done_qids)
            if total == 0:
                return
            todo = [r for r in local if r.qid not in done_qids]
            per = max(1, min(queries_per_batch, -(-len(todo) // (4 * workers))))  # >= 4 batches per worker
            ds = requests_dataset(todo, depth=depth, rows_per_block=per)
        else:
            ds = requests_dataset(requests, depth=depth, rows_per_block=queries_per_batch)
            ids = ds.select_columns(["qid"]).iter_batches(batch_format="numpy", batch_size=4096)
            total = _check_ids(ids, done_qids)
            if total == 0:
                return
            if done_qids:
                keep = frozenset(done_qids)
                ds = ds.filter(lambda row: row["qid"] not in keep)
        options: Dict[str, Any] = {"on_error": on_error, "retries": retries}
        for name, value in (
            ("batch_size", batch_size),
            ("max_in_flight", max_in_flight),
            ("call_timeout", call_timeout),
        ):
            if value is not None:
                options[name] = value
        with warnings.catch_warnings():
            # Ray 2.60 deprecates passing actor options as keywords without naming a replacement for these two;
            # its default (restart forever, retry forever) would loop on a batch that kills every worker.
            warnings.simplefilter("ignore", DeprecationWarning)
            out = ds.map_batches(
                _Reranker,
                fn_constructor_args=(strategy, ray.cloudpickle.dumps(factory), options),
                batch_size=per,
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=workers),
                num_cpus=num_cpus,
                num_gpus=num_gpus,
                max_restarts=worker_restarts,
                max_task_retries=worker_restarts,
            )
        yield from _collect(ray, out, total, progress, st)
    finally:
        st.wall_seconds += time.perf_counter() - t0
        data_log.setLevel(level)
        if started:
            ray.shutdown()


def _check_resources(ray: Any, num_cpus: float, num_gpus: float) -> None:
    """An actor that asks for more than the whole cluster has would wait for ever: say so instead."""
    have = ray.cluster_resources()
    for name, key, want in (("num_gpus", "GPU", num_gpus), ("num_cpus", "CPU", num_cpus)):
        if want > have.get(key, 0.0):
            raise InvalidInputError(
                f"{name}: each worker asks for {want:g} {key}s but the cluster has {have.get(key, 0.0):g} "
                "(on an autoscaling cluster, start such a node first)"
            )


def _check_ids(batches: Iterable[Dict[str, Any]], skip: set[str]) -> int:
    """One pass over the query ids (only the ids reach the driver): a
    repeated id is an error before any scorer work. Returns how many remain."""
    seen: set[str] = set()
    for batch in batches:
        for q in batch["qid"]:
            q = str(q)
            if q in seen:
                raise InvalidInputError(f"requests: query {q!r} appears twice across the inputs")
            seen.add(q)
    return len(seen - skip)


def _collect(ray: Any, out: Any, total: int, progress: Optional[bool], st: RerankStats) -> Iterator[Ranking]:
    bar = Progress(total, progress, label="rerank (ray)")
    yielded: set[str] = set()
    failures: List[str] = []
    try:
        rows = iter(out.iter_batches(batch_format="numpy", batch_size=None))
        while True:
            try:
                batch = next(rows)
            except StopIteration:
                break
            except RankwiseError:
                raise
            except Exception as e:  # a Ray failure (workers out of restarts, ...): one line, not the traceback
                raise ScorerError(f"the Ray job failed: {_one_line(e)}") from None
            for k in range(len(batch["qid"])):
                if batch["fatal"][k]:
                    kind, why = str(batch["fatal_kind"][k]), str(batch["fatal"][k])
                    raise (InvalidInputError if kind == "input" else ScorerError)(why)
                qid = str(batch["qid"][k])
                if qid in yielded:  # a batch that ran twice
                    continue
                yielded.add(qid)
                spend = {str(a): float(b) for a, b in json.loads(str(batch["spend"][k])).items()}
                error = str(batch["error"][k]) or None
                docids = [str(d) for d in batch["docids"][k]]
                ranking = Ranking(qid, docids, np.asarray(batch["scores"][k], dtype=np.float64), spend, error)
                st.queries += 1
                st.calls += int(spend.get("calls", 0))
                st.docs_shown += int(spend.get("docs_shown", 0))
                st.scorer_seconds += float(batch["scorer_seconds"][k])
                st.tokens_in += int(batch["tokens_in"][k])
                st.tokens_out += int(batch["tokens_out"][k])
                st.batches += int(batch["batches"][k])
                st.batch_queries += int(batch["batch_queries"][k])
                if error is not None:
                    st.failed.append(qid)
                    failures.append(f"{qid}: {error}")
                bar.update(st.queries, st.calls)
                yield ranking
    finally:
        bar.close()
    if failures:
        more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
        warnings.warn(
            f"{len(failures)} queries kept their first-stage order because scorer calls failed: "
            f"{'; '.join(failures[:3])}{more}",
            ScorerWarning,
            stacklevel=2,
        )


def rerank(requests: Any, strategy: Strategy, scorer_factory: ScorerFactory, **options: Any) -> List[Ranking]:
    """:func:`rerank_iter` collected into a list sorted by query id."""
    return sorted(rerank_iter(requests, strategy, scorer_factory, **options), key=lambda r: r.qid)


def write_parquet(rankings: Iterable[Ranking], path: PathLike, *, rows_per_group: int = 1024) -> int:
    """Write rankings to a parquet file (columns ``qid``, ``docids``,
    ``scores``, ``spend`` as a map, ``error``), streaming in row groups of
    ``rows_per_group`` (default 1024), for a pipeline that continues in Ray
    (``ray.data.read_parquet(path)``). Returns the number of rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows_per_group = at_least("rows_per_group", rows_per_group, 1)
    schema = pa.schema(
        [
            ("qid", pa.string()),
            ("docids", pa.list_(pa.string())),
            ("scores", pa.list_(pa.float64())),
            ("spend", pa.map_(pa.string(), pa.float64())),
            ("error", pa.string()),
        ]
    )
    n = 0
    group: List[Ranking] = []

    def flush(w: Any) -> None:
        w.write_table(
            pa.table(
                {
                    "qid": [r.qid for r in group],
                    "docids": [r.docids for r in group],
                    "scores": [np.asarray(r.scores, dtype=np.float64) for r in group],
                    "spend": [list(r.spend.items()) for r in group],
                    "error": [r.error for r in group],
                },
                schema=schema,
            )
        )
        group.clear()

    with pq.ParquetWriter(os.fspath(path), schema) as w:
        for r in rankings:
            group.append(r)
            n += 1
            if len(group) == rows_per_group:
                flush(w)
        if group or n == 0:
            flush(w)
    return n
