"""A run's ``--sandbox``: the request's default, refusal when bubblewrap cannot work (never
a silent fallback), the demo's announced choice, and (marker ``sandbox``, needs
bubblewrap) runs whose verify commands and workers' commands are really confined."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers import write_scenario
from ..sandboxing import need_sandbox


# --- no bubblewrap on PATH --------------------------------------------------------------
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


@pytest.mark.parametrize("preflight", [[], ["--no-preflight"]])
def test_a_run_asking_for_the_sandbox_is_refused_when_bwrap_is_not_on_path(
    path_without_bwrap: str, home: Path, preflight: list[str]
) -> None:
    done = cli("run", "g", "--sandbox", "verify", *preflight, path=path_without_bwrap)
    assert done.returncode == 2, done.stderr
    assert "bwrap is not on PATH" in done.stderr
    assert "apt-get install bubblewrap" in done.stderr and "--sandbox off" in done.stderr
    assert not (home / "runs").exists() and not (home / "scratch").exists()
    done = cli("run", "g", "--sandbox", "off", "--json", path=path_without_bwrap)
    assert done.returncode == 0, done.stderr


def test_the_demo_asked_for_the_sandbox_without_bwrap_is_refused(
    path_without_bwrap: str, home: Path
) -> None:
    done = cli("demo", "--sandbox", "verify", path=path_without_bwrap)
    assert done.returncode == 2 and "apt-get install bubblewrap" in done.stderr
    assert not (home / "scratch").exists()


# --- with bubblewrap (marker sandbox) ---------------------------------------------------
@pytest.mark.sandbox
def test_the_demo_passes_with_sandbox_verify() -> None:
    need_sandbox()
    done = cli("demo", "--sandbox", "verify", "--json", path=os.environ["PATH"])
    assert done.returncode == 0, done.stderr
    assert "unsandboxed" not in done.stderr
    result = json.loads(done.stdout)
    assert result["state"] == "completed" and result["verify"][0]["passed"]
    run_dir = Path(os.environ["LOOPWRIGHT_HOME"]) / "runs" / result["run_id"]
    assert json.loads((run_dir / "request.json").read_text())["sandbox"] == "verify"


ESCAPE_SCRIPT = (
    "import pathlib, sys\n"
    "bad = []\n"
    "for p in sys.argv[1:]:\n"
    "    try:\n        pathlib.Path(p).write_text('x')\n        bad.append(p)\n"
    "    except OSError:\n        pass\n"
    "print('escaped', bad) if bad else print('confined')\n"
    "sys.exit(1 if bad else 0)"
)
ESCAPE = f"exec({ESCAPE_SCRIPT!r})"  # one line: a verify argv holds no newline


@pytest.mark.sandbox
@pytest.mark.parametrize("mode", ["verify", "off"])
def test_a_run_s_verify_command_is_confined_with_sandbox_verify(repo: Path, mode: str) -> None:
    need_sandbox()
    config, hook = repo / ".git" / "config", repo / ".git" / "hooks" / "post-checkout"
    before = config.read_text()
    try:
        verify = [sys.executable, "-c", ESCAPE, str(config), str(hook)]
        args = ["run", "g", "--cwd", str(repo), "--sandbox", mode, "--json", "--max-iterations"]
        done = cli(*args, "1", "--verify", shlex.join(verify), path=os.environ["PATH"])
        assert done.stdout, done.stderr
        result = json.loads(done.stdout)
        assert result["verify"][0]["passed"] == (mode == "verify"), result["verify"][0]
        assert hook.exists() == (mode == "off")
        assert (config.read_text() == before) == (mode == "verify")
    finally:
        hook.unlink(missing_ok=True)
        config.write_text(before)


@pytest.mark.sandbox
@pytest.mark.parametrize("mode", ["all", "verify"])
def test_sandbox_all_also_confines_a_worker_s_commands(
    repo: Path, tmp_path: Path, mode: str
) -> None:
    need_sandbox()
    hook = repo / ".git" / "hooks" / "post-checkout"
    worker = {"worker": [{"text": "tried", "run": [sys.executable, "-c", ESCAPE, str(hook)]}]}
    spec = write_scenario(tmp_path / "s.json", worker)
    try:
        args = ["run", "g", "--cwd", str(repo), "--worker", spec, "--sandbox", mode, "--json"]
        done = cli(*args, "--max-iterations", "1", "--retries", "0", path=os.environ["PATH"])
        assert done.stdout, done.stderr
        [task] = json.loads(done.stdout)["last_results"]
        assert (task["status"] == "ok") == (mode == "all"), task  # it exits 1 if it escaped
        assert hook.exists() == (mode == "verify")
    finally:
        hook.unlink(missing_ok=True)
