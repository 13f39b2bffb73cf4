"""Faults injected for real into `rankwise rerank`: SIGKILL at every write
point of a job, a second writer, foreign files under -o, --overwrite with a
mistake found late, torn and binary journal tails, SIGTERM/SIGHUP, a file
size limit (disk full), and usage mistakes that used to give tracebacks."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rankwise as rw
from rankwise import cli

HERE = Path(__file__).resolve().parent
EX = cli.EXAMPLES
INPUT, QRELS = EX / "dl19_top30.json", EX / "dl19_qrels.txt"
FAIL_QID = "1129237"


def env(**extra):
    e = dict(
        os.environ,
        RANKWISE_TEST_QRELS=str(QRELS),
        PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    )
    e.pop("RANKWISE_TEST_KILL_AT", None)
    e.update({k: str(v) for k, v in extra.items()})
    return e


def rerank_args(inp, out, *more):
    return [
        "rerank",
        str(inp),
        "-o",
        str(out),
        "--strategy",
        "pointwise",
        "--scorer",
        "py:slow_scorer:scorer",
        "--batch-size",
        "30",
        "--no-progress",
        *map(str, more),
    ]


def run_cli(args, preexec_fn=None, **extra):
    return subprocess.run(
        [sys.executable, "-m", "rankwise", *args],
        capture_output=True,
        text=True,
        env=env(**extra),
        timeout=300,
        preexec_fn=preexec_fn,
    )


def start_cli(args, **extra):
    return subprocess.Popen(
        [sys.executable, "-m", "rankwise", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(**extra),
    )


def files(out: Path):
    """The job's derived files and their bytes (None: absent)."""
    names = [out, out.with_name(out.name + ".spend.jsonl"), out.with_name(out.name + ".failed.jsonl")]
    return {p.name.replace(out.name, "OUT"): (p.read_bytes() if p.exists() else None) for p in names}


def journal(out: Path) -> Path:
    return out.with_name(out.name + ".rankwise.jsonl")


def records(out: Path) -> int:
    j = journal(out)
    return max(0, j.read_bytes().count(b"\n") - 1) if j.exists() else 0


