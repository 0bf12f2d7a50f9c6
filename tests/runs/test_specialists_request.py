"""The specialists table of a run: tag -> backend spec from the caller (``--specialist
TAG=SPEC``, MCP ``specialists``) over the config files' ``[specialists]``, tag by tag;
each spec checked at the start naming its key; a repository's file may not name a cli
backend; a detached run sends the tagged subgoal to its specialist."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopwright.errors import UserError
from loopwright.runs import runner
from loopwright.runs.defaults import settings, with_defaults
from loopwright.runs.request import build_request
from loopwright.runs.store import RunStore

from ..helpers import events_of, write_scenario


@pytest.fixture
def user_config(tmp_path: Path) -> Path:
    path = tmp_path / "xdg-config" / "loopwright" / "config.toml"
    path.parent.mkdir(parents=True)
    return path


def test_an_unknown_spec_in_the_table_is_refused_at_the_start_naming_its_key(
    tmp_path: Path, user_config: Path
) -> None:
    with pytest.raises(UserError) as given:
        build_request("g", specialists={"tests": "nonsense:model"})
    assert given.value.field == "specialists.tests" and "unknown backend" in str(given.value)
    with pytest.raises(UserError) as tag:
        build_request("g", specialists={"Tests!": "scripted"})
    assert tag.value.field == "specialists"
    user_config.write_text('[specialists]\ndocs = "scripted"\ntests = "nonsense:model"\n')
    with pytest.raises(UserError) as filed:
        build_request("g", **with_defaults(None, {}))
    said = str(filed.value)
    assert f"user file {user_config}" in said and "specialists.tests = 'nonsense:model'" in said
    assert "unknown backend" in said
    user_config.write_text("[specialists]\ntests = 3\n")
    with pytest.raises(UserError, match=r"specialists\.tests = 3: give a backend spec"):
        with_defaults(None, {})


def test_the_callers_specialists_go_over_the_files_tag_by_tag(
    repo: Path, user_config: Path
) -> None:
    user_config.write_text('[specialists]\ndocs = "scripted"\ntests = "scripted"\n')
    (repo / ".loopwright.toml").write_text('[specialists]\ninfra = "scripted"\n')
    mine = write_scenario(repo.parent / "mine.json", {})
    given = {"cwd": str(repo), "specialists": {"tests": mine}}
    request = build_request("g", **with_defaults(str(repo), given))
    assert request.specialists == {"tests": mine, "docs": "scripted", "infra": "scripted"}
    shown = settings(str(repo))
    assert shown["specialists.infra"] == ("scripted", f"repo file {repo / '.loopwright.toml'}")


def test_a_repositorys_file_may_not_name_a_cli_backend_as_a_specialist(repo: Path) -> None:
    (repo / ".loopwright.toml").write_text('[specialists]\ntests = "cli:sh -c true"\n')
    with pytest.raises(UserError) as refused:
        with_defaults(str(repo), {"cwd": str(repo)})
    assert "specialists.tests" in str(refused.value) and "may not name a cli" in str(refused.value)


def test_a_detached_run_sends_the_subgoal_the_scripted_planner_tags_to_its_specialist(
    store: RunStore, tmp_path: Path
) -> None:
    plan = {"subgoals": [
        {"id": "code", "title": "write the code"},
        {"id": "tests", "title": "write the tests", "tags": ["tests"]},
    ]}  # fmt: skip
    main = write_scenario(tmp_path / "main.json", {
        "planner": [{"json": plan}],
        "worker": [{"text": "main wrote code.txt", "edits": [{"path": "code.txt", "write": "c"}]}],
    })  # fmt: skip
    tester = write_scenario(tmp_path / "tester.json", {
        "worker": [{"text": "tester wrote it", "edits": [{"path": "t.txt", "write": "t"}]}],
    })  # fmt: skip
    request = build_request("code and tests", backend=main, specialists={"tests": tester},
                            criteria=["both files exist"])  # fmt: skip
    run_id = runner.start(store, request)
    status = runner.wait(store, run_id, timeout=60)
    assert status["state"] == "completed", status.get("error")
    events = events_of(store.paths(run_id).events)
    started = {e["data"]["subgoal"]: e["data"] for e in events if e["type"] == "worker_started"}
    assert started["tests"]["backend"] == tester and started["code"]["backend"] == main
    assert started["tests"]["route"] == "specialist for tag 'tests'"
    finished = [e["data"] for e in events if e["type"] == "worker_finished"]
    assert {d["subgoal"]: d["preview"] for d in finished} == {
        "code": "main wrote code.txt", "tests": "tester wrote it"}  # fmt: skip
