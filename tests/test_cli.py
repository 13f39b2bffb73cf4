"""The rankwise command line: rerank with resume after SIGKILL, eval, plot,
demo data, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import os
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


def env(**extra):
    e = dict(
        os.environ,
        RANKWISE_TEST_QRELS=str(QRELS),
        PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    )
    e.update({k: str(v) for k, v in extra.items()})
    return e


def run_cli(*args, **extra):
    return subprocess.run(
        [sys.executable, "-m", "rankwise", *map(str, args)],
        capture_output=True,
        text=True,
        env=env(**extra),
        timeout=300,
    )


RERANK = [
    "rerank",
    INPUT,
    "--strategy",
    "pointwise",
    "--scorer",
    "py:slow_scorer:scorer",
    "--batch-size",
    "30",
    "--no-progress",
]


def test_examples_are_a_real_dl19_subset():
    reqs = rw.load_requests(INPUT)
    assert len(reqs) == 10 and all(len(r) == 30 for r in reqs)
    bm25 = rw.evaluate([rw.first_stage_ranking(r) for r in reqs], rw.read_qrels(QRELS), ["ndcg@10"])["ndcg@10"]
    assert round(bm25, 4) == 0.5267


@pytest.mark.slow  # CLI subprocesses
def test_rerank_writes_a_run_in_input_order_with_side_files(tmp_path):
    out = tmp_path / "run.trec"
    r = run_cli(*RERANK, "-o", out)
    assert r.returncode == 0, r.stderr
    assert "10 queries reranked" in r.stderr and "outside the scorer" in r.stderr
    run = rw.read_run(out)
    assert list(run) == [q.qid for q in rw.load_requests(INPUT)]
    ndcg = rw.evaluate(run, rw.read_qrels(QRELS), ["ndcg@10"])["ndcg@10"]
    assert ndcg > 0.75  # a SIMULATED (qrels) judge: the perfect reordering of the top 30 (0.7536)
    spend = [json.loads(line) for line in (tmp_path / "run.trec.spend.jsonl").read_text().splitlines()]
    assert len(spend) == 10 and all(s["calls"] == 30 for s in spend)
    assert not (tmp_path / "run.trec.failed.jsonl").exists()


def journal_records(out: Path) -> int:
    """Finished queries in a run's journal (its first line is the header)."""
    journal = out.with_name(out.name + ".rankwise.jsonl")
    return max(0, journal.read_bytes().count(b"\n") - 1) if journal.exists() else 0


@pytest.mark.slow  # CLI subprocesses
def test_sigkill_then_resume_gives_exactly_the_uninterrupted_run(tmp_path):
    whole = tmp_path / "whole.trec"
    assert run_cli(*RERANK, "-o", whole).returncode == 0
    out = tmp_path / "killed.trec"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rankwise", *map(str, RERANK), "-o", str(out)],
        env=env(RANKWISE_TEST_DELAY=0.4),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    while time.time() < deadline and journal_records(out) < 3:  # three queries written
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 3 <= journal_records(out) < 10, "killed mid-run"
    assert not out.exists()  # the TREC run is derived from the journal at the end
    # also tear the journal as a crash inside a write would
    with open(out.with_name(out.name + ".rankwise.jsonl"), "a") as f:
        f.write('{"qid": "19335", "docids": ["1017759", ')
    r = run_cli(*RERANK, "-o", out)
    assert r.returncode == 2 and "--resume" in r.stderr  # an unfinished job: needs --resume or --overwrite
    r = run_cli(*RERANK, "-o", out, "--resume")
    assert r.returncode == 0, r.stderr
    assert "resuming:" in r.stderr
    assert out.read_bytes() == whole.read_bytes()


@pytest.mark.slow  # CLI subprocesses
def test_ctrl_c_stops_cleanly_with_finished_queries_kept(tmp_path):
    out = tmp_path / "int.trec"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rankwise", *map(str, RERANK), "-o", str(out)],
        env=env(RANKWISE_TEST_DELAY=0.4),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and journal_records(out) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "--resume" in err and "Traceback" not in err
    assert 2 <= journal_records(out) < 10
    r = run_cli(*RERANK, "-o", out, "--resume")
    assert r.returncode == 0 and len(rw.read_run(out)) == 10, r.stderr


