"""Ollama's native API: NDJSON chat, profiles, num_ctx, truncation, hosts, pull, errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from loopwright.backends.models.backend import ChatBackend
from loopwright.backends.models.ollama import OllamaChat, create
from loopwright.backends.models.ollama_api import read_profiles
from loopwright.backends.registry import check_spec, parse_spec
from loopwright.backends.settings import OllamaHost, ollama_host
from loopwright.errors import UserError
from loopwright.loop import schemas
from loopwright.loop.roles import parse_plan

from .fake_ollama import FakeOllama, call, say
from .fakes import request

HOST = OllamaHost("local", "http://ollama.test:11434")


def backend(fake: FakeOllama, host: OllamaHost = HOST, max_ctx: int = 32_768) -> ChatBackend:
    return ChatBackend(
        f"ollama:m@{host.name}",
        lambda c, e: OllamaChat(c, host, "m", max_ctx=max_ctx),
        client=fake.client(),
        host=host.name,
    )


async def test_a_streamed_reply_records_its_profile_and_a_fixed_num_ctx() -> None:
    fake = FakeOllama(chats=[say('{"subgoals": []}')])
    req, events, _ = request()
    b = backend(fake)
    r1 = await b.run(req)
    r2 = await b.run(request()[0])
    assert r1.ok and r1.text == '{"subgoals": []}' and r2.ok
    assert (r1.usage.input_tokens, r1.usage.output_tokens, r1.usage.cost_usd) == (400, 50, 0.0)
    chats = fake.bodies("/api/chat")
    assert [c["options"]["num_ctx"] for c in chats] == [32_768, 32_768]
    assert chats[0]["stream"] is True and chats[0]["messages"][0]["role"] == "system"
    assert len(fake.bodies("/api/show")) == 1  # learned once, kept fixed
    p = events.of("model_call")[0]["profile"]
    assert p["prompt_tps"] == 2000.0 and p["gen_tps"] == 50.0
    assert (p["load_duration"], p["context_length"], p["version"]) == (
        500_000_000,
        131_072,
        "0.9.0",
    )
    saved = read_profiles("m")
    assert len(saved) == 2 and saved[0]["host"] == "local" and saved[0]["eval_count"] == 50


async def test_missing_timings_count_as_zero() -> None:
    final = {"model": "m", "message": {"role": "assistant", "content": "x"}, "done": True}
    r = await backend(FakeOllama(chats=[[final]])).run(request()[0])
    assert r.ok and (r.usage.input_tokens, r.usage.output_tokens) == (0, 0)
    assert read_profiles()[0]["gen_tps"] is None


async def test_an_error_line_in_the_middle_of_the_stream_fails_the_call() -> None:
    lines = [*say("part")[:-1], {"error": "model runner has unexpectedly stopped"}]
    r = await backend(FakeOllama(chats=[lines])).run(request()[0])
    assert not r.ok and "mid-stream: model runner has unexpectedly stopped" in (r.error or "")


async def test_a_model_missing_on_the_host_says_to_pull_it() -> None:
    fake = FakeOllama(models={"other"})
    r = await backend(fake).run(request()[0])
    assert not r.ok and "model m not on host local" in (r.error or "")
    assert "run `ollama pull m`" in (r.error or "")


async def test_a_host_with_auto_pull_pulls_the_model_with_progress_events() -> None:
    fake = FakeOllama(models=set(), chats=[say("ok")])
    host = OllamaHost("gpu1", "http://gpu.test", auto_pull=True)
    progress: list[dict[str, object]] = []
    b = ChatBackend(
        "ollama:m@gpu1",
        lambda c, e: OllamaChat(c, host, "m", progress=progress.append),
        client=fake.client(),
    )
    r = await b.run(request()[0])
    assert r.ok and r.text == "ok"
    assert [p["status"] for p in progress] == [
        "pulling manifest",
        "downloading",
        "downloading",
        "success",
    ]


async def test_a_refused_connection_names_the_host_and_fails_fast() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    host = OllamaHost("gpu1", f"http://127.0.0.1:{port}")
    b = ChatBackend("ollama:m@gpu1", lambda c, e: OllamaChat(c, host, "m"))
    r = await b.run(request()[0])
    assert not r.ok
    assert f"Ollama not reachable at http://127.0.0.1:{port} (host 'gpu1')" in (r.error or "")


async def test_a_silently_truncated_prompt_is_reported_as_a_warning() -> None:
    fake = FakeOllama(chats=[say("ok", prompt_eval_count=2048)], context_length=4096)
    req, events, _ = request(prompt="word " * 8000)
    r = await backend(fake, max_ctx=4096).run(req)
    assert r.ok
    warning = events.of("warning")[0]["message"]
    assert "truncated" in warning and "2048 evaluated" in warning and "num_ctx 4096" in warning


async def test_a_long_cached_conversation_is_not_mistaken_for_truncation() -> None:
    fake = FakeOllama(chats=[say("ok", prompt_eval_count=10)])
    req, events, _ = request(prompt="word " * 8000)
    assert (await backend(fake).run(req)).ok
    assert events.of("warning") == []


async def test_a_remote_host_from_the_config_sends_its_auth_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "loopwright.toml"
    cfg.write_text(
        '[ollama.hosts.gpu1]\nurl = "https://gpu1.test/"\ntoken_env = "GPU1_TOKEN"\n'
        "usd_per_hour = 3.6\n"
    )
    monkeypatch.setenv("LOOPWRIGHT_CONFIG", str(cfg))
    monkeypatch.setenv("GPU1_TOKEN", "tok-secret-value")
    assert check_spec("ollama:qwen2.5-coder:32b@gpu1", "worker") == "ollama:qwen2.5-coder:32b@gpu1"
    fake = FakeOllama(models={"qwen2.5-coder:32b"}, chats=[say("hi")])
    b = create(parse_spec("ollama:qwen2.5-coder:32b@gpu1"), client=fake.client())
    req, events, _ = request()
    r = await b.run(req)
    assert r.ok and r.usage.cost_usd == pytest.approx(0.002)  # 2 s at $3.60/h
    assert all(h["authorization"] == "Bearer tok-secret-value" for _, _, h in fake.requests)
    assert "tok-secret" not in json.dumps(events.items)
    assert ollama_host("gpu1").auth == "bearer"
    with pytest.raises(UserError, match="no Ollama host named 'gpu9'"):
        check_spec("ollama:m@gpu9", "worker")


def test_ollama_host_env_sets_the_local_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0")
    assert ollama_host(None).url == "http://0.0.0.0:11434"
    monkeypatch.setenv("OLLAMA_HOST", "http://box:1234/")
    assert ollama_host("local").url == "http://box:1234"


async def test_a_worker_edits_the_repo_through_native_tool_calls(tmp_path: Path) -> None:
    (tmp_path / "greet.py").write_text("print('helo')\n")
    fake = FakeOllama(
        chats=[
            call("edit_file", path="greet.py", search="helo", replace="hello"),
            call("run_command", argv=["python", "greet.py"]),
            call("finish", summary="spelling fixed"),
        ]
    )
    req, _, _ = request("work", tmp_path)
    r = await backend(fake).run(req)
    assert r.ok and r.text == "spelling fixed"
    assert (tmp_path / "greet.py").read_text() == "print('hello')\n"
    third = fake.bodies("/api/chat")[2]["messages"]
    assert third[-1] == {"role": "tool", "content": "exit 0\nhello\n", "tool_name": "run_command"}
    assert third[-2]["tool_calls"][0]["function"]["name"] == "run_command"
    assert r.usage.output_tokens == 150


async def test_a_model_without_tools_edits_through_fenced_blocks(tmp_path: Path) -> None:
    (tmp_path / "greet.py").write_text("print('helo')\n")
    reply = (
        "greet.py\n```python\n<<<<<<< SEARCH\nprint('helo')\n=======\n"
        "print('hello')\n>>>>>>> REPLACE\n```\nFixed."
    )
    fake = FakeOllama(chats=[say(reply)], capabilities=["completion"])
    req, events, _ = request("work", tmp_path, prompt="fix greet.py")
    r = await backend(fake).run(req)
    assert r.ok, r.error
    assert (tmp_path / "greet.py").read_text() == "print('hello')\n"
    sent = fake.bodies("/api/chat")[0]
    assert "tools" not in sent and "print('helo')" in sent["messages"][-1]["content"]
    assert "edit blocks" in events.of("warning")[0]["message"]


async def test_the_tool_loop_stops_when_the_runs_token_budget_is_spent(tmp_path: Path) -> None:
    fake = FakeOllama(chats=[call("list_files")])  # would loop until the step limit
    req, _, _ = request("work", tmp_path)
    req.tokens_left = 1000  # each turn costs 450
    r = await backend(fake).run(req)
    assert not r.ok and "token budget ran out" in (r.error or "")
    assert len(fake.bodies("/api/chat")) == 3


def test_a_host_with_basic_auth_gets_a_basic_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "loopwright.toml"
    cfg.write_text(
        '[ollama.hosts.box]\nurl = "http://box:11434"\nbasic_user = "me"\n'
        'basic_password_env = "BOX_PASSWORD"\n'
    )
    monkeypatch.setenv("LOOPWRIGHT_CONFIG", str(cfg))
    monkeypatch.setenv("BOX_PASSWORD", "pw")
    host = ollama_host("box")
    assert host.auth == "basic" and host.headers == {"Authorization": "Basic bWU6cHc="}
    cfg.write_text('[ollama.hosts.box]\nurl = "box:11434"\n')
    with pytest.raises(UserError, match="url must start with http"):
        ollama_host("box")


PLAN = {"subgoals": [{"id": "s1", "title": "fix add", "instructions": "make add() add"}]}


async def test_the_response_schema_goes_as_format_and_the_answer_parses_as_a_plan() -> None:
    fake = FakeOllama(chats=[say(json.dumps(PLAN))])
    r = await backend(fake).run(request("plan", schema=schemas.plan(3))[0])
    assert r.ok and [s.title for s in parse_plan(r.text, 3)] == ["fix add"]
    assert fake.bodies("/api/chat")[0]["format"] == schemas.plan(3)


async def test_a_call_that_may_edit_gets_the_tool_loop_and_no_format(tmp_path: Path) -> None:
    fake = FakeOllama(chats=[call("finish", summary="nothing to do")])
    r = await backend(fake).run(request("work", tmp_path, schema=schemas.plan(3))[0])
    assert r.ok and r.text.startswith("nothing to do")
    sent = fake.bodies("/api/chat")[0]
    assert "format" not in sent and sent["tools"]


async def test_an_ollama_refusing_a_schema_format_is_asked_plainly_from_then_on() -> None:
    fake = FakeOllama(chats=[say(json.dumps(PLAN))], schema_format=False)
    b = backend(fake)
    req, events, _ = request("plan", schema=schemas.plan(3))
    first, second = await b.run(req), await b.run(request("plan", schema=schemas.plan(3))[0])
    assert first.ok and second.ok and parse_plan(second.text, 3)[0].id == "s1"
    assert ["format" in body for body in fake.bodies("/api/chat")] == [True, False, False]
    assert not b.capabilities.structured_output
    [warning] = events.of("warning")
    assert "refused a JSON schema format (400)" in warning["message"]
