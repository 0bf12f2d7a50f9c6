"""A ``Chat`` as a ``Backend``: one answer, or the tool loop when the model may edit."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import anyio

from ...errors import ProviderError, SchemaUnsupported
from ...process.runner import PlainRunner, ProcessRunner
from ..base import AgentRequest, AgentResponse, Capabilities, Emit
from .chat import Chat, Message, Meter, Turn, call_turn, httpx_client
from .limits import DEFAULT_OUTPUT_CAPS
from .toolloop import run_tool_loop

API = Capabilities(tools=True, streaming=True, structured_output=True, edits_files=True)
"""What a model API with a tool loop can do; providers adjust ``structured_output``/``local``."""


class ChatBackend:
    """A ``Backend`` over a chat model: a call that may edit gets the tool loop, any other
    one turn (with the API's constrained output when ``response_schema`` is set).

    ``make_chat(client, emit)`` builds the provider's ``Chat`` on an HTTP client: the one
    given here (tests, benchmarks) or one from ``new_client(timeout)`` per call, closed
    when the call ends. Each turn may generate ``output_caps[purpose]`` tokens at most.
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
        capabilities: Capabilities = API,
        output_caps: Mapping[str, int] | None = None,
    ) -> None:
        self.spec = spec
        self.make_chat = make_chat
        self.client = client
        self.host = host
        self.steps = steps
        self.new_client = new_client or httpx_client
        self.runner = runner or PlainRunner()
        """Starts the tool loop's ``run_command`` programs."""
        self.capabilities = capabilities
        self.output_caps = dict(output_caps or DEFAULT_OUTPUT_CAPS)
        self.tools_work = True
        """False once a call found that the server takes no tools (refused or dropped):
        later calls go to edit blocks at once."""

    async def run(self, request: AgentRequest) -> AgentResponse:
        started = time.monotonic()
        async with contextlib.AsyncExitStack() as stack:
            client = self.client
            if client is None:
                client = await stack.enter_async_context(self.new_client(request.timeout))
            chat = self.make_chat(client, request.emit)
            chat.output_cap = self.output_caps.get(request.purpose)
            if not self.tools_work:
                chat.supports_tools = False
            meter = Meter(chat, request, self.host)
            text, ok, error, down = await self._run(chat, meter)
            self.tools_work = self.tools_work and chat.supports_tools
        return AgentResponse(
            text=text, ok=ok, error=error, usage=meter.usage, duration=time.monotonic() - started,
            host_down=down,
        )  # fmt: skip

    async def _run(self, chat: Chat, meter: Meter) -> tuple[str, bool, str | None, str | None]:
        """The answer's text, ok, error and, when the host itself failed, why."""
        request = meter.request
        try:
            with anyio.fail_after(max(request.timeout, 0.001)):
                if request.may_edit:
                    return (*await run_tool_loop(chat, meter, self.steps, self.runner), None)
                turn = await self._answer(chat, meter)
                return turn.text, True, None, None
        except ProviderError as exc:
            return "", False, f"{self.spec}: {exc}", str(exc) if exc.host_down else None
        except TimeoutError:
            why = f"{self.spec}: no answer within {request.timeout:g}s (timeout)"
            return "", False, why, None

    async def _answer(self, chat: Chat, meter: Meter) -> Turn:
        request = meter.request
        messages = [Message("user", request.prompt)]
        schema = request.response_schema if self.capabilities.structured_output else None
        try:
            return await call_turn(chat, meter, request.system, messages, [], schema)
        except SchemaUnsupported as exc:
            # remembered: this backend's later calls go plain (prompt + the caller's repair)
            self.capabilities = dataclasses.replace(self.capabilities, structured_output=False)
            if request.emit is not None:
                note = f"{self.spec}: {exc}; asking without a response schema from now on"
                request.emit("warning", {"message": note})
            return await call_turn(chat, meter, request.system, messages, [])