def wait_for_records(out: Path, n: int, proc) -> None:
    deadline = time.time() + 120
    while time.time() < deadline and records(out) < n and proc.poll() is None:
        time.sleep(0.02)
    assert records(out) >= n, "the job did not get going"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Three queries of the shipped DL19 subset; the test scorer fails the last on request (its
    batch is then split and retried, a sleep each time: slow jobs below leave it out)."""
    d = tmp_path_factory.mktemp("small")
    hits = json.loads(INPUT.read_text(encoding="utf-8"))
    qids = [str(h["hits"][0]["qid"]) for h in hits]
    keep = [h for h, q in zip(hits, qids) if q != FAIL_QID][:2] + [hits[qids.index(FAIL_QID)]]
    inp = d / "three.json"
    inp.write_text(json.dumps(keep), encoding="utf-8")
    return inp


@pytest.fixture(scope="module")
def reference(small, tmp_path_factory):
    """The uninterrupted run (one query falls back), and how many write points it passes."""
    out = tmp_path_factory.mktemp("ref") / "run.trec"
    r = run_cli(rerank_args(small, out), RANKWISE_TEST_FAIL_QID=FAIL_QID)
    assert r.returncode == 1, r.stderr  # finished, one query fell back
    assert files(out)["OUT.failed.jsonl"] is not None
    return files(out)


@pytest.mark.slow
def test_sigkill_at_every_write_point_then_resume_is_byte_identical(small, reference, tmp_path):
    n, seen_states = 0, set()
    while True:
        n += 1
        out = tmp_path / f"k{n}" / "run.trec"
        out.parent.mkdir()
        killed = run_cli(rerank_args(small, out), RANKWISE_TEST_FAIL_QID=FAIL_QID, RANKWISE_TEST_KILL_AT=n)
        if killed.returncode != -signal.SIGKILL:
            assert n > 1 and killed.returncode == 1, killed.stderr  # past the last write point: the job finished
            assert files(out) == reference
            break
        state = files(out)
        # the derived files are renamed into place whole: each is absent or complete
        for name, data in state.items():
            assert data is None or data == reference[name], (n, name)
        seen_states.add(tuple(k for k, v in state.items() if v is not None))
        resumed = run_cli(rerank_args(small, out, "--resume"), RANKWISE_TEST_FAIL_QID=FAIL_QID)
        assert resumed.returncode == 1, (n, resumed.stderr)
        assert "Traceback" not in resumed.stderr
        assert files(out) == reference, f"kill at write point {n}"
        left = sorted(p.name for p in out.parent.iterdir())
        assert left == sorted(
            ["run.trec", *(f"run.trec.{x}" for x in ("failed.jsonl", "rankwise.jsonl", "rankwise.lock", "spend.jsonl"))]
        ), left  # no temporaries left
        again = run_cli(rerank_args(small, out, "--resume"), RANKWISE_TEST_FAIL_QID=FAIL_QID)  # a finished job
        assert again.returncode == 1 and files(out) == reference, (n, again.stderr)
    # header (3 points and a rename), 3 records (3 each), the finish line (3), 3 files (3 and a rename each)
    assert n - 1 >= 4 + 3 * 3 + 3 + 3 * 4
    assert len(seen_states) >= 3  # killed before any file, between the renames, and after them


@pytest.mark.slow
def test_a_second_writer_is_refused_and_the_first_is_untouched(small, tmp_path):
    out = tmp_path / "run.trec"
    whole = tmp_path / "whole.trec"
    assert run_cli(rerank_args(small, whole)).returncode == 0
    # a slow job: 3 s per query, so the other writers below find it still running
    first = start_cli(rerank_args(small, out), RANKWISE_TEST_DELAY=3.0)
    try:
        wait_for_records(out, 1, first)
        before = journal(out).read_bytes()
        second = run_cli(rerank_args(small, out, "--resume"))
        assert second.returncode == 2 and "another process is writing" in second.stderr, second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        assert journal(out).read_bytes().startswith(before)
        also = run_cli(rerank_args(small, out, "--overwrite"))
        assert also.returncode == 2 and "another process is writing" in also.stderr
    finally:
        _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert files(out) == files(whole)


@pytest.mark.slow
def test_resume_refuses_foreign_files_and_never_changes_them(small, tmp_path):
    bm25 = tmp_path / "bm25.trec"
    rw.write_run([rw.first_stage_ranking(r) for r in rw.load_requests(small)], bm25)
    qrels = tmp_path / "qrels.txt"
    qrels.write_bytes(QRELS.read_bytes())
    for foreign in (bm25, qrels):
        before = foreign.read_bytes()
        r = run_cli(rerank_args(small, foreign, "--resume"))
        assert r.returncode == 2 and "not written by rankwise" in r.stderr, r.stderr
        assert foreign.read_bytes() == before and not journal(foreign).exists()
    # a journal of another job: another strategy, other requests
    out = tmp_path / "pointwise.trec"
    assert run_cli(rerank_args(small, out)).returncode == 0
    before = {**files(out), "journal": journal(out).read_bytes()}
    other = rerank_args(small, out, "--resume")
    other[other.index("pointwise")] = "sliding-window"
    r = run_cli(other)
    assert r.returncode == 2 and "holds another job" in r.stderr and "strategy" in r.stderr, r.stderr
    r = run_cli(rerank_args(INPUT, out, "--resume"))
    assert r.returncode == 2 and "the requests differ" in r.stderr, r.stderr
    assert {**files(out), "journal": journal(out).read_bytes()} == before
    # the run replaced by a foreign one behind the journal's back
    out.write_bytes(bm25.read_bytes())
    r = run_cli(rerank_args(small, out, "--resume"))
    assert r.returncode == 2 and "changed since rankwise wrote it" in r.stderr, r.stderr
    assert out.read_bytes() == bm25.read_bytes()
    # a record whose documents are not the query's candidates
    out2 = tmp_path / "tampered.trec"
    first = start_cli(rerank_args(small, out2), RANKWISE_TEST_DELAY=1.0)
    wait_for_records(out2, 1, first)
    first.send_signal(signal.SIGKILL)
    first.wait()
    lines = journal(out2).read_bytes().split(b"\n")
    rec = json.loads(lines[1])
    rec["docids"][0] = "not-a-candidate"
    lines[1] = json.dumps(rec).encode()
    journal(out2).write_bytes(b"\n".join(lines))
    tampered = journal(out2).read_bytes()
    r = run_cli(rerank_args(small, out2, "--resume"))
    assert r.returncode == 2 and "does not rank that query's candidates" in r.stderr, r.stderr
    assert journal(out2).read_bytes() == tampered


BAD_KIND = """
kind = "bogus"
def scorer(calls):
    return [0.0] * len(calls)
