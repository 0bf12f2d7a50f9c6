"""The real CLIs (pinned versions, installed by .ci/real_agents.sh) as loopwright workers.

Each talks to a scripted model endpoint on 127.0.0.1 (``mockmodel``): a run whose worker
edits ``hello.py`` in the run's worktree, verify imports it, and the checkpoint commit
holds it; and a run whose key is rejected (401) ends with a failed worker saying how to
fix it. Without a program these tests skip, except under CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from loopwright.runs import runner
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ...helpers import events_of
from .mockmodel import MockModel

pytestmark = pytest.mark.real_clients

HELLO = "print('hello from mock')\n"


@pytest.fixture
def mock() -> Iterator[MockModel]:
    with MockModel() as m:
        yield m


def require(program: str) -> None:
    if shutil.which(program):
        return
    if os.environ.get("CI") == "true" or os.environ.get("LOOPWRIGHT_REAL_AGENTS_REQUIRED"):
        pytest.fail(f"{program} is not on PATH (run .ci/real_agents.sh to install it)")
    pytest.skip(f"{program} is not installed (.ci/real_agents.sh installs it)")


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("HOME", str(h))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    return h


def _run(store: RunStore, repo: Path, worker: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    request = build_request(
        "Create hello.py that prints hello",
        workers=[worker],
        cwd=str(repo),
        verify=[[sys.executable, "-c", "import hello"]],
        budget={"max_iterations": 1, "max_seconds": 300},
        options={"worker_retries": 0, "worker_timeout": 180},
    )
    run = runner.start_thread(store, request)
    result = run.wait(240)
    return result, events_of(store.paths(run.run_id).events)


def _assert_edited(repo: Path, result: dict[str, Any], events: list[dict[str, Any]]) -> None:
    finished = [e["data"] for e in events if e["type"] == "worker_finished"]
    assert result["state"] == "completed", (result, finished)
    assert finished[0]["status"] == "ok"
    checkpoint = next(e["data"] for e in events if e["type"] == "checkpoint")
    assert {"status": "A", "path": "hello.py"} in checkpoint["files"]
    shown = subprocess.run(
        ["git", "show", f"{checkpoint['sha']}:hello.py"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert "print(" in shown.stdout
    assert any(e["type"] == "model_call" for e in events)


def _assert_401(result: dict[str, Any], events: list[dict[str, Any]], *words: str) -> str:
    finished = next(e["data"] for e in events if e["type"] == "worker_finished")
    assert result["state"] != "completed"
    assert finished["status"] == "failed", finished
    error = str(finished["error"])
    for word in words:
        assert word in error, error
    return error


# --- Claude Code ---------------------------------------------------------------------
def _claude(mock: MockModel, monkeypatch: pytest.MonkeyPatch, scenario: str) -> None:
    require("claude")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", mock.url(scenario))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-mock-0000")
    monkeypatch.setenv("CLAUDE_CODE_MAX_RETRIES", "0")
    monkeypatch.setenv("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")


def test_claude_code_edits_the_worktree(
    store: RunStore, repo: Path, user_home: Path, mock: MockModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _claude(mock, monkeypatch, "claude")
    mock.script(
        "claude",
        ("tool", "Write", {"file_path": "{cwd}/hello.py", "content": HELLO}),
        ("text", "MOCK_DONE: created hello.py"),
    )
    result, events = _run(store, repo, "claude_code")
    _assert_edited(repo, result, events)
    finished = next(e["data"] for e in events if e["type"] == "worker_finished")
    assert finished["usage"]["cost_usd"] > 0  # Claude Code prices the call itself


def test_claude_code_with_a_rejected_key_fails_the_worker(
    store: RunStore, repo: Path, user_home: Path, mock: MockModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _claude(mock, monkeypatch, "claude401")
    mock.script("claude401", ("error", 401))
    _assert_401(*_run(store, repo, "claude_code"), "401", "ANTHROPIC_API_KEY")


# --- Codex ---------------------------------------------------------------------------
def _codex(mock: MockModel, home: Path, monkeypatch: pytest.MonkeyPatch, scenario: str) -> None:
    require("codex")
    codex_home = home / ".codex"
    codex_home.mkdir()
    (codex_home / "config.toml").write_text(
        'model_provider = "mock"\nmodel = "mock-model"\n\n[model_providers.mock]\n'
        f'name = "Mock"\nbase_url = "{mock.url(scenario)}/v1"\nenv_key = "MOCK_API_KEY"\n'
        'wire_api = "responses"\nrequest_max_retries = 0\nstream_max_retries = 0\n'
    )
    monkeypatch.setenv("MOCK_API_KEY", "sk-mock")
    monkeypatch.delenv("CODEX_HOME", raising=False)


def test_codex_edits_the_worktree(
    store: RunStore, repo: Path, user_home: Path, mock: MockModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _codex(mock, user_home, monkeypatch, "codex")
    cmd = "printf 'print(\"hello\")\\n' > hello.py && echo wrote"
    mock.script("codex", ("tool", "exec_command", {"cmd": cmd}), ("text", "MOCK_DONE"))
    _assert_edited(repo, *_run(store, repo, "codex"))


def test_codex_with_a_rejected_key_fails_the_worker(
    store: RunStore, repo: Path, user_home: Path, mock: MockModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _codex(mock, user_home, monkeypatch, "codex401")
    mock.script("codex401", ("error", 401))
    _assert_401(*_run(store, repo, "codex"), "401", "codex login")


# --- aider ---------------------------------------------------------------------------
_AIDER_EDIT = f"hello.py\n```python\n<<<<<<< SEARCH\n=======\n{HELLO}>>>>>>> REPLACE\n```\n"
_AIDER = "aider:openai/mock-model?args=--edit-format+diff"


def _aider(mock: MockModel, monkeypatch: pytest.MonkeyPatch, scenario: str) -> None:
    require("aider")
    monkeypatch.setenv("OPENAI_API_BASE", f"{mock.url(scenario)}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-mock")


def test_aider_edits_the_worktree(
    store: RunStore, repo: Path, user_home: Path, mock: MockModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _aider(mock, monkeypatch, "aider")
    mock.script("aider", ("text", f"I will create hello.py.\n\n{_AIDER_EDIT}"))
    result, events = _run(store, repo, _AIDER)
    _assert_edited(repo, result, events)
    checkpoint = next(e["data"] for e in events if e["type"] == "checkpoint")
    assert checkpoint["files"] == [{"status": "A", "path": "hello.py"}]  # no .aider*, .gitignore


def test_aider_with_a_rejected_key_fails_the_worker_though_it_exits_0(
    store: RunStore, repo: Path, user_home: Path, mock: MockModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _aider(mock, monkeypatch, "aider401")
    mock.script("aider401", ("error", 401))
    _assert_401(*_run(store, repo, _AIDER), "AuthenticationError", "OPENAI_API_KEY")


# --- opencode ------------------------------------------------------------------------
def _opencode(mock: MockModel, home: Path, monkeypatch: pytest.MonkeyPatch, scenario: str) -> None:
    require("opencode")
    config = home / "opencode.json"
    provider = {
        "npm": "@ai-sdk/openai-compatible",
        "name": "Mock",
        "options": {"baseURL": f"{mock.url(scenario)}/v1", "apiKey": "sk-mock"},
        "models": {"mock-model": {"name": "Mock"}},
    }
    data = {"provider": {"mock": provider}, "autoupdate": False, "share": "disabled"}
    config.write_text(json.dumps(data))
    monkeypatch.setenv("OPENCODE_CONFIG", str(config))


def test_opencode_edits_the_worktree(
    store: RunStore, repo: Path, user_home: Path, mock: MockModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _opencode(mock, user_home, monkeypatch, "oc")
    mock.script(
        "oc",
        ("tool", "write", {"filePath": "{cwd}/hello.py", "content": HELLO}),
        ("text", "MOCK_DONE: created hello.py"),
    )
    _assert_edited(repo, *_run(store, repo, "opencode:mock/mock-model"))


def test_opencode_with_a_rejected_key_fails_the_worker(
    store: RunStore, repo: Path, user_home: Path, mock: MockModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _opencode(mock, user_home, monkeypatch, "oc401")
    mock.script("oc401", ("error", 401))
    _assert_401(*_run(store, repo, "opencode:mock/mock-model"), "401", "opencode auth login")


# --- Gemini CLI ----------------------------------------------------------------------
def _gemini(mock: MockModel, home: Path, monkeypatch: pytest.MonkeyPatch, scenario: str) -> None:
    require("gemini")
    (home / ".gemini").mkdir()
    settings = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "general": {"enableAutoUpdate": False, "maxAttempts": 1},
    }
    (home / ".gemini" / "settings.json").write_text(json.dumps(settings))
    monkeypatch.setenv("GEMINI_CLI_HOME", str(home))
    monkeypatch.setenv("GEMINI_API_KEY", "mock-key")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", mock.url(scenario))


def test_gemini_cli_edits_the_worktree(
    store: RunStore, repo: Path, user_home: Path, mock: MockModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _gemini(mock, user_home, monkeypatch, "gemini")
    mock.script(
        "gemini",
        ("tool", "write_file", {"file_path": "{cwd}/hello.py", "content": HELLO}),
        ("text", "MOCK_DONE: created hello.py"),
    )
    _assert_edited(repo, *_run(store, repo, "gemini_cli:gemini-2.5-flash"))


def test_gemini_cli_with_a_rejected_key_fails_the_worker(
    store: RunStore, repo: Path, user_home: Path, mock: MockModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    _gemini(mock, user_home, monkeypatch, "gemini401")
    mock.script("gemini401", ("error", 401))
    _assert_401(*_run(store, repo, "gemini_cli:gemini-2.5-flash"), "GEMINI_API_KEY")


def test_list_backends_finds_every_real_cli_with_its_pinned_version() -> None:
    from loopwright.backends.registry import list_backends

    pins: dict[str, str] = {
        "claude_code": "2.1.330",
        "codex": "0.169.0",
        "aider": "0.86.2",
        "opencode": "1.18.33",
        "gemini_cli": "0.61.0",
    }
    programs: dict[str, str] = {"claude_code": "claude", "gemini_cli": "gemini"}
    check: Callable[[str], None] = require
    for name in pins:
        check(programs.get(name, name))
    infos = {i.name: i for i in list_backends()}
    for name, pin in pins.items():
        assert pin in infos[name].reason, infos[name]
