"""Scripted model endpoints for provider tests: wire-format builders and a recorder."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from loopwright.backends.base import AgentRequest, JsonSchema, Purpose
from loopwright.loop.events import MemoryOutput

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class Recorder:
    """Replies in order (the last repeats) and keeps every request body."""

    replies: list[Handler]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        n = min(len(self.requests), len(self.replies)) - 1
        return self.replies[n](request)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


def sse(*chunks: Any, done: bool = True, status: int = 200) -> Handler:
    text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    text += "data: [DONE]\n\n" if done else ""
    return lambda _r: httpx.Response(
        status, content=text.encode(), headers={"content-type": "text/event-stream"}
    )


def ndjson(*lines: Any, status: int = 200) -> Handler:
    body = "".join(json.dumps(x) + "\n" for x in lines)
    return lambda _r: httpx.Response(status, content=body.encode())


def error(status: int, body: Any, headers: dict[str, str] | None = None) -> Handler:
    return lambda _r: httpx.Response(status, json=body, headers=headers or {})


@dataclass
class Events:
    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, type: str, data: dict[str, Any]) -> None:
        self.items.append((type, data))

    def of(self, type: str) -> list[dict[str, Any]]:
        return [d for t, d in self.items if t == type]


def request(
    purpose: Purpose = "plan",
    cwd: Path | str = ".",
    prompt: str = "hi",
    timeout: float = 10.0,
    schema: JsonSchema | None = None,
) -> tuple[AgentRequest, Events, MemoryOutput]:
    """A request as the harness makes it: a ``work`` call may edit, others answer."""
    events, out = Events(), MemoryOutput()
    req = AgentRequest(
        purpose,
        "sys",
        prompt,
        str(cwd),
        timeout,
        emit=events,
        output=out,
        may_edit=purpose == "work",
        response_schema=schema,
    )
    return req, events, out


class Sleeps:
    """A stand-in for anyio.sleep that records the delays asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
