"""Each preset against a fake CLI replaying what the real program printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import call
from .fakes import STREAMS, install


async def test_claude_code_edits_report_events_usage_and_cost(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "claude")["claude"]
    fake.set("claude-write.jsonl", writes={"hello.py": "print('hello')\n"})
    c = await call("claude_code:sonnet", work, system="Be terse.", prompt="Create hello.py")
    r = c.response
    assert r.ok and r.error is None and r.text == "MOCK_DONE: created hello.py"
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.cost_usd) == (240, 60, 0.00108)
    assert [e["path"] for e in c.kinds("file_edit")] == [f"{work}/hello.py"]
    assert c.kinds("tool_use")[0]["tool"] == "Write"
    assert c.kinds("message")[0]["text"] == "MOCK_DONE: created hello.py"
    assert c.model_call["provider"] == "claude_code" and c.model_call["model"] == "sonnet"
    assert '"type":"result"' in c.output  # the full stream went to the output file
    argv, rec = fake.record["argv"], fake.record
    assert argv[1:5] == ["-p", "--output-format", "stream-json", "--verbose"]
    assert argv[argv.index("--permission-mode") + 1] == "acceptEdits"
    assert argv[argv.index("--model") + 1] == "sonnet"
    assert "--dangerously-skip-permissions" not in argv
    assert rec["stdin"] == "Create hello.py" and "Create hello.py" not in argv
    system_file = argv[argv.index("--append-system-prompt-file") + 1]
    assert rec["files"][system_file] == "Be terse."
    assert rec["cwd"] == str(work)


async def test_claude_code_skip_permissions_uses_the_bypass_flag(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "claude")["claude"]
    fake.set("claude-write.jsonl")
    c = await call("claude_code:?skip_permissions=true", work)
    assert c.response.ok
    argv = fake.record["argv"]
    assert "--dangerously-skip-permissions" in argv and "--permission-mode" not in argv
    assert "--model" not in argv


async def test_claude_code_reviewers_run_without_edit_permission(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "claude")["claude"]
    fake.set("claude-write.jsonl")
    c = await call("claude_code", work, purpose="review")
    assert c.response.text == "MOCK_DONE: created hello.py"
    argv = fake.record["argv"]
    assert argv[argv.index("--permission-mode") + 1] == "dontAsk"


@pytest.mark.parametrize(
    ("stream", "exit_code", "words"),
    [
        ("claude-401.jsonl", 1, ["401", "ANTHROPIC_API_KEY"]),
        ("claude-notloggedin.jsonl", 1, ["not logged in", "/login"]),
        ("claude-denied.jsonl", 0, ["denied 1 tool call", "Bash", "skip_permissions=true"]),
    ],
)
async def test_claude_code_failures_are_failed_workers_that_say_how_to_fix_them(
    tmp_path: Path,
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
    stream: str,
    exit_code: int,
    words: list[str],
) -> None:
    install(tmp_path, monkeypatch, "claude")["claude"].set(stream, exit=exit_code)
    r = (await call("claude_code", work)).response
    assert not r.ok and r.error
    for word in words:
        assert word.lower() in r.error.lower()


async def test_codex_runs_commands_and_reports_usage_without_a_price(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "codex")["codex"]
    fake.set("codex-write.jsonl")
    c = await call("codex:gpt-5.5", work, system="Be terse.", prompt="Create hello.py")
    r = c.response
    assert r.ok and r.text == "MOCK_DONE: created hello.py"
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.cost_usd) == (240, 60, None)
    assert "printf" in c.kinds("command")[0]["text"]
    assert c.kinds("command_done")[0]["exit_code"] == 0
    assert any("Model metadata" in w["text"] for w in c.kinds("warning"))  # not a failure
    argv, rec = fake.record["argv"], fake.record
    assert argv[1:3] == ["exec", "--json"] and argv[-1] == "-"
    assert argv[argv.index("--sandbox") + 1] == "workspace-write"
    assert argv[argv.index("-m") + 1] == "gpt-5.5"
    assert rec["stdin"].startswith("Be terse.") and rec["stdin"].endswith("Create hello.py")


async def test_codex_file_changes_become_edit_events(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "codex")["codex"].set("codex-patch.jsonl")
    c = await call("codex:?skip_permissions=true", work)
    assert c.response.ok and [e["path"] for e in c.kinds("file_edit")] == [f"{work}/hello.py"]


async def test_codex_401_is_a_failed_worker_pointing_at_codex_login(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "codex")["codex"].set("codex-401.jsonl", exit=1)
    r = (await call("codex", work)).response
    assert not r.ok and r.error and "401" in r.error and "codex login" in r.error


async def test_opencode_reports_tools_edits_and_tokens(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "opencode")["opencode"]
    fake.set("opencode-write.jsonl", read_stdin=False)
    c = await call("opencode:mock/mock-model", work, prompt="Create hello.py")
    r = c.response
    assert r.ok and r.text == "MOCK_DONE: created hello.py"
    assert (r.usage.input_tokens, r.usage.output_tokens) == (240, 60)
    assert r.usage.cost_usd is None  # opencode says 0 for a model it has no price for
    assert [e["path"] for e in c.kinds("file_edit")] == [f"{work}/hello.py"]
    argv = fake.record["argv"]
    assert argv[1:4] == ["run", "--format", "json"] and argv[-1].endswith("Create hello.py")
    assert '"edit": "allow"' in fake.record["env"]["OPENCODE_CONFIG_CONTENT"]


async def test_opencode_401_is_a_failed_worker(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "opencode")["opencode"].set("opencode-401.jsonl", exit=1)
    r = (await call("opencode", work)).response
    assert not r.ok and r.error and "401" in r.error and "opencode auth login" in r.error


async def test_a_long_opencode_prompt_goes_in_a_file_not_argv(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "opencode")["opencode"]
    fake.set("opencode-write.jsonl", read_stdin=False)
    prompt = "x" * 200_000
    assert (await call("opencode", work, prompt=prompt)).response.ok
    argv = fake.record["argv"]
    assert all(len(a) < 1000 for a in argv)
    attached = argv[argv.index("-f") + 1]
    assert fake.record["files"][attached].endswith(prompt)


async def test_gemini_cli_reports_tools_edits_and_tokens(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "gemini")["gemini"]
    fake.set("gemini-write.jsonl")
    c = await call("gemini_cli:gemini-2.5-flash", work, prompt="Create hello.py")
    r = c.response
    assert r.ok and r.text == "MOCK_DONE: created hello.py"
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.cost_usd) == (240, 60, None)
    assert [e["path"] for e in c.kinds("file_edit")] == [f"{work}/hello.py"]
    rec = fake.record
    assert rec["argv"][rec["argv"].index("--approval-mode") + 1] == "auto_edit"
    assert rec["stdin"].endswith("Create hello.py")
    assert rec["env"]["GEMINI_CLI_NO_RELAUNCH"] == "true"


async def test_gemini_cli_401_exit_145_is_a_failed_worker(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "gemini")["gemini"].set("gemini-401.jsonl", exit=145)
    r = (await call("gemini_cli", work)).response
    assert not r.ok and r.error and "GEMINI_API_KEY" in r.error and "API key not valid" in r.error


async def test_aider_edits_and_token_counts_come_from_its_text(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = install(tmp_path, monkeypatch, "aider")["aider"]
    fake.set("aider-write.txt", read_stdin=False)
    c = await call("aider:ollama_chat/qwen2.5-coder", work, prompt="Create hello.py")
    r = c.response
    assert r.ok and "Applied edit to hello.py" in r.text
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.cost_usd) == (2300, 27, None)
    assert [e["path"] for e in c.kinds("file_edit")] == ["hello.py"]
    rec = fake.record
    argv = rec["argv"]
    assert argv[argv.index("--model") + 1] == "ollama_chat/qwen2.5-coder"
    assert "--no-auto-commits" in argv and "--yes-always" in argv
    assert "--no-git" in argv  # not a repository: aider must not make one
    assert "--no-suggest-shell-commands" in argv  # edits only, by default
    message = argv[argv.index("--message-file") + 1]
    assert rec["files"][message].endswith("Create hello.py")
    assert str(work) not in argv[argv.index("--chat-history-file") + 1]


async def test_aider_exiting_0_after_an_api_error_is_a_failed_worker(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "aider")["aider"].set("aider-401.txt", read_stdin=False)
    r = (await call("aider", work)).response
    assert not r.ok and r.error and "AuthenticationError" in r.error
    assert "OPENAI_API_KEY" in r.error and "ollama_chat" in r.error


async def test_claude_code_refusing_the_bypass_as_root_says_what_to_do(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    said = "--dangerously-skip-permissions cannot be used with root/sudo privileges for security"
    fake = install(tmp_path, monkeypatch, "claude")["claude"]
    fake.set(text=said + " reasons", exit=1)
    r = (await call("claude_code:?skip_permissions=true", work)).response
    assert not r.ok and r.error and "IS_SANDBOX=1" in r.error and said in r.error


async def test_a_reviewer_denied_a_tool_still_gives_its_answer(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "claude")["claude"].set("claude-denied.jsonl")
    c = await call("claude_code", work, purpose="review")
    assert c.response.ok and c.response.text == "MOCK_DONE: denied"
    assert c.kinds("denied") and "Bash" in c.kinds("denied")[0]["text"]


async def test_a_long_result_line_is_read_whole(
    tmp_path: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = "y" * 200_000
    stream = (STREAMS / "claude-write.jsonl").read_text()
    stream = stream.replace('"result":"MOCK_DONE: created hello.py"', f'"result":"{answer}"')
    install(tmp_path, monkeypatch, "claude")["claude"].set(text=stream)
    r = (await call("claude_code", work)).response
    assert r.ok and r.text == answer
