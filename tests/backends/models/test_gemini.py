"""Gemini through google-genai, faked at the HTTP transport with streamGenerateContent SSE."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("google.genai")

from loopwright.backends.models.backend import ChatBackend
from loopwright.backends.models.chat import RetryPolicy
from loopwright.backends.models.gemini import GeminiChat, make_client
from loopwright.backends.registry import check_spec
from loopwright.errors import UserError
from loopwright.loop import schemas
from loopwright.loop.roles import parse_plan

from .fakes import Recorder, Sleeps, error, request

MODEL = "gemini-2.5-pro"


def chunk(
    parts: list[dict[str, Any]], finish: str | None = None, usage: bool = False
) -> dict[str, Any]:
    c: dict[str, Any] = {"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}]}
    if finish:
        c["candidates"][0]["finishReason"] = finish
    if usage:
        c["usageMetadata"] = {
            "promptTokenCount": 1000,
            "candidatesTokenCount": 100,
            "totalTokenCount": 1100,
        }
    return c


def sse(*chunks: dict[str, Any]) -> Any:
    body = "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks)
    return lambda _r: httpx.Response(
        200, content=body.encode(), headers={"content-type": "text/event-stream"}
    )


def backend(rec: Recorder, sleeps: Sleeps | None = None) -> ChatBackend:
    policy = RetryPolicy(sleep=sleeps or Sleeps())
    return ChatBackend(f"gemini:{MODEL}", lambda c, e: GeminiChat(make_client(c), MODEL, policy),
                       client=rec.client())  # fmt: skip


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "gem-test-secret-key")
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)


async def test_a_streamed_reply_with_usage_metadata() -> None:
    rec = Recorder([sse(chunk([{"text": "hel"}]), chunk([{"text": "lo"}], "STOP", usage=True))])
    req, events, _ = request()
    r = await backend(rec).run(req)
    assert r.ok and r.text == "hello"
    assert (r.usage.input_tokens, r.usage.output_tokens) == (1000, 100)
    assert r.usage.cost_usd is not None and r.usage.cost_usd > 0
    sent = rec.requests[0]
    assert sent.url.path.endswith(f"models/{MODEL}:streamGenerateContent")
    body = json.loads(sent.content)
    assert body["systemInstruction"]["parts"][0]["text"] == "sys"
    assert "gem-test" not in json.dumps(events.items)


async def test_a_worker_calls_functions_and_gets_their_results(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x\n")
    fc = {"functionCall": {"name": "read_file", "args": {"path": "a.txt"}}}
    done = {"functionCall": {"name": "finish", "args": {"summary": "read it"}}}
    rec = Recorder([sse(chunk([fc], "STOP", usage=True)), sse(chunk([done], "STOP", usage=True))])
    r = await backend(rec).run(request("work", tmp_path)[0])
    assert r.ok and r.text == "read it"
    second = json.loads(rec.requests[1].content)
    reply = second["contents"][-1]["parts"][0]["functionResponse"]
    assert reply == {"name": "read_file", "response": {"result": "x\n"}}
    assert second["tools"][0]["functionDeclarations"][0]["name"] == "read_file"


async def test_429_is_retried_and_a_bad_key_is_explained() -> None:
    sleeps = Sleeps()
    quota = {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
    rec = Recorder([error(429, quota, {"retry-after": "2"}), sse(chunk([{"text": "ok"}], "STOP"))])
    r = await backend(rec, sleeps).run(request()[0])
    assert r.ok and r.text == "ok" and sleeps.delays == [2.0]
    bad = {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                     "status": "INVALID_ARGUMENT"}}  # fmt: skip
    r = await backend(Recorder([error(400, bad)])).run(request()[0])
    assert not r.ok and "check GEMINI_API_KEY" in (r.error or "")


def test_the_spec_needs_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_spec(f"gemini:{MODEL}", "reviewer") == f"gemini:{MODEL}"
    monkeypatch.delenv("GEMINI_API_KEY")
    with pytest.raises(UserError, match="GEMINI_API_KEY is not set"):
        check_spec(f"gemini:{MODEL}", "reviewer")


PLAN = {"subgoals": [{"id": "s1", "title": "fix add", "instructions": "make add() add"}]}


async def test_the_response_schema_asks_for_json_in_that_schema() -> None:
    rec = Recorder([sse(chunk([{"text": json.dumps(PLAN)}], "STOP", usage=True))])
    r = await backend(rec).run(request("plan", schema=schemas.plan(3))[0])
    assert r.ok and [s.title for s in parse_plan(r.text, 3)] == ["fix add"]
    config = json.loads(rec.requests[0].content)["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == schemas.plan(3)
