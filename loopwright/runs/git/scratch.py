"""Fresh scratch git repositories for runs that were given no working dir."""

from __future__ import annotations

from pathlib import Path

from ...fsmodes import private_dir
from .gitcmd import git


def make_scratch_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    """A new git repo at ``path`` with ``files`` (or a README) in one initial commit."""
    private_dir(path, exist_ok=False)
    for name, body in (files or {"README.md": "# Scratch repository made by loopwright\n"}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial commit")
    return path
