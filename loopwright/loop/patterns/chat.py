"""chat: a person's conversation with one model at a time, switching models at will.

The conversation is its events: each message of the person is a ``message`` event, each
model's reply an ``exchange`` (step ``reply``) attributed like every pattern's, each
slash command that changes the conversation a ``command`` event. ``Conversation.of``
folds a session's events back into what was said and the model in use, so a session
resumes from its log alone. A reply's prompt carries the conversation so far as one
fenced transcript naming who said each turn (earlier replies may be other models'),
then the person's new message: every backend takes that, whatever its API.

A backend that streams writes its text as it comes (``AgentRequest.output``);
``Streaming`` hands those pieces to the caller as well. A backend that does not stream
writes its text once, when it is done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...backends.base import AgentRequest, AgentResponse, Backend, OutputWriter
from ..prompts import FENCE_RULE, Parts, Quote, render
from ..vocab import Event
from .common import Exchange, PatternContext, PatternResult

YOU = "you"
"""Who said a person's turn in the transcript."""
HISTORY_CHARS = 60_000
"""The transcript a reply's prompt carries at most: the latest turns that fit."""

CHAT_SYSTEM = f"""You are talking with a person in a terminal, one of several models they
may switch between. The conversation so far is quoted below, each turn headed by who said
it (the person, you, or another model). Answer the person's latest message directly.
Do not edit any file.
{FENCE_RULE}"""

OnText = Callable[[str], None]


@dataclass(frozen=True)
class Said:
    """One turn of the conversation: who said it (``you`` or a backend spec) and what."""

    speaker: str
    text: str


@dataclass
class Conversation:
    """What a session's events say: the turns so far and the model in use."""

    model: str
    turns: list[Said] = field(default_factory=list)

    @classmethod
    def of(cls, events: Iterable[Event], model: str) -> Conversation:
        """The conversation a session's events hold; ``model`` until a ``/model`` says else."""
        talk = cls(model)
        for event in events:
            talk.see(event["type"], event["data"])
        return talk

    def see(self, type: str, data: dict[str, Any]) -> None:
        """Take one event into account (the others leave the conversation as it is)."""
        if type == "message":
            self.turns.append(Said(YOU, str(data.get("text", ""))))
        elif type == "exchange" and data.get("step") == "reply" and data.get("ok"):
            self.turns.append(Said(str(data.get("spec")), str(data.get("text", ""))))
        elif type == "command" and data.get("name") == "model" and data.get("ok", True):
            self.model = str(data.get("args"))
        elif type == "command" and data.get("summary"):
            self.turns.append(Said(YOU, str(data.get("line", ""))))
            self.turns.append(Said(str(data.get("by") or data.get("name")), str(data["summary"])))


def transcript(turns: Sequence[Said], limit: int = HISTORY_CHARS) -> str:
    """The latest turns that fit in ``limit`` characters, oldest first."""
    kept: list[str] = []
    size = 0
    for said in reversed(turns):
        block = f"[{said.speaker}]\n{said.text.strip()}"
        if kept and size + len(block) > limit:
            break
        kept.append(block[:limit])
        size += len(block) + 2
    return "\n\n".join(reversed(kept))


def chat_prompt(turns: Sequence[Said], message: str) -> str:
    """The conversation so far, fenced, then the person's message (the instruction)."""
    parts: Parts = []
    if turns:
        parts.append(Quote("The conversation so far, oldest first:", transcript(turns)))
    parts.append(f"The person's message:\n{message}")
    return render(parts)


class Tee:
    """An ``OutputWriter`` that hands each piece to ``on_text`` and to ``inner``, if any."""

    def __init__(self, inner: OutputWriter | None, on_text: OnText) -> None:
        self.inner = inner
        self.on_text = on_text
        self.path: str | None = inner.path if inner is not None else None

    def write(self, text: str) -> None:
        self.on_text(text)
        if self.inner is not None:
            self.inner.write(text)
            self.path = self.inner.path

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()


class Streaming:
    """``backend``, with what it writes as it answers also handed to ``on_text``: the
    pieces as they come when it streams (``capabilities.streaming``), else the whole text
    once at its end. Spec and capabilities are the backend's own."""

    def __init__(self, backend: Backend, on_text: OnText) -> None:
        self.backend = backend
        self.on_text = on_text
        self.spec = backend.spec
        self.capabilities = backend.capabilities

    async def run(self, request: AgentRequest) -> AgentResponse:
        request.output = Tee(request.output, self.on_text)
        return await self.backend.run(request)


async def reply(
    ctx: PatternContext,
    backend: Backend,
    turns: Sequence[Said],
    message: str,
    on_text: OnText | None = None,
) -> Exchange:
    """The person's ``message`` to ``backend`` with the conversation ``turns`` so far: a
    ``message`` event, then the budgeted, attributed ``reply`` exchange (``BudgetExceeded``
    raises before the call, or when a held priced host has spent what is left of
    ``max_cost_usd``; the hold ends with the exchange, ``host_released`` with its cost)."""
    ctx.budget.check_before_call()  # a refused message is not recorded as said
    ctx.emit("message", 0, {"text": message, "to": backend.spec})
    asked = Streaming(backend, on_text) if on_text is not None else backend
    try:
        with ctx.budget.limits():  # max_cost_usd while the reply holds a priced host
            return await ctx.ask(asked, "reply", "chat", CHAT_SYSTEM, chat_prompt(turns, message))
    finally:  # a host is held for the exchange: between messages the pool pays its idle
        for ended in ctx.budget.release():
            ctx.emit("host_released", 0, ended.event())


def summary(result: PatternResult) -> str:
    """What a consult, debate or delegate said, as one turn of the conversation."""
    parts: list[str] = []
    for a in getattr(result, "answers", []):
        if a.ok:
            parts.append(f"answer #{a.participant} by {a.spec}:\n{a.text.strip()}")
    synthesis = getattr(result, "synthesis", None)
    if synthesis is not None and synthesis.ok:
        parts.append(f"synthesis by {synthesis.spec}:\n{synthesis.text.strip()}")
    pick = getattr(result, "pick", None)
    if pick is not None:
        parts.append(f"picked: draft #{pick.participant} by {pick.spec} ({pick.by}):\n"
                     f"{pick.answer.strip()}")  # fmt: skip
    work = getattr(result, "work", None)
    if work is not None and work.ok:
        parts.append(f"work by {work.spec}:\n{work.text.strip()}")
    verdict = getattr(result, "verdict", None)
    if verdict is not None:
        word = "complete" if verdict.complete else "incomplete"
        issues = "; ".join(verdict.issues)
        parts.append(f"review: {word}" + (f" ({issues})" if issues else ""))
    if not parts:
        parts.append(f"{result.pattern} {result.state}: {result.stop_reason}")
    return "\n\n".join(parts)
