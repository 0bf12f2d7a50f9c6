"""Fresh scratch git repositories for runs that were given no working dir."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..errors import ProcessError

GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "loopwright",
    "GIT_AUTHOR_EMAIL": "loopwright@localhost",
    "GIT_COMMITTER_NAME": "loopwright",
    "GIT_COMMITTER_EMAIL": "loopwright@localhost",
}
GIT_SAFE = [
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "commit.gpgsign=false",
]


def git(cwd: Path, *args: str, timeout: float = 30) -> str:
    """Run one git command of ours: no hooks, no prompts, stdin /dev/null, bounded."""
    try:
        done = subprocess.run(
            ["git", *GIT_SAFE, *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **GIT_ENV},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProcessError(f"git {args[0]} failed: {exc}") from exc
    if done.returncode != 0:
        raise ProcessError(f"git {args[0]} failed: {done.stderr.strip()}", done.returncode)
    return done.stdout


def make_scratch_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    """A new git repo at ``path`` with ``files`` (or a README) in one initial commit."""
    path.mkdir(mode=0o700, parents=True)
    for name, body in (files or {"README.md": "# Scratch repository made by loopwright\n"}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial commit")
    return path
