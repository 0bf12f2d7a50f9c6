"""``loopwright memory search|show|forget``, ``run --memory`` and the MCP tool's ``memory``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loopwright.cli import main
from loopwright.runs import runner
from loopwright.runs.store import RunStore

from .scenario import loop_run
from .test_recall import FIRST, SECOND


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    got = capsys.readouterr()
    return code, got.out, got.err


def as_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, _ = cli(capsys, *argv, "--json")
    assert code == 0
    return json.loads(out)


async def test_search_finds_remembered_runs_by_words_and_rows_carry_the_run_id(
    store: RunStore, repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from loopwright.runs.git.scratch import make_scratch_repo

    first, _, _ = await loop_run(store, repo, FIRST)
    other = make_scratch_repo(tmp_path / "other")
    second, _, _ = await loop_run(store, other, SECOND)
    rows = as_json(capsys, "memory", "search", "ISO week dates")["runs"]
    assert [r["run_id"] for r in rows] == [first, second]  # week: the first's goal only
    assert rows[0]["repo"] == str(repo.resolve()) and "Run " in rows[0]["lesson"]
    (repo / "sub").mkdir()  # a folder in the repository names the repository
    rows = as_json(capsys, "memory", "search", "ISO dates", "--repo", str(repo / "sub"))["runs"]
    assert [r["run_id"] for r in rows] == [first]
    code, out, _ = cli(capsys, "memory", "search", "ISO week")
    assert code == 0 and out.splitlines()[0].startswith(first) and FIRST[:40] in out
    code, out, _ = cli(capsys, "memory", "search", "kubernetes")
    assert code == 0 and "no remembered run shares a word" in out


async def test_show_prints_the_lesson_and_json_the_whole_record(
    store: RunStore, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id, _, _ = await loop_run(store, repo, FIRST)
    code, out, _ = cli(capsys, "memory", "show", run_id)
    assert code == 0 and out.startswith(f"Run {run_id} ") and "failed in iteration 1" in out
    record = as_json(capsys, "memory", "show", run_id)
    assert record["run_id"] == run_id and record["verify"][0]["fixed_in"] == 2
    assert record["lesson"].startswith(f"Run {run_id}")
    code, _, err = cli(capsys, "memory", "show", "20200101-000000000-abcdef")
    assert code == 2 and "remembers no run 20200101-000000000-abcdef" in err
    code, _, err = cli(capsys, "memory", "show", "../x")
    assert code == 2 and "is not a run id" in err


async def test_forget_a_run_or_a_whole_repository_and_nothing_without_saying_which(
    store: RunStore, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _, _ = await loop_run(store, repo, FIRST)
    second, _, _ = await loop_run(store, repo, SECOND)
    assert as_json(capsys, "memory", "forget", first) == {"forgotten": 1}
    rows = as_json(capsys, "memory", "search", "parse_date ISO")["runs"]
    assert [r["run_id"] for r in rows] == [second]
    code, out, _ = cli(capsys, "memory", "forget", "--repo", str(repo))
    assert code == 0 and out.strip() == "forgot 1 run(s)"
    assert as_json(capsys, "memory", "search", "parse_date")["runs"] == []
    assert store.paths(first).events.exists()  # the run itself stays
    for argv in (["memory", "forget"], ["memory", "forget", first, "--repo", str(repo)]):
        code, _, err = cli(capsys, *argv)
        assert code == 2 and "forget RUN or --repo PATH" in err


def test_run_takes_memory_off_repo_all_into_its_request(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    for word in ("off", "repo", "all"):
        code, out, _ = cli(capsys, "run", "g", "--memory", word, "--detach", "--json")
        assert code == 0
        started = json.loads(out)  # the CLI keeps its first state dir: ask the run's own
        store = RunStore(Path(started["run_dir"]).parent.parent)
        assert store.read_request(started["run_id"])["memory"] == word
        assert runner.wait(store, started["run_id"], timeout=30)["state"] == "completed"
    with pytest.raises(SystemExit):
        main(["run", "g", "--memory", "some"])
    assert "{off,repo,all}" in capsys.readouterr().err
