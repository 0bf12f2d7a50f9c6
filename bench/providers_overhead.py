"""Provider backends against a local server: per-call overhead over raw httpx, and how
soon the first streamed token reaches the event sink.

Targets: per-call time <= 1.1x raw httpx (same client, same server, same stream read and
parsed); first token forwarded to the sink <= 5 ms after the server sent it (an upper
bound on "after arrival": it includes the loopback hop).

The server is a minimal asyncio HTTP/1.1 server on 127.0.0.1 speaking Ollama's NDJSON
``/api/chat`` and OpenAI's SSE ``/v1/chat/completions``.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from typing import Any

import httpx

from loopwright.backends.base import AgentRequest, Purpose
from loopwright.backends.models.backend import ChatBackend
from loopwright.backends.models.ollama import OllamaChat
from loopwright.backends.models.openai_compat import OpenAIChat
from loopwright.backends.settings import Endpoint, OllamaHost
from loopwright.loop.events import MemoryOutput

CALLS = 400
GAP = 0.05  # seconds between the first token and the rest, in the first-token test
WORDS = [f"word{i} " for i in range(40)]
DONE = {"done": True, "total_duration": 10**9, "load_duration": 0, "prompt_eval_count": 50,
        "prompt_eval_duration": 10**8, "eval_count": 40, "eval_duration": 5 * 10**8}  # fmt: skip
SENT: list[float] = []


def ndjson_chunks() -> list[bytes]:
    lines = [{"message": {"role": "assistant", "content": w}, "done": False} for w in WORDS]
    lines.append({"message": {"role": "assistant", "content": ""}, **DONE})
    return [json.dumps(x).encode() + b"\n" for x in lines]


def sse_chunks() -> list[bytes]:
    out = [{"choices": [{"delta": {"content": w}}]} for w in WORDS]
    out.append({"choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": 40}})
    return [f"data: {json.dumps(c)}\n\n".encode() for c in out] + [b"data: [DONE]\n\n"]


ROUTES = {
    "/api/version": [b'{"version": "0.9.0"}'],
    "/api/show": [b'{"model_info": {"x.context_length": 8192}, "capabilities": ["tools"]}'],
    "/api/chat": ndjson_chunks(),
    "/v1/chat/completions": sse_chunks(),
}


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            break
        lines = head.decode().split("\r\n")
        path = lines[0].split()[1]
        size = next((int(v) for k, _, v in (x.partition(": ") for x in lines)
                     if k.lower() == "content-length"), 0)  # fmt: skip
        body = await reader.readexactly(size) if size else b""
        slow = b'"slow"' in body
        chunks = ROUTES.get(path.split("?")[0], [b"{}"])
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        if slow:  # the first token, a pause, then the rest
            SENT.append(time.perf_counter())
            writer.write(b"%x\r\n%s\r\n" % (len(chunks[0]), chunks[0]))
            await writer.drain()
            await asyncio.sleep(GAP)
            chunks = chunks[1:]
        writer.write(b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n")
        await writer.drain()
    writer.close()


def request(purpose: Purpose, prompt: str, sink: list[float]) -> AgentRequest:
    def emit(type: str, data: dict[str, Any]) -> None:
        if type == "worker_output" and data.get("first"):
            sink.append(time.perf_counter())

    return AgentRequest(purpose, "s", prompt, ".", 30, emit=emit, output=MemoryOutput(),
                        may_edit=purpose == "work")  # fmt: skip


async def raw_call(client: httpx.AsyncClient, url: str, body: dict[str, Any], sse: bool) -> str:
    text = []
    async with client.stream("POST", url, json=body) as r:
        async for line in r.aiter_lines():
            if not line.strip():
                continue
            if sse:
                data = line.removeprefix("data: ")
                if data == "[DONE]":
                    break
                for c in json.loads(data).get("choices") or []:
                    text.append(c["delta"].get("content") or "")
            else:
                text.append(json.loads(line)["message"]["content"])
    return "".join(text)


async def overhead(client: httpx.AsyncClient, base: str, which: str) -> tuple[float, float]:
    if which == "ollama":
        host = OllamaHost("local", base)
        backend = ChatBackend("ollama:m", lambda c, e: OllamaChat(c, host, "m"), client=client)
        url, sse = f"{base}/api/chat", False
        body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}],
                                "stream": True, "options": {"num_ctx": 8192}}  # fmt: skip
    else:
        ep = Endpoint("local", f"{base}/v1", free=True)
        backend = ChatBackend("openai:m@local", lambda c, e: OpenAIChat(c, ep, "m"), client=client)
        url, sse = f"{base}/v1/chat/completions", True
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    await backend.run(request("plan", "hi", []))  # warm: learn the model, open the pool
    raw, ours = [], []

    async def time_raw() -> None:
        t = time.perf_counter()
        await raw_call(client, url, body, sse)
        raw.append(time.perf_counter() - t)

    async def time_ours() -> None:
        t = time.perf_counter()
        r = await backend.run(request("plan", "hi", []))
        ours.append(time.perf_counter() - t)
        assert r.ok, r.error

    for n in range(CALLS):  # interleaved, alternating who goes first, so drift hits both
        first, second = (time_raw, time_ours) if n % 2 else (time_ours, time_raw)
        await first()
        await second()
    return statistics.median(raw), statistics.median(ours)


async def first_token(client: httpx.AsyncClient, base: str) -> list[float]:
    host = OllamaHost("local", base)
    backend = ChatBackend("ollama:m", lambda c, e: OllamaChat(c, host, "m"), client=client)
    delays = []
    for _ in range(20):
        got: list[float] = []
        SENT.clear()
        await backend.run(request("work", "slow", got))
        delays.append((got[0] - SENT[0]) * 1000)
    return delays


async def main() -> None:
    os.environ["LOOPWRIGHT_HOME"] = tempfile.mkdtemp(prefix="lw-bench-")
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with httpx.AsyncClient(timeout=30) as client:
        for which in ("ollama", "openai"):
            raw, ours = await overhead(client, base, which)
            print(f"{which:<7} per call: raw httpx {raw * 1000:.3f} ms, backend "
                  f"{ours * 1000:.3f} ms -> {ours / raw:.2f}x (target <= 1.1x)")  # fmt: skip
        delays = await first_token(client, base)
    print(f"first token to sink: median {statistics.median(delays):.2f} ms, "
          f"max {max(delays):.2f} ms (target <= 5 ms)")  # fmt: skip
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
