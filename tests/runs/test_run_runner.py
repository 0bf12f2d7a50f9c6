"""Which runner starts which of a run's programs, chosen from its request in one place
(``runs.startup.run_runner``): git always on the plain runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopwright.process.runner import PlainRunner
from loopwright.process.sandbox import SandboxRunner
from loopwright.runs.startup import run_runner


def test_sandbox_off_starts_everything_with_the_plain_runner() -> None:
    runners = run_runner({"sandbox": "off"})
    assert all(isinstance(r, PlainRunner) for r in (runners.verify, runners.backends, runners.git))
    assert isinstance(run_runner({}).verify, PlainRunner)  # a request stored before the sandbox


def test_sandbox_verify_confines_the_verify_commands_only_and_never_git() -> None:
    runners = run_runner({"sandbox": "verify", "allow_network": True})
    assert isinstance(runners.verify, SandboxRunner) and runners.verify.policy.network
    assert isinstance(runners.backends, PlainRunner) and isinstance(runners.git, PlainRunner)


def test_sandbox_all_also_confines_the_backends_with_each_cli_s_login_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    runners = run_runner({"sandbox": "all", "workers": ["claude_code:sonnet"], "planner": "x"})
    assert isinstance(runners.verify, SandboxRunner) and not runners.verify.policy.mounts
    assert isinstance(runners.backends, SandboxRunner) and isinstance(runners.git, PlainRunner)
    assert not runners.backends.policy.network
    mounts = {m.path: m.writable for m in runners.backends.policy.mounts}
    assert mounts == {tmp_path / ".claude": True, tmp_path / ".claude.json": True}
