"""A scorer that talks to an OpenAI-compatible chat-completions server
(vLLM, SGLang, llama.cpp, OpenAI), using only the standard library."""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional

from .._errors import InvalidInputError, ScorerError
from . import prompts
from ._base import ListwiseCall, PointwiseCall

__all__ = ["OpenAIScorer"]

METHODS = {"pointwise": ("yes_no",), "listwise": ("generate", "first")}
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class _Transient(Exception):
    """A failure worth retrying (timeout, connection error, 5xx, 429)."""

    def __init__(self, msg: str, wait: Optional[float] = None) -> None:
        super().__init__(msg)
        self.wait = wait


class OpenAIScorer:
    """Score calls through a chat-completions endpoint.

    Methods: pointwise ``yes_no`` (Qwen3-Reranker prompt; P(yes) from the
    top logprobs of the first answer token), listwise ``generate`` (RankGPT
    prompt; the answer text is parsed by :func:`~rankwise.parse_permutation`)
    and listwise ``first`` (letters as identifiers, one or a few answer
    tokens; the top logprobs of the first position that names letters order
    the window, letters not among them follow in prompt order).

    Up to ``concurrency`` requests run at once. Timeouts, connection errors,
    HTTP 429 and 5xx are retried ``max_retries`` times with exponential
    backoff (``Retry-After`` is honoured, up to 60 s); another 4xx, a
    malformed response or missing logprobs fail that call at once with a
    :class:`~rankwise.ScorerError` naming the cause. A failed call never
    sinks the rest of its batch: its answer is the exception, which
    :func:`~rankwise.rerank` turns into that query's fallback.

    Args:
        base_url: e.g. ``"http://localhost:8000/v1"``.
        model: the served model's name.
        kind: "listwise" (default) or "pointwise".
        method: generate (default for listwise), first, or yes_no (pointwise).
        api_key: default ``$OPENAI_API_KEY`` (none sent when unset).
        concurrency: requests in flight, default 8.
        timeout: seconds per request, default 60.
        max_retries: retries of a transient failure, default 3.
        backoff: first retry wait in seconds, doubled each time, default 0.5.
        max_words: words per passage, default 300.
        max_tokens: answer tokens for generate, default 6 per passage + 8.
        extra_body: more request fields (e.g. ``{"top_k": 1}`` for vLLM).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        kind: str = "listwise",
        *,
        method: Optional[str] = None,
        api_key: Optional[str] = None,
        concurrency: int = 8,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_words: int = 300,
        max_tokens: Optional[int] = None,
        instruction: str = prompts.DEFAULT_INSTRUCTION,
        extra_body: Optional[Dict[str, Any]] = None,
    ) -> None:
        if kind not in METHODS:
            raise InvalidInputError(f"kind: OpenAIScorer answers pointwise or listwise calls, got {kind!r}")
        method = method or METHODS[kind][0]
        if method not in METHODS[kind]:
            raise InvalidInputError(f"method: {kind} takes {', '.join(METHODS[kind])}; got {method!r}")
        if not base_url.startswith(("http://", "https://")):
            raise InvalidInputError(f"base_url: expected http(s)://..., got {base_url!r}")
        if concurrency < 1 or max_retries < 0 or not timeout > 0 or backoff < 0 or max_words < 1:
            raise InvalidInputError(
                "concurrency >= 1, max_retries >= 0, timeout > 0, backoff >= 0 and max_words >= 1 are required"
            )
        self.kind, self.method, self.model = kind, method, model
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.concurrency, self.timeout, self.max_retries, self.backoff = concurrency, timeout, max_retries, backoff
        self.max_words, self.max_tokens, self.instruction = max_words, max_tokens, instruction
        self.extra_body = dict(extra_body or {})
        self.tokens_in = self.tokens_out = self.requests = self.retries = 0
        self._lock = threading.Lock()

    # --- one request -------------------------------------------------------------

    def _post(self, body: Dict[str, Any]) -> Dict[str, Any]:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")[:300]
            if e.code in RETRY_STATUS:
                wait = e.headers.get("Retry-After") if e.headers else None
                raise _Transient(
                    f"HTTP {e.code}: {detail}", float(wait) if wait and wait.replace(".", "", 1).isdigit() else None
                ) from None
            raise ScorerError(f"{self.url} answered HTTP {e.code}: {detail}") from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError) as e:
            raise _Transient(f"{type(e).__name__}: {getattr(e, 'reason', e)}") from None
        try:
            out = json.loads(raw)
            if not isinstance(out, dict) or not out.get("choices"):
                raise ValueError("no choices")
            return out
        except ValueError as e:
            raise ScorerError(f"{self.url} returned a malformed response ({e}): {raw[:200]!r}") from None

    def _complete(self, body: Dict[str, Any]) -> Dict[str, Any]:
        for attempt in range(self.max_retries + 1):
            try:
                out = self._post(body)
                usage = out.get("usage") or {}
                with self._lock:
                    self.requests += 1
                    self.tokens_in += int(usage.get("prompt_tokens") or 0)
                    self.tokens_out += int(usage.get("completion_tokens") or 0)
                return out
            except _Transient as e:
                if attempt == self.max_retries:
                    raise ScorerError(f"{self.url}: gave up after {self.max_retries + 1} tries: {e}") from None
                with self._lock:
                    self.retries += 1
                time.sleep(min(60.0, e.wait if e.wait is not None else self.backoff * 2**attempt))
        raise AssertionError("unreachable")

    # --- answers ------------------------------------------------------------------------

    def _cut(self, text: str) -> str:
        return " ".join(text.split()[: self.max_words])

    @staticmethod
    def _first_logprobs(out: Dict[str, Any]) -> List[List[Dict[str, Any]]]:
        try:
            content = out["choices"][0]["logprobs"]["content"]
            return [list(pos["top_logprobs"]) for pos in content]
        except (KeyError, TypeError, IndexError):
            raise ScorerError("the server returned no top logprobs (does it support logprobs/top_logprobs?)") from None

    def _one(self, call: Any) -> Any:
        body: Dict[str, Any] = {"model": self.model, "temperature": 0.0, **self.extra_body}
        if isinstance(call, PointwiseCall):
            body["messages"] = [
                {
                    "role": "user",
                    "content": prompts.qwen3_yes_no(call.query, self._cut(call.doc.text), self.instruction),
                }
            ]
            body.update(max_tokens=1, logprobs=True, top_logprobs=20)
            top = self._first_logprobs(self._complete(body))
            lp: Dict[str, float] = {}
            for t in top[0] if top else []:
                word = str(t.get("token", "")).strip().lower()
                if word in ("yes", "no") and word not in lp:
                    lp[word] = float(t["logprob"])
            if not lp:
                raise ScorerError("neither 'yes' nor 'no' is among the top logprobs of the answer")
            d = lp.get("no", -math.inf) - lp.get("yes", -math.inf)  # P(yes) = 1 / (1 + e^d), safe for any logprobs
            return 0.0 if d == math.inf else 1.0 / (1.0 + math.exp(min(d, 700.0)))
        letters = self.method == "first"
        k = len(call.docs)
        if letters and k > len(prompts.LETTERS):
            raise ScorerError(
                f"FIRST identifies passages by the letters A..W, so at most {len(prompts.LETTERS)} per call"
            )
        body["messages"] = prompts.rankgpt_messages(call.query, [self._cut(d.text) for d in call.docs], letters)
        if letters:
            body.update(max_tokens=3, logprobs=True, top_logprobs=min(20, max(k, 5)))
            for position in self._first_logprobs(self._complete(body)):
                ranked = sorted(position, key=lambda t: -float(t.get("logprob", -math.inf)))
                order = []
                for t in ranked:
                    tok = str(t.get("token", "")).strip(" []")
                    if len(tok) == 1 and tok.upper() in prompts.LETTERS[:k]:
                        p = prompts.LETTERS.index(tok.upper())
                        if p not in order:
                            order.append(p)
                if order:
                    return order  # letters not named follow in prompt order (the driver completes it)
            raise ScorerError("no identifier letter among the top logprobs of the first answer tokens")
        body["max_tokens"] = self.max_tokens or 6 * k + 8
        out = self._complete(body)
        try:
            return str(out["choices"][0]["message"]["content"] or "")
        except (KeyError, TypeError, IndexError):
            raise ScorerError(f"malformed response, no message content: {str(out)[:200]}") from None

    def __call__(self, calls: List[Any]) -> List[Any]:
        want = PointwiseCall if self.kind == "pointwise" else ListwiseCall
        if not all(isinstance(c, want) for c in calls):
            raise InvalidInputError(f"a {self.kind} OpenAIScorer answers {want.__name__} only")

        def safe(c: Any) -> Any:
            try:
                return self._one(c)
            except ScorerError as e:  # this call failed; the rest of the batch stands
                return e
            except Exception as e:  # a torn response, an odd logprob entry, ...
                return ScorerError(f"{self.url}: unusable response ({type(e).__name__}: {e})")

        if len(calls) == 1 or self.concurrency == 1:
            return [safe(c) for c in calls]
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(calls)))
        try:
            return list(pool.map(safe, calls))
        finally:  # on Ctrl-C, do not wait for the queued requests
            pool.shutdown(wait=False, cancel_futures=True)

    def __repr__(self) -> str:
        return f"OpenAIScorer({self.url!r}, model={self.model!r}, kind={self.kind!r}, method={self.method!r})"
