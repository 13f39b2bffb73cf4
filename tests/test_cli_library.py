"""The library features the CLI is built on, used from Python: RunWriter,
paired_randomization_test and scorers.from_spec / spec_kind."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import rankwise as rw
from rankwise import cli
from rankwise.scorers import OpenAIScorer, Oracle, from_spec, spec_kind

INPUT, QRELS = cli.EXAMPLES / "dl19_top30.json", cli.EXAMPLES / "dl19_qrels.txt"


@pytest.fixture(scope="module")
def requests():
    return rw.load_requests(INPUT)[:4]


def reversed_ranking(r, error=None):
    ids = [c.docid for c in r.candidates][::-1]
    return rw.Ranking.from_order(r.qid, ids, {"calls": 3.0}, error=error)


def test_run_writer_resumes_and_derives_its_files_in_input_order(tmp_path, requests):
    out = tmp_path / "run.trec"
    with rw.RunWriter(out, requests, job={"strategy": "x"}) as w:
        assert not w.journal_path.exists()  # nothing written before the first record
        w.write(reversed_ranking(requests[2]))
        w.write(reversed_ranking(requests[0], error="boom"))
    assert not out.exists()
    w = rw.RunWriter(out, requests, job={"strategy": "x"}, mode="resume")
    assert set(w.done) == {requests[2].qid}  # the query that fell back is done again
    for r in (requests[0], requests[1], requests[3]):
        w.write(reversed_ranking(r))
    w.finish()
    run = rw.read_run(out, order="rank")
    assert list(run) == [r.qid for r in requests]
    assert run[requests[0].qid].docids == [c.docid for c in requests[0].candidates][::-1]
    spend = [json.loads(line) for line in w.spend_path.read_text().splitlines()]
    assert [s["qid"] for s in spend] == [r.qid for r in requests] and all(s["calls"] == 3 for s in spend)
    assert not w.failed_path.exists()
    before = out.read_bytes()
    again = rw.RunWriter(out, requests, job={"strategy": "x"}, mode="resume")
    assert len(again.done) == 4
    again.finish()  # a finished job: nothing changes
    assert out.read_bytes() == before


def test_run_writer_refuses_what_is_not_its_own(tmp_path, requests):
    out = tmp_path / "run.trec"
    out.write_text("1 Q0 d 1 1.0 bm25\n")
    with pytest.raises(rw.InvalidInputError, match="exists: resume it or overwrite it"):
        rw.RunWriter(out, requests)
    with pytest.raises(rw.InvalidInputError, match="not written by rankwise"):
        rw.RunWriter(out, requests, mode="resume")
    assert out.read_text() == "1 Q0 d 1 1.0 bm25\n"
    w = rw.RunWriter(out, requests, mode="overwrite", job={"a": 1})
    with pytest.raises(rw.InvalidInputError, match="another process is writing"):
        rw.RunWriter(out, requests, mode="overwrite")  # the lock, within one process too
    with pytest.raises(rw.InvalidInputError, match="does not rank that query's candidates"):
        w.write(rw.Ranking.from_order(requests[0].qid, ["x"] * 1))
    w.write(reversed_ranking(requests[0]))
    w.close()
    assert out.read_text() == "1 Q0 d 1 1.0 bm25\n"  # replaced only at finish
    with pytest.raises(rw.InvalidInputError, match="holds another job"):
        rw.RunWriter(out, requests, mode="resume", job={"a": 2})
    with pytest.raises(rw.InvalidInputError, match="the requests differ"):
        rw.RunWriter(out, requests[:2], mode="resume", job={"a": 1})
    w = rw.RunWriter(out, requests, mode="resume", job={"a": 1})  # the overwritten file was announced
    assert set(w.done) == {requests[0].qid}
    with pytest.raises(rw.InvalidInputError, match="3 queries not written"):
        w.finish()
    w.close()
    with pytest.raises(rw.InvalidInputError, match="mode"):
        rw.RunWriter(tmp_path / "o", requests, mode="append")  # type: ignore[arg-type]


def exact_p(a, b):
    d = np.asarray(a) - np.asarray(b)
    obs = abs(d.mean())
    means = [abs((np.array(s) * d).mean()) for s in itertools.product([-1.0, 1.0], repeat=d.size)]
    return float(np.mean([m >= obs - 1e-12 for m in means]))


def test_paired_randomization_test_agrees_with_the_exact_test():
    rng = np.random.default_rng(7)
    for _ in range(5):
        a, b = rng.random(10), rng.random(10)
        p = rw.paired_randomization_test(a, b, permutations=20_000, seed=3)
        assert abs(p - exact_p(a, b)) < 0.02  # Monte Carlo error at 20,000 draws is below 0.004
        assert p == rw.paired_randomization_test(b, a, permutations=20_000, seed=3)  # two-sided
    assert rw.paired_randomization_test([0.5, 0.2], [0.5, 0.2]) == 1.0
    assert rw.paired_randomization_test([], []) == 1.0
    same_sign = rw.paired_randomization_test(np.ones(12), np.zeros(12), permutations=5000, seed=0)
    assert 0 < same_sign <= 0.005  # exact: 2 / 4096
    for bad, match in [
        (dict(a=[1.0, 2.0], b=[1.0]), "same length"),
        (dict(a=[np.nan], b=[1.0]), "finite"),
        (dict(a=[1.0], b=[0.0], permutations=0), "permutations"),
    ]:
        with pytest.raises(rw.InvalidInputError, match=match):
            rw.paired_randomization_test(**bad)


def test_from_spec_builds_scorers_by_name_and_names_mistakes():
    assert spec_kind("minilm") == "pointwise" and spec_kind("http://127.0.0.1:9/v1") == "listwise"
    assert spec_kind("org/model") == "pointwise" and spec_kind("org/model", "pairwise") == "pairwise"
    o = from_spec(f"oracle:{QRELS}", kind="pairwise", temperature=0.5, seed=1)
    assert isinstance(o, Oracle) and o.kind == "pairwise"
    from loopback_server import LoopbackServer

    server = LoopbackServer().start()
    try:
        s = from_spec(server.url, model="m", kind="pointwise", timeout=7)
        assert isinstance(s, OpenAIScorer) and s.kind == "pointwise" and s.timeout == 7
    finally:
        server.stop()
    for spec, options, match in [
        ("gpt-17", {}, "unknown scorer 'gpt-17'"),
        ("py:os:path", {}, "not a scorer"),
        ("py:no_such_module_xyz", {}, "cannot load"),
        ("http://127.0.0.1:9/v1", {}, "model"),
        ("minilm", {"kind": "listwise"}, "pointwise scorer"),
        (f"oracle:{QRELS}", {"kind": "setwise"}, "kind"),
        ("oracle:/no/such/file", {}, "does not exist"),
    ]:
        with pytest.raises(rw.InvalidInputError, match=match):
            from_spec(spec, **options)