@pytest.mark.slow  # CLI subprocesses
def test_a_failing_query_is_written_in_first_stage_order_and_reported(tmp_path):
    out = tmp_path / "f.trec"
    r = run_cli(*RERANK, "-o", out, RANKWISE_TEST_FAIL_QID="1129237")
    assert r.returncode == 1, r.stderr  # finished, but not everything was reranked
    assert "1 fell back to first-stage order" in r.stderr
    failed = [json.loads(line) for line in (tmp_path / "f.trec.failed.jsonl").read_text().splitlines()]
    assert [f["qid"] for f in failed] == ["1129237"] and "simulated scorer failure" in failed[0]["error"]
    req = next(q for q in rw.load_requests(INPUT) if q.qid == "1129237")
    assert rw.read_run(out)["1129237"].docids == [c.docid for c in req.candidates]
    # --resume retries the query that fell back; then the run is the complete one
    whole = tmp_path / "whole.trec"
    assert run_cli(*RERANK, "-o", whole).returncode == 0
    r = run_cli(*RERANK, "-o", out, "--resume")
    assert r.returncode == 0 and "resuming: 9 of 10" in r.stderr, r.stderr
    assert out.read_bytes() == whole.read_bytes()
    assert not (tmp_path / "f.trec.failed.jsonl").exists()
    spend = [json.loads(line)["qid"] for line in (tmp_path / "f.trec.spend.jsonl").read_text().splitlines()]
    assert sorted(spend) == sorted(q.qid for q in rw.load_requests(INPUT))


@pytest.mark.slow  # CLI subprocesses
def test_resume_of_a_finished_run_and_a_scorer_that_cannot_start(tmp_path):
    out = tmp_path / "done.trec"
    assert run_cli(*RERANK, "-o", out).returncode == 0
    before = out.read_bytes()
    r = run_cli(*RERANK, "-o", out, "--resume")
    assert r.returncode == 0 and out.read_bytes() == before, r.stderr
    # a scorer that cannot be built leaves no output behind
    fresh = tmp_path / "fresh.trec"
    r = run_cli("rerank", INPUT, "-o", fresh, "--scorer", "py:no_such_module:scorer")
    assert r.returncode == 2 and not fresh.exists()


