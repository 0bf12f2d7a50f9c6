"""A run that cannot work is refused before it starts: verify programs and backends."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from loopwright.errors import UserError
from loopwright.runs.preflight import preflight, verify_problem
from loopwright.runs.request import build_request

from ..backends.models.fake_ollama import FakeOllama, Server


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loopwright", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def nothing_created(home: Path, repo: Path | None = None) -> None:
    assert not (home / "runs").exists() and not (home / "scratch").exists()
    assert not (home / "worktrees").exists()
    if repo is not None:
        branches = subprocess.run(["git", "-C", str(repo), "branch", "--list", "loopwright/*"],
                                  capture_output=True, text=True, check=True).stdout  # fmt: skip
        assert branches == ""


def test_a_verify_program_not_on_path_is_refused_with_exit_2_before_any_run_exists(
    home: Path, repo: Path
) -> None:
    for extra in ([], ["--cwd", str(repo)]):
        done = cli("run", "fix it", "--verify", "nonexistent-cmd -q", *extra)
        assert done.returncode == 2, done.stderr
        assert "--verify: verify command 1 `nonexistent-cmd -q` cannot start" in done.stderr
        assert "'nonexistent-cmd' is not on the PATH" in done.stderr
        assert "--no-preflight" in done.stderr
        nothing_created(home, repo)


def test_no_preflight_starts_a_run_whose_verify_cannot_start(home: Path) -> None:
    done = cli("run", "fix it", "--verify", "nonexistent-cmd -q", "--no-preflight",
               "--max-iterations", "1", "--json")  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert (home / "runs").is_dir()
    verify = json.loads(done.stdout)["verify"][0]
    assert verify["argv"] == ["nonexistent-cmd", "-q"] and not verify["passed"]


def commit(repo: Path, files: dict[str, str], mode: int = 0o755) -> None:
    for name, body in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
        path.chmod(mode)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    identity = ["-c", "user.name=t", "-c", "user.email=t@t"]  # no global git config on CI
    subprocess.run(["git", "-C", str(repo), *identity, "commit", "-qm", "files"], check=True)


def test_relative_verify_programs_must_be_in_the_worktree_the_verify_runs_in(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(repo, {"check.sh": "#!/bin/sh\n", "tools/lint": "#!/bin/sh\n"})
    commit(repo, {"plain.sh": "#!/bin/sh\n"}, mode=0o644)
    (repo / ".gitignore").write_text(".venv/\n")
    venv_tool = repo / ".venv" / "bin" / "tool"
    venv_tool.parent.mkdir(parents=True)
    venv_tool.write_text("#!/bin/sh\n")
    venv_tool.chmod(0o755)
    monkeypatch.setenv("PATH", "tools" + os.pathsep + os.environ["PATH"])

    def why(program: str, **kw: object) -> str | None:
        return verify_problem(build_request("g", cwd=str(repo), verify=[[program]], **kw))  # type: ignore[arg-type]

    assert why("./check.sh") is None and why("lint") is None  # "tools" on PATH is relative
    assert "not found" in str(why("./missing.sh"))
    assert "without its executable bit" in str(why("./plain.sh"))
    assert "not committed (or is ignored)" in str(why(".venv/bin/tool"))
    assert "not committed (or is ignored)" in str(why(".venv/bin/tool", include_uncommitted=True))
    assert why(".venv/bin/tool", isolate=False) is None  # in place: the checkout itself
    assert "outside the repository" in str(why("../elsewhere/check.sh"))
    assert "fresh scratch repository" in str(verify_problem(build_request("g", verify=[["./x"]])))
    assert why(sys.executable) is None and why("sh") is None


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_an_ollama_host_that_does_not_answer_is_refused_before_the_run(home: Path) -> None:
    env = {**os.environ, "OLLAMA_HOST": f"127.0.0.1:{closed_port()}"}
    done = cli("run", "fix it", "--worker", "ollama:coder", env=env)
    assert done.returncode == 2, done.stderr
    assert "--worker: ollama:coder (worker) cannot work: Ollama not reachable" in done.stderr
    nothing_created(home)


def test_a_model_that_is_not_on_its_ollama_host_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = Server(FakeOllama(models={"coder"}))
    monkeypatch.setenv("OLLAMA_HOST", server.url)
    try:
        anyio.run(preflight, build_request("g", workers=["ollama:coder"]), "--no-preflight")
        with pytest.raises(UserError, match="model other not on host local"):
            anyio.run(preflight, build_request("g", backend="ollama:other"), "--no-preflight")
    finally:
        server.stop()


def test_an_agent_cli_that_is_not_logged_in_is_refused_before_the_run(
    home: Path, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "codex").write_text("#!/bin/sh\necho codex-cli 0.0.0\n")
    (bin_dir / "codex").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "CODEX_API_KEY",
                                                             "CODEX_HOME")}  # fmt: skip
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", HOME=str(tmp_path / "home"))
    done = cli("run", "fix it", "--worker", "codex", env=env)
    assert done.returncode == 2, done.stderr
    assert "codex (worker) cannot work: codex is not logged in" in done.stderr
    nothing_created(home)
    assert cli("run", "fix it", "--worker", "codex", "--no-preflight", "--detach",
               env=env).returncode == 0  # fmt: skip
