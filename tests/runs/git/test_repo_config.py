"""Repository config never runs: programs a worker plants in ``.git/config`` (filters,
merge drivers, external diff, textconv, pager) do not run from loopwright's git calls,
and the calls still do their work (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopwright.runs.git.gitcmd import git
from loopwright.runs.git.merge import diff, merge
from loopwright.runs.store import RunStore

from ...process.recording import RecordingRunner
from .test_worktree import edits_scenario, run_thread

LINES = "".join(f"line {i}\n" for i in range(1, 11))


def plant(markers: Path, driver: str = "evil") -> str:
    """A worker's shell script: each program writes its marker (naming the git command
    that ran it) when it runs."""
    mark = markers.parent / "mark"
    git_pid = "$(awk '/^PPid/ {print $2}' /proc/$PPID/status)"  # sh -c's parent
    mark.write_text(f'#!/bin/sh\ntr "\\0" " " </proc/{git_pid}/cmdline >>"{markers}/$1"\n')
    mark.chmod(0o755)
    programs = {
        f"filter.{driver}.clean": "clean; cat",
        f"filter.{driver}.smudge": "smudge; cat",
        "diff.external": "external",
        f"diff.{driver}.textconv": "textconv; cat",
        f"merge.{driver}.driver": "merge; false",
        "core.pager": "pager; cat",
    }
    sets = [f"git config '{key}' '{mark} {cmd}'" for key, cmd in programs.items()]
    attrs = f"* filter={driver} diff={driver} merge={driver}"
    return " && ".join([*sets, f"echo '{attrs}' > .gitattributes", "echo hello > new.txt",
                        "sed -i 's/^line 10$/line ten/' notes.txt"])  # fmt: skip


@pytest.fixture
def notes_repo(repo: Path) -> Path:
    (repo / "notes.txt").write_text(LINES)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "notes")
    return repo


@pytest.mark.parametrize("driver", ["evil", "a=b"])
def test_programs_a_worker_plants_in_the_repo_config_never_run_from_our_git(
    store: RunStore, notes_repo: Path, tmp_path: Path, driver: str
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    spec = edits_scenario(tmp_path, {"text": "x", "run": ["sh", "-c", plant(markers, driver)]})
    result = run_thread(store, backend=spec, cwd=str(notes_repo))  # checkpoint and summary
    assert result["state"] == "completed", result
    assert not list(markers.iterdir())
    ws = result["workspace"]
    assert {f["path"] for f in ws["changed_files"]} == {".gitattributes", "new.txt", "notes.txt"}
    assert git(notes_repo, "show", f"{ws['branch']}:new.txt") == "hello\n"

    patch = diff(store, result["run_id"])["patch"]
    assert "+hello" in patch and "-line 10\n+line ten" in patch  # the real patch, not ""

    (notes_repo / "notes.txt").write_text(LINES.replace("line 1\n", "line one\n", 1))
    git(notes_repo, "commit", "-q", "-am", "the user's own change")
    merged = merge(store, result["run_id"])  # both changed notes.txt: a three-way merge
    assert merged["merged"] is True
    assert (notes_repo / "notes.txt").read_text().startswith("line one\n")
    assert (notes_repo / "notes.txt").read_text().endswith("line ten\n")
    assert (notes_repo / "new.txt").read_text() == "hello\n"
    assert {p.name: p.read_text() for p in markers.iterdir()} == {}


def test_a_filter_from_the_users_own_config_still_runs_where_the_repo_redefines_it(
    notes_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = tmp_path / "gitconfig"
    own.write_text('[filter "up"]\n\tclean = tr a-z A-Z\n')
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(own))
    marker = tmp_path / "planted"
    git(notes_repo, "config", "filter.up.clean", f"touch {marker}; cat")
    (notes_repo / ".gitattributes").write_text("*.up filter=up\n")
    (notes_repo / "a.up").write_text("quiet\n")
    git(notes_repo, "add", "-A")
    assert git(notes_repo, "show", ":a.up") == "QUIET\n"  # the user's filter ran
    assert not marker.exists()


def test_only_calls_that_could_run_a_program_look_at_the_config_first(notes_repo: Path) -> None:
    from loopwright.runs.git.gitcmd import git_runner

    recording = RecordingRunner()
    with git_runner(recording):
        git(notes_repo, "rev-parse", "HEAD")
        git(notes_repo, "write-tree")
        git(notes_repo, "add", "-A")
        git(notes_repo, "diff-index", "--cached", "HEAD")
        git(notes_repo, "status", "--porcelain")
    assert recording.git() == ["rev-parse", "config", "write-tree", "config", "add",
                               "diff-index", "config", "status"]  # fmt: skip
