"""A ``Chat`` as a ``Backend``: one answer, or the tool loop when the model may edit."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import anyio

from ...errors import ProviderError
from ...process.runner import PlainRunner, ProcessRunner
from ..base import AgentRequest, AgentResponse, Emit
from .chat import Chat, Message, Meter, call_turn, httpx_client
from .toolloop import run_tool_loop


class ChatBackend:
    """A ``Backend`` over a chat model: workers get the tool loop, other roles one turn.

    ``make_chat(client, emit)`` builds the provider's ``Chat`` on an HTTP client: the one
    given here (tests, benchmarks) or one from ``new_client(timeout)`` per call, closed
    when the call ends.
    """

    def __init__(
        self,
        spec: str,
        make_chat: Callable[[Any, Emit | None], Chat],
        client: Any = None,
        host: str | None = None,
        steps: int = 40,
        new_client: Callable[[float], Any] | None = None,
        runner: ProcessRunner | None = None,
    ) -> None:
        self.spec = spec
        self.make_chat = make_chat
        self.client = client
        self.host = host
        self.steps = steps
        self.new_client = new_client or httpx_client
        self.runner = runner or PlainRunner()
        """Starts the tool loop's ``run_command`` programs."""

    async def run(self, request: AgentRequest) -> AgentResponse:
        started = time.monotonic()
        async with contextlib.AsyncExitStack() as stack:
            client = self.client
            if client is None:
                client = await stack.enter_async_context(self.new_client(request.timeout))
            chat = self.make_chat(client, request.emit)
            meter = Meter(chat, request, self.host)
            text, ok, error = await self._run(chat, meter)
        return AgentResponse(
            text=text, ok=ok, error=error, usage=meter.usage, duration=time.monotonic() - started
        )

    async def _run(self, chat: Chat, meter: Meter) -> tuple[str, bool, str | None]:
        request = meter.request
        try:
            with anyio.fail_after(max(request.timeout, 0.001)):
                if request.role == "worker":
                    return await run_tool_loop(chat, meter, self.steps, self.runner)
                messages = [Message("user", request.prompt)]
                turn = await call_turn(chat, meter, request.system, messages, [])
                return turn.text, True, None
        except ProviderError as exc:
            return "", False, f"{self.spec}: {exc}"
        except TimeoutError:
            return "", False, f"{self.spec}: no answer within {request.timeout:g}s (timeout)"
