"""What every API provider shares: a neutral conversation and one ``Chat.turn`` per call;
and ``backend.ChatBackend`` turns a chat into a loopwright ``Backend``.

A provider only translates: neutral messages and tools to its wire format, its stream
back to a ``Turn``, its failures to ``ProviderError``. Measuring, events, retries, the
tool loop for workers and the failed-response contract live here, once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import anyio
import httpx

from ...config import PREVIEW_CHARS
from ...errors import ProviderError
from ..base import AgentRequest, Emit, JsonSchema, Usage
from ..usage_limits import reset_note

OnText = Callable[[str], None]
FLUSH_CHARS = 2_000
FLUSH_SECONDS = 1.0
CONNECT_TIMEOUT = 10.0


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass
class Message:
    role: Literal["user", "assistant", "tool"]
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str = ""
    tool_name: str = ""
    is_error: bool = False


@dataclass
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]
    """JSON schema of the arguments object."""


@dataclass
class Turn:
    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    stop: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    """Provider details for the ``model_call`` event (cache tokens, Ollama profile)."""
    warnings: list[str] = field(default_factory=list)
    """Reported as ``warning`` events (e.g. a prompt Ollama silently truncated)."""


class Chat(Protocol):
    """One provider+model. ``turn`` raises ``ProviderError`` on failure."""

    provider: str
    model: str
    supports_tools: bool
    retry: RetryPolicy
    output_cap: int | None
    """Output tokens one turn may generate (sent as the API's own limit); set per call
    from the request's purpose by ``ChatBackend``."""

    async def turn(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        on_text: OnText,
        schema: JsonSchema | None = None,
    ) -> Turn:
        """One model turn; with ``schema``, the API's constrained output, the answer being
        the JSON text in ``Turn.text``."""
        ...


def schema_name(schema: JsonSchema) -> str:
    """A name for ``schema`` where the API wants one (its ``title``, else ``answer``)."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", str(schema.get("title") or "answer"))
    return name[:64]


TRUNCATED_STOPS = ("length", "max_tokens")
"""Stop reasons meaning the output cap (or the context) cut the answer: OpenAI-compatible
``length``, Ollama's ``length``, Anthropic's ``max_tokens``, Gemini's ``MAX_TOKENS``."""


def truncated(stop: str) -> bool:
    """Whether a turn's stop reason says the answer was cut short by a token limit."""
    reason = stop.lower().rsplit(".", 1)[-1]
    return reason in TRUNCATED_STOPS


class Forwarder:
    """Streams text deltas: the first one to the event sink at once, then in batches.

    A batch ends at a word boundary: its unfinished last word waits for the next batch,
    and a preview cut from a long batch starts at a word, so no key is split across two
    events (each is redacted on its own) nor cut in half at the preview's start."""

    def __init__(self, request: AgentRequest) -> None:
        # the call that edits reports its progress; answers (plans, verdicts) come whole
        self.emit: Emit | None = request.emit if request.may_edit else None
        self.output = request.output
        self.buffer: list[str] = []
        self.size = 0
        self.last = 0.0
        self.first: float | None = None

    def __call__(self, text: str) -> None:
        if not text:
            return
        now = time.monotonic()
        if self.output is not None:
            self.output.write(text)
        if self.first is None:
            self.first = now
            self.last = now
            if self.emit is not None:
                self.emit("worker_output", {"text": text[:PREVIEW_CHARS], "first": True})
            return
        self.buffer.append(text)
        self.size += len(text)
        if self.size >= FLUSH_CHARS or now - self.last >= FLUSH_SECONDS:
            self.flush(whole=False)

    def flush(self, whole: bool = True) -> None:
        """Send the batch; unless ``whole``, its unfinished last word waits."""
        text = "".join(self.buffer)
        cut = len(text) if whole else _word_start(text) or len(text)
        if text[:cut] and self.emit is not None:
            self.emit("worker_output", {"text": _preview(text[:cut])})
        held = text[cut:]
        self.buffer, self.size, self.last = [held] if held else [], len(held), time.monotonic()


_SPACE = re.compile(r"\s")


def _word_start(text: str) -> int:
    """Where the last word of ``text`` starts (no token holds whitespace); 0 if it is one
    word, ``len(text)`` if it ends in whitespace."""
    return max(text.rfind(" "), text.rfind("\n"), text.rfind("\t")) + 1


def _preview(text: str) -> str:
    """The last ``PREVIEW_CHARS`` of ``text``, from the first word that starts there (when
    one does)."""
    if len(text) <= PREVIEW_CHARS:
        return text
    tail = text[-PREVIEW_CHARS:]
    space = _SPACE.search(tail)
    return tail[space.end() :] if space and space.end() < len(tail) else tail


@dataclass
class Meter:
    """Sums the turns of one backend call and reports each as a ``model_call`` event."""

    chat: Chat
    request: AgentRequest
    host: str | None = None
    usage: Usage = field(default_factory=lambda: Usage(0, 0, 0.0))
    turns: int = 0

    def record(self, turn: Turn, started: float, first: float | None) -> None:
        self.turns += 1
        u = self.usage
        u.input_tokens += turn.usage.input_tokens
        u.output_tokens += turn.usage.output_tokens
        if u.cost_usd is not None:
            u.cost_usd = None if turn.usage.cost_usd is None else u.cost_usd + turn.usage.cost_usd
        if self.request.emit is None:
            return
        warnings = list(turn.warnings)
        cut = truncated(turn.stop)
        if cut:
            cap = self.chat.output_cap
            limit = f"the output cap of {cap} tokens" if cap else "the server's token limit"
            warnings.append(
                f"{self.chat.provider}:{self.chat.model}: the answer was cut at {limit} (stop "
                f"{turn.stop!r}); raise [max_tokens] {self.request.purpose} in loopwright.toml"
            )
        for message in warnings:
            self.request.emit("warning", {"message": message, "model": self.chat.model})
        data: dict[str, Any] = {
            "provider": self.chat.provider,
            "model": self.chat.model,
            "host": self.host,
            "purpose": self.request.purpose,
            "step": self.turns,
            "input_tokens": turn.usage.input_tokens,
            "output_tokens": turn.usage.output_tokens,
            "cost_usd": turn.usage.cost_usd,
            "latency": round(time.monotonic() - started, 4),
            "first_token": None if first is None else round(first - started, 4),
            "stop": turn.stop,
            "truncated": cut,
            "max_tokens": self.chat.output_cap,
            "tool_calls": [c.name for c in turn.tool_calls],
            **turn.extra,
        }
        self.request.emit("model_call", data)

    def left_cost(self) -> float | None:
        """USD the run may still spend, less this call's known cost so far (None: no limit
        given, or this call's price is unknown)."""
        limit = self.request.cost_left
        if limit is None or self.usage.cost_usd is None:
            return None
        return limit - self.usage.cost_usd

    def left_tokens(self) -> int | None:
        limit = self.request.tokens_left
        if limit is None:
            return None
        return limit - self.usage.input_tokens - self.usage.output_tokens


@dataclass
class RetryPolicy:
    attempts: int = 4
    base: float = 0.5
    cap: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = field(default=anyio.sleep)

    def wait(self, attempt: int, exc: ProviderError) -> float:
        if exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), self.cap)
        backoff: float = self.base * 2 ** (attempt - 1)
        return min(backoff, self.cap)