scorer.kind = kind
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "extra, message",
    [
        (["--batch-size", "0"], "--batch-size: must be at least 1"),
        (["--retries", "-1"], "--retries: must be at least 0"),
        (["--scorer", "py:os:path"], "not a scorer"),
        (["--scorer", "py:bad_kind:scorer"], "kind"),
        (["--kind", "listwise"], "is a pointwise scorer"),
        (["--window", "99999999999999999999", "--strategy", "sliding-window"], "window"),
    ],
)
def test_overwrite_with_a_late_mistake_keeps_the_old_output(small, tmp_path, extra, message):
    (tmp_path / "bad_kind.py").write_text(BAD_KIND)
    out = tmp_path / "run.trec"
    assert run_cli(rerank_args(small, out)).returncode == 0
    before = {**files(out), "journal": journal(out).read_bytes()}
    args = rerank_args(small, out, "--overwrite")
    for flag, value in zip(extra[::2], extra[1::2]):
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    r = subprocess.run(
        [sys.executable, "-m", "rankwise", *args],
        capture_output=True,
        text=True,
        env=env(PYTHONPATH=os.pathsep.join([str(tmp_path), str(HERE)])),
        timeout=300,
    )
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert {**files(out), "journal": journal(out).read_bytes()} == before
    fresh = tmp_path / "fresh.trec"  # without --overwrite: nothing left behind that blocks the rerun
    r = subprocess.run(
        [sys.executable, "-m", "rankwise", *[str(fresh) if a == str(out) else a for a in args if a != "--overwrite"]],
        capture_output=True,
        text=True,
        env=env(PYTHONPATH=os.pathsep.join([str(tmp_path), str(HERE)])),
        timeout=300,
    )
    assert r.returncode == 2, r.stderr
    assert not any(p.exists() for p in rw.RunWriter.files(fresh))


@pytest.mark.slow
@pytest.mark.parametrize(
    "tail",
    [b'{"qid": "104861", "docids": ["caf\xc3', b"\xff\xfe\x00\x9c garbage \x80", b"\xe2\x82\n\xff\xfe{not json}\n"],
    ids=["inside-a-utf8-character", "binary", "garbled-lines"],
)
def test_resume_drops_a_torn_or_binary_journal_tail(small, reference, tmp_path, tail):
    out = tmp_path / "run.trec"
    killed = run_cli(rerank_args(small, out), RANKWISE_TEST_FAIL_QID=FAIL_QID, RANKWISE_TEST_KILL_AT=8)
    assert killed.returncode == -signal.SIGKILL and not out.exists()
    with open(journal(out), "ab") as f:
        f.write(tail)
    r = run_cli(rerank_args(small, out, "--resume"), RANKWISE_TEST_FAIL_QID=FAIL_QID)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert files(out) == reference


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_say_the_work_is_resumable(small, reference, tmp_path, signum):
    out = tmp_path / "run.trec"
    proc = start_cli(rerank_args(small, out), RANKWISE_TEST_FAIL_QID=FAIL_QID, RANKWISE_TEST_DELAY=0.5)
    wait_for_records(out, 1, proc)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signum, err
    assert signal.Signals(signum).name in err and "--resume" in err and "Traceback" not in err
    r = run_cli(rerank_args(small, out, "--resume"), RANKWISE_TEST_FAIL_QID=FAIL_QID)
    assert r.returncode == 1 and files(out) == reference, r.stderr


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (1500, 1500))  # room for the header and a record or two


