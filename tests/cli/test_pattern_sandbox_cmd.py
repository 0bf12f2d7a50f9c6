"""``consult``, ``delegate`` and ``debate`` take ``--sandbox`` and ``--allow-network`` as
``run`` does, with the same default and the same refusal when bubblewrap cannot work."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from .test_cli import cli


@pytest.mark.parametrize("preflight", [[], ["--no-preflight"]])
def test_a_pattern_command_refuses_a_sandbox_bubblewrap_cannot_give_and_creates_nothing(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch, preflight: list[str]
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    git = shutil.which("git")
    assert git
    (bin_dir / "git").symlink_to(git)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("LOOPWRIGHT_SANDBOX")  # the default: verify
    done = cli("delegate", "scripted", "add a file", *preflight)
    assert done.returncode == 2
    assert "sandbox 'verify'" in done.stderr and "bwrap is not on PATH" in done.stderr
    assert "--sandbox off" in done.stderr
    assert not (home / "runs").exists() and not (home / "scratch").exists()


def test_a_pattern_commands_sandbox_and_network_are_stored_in_its_request(home: Path) -> None:
    done = cli("consult", "q?", "--models", "scripted", "--sandbox", "off", "--allow-network",
               "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    stored = json.loads((home / "runs" / run_id / "request.json").read_text())
    assert (stored["sandbox"], stored["allow_network"]) == ("off", True)
    wrong = cli("debate", "q?", "--models", "scripted,scripted", "--sandbox", "none")
    assert wrong.returncode == 2 and "--sandbox" in wrong.stderr
