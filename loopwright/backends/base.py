"""The backend seam: one async method, a typed request in, a typed response out.

A backend decides what to do from the request's typed fields (``may_edit``,
``response_schema``, the budgets left), never from who is asking, and says what it can do
in ``capabilities``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Purpose = Literal[
    "clarify", "plan", "work", "review", "consult", "synthesize", "debate", "judge", "chat"
]
"""What a call is for. Adapters may label events with it; behaviour follows ``may_edit``
and ``response_schema``."""
Emit = Callable[[str, dict[str, Any]], None]
JsonSchema = dict[str, Any]


class OutputWriter(Protocol):
    """Where a backend writes its full output (capped and redacted by the owner)."""

    path: str | None

    def write(self, text: str) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do; callers branch on these, never on a vendor's name."""

    tools: bool = False
    """Calls tools itself (an agent CLI, or the tool loop over a model API)."""
    streaming: bool = False
    """Reports output while it runs (``worker_output`` events, the output file)."""
    structured_output: bool = False
    """Honours ``response_schema`` with the API's own constrained output."""
    edits_files: bool = False
    """Changes files in the request's ``cwd`` when ``may_edit`` is set."""
    local: bool = False
    """Runs in this process or on a model host you run, not a vendor's API."""


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    """USD for this response; None when the price is unknown (never guessed as 0)."""


@dataclass(frozen=True)
class WorkItem:
    """The subgoal a ``work`` call is for."""

    subgoal_id: str
    title: str
    attempt: int = 1


@dataclass(frozen=True)
class ReviewFacts:
    """What the harness measured, for reviewers that judge from facts (``auto``)."""

    verify_passed: bool = True
    verify_failed: tuple[str, ...] = ()
    """The verify commands that failed, each as one line."""
    subgoals_failed: tuple[str, ...] = ()
    """Titles of the subgoals whose worker failed."""


@dataclass
class AgentRequest:
    purpose: Purpose
    system: str
    prompt: str
    cwd: str
    timeout: float
    emit: Emit | None = None
    """Lets a backend add events (``model_call``, ``worker_output``) to the run's log."""
    output: OutputWriter | None = None
    _: KW_ONLY
    may_edit: bool = False
    """The backend may change files in ``cwd`` (else it answers read-only)."""
    response_schema: JsonSchema | None = None
    """A JSON schema when a structured answer is wanted: adapters use the API's
    constrained output; the reply is still the JSON text in ``AgentResponse.text``."""
    tokens_left: int | None = None
    """Tokens the run may still spend (None: no limit), for backends that loop in a call."""
    cost_left: float | None = None
    """USD the run may still spend (None: no limit)."""
    iteration: int = 0
    work: WorkItem | None = None
    facts: ReviewFacts | None = None


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
    host_down: str | None = None
    """On a failed response: the model host itself failed (no connection, or 5xx after
    the retries), and why; a pool backend sends the call to another host."""


@runtime_checkable
class Backend(Protocol):
    """Anything with ``spec``, ``capabilities`` and ``async run(request) -> response``.

    ``run`` returns a failed response for ordinary failures (a model error, a crashed
    agent) and raises only ``UserError`` for caller mistakes.
    """

    spec: str
    capabilities: Capabilities

    async def run(self, request: AgentRequest) -> AgentResponse: ...
