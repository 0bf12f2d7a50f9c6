"""Every git call goes through the runner of its context: a run's own, else the plain one."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from loopwright.errors import ProcessError
from loopwright.runs.git.gitcmd import agit, git, git_runner

from ...process.recording import RecordingRunner


async def test_git_calls_in_a_runner_s_context_go_through_it_from_tasks_and_threads(
    repo: Path,
) -> None:
    runner = RecordingRunner()
    with git_runner(runner):
        git(repo, "rev-parse", "HEAD")
        await agit(repo, "status")  # on a worker thread
    git(repo, "log", "-1")  # outside: the plain runner
    assert runner.git() == ["rev-parse", "config", "status"]  # config: see repoconfig


async def test_concurrent_contexts_keep_their_own_git_runner(repo: Path) -> None:
    first, second = RecordingRunner(), RecordingRunner()
    both_set = anyio.Event()
    ready = 0

    async def use(runner: RecordingRunner, command: str) -> None:
        nonlocal ready
        with git_runner(runner):
            ready += 1
            if ready == 2:
                both_set.set()
            await both_set.wait()  # both contexts are set before either calls git
            await agit(repo, command)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(use, first, "status")
            tg.start_soon(use, second, "branch")
    assert (first.git(), second.git()) == (["config", "status"], ["branch"])


def test_git_that_cannot_start_says_why(tmp_path: Path) -> None:
    with pytest.raises(ProcessError, match="cannot run git: No such file or directory"):
        git(tmp_path / "missing", "status")


def test_a_git_call_past_its_timeout_is_an_error_naming_the_command(
    repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    slow = tmp_path / "bin" / "git"
    slow.parent.mkdir()
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setenv("PATH", f"{slow.parent}:/usr/bin:/bin")
    with pytest.raises(ProcessError, match=r"git status timed out after 0\.3s"):
        git(repo, "status", timeout=0.3)


def test_the_repository_lock_is_not_taken_through_a_symbolic_link(
    repo: Path, tmp_path: Path
) -> None:
    from loopwright.runs.git.gitcmd import repo_lock

    target = tmp_path / "elsewhere.lock"
    (repo / ".git" / "loopwright.lock").symlink_to(target)
    with pytest.raises(OSError), repo_lock(repo):
        pass
    assert not target.exists()
