"""Changes a worker makes to the repository's git setup (config, hooks, info/attributes)
outlive the run in the user's checkout: each is reported as a ``security`` event (issue 11)."""

from __future__ import annotations

from pathlib import Path

from loopwright.runs.git.gitcmd import git
from loopwright.runs.git.tamper import Watch
from loopwright.runs.store import RunStore

from ...helpers import events_of
from .test_worktree import edits_scenario, run_thread


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


def test_changes_a_worker_makes_to_the_repos_config_hooks_and_attributes_are_security_events(
    store: RunStore, repo: Path, tmp_path: Path
) -> None:
    common = '"$(git rev-parse --git-common-dir)"'
    script = " && ".join([
        "git config filter.evil.clean 'touch x; cat'", "git config core.hooksPath hooks",
        f"printf '#!/bin/sh\\n' > {common}/hooks/pre-commit",
        f"mkdir -p {common}/info && echo '* filter=evil' > {common}/info/attributes",
        "echo hello > new.txt",
    ])  # fmt: skip
    quiet = {"text": "nothing more"}
    spec = edits_scenario(tmp_path, {"text": "x", "run": ["sh", "-c", script]}, quiet,
                          reviewer=[{"json": {"complete": False, "issues": ["more"]}}])  # fmt: skip
    result = run_thread(store, backend=spec, cwd=str(repo), budget={"max_iterations": 2})
    events = events_of(store.paths(result["run_id"]).events)
    [event] = [e for e in events if e["type"] == "security"]  # once: iteration 2 changed none
    assert event["iteration"] == 1
    data = event["data"]
    assert data["keys"] == ["core.hookspath", "filter.evil.clean"]
    assert data["hooks"] == ["pre-commit"]
    git_dir = repo / ".git"
    assert data["files"] == [str(git_dir / "config"), str(git_dir / "info" / "attributes")]
    assert "filter.evil.clean" in data["message"] and "hook pre-commit" in data["message"]
