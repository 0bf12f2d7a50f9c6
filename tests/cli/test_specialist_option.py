"""``loopwright run --specialist TAG=SPEC``: a tagged subgoal goes to SPEC; a bad table
is refused naming the option or the key, creating nothing."""

from __future__ import annotations

import json
from pathlib import Path

from ..helpers import events_of, write_scenario
from .test_cli import cli


def test_run_sends_the_subgoal_the_planner_tags_to_the_specialist_given(
    tmp_path: Path, home: Path
) -> None:
    plan = {"subgoals": [{"id": "c", "title": "code"},
                         {"id": "d", "title": "docs", "tags": ["docs"]}]}  # fmt: skip
    main = write_scenario(tmp_path / "main.json", {"planner": [{"json": plan}]})
    writer = write_scenario(tmp_path / "writer.json", {"worker": ["the writer wrote it"]})
    done = cli("run", "code and docs", "--backend", main, "--specialist", f"docs={writer}",
               "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["run_id"]
    events = events_of(home / "runs" / run_id / "events.jsonl")
    by = {e["data"]["subgoal"]: e["data"]["backend"] for e in events
          if e["type"] == "worker_started"}  # fmt: skip
    assert by == {"c": main, "d": writer}


def test_a_bad_specialist_option_is_refused_naming_it_and_creates_nothing(home: Path) -> None:
    for value, said in (
        ("tests", "--specialist 'tests': give TAG=SPEC"),
        ("tests=nonsense:x", "specialists.tests: unknown backend 'nonsense:x'"),
        ("Tests!=scripted", "specialists: tag 'Tests!'"),
    ):
        done = cli("run", "g", "--specialist", value)
        assert done.returncode == 2 and said in done.stderr, (value, done.stderr)
    assert not (home / "runs").exists()
