"""doctor says whether the sandbox works here, and what that means for runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from loopwright.server.doctor import report


@pytest.fixture
def no_bwrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    git = shutil.which("git")
    assert git
    (bin_dir / "git").symlink_to(git)
    monkeypatch.setenv("PATH", str(bin_dir))


async def test_doctor_says_the_sandbox_is_missing_and_runs_with_it_are_refused(
    no_bwrap: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOOPWRIGHT_SANDBOX")
    [check] = [c for c in (await report(None)).checks if c.name == "sandbox (bubblewrap)"]
    assert not check.ok
    assert "bwrap is not on PATH" in check.detail and "apt-get install bubblewrap" in check.detail
    assert "--sandbox off" in check.detail


async def test_doctor_does_not_fail_on_a_missing_sandbox_when_runs_default_to_off(
    no_bwrap: None,
) -> None:
    [check] = [c for c in (await report(None)).checks if c.name == "sandbox (bubblewrap)"]
    assert check.ok and "default to --sandbox off" in check.detail
