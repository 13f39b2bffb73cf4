"""LLM and cross-encoder scorers through transformers/torch (``rankwise[hf]``).

One loader, :meth:`HFScorer.from_pretrained`, for these methods:

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
pointwise  ``tfrank``       TFRank (Fan et al. 2025), think-free: its raw
                            Qwen3 prompt, a greedy answer ``yes(3)``; P(yes)
                            at the first answer token and the expected label
                            0..4 at the token after ``yes(``/``no(``, read
                            from that generation's own logits; their mean
                            (the label over 4), as TFRank's code
listwise   ``reasonrank``   ReasonRank / Rank-K: the window with ReasonRank's
                            prompt, a trace, the permutation inside
                            ``<answer>`` (or after ``</think>``)
listwise   ``rank_r1``      Rank-R1 (Zhuang et al. 2025), for Setwise: its
                            prompt, a trace, the label of the best passage
                            inside ``<answer>`` (2,048 tokens in all)
listwise   ``rearank``      REARANK (Zhang et al. 2025): its prompt (one turn
                            per passage, 400 characters each), a trace, the
                            permutation inside ``<answer>`` (2,048 tokens in
                            all); its window: SlidingWindow(20, step=10)
groupwise  ``grouprank``    GroupRank-style (Sun et al. 2025): a trace, then
                            one 0..10 score per passage (``[i]: score``
                            lines read by :func:`~rankwise.parse_scores`)
groupwise  ``icr``          ICR (Chen et al. 2025): one forward pass over the
                            window, a score per passage from the attention
                            the query's tokens pay to its tokens, calibrated
                            by the same prompt with the query "N/A"
                            (``icr_calibration``; eager attention, causal LM)
=========  ===============  ==================================================

``insert_scores=True`` (InsertRank) shows each passage's first-stage score in
the listwise prompts (generate, first, reasonrank, rank_r1, rearank) and grouprank's;
see :mod:`rankwise.scorers.reasoning`, which also says where each reasoning method's
prompt, budget and reading come from. The reasoning methods' answers carry
``thinking_tokens`` apart; a trace that hit its budget is counted in
``budget_hits`` and logged.

Prompts use the tokenizer's chat template when it has one. Causal LMs are
padded on the left (with explicit position ids, so a prompt's logits do not
depend on what it is batched with); passages are cut to ``max_words`` words,
then, if the prompt is still longer than ``max_length`` tokens, each
passage to an equal share of the room left. The model runs under
``torch.inference_mode()`` in bf16/fp16 on CUDA and fp32 on CPU (``dtype``).
``tokens_in`` and ``tokens_out`` count what the model read and wrote.

``tfrank`` generates greedily (``max_new_tokens``, default TFRank's 1024) and
stops a prompt's generation once its label token is written: a logits
processor keeps the logits of "yes" and "no" at the first answer step and
those of "0".."4" at the step after the answer's text first holds
``yes(``/``no(``/... (TFRank's markers, in the decoded text), so the model
runs once per prompt (prefill and a few decoding steps) and nothing but
those seven logits per prompt is kept. The logits are the scores the
greedy choice is made on (raw, unless the model's generation config adds
processors such as a repetition penalty). TFRank reads vLLM's top-20
logprobs instead: the values agree except where "yes", "no" or a label is
outside the top 20 (TFRank then gives it the lowest top-20 logprob minus
10; here its own logit is used), i.e. where that probability is already
tiny. An answer without a marker is asked again with TFRank's retry
sentence; a second miss scores 0.3125 (TFRank's fills), counted in
``fallbacks`` and logged.

Each call's answer is a :class:`~rankwise.scorers.Answer` with the call's own
``tokens_in``/``tokens_out`` and ``flops``, estimated from the model's config
by :func:`rankwise.flops.call_flops` (E2R-FLOPs, Peng et al. 2025): generation
counts the prompt and the decoded tokens; a single forward pass (yes_no,
labels, FIRST, PRP) the prompt and the one answer position; a cross-encoder
the pair's tokens alone. A PRP call sums its two prompts (both orders); an
ICR call its one packed row: the query prompt read whole, then the "N/A"
region read after the shared passages (as decoding it would be; nothing with
``icr_calibration="none"``), nothing written.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Set, Tuple

import numpy as np
import numpy.typing as npt

from .._errors import InvalidInputError, ScorerError
from ..flops import ModelShape, call_flops, decode_flops
from . import icr, prompts, reasoning
from ._base import Answer, ListwiseCall, PairwiseCall, PointwiseCall, check_kind, resolve_method
from ._torch import check_model_path, load_error, pick_device, pick_dtype, require_torch

log = logging.getLogger("rankwise")

__all__ = ["HFScorer", "yes_probability", "expected_label", "order_by_logits", "pair_probability", "single_token"]

METHODS = {
    "pointwise": ("yes_no", "labels", "cross_encoder", "rank1", "tfrank"),
    "listwise": ("generate", "first", "reasonrank", "rank_r1", "rearank"),
    "pairwise": ("prp",),
    "groupwise": ("icr", "grouprank"),
}
#: the methods that generate a trace before their answer (budgeted, closed and counted alike)
TRACED = ("rank1", *reasoning.WINDOW_METHODS)
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


class _IcrWindow(NamedTuple):
    """One ICR call prepared: its prompts (query, then "N/A" unless uncalibrated), their
    token ids as fed to the model, where each one's query region starts, the passages' token spans."""

    texts: List[str]
    ids: List[List[int]]
    starts: List[int]
    spans: List[Tuple[int, int]]


class _TfrankRead(NamedTuple):
    """One TFRank try: the score (None: no marker was followed by a token), the answer text, tokens read and written."""

    value: Optional[float]
    raw: str
    tokens_in: int
    tokens_out: int


class _TfrankWatch:
    """The logits processor that reads a batched greedy TFRank generation as
    it runs: the "yes"/"no" logits of every row at the first step, and the
    label logits of a row at the step after its answer text first holds a
    marker (``label_step``: that token's index). It changes no score."""

    def __init__(
        self, tokenizer: Any, width: int, stop_ids: Set[int], yes_no: Sequence[int], labels: Sequence[int]
    ) -> None:
        self.tokenizer, self.width, self.stop_ids = tokenizer, width, stop_ids
        self.yes_no, self.label_ids = list(yes_no), list(labels)
        self.first: Optional[List[List[float]]] = None
        self.labels: Dict[int, List[float]] = {}
        self.label_step: Dict[int, int] = {}

    def answer(self, ids: Sequence[int]) -> List[int]:
        """The answer's tokens, up to the first EOS or padding."""
        out: List[int] = []
        for t in ids:
            if t in self.stop_ids:
                break
            out.append(int(t))
        return out

    def marked(self, ids: Sequence[int]) -> bool:
        """Whether the answer's text (up to an EOS) holds a marker."""
        row = self.answer(ids)
        return bool(row) and reasoning.tfrank_marked(self.tokenizer.decode(row, skip_special_tokens=False))

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        step = input_ids.shape[1] - self.width  # answer tokens written so far; ``scores`` choose the next
        if step == 0:
            self.first = scores[:, self.yes_no].double().cpu().tolist()
            return scores
        rows = input_ids[:, self.width :].tolist()
        for r, row in enumerate(rows):
            if r not in self.labels and self.marked(row):
                self.labels[r] = scores[r, self.label_ids].double().cpu().tolist()
                self.label_step[r] = step
        return scores


class _TfrankStop:
    """The stopping criterion of a TFRank generation: a row is done once its
    label token is written (its text, but for the last token, holds a marker)."""

    def __init__(self, watch: _TfrankWatch, torch: Any) -> None:
        self.watch, self.torch = watch, torch

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        rows = input_ids[:, self.watch.width :].tolist()
        done = [len(row) > 1 and self.watch.marked(row[:-1]) for row in rows]
        return self.torch.tensor(done, dtype=self.torch.bool, device=input_ids.device)


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
        icr_calibration: str = "masked",
    ) -> None:
        self._torch, _ = require_torch()
        method = resolve_method("HFScorer", kind, method, METHODS)
        if batch_size < 1 or max_words < 1 or labels < 1:
            raise InvalidInputError("batch_size, max_words and labels must be at least 1")
        self.kind, self.method, self.model, self.tokenizer, self.device = kind, method, model, tokenizer, device
        self.batch_size, self.max_words, self.instruction, self.labels = batch_size, max_words, instruction, labels
        self.max_new_tokens = max_new_tokens
        if max_thinking_tokens is None:
            max_thinking_tokens = reasoning.default_thinking_tokens(method)
        if isinstance(max_thinking_tokens, bool) or not isinstance(max_thinking_tokens, int) or max_thinking_tokens < 1:
            raise InvalidInputError(f"max_thinking_tokens: an integer >= 1 is required, got {max_thinking_tokens!r}")
        self.max_thinking_tokens = max_thinking_tokens
        if insert_scores and kind != "listwise" and method != "grouprank":
            raise InvalidInputError(f"insert_scores: an option of the listwise prompts, not of {kind} {method}")
        reasoning.scaled_scores([], score_scale)  # checks the name
        self.insert_scores, self.score_scale = bool(insert_scores), score_scale
        self.icr_calibration = icr.check_calibration(icr_calibration)
        self.budget_hits = 0
        self.fallbacks = 0  # tfrank answers that named no judgement twice and got TFRank's fill score
        cfg = model.config
        self.seq2seq = bool(getattr(cfg, "is_encoder_decoder", False))
        if self.seq2seq and (method in TRACED or method == "tfrank"):
            raise InvalidInputError(
                f"method: {method} continues the prompt with its own {'trace' if method in TRACED else 'answer'}, "
                f"so it needs a causal LM, not the encoder-decoder {type(model).__name__}"
            )
        if method == "icr":
            self._icr_layers = self._icr_check_model()
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
        elif method == "tfrank":  # TFRank's exact tokens: the answer starts right after "</think>\n\n"
            self.yes, self.no = single_token(tok, ["yes"]), single_token(tok, ["no"])
            self.label_ids = [single_token(tok, [k]) for k in reasoning.TFRANK_LABELS]
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
        icr_calibration: str = "masked",
    ) -> "HFScorer":
        """Load a model and its tokenizer (offline if they are local).

        Args:
            model_or_path: a local folder or a hub id.
            kind: "pointwise" (default), "listwise", "pairwise" or "groupwise"
                (one score per passage of a window).
            method: see the module table; default yes_no (cross_encoder for a
                sequence-classification model), generate, prp, icr (loaded
                with eager attention, which gives the attention probabilities);
                also rank1, tfrank, labels, first, reasonrank, rank_r1, rearank, grouprank.
            device: "auto" (CUDA when available), "cpu", "cuda:1", ...
            dtype: "auto" (bf16/fp16 on CUDA, fp32 on CPU), "float32", "bfloat16", "float16".
            batch_size: prompts per forward pass, default 8.
            max_length: prompt tokens at most; default the model's context
                (minus ``max_new_tokens`` when generating).
            max_words: words per passage before tokenising, default 300.
            instruction: the Qwen3-Reranker instruction (yes_no).
            labels: the highest relevance label (labels), default 3.
            max_new_tokens: generation budget (generate), default 6 per passage + 8;
                the answer's budget after the trace (reasonrank and rearank: default 100,
                ReasonRank's); tfrank's answer budget, default 1024 (TFRank's; the
                generation stops at the label token, and the prompt leaves room for it).
            max_thinking_tokens: the trace's budget (rank1: default 2000, Rank1's;
                reasonrank and grouprank: default 3072, ReasonRank's reasoning_maxlen;
                rank_r1: 2040, which with its 8 answer tokens is Rank-R1's 2048;
                rearank: 1948, which with its 100 answer tokens is REARANK's 2048).
            insert_scores: InsertRank, show each passage's first-stage score in
                the listwise prompts; every call must carry scores.
            score_scale: how they are shown: "raw" (default, three decimals, as
                rank_llm's InsertRank) or "minmax100" (0..100 within the window).
            icr_calibration: how icr calibrates a passage's attention by the
                "N/A" prompt's: "masked" (default, the paper's: per token,
                dropping outliers below mean - 2 std), "subtract" (the sums'
                difference) or "none" (the raw attention, and no N/A pass);
                see :mod:`rankwise.scorers.icr`.
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
            method = {
                "pointwise": "cross_encoder" if is_cls else "yes_no",
                "listwise": "generate",
                "pairwise": "prp",
                "groupwise": "icr",
            }[kind]
        method = resolve_method("HFScorer", kind, method, METHODS)
        if method == "cross_encoder":
            auto = tf.AutoModelForSequenceClassification
        elif getattr(config, "is_encoder_decoder", False):
            auto = tf.AutoModelForSeq2SeqLM
        else:
            auto = tf.AutoModelForCausalLM
        dev = pick_device(torch, device)
        dt = pick_dtype(torch, dtype, dev)
        extra: Dict[str, Any] = {"attn_implementation": "eager"} if method == "icr" else {}
        try:
            model = auto.from_pretrained(name, dtype=dt, **extra)
        except TypeError:  # transformers < 4.56 calls it torch_dtype
            model = auto.from_pretrained(name, torch_dtype=dt, **extra)
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
            icr_calibration=icr_calibration,
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

    def _generate_ids(self, ids: Any, mask: Any, max_new_tokens: int, **extra: Any) -> Any:
        """The model's greedy ``generate`` on one encoded batch (``extra``: processors, stopping criteria)."""
        return self.model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=self.pad_id,
            **extra,
        )

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
                gen = self._generate_ids(ids, mask, max_new_tokens)
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
        self._budget_hit(self.method, len(cut))
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

    def _stop_ids(self) -> Set[int]:
        """The tokens that end a generation: the tokenizer's and the generation config's EOS, and padding."""
        ids = {self.pad_id}
        for v in (
            getattr(self.tokenizer, "eos_token_id", None),
            getattr(getattr(self.model, "generation_config", None), "eos_token_id", None),
        ):
            for x in v if isinstance(v, (list, tuple)) else [v]:
                if isinstance(x, int):
                    ids.add(x)
        return ids

    def _tfrank_pass(self, texts: Sequence[str], max_new_tokens: int) -> List[_TfrankRead]:
        """One TFRank try per prompt: greedy generation, stopped once the label
        token is written, scored from the logits the watcher kept."""
        torch, tf = require_torch()
        out: List[_TfrankRead] = [_TfrankRead(None, "", 0, 0)] * len(texts)
        stop_ids = self._stop_ids()
        with torch.inference_mode():
            for idx in self._batches(texts):
                ids, mask, _ = self._encode_left([texts[i] for i in idx])
                watch = _TfrankWatch(self.tokenizer, ids.shape[1], stop_ids, [self.yes, self.no], self.label_ids)
                gen = self._generate_ids(
                    ids,
                    mask,
                    max_new_tokens,
                    logits_processor=tf.LogitsProcessorList([watch]),
                    stopping_criteria=tf.StoppingCriteriaList([_TfrankStop(watch, torch)]),
                )
                new = gen[:, ids.shape[1] :].tolist()
                lens = mask.sum(-1).tolist()
                for r, i in enumerate(idx):
                    row = watch.answer(new[r])
                    value: Optional[float] = None
                    if r in watch.labels and watch.first is not None:
                        y, n = watch.first[r]
                        labels = dict(zip(reasoning.TFRANK_LABELS, watch.labels[r]))
                        p_yes = reasoning.tfrank_yes({"yes": y, "no": n})
                        value = reasoning.tfrank_score(p_yes, reasoning.tfrank_label_probs(labels))
                        row = new[r][: watch.label_step[r] + 1]  # up to the label token (an EOS there included)
                    self.tokens_out += len(row)
                    raw = self.tokenizer.decode(row, skip_special_tokens=False)
                    out[i] = _TfrankRead(value, raw, int(lens[r]), len(row))
        return out

    def _run_tfrank(self, texts: List[str], again: List[str], max_new_tokens: int) -> List[Answer]:
        """TFRank: a greedy answer per prompt; one that names no judgement is
        asked again with TFRank's retry sentence, then gets TFRank's fill score."""
        first = self._tfrank_pass(texts, max_new_tokens)
        miss = [k for k, a in enumerate(first) if a.value is None]
        second = dict(zip(miss, self._tfrank_pass([again[k] for k in miss], max_new_tokens))) if miss else {}
        out: List[Answer] = []
        usage: List[Tuple[int, int]] = []
        unread = 0
        for k, a in enumerate(first):
            tries = [a] + ([second[k]] if k in second else [])
            last = tries[-1]
            if last.value is None:
                unread += 1
            passes = [(t.tokens_in, t.tokens_out) for t in tries]
            usage.append((sum(n for n, _ in passes), sum(o for _, o in passes)))
            out.append(
                Answer(
                    reasoning.TFRANK_UNREAD if last.value is None else last.value,
                    raw=last.raw,
                    prompt=again[k] if k in second else texts[k],
                    tokens_in=usage[-1][0],
                    tokens_out=usage[-1][1],
                    flops=self._flops(passes),
                )
            )
        if unread:
            self.fallbacks += unread
            log.warning(
                "tfrank: %d answer(s) named no judgement (yes(..)/no(..)) twice and got TFRank's fill score %g "
                "(%d so far)",
                unread,
                reasoning.TFRANK_UNREAD,
                self.fallbacks,
            )
        self.last_usage = usage
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

    # --- ICR (groupwise): attention over the passages, read by forward hooks -------------

    def _icr_check_model(self) -> List[Any]:
        """ICR's requirements, checked once: a causal LM, a fast tokenizer
        (offsets), eager attention (switched to when the model allows it) and
        one attention module per layer to hook; returns those modules."""
        model, name = self.model, type(self.model).__name__
        if self.seq2seq:
            raise InvalidInputError(
                f"method: icr reads the attention a causal LM's query tokens pay to the passages before them, "
                f"not the encoder-decoder {name}"
            )
        can_generate = getattr(model, "can_generate", None)
        if not (callable(can_generate) and can_generate()):
            raise InvalidInputError(
                f"method: icr needs a causal LM (AutoModelForCausalLM), and {name} is not one: its attention is not causal"
            )
        if not getattr(self.tokenizer, "is_fast", False):
            raise InvalidInputError(
                "tokenizer: icr finds each passage's tokens through the offset mapping, which only a fast tokenizer "
                f"gives, not {type(self.tokenizer).__name__}; load the fast one (AutoTokenizer, use_fast=True)"
            )
        impl = getattr(model.config, "_attn_implementation", None)
        if impl != "eager":
            try:
                model.set_attn_implementation("eager")
            except (AttributeError, ValueError, TypeError, ImportError, RuntimeError, NotImplementedError):
                pass
            if getattr(model.config, "_attn_implementation", None) != "eager":
                raise InvalidInputError(
                    f"model: icr reads the attention probabilities, which {impl!r} attention does not give, and {name} "
                    'could not switch to eager; load it with attn_implementation="eager"'
                )
            log.info("icr: switched %s from %r to eager attention (the probabilities are read)", name, impl)
        cfg = model.config
        text_cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
        n_layers = getattr(text_cfg, "num_hidden_layers", None)
        mods = [
            m
            for m in model.modules()
            if type(m).__name__.endswith("Attention") and type(getattr(m, "layer_idx", None)) is int
        ]
        if not isinstance(n_layers, int) or sorted(m.layer_idx for m in mods) != list(range(n_layers)):
            raise InvalidInputError(
                f"model: icr hooks one attention module (a *Attention with a layer_idx) per layer, but found {len(mods)} "
                f"in {name} for num_hidden_layers={n_layers}"
            )
        return mods

    def _icr_prompt(self, query: str, passages: Sequence[str]) -> str:
        return self._chat([{"role": "user", "content": icr.icr_content(query, passages)}])

    def _icr_tokens(self, text: str) -> Tuple[List[int], List[Tuple[int, int]]]:
        """The prompt's token ids as :meth:`_encode_left` feeds them (its BOS
        rule included), with each token's character offsets (a BOS added here: (0, 0))."""
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        ids = [int(t) for t in enc["input_ids"]]
        offsets = [(int(a), int(b)) for a, b in enc["offset_mapping"]]
        bos = getattr(self.tokenizer, "bos_token_id", None)
        if bos is not None and ids[:1] != [bos]:
            ids, offsets = [int(bos)] + ids, [(0, 0)] + offsets
        return ids, offsets

    def _icr_prepare(self, calls: List[Any]) -> List[_IcrWindow]:
        """Each window's prompts (the query's, then the "N/A" one unless
        uncalibrated) on the same cut passages, their tokens and spans."""
        out: List[_IcrWindow] = []
        n_tokens = lambda t: len(self.tokenizer.encode(t, add_special_tokens=False))  # noqa: E731
        for c in calls:
            query = c.query.strip()
            queries = [query] if self.icr_calibration == "none" else [query, icr.NA_QUERY]
            longest = max(queries, key=n_tokens)  # the passages are cut so that the longer prompt fits
            shown: List[List[str]] = [[]]

            def build(p: List[str], q: str = longest, shown: List[List[str]] = shown) -> str:
                shown[0] = p  # _fit returns the text of its last build
                return self._icr_prompt(q, p)

            self._fit(build, [d.text for d in c.docs], self._budget(2))
            texts, ids, starts, spans = [], [], [], []
            for q in queries:
                text = self._icr_prompt(q, shown[0])
                toks, offsets = self._icr_tokens(text)
                doc_chars, q_char = icr.char_spans(text, shown[0])
                doc_toks, q_tok = icr.token_spans(offsets, doc_chars, q_char)
                texts.append(text)
                ids.append(toks)
                starts.append(q_tok)
                spans.append(doc_toks)
            if any(s != spans[0] for s in spans):
                raise InvalidInputError(
                    "icr: the tokenizer split the passages differently in the query and N/A prompts"
                )
            out.append(_IcrWindow(texts, ids, starts, spans[0]))
        return out

    def _icr_attention(
        self,
        ids: Any,
        mask: Any,
        pos: Any,
        starts: Optional[Sequence[int]] = None,
        regions: Optional[Sequence[Tuple[int, int, int]]] = None,
    ) -> Any:
        """One forward pass; for each query region ``(row, first, end)`` (by
        default ``starts[r]`` to the end of row ``r``, left padding included),
        the attention each key token of its row gets from the region's rows:
        the mean over those rows, summed over heads and layers (float32,
        regions x tokens). ``mask`` is the 2-D padding mask or a 4-D additive
        one (a packed row's own pattern). Forward hooks reduce each layer's
        probabilities at once and drop them, so no layer's map is kept."""
        torch = self._torch
        b, t = ids.shape
        if regions is None:
            regions = [(r, q, t) for r, q in enumerate(starts or [])]
        acc = torch.zeros((len(regions), t), dtype=torch.float32, device=ids.device)
        fired = [0]

        def hook(module: Any, _args: Any, output: Any) -> Any:
            w = output[1] if isinstance(output, tuple) and len(output) > 1 else None
            if w is None or w.dim() != 4 or w.shape[0] != b or w.shape[-2:] != (t, t):
                raise InvalidInputError(
                    f"model: {type(module).__name__} returned no attention probabilities (batch, heads, {t}, {t}); "
                    'icr needs attn_implementation="eager"'
                )
            for g, (r, q, e) in enumerate(regions):
                acc[g] += w[r, :, q:e, :].float().sum(dim=0).mean(dim=0)
            fired[0] += 1
            return (output[0], None) + tuple(output[2:])

        body = getattr(self.model, "base_model", None) or self.model  # the hidden states suffice: no LM head
        handles = [m.register_forward_hook(hook) for m in self._icr_layers]
        try:
            body(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False)
        finally:
            for h in handles:
                h.remove()
        if fired[0] != len(self._icr_layers):
            raise ScorerError(f"icr: {fired[0]} attention layers ran, {len(self._icr_layers)} were hooked")
        return acc

    @staticmethod
    def _icr_packed(w: _IcrWindow) -> Tuple[List[int], List[int], List[int]]:
        """A window's prompts packed into one row: their shared prefix (every
        token before the query region) once, then each prompt's query region;
        the positions (each region continues the prefix) and a segment per
        token (0: the prefix, k: the k-th prompt's region). A region sees the
        prefix and itself only, so each prompt is read exactly as alone."""
        start = w.starts[0]
        if any(q != start or x[:start] != w.ids[0][:start] for x, q in zip(w.ids, w.starts)):
            raise ScorerError("icr: the query and N/A prompts do not share the tokens before their query regions")
        ids, pos, seg = list(w.ids[0][:start]), list(range(start)), [0] * start
        for k, x in enumerate(w.ids):
            tail = x[start:]
            ids += tail
            pos += range(start, start + len(tail))
            seg += [k + 1] * len(tail)
        return ids, pos, seg

    def _icr_sliding_window(self) -> Optional[int]:
        """The model's sliding attention window when some layer uses one (Mistral, Gemma 2 and 3), else None."""
        cfg = self.model.config
        window = getattr(cfg, "sliding_window", None)
        if not isinstance(window, int) or window <= 0 or getattr(cfg, "use_sliding_window", True) is False:
            return None
        types = getattr(cfg, "layer_types", None)
        return window if types is None or "sliding_attention" in types else None

    def _icr_run(self, windows: List[_IcrWindow]) -> List[Answer]:
        """The forward passes, then the scores. Each window's prompts are
        packed into one row (the shared passages read once, the query's and
        the N/A region each attending to them and to itself, through a 4-D
        mask), the rows by length in batches of ``batch_size``. A model with
        a sliding attention window shorter than the prompt reads the prompts
        whole instead, side by side (one 4-D mask cannot hold its per-layer
        windows), and passages beyond the window get no attention from the
        query: that is logged."""
        torch = self._torch
        window = self._icr_sliding_window()
        longest = max((len(x) for w in windows for x in w.ids), default=0)
        packs = window is None or longest <= window
        if not packs:
            log.warning(
                "icr: a prompt of %d tokens is longer than the model's sliding attention window (%d): the query "
                "region pays no attention to passages further back than that in the sliding layers",
                longest,
                window,
            )
        vecs: Dict[Tuple[int, int], FloatArray] = {}
        with torch.inference_mode():
            if packs:
                packed = [self._icr_packed(w) for w in windows]
                rows = [len(p[0]) for p in packed]
                order = sorted(range(len(windows)), key=lambda k: rows[k])
                for s in range(0, len(order), self.batch_size):
                    vecs.update(self._icr_packed_batch(windows, packed, order[s : s + self.batch_size]))
            else:
                rows = [sum(len(x) for x in w.ids) for w in windows]
                vecs.update(self._icr_separate(windows))
        out: List[Answer] = []
        usage: List[Tuple[int, int]] = []
        for k, w in enumerate(windows):
            s_q = vecs[k, 0]
            s_na = vecs[k, 1] if len(w.ids) > 1 else s_q
            usage.append((rows[k], 0))
            out.append(
                Answer(
                    icr.icr_scores(s_q, s_na, w.spans, self.icr_calibration),
                    tokens_in=rows[k],
                    tokens_out=0,
                    flops=self._icr_flops(w) if packs else self._flops([(len(x), 0) for x in w.ids]),
                )
            )
        self.last_usage = usage
        return out

    def _icr_packed_batch(
        self, windows: List[_IcrWindow], packed: List[Tuple[List[int], List[int], List[int]]], batch: List[int]
    ) -> Dict[Tuple[int, int], FloatArray]:
        """One forward pass over packed rows (left padded); each prompt's vector over the passages' keys."""
        torch = self._torch
        dtype = next(self.model.parameters()).dtype
        width = max(len(packed[k][0]) for k in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        pos = torch.zeros((len(batch), width), dtype=torch.long)
        seg = torch.full((len(batch), width), -1, dtype=torch.long)  # -1: padding
        regions: List[Tuple[int, int, int]] = []
        for r, k in enumerate(batch):
            p_ids, p_pos, p_seg = packed[k]
            off = width - len(p_ids)
            ids[r, off:] = torch.tensor(p_ids)
            pos[r, off:] = torch.tensor(p_pos)
            seg[r, off:] = torch.tensor(p_seg)
            first = off + windows[k].starts[0]  # each prompt's region follows the shared passages, in order
            for x in windows[k].ids:
                end = first + len(x) - windows[k].starts[0]
                regions.append((r, first, end))
                first = end
            self.tokens_in += len(p_ids)
        causal = torch.ones((width, width), dtype=torch.bool).tril()
        si, sj = seg[:, :, None], seg[:, None, :]
        allowed = causal & (sj >= 0) & ((sj == 0) | (sj == si))
        allowed |= torch.eye(width, dtype=torch.bool)  # a padding row sees itself (no empty softmax)
        mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)
        acc = self._icr_attention(
            ids.to(self.device), mask[:, None].to(self.device), pos.to(self.device), regions=regions
        )
        acc_np = acc.double().cpu().numpy()
        out: Dict[Tuple[int, int], FloatArray] = {}
        g = 0
        for k in batch:
            off = width - len(packed[k][0])
            for j in range(len(windows[k].ids)):
                out[k, j] = acc_np[g, off : off + windows[k].starts[0]]  # the passages' keys
                g += 1
        return out

    def _icr_separate(self, windows: List[_IcrWindow]) -> Dict[Tuple[int, int], FloatArray]:
        """Every prompt read whole (left padded, by length, ``batch_size`` a pass); each one's vector."""
        rows = [
            (k, j)
            for k in sorted(range(len(windows)), key=lambda k: len(windows[k].ids[0]))
            for j in range(len(windows[k].ids))
        ]
        out: Dict[Tuple[int, int], FloatArray] = {}
        for s in range(0, len(rows), self.batch_size):
            batch = rows[s : s + self.batch_size]
            ids, mask, pos = self._encode_left([windows[k].texts[j] for k, j in batch])
            width = ids.shape[1]
            for r, (k, j) in enumerate(batch):
                want = windows[k].ids[j]
                if int(mask[r].sum()) != len(want) or ids[r, width - len(want) :].tolist() != want:
                    raise ScorerError("icr: the tokens fed to the model differ from those the spans were read on")
            starts = [width - len(windows[k].ids[j]) + windows[k].starts[j] for k, j in batch]
            acc = self._icr_attention(ids, mask, pos, starts).double().cpu().numpy()
            for r, (k, j) in enumerate(batch):
                out[k, j] = acc[r, width - len(windows[k].ids[j]) :]
        return out

    def _icr_flops(self, w: _IcrWindow) -> Optional[float]:
        """A packed window's FLOPs: the query prompt read whole, then each
        further region read after the shared prefix (as decoding it would be:
        each of its tokens attends to the prefix and to the region before it)."""
        shape = self.flops_shape
        if shape is None:
            return None
        start = w.starts[0]
        return float(
            call_flops(shape, len(w.ids[0]), 0) + sum(decode_flops(shape, start, len(x) - start) for x in w.ids[1:])
        )

    # --- the protocol ---------------------------------------------------------------------

    def _prompt(self, call: Any, passages: List[str]) -> str:
        """The prompt of one call with the given (cut) passage texts."""
        if isinstance(call, PointwiseCall):
            if self.method == "yes_no":
                return prompts.qwen3_yes_no(call.query, passages[0], self.instruction)
            if self.method == "rank1":
                return reasoning.rank1_prompt(call.query, passages[0])
            if self.method == "tfrank":
                return reasoning.tfrank_prompt(call.query, passages[0])
            return self._chat(prompts.relevance_labels(call.query, passages[0], self.labels))
        if isinstance(call, PairwiseCall):
            return self._chat(prompts.prp(call.query, passages[0], passages[1]))
        scores = reasoning.shown_scores(call.docs, self.score_scale) if self.insert_scores else None
        if self.method in reasoning.WINDOW_METHODS:
            return self._chat(reasoning.WINDOW_METHODS[self.method][0](call.query, passages, scores))
        return self._chat(
            reasoning.listwise_messages(call.query, passages, letters=self.method == "first", scores=scores)
        )

    def _fitted(self, call: Any, texts: Sequence[str], budget: int) -> str:
        return self._fit(lambda p: self._prompt(call, p), texts, budget)

    def prepare(self, calls: List[Any]) -> Tuple[str, List[Any], Any]:
        """The CPU half of a batch: check the calls and build their prompts
        (cut to fit). The driver runs it for the next batch while the model
        runs the current one; :meth:`run` does the rest."""
        want = {
            "pointwise": PointwiseCall,
            "pairwise": PairwiseCall,
            "listwise": ListwiseCall,
            "groupwise": ListwiseCall,
        }[self.kind]
        if not all(isinstance(c, want) for c in calls):
            raise InvalidInputError(f"a {self.kind} HFScorer answers {want.__name__} only")
        if self.method == "icr":
            return "icr", calls, self._icr_prepare(calls)
        if self.kind == "pointwise":
            if self.method == "cross_encoder":
                return "cross", calls, [(c.query, c.doc.text) for c in calls]
            if self.method == "rank1":
                budget = self._budget(self.max_thinking_tokens + 4)
                return "rank1", calls, [self._fitted(c, [c.doc.text], budget) for c in calls]
            if self.method == "tfrank":  # the prompt, and the one TFRank retries with
                new = self.max_new_tokens or reasoning.TFRANK_MAX_NEW_TOKENS
                budget = self._budget(new)
                texts = [self._fitted(c, [c.doc.text], budget) for c in calls]

                def retry(q: str) -> Callable[[List[str]], str]:
                    return lambda p: reasoning.tfrank_prompt(q, p[0], retry=True)

                again = [self._fit(retry(c.query), [c.doc.text], budget) for c in calls]
                return "tfrank", calls, (texts, again, new)
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
        if self.method in reasoning.WINDOW_METHODS:  # a trace, then the answer
            k = max((len(c.docs) for c in calls), default=1)
            new_tokens = self.max_new_tokens or reasoning.WINDOW_METHODS[self.method][1](k)
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
        if prepared[0] == "tfrank":
            return self._run_tfrank(*prepared[2])
        if prepared[0] == "reasonrank":
            out = self._run_reasonrank(*prepared[2])
            if self.method == "rank_r1":  # the label of the best: that passage first, the others in prompt order
                out = [replace(a, value=reasoning.best_first(a.value, len(c.docs))) for a, c in zip(out, prepared[1])]
            return out
        if prepared[0] == "icr":
            return self._icr_run(prepared[2])
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
