"""A scorer that talks to an OpenAI-compatible chat-completions server
(vLLM, SGLang, llama.cpp, OpenAI) through a pooled ``httpx.AsyncClient``
(``pip install 'rankwise[http]'``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import email.utils
import json
import logging
import math
import os
import random
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set

from .._errors import InvalidInputError, ScorerError
from ..flops import ModelShape, call_flops
from . import prompts, reasoning
from ._base import Answer, ListwiseCall, PointwiseCall

if TYPE_CHECKING:
    pass

__all__ = ["OpenAIScorer", "DEFAULT_MAX_IN_FLIGHT"]

log = logging.getLogger("rankwise")

METHODS = {
    "pointwise": ("yes_no", "rank1", "tfrank"),
    "listwise": ("generate", "first", "reasonrank", "rank_r1", "rearank"),
    "groupwise": ("grouprank",),
}
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
# vLLM's OpenAI server schedules up to --max-num-seqs sequences at once: 256 by default on most GPUs
# (1024 on >= 70 GiB GPUs other than the A100). Keeping that many requests outstanding fills its batch;
# more would only wait in its queue, where their deadlines tick.
DEFAULT_MAX_IN_FLIGHT = 256
PROBE_SECONDS = 10.0
# connections per httpx pool: httpcore matches every pending request against every connection of its pool on
# each event, so one pool of 256 costs ~3x the CPU per request of 8 pools of 32 (measured here, 2,000 requests)
POOL_SIZE = 32


def _require_httpx() -> Any:
    try:
        import httpx
    except ImportError:
        raise ImportError("OpenAIScorer needs httpx: pip install 'rankwise[http]'") from None
    return httpx


class _Transient(Exception):
    """A failure worth retrying (a timeout, a dropped or refused connection, 5xx, 429)."""

    def __init__(self, msg: str, wait: Optional[float] = None) -> None:
        super().__init__(msg)
        self.wait = wait


def _retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    try:
        s = float(value)
        return s if math.isfinite(s) and s >= 0 else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _Runner:
    """One event loop on a daemon thread, the connection pools and the in-flight limit.

    ``max_in_flight`` connections are split over ``ceil(max_in_flight / POOL_SIZE)``
    keep-alive pools; a request goes to the pool with the fewest requests in flight.

    It holds no reference to its scorer, so a scorer that is dropped without
    ``close()`` still stops its thread (``weakref.finalize``).
    """

    def __init__(self, max_in_flight: int, timeout: float, headers: Dict[str, str]) -> None:
        httpx = _require_httpx()
        self.loop = asyncio.new_event_loop()
        self.pending: Set[concurrent.futures.Future[Any]] = set()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="rankwise-openai", daemon=True)
        self.thread.start()

        async def setup() -> None:
            self.sem = asyncio.Semaphore(max_in_flight)
            n = -(-max_in_flight // POOL_SIZE)
            per = -(-max_in_flight // n)
            self.clients = [
                httpx.AsyncClient(
                    timeout=httpx.Timeout(timeout),
                    limits=httpx.Limits(max_connections=per, max_keepalive_connections=per),
                    headers=headers,
                )
                for _ in range(n)
            ]
            self.load = [0] * n

        asyncio.run_coroutine_threadsafe(setup(), self.loop).result()

    def pick(self) -> int:
        """The pool with the fewest requests in flight (it has a free connection: at most max_in_flight are)."""
        return min(range(len(self.load)), key=self.load.__getitem__)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def submit(self, coro: Any) -> concurrent.futures.Future[Any]:
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        with self.lock:
            self.pending.add(fut)
        fut.add_done_callback(self._done)
        return fut

    def _done(self, fut: concurrent.futures.Future[Any]) -> None:
        with self.lock:
            self.pending.discard(fut)

    def close(self, wait: bool = True) -> None:
        """Cancel what is pending at once, close the pool, stop the thread.

        With ``wait=False`` (a finalizer, which may run on any thread, the loop's own included) the
        shutdown is only scheduled; otherwise it is waited for, at most 2 s.
        """
        if not self.thread.is_alive():
            return
        with self.lock:
            pending = list(self.pending)
        for f in pending:
            f.cancel()

        async def shutdown() -> None:
            try:
                me = asyncio.current_task()
                tasks = [t for t in asyncio.all_tasks() if t is not me]
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                for client in self.clients:
                    await client.aclose()
            finally:
                self.loop.stop()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self.loop)
        except RuntimeError:  # the loop is already closed
            return
        if wait and threading.current_thread() is not self.thread:
            self.thread.join(timeout=2.0)  # the shutdown stops the loop, which ends the thread


class OpenAIScorer:
    """Score calls through a chat-completions endpoint (vLLM, SGLang, llama.cpp, OpenAI).

    Methods: pointwise ``yes_no`` (Qwen3-Reranker prompt; P(yes) from the
    top logprobs of the first answer token), listwise ``generate`` (RankGPT
    prompt; the answer text is parsed by :func:`~rankwise.parse_permutation`)
    and listwise ``first`` (letters as identifiers, one or a few answer
    tokens; the top logprobs of the first position that names letters order
    the window, letters not among them follow in prompt order). Requests ask
    for what each method needs: ``logprobs``/``top_logprobs`` (at most 20,
    vLLM's default ``--max-logprobs``) for ``first`` and ``yes_no``,
    ``temperature=0`` and ``max_tokens``; ``extra_body`` adds any other field
    (e.g. vLLM's ``{"top_k": 1}``).

    Requests go through one ``httpx.AsyncClient`` on a background event-loop
    thread: keep-alive connections, pooled, up to ``max_in_flight`` requests
    outstanding. :meth:`submit` returns one future per call at once (the
    driver keeps ``max_in_flight`` calls outstanding); calling the scorer on
    a batch waits for its answers.

    Failures: timeouts, dropped, reset or refused connections, HTTP 408, 409,
    429 and 5xx are retried up to ``max_retries`` times after an exponential
    backoff with jitter (``backoff * 2**attempt``, times a random factor in
    [0.5, 1]), or after the server's ``Retry-After``. Each try has ``timeout``
    seconds for the whole request, the body included (a server trickling
    bytes does not extend it), and a call never takes longer than
    ``max_call_seconds`` in all, its retries and waits included: a retry
    whose wait would pass that limit (a ``Retry-After: 3600``) is not made.
    Another 4xx, a malformed response or missing logprobs fail that call at
    once with a :class:`~rankwise.ScorerError` naming the cause. A failed
    call never sinks the rest of its batch: its answer is the exception,
    which :func:`~rankwise.rerank` turns into that query's fallback.

    At construction the scorer probes ``GET {base_url}/models`` (within 10 s):
    an unreachable server is a :class:`~rankwise.ScorerError` and a model the
    server does not list an :class:`~rankwise.InvalidInputError` at once.
    ``probe=False`` skips it (offline construction, servers without
    ``/models``).

    :meth:`close` (or leaving a ``with`` block) cancels pending requests at
    once and closes the pool; Ctrl-C while waiting for a batch cancels that
    batch's requests.

    Args:
        base_url: e.g. ``"http://localhost:8000/v1"``; default ``$OPENAI_BASE_URL``.
        model: the served model's name; default the only model the probe finds.
        kind: "listwise" (default), "pointwise" or "groupwise".
        method: generate (default for listwise), first, reasonrank, rearank or rank_r1 (setwise);
            yes_no (default for pointwise), rank1 or tfrank; grouprank (groupwise: one score
            per shown passage, see :mod:`rankwise.scorers.reasoning`).
        api_key: default ``$OPENAI_API_KEY`` (none sent when unset).
        max_in_flight: requests outstanding at once, default 256 (vLLM's
            default ``--max-num-seqs`` on most GPUs); ``concurrency`` is an alias.
        timeout: seconds for one try of a request, whole body included, default 60.
        max_retries: retries of a transient failure, default 3.
        backoff: the first retry's wait in seconds, doubled each time, jittered, default 0.5.
        max_call_seconds: the limit of one call, retries and waits included; default
            every try's ``timeout`` plus the backoff between them,
            ``(max_retries + 1) * timeout + backoff * (2**max_retries - 1)`` (243.5 s at the defaults).
        probe: check the server and the model at construction, default True.
        max_words: words per passage, default 300.
        max_tokens: answer tokens for generate, default 6 per passage + 8 (reasonrank and
            rearank: 100 after the trace; grouprank: 8 per passage + 16 after the trace;
            tfrank: 1024, TFRank's).
        instruction: the yes/no task instruction, default Qwen3-Reranker's.
        extra_body: more request fields (e.g. ``{"top_k": 1}`` for vLLM).
        flops_model: the served model's shape, a config dict (its ``config.json``), a
            transformers config or a :class:`rankwise.flops.ModelShape`; each answer then
            carries ``flops``, :func:`rankwise.flops.call_flops` of its usage tokens
            (E2R-FLOPs; a rank1 call's two requests as one prompt and its trace plus the
            answer token). Default None: flops unknown.
        endpoint: ``"chat"`` (default; ``/chat/completions``, the server applies the
            chat template) or, for ``yes_no``, ``"completions"`` (``/completions`` with
            Qwen3-Reranker's own prompt, template included, and ``logprobs=20``: what
            vLLM or SGLang serving Qwen3-Reranker expect). ``rank1`` and ``tfrank``
            always use ``/completions`` (their raw prompts).
        max_thinking_tokens: the reasoning methods' trace budget (rank1: default
            2000, Rank1's; reasonrank and grouprank: default 3072, ReasonRank's reasoning_maxlen;
            rank_r1: 2040, so that with its 8 answer tokens it is Rank-R1's 2048; rearank:
            1948, so that with its 100 answer tokens it is REARANK's 2048).
        insert_scores: InsertRank, each passage's first-stage score beside it in
            the listwise prompts (generate, first, reasonrank) and grouprank's.
        score_scale: "raw" (default, three decimals) or "minmax100" (0..100 within the window).

    Reasoning methods. ``rank1`` makes two requests per call: the trace
    (``/completions``, Rank1's prompt ending in ``<think>``,
    ``max_tokens=max_thinking_tokens``, ``stop=["</think>"]``), then the
    prompt, the trace and ``</think>`` with ``max_tokens=1, logprobs=20``:
    P(true) from the top logprobs of "true" and "false". A trace that ends
    with ``finish_reason="length"`` is cut after its last sentence and closed
    as Rank1 does. ``reasonrank`` sends ReasonRank's prompt with
    ``max_tokens = max_thinking_tokens + max_tokens`` (3072 + 100, ReasonRank's; one budget
    for both: the chat API has no portable thinking-only budget; a server
    that has one takes it through ``extra_body``); the trace is the
    message's ``reasoning_content`` (or ``reasoning``: vLLM and SGLang
    reasoning parsers, DeepSeek's API) or inline ``<think>...</think>`` text;
    the permutation is read inside ``<answer>`` or after ``</think>``. A trace
    cut by the budget leaves no answer (the driver keeps prompt order for
    that window); it is counted in ``budget_hits`` and logged.
    ``rank_r1`` (Rank-R1, for :class:`~rankwise.Setwise`) and ``grouprank``
    are handled alike with their own prompts and answer budgets; Rank-R1's
    label becomes that passage first and the others in prompt order;
    its answer (``[i]: score`` lines) is read by :func:`~rankwise.parse_scores`.
    ``thinking_tokens`` is the server's
    ``usage.completion_tokens_details.reasoning_tokens`` where given, else
    the trace's share of ``completion_tokens`` by characters.
    ``rearank`` (REARANK) is ``reasonrank`` with REARANK's prompt and its
    2,048 tokens in all (``max_tokens = max_thinking_tokens + max_tokens``,
    1948 + 100); REARANK runs it in ``SlidingWindow(window=20, step=10)``.

    ``tfrank`` (TFRank, think-free) sends TFRank's raw prompt to
    ``/completions`` as TFRank's vLLM client does (``temperature=0``,
    ``logprobs=20``, ``max_tokens`` 1024): P(yes) from the top logprobs of
    the first answer token, the expected label 0..4 from those of the token
    after ``yes(``/``no(``, their mean (the label over 4) as TFRank's
    ``get_next_token_probs`` and ``eval_metrics.py``. An answer without a
    marker is asked once more with TFRank's retry sentence (a second
    request); a second miss scores 0.3125, TFRank's fills, counted in
    ``fallbacks`` and logged.
    """

    def __init__(
        self,
        base_url: Optional[str] = None,
        model: Optional[str] = None,
        kind: str = "listwise",
        *,
        method: Optional[str] = None,
        api_key: Optional[str] = None,
        max_in_flight: Optional[int] = None,
        concurrency: Optional[int] = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_call_seconds: Optional[float] = None,
        probe: bool = True,
        max_words: int = 300,
        max_tokens: Optional[int] = None,
        instruction: str = prompts.DEFAULT_INSTRUCTION,
        extra_body: Optional[Dict[str, Any]] = None,
        endpoint: str = "chat",
        flops_model: Any = None,
        max_thinking_tokens: Optional[int] = None,
        insert_scores: bool = False,
        score_scale: str = "raw",
    ) -> None:
        _require_httpx()
        if kind not in METHODS:
            raise InvalidInputError(f"kind: OpenAIScorer answers pointwise, listwise or groupwise calls, got {kind!r}")
        method = method or METHODS[kind][0]
        if method not in METHODS[kind]:
            raise InvalidInputError(f"method: {kind} takes {', '.join(METHODS[kind])}; got {method!r}")
        if endpoint not in ("chat", "completions") or (
            endpoint == "completions" and method not in ("yes_no", "rank1", "tfrank")
        ):
            raise InvalidInputError(
                f"endpoint: 'chat' for every method, or 'completions' for yes_no (a raw prompt); got {endpoint!r} for {method}"
            )
        if method in ("rank1", "tfrank"):
            endpoint = "completions"  # their raw prompts
        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise InvalidInputError("base_url: none given and $OPENAI_BASE_URL is not set")
        if not base_url.startswith(("http://", "https://")):
            raise InvalidInputError(f"base_url: expected http(s)://..., got {base_url!r}")
        if max_in_flight is not None and concurrency is not None and max_in_flight != concurrency:
            raise InvalidInputError(
                f"max_in_flight: {max_in_flight} and its alias concurrency: {concurrency} disagree; give one"
            )
        in_flight = max_in_flight if max_in_flight is not None else concurrency
        in_flight = DEFAULT_MAX_IN_FLIGHT if in_flight is None else in_flight
        if isinstance(in_flight, bool) or not isinstance(in_flight, int) or in_flight < 1:
            raise InvalidInputError(f"max_in_flight: an integer >= 1 is required, got {in_flight!r}")
        for name, v in (("timeout", timeout), ("backoff", backoff)):
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 or (name == "timeout" and v == 0):
                raise InvalidInputError(
                    f"{name}: a finite number {'> 0' if name == 'timeout' else '>= 0'} is required, got {v!r}"
                )
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or not 0 <= max_retries <= 100:
            raise InvalidInputError(f"max_retries: an integer in [0, 100] is required, got {max_retries!r}")
        if isinstance(max_words, bool) or not isinstance(max_words, int) or max_words < 1:
            raise InvalidInputError(f"max_words: an integer >= 1 is required, got {max_words!r}")
        if max_call_seconds is None:
            max_call_seconds = (max_retries + 1) * timeout + backoff * (2**max_retries - 1)
        if (
            not isinstance(max_call_seconds, (int, float))
            or not math.isfinite(max_call_seconds)
            or max_call_seconds <= 0
        ):
            raise InvalidInputError(f"max_call_seconds: a finite number > 0 is required, got {max_call_seconds!r}")
        self.kind, self.method = kind, method
        self.base_url = base_url.rstrip("/")
        self.endpoint = endpoint
        self.url = self.base_url + ("/chat/completions" if endpoint == "chat" else "/completions")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.max_in_flight = in_flight
        self.batch_size = in_flight  # a lockstep driver's batch: as many calls as can be in flight
        self.timeout, self.max_retries, self.backoff = float(timeout), max_retries, float(backoff)
        self.max_call_seconds = float(max_call_seconds)
        self.max_words, self.max_tokens, self.instruction = max_words, max_tokens, instruction
        self.extra_body = dict(extra_body or {})
        self.flops_shape: Optional[ModelShape] = None if flops_model is None else ModelShape.from_config(flops_model)
        if max_thinking_tokens is None:
            max_thinking_tokens = reasoning.default_thinking_tokens(method)
        if isinstance(max_thinking_tokens, bool) or not isinstance(max_thinking_tokens, int) or max_thinking_tokens < 1:
            raise InvalidInputError(f"max_thinking_tokens: an integer >= 1 is required, got {max_thinking_tokens!r}")
        if insert_scores and kind not in ("listwise", "groupwise"):
            raise InvalidInputError(f"insert_scores: an option of the listwise prompts, not of {kind} {method}")
        reasoning.scaled_scores([], score_scale)  # checks the name
        self.max_thinking_tokens = max_thinking_tokens
        self.insert_scores, self.score_scale = bool(insert_scores), score_scale
        self.budget_hits = 0
        self.fallbacks = 0  # tfrank answers that named no judgement twice and got TFRank's fill score
        self.tokens_in = self.tokens_out = self.requests = self.retries = 0
        self._runner: Optional[_Runner] = None
        self._runner_lock = threading.Lock()
        self._rng = random.Random()
        self.model: Optional[str] = model
        if probe:
            try:
                self.model = self._wait(self._probe(model), self.timeout + PROBE_SECONDS)
            except BaseException:
                self.close()
                raise
        elif model is None:
            raise InvalidInputError("model: required when probe=False (the probe would pick the only served model)")

    @property
    def concurrency(self) -> int:
        """Alias of ``max_in_flight``."""
        return self.max_in_flight

    # --- the loop thread -----------------------------------------------------------

    def _get_runner(self) -> _Runner:
        with self._runner_lock:
            if self._runner is None or not self._runner.thread.is_alive():
                headers = {"Content-Type": "application/json"}
                if self.api_key:
                    headers["Authorization"] = f"Bearer {self.api_key}"
                self._runner = _Runner(self.max_in_flight, self.timeout, headers)
                weakref.finalize(self, self._runner.close, False)
            return self._runner

    def _wait(self, coro: Any, limit: float) -> Any:
        fut = self._get_runner().submit(coro)
        try:
            return fut.result(timeout=limit)
        except BaseException:
            fut.cancel()
            raise

    def close(self) -> None:
        """Cancel pending requests at once, close the connection pool and stop the loop thread."""
        with self._runner_lock:
            runner, self._runner = self._runner, None
        if runner is not None:
            runner.close()

    def __getstate__(self) -> Dict[str, Any]:
        """Pickled (to a Ray actor, a process pool) without its loop and pool: the copy starts its own."""
        state = self.__dict__.copy()
        state["_runner"] = None
        del state["_runner_lock"]
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._runner_lock = threading.Lock()

    def __enter__(self) -> "OpenAIScorer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the probe ------------------------------------------------------------------------

    async def _probe(self, model: Optional[str]) -> str:
        httpx = _require_httpx()
        client = self._get_runner().clients[0]
        where = f"{self.base_url}/models"
        try:
            r = await asyncio.wait_for(client.get(where), min(self.timeout, PROBE_SECONDS))
        except (asyncio.TimeoutError, httpx.TimeoutException):
            raise ScorerError(
                f"{where} did not answer within {min(self.timeout, PROBE_SECONDS):g} s: is the server up? "
                "(probe=False skips this check)"
            ) from None
        except httpx.TransportError as e:
            raise ScorerError(
                f"cannot reach {where} ({type(e).__name__}: {e}): is the server up? (probe=False skips this check)"
            ) from None
        if r.status_code in (401, 403):
            raise ScorerError(f"{where} answered HTTP {r.status_code}: check api_key / $OPENAI_API_KEY")
        if r.status_code != 200:
            raise ScorerError(
                f"{where} answered HTTP {r.status_code}: {r.text[:200]} (probe=False for a server without a model list)"
            )
        try:
            served = [str(m["id"]) for m in r.json()["data"]]
        except (ValueError, KeyError, TypeError):
            raise ScorerError(
                f"{where} returned no model list: {r.text[:200]!r} (probe=False skips this check)"
            ) from None
        if model is None:
            if len(served) != 1:
                raise InvalidInputError(f"model: none given and {where} serves {len(served)}: {', '.join(served)}")
            return served[0]
        if model not in served:
            raise InvalidInputError(
                f"model: {model!r} is not served by {where}; it serves {', '.join(served) or 'none'}"
            )
        return model

    # --- one request --------------------------------------------------------------------

    async def _post(self, body: Dict[str, Any]) -> Dict[str, Any]:
        httpx = _require_httpx()
        runner = self._runner
        assert runner is not None
        try:
            k = runner.pick()
            runner.load[k] += 1
            try:
                r = await runner.clients[k].post(self.url, json=body)
            finally:
                runner.load[k] -= 1
        except httpx.TimeoutException as e:
            raise _Transient(f"timed out ({type(e).__name__})") from None
        except httpx.TransportError as e:  # refused, reset, dropped mid-body (RemoteProtocolError, ReadError)
            raise _Transient(f"{type(e).__name__}: {e}") from None
        if r.status_code in RETRY_STATUS:
            raise _Transient(f"HTTP {r.status_code}: {r.text[:300]}", _retry_after(r.headers.get("retry-after")))
        if not 200 <= r.status_code < 300:
            raise ScorerError(f"{self.url} answered HTTP {r.status_code}: {r.text[:300]}")
        try:
            out = json.loads(r.content)
            if not isinstance(out, dict) or not out.get("choices"):
                raise ValueError("no choices")
            return out
        except ValueError as e:
            raise ScorerError(f"{self.url} returned a malformed response ({e}): {r.content[:200]!r}") from None

    async def _complete(self, body: Dict[str, Any]) -> Dict[str, Any]:
        runner = self._runner
        assert runner is not None
        loop = asyncio.get_running_loop()
        deadline: Optional[float] = None
        attempt = 0
        while True:
            async with runner.sem:  # the in-flight slot; a call's clock starts when it first gets one
                now = loop.time()
                deadline = now + self.max_call_seconds if deadline is None else deadline
                limit = min(self.timeout, deadline - now)
                try:
                    out = await asyncio.wait_for(self._post(body), limit)
                    usage = out.get("usage") or {}
                    self.requests += 1
                    self.tokens_in += _count(usage.get("prompt_tokens"))
                    self.tokens_out += _count(usage.get("completion_tokens"))
                    return out
                except asyncio.TimeoutError:
                    err = _Transient(f"no complete answer within {limit:.3g} s")
                except _Transient as e:
                    err = e
            tries = f"gave up after {attempt + 1} {'try' if attempt == 0 else 'tries'}"
            if attempt >= self.max_retries:
                raise ScorerError(f"{self.url}: {tries}: {err}")
            wait = err.wait if err.wait is not None else self._backoff_wait(attempt)
            if loop.time() + wait >= deadline:
                what = f"Retry-After {wait:g} s" if err.wait is not None else f"the next try (in {wait:.3g} s)"
                raise ScorerError(
                    f"{self.url}: {tries}: {err}; {what} would pass max_call_seconds={self.max_call_seconds:g}"
                )
            self.retries += 1
            await asyncio.sleep(wait)
            attempt += 1

    def _backoff_wait(self, attempt: int) -> float:
        """The wait before retry ``attempt + 1``: ``backoff * 2**attempt``, jittered into its upper half."""
        return float(self.backoff * 2**attempt * self._rng.uniform(0.5, 1.0))

    # --- answers ------------------------------------------------------------------------

    def _cut(self, text: str) -> str:
        return " ".join(text.split()[: self.max_words])

    @staticmethod
    def _first_logprobs(out: Dict[str, Any]) -> List[List[Dict[str, Any]]]:
        """The top logprobs of each answer position as ``[{"token", "logprob"}, ...]``, from a chat answer
        (``logprobs.content[i].top_logprobs``) or a completions answer (``logprobs.top_logprobs[i]``, a dict)."""
        try:
            lp = out["choices"][0]["logprobs"]
            if "content" in lp:
                return [list(pos["top_logprobs"]) for pos in lp["content"]]
            return [[{"token": t, "logprob": v} for t, v in pos.items()] for pos in lp["top_logprobs"]]
        except (KeyError, TypeError, IndexError, AttributeError):
            raise ScorerError("the server returned no top logprobs (does it support logprobs/top_logprobs?)") from None

    def _body(self, call: Any) -> Dict[str, Any]:
        """The request body of one call: what the method needs, then ``extra_body``."""
        body: Dict[str, Any] = {"model": self.model, "temperature": 0.0}
        if isinstance(call, PointwiseCall):
            doc = self._cut(call.doc.text)
            if self.endpoint == "completions":
                body.update(prompt=prompts.qwen3_yes_no(call.query, doc, self.instruction), max_tokens=1, logprobs=20)
            else:
                msgs = prompts.qwen3_yes_no_messages(call.query, doc, self.instruction)
                body.update(messages=msgs, max_tokens=1, logprobs=True, top_logprobs=20)
        elif self.method == "first":
            k = len(call.docs)
            if k > len(prompts.LETTERS):
                raise ScorerError(
                    f"FIRST identifies passages by the letters A..W, so at most {len(prompts.LETTERS)} per call"
                )
            msgs = reasoning.listwise_messages(
                call.query, [self._cut(d.text) for d in call.docs], letters=True, scores=self._scores(call)
            )
            body.update(messages=msgs, max_tokens=3, logprobs=True, top_logprobs=min(20, max(k, 5)))
        elif self.method in reasoning.WINDOW_METHODS:  # a trace, then the answer, in one budget
            messages, answer_tokens = reasoning.WINDOW_METHODS[self.method]
            msgs = messages(call.query, [self._cut(d.text) for d in call.docs], self._scores(call))
            answer = self.max_tokens or answer_tokens(len(call.docs))
            body.update(messages=msgs, max_tokens=self.max_thinking_tokens + answer)
        else:
            k = len(call.docs)
            msgs = reasoning.listwise_messages(
                call.query, [self._cut(d.text) for d in call.docs], scores=self._scores(call)
            )
            body.update(messages=msgs, max_tokens=self.max_tokens or 6 * k + 8)
        body.update(self.extra_body)
        return body

    def _scores(self, call: Any) -> Optional[List[str]]:
        return reasoning.shown_scores(call.docs, self.score_scale) if self.insert_scores else None

    def _budget_hit(self) -> None:
        self.budget_hits += 1
        log.warning(
            "%s: a trace reached max_thinking_tokens=%d (finish_reason=length); %d so far",
            self.method,
            self.max_thinking_tokens,
            self.budget_hits,
        )

    def _trace(self, out: Dict[str, Any]) -> reasoning.Trace:
        """The answer's trace: ``reasoning_content``/``reasoning`` beside the content, or inline think text."""
        msg = (out["choices"][0].get("message") or {}) if "message" in out["choices"][0] else {}
        sep = msg.get("reasoning_content") or msg.get("reasoning")
        text = _text(out)
        if sep and not text.strip() and out["choices"][0].get("finish_reason") == "length":
            return reasoning.Trace(str(sep).strip(), "", False)  # the parser's unterminated trace: cut by the budget
        tr = reasoning.split_trace(text, reasoning=None if sep is None else str(sep))
        if not tr.closed and out["choices"][0].get("finish_reason") != "length" and reasoning.THINK_OPEN not in text:
            return reasoning.Trace("", text, True)  # stopped by itself without tags: a think-free answer
        return tr

    def _value(self, call: Any, out: Dict[str, Any]) -> Any:
        if isinstance(call, PointwiseCall):
            top = self._first_logprobs(out)
            lp: Dict[str, float] = {}
            for t in top[0] if top else []:
                word = str(t.get("token", "")).strip().lower()
                if word in ("yes", "no") and word not in lp:
                    lp[word] = float(t["logprob"])
            if not lp:
                raise ScorerError("neither 'yes' nor 'no' is among the top logprobs of the answer")
            d = lp.get("no", -math.inf) - lp.get("yes", -math.inf)  # P(yes) = 1 / (1 + e^d), safe for any logprobs
            return 0.0 if d == math.inf else 1.0 / (1.0 + math.exp(min(d, 700.0)))
        if self.method in reasoning.WINDOW_METHODS:
            tr = self._trace(out)
            if not tr.closed:
                return ""  # cut by the budget: no answer (the window keeps its prompt order)
            if self.method == "rank_r1":
                return reasoning.best_first(reasoning.answer_text(tr.answer), len(call.docs))
            return reasoning.answer_text(tr.answer)
        if self.method == "first":
            k = len(call.docs)
            for position in self._first_logprobs(out):
                ranked = sorted(position, key=lambda t: -float(t.get("logprob", -math.inf)))
                order: List[int] = []
                for t in ranked:
                    tok = str(t.get("token", "")).strip(" []")
                    if len(tok) == 1 and tok.upper() in prompts.LETTERS[:k]:
                        p = prompts.LETTERS.index(tok.upper())
                        if p not in order:
                            order.append(p)
                if order:
                    return order  # letters not named follow in prompt order (the driver completes it)
            raise ScorerError("no identifier letter among the top logprobs of the first answer tokens")
        return _text(out)

    async def _answer_rank1(self, call: Any) -> Answer:
        """Rank1 over HTTP: the trace, then P(true) at the token after ``</think>``."""
        prompt = reasoning.rank1_prompt(call.query, self._cut(call.doc.text))
        first: Dict[str, Any] = {"model": self.model, "temperature": 0.0, "prompt": prompt}
        first.update(max_tokens=self.max_thinking_tokens, stop=[reasoning.THINK_CLOSE])
        first.update(self.extra_body)
        t0 = time.perf_counter()
        out = await self._complete(first)
        trace = _text(out)
        cut = out["choices"][0].get("finish_reason") == "length" and reasoning.THINK_CLOSE not in trace
        if cut:
            self._budget_hit()
            closed = reasoning.rank1_close(trace)
        else:
            closed = trace.split(reasoning.THINK_CLOSE)[0] + reasoning.THINK_CLOSE
        second: Dict[str, Any] = {"model": self.model, "temperature": 0.0, "prompt": prompt + closed}
        second.update(max_tokens=1, logprobs=20)
        second.update(self.extra_body)
        out2 = await self._complete(second)
        latency = time.perf_counter() - t0
        lp: Dict[str, float] = {}
        top = self._first_logprobs(out2)
        for t in top[0] if top else []:
            word = str(t.get("token", "")).strip().lower()
            if word in ("true", "false") and word not in lp:
                lp[word] = float(t["logprob"])
        if not lp:
            raise ScorerError("rank1: neither 'true' nor 'false' is among the top logprobs after </think>")
        d = lp.get("false", -math.inf) - lp.get("true", -math.inf)
        value = 0.0 if d == math.inf else 1.0 / (1.0 + math.exp(min(d, 700.0)))
        u1, u2 = out.get("usage") or {}, out2.get("usage") or {}
        think = _count(u1.get("completion_tokens"))
        return Answer(
            value,
            raw=closed + _text(out2),
            prompt=prompt,
            tokens_in=_count(u1.get("prompt_tokens")),
            tokens_out=think + max(1, _count(u2.get("completion_tokens"))),
            latency=latency,
            thinking_tokens=think,
        )

    async def _answer_tfrank(self, call: Any) -> Answer:
        """TFRank over HTTP: a greedy answer with top-20 logprobs, read as TFRank
        reads it; asked again with its retry sentence when it names no judgement."""
        doc = self._cut(call.doc.text)
        t0 = time.perf_counter()
        n_in = n_out = 0
        value: Optional[float] = None
        raw, prompt = "", ""
        for retry in (False, True):
            prompt = reasoning.tfrank_prompt(call.query, doc, retry=retry)
            body: Dict[str, Any] = {"model": self.model, "temperature": 0.0, "prompt": prompt}
            body.update(max_tokens=self.max_tokens or reasoning.TFRANK_MAX_NEW_TOKENS, logprobs=20)
            body.update(self.extra_body)
            out = await self._complete(body)
            usage = out.get("usage") or {}
            n_in += _count(usage.get("prompt_tokens"))
            n_out += _count(usage.get("completion_tokens"))
            raw = _text(out)
            try:
                lp = out["choices"][0]["logprobs"]
                tokens = [str(t) for t in lp["tokens"]]
                tops = [
                    {str(k): float(v) for k, v in t.items()} if isinstance(t, dict) else None
                    for t in lp["top_logprobs"]
                ]
            except (KeyError, TypeError, IndexError, AttributeError):
                raise ScorerError("tfrank: the server returned no tokens with top logprobs (logprobs=20)") from None
            value = reasoning.tfrank_read(tokens, tops)
            if value is not None:
                break
        if value is None:
            self.fallbacks += 1
            log.warning(
                "tfrank: an answer named no judgement (yes(..)/no(..)) twice and got TFRank's fill score %g "
                "(%d so far)",
                reasoning.TFRANK_UNREAD,
                self.fallbacks,
            )
            value = reasoning.TFRANK_UNREAD
        return Answer(
            value,
            raw=raw,
            prompt=prompt,
            tokens_in=n_in,
            tokens_out=n_out,
            latency=time.perf_counter() - t0,
        )

    async def _answer(self, call: Any) -> Answer:
        try:
            if self.method == "rank1":
                return await self._answer_rank1(call)
            if self.method == "tfrank":
                return await self._answer_tfrank(call)
            body = self._body(call)
            t0 = time.perf_counter()
            out = await self._complete(body)
            latency = time.perf_counter() - t0
            value = self._value(call, out)
            try:
                raw: Optional[str] = _text(out)
            except ScorerError:
                raw = None
            usage = out.get("usage") or {}
            thinking = 0
            if self.method in reasoning.WINDOW_METHODS:
                tr = self._trace(out)
                if not tr.closed and out["choices"][0].get("finish_reason") == "length":
                    self._budget_hit()
                details = usage.get("completion_tokens_details") or {}
                given = details.get("reasoning_tokens") if isinstance(details, dict) else None
                n_out = _count(usage.get("completion_tokens"))
                thinking = min(n_out, _count(given)) if given is not None else reasoning.thinking_share(n_out, tr)
                if (
                    tr.thinking
                    and not (raw or "").startswith(reasoning.THINK_OPEN)
                    and reasoning.THINK_CLOSE not in (raw or "")
                ):
                    close = reasoning.THINK_CLOSE if tr.closed else ""
                    raw = f"{reasoning.THINK_OPEN}{tr.thinking}{close}{raw or ''}"  # the recording keeps the trace
            return Answer(
                value,
                raw=raw,
                prompt=body.get("messages", body.get("prompt")),
                tokens_in=_count(usage.get("prompt_tokens")),
                tokens_out=_count(usage.get("completion_tokens")),
                latency=latency,
                thinking_tokens=thinking,
            )
        except (ScorerError, asyncio.CancelledError):
            raise
        except Exception as e:  # a torn response, an odd logprob entry, ...
            raise ScorerError(f"{self.url}: unusable response ({type(e).__name__}: {e})") from None

    # --- the protocol ---------------------------------------------------------------------

    async def _costed(self, call: Any) -> Answer:
        """The call's answer with its FLOPs, when ``flops_model`` was given."""
        a = await self._answer(call)
        if self.flops_shape is None:
            return a
        return dataclasses.replace(a, flops=call_flops(self.flops_shape, a.tokens_in, a.tokens_out))

    def _check(self, calls: List[Any]) -> None:
        want = PointwiseCall if self.kind == "pointwise" else ListwiseCall
        if not all(isinstance(c, want) for c in calls):
            raise InvalidInputError(f"a {self.kind} OpenAIScorer answers {want.__name__} only")
        if self.insert_scores:
            for c in calls:
                reasoning.shown_scores(c.docs, self.score_scale)  # a call without scores is refused before any request

    def submit(self, calls: List[Any]) -> List[concurrent.futures.Future[Any]]:
        """Send ``calls`` now; one future per call, in order, resolving to its :class:`~rankwise.scorers.Answer`
        (tokens from the server's ``usage``, ``latency`` the call's seconds, retries included) or raising
        that call's :class:`~rankwise.ScorerError`."""
        self._check(calls)
        runner = self._get_runner()
        return [runner.submit(self._costed(c)) for c in calls]

    def __call__(self, calls: List[Any]) -> List[Any]:
        """Answer a batch and wait: one bare answer per call, or that call's ScorerError."""
        futures = self.submit(calls)
        out: List[Any] = []
        try:
            for f in futures:
                try:
                    out.append(f.result().value)
                except ScorerError as e:  # this call failed; the rest of the batch stands
                    out.append(e)
                except concurrent.futures.CancelledError:
                    out.append(ScorerError(f"{self.url}: the call was cancelled (the scorer was closed)"))
        except BaseException:  # Ctrl-C: cancel this batch's requests at once
            for f in futures:
                f.cancel()
            raise
        return out

    def __repr__(self) -> str:
        return (
            f"OpenAIScorer({self.base_url!r}, model={self.model!r}, kind={self.kind!r}, method={self.method!r}, "
            f"max_in_flight={self.max_in_flight})"
        )


def _count(v: Any) -> int:
    try:
        n = int(v or 0)
    except (TypeError, ValueError, OverflowError):
        return 0
    return n if n > 0 else 0


def _text(out: Dict[str, Any]) -> str:
    try:
        choice = out["choices"][0]
        return str((choice["message"]["content"] if "message" in choice else choice["text"]) or "")
    except (KeyError, TypeError, IndexError):
        raise ScorerError(f"malformed response, no message content: {str(out)[:200]}") from None
