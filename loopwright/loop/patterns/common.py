"""What every pattern shares: the context it runs in, one attributed ``Exchange`` per
backend call, and running a pattern to its end.

A pattern is an async function over backends (passed in), an ``EventSink`` and a
``BudgetTracker``. Every backend call goes through ``PatternContext.ask``: the budget is
checked and counted before the call (``BudgetExceeded`` stops the pattern), and the call
becomes one ``exchange`` event naming its spec, host, tokens, latency and cost, with the
text. ``run_pattern`` turns a budget stop or a loopwright error into the pattern's end
state, keeping what the pattern gathered so far.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from pydantic import ConfigDict, Field

from ...backends.base import (
    AgentRequest,
    AgentResponse,
    Backend,
    JsonSchema,
    Purpose,
    ReviewFacts,
)
from ...backends.spec import parse_spec
from ...errors import BudgetExceeded, LoopwrightError, UnknownBackend, UserError, unwrapped
from ..budget import BudgetTracker
from ..events import EventSink
from ..pause import PauseGate, through_limits
from ..types import Budget, Model, UsageTotals
from ..vocab import EventType, ExchangeStep, PatternName, RunState, backend_event
from .agreement import DEFAULT_CONVERGE_AT

MAX_ROUNDS = 10
"""A debate's revision rounds at most."""
EVENT_TEXT_CHARS = 16_000
"""An exchange event holds this much of its text (the result holds all of it)."""

T = TypeVar("T")


class Exchange(Model):
    """One backend call of a pattern, attributed: who answered, at what cost, and what."""

    step: ExchangeStep
    spec: str
    host: str | None = None
    """The ``@host`` of the spec (None: the provider's own endpoint, or in-process)."""
    purpose: str
    round: int = 0
    participant: int | None = None
    """1-based place in the panel (consultants, debaters); None for a single role."""
    ok: bool = True
    error: str | None = None
    text: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    """USD; None when the price is unknown (never guessed as 0)."""
    latency: float = 0.0
    """Seconds from the request to the response."""

    def event(self) -> dict[str, Any]:
        """The ``exchange`` event's data: everything, the text cut at ``EVENT_TEXT_CHARS``."""
        data = self.model_dump()
        if len(self.text) > EVENT_TEXT_CHARS:
            data["text"] = self.text[:EVENT_TEXT_CHARS]
            data["truncated"] = len(self.text)
        return data


class PatternOptions(Model):
    """A pattern run's settings beyond its participants (a run request's part)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    rounds: int = Field(2, ge=0, le=MAX_ROUNDS)
    """debate: revision rounds after the blind drafts, at most."""
    converge_at: float = Field(DEFAULT_CONVERGE_AT, ge=0, le=1)
    """debate: the drafts' disagreement at or below which they have converged."""
    may_edit: bool = True
    """delegate: the delegate may change files in the run's worktree."""


class PatternResult(Model):
    """What every pattern returns (each adds its own fields)."""

    pattern: PatternName
    state: RunState = "running"
    stop_reason: str = ""
    question: str = ""
    usage: UsageTotals = Field(default_factory=UsageTotals)
    duration: float = 0.0
    error: str | None = None


def host_of(spec: str) -> str | None:
    try:
        return parse_spec(spec).host
    except UnknownBackend:
        return None


