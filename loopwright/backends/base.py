"""The backend seam: one async method, a typed request in, a typed response out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["clarifier", "planner", "worker", "reviewer"]
Emit = Callable[[str, dict[str, Any]], None]


class OutputWriter(Protocol):
    """Where a backend writes its full output (capped and redacted by the owner)."""

    path: str | None

    def write(self, text: str) -> None: ...

    def close(self) -> None: ...


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    """USD for this response; None when the price is unknown (never guessed as 0)."""


@dataclass
class AgentRequest:
    role: Role
    system: str
    prompt: str
    cwd: str
    timeout: float
    emit: Emit | None = None
    """Lets a backend add events (``model_call``, ``worker_output``) to the run's log."""
    output: OutputWriter | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    """iteration, subgoal id and title, attempt: for backends that act per subgoal."""


@dataclass
class UsageLimit:
    """A provider's usage limit that resets at a known time: the same call may work then."""

    message: str
    """The provider's own words."""
    resume_at: float
    """Epoch seconds when the limit resets."""


@dataclass
class AgentResponse:
    text: str
    ok: bool = True
    error: str | None = None
    usage: Usage = field(default_factory=Usage)
    duration: float = 0.0
    output_path: str | None = None
    usage_limit: UsageLimit | None = None
    """On a failed response: a subscription usage limit with its reset time. The harness
    pauses the run until ``resume_at`` and repeats the call."""


@runtime_checkable
class Backend(Protocol):
    """Anything with ``spec`` and ``async run(request) -> response``.

    ``run`` returns a failed response for ordinary failures (a model error, a crashed
    agent) and raises only ``UserError`` for caller mistakes.
    """

    spec: str

    async def run(self, request: AgentRequest) -> AgentResponse: ...
