"""A chat session's sandbox: the default and refusal of a pattern run's, stored in its
request and kept when it is taken up again; with ``all`` its backends' programs go
through the sandbox runner. Bubblewrap is never started here (see the ``sandbox``
suite, tests/cli/test_chat_sandboxed.py, for a confined program)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loopwright.errors import UserError
from loopwright.process.runner import PlainRunner
from loopwright.process.sandbox import SandboxRunner
from loopwright.runs import preflight
from loopwright.runs.chat import ChatSession, build_chat_request
from loopwright.runs.store import RunStore


@pytest.fixture
def bwrap_works(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bubblewrap taken to work here (it is not started by these tests)."""
    monkeypatch.setattr(preflight, "sandbox_problem", lambda network=False: None)


def test_a_chats_sandbox_defaults_as_a_pattern_runs_and_a_given_one_goes_first(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOOPWRIGHT_SANDBOX")
    assert build_chat_request("scripted", str(tmp_path)).sandbox == "verify"
    config = tmp_path / "xdg-config" / "loopwright" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[run]\nsandbox = 'all'\n")
    assert build_chat_request("scripted", str(tmp_path)).sandbox == "all"
    monkeypatch.setenv("LOOPWRIGHT_SANDBOX", "off")
    assert build_chat_request("scripted", str(tmp_path)).sandbox == "off"
    given = build_chat_request("scripted", str(tmp_path), sandbox="verify", allow_network=True)
    assert (given.sandbox, given.allow_network) == ("verify", True)
    with pytest.raises(UserError) as wrong:
        build_chat_request("scripted", str(tmp_path), sandbox="none")
    assert wrong.value.field == "sandbox"


@pytest.mark.usefixtures("bwrap_works")
def test_with_sandbox_all_a_chats_backends_run_confined_and_a_resumed_chat_keeps_it(
    store: RunStore, tmp_path: Path
) -> None:
    request = build_chat_request("scripted", str(tmp_path), sandbox="all", allow_network=True)
    chat = ChatSession.open(store, request)
    runner = chat.backend("scripted").runner  # type: ignore[attr-defined]
    assert isinstance(runner, SandboxRunner) and runner.policy.network
    chat.close()
    stored = store.read_request(chat.run_id)
    assert (stored["sandbox"], stored["allow_network"]) == ("all", True)
    again = ChatSession.reopen(store, chat.run_id)
    assert isinstance(again.backend("scripted").runner, SandboxRunner)  # type: ignore[attr-defined]
    again.close()
    for mode in ("verify", "off"):  # a chat has no verify commands: nothing to confine
        chat = ChatSession.open(store, build_chat_request("scripted", str(tmp_path), sandbox=mode))
        assert isinstance(chat.backend("scripted").runner, PlainRunner)  # type: ignore[attr-defined]
        chat.close()


@pytest.mark.usefixtures("bwrap_works")
def test_a_chat_whose_sandbox_cannot_work_is_refused_and_nothing_is_created_or_taken(
    store: RunStore, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    off = ChatSession.open(store, build_chat_request("scripted", str(tmp_path), sandbox="off"))
    off.close()
    kept = ChatSession.open(store, build_chat_request("scripted", str(tmp_path), sandbox="verify"))
    kept.close()
    monkeypatch.setattr(preflight, "sandbox_problem", lambda network=False: "bwrap is not on PATH")
    before = sorted(p.name for p in (home / "runs").iterdir())
    with pytest.raises(UserError, match=r"sandbox 'verify' cannot confine.*--sandbox off"):
        ChatSession.open(store, build_chat_request("scripted", str(tmp_path), sandbox="verify"))
    assert sorted(p.name for p in (home / "runs").iterdir()) == before
    with pytest.raises(UserError, match="a resumed chat keeps its sandbox"):
        ChatSession.reopen(store, kept.run_id)
    assert store.read_status(kept.run_id)["state"] == "completed"  # not taken
    ChatSession.reopen(store, off.run_id).close()  # off needs no bubblewrap


def chat(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = None if path is None else {**os.environ, "PATH": path}
    return subprocess.run([sys.executable, "-m", "loopwright", "chat", *args], input="/quit\n",
                          capture_output=True, text=True, timeout=60, env=env)  # fmt: skip


def test_the_chat_command_refuses_a_sandbox_without_bwrap_and_a_resume_with_another_sandbox(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.delenv("LOOPWRIGHT_SANDBOX")  # the default: verify
    done = chat("--model", "scripted", path=str(bin_dir))
    assert done.returncode == 2, done.stderr
    assert "sandbox 'verify'" in done.stderr and "bwrap is not on PATH" in done.stderr
    assert "--sandbox off" in done.stderr and not (home / "runs").exists()
    done = chat("--model", "scripted", "--sandbox", "off", "--allow-network", path=str(bin_dir))
    assert done.returncode == 0, done.stderr
    [run] = (home / "runs").iterdir()
    stored = json.loads((run / "request.json").read_text())
    assert (stored["sandbox"], stored["allow_network"]) == ("off", True)
    again = chat("--resume", run.name, "--sandbox", "all")
    assert again.returncode == 2 and "a resumed chat keeps its sandbox" in again.stderr
    assert chat("--resume", run.name, path=str(bin_dir)).returncode == 0
    assert shutil.which("bwrap", path=str(bin_dir)) is None