@pytest.mark.slow  # one CLI subprocess per case
@pytest.mark.parametrize(
    "args, message",
    [
        (["rerank", "missing.json", "-o", "x.trec"], "does not exist"),
        (["rerank", INPUT, "-o", "x.trec", "--strategy", "quicksort"], "unknown strategy 'quicksort'"),
        (["rerank", INPUT, "-o", "x.trec", "--scorer", "gpt-17"], "unknown scorer 'gpt-17'"),
        (
            ["rerank", INPUT, "-o", "x.trec", "--strategy", "jointrank", "--group-size", "5"],
            "--group-size does not apply to jointrank",
        ),
        (["rerank", INPUT, "-o", "x.trec", "--strategy", "sliding-window", "--step", "30"], "step"),
        (["rerank", INPUT, "-o", "x.trec", "--scorer", "http://localhost:1/v1"], "--model"),
        (["eval", "missing.trec", QRELS], "does not exist"),
        (["rerank", INPUT, "-o", "x.trec", "--tag", "my run"], "--tag"),
    ],
)
def test_bad_input_is_one_line_and_status_2(tmp_path, args, message):
    r = subprocess.run(
        [sys.executable, "-m", "rankwise", *map(str, args)],
        capture_output=True,
        text=True,
        env=env(),
        cwd=tmp_path,
        timeout=120,
    )
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_eval_table_per_query_and_compare(tmp_path, capsys):
    bm25 = tmp_path / "bm25.trec"
    rw.write_run([rw.first_stage_ranking(r) for r in rw.load_requests(INPUT)], bm25)
    assert (
        cli.main(
            [
                *map(str, RERANK[:1]),
                str(INPUT),
                "-o",
                str(tmp_path / "o.trec"),
                "--strategy",
                "pointwise",
                "--scorer",
                f"oracle:{QRELS}",
                "--no-progress",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert cli.main(["eval", str(bm25), str(QRELS), "-m", "ndcg@10"]) == 0
    out = capsys.readouterr().out
    assert "0.5267" in out and "10 queries" in out
    assert cli.main(["eval", str(bm25), str(QRELS), "-m", "ndcg@10", "--per-query"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 11
    assert (
        cli.main(["eval", str(bm25), str(QRELS), "--compare", str(tmp_path / "o.trec"), "-m", "ndcg@10", "-m", "map"])
        == 0
    )
    table = capsys.readouterr().out
    p = float(table.splitlines()[1].split()[-1])
    assert 0 < p < 0.01  # a perfect (simulated) reordering beats BM25 on all 10 queries
    other = tmp_path / "other_qrels.txt"
    other.write_text("999 0 d1 1\n")
    assert cli.main(["eval", str(bm25), str(other)]) == 2
    assert "no query of" in capsys.readouterr().err


def test_plot_per_query_and_against_calls(tmp_path):
    pytest.importorskip("matplotlib")
    o = tmp_path / "o.trec"
    assert (
        cli.main(
            [
                "rerank",
                str(INPUT),
                "-o",
                str(o),
                "--strategy",
                "jointrank",
                "--scorer",
                f"oracle:{QRELS}",
                "--no-progress",
            ]
        )
        == 0
    )
    for against in ("query", "calls"):
        png = tmp_path / f"{against}.png"
        assert cli.main(["plot", str(o), "--qrels", str(QRELS), "-o", str(png), "--against", against]) == 0
        assert png.read_bytes()[:4] == b"\x89PNG"


def test_help_is_complete_and_shows_defaults(capsys):
    for cmd in ("rerank", "eval", "plot", "demo"):
        with pytest.raises(SystemExit):
            cli.main([cmd, "--help"])
        text = capsys.readouterr().out
        assert "usage: rankwise" in text
    with pytest.raises(SystemExit):
        cli.main(["rerank", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for needle in (
        "--resume",
        "--block-size",
        "JointRank 20",
        "jointrank for listwise",
        "pointwise for pointwise",
        "choices: JointRank: auto, equi_replicate",
        "--timeout SECONDS",
        "default: minilm",
        "--setwise-method",
    ):
        assert needle in text


def test_output_format_jsonl_is_rank_llm_results_with_spend(tmp_path, capsys):
    out = tmp_path / "o.jsonl"
    args = ["rerank", str(INPUT), "-o", str(out), "--scorer", f"oracle:{QRELS}", "--kind", "pointwise"]
    assert cli.main([*args, "--no-progress", "--output-format", "jsonl"]) == 0
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [ln["query"]["qid"] for ln in lines] == [q.qid for q in rw.load_requests(INPUT)]
    assert all(ln["spend"]["calls"] == 30 for ln in lines)  # pointwise by default for a pointwise scorer
    assert [c.docid for c in rw.load_requests(out)[0].candidates] == [c["docid"] for c in lines[0]["candidates"]]
    capsys.readouterr()
    # resuming the job as another format is another job
    assert cli.main([*args, "--no-progress", "--resume"]) == 2
    assert "holds another job" in capsys.readouterr().err


def test_record_writes_every_scorer_call(tmp_path, capsys):
    out, calls = tmp_path / "o.trec", tmp_path / "calls.jsonl"
    args = ["rerank", str(INPUT), "-o", str(out), "--scorer", f"oracle:{QRELS}", "--strategy", "sliding-window"]
    assert cli.main([*args, "--no-progress", "--record", str(calls), "--max-in-flight", "4"]) == 0
    spend = [json.loads(line) for line in out.with_name(out.name + ".spend.jsonl").read_text().splitlines()]
    recorded = [json.loads(line) for line in calls.read_text(encoding="utf-8").splitlines()]
    assert len(recorded) == sum(s["calls"] for s in spend) > 0
    assert {r["qid"] for r in recorded} == {s["qid"] for s in spend}
    capsys.readouterr()
    assert cli.main([*args, "-o", str(tmp_path / "x.trec"), "--max-in-flight", "0"]) == 2
    assert "--max-in-flight: must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("spec", [f"oracle:{QRELS}", "minilm"])
def test_method_on_a_scorer_without_methods_is_a_usage_error(tmp_path, capsys, spec):
    """--method names a model's or a server's method; on an oracle or MiniLM it was ignored (and, since a
    method implies its kind, quietly changed the oracle's kind)."""
    code = cli.main(["rerank", str(INPUT), "-o", str(tmp_path / "run.txt"), "--scorer", spec, "--method", "icr"])
    assert code == 2 and "--method icr: applies to a model or an OpenAI-compatible server" in capsys.readouterr().err
    assert not (tmp_path / "run.txt").exists()
