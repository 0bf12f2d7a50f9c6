"""``loopwright rm``, ``gc`` and ``merge --cleanup`` as a person types them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loopwright.cli import commands
from loopwright.cli.cleanup_cmd import parse_age
from loopwright.errors import UserError
from loopwright.loop.vocab import LIVE_STATES
from loopwright.runs import runner
from loopwright.runs.git.gitcmd import git
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ..helpers import write_scenario

FEATURE = {"worker": [{"text": "x", "edits": [{"path": "feature.txt", "write": "done\n"}]}]}


@pytest.fixture(autouse=True)
def fresh_store() -> Iterator[None]:
    commands._STORE = None  # the CLI keeps its store per process; each test has its own home
    yield
    commands._STORE = None


def lw(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = commands.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def finished(store: RunStore, tmp_path: Path, repo: Path, scenario: dict[str, Any]) -> str:
    spec = write_scenario(tmp_path / "s.json", scenario)
    run = runner.start_thread(store, build_request("a feature", backend=spec, cwd=str(repo)))
    assert run.wait(30)["state"] not in LIVE_STATES
    return run.run_id


def test_rm_says_what_it_kept_and_how_to_go_on_then_force_removes_it(
    store: RunStore, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = finished(store, tmp_path, repo, FEATURE)
    code, out, _ = lw(capsys, "rm", run_id)
    assert code == 1
    assert f"removed worktree {store.home}/worktrees/{run_id} of run {run_id}" in out
    assert f"kept branch loopwright/{run_id} of run {run_id}: " in out
    assert f"merge it (loopwright merge {run_id}) or remove it with --force" in out
    code, out, _ = lw(capsys, "rm", run_id, "--force", "--json")
    assert code == 0
    report = json.loads(out)
    assert {i["kind"] for i in report["removed"]} == {"branch", "run"} and not report["kept"]
    assert "unmerged" in report["removed"][0]["note"]


def test_rm_refuses_an_unknown_run_before_removing_any(
    store: RunStore, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = finished(store, tmp_path, repo, {"worker": [{"text": "nothing"}]})
    code, _, err = lw(capsys, "rm", run_id, "20261123-071300123-a3f9c2")
    assert code == 2 and "no run '20261123-071300123-a3f9c2'" in err
    assert store.paths(run_id).root.exists()
    code, _, err = lw(capsys, "rm", "../etc")
    assert code == 2 and "RUN '../etc' is not a run id" in err


def test_gc_dry_run_lists_and_changes_nothing_then_gc_removes(
    store: RunStore, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = finished(store, tmp_path, repo, FEATURE)
    assert lw(capsys, "merge", run_id)[0] == 0
    code, out, _ = lw(capsys, "gc", "--dry-run")
    assert code == 0 and f"would remove branch loopwright/{run_id}" in out
    assert "3 would remove, 0 kept" in out and store.paths(run_id).root.exists()
    code, out, _ = lw(capsys, "gc", "--older-than", "1d")
    assert out.strip() == "nothing to clean up"
    code, out, _ = lw(capsys, "gc", "--merged", "--state", "completed")
    assert "3 removed, 0 kept" in out and not store.paths(run_id).root.exists()


def test_merge_cleanup_merges_then_removes_the_run(
    store: RunStore, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = finished(store, tmp_path, repo, FEATURE)
    code, out, _ = lw(capsys, "merge", run_id, "--squash", "--cleanup")
    assert code == 0, out
    assert (
        f"squashed run {run_id} into main" in out and f"removed branch loopwright/{run_id}" in out
    )
    assert (repo / "feature.txt").read_text() == "done\n"
    assert git(repo, "branch", "--list", "loopwright/*") == ""
    assert not store.paths(run_id).root.exists()


def test_merging_an_already_merged_run_is_no_error(
    store: RunStore, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = finished(store, tmp_path, repo, FEATURE)
    assert lw(capsys, "merge", run_id)[0] == 0
    code, out, err = lw(capsys, "merge", run_id)
    assert (code, err) == (0, "")
    assert out.strip() == f"run {run_id} is already merged into main: nothing to do"
    code, out, _ = lw(capsys, "merge", run_id, "--json")
    assert code == 0 and json.loads(out)["already"] is True


@pytest.mark.parametrize(("text", "seconds"), [("7d", 604800), ("12h", 43200), ("2w", 1209600),
                                               ("30m", 1800), ("1.5h", 5400)])  # fmt: skip
def test_ages_take_a_unit(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["7", "-1d", "d", "7 days", ""])
def test_an_age_without_a_unit_is_refused_naming_the_option(text: str) -> None:
    with pytest.raises(UserError, match=f"--older-than {text!r}: give a number and a unit"):
        parse_age(text)
