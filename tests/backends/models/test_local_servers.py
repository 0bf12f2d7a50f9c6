"""What driving a real llama.cpp server found, each fixed at the transport: output caps,
truncation, servers that drop or refuse tools, and replies without usage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from loopwright.backends.models.backend import ChatBackend
from loopwright.backends.models.chat import RetryPolicy
from loopwright.backends.models.limits import output_caps
from loopwright.backends.models.openai_compat import OpenAIChat
from loopwright.backends.settings import OPENAI_URL, Endpoint
from loopwright.loop import schemas

from .fake_ollama import FakeOllama, say
from .fakes import Recorder, Sleeps, error, request, sse
from .test_ollama import backend as ollama_backend

LLAMA = Endpoint("llama", "http://127.0.0.1:8080/v1", None, "", free=True)
BLOCK = "f.txt\n<<<<<<< SEARCH\none\n=======\ntwo\n>>>>>>> REPLACE\nDone."
TIMINGS = {
    "prompt_n": 355,
    "prompt_ms": 507.1,
    "prompt_per_second": 700.0,
    "predicted_n": 40,
    "predicted_ms": 519.5,
    "predicted_per_second": 77.0,
}


def llama(
    rec: Recorder, sleeps: Sleeps | None = None, endpoint: Endpoint = LLAMA, **kw: Any
) -> ChatBackend:
    policy = RetryPolicy(sleep=sleeps or Sleeps())
    return ChatBackend(
        "openai:gemma@llama",
        lambda c, e: OpenAIChat(c, endpoint, "gemma", retry=policy),
        client=rec.client(),
        **kw,
    )


def answer(text: str, stop: str = "stop", usage: bool = True, **last: Any) -> list[Any]:
    chunks: list[Any] = [{"choices": [{"delta": {"content": text}}]}]
    chunks.append({"choices": [{"delta": {}, "finish_reason": stop}], **last})
    if usage:
        chunks.append({"choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": 9}})
    return chunks


async def test_each_turn_asks_for_the_output_cap_of_its_purpose() -> None:
    rec = Recorder([sse(*answer('{"subgoals": []}'))])
    b = llama(rec, output_caps={**output_caps({}), "plan": 321})
    await b.run(request("plan", schema=schemas.plan(3))[0])
    await b.run(request("review")[0])
    plan, review = rec.bodies()
    assert plan["max_tokens"] == 321 and review["max_tokens"] == 2048
    assert plan["stream_options"] == {"include_usage": True}


def test_the_output_caps_are_configurable_per_purpose() -> None:
    caps = output_caps({"max_tokens": {"work": 2000}})
    assert caps["work"] == 2000 and caps["plan"] == 4096


async def test_openais_own_api_gets_max_completion_tokens_instead() -> None:
    rec = Recorder([sse(*answer("ok"))])
    official = Endpoint("openai", OPENAI_URL, "sk-x", "OPENAI_API_KEY")
    await llama(rec, endpoint=official).run(request("review")[0])
    body = rec.bodies()[0]
    assert body["max_completion_tokens"] == 2048 and "max_tokens" not in body


async def test_an_answer_cut_at_the_cap_is_marked_truncated_with_a_warning() -> None:
    rec = Recorder([sse(*answer('{"subgoals": [', stop="length"))])
    req, events, _ = request("plan")
    r = await llama(rec).run(req)
    [call] = events.of("model_call")
    assert call["truncated"] is True and call["max_tokens"] == 4096 and call["stop"] == "length"
    assert r.text == '{"subgoals": ['
    assert "cut at the output cap of 4096 tokens" in events.of("warning")[0]["message"]


async def test_a_server_that_drops_tools_gets_edit_blocks_and_the_file_changes(
    tmp_path: Path,
) -> None:
    (tmp_path / "f.txt").write_text("one\n")
    rec = Recorder([sse(*answer("I changed f.txt as asked.")), sse(*answer(BLOCK))])
    req, events, _ = request("work", tmp_path, prompt="edit f.txt")
    b = llama(rec)
    r = await b.run(req)
    assert r.ok, r.error
    assert (tmp_path / "f.txt").read_text() == "two\n"
    first, second = rec.bodies()
    assert "tools" in first and "tools" not in second
    assert "changed nothing" in events.of("warning")[0]["message"]
    await b.run(request("work", tmp_path, prompt="edit f.txt")[0])
    assert "tools" not in rec.bodies()[2]  # remembered: no tools asked of it again


async def test_a_worker_that_calls_no_tool_and_changes_nothing_is_not_ok(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("one\n")
    rec = Recorder([sse(*answer("All done, nothing to see."))])
    r = await llama(rec).run(request("work", tmp_path)[0])
    assert not r.ok
    assert "no edit block and no file was changed" in (r.error or "")
    assert (tmp_path / "f.txt").read_text() == "one\n"


async def test_tools_param_requires_jinja_is_tools_unsupported_whatever_the_status(
    tmp_path: Path,
) -> None:
    (tmp_path / "f.txt").write_text("one\n")
    jinja = {"error": {"code": 500, "message": "tools param requires --jinja flag",
                       "type": "server_error"}}  # fmt: skip
    sleeps = Sleeps()
    rec = Recorder([error(500, jinja), sse(*answer(BLOCK))])
    req, events, _ = request("work", tmp_path, prompt="edit f.txt")
    r = await llama(rec, sleeps).run(req)
    assert r.ok, r.error
    assert len(rec.requests) == 2 and sleeps.delays == []  # not retried
    assert "falling back to edit blocks" in events.of("warning")[0]["message"]
    assert (tmp_path / "f.txt").read_text() == "two\n"


async def test_a_reply_without_usage_records_an_estimate_marked_as_such() -> None:
    rec = Recorder([sse(*answer("a fairly long answer " * 10, usage=False))])
    req, events, _ = request("review", prompt="judge this " * 40)
    r = await llama(rec).run(req)
    [call] = events.of("model_call")
    assert call["usage_estimated"] is True
    assert call["input_tokens"] > 100 and call["output_tokens"] > 40
    assert (r.usage.input_tokens, r.usage.output_tokens) == (
        call["input_tokens"],
        call["output_tokens"],
    )


async def test_llama_cpp_timings_and_its_context_size_go_into_the_model_call_event() -> None:
    props = {"default_generation_settings": {"n_ctx": 8192}, "model_alias": "gemma"}
    rec = Recorder([sse(*answer("ok", timings=TIMINGS)), lambda r: httpx.Response(200, json=props),
                    sse(*answer("ok", timings=TIMINGS))])  # fmt: skip
    endpoint = Endpoint("llama", "http://127.0.0.1:8081/v1", None, "", free=True)
    b = llama(rec, endpoint=endpoint)
    for _ in range(2):
        req, events, _ = request("review")
        await b.run(req)
        [call] = events.of("model_call")
        assert call["timings"] == TIMINGS and "usage_estimated" not in call
        assert call["context"] == 8192
    paths = [r.url.path for r in rec.requests]
    assert paths == ["/v1/chat/completions", "/props", "/v1/chat/completions"]  # asked once


async def test_ollama_gets_the_output_cap_as_num_predict(tmp_path: Path) -> None:
    fake = FakeOllama(chats=[say('{"subgoals": []}')])
    await ollama_backend(fake).run(request("plan", schema=schemas.plan(2))[0])
    assert fake.bodies("/api/chat")[0]["options"]["num_predict"] == 4096
