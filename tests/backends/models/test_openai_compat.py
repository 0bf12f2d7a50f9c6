"""OpenAI-compatible chat completions: SSE streaming, tools, usage, errors, retries."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from loopwright.backends.models.backend import ChatBackend
from loopwright.backends.models.chat import RetryPolicy
from loopwright.backends.models.openai_compat import OpenAIChat, check, create
from loopwright.backends.registry import check_spec, parse_spec
from loopwright.backends.settings import Endpoint
from loopwright.errors import UserError
from loopwright.loop import schemas
from loopwright.loop.roles import parse_plan

from .fakes import Recorder, Sleeps, error, request, sse

EP = Endpoint("openai", "https://api.example.test/v1", "sk-test-secret-123", "OPENAI_API_KEY")


def backend(rec: Recorder, sleeps: Sleeps | None = None, endpoint: Endpoint = EP) -> ChatBackend:
    policy = RetryPolicy(sleep=sleeps or Sleeps())
    return ChatBackend(
        "openai:gpt-4.1",
        lambda c, e: OpenAIChat(c, endpoint, "gpt-4.1", retry=policy),
        client=rec.client(),
    )


def text_chunks(*parts: str, usage: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    chunks: list[dict[str, Any]] = [{"choices": [{"delta": {"content": p}}]} for p in parts]
    chunks.append({"choices": [{"delta": {}, "finish_reason": "stop"}]})
    chunks.append(
        {"choices": [], "usage": usage or {"prompt_tokens": 1000, "completion_tokens": 100}}
    )
    return chunks


def tool_call(idx: int, call_id: str, name: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    raw = json.dumps(args)
    head = {
        "index": idx,
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": ""},
    }
    return [
        {"choices": [{"delta": {"tool_calls": [head]}}]},
        {
            "choices": [
                {"delta": {"tool_calls": [{"index": idx, "function": {"arguments": raw[:5]}}]}}
            ]
        },
        {
            "choices": [
                {"delta": {"tool_calls": [{"index": idx, "function": {"arguments": raw[5:]}}]}}
            ]
        },
    ]


async def test_a_streamed_reply_is_joined_measured_and_priced() -> None:
    rec = Recorder([sse(*text_chunks('{"ok"', ": true}"))])
    req, events, out = request()
    r = await backend(rec).run(req)
    assert r.ok and r.text == '{"ok": true}'
    assert (r.usage.input_tokens, r.usage.output_tokens) == (1000, 100)
    assert r.usage.cost_usd is not None and r.usage.cost_usd > 0
    body = rec.bodies()[0]
    assert body["stream"] and body["messages"][0] == {"role": "system", "content": "sys"}
    assert rec.requests[0].headers["authorization"] == "Bearer sk-test-secret-123"
    call = events.of("model_call")[0]
    assert call["provider"] == "openai" and call["input_tokens"] == 1000
    assert "sk-test" not in json.dumps(events.items)
    assert "".join(out.parts) == '{"ok": true}'


async def test_openrouter_cost_is_taken_from_its_usage() -> None:
    ep = Endpoint("openrouter", "https://or.example.test/api/v1", "k" * 20, "OPENROUTER_API_KEY")
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "cost": 0.0123}
    rec = Recorder([sse(*text_chunks("hi", usage=usage))])
    r = await backend(rec, endpoint=ep).run(request()[0])
    assert r.usage.cost_usd == pytest.approx(0.0123)
    assert rec.bodies()[0]["usage"] == {"include": True}


async def test_an_unknown_model_on_a_custom_endpoint_costs_unknown_not_zero() -> None:
    ep = Endpoint("vllm", "http://127.0.0.1:9/v1")
    r = await backend(Recorder([sse(*text_chunks("hi"))]), endpoint=ep).run(request()[0])
    assert r.ok and r.usage.cost_usd is None


@pytest.mark.parametrize(
    ("status", "needle"),
    [
        (401, "check OPENAI_API_KEY"),
        (403, "refused access"),
        (404, "loopwright models openai"),
        (400, "answered 400"),
    ],
)
async def test_http_errors_become_failed_responses_that_say_how_to_fix(
    status: int, needle: str
) -> None:
    rec = Recorder([error(status, {"error": {"message": "nope"}})])
    r = await backend(rec).run(request()[0])
    assert not r.ok and needle in (r.error or "") and "nope" in (r.error or "")
    assert len(rec.requests) == 1
    assert "sk-test" not in (r.error or "")


async def test_a_429_is_retried_after_the_time_the_server_asks_for() -> None:
    sleeps = Sleeps()
    rec = Recorder(
        [
            error(429, {"error": {"message": "slow down"}}, {"retry-after": "7"}),
            error(503, {"error": {"message": "busy"}}, {"retry-after-ms": "250"}),
            sse(*text_chunks("done")),
        ]
    )
    req, events, _ = request()
    r = await backend(rec, sleeps).run(req)
    assert r.ok and r.text == "done"
    assert sleeps.delays == [7.0, 0.25]
    assert len(events.of("warning")) == 2 and "rate limit" in events.of("warning")[0]["message"]


async def test_retries_stop_after_the_policy_attempts() -> None:
    sleeps = Sleeps()
    rec = Recorder([error(500, {"error": "boom"})])
    r = await backend(rec, sleeps).run(request()[0])
    assert not r.ok and "gave up after 4 attempts" in (r.error or "")
    assert sleeps.delays == [0.5, 1.0, 2.0]


async def test_an_error_in_the_middle_of_the_stream_fails_the_call() -> None:
    chunks = [
        {"choices": [{"delta": {"content": "par"}}]},
        {"error": {"message": "context too long", "code": 400}},
    ]
    r = await backend(Recorder([sse(*chunks, done=False)])).run(request()[0])
    assert not r.ok and "mid-stream: context too long" in (r.error or "")


async def test_a_refused_connection_fails_fast_naming_the_url() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ep = Endpoint("local", f"http://127.0.0.1:{port}/v1")
    b = ChatBackend("openai:m@local", lambda c, e: OpenAIChat(c, ep, "m"))
    r = await b.run(request()[0])
    assert not r.ok and f"not reachable at http://127.0.0.1:{port}/v1" in (r.error or "")


async def test_a_worker_edits_files_through_tool_calls(tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    rec = Recorder(
        [
            sse(*tool_call(0, "c1", "read_file", {"path": "calc.py"}), *text_chunks()),
            sse(
                *tool_call(
                    0, "c2", "edit_file", {"path": "calc.py", "search": "a - b", "replace": "a + b"}
                ),
                *tool_call(
                    1,
                    "c3",
                    "run_command",
                    {"argv": ["python", "-c", "import calc; print(calc.add(2, 3))"]},
                ),
                *text_chunks(),
            ),
            sse(*tool_call(0, "c4", "finish", {"summary": "fixed add"}), *text_chunks()),
        ]
    )
    req, events, out = request("work", tmp_path)
    r = await backend(rec).run(req)
    assert r.ok, r.error
    assert r.text == "fixed add"
    assert "a + b" in (tmp_path / "calc.py").read_text()
    second, third = rec.bodies()[1], rec.bodies()[2]
    assert second["messages"][-1]["role"] == "tool" and "a - b" in second["messages"][-1]["content"]
    assert {t["function"]["name"] for t in second["tools"]} >= {"edit_file", "finish"}
    assert third["messages"][-1]["content"].startswith("exit 0\n5")
    assert r.usage.input_tokens == 3000 and len(events.of("model_call")) == 3
    assert "[tool] edit_file" in "".join(out.parts)


def test_specs_are_checked_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(UserError, match="OPENAI_API_KEY is not set"):
        check_spec("openai:gpt-4.1", "worker")
    with pytest.raises(UserError, match="no OpenAI-compatible endpoint named 'nowhere'"):
        check(parse_spec("openai:m@nowhere"), "worker")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    assert check_spec("openai:gpt-4.1", "worker") == "openai:gpt-4.1"
    assert create(parse_spec("openai:gpt-4.1")).spec == "openai:gpt-4.1"


PLAN = {"subgoals": [{"id": "s1", "title": "fix add", "instructions": "make add() add"}]}


async def test_the_response_schema_goes_as_response_format_and_the_plan_comes_back() -> None:
    rec = Recorder([sse(*text_chunks(json.dumps(PLAN)))])
    r = await backend(rec).run(request("plan", schema=schemas.plan(3))[0])
    assert r.ok and [s.title for s in parse_plan(r.text, 3)] == ["fix add"]
    wanted = {"name": "plan", "schema": schemas.plan(3), "strict": False}
    assert rec.bodies()[0]["response_format"] == {"type": "json_schema", "json_schema": wanted}


async def test_a_server_refusing_response_format_is_asked_plainly_once_and_remembered() -> None:
    refused = error(400, {"error": {"message": "response_format json_schema is not supported"}})
    rec = Recorder([refused, sse(*text_chunks(json.dumps(PLAN)))])
    b = backend(rec)
    req, events, _ = request("plan", schema=schemas.plan(3))
    first, second = await b.run(req), await b.run(request("plan", schema=schemas.plan(3))[0])
    assert first.ok and second.ok and parse_plan(first.text, 3)[0].id == "s1"
    assert ["response_format" in body for body in rec.bodies()] == [True, False, False]
    assert not b.capabilities.structured_output
    [warning] = events.of("warning")
    assert "no structured output here" in warning["message"]


async def test_a_400_about_something_else_is_a_failed_call_not_a_refused_schema() -> None:
    rec = Recorder([error(400, {"error": {"message": "maximum context length exceeded"}})])
    b = backend(rec)
    r = await b.run(request("plan", schema=schemas.plan(3))[0])
    assert not r.ok and "maximum context length" in (r.error or "")
    assert len(rec.requests) == 1 and b.capabilities.structured_output
