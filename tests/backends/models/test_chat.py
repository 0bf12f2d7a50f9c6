"""The shared chat backend: streaming to the sink, timeouts, usage sums, fallbacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from loopwright.backends.base import JsonSchema, Usage
from loopwright.backends.models import chat as chat_mod
from loopwright.backends.models.backend import ChatBackend
from loopwright.backends.models.chat import (
    Forwarder,
    Message,
    OnText,
    RetryPolicy,
    ToolSpec,
    Turn,
)
from loopwright.errors import ProviderError, ToolsUnsupported

from .fakes import request


class Scripted:
    """A Chat that plays turns from a list (a turn may be an exception to raise)."""

    provider = "fake"
    model = "m"

    def __init__(self, *turns: Turn | Exception, retry: RetryPolicy | None = None) -> None:
        self.turns = list(turns)
        self.seen: list[tuple[list[ToolSpec], list[Message]]] = []
        self.schemas: list[JsonSchema | None] = []
        self.supports_tools = True
        self.retry = retry or RetryPolicy()

    async def turn(
        self,
        system: str,
        messages: list[Message],
        tools: list[ToolSpec],
        on_text: OnText,
        schema: JsonSchema | None = None,
    ) -> Turn:
        self.seen.append((tools, list(messages)))
        self.schemas.append(schema)
        item = self.turns.pop(0)
        if isinstance(item, Exception):
            raise item
        on_text(item.text)
        return item


def backend(chat: Any) -> ChatBackend:
    return ChatBackend("fake:m", lambda c, e: chat, client=object())


def test_the_first_delta_goes_to_the_sink_at_once_and_the_rest_in_batches() -> None:
    req, events, out = request("work")
    forward = Forwarder(req)
    forward("a")
    assert events.of("worker_output") == [{"text": "a", "first": True}]
    for _ in range(10):
        forward("b")
    assert len(events.of("worker_output")) == 1  # batched, not one event per token
    forward("c" * (chat_mod.FLUSH_CHARS - 10))
    assert events.of("worker_output")[1]["text"] == "b" * 10 + "c" * (chat_mod.FLUSH_CHARS - 10)
    forward("d")
    forward.flush()
    assert events.of("worker_output")[2] == {"text": "d"}
    assert "".join(out.parts) == "a" + "b" * 10 + "c" * (chat_mod.FLUSH_CHARS - 10) + "d"


def test_a_key_streamed_in_deltas_is_never_cut_across_two_events() -> None:
    key = "sk-ant-api03-" + "k" * 40
    req, events, _ = request("work")
    forward = Forwarder(req)
    forward("Reading .env ")
    filler = "word " * ((chat_mod.FLUSH_CHARS - 20) // 5)
    forward(filler + key[:20])  # the batch is full in the middle of the key
    forward(key[20:] + " and more")
    forward.flush()
    texts = [e["text"] for e in events.of("worker_output")]
    assert texts == ["Reading .env ", filler, key + " and more"]  # the key's start waited


def test_a_preview_cut_from_a_long_batch_starts_at_a_word_not_inside_a_key() -> None:
    key = "sk-ant-api03-" + "k" * 40
    req, events, _ = request("work")
    forward = Forwarder(req)
    forward("first ")
    forward("before " + key + " " + "z " * (chat_mod.PREVIEW_CHARS // 2 - 10))
    forward.flush()
    preview = events.of("worker_output")[-1]["text"]
    assert preview.startswith("z z ") and "k" not in preview  # no tail of the key


async def test_a_call_that_outlasts_the_timeout_is_a_failed_response() -> None:
    async def slow(_delay: float) -> None:
        await anyio.sleep(30)

    busy = ProviderError("busy", retryable=True)
    chat = Scripted(busy, retry=RetryPolicy(sleep=slow))
    req = request(timeout=0.05)[0]
    with anyio.fail_after(5):
        r = await backend(chat).run(req)
    assert not r.ok and "no answer within 0.05s (timeout)" in (r.error or "")


async def test_usage_is_summed_and_one_unknown_price_makes_the_cost_unknown(tmp_path: Path) -> None:
    from loopwright.backends.models.chat import ToolCall

    chat = Scripted(
        Turn("", [ToolCall("1", "list_files", {})], Usage(10, 1, 0.5)),
        Turn("done", [], Usage(20, 2, None)),
    )
    req, events, _ = request("work", tmp_path)
    r = await backend(chat).run(req)
    assert r.ok and r.text == "done"
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.cost_usd) == (30, 3, None)
    assert [c["cost_usd"] for c in events.of("model_call")] == [0.5, None]
    assert [c["purpose"] for c in events.of("model_call")] == ["work", "work"]
    assert chat.schemas == [None, None]  # the tool loop asks for no response schema


async def test_a_model_refusing_tools_falls_back_to_edit_blocks(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("one\n")
    block = "f.txt\n<<<<<<< SEARCH\none\n=======\ntwo\n>>>>>>> REPLACE\n"
    chat = Scripted(ToolsUnsupported("m does not take tools"), Turn(block + "Done."))
    req, events, _ = request("work", tmp_path, prompt="edit f.txt")
    r = await backend(chat).run(req)
    assert r.ok and (tmp_path / "f.txt").read_text() == "two\n"
    assert chat.seen[1][0] == [] and not chat.supports_tools
    assert "falling back to edit blocks" in events.of("warning")[0]["message"]


async def test_failed_edit_blocks_are_sent_back_once_then_the_call_fails(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("one\n")
    bad = Turn("f.txt\n<<<<<<< SEARCH\nzero\n=======\ntwo\n>>>>>>> REPLACE\n")
    chat = Scripted(ToolsUnsupported("no tools"), bad, bad)
    r = await backend(chat).run(request("work", tmp_path)[0])
    assert not r.ok and "edit blocks failed: f.txt" in (r.error or "")
    assert "These edit blocks failed" in chat.seen[2][1][-1].text


async def test_a_worker_without_finish_stops_at_the_step_limit(tmp_path: Path) -> None:
    from loopwright.backends.models.chat import ToolCall

    again = Turn("", [ToolCall("1", "list_files", {})])
    chat = Scripted(*[again] * 3)
    b = ChatBackend("fake:m", lambda c, e: chat, client=object(), steps=3)
    r = await b.run(request("work", tmp_path)[0])
    assert not r.ok and "stopped after 3 tool steps without finish" in (r.error or "")
