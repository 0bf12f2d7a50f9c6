"""``backends`` and ``doctor`` tell the truth in the human view: what is available, why
not, and how to enable it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopwright.cli import commands


@pytest.fixture(autouse=True)
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OPENAI_API_KEY", "OPENROUTER_API_KEY", "OPENAI_BASE_URL", "LOOPWRIGHT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("OLLAMA_HOST", f"http://127.0.0.1:{closed_port()}")
    commands._STORE = None
    yield
    commands._STORE = None


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: a connection there is refused at once


def lines_of(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    commands.main(list(argv))
    return capsys.readouterr().out.splitlines()


def test_backends_says_how_to_enable_each_one_that_is_not_available(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = lines_of(capsys, "backends")
    openai = next(i for i, ln in enumerate(lines) if ln.split()[1] == "openai")
    assert lines[openai].startswith("no ") and "OPENAI_API_KEY not set" in lines[openai]
    assert lines[openai + 1].split()[:3] == ["to", "enable:", "export"]
    doctor = lines_of(capsys, "doctor")
    start = doctor.index("backends:")
    assert any("to enable: export OPENAI_API_KEY=..." in ln for ln in doctor[start:])


def test_an_agent_cli_installed_but_not_logged_in_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    claude = bin_dir / "claude"
    claude.write_text("#!/bin/sh\necho '2.1.330 (Claude Code)'\n")
    claude.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN",
                 "CLAUDE_CONFIG_DIR"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    lines = lines_of(capsys, "backends")
    row = next(i for i, ln in enumerate(lines) if ln.split()[1] == "claude_code")
    assert lines[row].startswith("no ") and f"at {claude}" in lines[row]
    assert "no login found" in lines[row]
    assert "to enable: run `claude` once and /login, or set ANTHROPIC_API_KEY" in lines[row + 1]
