"""rankwise.ray on a real local Ray cluster (started once for the module on
this machine's 2 CPUs, stopped afterwards, and checked to leave no Ray
process behind): identical output to one process on the shared DL19 and DL20
data with the simulated Oracle, the recorded RankVicuna calls (Replay) and
the embedded MiniLM; an actor killed on cue mid-job; a failing scorer factory;
duplicate query ids across shards; no Ray, no cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np
import pytest

import rankwise as rw
from conftest import SHARED_DATA as DATA
from conftest import needs_shared as needs_data
from rankwise.scorers import Oracle, Replay

ray = pytest.importorskip("ray")
ray_pickle = pytest.importorskip("ray.cloudpickle")

import rankwise.ray as rr  # noqa: E402

ray_pickle.register_pickle_by_value(sys.modules[__name__])  # the workers need not import this test module

DL19, DL20 = DATA / "dl19" / "bm25_top100.json", DATA / "dl20" / "bm25_top100.json"
QRELS19, QRELS20 = DATA / "dl19" / "qrels.txt", DATA / "dl20" / "qrels.txt"
VICUNA = DATA / "dl19" / "llm" / "rankvicuna7b_windows.jsonl"

ROOT = Path(__file__).resolve().parent.parent

STRATEGIES = [
    rw.SlidingWindow(),
    (getattr(rw, "TournamentSort", None) or rw.Tournament)(),
    rw.JointRank(aggregator="plackett_luce"),
    rw.SparsePairwise(),
    rw.AllPairs(depth=15),
    rw.Setwise(),
    rw.Pointwise(),
]


def _ray_processes(session: str) -> List[int]:
    """Pids of live processes whose command line names this cluster's session directory."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next((ln for ln in (d / "status").read_text().splitlines() if ln.startswith("State:")), "")
        except OSError:
            continue
        if session in cmd and "zombie" not in state:
            pids.append(int(d.name))
    return pids


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    session = ray.get_runtime_context().gcs_address  # noqa: F841  (kept for debugging)
    session_dir = ray._private.worker._global_node.get_session_dir_path()
    yield
    ray.shutdown()
    import time

    for _ in range(50):  # the raylet and GCS exit within a few seconds of shutdown
        if not _ray_processes(session_dir):
            break
        time.sleep(0.2)
    assert _ray_processes(session_dir) == [], "Ray processes outlived ray.shutdown()"


def oracle(qrels: Path, kind: str) -> Callable[[], Any]:
    return lambda: Oracle(rw.read_qrels(qrels), kind=kind, temperature=1.0, seed=0)  # type: ignore[arg-type]


def trec(rankings: List[rw.Ranking], path: Path) -> bytes:
    rw.write_run(sorted(rankings, key=lambda r: r.qid), path)
    return path.read_bytes()


def same(a: List[rw.Ranking], b: List[rw.Ranking], tmp_path: Path) -> None:
    assert trec(a, tmp_path / "a.trec") == trec(b, tmp_path / "b.trec")
    sa, sb = {r.qid: (r.spend, r.error) for r in a}, {r.qid: (r.spend, r.error) for r in b}
    assert sa == sb


# --- against one process ------------------------------------------------------------------------


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: type(s).__name__)
def test_every_strategy_equals_one_process(cluster: None, strategy: rw.Strategy, tmp_path: Path) -> None:
    requests = rw.load_requests(DL19)[:12]
    make = oracle(QRELS19, strategy.call_kind)
    local = rw.rerank(requests, strategy, make(), progress=False)
    st = rw.RerankStats()
    got = list(rr.rerank_iter(requests, strategy, make, workers=2, queries_per_batch=4, stats=st, progress=False))
    assert sorted(r.qid for r in got) == sorted(r.qid for r in requests)
    same(got, local, tmp_path)
    assert st.queries == 12 and st.calls == sum(int(r.spend["calls"]) for r in local)


@needs_data
@pytest.mark.slow
def test_dl19_and_dl20_shards_stream_and_equal_one_process(cluster: None, tmp_path: Path) -> None:
    both = tmp_path / "qrels.txt"
    both.write_bytes(QRELS19.read_bytes() + QRELS20.read_bytes())
    strategy = rw.JointRank()
    make = oracle(both, "listwise")
    local = rw.rerank(rw.load_requests(DL19) + rw.load_requests(DL20), strategy, make(), progress=False)
    got = rr.rerank([DL19, DL20], strategy, make, workers=2)  # two files: two streaming read tasks
    assert len(got) == 43 + 54
    same(got, local, tmp_path)


