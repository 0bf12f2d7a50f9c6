"""Changes a worker makes to the repository's git setup (config, hooks, info/attributes)
outlive the run in the user's checkout: each is reported as a ``security`` event (issue 11)."""

from __future__ import annotations

from pathlib import Path

from loopwright.runs.git.gitcmd import git
from loopwright.runs.git.tamper import Watch


def test_a_watch_names_the_config_keys_hooks_and_files_an_iteration_changed_once(
    repo: Path,
) -> None:
    watch = Watch(repo)
    watch.start()
    assert watch.check() is None  # nothing changed
    git(repo, "config", "filter.evil.clean", "touch x; cat")
    git(repo, "config", "--unset", "core.bare")
    (repo / ".git" / "hooks" / "pre-commit").write_text("#!/bin/sh\n")
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "attributes").write_text("* filter=evil\n")
    found = watch.check()
    assert found is not None
    assert found["keys"] == ["core.bare", "filter.evil.clean"]
    assert found["hooks"] == ["pre-commit"]
    assert found["files"] == [
        str(repo / ".git" / "config"),
        str(repo / ".git" / "info" / "attributes"),
    ]
    assert "filter.evil.clean" in found["message"] and "hook pre-commit" in found["message"]
    assert watch.check() is None  # reported once
