"""LLM and cross-encoder scorers through transformers/torch (``rankwise[hf]``).

One loader, :meth:`HFScorer.from_pretrained`, for five methods:

=========  ===============  ==================================================
kind       method           how
=========  ===============  ==================================================
pointwise  ``yes_no``       Qwen3-Reranker prompt; P(yes) from the next-token
                            logits of "yes" and "no" (causal or seq2seq LM)
pointwise  ``labels``       relevance label 0..k; the expected label under the
                            softmax of the label tokens' logits
pointwise  ``cross_encoder`` ``AutoModelForSequenceClassification`` logit
listwise   ``generate``     RankGPT prompt, greedy generation, the text parsed
                            by :func:`~rankwise.parse_permutation`
listwise   ``first``        FIRST: one forward pass; the logits of the
                            identifier letters at the first answer position
                            order the whole window
pairwise   ``prp``          PRP: P("Passage A") from the logits of A and B,
                            asked in both orders and averaged
pointwise  ``rank1``        Rank1 (Weller et al. 2025): generate a trace after
                            ``<think>`` (``max_thinking_tokens``, default
                            2000), close it (forced where the budget ran
                            out), P(" true") vs P(" false") next
listwise   ``reasonrank``   ReasonRank / Rank-K: the window with ReasonRank's
                            prompt, a trace, the permutation inside
                            ``<answer>`` (or after ``</think>``)
=========  ===============  ==================================================

``insert_scores=True`` (InsertRank) shows each passage's first-stage score in
the listwise prompts (generate, first, reasonrank); see
:mod:`rankwise.scorers.reasoning`. The reasoning methods' answers carry
``thinking_tokens`` apart; a trace that hit its budget is counted in
``budget_hits`` and logged.

Prompts use the tokenizer's chat template when it has one. Causal LMs are
padded on the left (with explicit position ids, so a prompt's logits do not
depend on what it is batched with); passages are cut to ``max_words`` words,
then, if the prompt is still longer than ``max_length`` tokens, each
passage to an equal share of the room left. The model runs under
``torch.inference_mode()`` in bf16/fp16 on CUDA and fp32 on CPU (``dtype``).
``tokens_in`` and ``tokens_out`` count what the model read and wrote.

Each call's answer is a :class:`~rankwise.scorers.Answer` with the call's own
``tokens_in``/``tokens_out`` and ``flops``, estimated from the model's config
by :func:`rankwise.flops.call_flops` (E2R-FLOPs, Peng et al. 2025): generation
counts the prompt and the decoded tokens; a single forward pass (yes_no,
labels, FIRST, PRP) the prompt and the one answer position; a cross-encoder
the pair's tokens alone. A PRP call sums its two prompts (both orders).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
import numpy.typing as npt

from .._errors import InvalidInputError
from ..flops import ModelShape, call_flops
from . import prompts, reasoning
from ._base import Answer, ListwiseCall, PairwiseCall, PointwiseCall, check_kind, resolve_method
from ._torch import check_model_path, load_error, pick_device, pick_dtype, require_torch

log = logging.getLogger("rankwise")

__all__ = ["HFScorer", "yes_probability", "expected_label", "order_by_logits", "pair_probability", "single_token"]

METHODS = {
    "pointwise": ("yes_no", "labels", "cross_encoder", "rank1"),
    "listwise": ("generate", "first", "reasonrank"),
    "pairwise": ("prp",),
}
FloatArray = npt.NDArray[np.float64]


# --- logits to answers (pure numpy, tested with hand-set logits) ---------------


def _softmax_pick(logits: FloatArray, ids: Sequence[int]) -> FloatArray:
    z = np.asarray(logits, dtype=np.float64)[..., list(ids)]
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: FloatArray = e / e.sum(axis=-1, keepdims=True)
    return out


def yes_probability(logits: FloatArray, yes: int, no: int) -> FloatArray:
    """P(yes) from next-token logits (rows), normalised over {yes, no}."""
    return _softmax_pick(logits, [no, yes])[..., 1]


def expected_label(logits: FloatArray, label_ids: Sequence[int]) -> FloatArray:
    """The expected label ``sum_k k P(k)``, P normalised over the label tokens."""
    p = _softmax_pick(logits, label_ids)
    out: FloatArray = p @ np.arange(len(label_ids), dtype=np.float64)
    return out


def order_by_logits(logits: FloatArray, id_tokens: Sequence[int]) -> List[int]:
    """FIRST: positions sorted by their identifier's logit, best first (ties: prompt order)."""
    z = np.asarray(logits, dtype=np.float64)[list(id_tokens)]
    return [int(i) for i in np.argsort(-z, kind="stable")]


