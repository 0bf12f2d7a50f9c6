"""Recording backends for the pattern tests: each keeps every request it was sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from loopwright import AgentRequest, AgentResponse, Capabilities, FunctionBackend, Usage
from loopwright.loop.events import MemorySink

Reply = Callable[[AgentRequest], str | AgentResponse | Awaitable[str | AgentResponse]]


class Recording(FunctionBackend):
    """A backend that records its requests and answers with ``reply(request)``."""

    def __init__(self, spec: str, reply: Reply | str, usage: Usage | None = None) -> None:
        self.requests: list[AgentRequest] = []
        self._reply = reply
        self._usage = usage
        super().__init__(self._answer, spec, Capabilities(local=True))

    async def _answer(self, request: AgentRequest) -> AgentResponse:
        self.requests.append(request)
        value: Any = self._reply if isinstance(self._reply, str) else self._reply(request)
        if not isinstance(value, str | AgentResponse):
            value = await value
        response = AgentResponse(text=value) if isinstance(value, str) else value
        assert isinstance(response, AgentResponse)
        if self._usage is not None:
            u = self._usage
            response.usage = Usage(u.input_tokens, u.output_tokens, u.cost_usd)
        return response

    @property
    def prompts(self) -> list[str]:
        return [r.prompt for r in self.requests]


def exchanges(sink: MemorySink) -> list[dict[str, Any]]:
    return [e["data"] for e in sink.of_type("exchange")]
