"""Verify commands get the allowlisted environment, plus the names the user lets through."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = (
    "import os; print(*(f'{n}={os.environ.get(n)}' for n in "
    "('ANTHROPIC_API_KEY', 'GITHUB_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'MY_DB_URL', 'PATH')))"
)
VERIFY = f"{shlex.quote(sys.executable)} -c {shlex.quote(PROBE)}"


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-not-for-pytest")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_not_for_pytest")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-not-for-pytest")
    monkeypatch.setenv("MY_DB_URL", "sqlite:///tests.db")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loopwright", "run", "check the env", "--json", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def seen(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)["verify"][0]["output"]
    return dict(pair.split("=", 1) for pair in output.split())


def test_a_verify_command_sees_no_keys_but_the_names_given_with_verify_env() -> None:
    env = seen(run("--verify", VERIFY, "--verify-env", "MY_DB_URL"))
    assert env["ANTHROPIC_API_KEY"] == env["GITHUB_TOKEN"] == "None"
    assert env["AWS_SECRET_ACCESS_KEY"] == "None"
    assert env["MY_DB_URL"] == "sqlite:///tests.db" and env["PATH"] != "None"
    assert seen(run("--verify", VERIFY))["MY_DB_URL"] == "None"  # not given: not passed


def test_names_in_the_config_file_reach_every_runs_verify_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[verify]\nenv = ["MY_DB_URL"]\n')
    monkeypatch.setenv("LOOPWRIGHT_CONFIG", str(config))
    env = seen(run("--verify", VERIFY))
    assert env["MY_DB_URL"] == "sqlite:///tests.db" and env["ANTHROPIC_API_KEY"] == "None"


def test_a_verify_env_that_is_not_a_variable_name_is_refused_naming_the_option(
    home: Path,
) -> None:
    done = run("--verify", VERIFY, "--verify-env", "MY DB=1")
    assert done.returncode == 2 and "--verify-env" in done.stderr
    assert "'MY DB=1' is not an environment variable name" in done.stderr
    assert not (home / "runs").exists()  # nothing created


def test_a_verify_command_keeps_the_users_python_flags_so_no_pycache_lands_in_a_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loopwright.process.env import allowlisted_env

    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    env = allowlisted_env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert "ANTHROPIC_API_KEY" not in env