@pytest.mark.slow
def test_disk_full_names_the_file_and_resume_finishes(small, reference, tmp_path):
    out = tmp_path / "run.trec"
    r = run_cli(rerank_args(small, out), preexec_fn=_limit_file_size, RANKWISE_TEST_FAIL_QID=FAIL_QID)
    assert r.returncode == 2, r.stderr
    assert "File too large" in r.stderr and str(journal(out)) in r.stderr and "Traceback" not in r.stderr
    r = run_cli(rerank_args(small, out, "--resume"), RANKWISE_TEST_FAIL_QID=FAIL_QID)
    assert r.returncode == 1 and files(out) == reference, r.stderr


@pytest.mark.slow
def test_usage_mistakes_are_one_line(small, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    r = run_cli(rerank_args(small, blocker / "x.trec"))
    assert r.returncode == 2 and f"{blocker} is a file, not a folder" in r.stderr, r.stderr
    r = run_cli(["plot", str(small), "--qrels", str(QRELS), "-o", str(tmp_path / "p.xyz")])
    assert r.returncode == 2 and "unknown image format 'xyz'" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_choice_names_take_dashes_and_underscores_and_the_default_fits_the_scorer():
    p = cli.parser()
    a = p.parse_args(["rerank", "x.json", "-o", "y", "--strategy", "JointRank", "--aggregator", "plackett-luce"])
    s, _ = cli.plan_job(a)
    assert isinstance(s, rw.JointRank) and s.aggregator == "plackett_luce"
    a = p.parse_args(["rerank", "x.json", "-o", "y", "--strategy", "sparse_pairwise", "--sampler", "WINDOW"])
    assert cli.plan_job(a)[0].sampler == "window"
    with pytest.raises(cli.UsageError, match="--design: unknown choice 'bogus': choose one of auto, equi_replicate"):
        cli.plan_job(p.parse_args(["rerank", "x.json", "-o", "y", "--strategy", "jointrank", "--design", "bogus"]))
    # the default strategy fits the scorer's kind
    assert isinstance(cli.plan_job(p.parse_args(["rerank", "x.json", "-o", "y"]))[0], rw.Pointwise)  # minilm
    server = ["rerank", "x.json", "-o", "y", "--scorer", "http://127.0.0.1:9/v1", "--model", "m"]
    assert isinstance(cli.plan_job(p.parse_args(server))[0], rw.JointRank)
    assert isinstance(cli.plan_job(p.parse_args([*server, "--kind", "pointwise"]))[0], rw.Pointwise)
    # an explicit strategy makes a model answer its kind
    model = ["rerank", "x.json", "-o", "y", "--scorer", "org/model", "--strategy", "setwise"]
    assert cli.plan_job(p.parse_args(model))[1] == "listwise"


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_job_against_a_stalled_server_within_two_seconds(small, tmp_path, signum):
    from loopback_server import LoopbackServer

    server = LoopbackServer().start()
    try:
        out = tmp_path / "run.trec"
        args = rerank_args(small, out, "--model", "m", "--timeout", "600")
        args[args.index("py:slow_scorer:scorer")] = server.url_for("stall")
        proc = start_cli(args)
        deadline = time.time() + 60
        while server.stats()["requests"] < 1 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
        assert server.stats()["requests"] >= 1, proc.communicate()[1]
        proc.send_signal(signum)
        # the documented bound: the process is gone within 2 s of the signal (+1 s of slack for a busy machine)
        _, err = proc.communicate(timeout=3)
        assert proc.returncode == 128 + signum, err
        assert "--resume" in err and "Traceback" not in err
    finally:
        server.stop()
