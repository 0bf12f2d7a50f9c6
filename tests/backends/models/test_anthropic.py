"""Anthropic Messages through the SDK, faked at the HTTP transport with documented SSE."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from loopwright.backends.models.anthropic import AnthropicChat, check, create, make_client
from loopwright.backends.models.backend import ChatBackend
from loopwright.backends.models.chat import RetryPolicy
from loopwright.backends.registry import check_spec, parse_spec
from loopwright.errors import UserError
from loopwright.loop import schemas
from loopwright.loop.roles import parse_plan

from .fakes import Recorder, Sleeps, request

MODEL = "claude-sonnet-4-6"


def events(*items: tuple[str, dict[str, Any]]) -> Any:
    text = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in items)
    return lambda _r: httpx.Response(
        200, content=text.encode(), headers={"content-type": "text/event-stream"}
    )


def start(usage: dict[str, int] | None = None) -> tuple[str, dict[str, Any]]:
    u = {"input_tokens": 100, "output_tokens": 1, **(usage or {})}
    msg = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": u,
    }
    return "message_start", {"type": "message_start", "message": msg}


def text_block(i: int, *parts: str) -> list[tuple[str, dict[str, Any]]]:
    out = [
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": i,
                "content_block": {"type": "text", "text": ""},
            },
        )
    ]
    out += [
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": p}},
        )
        for p in parts
    ]
    return [*out, ("content_block_stop", {"type": "content_block_stop", "index": i})]


def tool_block(
    i: int, tid: str, name: str, args: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    raw = json.dumps(args)
    return [
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": i,
                "content_block": {"type": "tool_use", "id": tid, "name": name, "input": {}},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": i,
                "delta": {"type": "input_json_delta", "partial_json": raw[:4]},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": i,
                "delta": {"type": "input_json_delta", "partial_json": raw[4:]},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": i}),
    ]


def end(stop: str = "end_turn", output_tokens: int = 20) -> list[tuple[str, dict[str, Any]]]:
    return [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


def error(status: int, body: Any, headers: dict[str, str] | None = None) -> Any:
    return lambda _r: httpx.Response(status, json=body, headers=headers or {})


def backend(rec: Recorder, sleeps: Sleeps | None = None) -> ChatBackend:
    policy = RetryPolicy(sleep=sleeps or Sleeps())
    return ChatBackend(
        f"anthropic:{MODEL}",
        lambda c, e: AnthropicChat(make_client(c), MODEL, retry=policy),
        client=httpx.AsyncClient(transport=httpx.MockTransport(rec)),
    )


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-secret-key")
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)


async def test_a_streamed_reply_with_cache_usage_is_measured_and_priced() -> None:
    usage = {"cache_read_input_tokens": 1000, "cache_creation_input_tokens": 200}
    rec = Recorder([events(start(usage), *text_block(0, '{"complete"', ": true}"), *end())])
    req, evs, out = request()
    r = await backend(rec).run(req)
    assert r.ok and r.text == '{"complete": true}'
    assert (r.usage.input_tokens, r.usage.output_tokens) == (1300, 20)
    assert r.usage.cost_usd is not None and 0 < r.usage.cost_usd < 0.01
    sent = rec.requests[0]
    assert (
        sent.url.path == "/v1/messages"
        and "sk-ant-test-secret-key" in sent.headers["authorization"]
    )
    body = json.loads(sent.content)
    assert body["stream"] and body["system"][0]["cache_control"] == {"type": "ephemeral"}
    call = evs.of("model_call")[0]
    assert (call["cache_read_tokens"], call["cache_write_tokens"]) == (1000, 200)
    assert "sk-ant" not in json.dumps(evs.items)
    assert "".join(out.parts) == '{"complete": true}'


async def test_a_worker_uses_tools_and_results_go_back_as_tool_results(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old\n")
    rec = Recorder(
        [
            events(
                start(),
                *text_block(0, "Let me fix."),
                *tool_block(
                    1, "tu_1", "edit_file", {"path": "a.txt", "search": "old", "replace": "new"}
                ),
                *end("tool_use"),
            ),
            events(
                start(),
                *tool_block(0, "tu_2", "finish", {"summary": "replaced old"}),
                *end("tool_use"),
            ),
        ]
    )
    req, evs, _ = request("work", tmp_path)
    r = await backend(rec).run(req)
    assert r.ok and r.text == "replaced old"
    assert (tmp_path / "a.txt").read_text() == "new\n"
    second = json.loads(rec.requests[1].content)
    assistant, results = second["messages"][1], second["messages"][2]
    assert assistant["content"][1] == {
        "type": "tool_use",
        "id": "tu_1",
        "name": "edit_file",
        "input": {"path": "a.txt", "search": "old", "replace": "new"},
    }
    assert results["content"][0]["tool_use_id"] == "tu_1" and not results["content"][0]["is_error"]
    assert results["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in json.dumps(second["messages"][:2])
    assert second["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert evs.of("worker_output")[0] == {"text": "Let me fix.", "first": True}


@pytest.mark.parametrize(
    ("status", "kind", "needle"),
    [
        (401, "authentication_error", "check ANTHROPIC_API_KEY"),
        (403, "permission_error", "refused access"),
        (404, "not_found_error", "loopwright models anthropic"),
        (400, "invalid_request_error", "Anthropic error (400, invalid_request_error)"),
    ],
)
async def test_sdk_errors_become_failed_responses(status: int, kind: str, needle: str) -> None:
    rec = Recorder([error(status, {"type": "error", "error": {"type": kind, "message": "nope"}})])
    r = await backend(rec).run(request()[0])
    assert not r.ok and needle in (r.error or "") and "nope" in (r.error or "")
    assert len(rec.requests) == 1 and "sk-ant" not in (r.error or "")


async def test_rate_limits_and_overload_are_retried_honouring_retry_after() -> None:
    sleeps = Sleeps()
    rec = Recorder(
        [
            error(
                429,
                {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
                {"retry-after": "3"},
            ),
            error(529, {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}),
            events(start(), *text_block(0, "ok"), *end()),
        ]
    )
    req, evs, _ = request()
    r = await backend(rec, sleeps).run(req)
    assert r.ok and r.text == "ok"
    assert sleeps.delays == [3.0, 1.0]
    warnings = [w["message"] for w in evs.of("warning")]
    assert "rate limit (429" in warnings[0] and "overloaded (529" in warnings[1]


async def test_an_overload_error_event_mid_stream_is_retried() -> None:
    sleeps = Sleeps()
    boom = (
        "error",
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    )
    rec = Recorder(
        [
            events(start(), *text_block(0, "par")[:2], boom),
            events(start(), *text_block(0, "whole"), *end()),
        ]
    )
    r = await backend(rec, sleeps).run(request()[0])
    assert r.ok and r.text == "whole" and len(sleeps.delays) == 1


async def test_a_timeout_and_a_refused_connection_are_failed_responses() -> None:
    def hang(_r: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    r = await backend(Recorder([hang])).run(request()[0])
    assert not r.ok and "timed out" in (r.error or "") and "gave up after 4" in (r.error or "")

    def refuse(_r: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    r = await backend(Recorder([refuse])).run(request()[0])
    assert not r.ok and "not reachable" in (r.error or "")


def test_the_spec_needs_a_model_and_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_spec(f"anthropic:{MODEL}", "planner") == f"anthropic:{MODEL}"
    with pytest.raises(UserError, match="takes no @host"):
        check(parse_spec("anthropic:m@x"), "planner")
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(UserError, match="ANTHROPIC_API_KEY is not set"):
        create(parse_spec(f"anthropic:{MODEL}"))


async def test_a_deprecated_model_is_reported_once_as_a_warning_event() -> None:
    # The SDK's own DeprecationWarning (no private SDK names read): claude-sonnet-4-5 is on
    # its list of deprecated models in the pinned anthropic 2.x.
    old = "claude-sonnet-4-5"
    rec = Recorder([events(start(), *text_block(0, "ok"), *end())])
    policy = RetryPolicy(sleep=Sleeps())
    chat = ChatBackend(
        f"anthropic:{old}",
        lambda c, e: AnthropicChat(make_client(c), old, retry=policy),
        client=httpx.AsyncClient(transport=httpx.MockTransport(rec)),
    )
    req, evs, _ = request()
    assert (await chat.run(req)).ok
    notes = [w["message"] for w in evs.of("warning")]
    assert len(notes) == 1 and "deprecated" in notes[0] and old in notes[0]


PLAN = {"subgoals": [{"id": "s1", "title": "fix add", "instructions": "make add() add"}]}


async def test_the_response_schema_is_a_forced_tool_whose_input_is_the_answer() -> None:
    rec = Recorder([events(start(), *tool_block(0, "tu_1", "plan", PLAN), *end("tool_use"))])
    r = await backend(rec).run(request("plan", schema=schemas.plan(3))[0])
    assert r.ok and [s.title for s in parse_plan(r.text, 3)] == ["fix add"]
    body = json.loads(rec.requests[0].content)
    assert body["tool_choice"] == {"type": "tool", "name": "plan"}
    [tool] = body["tools"]
    assert tool["name"] == "plan" and tool["input_schema"] == schemas.plan(3)


async def test_a_server_refusing_the_forced_tool_is_asked_plainly_once_and_remembered() -> None:
    refused = error(
        400,
        {"type": "error", "error": {"type": "invalid_request_error",
                                    "message": "tool_choice: Extra inputs are not permitted"}},
    )  # fmt: skip
    answer = events(start(), *text_block(0, json.dumps(PLAN)), *end())
    rec = Recorder([refused, answer])
    b = backend(rec)
    req, evs, _ = request("plan", schema=schemas.plan(3))
    first, second = await b.run(req), await b.run(request("plan", schema=schemas.plan(3))[0])
    assert first.ok and second.ok and parse_plan(first.text, 3)[0].id == "s1"
    sent = [json.loads(x.content) for x in rec.requests]
    assert ["tool_choice" in body for body in sent] == [True, False, False]
    assert "no forced tool here" in evs.of("warning")[0]["message"]