@dataclass
class PatternContext:
    """Where a pattern runs: its sink, its budget, its working dir, the time a call may take."""

    sink: EventSink
    budget: BudgetTracker
    cwd: str
    call_timeout: float = 1800.0
    result: PatternResult | None = None
    """The result of the pattern running in this context, as far as it got (set by
    ``run_pattern``): what a run that is cancelled or crashes still reports."""
    pauses: PauseGate | None = None
    """Where a call that meets a usage limit waits for its reset, the run ``paused``
    (``wake`` goes on at once: ``loopwright resume``); None: a gate of its own."""

    def __post_init__(self) -> None:
        self.gate = self.pauses or PauseGate(self.sink)

    @property
    def usage(self) -> UsageTotals:
        return self.budget.usage

    def emit(self, type: EventType, round: int, data: dict[str, Any]) -> int:
        return self.sink.emit(type, round, data)

    def phase(self, name: str, round: int = 0) -> None:
        self.sink.phase(name, round, self.usage)

    async def ask(
        self,
        backend: Backend,
        step: ExchangeStep,
        purpose: Purpose,
        system: str,
        prompt: str,
        *,
        round: int = 0,
        participant: int | None = None,
        may_edit: bool = False,
        schema: JsonSchema | None = None,
        cwd: str | None = None,
        facts: ReviewFacts | None = None,
    ) -> Exchange:
        """One budgeted call, recorded as an ``exchange`` event. A backend that raises
        (other than a caller mistake) gives a failed exchange; the budget raises."""
        self.budget.start_call()
        b = self.budget

        def emit(type: str, data: dict[str, Any]) -> None:
            self.sink.emit(backend_event(type), round, data)

        request = AgentRequest(
            purpose,
            system,
            prompt,
            cwd or self.cwd,
            max(0.001, min(self.call_timeout, b.remaining_seconds())),
            emit=b.through(emit),
            may_edit=may_edit,
            response_schema=schema,
            tokens_left=b.budget.max_tokens - b.usage.tokens,
            cost_left=b.budget.max_cost_usd - b.usage.cost_usd,
            iteration=round,
            facts=facts,
        )
        started = time.monotonic()
        try:  # a usage limit pauses the run until it resets, then the call runs again
            response = await through_limits(backend, request, self.gate, b, round)
        except (UserError, BudgetExceeded):
            raise
        except Exception as exc:  # a backend bug fails its answer, not the pattern
            response = AgentResponse(text="", ok=False, error=f"{type(exc).__name__}: {exc}")
        latency = time.monotonic() - started
        self.budget.record(response.usage)
        exchange = _exchange(backend.spec, step, purpose, round, participant, response, latency)
        self.emit("exchange", round, exchange.event())
        return exchange


def _exchange(
    spec: str,
    step: ExchangeStep,
    purpose: Purpose,
    round: int,
    participant: int | None,
    response: AgentResponse,
    latency: float,
) -> Exchange:
    error = response.error
    if not response.ok and response.usage_limit is not None:
        error = f"{error or 'usage limit'} (resets at {response.usage_limit.resume_at:.0f})"
    return Exchange(
        step=step,
        spec=spec,
        host=host_of(spec),
        purpose=purpose,
        round=round,
        participant=participant,
        ok=response.ok,
        error=None if response.ok else error or "failed without a reason",
        text=response.text,
        input_tokens=response.usage.input_tokens,
        output_tokens=response.usage.output_tokens,
        cost_usd=response.usage.cost_usd,
        latency=round_(response.duration or latency),
    )


def round_(seconds: float) -> float:
    return round(seconds, 4)


async def in_parallel(calls: Sequence[Callable[[], Awaitable[T]]]) -> list[T | None]:
    """Run ``calls`` at once and return their values in order. A call stopped by the
    budget leaves None and the others finish; the first such stop is raised after."""
    values: list[T | None] = [None] * len(calls)
    stops: list[BudgetExceeded] = []

    async def one(n: int) -> None:
        try:
            values[n] = await calls[n]()
        except BudgetExceeded as exc:
            stops.append(exc)

    with unwrapped():
        async with anyio.create_task_group() as tg:
            for n in range(len(calls)):
                tg.start_soon(one, n)
    if stops:
        raise stops[0]
    return values


Body = Callable[["PatternContext"], Awaitable[None]]


R = TypeVar("R", bound=PatternResult)


async def run_pattern(result: R, ctx: PatternContext, body: Body) -> R:
    """Run ``body`` (which fills ``result`` as it goes and sets its end state) within the
    budget's time; a budget stop ends it ``stopped`` and an error ``failed``, each keeping
    what ``result`` holds by then. Cancellation passes through."""
    ctx.result = result
    try:
        with ctx.budget.limits():  # max_seconds, and max_cost_usd while holding hosts
            await body(ctx)
    except BudgetExceeded as exc:
        ctx.emit("budget_exhausted", 0, {"limit": exc.limit, "message": str(exc)})
        result.state, result.stop_reason = "stopped", f"budget: {exc}"
    except LoopwrightError as exc:
        ctx.emit("error", 0, {"message": str(exc), "kind": type(exc).__name__})
        result.state, result.stop_reason, result.error = "failed", str(exc), str(exc)
    finally:
        for ended in ctx.budget.release():  # the end releases the hosts the pattern held
            ctx.emit("host_released", 0, ended.event())
        result.usage = ctx.usage
        result.duration = round(ctx.budget.elapsed(), 3)
    return result


def context(
    sink: EventSink, budget: Budget | None = None, cwd: str = "", call_timeout: float = 1800.0
) -> PatternContext:
    """A fresh context (the Python API's): ``budget`` None means the default limits."""
    return PatternContext(sink, BudgetTracker(budget or Budget(), UsageTotals()), cwd, call_timeout)


pattern_context = context
"""``context`` as the package root exports it (``loopwright.pattern_context``)."""
