"""FLOPs accounting for LLM reranking calls, as E2R-FLOPs does it.

The estimator, RPP and QPP follow Peng, Wei, Song, Zhao and Fang,
"Efficiency-Effectiveness Reranking FLOPs for LLM-based Rerankers"
(E2R-FLOPs, arXiv:2507.06223, EMNLP 2025 Industry Track), and the authors'
reference calculator (github.com/zhiyuanpeng/EER-FLOPs, ``src/utils/calculator.py``).

A decoder-only model with ``L`` layers, hidden size ``d``, feed-forward size
``f`` and grouped-query ratio ``r = heads / kv_heads`` has the dense (weight)
parameter count

    N = 2 d L ((1 + 1/r) d + f)

(query and output projections ``2 d^2``, key and value ``2 d^2 / r``, a
two-matrix feed-forward ``2 d f``; embeddings are not counted). A call that
reads ``n`` prompt tokens and writes ``o`` answer tokens costs

    prefill = 2 N n + 4 L n^2 d / r
    decode  = 2 N o + 2 L (d / r) (2 o n + o (o - 1))

FLOPs: the dense term ``2 N`` per token plus the attention term (every prompt
token against every prompt token in the prefill; the ``t``-th decoded token
against the ``n + t`` cached positions in the decode). An encoder-decoder model
(T5) with ``L`` layers in each stack costs, as the paper's second formula,

    prefill = 2 N_enc n + 4 L n^2 d + 4 L n d^2      (the last: the cross-attention keys and values)
    decode  = 2 N_dec o + 2 L d (2 o n + o (o - 1))

with ``N_enc = 2 d L (2 d + f)`` and ``N_dec = 2 d L (3 d + f)``.

The paper's ``N`` counts a two-matrix feed-forward: for a gated (SwiGLU)
model such as Llama or Qwen it leaves the third matrix out, and the authors'
own DeepSpeed measurements (their ``data/*.csv``: 274,419 calls of
Qwen2.5-3B/7B/14B) are 1.33-1.41x its estimate; ``ModelShape(...,
ffn_matrices=3)`` counts it and comes 0.4-0.9% under them (all checked once here; nine in tests/test_flops.py).
Flan-T5 large/XL/XXL (gated-GELU, 225,371 calls): 1.22x, and 0.2-0.8% under with 3.
The default stays the paper's estimator.

The paper's metrics: RPP, ranking metric per PetaFLOP, ``m(q) / (C_q / 1e15)``
for a query whose reranking cost ``C_q`` FLOPs, averaged over the queries; QPP,
queries per PetaFLOP, ``1e15 / mean(C_q)``.

:func:`call_flops` is what :class:`~rankwise.scorers.HFScorer` reports per call
(``Answer.flops``); :class:`~rankwise.scorers.OpenAIScorer` reports it when
given ``flops_model=``. The driver sums it per query into ``Ranking.spend["flops"]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from ._errors import InvalidInputError

__all__ = ["ModelShape", "call_flops", "prefill_flops", "decode_flops", "rpp", "qpp", "PETA"]

PETA = 1e15

_LAYERS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")
_HIDDEN = ("hidden_size", "n_embd", "d_model", "dim")
_HEADS = ("num_attention_heads", "n_head", "num_heads", "n_heads")
_KV = ("num_key_value_heads", "n_kv_heads", "num_kv_heads")
_FFN = ("intermediate_size", "n_inner", "d_ff", "ffn_dim", "hidden_dim")
_CONTEXT = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length")
_GATED = ("silu", "swiglu", "gelu_pytorch_tanh_gated", "geglu")


def _get(cfg: Any, names: Sequence[str]) -> Any:
    for name in names:
        v = cfg.get(name) if isinstance(cfg, Mapping) else getattr(cfg, name, None)
        if v is not None:
            return v
    return None


def _positive(name: str, v: Any, *, zero: bool = False) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v != int(v):
        raise InvalidInputError(f"{name}: must be a whole number, got {v!r}")
    if int(v) < (0 if zero else 1):
        raise InvalidInputError(f"{name}: must be at least {0 if zero else 1}, got {v!r}")
    return int(v)


@dataclass(frozen=True)
class ModelShape:
    """What the FLOPs estimator needs to know about a model.

    Attributes:
        params: total parameters, embeddings included (reported; the estimator
            uses it only when ``intermediate`` is unknown, as ``params - vocab * hidden``).
        layers: transformer layers (per stack for an encoder-decoder).
        hidden: hidden size ``d``.
        heads: attention (query) heads; default 1.
        kv_heads: key/value heads (grouped-query attention); default ``heads``.
        vocab: vocabulary size; default 0.
        context: the longest context the model takes, when known.
        intermediate: feed-forward size ``f``; None: unknown.
        encoder_decoder: a T5-style model (the paper's encoder-decoder formula).
        ffn_matrices: feed-forward matrices counted in ``N``: 2 (default, the
            paper's estimator, ``2 d f`` per layer) or 3, a gated (SwiGLU)
            feed-forward counted in full (``3 d f``). The authors' own DeepSpeed
            measurements of Qwen2.5-3B/7B/14B (their ``data/*.csv``) are 1.34-1.41x
            the paper's estimate and within 1% of the estimate with 3.
    """

    params: int
    layers: int
    hidden: int
    heads: int = 1
    kv_heads: Optional[int] = None
    vocab: int = 0
    context: Optional[int] = None
    intermediate: Optional[int] = None
    encoder_decoder: bool = False
    ffn_matrices: int = 2

    def __post_init__(self) -> None:
        _positive("params", self.params, zero=True)
        _positive("layers", self.layers)
        _positive("hidden", self.hidden)
        _positive("heads", self.heads)
        _positive("vocab", self.vocab, zero=True)
        if self.kv_heads is not None:
            kv = _positive("kv_heads", self.kv_heads)
            if kv > self.heads:
                raise InvalidInputError(f"kv_heads: {kv} is more than the {self.heads} attention heads")
        if self.context is not None:
            _positive("context", self.context)
        if self.ffn_matrices not in (2, 3) or isinstance(self.ffn_matrices, bool):
            raise InvalidInputError(
                f"ffn_matrices: 2 (the paper's estimator) or 3 (a gated feed-forward), got {self.ffn_matrices!r}"
            )
        if self.intermediate is not None:
            _positive("intermediate", self.intermediate)
        elif self.params <= self.vocab * self.hidden:
            raise InvalidInputError(
                "intermediate: unknown, and params does not exceed the embeddings (vocab * hidden), "
                "so the dense parameter count cannot be estimated; give intermediate= or params="
            )

    @property
    def ratio(self) -> float:
        """The grouped-query ratio ``r``: query heads per key/value head (1: multi-head attention)."""
        return self.heads / (self.kv_heads or self.heads)

    @property
    def dense_params(self) -> float:
        """``N``, the parameters each token passes through (the paper's count; see the module doc)."""
        d, layers = self.hidden, self.layers
        if self.intermediate is None:
            return float(self.params - self.vocab * self.hidden)
        if self.encoder_decoder:
            return 2.0 * d * layers * (2 * d + self.ffn_matrices / 2 * self.intermediate)
        return 2.0 * d * layers * ((1.0 + 1.0 / self.ratio) * d + self.ffn_matrices / 2 * self.intermediate)

    @classmethod
    def from_config(cls, config: Any, *, params: Optional[int] = None, ffn_matrices: int = 2) -> "ModelShape":
        """The shape of a transformers config (a ``PretrainedConfig``) or a config dict.

        Reads the usual names of Llama, Mistral, Qwen, GPT-2, T5 and BERT configs
        (``num_hidden_layers``/``n_layer``/``num_layers``, ``hidden_size``/``n_embd``/``d_model``,
        ``num_attention_heads``, ``num_key_value_heads``, ``intermediate_size``/``n_inner``/``d_ff``,
        ``vocab_size``, ``max_position_embeddings``/``n_positions``, ``is_encoder_decoder``).
        ``params`` defaults to a count from the shape (embeddings, attention, a feed-forward
        of three matrices when the activation is gated (SiLU), two otherwise, and the output
        head when ``tie_word_embeddings`` is false). ``ffn_matrices``: as the attribute (default 2, the paper's).
        """
        if isinstance(config, ModelShape):
            return config
        if not isinstance(config, Mapping) and hasattr(config, "to_dict") and not hasattr(config, "hidden_size"):
            config = config.to_dict()
        layers, hidden = _get(config, _LAYERS), _get(config, _HIDDEN)
        if layers is None or hidden is None:
            raise InvalidInputError(
                "config: needs a layer count (num_hidden_layers, n_layer or num_layers) and a hidden size "
                "(hidden_size, n_embd or d_model)"
            )
        layers, hidden = _positive("layers", layers), _positive("hidden", hidden)
        heads = _positive("heads", _get(config, _HEADS) or 1)
        kv = _get(config, _KV)
        if kv is None and (
            config.get("multi_query") if isinstance(config, Mapping) else getattr(config, "multi_query", False)
        ):
            kv = 1
        ffn = _get(config, _FFN)
        model_type = str(_get(config, ("model_type",)) or "")
        if ffn is None and model_type == "gpt2":
            ffn = 4 * hidden  # GPT-2's n_inner=None means 4 d
        vocab = _positive("vocab", _get(config, ("vocab_size",)) or 0, zero=True)
        context = _get(config, _CONTEXT)
        enc_dec = bool(_get(config, ("is_encoder_decoder",)) or False)
        if params is None:
            if ffn is None:
                raise InvalidInputError(
                    "config: no feed-forward size (intermediate_size, n_inner or d_ff); give params="
                )
            act = str(_get(config, ("hidden_act", "activation_function", "feed_forward_proj")) or "").lower()
            mats = 3 if any(g in act for g in _GATED) or "gated" in act else 2
            kvh = int(kv or heads)
            attn = 2 * hidden * hidden + 2 * hidden * (hidden * kvh // heads)
            per_layer = attn + mats * hidden * int(ffn)
            stacks = layers * per_layer * (2 if enc_dec else 1) + (layers * attn if enc_dec else 0)
            tied = _get(config, ("tie_word_embeddings",))
            params = vocab * hidden * (1 if tied is None or tied else 2) + stacks  # an untied output head
        return cls(
            params=_positive("params", params, zero=True),
            layers=layers,
            hidden=hidden,
            heads=heads,
            kv_heads=None if kv is None else _positive("kv_heads", kv),
            vocab=vocab,
            context=None if context is None else _positive("context", context),
            intermediate=None if ffn is None else _positive("intermediate", ffn),
            encoder_decoder=enc_dec,
            ffn_matrices=ffn_matrices,
        )


ShapeLike = Union[ModelShape, Mapping[str, Any], Any]


def _shape(shape: ShapeLike) -> ModelShape:
    return shape if isinstance(shape, ModelShape) else ModelShape.from_config(shape)


def prefill_flops(shape: ShapeLike, prompt_tokens: int) -> float:
    """FLOPs of reading ``prompt_tokens`` (the paper's context phase; module doc)."""
    s = _shape(shape)
    n = float(_positive("prompt_tokens", prompt_tokens, zero=True))
    d, layers, big_n = float(s.hidden), float(s.layers), s.dense_params
    if s.encoder_decoder:
        return 2 * big_n * n + 4 * layers * n * n * d + 4 * layers * n * d * d
    return 2 * big_n * n + 4 * layers * n * n * d / s.ratio


def decode_flops(shape: ShapeLike, prompt_tokens: int, answer_tokens: int) -> float:
    """FLOPs of writing ``answer_tokens`` after ``prompt_tokens`` (the paper's generation phase)."""
    s = _shape(shape)
    n = float(_positive("prompt_tokens", prompt_tokens, zero=True))
    o = float(_positive("answer_tokens", answer_tokens, zero=True))
    d, layers = float(s.hidden), float(s.layers)
    if s.encoder_decoder:
        n_dec = (
            s.dense_params if s.intermediate is None else 2 * d * layers * (3 * d + s.ffn_matrices / 2 * s.intermediate)
        )
        return 2 * n_dec * o + 2 * layers * d * (2 * o * n + o * (o - 1))
    return 2 * s.dense_params * o + 2 * layers * d / s.ratio * (2 * o * n + o * (o - 1))


def call_flops(shape: ShapeLike, prompt_tokens: int, answer_tokens: int) -> float:
    """The estimated FLOPs of one call: prefill of the prompt plus decode of the answer.

    E2R-FLOPs (Peng et al. 2025), the dense term plus the attention term in each
    phase (see the module doc for the formula). A single forward pass that reads
    one next-token distribution (FIRST, yes/no, PRP) is ``answer_tokens=1``, as
    the paper counts pointwise and FIRST rerankers.

    Args:
        shape: a :class:`ModelShape`, a transformers config or a config dict.
        prompt_tokens: tokens read.
        answer_tokens: tokens written.
    """
    s = _shape(shape)
    return prefill_flops(s, prompt_tokens) + decode_flops(s, prompt_tokens, answer_tokens)


def _floats(name: str, xs: Any) -> list[float]:
    if isinstance(xs, (int, float)) and not isinstance(xs, bool):
        xs = [xs]
    try:
        out = [float(x) for x in xs]
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name}: must be a number or a sequence of numbers, got {xs!r}") from None
    if any(not math.isfinite(x) for x in out):
        raise InvalidInputError(f"{name}: must be finite, got {xs!r}")
    return out


def rpp(metric_value: Union[float, Iterable[float]], flops: Union[float, Iterable[float]]) -> float:
    """Ranking metric per PetaFLOP: ``m(q) / (C_q / 1e15)``, averaged over the queries.

    Args:
        metric_value: one query's metric (nDCG@10, MRR, ...) or one per query.
        flops: that query's FLOPs, or one per query (the same length).
    """
    m, c = _floats("metric_value", metric_value), _floats("flops", flops)
    if len(m) != len(c):
        raise InvalidInputError(f"rpp: {len(m)} metric values but {len(c)} FLOPs counts")
    if not m:
        raise InvalidInputError("rpp: no queries")
    if any(x <= 0 for x in c):
        raise InvalidInputError("flops: every query's FLOPs must be positive (was the spend recorded with FLOPs?)")
    return sum(mi / (ci / PETA) for mi, ci in zip(m, c)) / len(m)


def qpp(queries: int, flops: Union[float, Iterable[float]]) -> float:
    """Queries per PetaFLOP: ``1e15 / mean(C_q)``, that is ``queries / (total FLOPs / 1e15)``.

    Args:
        queries: how many queries were reranked.
        flops: their total FLOPs, or one count per query (then summed; ``queries`` must match).
    """
    n = _positive("queries", queries)
    c = _floats("flops", flops)
    if len(c) > 1 and len(c) != n:
        raise InvalidInputError(f"qpp: {n} queries but {len(c)} FLOPs counts")
    total = sum(c)
    if total <= 0 or any(x < 0 for x in c):
        raise InvalidInputError("flops: must be positive (was the spend recorded with FLOPs?)")
    return n / (total / PETA)
