"""Fake CLIs that hang, fork, flood, crash or print garbage: each ends as the right failure."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from loopwright.backends.agents.streams import MAX_EVENTS
from loopwright.runs.recorder import CappedFile
from loopwright.runs.redact import Redactor

from ...helpers import alive, wait_dead, wait_for_file
from .conftest import call
from .fakes import install


async def test_a_silent_hung_cli_is_stopped_by_the_idle_timeout_with_its_grandchildren(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "claude")["claude"]
    fake.set(hang=True, grandchild=True)
    r = (await call("claude_code:?idle_timeout=0.5", work, timeout=60)).response
    assert not r.ok and r.error and "printed nothing for 0.5 s" in r.error
    assert r.duration < 30
    await wait_dead(fake.grandchild())


async def test_a_chatty_cli_that_never_ends_is_stopped_at_the_call_timeout(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "codex")["codex"].set("codex-write.jsonl", tick=True)
    r = (await call("codex:?idle_timeout=30", work, timeout=0.8)).response
    assert not r.ok and r.error and "did not finish within 0.8 s" in r.error
    assert r.usage.input_tokens == 240  # what it used before the stop still counts


async def test_cancelling_a_call_kills_the_cli_and_its_grandchildren(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "claude")["claude"]
    fake.set(hang=True, grandchild=True)
    async with anyio.create_task_group() as tg:
        tg.start_soon(call, "claude_code", work)
        grandchild = int(await wait_for_file(fake.grandchild_path))
        assert alive(grandchild)
        tg.cancel_scope.cancel()
    await wait_dead(grandchild)


async def test_a_grandchild_left_holding_the_pipe_does_not_keep_the_call_open(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "claude")["claude"]
    fake.set("claude-write.jsonl", grandchild=True, grandchild_holds_pipe=True)
    r = (await call("claude_code", work, timeout=60)).response
    assert r.ok and r.duration < 30
    await wait_dead(fake.grandchild())


async def test_a_flood_is_capped_in_the_output_file_and_in_events(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "aider")["aider"].set(flood=40, read_stdin=False)  # 40 MiB
    out = CappedFile(str(tmp_path / "w.out"), Redactor([]), cap=1024 * 1024 + 10)
    c = await call("aider", work, output=out, timeout=60)
    out.close()
    assert c.response.ok
    data = (tmp_path / "w.out").read_bytes()
    assert len(data) < 1024 * 1024 + 100 and data.endswith(b"cut at the size cap]\n")
    assert len([e for t, e in c.events if t == "worker_output"]) == MAX_EVENTS
    assert len(c.response.text) <= 256 * 1024


async def test_garbage_on_stdout_with_exit_0_is_a_failed_worker(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "claude")["claude"].set(garbage=True)
    r = (await call("claude_code", work)).response
    assert not r.ok and r.error and "exited 0 without a result" in r.error


async def test_a_crash_is_a_failed_worker_quoting_what_it_said(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "codex")["codex"]
    fake.set(text="thread 'main' panicked at src/main.rs:1\n", exit=101)
    r = (await call("codex", work)).response
    assert not r.ok and r.error and "exited 101" in r.error and "panicked" in r.error


async def test_a_cli_gone_from_path_is_a_failed_worker_with_the_install_command(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loopwright.backends.base import AgentRequest
    from loopwright.backends.registry import create_backend

    fake = install(tmp_path, monkeypatch, "gemini")["gemini"]
    backend = create_backend("gemini_cli")
    (fake.bin_dir / "gemini").unlink()
    r = await backend.run(AgentRequest("work", "", "hi", str(work), 10, may_edit=True))
    assert not r.ok and r.error and "npm install -g @google/gemini-cli@0.61.0" in r.error


async def test_the_cli_gets_its_own_settings_but_not_other_secrets(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "claude")["claude"]
    fake.set("claude-write.jsonl")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-value-123")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_not_for_agents")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-not-for-claude")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-not-for-claude")
    monkeypatch.setenv("MY_EXTRA", "passed on request")
    await call("claude_code:?env=MY_EXTRA", work)
    env = fake.record["env"]
    assert env["ANTHROPIC_API_KEY"] == "sk-ant-test-value-123"
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9"
    assert env["HOME"] and env["PATH"].startswith(str(fake.bin_dir))
    assert env["MY_EXTRA"] == "passed on request"
    for name in ("GITHUB_TOKEN", "OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY", "LOOPWRIGHT_HOME"):
        assert name not in env
    assert Path(env["TMPDIR"]).name.startswith("loopwright-agent-")
    assert not Path(env["TMPDIR"]).exists()  # the call's temp dir is gone afterwards


async def test_codex_gets_the_key_its_configured_provider_names(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "codex")["codex"]
    fake.set("codex-write.jsonl")
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    (codex_home / "config.toml").write_text(
        '[model_providers.corp]\nname = "Corp"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'env_key = "CORP_LLM_KEY"\n'
    )
    monkeypatch.setenv("CODEX_HOME", str(codex_home))
    monkeypatch.setenv("CORP_LLM_KEY", "corp-key-value")
    monkeypatch.setenv("OTHER_LLM_KEY", "other")
    await call("codex", work)
    env = fake.record["env"]
    assert env["CORP_LLM_KEY"] == "corp-key-value" and "OTHER_LLM_KEY" not in env


async def test_codex_without_any_login_fails_at_once_instead_of_retrying_forever(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "codex")["codex"]
    fake.set(hang=True)
    monkeypatch.setenv("HOME", str(tmp_path / "empty-home"))
    for name in ("CODEX_API_KEY", "OPENAI_API_KEY", "CODEX_HOME"):
        monkeypatch.delenv(name, raising=False)
    r = (await call("codex", work, timeout=60)).response
    assert not r.ok and r.error and "codex login" in r.error and r.duration < 5
    assert not fake.record_path.exists()  # never started


async def test_codex_reconnect_warnings_do_not_fail_a_turn_that_completes(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reconnect = '{"type":"error","message":"Reconnecting... 2/5 (stream disconnected)"}\n'
    stream = tmp_path / "s.jsonl"
    from .fakes import STREAMS

    lines = (STREAMS / "codex-write.jsonl").read_text().splitlines(keepends=True)
    stream.write_text(lines[0] + reconnect + "".join(lines[1:]))
    fake = install(tmp_path, monkeypatch, "codex")["codex"]
    fake.set(text=stream.read_text())
    c = await call("codex", work)
    assert c.response.ok and any("Reconnecting" in w["text"] for w in c.kinds("warning"))
