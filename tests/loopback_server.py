"""A SIMULATED OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

It is a stand-in, not a model: everything it answers or reports is SIMULATED.

* As a **continuous-batching server** it answers each request after an
  independent lognormal latency (``median`` seconds, log-space ``sigma``;
  ``sigma=0`` is a constant latency), with at most ``slots`` requests being
  answered at once (the rest wait, as in vLLM's ``--max-num-seqs``). It
  answers RankGPT prompts with a permutation (``[3] > [1] > ...``) ranking
  passages by how many query words they hold, FIRST prompts (letters) and
  yes/no prompts with top logprobs when the request asks for logprobs, and
  reports ``usage`` (words as tokens).
* On cue it misbehaves. The cue is a first path segment before ``/v1``:
  ``base = server.url_for("trickle")`` -> ``http://127.0.0.1:PORT/trickle/v1``,
  ``server.url_for("drop", times=1)`` misbehaves on the first request only.
  A request whose prompt holds ``FAULT=<name>`` (or ``FAULT=<name>~<times>``)
  gets that fault too, so one scorer can see good and bad calls.
  Faults (POSTs to ``/chat/completions``; ``GET /models`` answers normally
  unless the fault is ``deaf`` or ``nomodels``):

  ``trickle`` a 200 body one byte every ``trickle_interval`` s; ``stall``
  never answers; ``drop`` sends the headers and half the body, then closes;
  ``reset`` closes without a response; ``retry-after`` 429 with
  ``Retry-After: 3600``; ``429`` (``Retry-After: 0``), ``500``, ``503``,
  ``400``, ``404``; ``badjson``; ``nochoices``; ``nologprobs``; ``deaf``
  (stalls every request, ``/models`` too); ``nomodels`` (``/models`` is 404).

``GET /_stats`` (and :meth:`LoopbackServer.stats`) returns the counters:
requests, connections opened, the most requests answered at once, per-fault
counts. Run it as a process for a benchmark::

    python tests/loopback_server.py --median 0.3 --sigma 0.5 --slots 256

prints ``SIMULATED server: http://127.0.0.1:PORT/v1`` and serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import re
import sys
import threading
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

__all__ = ["LoopbackServer", "FAULTS"]

FAULTS = (
    "trickle",
    "stall",
    "drop",
    "reset",
    "retry-after",
    "429",
    "500",
    "503",
    "400",
    "404",
    "badjson",
    "nochoices",
    "nologprobs",
    "deaf",
    "nomodels",
)
_PASSAGE = re.compile(r"^\[(\d+|[A-W])\] ", re.S)
_WORD = re.compile(r"\w+")
_CUE = re.compile(r"FAULT=([a-z0-9-]+)(?:~(\d+))?")


class LoopbackServer:
    """A SIMULATED chat-completions server on 127.0.0.1 (port 0), served by an asyncio loop in a thread.

    Args:
        median: median seconds to answer a request, default 0 (at once).
        sigma: log-space standard deviation of the latency, default 0 (constant).
        slots: requests answered at once; more wait for a slot, default 256.
        models: the model names ``GET /models`` lists, default ``("m",)``.
        seed: seed of the latency draws, default 0.
        trickle_interval: seconds between the bytes of a trickled body, default 0.5.
    """

    def __init__(
        self,
        *,
        median: float = 0.0,
        sigma: float = 0.0,
        slots: int = 256,
        models: Sequence[str] = ("m",),
        seed: int = 0,
        trickle_interval: float = 0.5,
    ) -> None:
        if median < 0 or sigma < 0 or slots < 1:
            raise ValueError("median >= 0, sigma >= 0 and slots >= 1 are required")
        self.median, self.sigma, self.slots = float(median), float(sigma), int(slots)
        self.models = list(models)
        self.trickle_interval = float(trickle_interval)
        self._rng = random.Random(seed)
        self.requests = 0
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.faults: Counter[str] = Counter()
        self.bodies: List[Dict[str, Any]] = []
        self.keep_bodies = True
        self.last_headers: Dict[str, str] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="loopback-server", daemon=True)
        self._tasks: Set[asyncio.Task[None]] = set()
        self._writers: Set[asyncio.StreamWriter] = set()
        self._server: Optional[asyncio.AbstractServer] = None
        self.port = 0

    # --- life cycle -------------------------------------------------------------

    def start(self) -> "LoopbackServer":
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _listen(self) -> asyncio.AbstractServer:
        self._slots = asyncio.Semaphore(self.slots)
        return await asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=4096)

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for w in list(self._writers):  # a dead server's sockets close: clients see a reset, not a stall
                w.transport.abort()
            for t in list(self._tasks):
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await asyncio.sleep(0.01)

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The well-behaved base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def url_for(self, fault: str, times: Optional[int] = None) -> str:
        """A base URL whose requests get ``fault`` (the first ``times`` of them, or all)."""
        if fault not in FAULTS:
            raise ValueError(f"fault: one of {', '.join(FAULTS)}; got {fault!r}")
        return f"http://127.0.0.1:{self.port}/{fault}{'' if times is None else f'~{times}'}/v1"

    def stats(self) -> Dict[str, Any]:
        return {
            "SIMULATED": True,
            "requests": self.requests,
            "connections": self.connections,
            "max_in_flight": self.max_in_flight,
            "slots": self.slots,
            "median": self.median,
            "sigma": self.sigma,
            "faults": dict(self.faults),
        }

    # --- HTTP/1.1, just enough -----------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.connections += 1
        try:
            while True:
                line = await reader.readline()
                if not line.strip():
                    break
                method, target = line.decode("latin-1").split()[:2]
                headers: Dict[str, str] = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers[k.strip().lower()] = v.strip()
                n = int(headers.get("content-length", "0"))
                body = await reader.readexactly(n) if n else b""
                self.last_headers = headers
                if not await self._respond(method, target, body, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()

    @staticmethod
    async def _send(
        writer: asyncio.StreamWriter, code: int, data: bytes, headers: Optional[Dict[str, str]] = None
    ) -> None:
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests"}.get(code, "Error")
        head = [f"HTTP/1.1 {code} {reason}", "Content-Type: application/json", f"Content-Length: {len(data)}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await writer.drain()

    def _route(self, target: str) -> Tuple[str, str, int]:
        """(fault name or "", path after it, how many of its requests misbehave; 0 = all)."""
        parts = target.split("?")[0].strip("/").split("/")
        if parts and parts[0] != "v1":
            name, _, times = parts.pop(0).partition("~")
            return (name if name in FAULTS else ""), "/".join(parts), int(times or 0)
        return "", "/".join(parts), 0

    async def _respond(self, method: str, target: str, body: bytes, writer: asyncio.StreamWriter) -> bool:
        if target.startswith("/_stats"):
            await self._send(writer, 200, json.dumps(self.stats()).encode())
            return True
        name, path, times = self._route(target)
        if name == "deaf":
            await asyncio.sleep(3600)
        if method == "GET" and path.endswith("models"):
            if name == "nomodels":
                await self._send(writer, 404, b'{"error": "no such route"}')
            else:
                listing = {
                    "object": "list",
                    "data": [{"id": m, "object": "model", "owned_by": "SIMULATED"} for m in self.models],
                }
                await self._send(writer, 200, json.dumps(listing).encode())
            return True
        if method != "POST" or not path.endswith("completions"):
            await self._send(writer, 404, b'{"error": "no such route"}')
            return True
        self.requests += 1
        req = json.loads(body)
        if self.keep_bodies:
            self.bodies.append(req)
        if not name:  # a cue in the prompt instead: FAULT=<name> or FAULT=<name>~<times>
            cue = _CUE.search(
                str(req.get("prompt", "")) + " ".join(str(m.get("content", "")) for m in req.get("messages") or [])
            )
            if cue and cue.group(1) in FAULTS:
                name, times = cue.group(1), int(cue.group(2) or 0)
        fault: Optional[str] = None
        if name:
            self.faults[name] += 1
            fault = name if not times or self.faults[name] <= times else None
        if fault == "stall":
            await asyncio.sleep(3600)
        if fault == "reset":
            return False
        status = {"retry-after": 429, "429": 429, "500": 500, "503": 503, "400": 400, "404": 404}
        if fault in status:
            wait = {"retry-after": "3600", "429": "0"}.get(fault)
            await self._send(
                writer,
                status[fault],
                b'{"error": {"message": "SIMULATED fault"}}',
                {"Retry-After": wait} if wait else None,
            )
            return True
        if fault == "badjson":
            await self._send(writer, 200, b"{not json")
            return True
        if fault == "nochoices":
            await self._send(writer, 200, b'{"choices": []}')
            return True
        async with self._slots:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                if self.median > 0:
                    await asyncio.sleep(self.median * math.exp(self.sigma * self._rng.gauss(0.0, 1.0)))
            finally:
                self.in_flight -= 1
        legacy = not path.endswith("chat/completions")
        data = json.dumps(answer(req, with_logprobs=fault != "nologprobs", legacy=legacy)).encode()
        if fault == "drop":
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
            writer.write(head.encode() + data[: len(data) // 2])
            await writer.drain()
            return False
        if fault == "trickle":
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
            writer.write(head.encode())
            for i in range(len(data)):
                writer.write(data[i : i + 1])
                await writer.drain()
                await asyncio.sleep(self.trickle_interval)
            return True
        await self._send(writer, 200, data)
        return True


def _words(text: str) -> Set[str]:
    return {w.lower() for w in _WORD.findall(text) if len(w) > 2}


def answer(req: Dict[str, Any], with_logprobs: bool = True, legacy: bool = False) -> Dict[str, Any]:
    """The SIMULATED answer to one chat-completions request (``legacy``: a ``/completions`` one, raw prompt)."""
    msgs = req.get("messages") or []
    text = " ".join(str(m.get("content", "")) for m in msgs) + str(req.get("prompt", ""))
    passages = [
        str(m["content"]) for m in msgs if m.get("role") == "user" and _PASSAGE.match(str(m.get("content", "")))
    ]
    if passages:
        q = re.search(r"Search Query: (.*?)\. \n", text, re.S)
        terms = _words(q.group(1)) if q else set()
        ids = [_PASSAGE.match(p).group(1) for p in passages]  # type: ignore[union-attr]
        hits = [len(terms & _words(p[len(i) + 3 :])) for p, i in zip(passages, ids)]
        order = sorted(range(len(passages)), key=lambda i: -hits[i])  # ties in prompt order
        content = " > ".join(f"[{ids[i]}]" for i in order)
        top = [{"token": ids[i], "logprob": -0.1 * r} for r, i in enumerate(order)][:20]
    else:
        q = re.search(r"<Query>: (.*?)\n<Document>: (.*)", text, re.S)
        yes = bool(q) and bool(_words(q.group(1)) & _words(q.group(2)))  # type: ignore[union-attr]
        content = "yes" if yes else "no"
        top = [{"token": "yes", "logprob": -0.1 if yes else -2.0}, {"token": "no", "logprob": -2.0 if yes else -0.1}]
    usage = {"prompt_tokens": len(text.split()), "completion_tokens": max(1, len(content.split()))}
    if legacy:  # /completions: text, and logprobs as {token: logprob} per position
        first = content.split()[0].strip("[]")
        lp: Dict[str, Any] = {
            "tokens": [first],
            "token_logprobs": [top[0]["logprob"]],
            "top_logprobs": [{t["token"]: t["logprob"] for t in top}],
        }
        done: Dict[str, Any] = {
            "index": 0,
            "text": content,
            "finish_reason": "stop",
            "logprobs": lp if with_logprobs and req.get("logprobs") else None,
        }
        return {
            "id": "SIMULATED",
            "object": "text_completion",
            "model": req.get("model"),
            "choices": [done],
            "usage": usage,
        }
    choice: Dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
    if with_logprobs and req.get("logprobs"):
        choice["logprobs"] = {
            "content": [{"token": top[0]["token"], "logprob": top[0]["logprob"], "top_logprobs": top}]
        }
    return {
        "id": "SIMULATED",
        "object": "chat.completion",
        "model": req.get("model"),
        "system_fingerprint": "SIMULATED",
        "choices": [choice],
        "usage": usage,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description="a SIMULATED continuous-batching chat-completions server on 127.0.0.1")
    ap.add_argument("--median", type=float, default=0.3)
    ap.add_argument("--sigma", type=float, default=0.5)
    ap.add_argument("--slots", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", action="append", default=None)
    ap.add_argument("--until-stdin-closes", action="store_true", help="serve until stdin reaches EOF")
    a = ap.parse_args()
    server = LoopbackServer(median=a.median, sigma=a.sigma, slots=a.slots, seed=a.seed, models=a.model or ["m"])
    server.keep_bodies = False
    server.start()
    print(f"SIMULATED server: {server.url}", flush=True)
    try:
        if a.until_stdin_closes:  # the parent holds the pipe: when it dies, so does the server
            sys.stdin.read()
        else:
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
