"""A run's sandbox before it starts: the request's configured default, preflight's refusal
when bubblewrap cannot work (never a silent fallback), the demo's announced choice."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loopwright.errors import UserError
from loopwright.runs.preflight import check_ready
from loopwright.runs.request import build_request


def test_a_request_gets_the_configured_sandbox_default_and_refuses_an_unknown_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LOOPWRIGHT_SANDBOX")
    assert build_request("g").sandbox == "verify"
    monkeypatch.setenv("LOOPWRIGHT_SANDBOX", "all")
    assert build_request("g").sandbox == "all"
    assert build_request("g", sandbox="off").sandbox == "off"
    with pytest.raises(UserError, match="allowed are off, verify, all") as caught:
        build_request("g", sandbox="none")
    assert caught.value.field == "sandbox"


def cli(*args: str, path: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loopwright", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PATH": path, **env},
    )


@pytest.fixture
def path_without_bwrap(tmp_path: Path) -> str:
    """A PATH with git and sh but no bwrap."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for program in ("git", "sh"):
        found = shutil.which(program)
        assert found
        (bin_dir / program).symlink_to(found)
    return str(bin_dir)


def test_preflight_refuses_a_sandboxed_request_when_bwrap_is_not_on_path(
    path_without_bwrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", path_without_bwrap)
    with pytest.raises(UserError, match="apt-get install bubblewrap") as caught:
        check_ready(build_request("g", sandbox="verify"), "--no-preflight")
    assert caught.value.field == "sandbox" and "--sandbox off" in str(caught.value)
    check_ready(build_request("g", sandbox="off"), "--no-preflight")


def test_the_default_sandbox_is_refused_too_when_bwrap_is_not_on_path(
    path_without_bwrap: str,
) -> None:
    done = cli("run", "g", path=path_without_bwrap, LOOPWRIGHT_SANDBOX="verify")
    assert done.returncode == 2 and "apt-get install bubblewrap" in done.stderr


def test_the_demo_without_bwrap_says_its_verify_runs_unsandboxed_and_completes(
    path_without_bwrap: str,
) -> None:
    done = cli("demo", "--json", path=path_without_bwrap, LOOPWRIGHT_SANDBOX="verify")
    assert done.returncode == 0, done.stderr
    assert "the demo's verify runs unsandboxed" in done.stderr
    assert "apt-get install bubblewrap" in done.stderr
    assert json.loads(done.stdout)["state"] == "completed"
