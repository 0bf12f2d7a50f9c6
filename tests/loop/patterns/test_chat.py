"""The chat pattern: the conversation folded from events, its transcript, and a reply
streamed piece by piece from a backend that streams."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from loopwright import AgentRequest, AgentResponse, FunctionBackend
from loopwright.backends.models.backend import ChatBackend
from loopwright.backends.models.ollama import OllamaChat
from loopwright.backends.scripted import ScriptedBackend
from loopwright.backends.settings import OllamaHost
from loopwright.errors import BudgetExceeded
from loopwright.loop.events import MemorySink
from loopwright.loop.patterns.chat import Conversation, Said, chat_prompt, reply, transcript
from loopwright.loop.patterns.common import context
from loopwright.loop.types import Budget
from loopwright.loop.vocab import Event, EventType
from tests.backends.models.fake_ollama import FakeOllama, say

HOST = OllamaHost("gpu1", "http://ollama.test:11434")


def event(type: EventType, **data: Any) -> Event:
    return {"seq": 0, "ts": 0.0, "type": type, "iteration": 0, "data": data}


def test_the_conversation_of_a_log_holds_messages_good_replies_summaries_and_the_model() -> None:
    consulted = {"line": "/consult a,b q", "by": "consult of a, b", "state": "completed",
                 "summary": "answer #1 by a:\nx"}  # fmt: skip
    log = [
        event("message", text="hi", to="a"),
        event("exchange", step="reply", spec="a", ok=True, text="hello"),
        event("message", text="again", to="a"),
        event("exchange", step="reply", spec="a", ok=False, text="", error="down"),
        event("command", name="model", args="b", line="/model b"),
        event("command", name="consult", args="a,b", **consulted),
        event("exchange", step="answer", spec="a", ok=True, text="x"),
    ]
    talk = Conversation.of(log, "a")
    assert talk.model == "b"
    assert talk.turns == [
        Said("you", "hi"), Said("a", "hello"), Said("you", "again"),
        Said("you", "/consult a,b q"), Said("consult of a, b", "answer #1 by a:\nx"),
    ]  # fmt: skip


def test_the_transcript_keeps_the_latest_turns_that_fit() -> None:
    turns = [Said("you", "x" * 50), Said("m", "y" * 50), Said("you", "last")]
    assert transcript(turns, limit=80) == "[m]\n" + "y" * 50 + "\n\n[you]\nlast"


def test_a_first_message_is_sent_without_a_transcript_and_later_ones_fenced() -> None:
    assert chat_prompt([], "hi") == "The person's message:\nhi"
    prompt = chat_prompt([Said("you", "hi")], "more")
    assert prompt.startswith("The conversation so far, oldest first:\n<<<UNTRUSTED-")
    assert prompt.endswith("The person's message:\nmore")


async def test_a_streaming_backends_reply_reaches_the_caller_in_pieces_before_its_exchange() -> (
    None
):
    fake = FakeOllama(chats=[say("Streaming works")])
    backend = ChatBackend("ollama:m@gpu1", lambda c, e: OllamaChat(c, HOST, "m"),
                          client=fake.client(), host="gpu1")  # fmt: skip
    sink = MemorySink()
    seen: list[str] = []
    exchange = await reply(context(sink), backend, [], "go", on_text=lambda t: seen.append(t))
    assert backend.capabilities.streaming
    assert seen == ["Stre", "amin", "g wo", "rks"]  # as the NDJSON lines came
    assert exchange.text == "Streaming works" and exchange.host == "gpu1"
    assert (exchange.input_tokens, exchange.output_tokens) == (400, 50)
    assert sink.events[0]["type"] == "message"


async def test_a_backend_that_does_not_stream_hands_its_whole_reply_once() -> None:
    backend = ScriptedBackend({"chat": [{"text": "all at once"}]})
    seen: list[str] = []
    await reply(context(MemorySink()), backend, [], "go", on_text=seen.append)
    assert not backend.capabilities.streaming and seen == ["all at once"]


async def test_a_reply_waiting_on_a_held_host_stops_at_the_cost_budget_and_ends_its_hold() -> None:
    async def waits(request: AgentRequest) -> AgentResponse:
        assert request.emit is not None
        request.emit("host_held", {"host": "vast-1", "usd_per_hour": 3600.0})  # $1 a second
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    sink = MemorySink()
    ctx = context(sink, Budget(max_cost_usd=0.1, max_seconds=60))
    with anyio.fail_after(20), pytest.raises(BudgetExceeded, match="max_cost_usd"):
        await reply(ctx, FunctionBackend(waits, "ollama:m@vast-1"), [], "hello?")
    [released] = [e["data"] for e in sink.of_type("host_released")]
    assert released["host"] == "vast-1" and released["cost_usd"] >= 0.1
    assert ctx.usage.host_cost_usd == pytest.approx(released["cost_usd"], abs=1e-6)


async def test_a_reply_from_a_held_host_ends_its_hold_with_the_exchange() -> None:
    async def answers(request: AgentRequest) -> AgentResponse:
        assert request.emit is not None
        request.emit("host_held", {"host": "vast-1", "usd_per_hour": 0.5})
        return AgentResponse(ok=True, text="hi")

    sink = MemorySink()
    ctx = context(sink, Budget(max_seconds=60))
    got = await reply(ctx, FunctionBackend(answers, "ollama:m@vast-1"), [], "hello?")
    assert got.text == "hi"
    assert [e["data"]["host"] for e in sink.of_type("host_released")] == ["vast-1"]
