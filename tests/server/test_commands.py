"""``loopwright doctor`` and ``loopwright serve`` as commands."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from loopwright.cli.commands import main

from .test_stdio import LOOPWRIGHT


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "ANTHROPIC_API_KEY": "sk-do-not-print-me"}
    return subprocess.run(
        [LOOPWRIGHT, *args], input=stdin, capture_output=True, env=env, timeout=60
    )


def test_doctor_reports_versions_and_credentials_without_their_values(tmp_path: Path) -> None:
    done = run("doctor", "--json", "--cwd", str(tmp_path))
    report = json.loads(done.stdout)
    assert report["credentials"]["ANTHROPIC_API_KEY"] is True
    assert b"sk-do-not-print-me" not in done.stdout + done.stderr
    checks = {c["name"]: c["ok"] for c in report["checks"]}
    assert checks["cwd exists"] and not checks["cwd in a git repository"]
    assert done.returncode == 1  # a failed check is an exit code


def test_doctor_prints_a_readable_report(
    capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-print-me")
    assert main(["doctor"]) in (0, 1)
    text = capsys.readouterr().out
    assert "versions: python" in text and "client timeouts:" in text
    assert "OPENAI_API_KEY set" in text and "sk-do-not-print-me" not in text


def test_serve_writes_nothing_but_json_rpc_and_exits_when_stdin_closes() -> None:
    done = run("serve")
    assert done.returncode == 0
    assert done.stdout == b""