@needs_data
@pytest.mark.slow
def test_replay_rankvicuna_by_spec_equals_one_process(cluster: None, tmp_path: Path) -> None:
    strategy = rw.SlidingWindow(window=20, step=10)
    local = rw.rerank(rw.load_requests(DL19), strategy, Replay.from_jsonl(VICUNA), progress=False)
    got = rr.rerank(str(DL19), strategy, f"replay:{VICUNA}", workers=2, queries_per_batch=8)
    same(got, local, tmp_path)
    ndcg = rw.evaluate(got, rw.read_qrels(QRELS19), "ndcg@10")["ndcg@10"]
    assert round(ndcg, 4) == 0.6682  # the published RankVicuna number


@needs_data
@pytest.mark.slow
def test_minilm_equals_one_process(cluster: None, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from rankwise.scorers import EmbeddingScorer

    requests = [rw.Request(r.qid, r.query, r.candidates[:20]) for r in rw.load_requests(DL20)[:6]]
    # fp32: bf16 autocast (the default on CPUs with native bf16) is not batch-invariant, in one process
    # either: a query's scores move in the last bits with the lengths it is padded to beside other queries
    local = rw.rerank(requests, rw.Pointwise(), EmbeddingScorer(dtype="float32"), batch_size=64, progress=False)
    opts = {"dtype": "float32"}
    got = rr.rerank(
        requests, rw.Pointwise(), "minilm", scorer_options=opts, workers=2, queries_per_batch=2, batch_size=64
    )
    same(got, local, tmp_path)


@needs_data
@pytest.mark.slow
def test_a_users_ray_dataset_equals_one_process(cluster: None, tmp_path: Path) -> None:
    requests = rw.load_requests(DL20)[:8]
    rows = [  # the columns a user's pipeline provides; scores optional
        {
            "qid": r.qid,
            "query": r.query,
            "docids": [c.docid for c in r.candidates],
            "texts": [c.text for c in r.candidates],
        }
        for r in requests
    ]
    make = oracle(QRELS20, "listwise")
    local = rw.rerank(
        [rw.Request(r.qid, r.query, [rw.Candidate(c.docid, c.text) for c in r.candidates]) for r in requests],
        rw.JointRank(),
        make(),
        progress=False,
    )
    got = rr.rerank(ray.data.from_items(rows), rw.JointRank(), make, workers=2)
    same(got, local, tmp_path)
    with pytest.raises(rw.InvalidInputError, match="lacks docids, texts"):
        rr.rerank(ray.data.from_items([{"qid": "1", "query": "q"}]), rw.JointRank(), make)
    rows[3]["texts"][5] = None  # a null in the user's data: an error naming it, never the passage "None"
    with pytest.raises(rw.InvalidInputError, match=f"query '{rows[3]['qid']}'.*text None"):
        rr.rerank(ray.data.from_items(rows), rw.JointRank(), make)


# --- faults --------------------------------------------------------------------------------------


class DieOnce:
    """A scorer that kills its own process (os._exit) on its k-th call, once per marker file."""

    def __init__(self, inner: Any, marker: str, k: int) -> None:
        self.inner, self.marker, self.k, self.n = inner, marker, k, 0
        self.kind = inner.kind

    def __call__(self, calls: List[Any]) -> Any:
        self.n += 1
        if self.n == self.k:
            try:
                fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.close(fd)
                os._exit(1)
        return self.inner(calls)


@needs_data
@pytest.mark.slow
def test_actor_killed_mid_job_every_query_exactly_once(cluster: None, tmp_path: Path) -> None:
    marker = str(tmp_path / "died")
    strategy = rw.SlidingWindow()
    make = oracle(QRELS19, "listwise")
    local = rw.rerank(rw.load_requests(DL19), strategy, make(), progress=False)

    def dying() -> Any:
        return DieOnce(make(), marker, k=5)

    got = list(rr.rerank_iter(DL19, strategy, dying, workers=2, queries_per_batch=8, progress=False))
    assert os.path.exists(marker), "no actor was killed"
    qids = [r.qid for r in got]
    assert len(qids) == len(set(qids)) == 43
    same(got, local, tmp_path)


def test_driver_yields_each_query_once_when_a_batch_comes_twice() -> None:
    """The guard behind Ray's retries: a batch delivered twice is yielded once."""
    row = {
        "qid": np.array(["q1", "q2"], dtype=object),
        "docids": np.array([np.array(["a", "b"]), np.array(["c"])], dtype=object),
        "scores": np.array([np.array([2.0, 1.0]), np.array([1.0])], dtype=object),
        "spend": np.array([json.dumps({"calls": 1.0}), json.dumps({"calls": 2.0})], dtype=object),
        "error": np.array(["", ""], dtype=object),
        "fatal": np.array(["", ""], dtype=object),
        "fatal_kind": np.array(["", ""], dtype=object),
        "scorer_seconds": np.zeros(2),
        "tokens_in": np.zeros(2, dtype=int),
        "tokens_out": np.zeros(2, dtype=int),
        "batches": np.array([1, 0]),
        "batch_queries": np.array([2, 0]),
    }

    class Twice:
        def iter_batches(self, **_: Any) -> Iterator[Dict[str, Any]]:
            return iter([row, row])

    st = rw.RerankStats()
    got = list(rr._collect(None, Twice(), 2, False, st))
    assert [r.qid for r in got] == ["q1", "q2"] and st.queries == 2 and st.calls == 3
    assert got[0].docids == ["a", "b"] and got[1].spend == {"calls": 2.0}


@pytest.mark.slow
def test_failing_scorer_factory_is_one_clear_error(cluster: None) -> None:
    requests = [rw.Request("q1", "q", [rw.Candidate("a", "x"), rw.Candidate("b", "y")])]

    def broken() -> Any:
        raise RuntimeError("CUDA is not available on this node\n(a long second line)")

    got: List[rw.Ranking] = []
    with pytest.raises(rw.ScorerError) as e:
        for r in rr.rerank_iter(requests, rw.Pointwise(), broken, workers=1, progress=False):
            got.append(r)
    assert got == []
    msg = str(e.value)
    assert "scorer factory failed" in msg and "CUDA is not available on this node" in msg
    assert "\n" not in msg and "Traceback" not in msg and "ray" not in msg.lower().replace("a ray worker", "")


@pytest.mark.slow
def test_factory_the_workers_cannot_import_is_one_clear_error(
    cluster: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "driver_only_scorers.py").write_text("def factory():\n    return None\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # importable here, not on the workers
    import driver_only_scorers  # type: ignore[import-not-found]

    requests = [rw.Request("q1", "q", [rw.Candidate("a", "x")])]
    with pytest.raises(rw.ScorerError) as e:
        list(rr.rerank_iter(requests, rw.Pointwise(), driver_only_scorers.factory, workers=1, progress=False))
    msg = str(e.value)
    assert "cannot be loaded on a Ray worker" in msg and "driver_only_scorers" in msg and "\n" not in msg


@pytest.mark.slow
def test_scorer_error_with_on_error_raise_is_one_rankwise_error(cluster: None) -> None:
    requests = [rw.Request(f"q{i}", "q", [rw.Candidate("a", "x"), rw.Candidate("b", "y")]) for i in range(3)]

    def failing() -> Any:
        def score(calls: List[Any]) -> List[float]:
            raise RuntimeError("server said 500")

        return rw.scorers.as_scorer(score, "pointwise")

    with pytest.raises(rw.ScorerError, match="server said 500"):
        list(rr.rerank_iter(requests, rw.Pointwise(), failing, on_error="raise", progress=False))
    # the default policy: every query comes back in first-stage order, marked failed, with one warning
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        got = rr.rerank(requests, rw.Pointwise(), failing)
    assert [r.docids for r in got] == [["a", "b"]] * 3 and all(r.spend["failed"] == 1 for r in got)
    assert sum(issubclass(x.category, rw.ScorerWarning) for x in w) == 1


@needs_data
@pytest.mark.slow
def test_duplicate_ids_across_shards_fail_before_any_scorer_work(cluster: None, tmp_path: Path) -> None:
    marker = tmp_path / "built"

    def factory() -> Any:
        marker.touch()
        return oracle(QRELS19, "listwise")()

    with pytest.raises(rw.InvalidInputError, match="appears twice across the inputs"):
        list(rr.rerank_iter([DL19, DL19], rw.SlidingWindow(), factory, progress=False))
    assert not marker.exists()
    twice = rw.load_requests(DL19)[:2] * 2
    with pytest.raises(rw.InvalidInputError, match="appears twice"):
        list(rr.rerank_iter(twice, rw.SlidingWindow(), factory, progress=False))
    assert not marker.exists()


@needs_data
@pytest.mark.slow
def test_skip_leaves_out_queries_already_done(cluster: None) -> None:
    requests = rw.load_requests(DL19)[:6]
    done = {requests[0].qid, requests[3].qid}
    make = oracle(QRELS19, "pointwise")
    got = rr.rerank(requests, rw.Pointwise(depth=10), make, skip=done)
    assert sorted(r.qid for r in got) == sorted(r.qid for r in requests if r.qid not in done)
    assert rr.rerank(requests, rw.Pointwise(), make, skip=[r.qid for r in requests]) == []


@pytest.mark.slow
def test_a_worker_asking_for_more_than_the_cluster_has_is_an_error_not_a_wait(cluster: None) -> None:
    requests = [rw.Request("q1", "q", [rw.Candidate("a", "x")])]
    gpus = ray.cluster_resources().get("GPU", 0.0)
    with pytest.raises(rw.InvalidInputError, match="^num_gpus: each worker asks for"):
        list(rr.rerank_iter(requests, rw.Pointwise(), lambda: None, num_gpus=gpus + 1))
    with pytest.raises(rw.InvalidInputError, match="^num_cpus: each worker asks for 3 CPUs but the cluster has 2"):
        list(rr.rerank_iter(requests, rw.Pointwise(), lambda: None, num_cpus=3))


def test_bad_options_name_the_argument() -> None:
    requests = [rw.Request("q1", "q", [rw.Candidate("a", "x")])]
    for kwargs, name in [
        ({"workers": 0}, "workers"),
        ({"num_cpus": -1}, "num_cpus"),
        ({"queries_per_batch": 0}, "queries_per_batch"),
    ]:
        with pytest.raises(rw.InvalidInputError, match=f"^{name}"):
            next(rr.rerank_iter(requests, rw.Pointwise(), lambda: None, **kwargs))
    with pytest.raises(rw.InvalidInputError, match="^strategy"):
        next(rr.rerank_iter(requests, "pointwise", lambda: None))  # type: ignore[arg-type]
    with pytest.raises(rw.InvalidInputError, match="^scorer_factory"):
        next(rr.rerank_iter(requests, rw.Pointwise(), 42))  # type: ignore[arg-type]


# --- no Ray, no cluster -----------------------------------------------------------------------


def _run(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def test_import_rankwise_does_not_import_ray() -> None:
    out = _run("import sys, rankwise, rankwise.ray; print('ray' in sys.modules)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_no_ray_installed_is_a_one_line_import_error() -> None:
    out = _run(
        """
        import sys
        sys.modules["ray"] = None  # as if Ray were not installed
        import rankwise as rw, rankwise.ray as rr
        try:
            next(rr.rerank_iter([], rw.Pointwise(), lambda: None))
        except ImportError as e:
            print(str(e))
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "rankwise.ray needs Ray: pip install 'rankwise[ray]'"


@pytest.mark.slow
def test_no_cluster_at_the_address_is_a_quick_clear_error() -> None:
    import socket

    with socket.socket() as s:  # a port on loopback where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = _run(
        f"""
        import rankwise as rw, rankwise.ray as rr
        reqs = [rw.Request("q1", "q", [rw.Candidate("a", "x")])]
        try:
            next(rr.rerank_iter(reqs, rw.Pointwise(), lambda: None, address="127.0.0.1:{port}"))
        except rw.InvalidInputError as e:
            print(str(e))
        """,
        timeout=60,  # Ray alone retries a dead address for minutes
    )
    assert out.returncode == 0, out.stderr
    line = out.stdout.strip()
    assert line.startswith(f"address: no Ray cluster at '127.0.0.1:{port}'") and "\n" not in line


# --- streaming readers and parquet (no cluster needed) --------------------------------------------


@needs_data
@pytest.mark.parametrize("chunk", [97, 1 << 20])
def test_iter_requests_streams_what_load_requests_reads(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rr, "_READ_CHUNK", chunk)  # entries cut at every chunk boundary
    for path in (DL19, DL20):
        assert list(rr.iter_requests(path)) == rw.load_requests(path)
    assert list(rr.iter_requests(DL19, depth=5)) == rw.load_requests(DL19, depth=5)


@pytest.mark.slow
def test_iter_requests_holds_a_chunk_not_the_file(tmp_path: Path) -> None:
    import tracemalloc

    hit = {"qid": "q", "docid": "d", "score": 1.0, "content": "x" * 400}
    entries = [
        {"query": f"query {i}", "hits": [dict(hit, qid=str(i), docid=f"d{j}") for j in range(20)]} for i in range(4000)
    ]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(entries, indent=1), encoding="utf-8")
    size = path.stat().st_size  # ~40 MB
    del entries
    tracemalloc.start()
    try:
        n = sum(1 for _ in rr.iter_requests(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 4000
    assert peak < size / 4, f"streaming held {peak / 1e6:.1f} MB of a {size / 1e6:.1f} MB file"


def test_iter_requests_jsonl_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rr, "_READ_CHUNK", 7)
    rows = [
        {"query": {"qid": f"q{i}", "text": f"query {i}"}, "candidates": [{"docid": "d1", "doc": {"text": "t"}}]}
        for i in range(3)
    ]
    jl = tmp_path / "r.jsonl"
    jl.write_text("\ufeff" + "\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    assert list(rr.iter_requests(jl)) == rw.load_requests(jl)
    arr = tmp_path / "r.json"
    arr.write_text(json.dumps(rows), encoding="utf-8")
    assert list(rr.iter_requests(arr)) == rw.load_requests(arr)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(rows)[:-30], encoding="utf-8")  # cut inside the last entry
    with pytest.raises(rw.InvalidInputError, match="entry 2"):
        list(rr.iter_requests(bad))
    nan = tmp_path / "nan.json"
    nan.write_text('[{"query": "q", "hits": [{"qid": "1", "docid": "a", "content": "x", "score": NaN}]}]')
    with pytest.raises(rw.InvalidInputError, match="entry 0"):
        list(rr.iter_requests(nan))
    with pytest.raises(rw.InvalidInputError, match="file not found"):
        list(rr.iter_requests(tmp_path / "missing.json"))


def test_write_parquet_round_trip(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    rankings = [
        rw.Ranking.from_order(f"q{i}", [f"d{j}" for j in range(i + 1)], {"calls": float(i)}, None if i else "boom")
        for i in range(5)
    ]
    assert rr.write_parquet(iter(rankings), tmp_path / "run.parquet", rows_per_group=2) == 5
    t = pq.read_table(tmp_path / "run.parquet")
    assert t.column("qid").to_pylist() == [r.qid for r in rankings]
    assert t.column("docids").to_pylist() == [r.docids for r in rankings]
    assert t.column("scores").to_pylist() == [r.scores.tolist() for r in rankings]
    assert [dict(m) for m in t.column("spend").to_pylist()] == [r.spend for r in rankings]
    assert t.column("error").to_pylist() == ["boom", None, None, None, None]


# --- through the command line --------------------------------------------------------------------

# the one-process CLI tests' job: the shipped DL19 subset, Pointwise, tests/slow_scorer.py (a SIMULATED judge that
# sleeps RANKWISE_TEST_DELAY per batch); their env puts tests/ on PYTHONPATH, which the Ray workers inherit
from test_cli import RERANK as CLI  # noqa: E402
from test_cli import env as cli_env  # noqa: E402
from test_cli import journal_records, run_cli  # noqa: E402


def _start_time(pid: int) -> Optional[str]:
    """A process's start time (field 22 of /proc/PID/stat): with the pid, who it is, even after pid reuse."""
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split())[19]
    except (OSError, IndexError):
        return None


def _descendants(pid: int) -> List[Tuple[int, str]]:
    children: Dict[int, List[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            start = _start_time(c)
            if start is not None:
                out.append((c, start))
            todo.append(c)
    return out


def _alive(proc: Tuple[int, str]) -> bool:
    pid, start = proc
    try:
        state = next(ln for ln in Path(f"/proc/{pid}/status").read_text().splitlines() if ln.startswith("State:"))
    except (OSError, StopIteration):
        return False
    return "zombie" not in state and _start_time(pid) == start


@pytest.mark.slow
def test_cli_ray_sigkill_of_the_driver_then_resume_gives_the_one_process_run(tmp_path: Path) -> None:
    import signal
    import time

    whole = tmp_path / "whole.trec"
    r = run_cli(*CLI, "-o", whole)  # one process, no Ray
    assert r.returncode == 0, r.stderr
    out = tmp_path / "ray.trec"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rankwise", *CLI, "--ray", "local", "--workers", "2", "-o", str(out)],
        env=cli_env(RANKWISE_TEST_DELAY=0.5),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cluster: List[Tuple[int, str]] = []
    deadline = time.time() + 240
    while time.time() < deadline and journal_records(out) < 2 and proc.poll() is None:
        cluster = _descendants(proc.pid) or cluster  # the local cluster this driver started
        time.sleep(0.1)
    cluster = _descendants(proc.pid) or cluster
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = time.time()
    try:
        assert 2 <= journal_records(out) < 10, "killed mid-run"
        assert not out.exists()
        r = run_cli(*CLI, "--ray", "local", "--workers", "2", "-o", out, "--resume")
        assert r.returncode == 0, r.stderr
        assert "resuming:" in r.stderr and "Traceback" not in r.stderr
        assert out.read_bytes() == whole.read_bytes()
        # GCS and raylet die with their driver; Ray's per-node agents notice within about a minute (measured: 35-80 s)
        while time.time() < killed_at + 150 and any(_alive(p) for p in cluster):
            time.sleep(0.5)
        assert not [p for p in cluster if _alive(p)], "Ray processes outlived the killed driver"
    finally:
        for p in cluster:  # never leave what this test started
            if _alive(p):
                os.kill(p[0], signal.SIGKILL)


@pytest.mark.slow
def test_cli_ray_one_line_errors_exit_2(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run_cli(*CLI, "--ray", f"127.0.0.1:{port}", "-o", tmp_path / "a.trec")
    assert r.returncode == 2 and "no Ray cluster at" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    missing = tmp_path / "noray"
    missing.mkdir()
    (missing / "ray.py").write_text("raise ImportError('No module named ray')\n")  # shadows the real Ray
    r = run_cli(*CLI, "--ray", "-o", tmp_path / "b.trec", PYTHONPATH=f"{missing}{os.pathsep}{ROOT / 'tests'}")
    assert r.returncode == 2, r.stderr
    assert "pip install 'rankwise[ray]'" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_cli_ray_failed_queries_are_listed_as_in_one_process(tmp_path: Path) -> None:
    one, many = tmp_path / "one.trec", tmp_path / "ray.trec"
    r1 = run_cli(*CLI, "-o", one, RANKWISE_TEST_FAIL_QID="1129237")
    r2 = run_cli(*CLI, "--ray", "--workers", "2", "-o", many, RANKWISE_TEST_FAIL_QID="1129237")
    assert r1.returncode == r2.returncode == 1, r2.stderr  # finished, but one query fell back
    assert "1 fell back to first-stage order" in r2.stderr
    failed = [json.loads(line) for line in (tmp_path / "ray.trec.failed.jsonl").read_text().splitlines()]
    assert [f["qid"] for f in failed] == ["1129237"] and "simulated scorer failure" in failed[0]["error"]
    assert many.read_bytes() == one.read_bytes()
    assert (tmp_path / "ray.trec.failed.jsonl").read_bytes() == (tmp_path / "one.trec.failed.jsonl").read_bytes()


@pytest.mark.slow
def test_cli_ray_ctrl_c_stops_keeps_the_finished_queries_and_stops_the_cluster(tmp_path: Path) -> None:
    import signal
    import time

    out = tmp_path / "int.trec"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rankwise", *map(str, CLI), "--ray", "--workers", "2", "-o", str(out)],
        env=cli_env(RANKWISE_TEST_DELAY=0.5),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    cluster: List[Tuple[int, str]] = []
    deadline = time.time() + 240
    while time.time() < deadline and journal_records(out) < 2 and proc.poll() is None:
        cluster = _descendants(proc.pid) or cluster
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    try:
        assert proc.returncode == 130 and "--resume" in err and "Traceback" not in err, err
        assert 2 <= journal_records(out) < 10
        deadline = time.time() + 30  # ray.shutdown() in the driver stops what it started
        while time.time() < deadline and any(_alive(p) for p in cluster):
            time.sleep(0.2)
        assert not [p for p in cluster if _alive(p)], "Ray processes outlived the interrupted driver"
    finally:
        for p in cluster:
            if _alive(p):
                os.kill(p[0], signal.SIGKILL)
