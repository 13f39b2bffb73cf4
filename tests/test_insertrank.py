"""InsertRank from the CLI and the API: each passage of the listwise prompts
followed by its first-stage (BM25) score, raw with three decimals (or scaled
0..100 per window), against the SIMULATED loopback server (it ranks by
query-word overlap and ignores the scores; the tests read the prompts it was
sent)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

import rankwise as rw
from rankwise import cli
from rankwise.scorers import OpenAIScorer, reasoning

sys.path.insert(0, str(Path(__file__).parent))
from loopback_server import LoopbackServer  # noqa: E402

EX = Path(__file__).resolve().parent.parent / "examples"
INPUT = EX / "dl19_top30.json"
SCORE = re.compile(r"^BM25 score: (-?[0-9.]+)$", re.M)


@pytest.fixture
def server():
    with LoopbackServer() as s:
        yield s


def shown(body):
    """The scores a listwise prompt showed, in prompt order."""
    return [s for m in body["messages"] if m["role"] == "user" for s in SCORE.findall(str(m["content"]))]


def test_cli_insert_scores_shows_the_bm25_scores_scaled_per_window(server, tmp_path, capsys):
    out = tmp_path / "run.txt"
    args = ["rerank", str(INPUT), "-o", str(out), "--scorer", server.url, "--model", "m", "--no-progress"]
    args += ["--strategy", "sliding_window", "--insert-scores"]
    assert cli.main(args) == 0, capsys.readouterr().err
    bodies = [b for b in server.bodies if "messages" in b]
    assert bodies
    for b in bodies:
        s = shown(b)
        assert len(s) == len([m for m in b["messages"] if m["role"] == "user"]) - 2  # every passage, none else
    # the first query's first window is its BM25 top of rank 11..30 (a sliding window starts at the bottom):
    # its BM25 scores, three decimals, falling in prompt order
    req = rw.load_requests(INPUT)[0]
    first = shown(bodies[0])
    window = [c.score for c in req.candidates[len(req.candidates) - len(first) :]]
    assert first == [f"{x:.3f}" for x in window]
    assert [float(x) for x in first] == sorted((float(x) for x in first), reverse=True)
    manifest = (
        json.loads((Path(str(out) + ".journal")).read_text().splitlines()[0])
        if Path(str(out) + ".journal").exists()
        else None
    )
    if manifest is not None and "scorer" in manifest:
        assert manifest["scorer"].get("insert_scores") is True


def test_cli_insert_scores_refuses_a_scorer_it_does_not_apply_to(tmp_path, capsys):
    out = tmp_path / "run.txt"
    args = ["rerank", str(INPUT), "-o", str(out), "--scorer", "minilm", "--insert-scores", "--no-progress"]
    assert cli.main(args) == 2
    assert "insert_scores" in capsys.readouterr().err


def test_api_insert_scores_without_scores_is_a_clear_error(server):
    reqs = [rw.Request("q", "flea", [rw.Candidate(f"d{i}", f"text {i}") for i in range(4)])]  # no scores: 0.0
    with OpenAIScorer(server.url, "m", kind="listwise", insert_scores=True, probe=False) as s:
        with pytest.raises(rw.InvalidInputError, match="no first-stage scores"):
            rw.rerank(reqs, rw.SlidingWindow(window=4, step=2), s, on_error="raise")
    assert not [b for b in server.bodies if "messages" in b]


@pytest.mark.parametrize("method", ["generate", "first", "reasonrank"])
def test_api_every_listwise_prompt_takes_the_scores(server, method):
    req = rw.load_requests(INPUT)[1]
    with OpenAIScorer(server.url, "m", kind="listwise", method=method, insert_scores=True, probe=False) as s:
        call = rw.scorers.ListwiseCall(req.qid, req.query, tuple(req.candidates[:5]))
        s.submit([call])[0].result()
    body = server.bodies[-1]
    assert shown(body) == reasoning.scaled_scores([c.score for c in req.candidates[:5]])
    assert "You are also given the BM25 scores" in body["messages"][1]["content"]
    if method == "reasonrank":  # ReasonRank's one user message: "[i] text" then its score line
        assert f"[1] {req.candidates[0].text[:30]}" in body["messages"][1]["content"]