async def call_turn(
    chat: Chat,
    meter: Meter,
    system: str,
    messages: list[Message],
    tools: list[ToolSpec],
    schema: JsonSchema | None = None,
) -> Turn:
    """One model turn, retried on 429/5xx/overload (honouring Retry-After), measured."""
    policy = chat.retry
    for attempt in range(1, policy.attempts + 1):
        forward = Forwarder(meter.request)
        started = time.monotonic()
        try:
            turn = await chat.turn(system, messages, tools, forward, schema)
        except ProviderError as exc:
            if not exc.retryable:
                raise
            if exc.retry_after is not None and exc.retry_after > policy.cap:
                raise beyond_cap(exc, policy.cap) from exc
            if attempt == policy.attempts:
                down = exc.host_down or exc.status is None or exc.status >= 500
                raise ProviderError(
                    f"{exc} (gave up after {attempt} attempts)", status=exc.status, host_down=down
                ) from exc
            delay = policy.wait(attempt, exc)
            if meter.request.emit is not None:
                note = f"{chat.provider}:{chat.model}: {exc}; retry {attempt} in {delay:.2f}s"
                meter.request.emit("warning", {"message": note, "retry_in": delay})
            await policy.sleep(delay)
            continue
        forward.flush()
        meter.record(turn, started, forward.first)
        return turn
    raise AssertionError("unreachable")


def beyond_cap(exc: ProviderError, cap: float) -> ProviderError:
    """A wait longer than the retry cap is a usage or spend limit: final for this call."""
    at = time.time() + (exc.retry_after or 0.0)
    return ProviderError(
        f"{exc}; {reset_note(at)}; not retried: the provider asks for a wait longer than "
        f"the {cap:g} s retry cap (a usage or spend limit)",
        status=exc.status,
    )


def httpx_client(timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT))