def pair_probability(logits_ab: FloatArray, logits_ba: FloatArray, a: int, b: int) -> float:
    """PRP in both orders: P(first doc wins) = (P(A | a, b) + P(B | b, a)) / 2."""
    p_ab = _softmax_pick(logits_ab, [a, b])[..., 0]
    p_ba = _softmax_pick(logits_ba, [a, b])[..., 1]
    return float((p_ab + p_ba) / 2)


def single_token(tokenizer: Any, words: Sequence[str]) -> int:
    """The id of the first of ``words`` that the tokenizer encodes as one token."""
    for w in words:
        ids = tokenizer.encode(w, add_special_tokens=False)
        if len(ids) == 1:
            return int(ids[0])
    raise InvalidInputError(f"tokenizer: none of {list(words)} is a single token, so this method cannot read its logit")


# --- the scorer ----------------------------------------------------------------------


class HFScorer:
    """A transformers model as a rankwise scorer; build it with :meth:`from_pretrained`."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        kind: str,
        method: str,
        device: Any,
        batch_size: int = 8,
        max_length: Optional[int] = None,
        max_words: int = 300,
        instruction: str = prompts.DEFAULT_INSTRUCTION,
        labels: int = 3,
        max_new_tokens: Optional[int] = None,
        max_thinking_tokens: Optional[int] = None,
        insert_scores: bool = False,
        score_scale: str = "raw",
    ) -> None:
        self._torch, _ = require_torch()
        method = resolve_method("HFScorer", kind, method, METHODS)
        if batch_size < 1 or max_words < 1 or labels < 1:
            raise InvalidInputError("batch_size, max_words and labels must be at least 1")
        self.kind, self.method, self.model, self.tokenizer, self.device = kind, method, model, tokenizer, device
        self.batch_size, self.max_words, self.instruction, self.labels = batch_size, max_words, instruction, labels
        self.max_new_tokens = max_new_tokens
        if max_thinking_tokens is None:
            max_thinking_tokens = (
                reasoning.RANK1_MAX_THINKING_TOKENS if method == "rank1" else reasoning.REASONRANK_MAX_THINKING_TOKENS
            )
        if isinstance(max_thinking_tokens, bool) or not isinstance(max_thinking_tokens, int) or max_thinking_tokens < 1:
            raise InvalidInputError(f"max_thinking_tokens: an integer >= 1 is required, got {max_thinking_tokens!r}")
        self.max_thinking_tokens = max_thinking_tokens
        if insert_scores and kind != "listwise":
            raise InvalidInputError(f"insert_scores: an option of the listwise prompts, not of {kind} {method}")
        reasoning.scaled_scores([], score_scale)  # checks the name
        self.insert_scores, self.score_scale = bool(insert_scores), score_scale
        self.budget_hits = 0
        cfg = model.config
        self.seq2seq = bool(getattr(cfg, "is_encoder_decoder", False))
        if self.seq2seq and method in ("rank1", "reasonrank"):
            raise InvalidInputError(
                f"method: {method} continues the prompt with its own trace, so it needs a causal LM, "
                f"not the encoder-decoder {type(model).__name__}"
            )
        context = min(
            x
            for x in (
                getattr(tokenizer, "model_max_length", None),
                getattr(cfg, "max_position_embeddings", None),
                getattr(cfg, "n_positions", None),
                1_000_000,
            )
            if isinstance(x, int) and x > 0
        )
        self.max_length = int(max_length) if max_length is not None else context
        if self.max_length < 8:
            raise InvalidInputError(f"max_length: must be at least 8, got {self.max_length}")
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        self.pad_id = int(tokenizer.pad_token_id)
        # the label tokens this method reads, checked now
        tok = tokenizer
        if method == "yes_no":
            self.yes, self.no = single_token(tok, ["yes", " yes", "Yes"]), single_token(tok, ["no", " no", "No"])
        elif method == "labels":
            self.label_ids = [single_token(tok, [str(k), f" {k}"]) for k in range(labels + 1)]
        elif method == "prp":
            self.a, self.b = single_token(tok, [" A", "A"]), single_token(tok, [" B", "B"])
        elif method == "rank1":
            self.true, self.false = single_token(tok, [" true", "true"]), single_token(tok, [" false", "false"])
        elif method == "first":
            self.letter_ids = [single_token(tok, [c, f" {c}"]) for c in prompts.LETTERS]
            if len(set(self.letter_ids)) != len(self.letter_ids):
                raise InvalidInputError("tokenizer: the identifier letters A..W do not map to distinct tokens")
        self.tokens_in = 0
        self.tokens_out = 0
        self.last_usage: List[Tuple[int, int]] = []  # (tokens read, tokens written) per prompt of the last model call
        try:
            self.flops_shape: Optional[ModelShape] = ModelShape.from_config(cfg)
        except InvalidInputError:  # a config the estimator cannot read: flops stay unknown (None)
            self.flops_shape = None

    @classmethod
    def from_pretrained(
        cls,
        model_or_path: str,
        kind: str = "pointwise",
        *,
        method: Optional[str] = None,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 8,
        max_length: Optional[int] = None,
        max_words: int = 300,
        instruction: str = prompts.DEFAULT_INSTRUCTION,
        labels: int = 3,
        max_new_tokens: Optional[int] = None,
        max_thinking_tokens: Optional[int] = None,
        insert_scores: bool = False,
        score_scale: str = "raw",
    ) -> "HFScorer":
        """Load a model and its tokenizer (offline if they are local).

        Args:
            model_or_path: a local folder or a hub id.
            kind: "pointwise" (default), "listwise" or "pairwise".
            method: see the module table; default yes_no (cross_encoder for a
                sequence-classification model), generate, prp.
            device: "auto" (CUDA when available), "cpu", "cuda:1", ...
            dtype: "auto" (bf16/fp16 on CUDA, fp32 on CPU), "float32", "bfloat16", "float16".
            batch_size: prompts per forward pass, default 8.
            max_length: prompt tokens at most; default the model's context
                (minus ``max_new_tokens`` when generating).
            max_words: words per passage before tokenising, default 300.
            instruction: the Qwen3-Reranker instruction (yes_no).
            labels: the highest relevance label (labels), default 3.
            max_new_tokens: generation budget (generate), default 6 per passage + 8;
                the answer's budget after the trace (reasonrank: default 100, ReasonRank's).
            max_thinking_tokens: the trace's budget (rank1: default 2000, Rank1's;
                reasonrank: default 3072, ReasonRank's reasoning_maxlen).
            insert_scores: InsertRank, show each passage's first-stage score in
                the listwise prompts; every call must carry scores.
            score_scale: how they are shown: "raw" (default, three decimals, as
                rank_llm's InsertRank) or "minmax100" (0..100 within the window).
        """
        torch, tf = require_torch()
        check_kind("HFScorer", kind, tuple(METHODS))
        name = check_model_path(model_or_path)
        try:
            config = tf.AutoConfig.from_pretrained(name)
            tokenizer = tf.AutoTokenizer.from_pretrained(name)
        except (OSError, ValueError) as e:
            raise load_error("a model config and tokenizer", name, e) from None
        is_cls = any("ForSequenceClassification" in a for a in (getattr(config, "architectures", None) or []))
        if method is None:
            method = {"pointwise": "cross_encoder" if is_cls else "yes_no", "listwise": "generate", "pairwise": "prp"}[
                kind
            ]
        method = resolve_method("HFScorer", kind, method, METHODS)
        if method == "cross_encoder":
            auto = tf.AutoModelForSequenceClassification
        elif getattr(config, "is_encoder_decoder", False):
            auto = tf.AutoModelForSeq2SeqLM
        else:
            auto = tf.AutoModelForCausalLM
        dev = pick_device(torch, device)
        dt = pick_dtype(torch, dtype, dev)
        try:
            model = auto.from_pretrained(name, dtype=dt)
        except TypeError:  # transformers < 4.56 calls it torch_dtype
            model = auto.from_pretrained(name, torch_dtype=dt)
        except (OSError, ValueError) as e:
            raise load_error(f"a {auto.__name__} model", name, e) from None
        model.to(dev).eval()
        if auto is tf.AutoModelForCausalLM:
            tokenizer.padding_side = "left"
        return cls(
            model,
            tokenizer,
            kind=kind,
            method=method,
            device=dev,
            batch_size=batch_size,
            max_length=max_length,
            max_words=max_words,
            instruction=instruction,
            labels=labels,
            max_new_tokens=max_new_tokens,
            max_thinking_tokens=max_thinking_tokens,
            insert_scores=insert_scores,
            score_scale=score_scale,
        )

    # --- prompts -----------------------------------------------------------------

    def _chat(self, messages: List[prompts.Message]) -> str:
        tok = self.tokenizer
        if getattr(tok, "chat_template", None) and not self.seq2seq:
            return str(tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        text = "\n\n".join(f"{m['role']}: {m['content']}" for m in messages)
        return text if self.seq2seq else text + "\n\nassistant: "

    def _n_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=self.seq2seq))

    def _fit(self, build: Callable[[List[str]], str], passages: Sequence[str], budget: int) -> str:
        """The prompt with passages cut to ``max_words`` words, then to an equal
        share of the tokens left, so that it has at most ``budget`` tokens."""
        cut = [" ".join(p.split()[: self.max_words]) for p in passages]
        text = build(cut)
        if self._n_tokens(text) <= budget:
            return text
        overhead = self._n_tokens(build([""] * len(cut)))
        room = budget - overhead
        if room < len(cut):
            raise InvalidInputError(
                f"max_length: the prompt without its {len(cut)} passages already takes {overhead} of {budget} tokens; "
                "raise max_length or show fewer passages per call"
            )
        pieces = [self.tokenizer.encode(p, add_special_tokens=False) for p in cut]
        share = room // len(cut)
        for _ in range(8):
            text = build([self.tokenizer.decode(ids[:share]) for ids in pieces])
            if self._n_tokens(text) <= budget:
                return text
            share = max(1, int(share * 0.9) - 1)
        raise InvalidInputError(f"max_length: could not fit the prompt into {budget} tokens")

    def _budget(self, reserved: int = 0) -> int:
        """Prompt tokens allowed, leaving ``reserved`` for a prefill or generation (and one for a BOS)."""
        return self.max_length - reserved - 1

    def _prefill_tokens(self, prefill: str) -> int:
        return len(self.tokenizer.encode(prefill, add_special_tokens=False))

    # --- model calls -----------------------------------------------------------------

    def _encode_left(self, texts: Sequence[str]) -> Tuple[Any, Any, Any]:
        torch = self._torch
        enc = [self.tokenizer.encode(t, add_special_tokens=self.seq2seq) for t in texts]
        bos = getattr(self.tokenizer, "bos_token_id", None)
        if not self.seq2seq and bos is not None:  # chat templates usually hold it already
            enc = [e if e[:1] == [bos] else [bos] + e for e in enc]
        width = max(len(e) for e in enc)
        ids = torch.full((len(enc), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(enc), width), dtype=torch.long)
        for r, e in enumerate(enc):
            if self.seq2seq:
                ids[r, : len(e)] = torch.tensor(e)
                mask[r, : len(e)] = 1
            else:
                ids[r, width - len(e) :] = torch.tensor(e)
                mask[r, width - len(e) :] = 1
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        self.tokens_in += int(mask.sum())
        return ids.to(self.device), mask.to(self.device), pos.to(self.device)

    def _batches(self, texts: Sequence[str]) -> List[List[int]]:
        """Indices grouped into batches of similar length (less padding)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        return [order[s : s + self.batch_size] for s in range(0, len(order), self.batch_size)]

    def next_token_logits(self, texts: Sequence[str], prefill: str = "") -> FloatArray:
        """Logits of the token after each prompt (+ ``prefill`` as the answer's start), float64 rows."""
        torch = self._torch
        rows: List[FloatArray] = [np.zeros(0)] * len(texts)
        usage = [(0, 0)] * len(texts)
        with torch.inference_mode():
            for idx in self._batches(texts):
                if self.seq2seq:
                    ids, mask, _ = self._encode_left([texts[i] for i in idx])
                    start = self.model.config.decoder_start_token_id
                    dec = [start if start is not None else self.pad_id] + self.tokenizer.encode(
                        prefill, add_special_tokens=False
                    )
                    dec_ids = torch.tensor([dec] * len(idx), dtype=torch.long, device=self.device)
                    logits = self.model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec_ids).logits[:, -1, :]
                else:
                    ids, mask, pos = self._encode_left([texts[i] + prefill for i in idx])
                    logits = self.model(input_ids=ids, attention_mask=mask, position_ids=pos).logits[:, -1, :]
                self.tokens_out += len(idx)
                arr = logits.float().cpu().numpy().astype(np.float64)
                lens = mask.sum(-1).tolist()
                for r, i in enumerate(idx):
                    rows[i] = arr[r]
                    usage[i] = (int(lens[r]), 1)
        self.last_usage = usage
        return np.stack(rows) if rows else np.zeros((0, 0))

    def _greedy(
        self, texts: Sequence[str], max_new_tokens: int, drop: Set[Any], skip_special: bool
    ) -> List[Tuple[str, int, int]]:
        """Greedy continuations as (text, prompt tokens, answer tokens); the
        tokens in ``drop`` are left out of both the text and the count."""
        torch = self._torch
        out: List[Tuple[str, int, int]] = [("", 0, 0)] * len(texts)
        with torch.inference_mode():
            for idx in self._batches(texts):
                ids, mask, _ = self._encode_left([texts[i] for i in idx])
                gen = self.model.generate(
                    input_ids=ids,
                    attention_mask=mask,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    pad_token_id=self.pad_id,
                )
                new = gen if self.seq2seq else gen[:, ids.shape[1] :]
                lens = mask.sum(-1).tolist()
                for r, i in enumerate(idx):
                    toks = [int(t) for t in new[r].tolist() if t not in drop]
                    self.tokens_out += len(toks)
                    out[i] = (self.tokenizer.decode(toks, skip_special_tokens=skip_special), int(lens[r]), len(toks))
        return out

    def generate(self, texts: Sequence[str], max_new_tokens: int) -> List[str]:
        """Greedy continuations of the prompts."""
        out = self._greedy(texts, max_new_tokens, {self.pad_id}, skip_special=True)
        self.last_usage = [(n_in, n_out) for _, n_in, n_out in out]
        return [text for text, _, _ in out]

    def generate_counted(self, texts: Sequence[str], max_new_tokens: int) -> List[Tuple[str, int, int]]:
        """Greedy continuations with the tokens read and written; special tokens
        stay in the text (``</think>`` may be one), padding and EOS are dropped."""
        return self._greedy(
            texts, max_new_tokens, {self.pad_id, getattr(self.tokenizer, "eos_token_id", None)}, skip_special=False
        )

    def _flops(self, passes: Sequence[Tuple[int, int]]) -> Optional[float]:
        shape = self.flops_shape
        return None if shape is None else float(sum(call_flops(shape, n, o) for n, o in passes))

    def _budget_hit(self, what: str, n: int) -> None:
        if n:
            self.budget_hits += n
            log.warning(
                "%s: %d trace(s) reached max_thinking_tokens=%d; the thought was closed there (%d so far)",
                what,
                n,
                self.max_thinking_tokens,
                self.budget_hits,
            )

    def _thinking_tokens(self, trace: reasoning.Trace, written: int) -> int:
        if not trace.closed:
            return written
        return min(written, len(self.tokenizer.encode(trace.thinking, add_special_tokens=False)))

    def _run_rank1(self, texts: List[str]) -> List[Answer]:
        """Rank1: a trace per prompt, then P(" true") at the token after ``</think>``."""
        gens = self.generate_counted(texts, self.max_thinking_tokens)
        traces = [reasoning.split_trace(g) for g, _, _ in gens]
        closed = [
            t
            + (
                g[: g.rfind(reasoning.THINK_CLOSE) + len(reasoning.THINK_CLOSE)]
                if tr.closed
                else reasoning.rank1_close(tr.thinking)
            )
            for t, (g, _, _), tr in zip(texts, gens, traces)
        ]
        self._budget_hit(
            "rank1", sum(not tr.closed and n >= self.max_thinking_tokens for (_, _, n), tr in zip(gens, traces))
        )
        logits = self.next_token_logits(closed)
        read = self.last_usage
        p = yes_probability(logits, self.true, self.false)
        out: List[Answer] = []
        for k, (text, (_g, n_in, n_out), tr) in enumerate(zip(texts, gens, traces)):
            out.append(
                Answer(
                    float(p[k]),
                    raw=closed[k][len(text) :],
                    prompt=text,
                    tokens_in=n_in,
                    tokens_out=n_out + 1,  # the trace, then the answer token read from the logits
                    thinking_tokens=self._thinking_tokens(tr, n_out),
                    flops=self._flops([(n_in, n_out), read[k]]),
                )
            )
        return out

    def _run_reasonrank(self, texts: List[str], new_tokens: int) -> List[Answer]:
        """ReasonRank: a trace and an answer; a trace cut by the budget is closed
        and the answer generated after it."""
        gens = self.generate_counted(texts, self.max_thinking_tokens + new_tokens)
        traces = [
            tr
            if tr.closed or n >= self.max_thinking_tokens or reasoning.THINK_OPEN in g
            else reasoning.Trace("", g, True)
            for (g, _, n), tr in ((x, reasoning.split_trace(x[0])) for x in gens)
        ]  # a model that stopped by itself without tags gave a think-free answer
        cut = [k for k, tr in enumerate(traces) if not tr.closed]
        self._budget_hit("reasonrank", len(cut))
        more: Dict[int, Tuple[str, int, int]] = {}
        if cut:
            cont = [texts[k] + gens[k][0] + reasoning.REASONRANK_CLOSE for k in cut]
            more = dict(zip(cut, self.generate_counted(cont, new_tokens)))
        out: List[Answer] = []
        for k, (text, (g, n_in, n_out), tr) in enumerate(zip(texts, gens, traces)):
            passes = [(n_in, n_out)]
            raw, answer = g, tr.answer
            if k in more:
                g2, n2_in, n2_out = more[k]
                raw = g + reasoning.REASONRANK_CLOSE + g2
                answer = reasoning.ANSWER_OPEN + g2
                passes.append((n2_in, n2_out))
            out.append(
                Answer(
                    reasoning.answer_text(answer),
                    raw=raw,
                    prompt=text,
                    tokens_in=n_in,
                    tokens_out=sum(o for _, o in passes),
                    thinking_tokens=self._thinking_tokens(tr, n_out),
                    flops=self._flops(passes),
                )
            )
        return out

    def cross_scores(self, pairs: Sequence[Tuple[str, str]]) -> FloatArray:
        torch = self._torch
        scores = np.zeros(len(pairs))
        usage = [(0, 0)] * len(pairs)
        with torch.inference_mode():
            for idx in self._batches([q + d for q, d in pairs]):
                enc = self.tokenizer(
                    [pairs[i][0] for i in idx],
                    [" ".join(pairs[i][1].split()[: self.max_words]) for i in idx],
                    truncation="only_second",
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                )
                self.tokens_in += int(enc["attention_mask"].sum())
                for r, n in enumerate(enc["attention_mask"].sum(-1).tolist()):
                    usage[idx[r]] = (int(n), 0)  # one forward pass, nothing written
                logits = self.model(**{k: v.to(self.device) for k, v in enc.items()}).logits.float().cpu().numpy()
                s = logits[:, 0] if logits.shape[1] == 1 else logits[:, -1] - logits[:, 0]
                scores[idx] = s
        self.last_usage = usage
        return scores

    # --- the protocol ---------------------------------------------------------------------

    def _prompt(self, call: Any, passages: List[str]) -> str:
        """The prompt of one call with the given (cut) passage texts."""
        if isinstance(call, PointwiseCall):
            if self.method == "yes_no":
                return prompts.qwen3_yes_no(call.query, passages[0], self.instruction)
            if self.method == "rank1":
                return reasoning.rank1_prompt(call.query, passages[0])
            return self._chat(prompts.relevance_labels(call.query, passages[0], self.labels))
        if isinstance(call, PairwiseCall):
            return self._chat(prompts.prp(call.query, passages[0], passages[1]))
        scores = reasoning.shown_scores(call.docs, self.score_scale) if self.insert_scores else None
        if self.method == "reasonrank":
            return self._chat(reasoning.reasonrank_messages(call.query, passages, scores))
        return self._chat(
            reasoning.listwise_messages(call.query, passages, letters=self.method == "first", scores=scores)
        )

    def _fitted(self, call: Any, texts: Sequence[str], budget: int) -> str:
        return self._fit(lambda p: self._prompt(call, p), texts, budget)

    def prepare(self, calls: List[Any]) -> Tuple[str, List[Any], Any]:
        """The CPU half of a batch: check the calls and build their prompts
        (cut to fit). The driver runs it for the next batch while the model
        runs the current one; :meth:`run` does the rest."""
        want = {"pointwise": PointwiseCall, "pairwise": PairwiseCall, "listwise": ListwiseCall}[self.kind]
        if not all(isinstance(c, want) for c in calls):
            raise InvalidInputError(f"a {self.kind} HFScorer answers {want.__name__} only")
        if self.kind == "pointwise":
            if self.method == "cross_encoder":
                return "cross", calls, [(c.query, c.doc.text) for c in calls]
            if self.method == "rank1":
                budget = self._budget(self.max_thinking_tokens + 4)
                return "rank1", calls, [self._fitted(c, [c.doc.text], budget) for c in calls]
            return "points", calls, [self._fitted(c, [c.doc.text], self._budget()) for c in calls]  # no prefill
        if self.kind == "pairwise":
            texts = []
            budget = self._budget(self._prefill_tokens("Passage"))
            for c in calls:
                texts.append(self._fitted(c, [c.doc_a.text, c.doc_b.text], budget))
                texts.append(self._fitted(c, [c.doc_b.text, c.doc_a.text], budget))
            return "pairs", calls, texts
        letters = self.method == "first"
        if letters and any(len(c.docs) > len(prompts.LETTERS) for c in calls):
            raise InvalidInputError(
                f"window: FIRST identifies passages by the letters A..W, so at most {len(prompts.LETTERS)} per call"
            )
        new_tokens = self.max_new_tokens or 6 * max((len(c.docs) for c in calls), default=1) + 8
        if self.method == "reasonrank":
            new_tokens = self.max_new_tokens or reasoning.REASONRANK_ANSWER_TOKENS
            budget = self._budget(self.max_thinking_tokens + new_tokens + 8)
            texts = [self._fitted(c, [d.text for d in c.docs], budget) for c in calls]
            return "reasonrank", calls, (texts, new_tokens)
        budget = self._budget(self._prefill_tokens("[") if letters else new_tokens)
        texts = [self._fitted(c, [d.text for d in c.docs], budget) for c in calls]
        return ("first" if letters else "generate"), calls, (texts, new_tokens)

    def run(self, prepared: Tuple[str, List[Any], Any]) -> List[Answer]:
        """The model half of a batch, on what :meth:`prepare` built: one
        :class:`~rankwise.scorers.Answer` per call, with its tokens and FLOPs."""
        if prepared[0] == "rank1":
            return self._run_rank1(prepared[2])
        if prepared[0] == "reasonrank":
            return self._run_reasonrank(*prepared[2])
        return self._answers(self._values(prepared), 2 if prepared[0] == "pairs" else 1)

    def _values(self, prepared: Tuple[str, List[Any], Any]) -> List[Any]:
        what, calls, data = prepared
        if what == "cross":
            return [float(x) for x in self.cross_scores(data)]
        if what == "points":
            logits = self.next_token_logits(data)
            if self.method == "yes_no":
                return [float(x) for x in yes_probability(logits, self.yes, self.no)]
            return [float(x) for x in expected_label(logits, self.label_ids)]
        if what == "pairs":
            logits = self.next_token_logits(data, prefill="Passage")
            return [pair_probability(logits[2 * k], logits[2 * k + 1], self.a, self.b) for k in range(len(calls))]
        texts, new_tokens = data
        if what == "first":
            logits = self.next_token_logits(texts, prefill="[")
            return [order_by_logits(logits[k], self.letter_ids[: len(c.docs)]) for k, c in enumerate(calls)]
        return list(self.generate(texts, new_tokens))

    def _answers(self, values: List[Any], per_call: int) -> List[Answer]:
        """Wrap each call's value with the usage of its ``per_call`` prompts (PRP asks two)."""
        usage, shape, out = self.last_usage, self.flops_shape, []
        for k, v in enumerate(values):
            rows = usage[per_call * k : per_call * (k + 1)]
            flops = None if shape is None else sum(call_flops(shape, n, o) for n, o in rows)
            out.append(Answer(v, tokens_in=sum(n for n, _ in rows), tokens_out=sum(o for _, o in rows), flops=flops))
        return out

    def __call__(self, calls: List[Any]) -> List[Answer]:
        return self.run(self.prepare(calls))

    def __repr__(self) -> str:
        return f"HFScorer({type(self.model).__name__}, kind={self.kind!r}, method={self.method!r}, device={str(self.device)!r})"
