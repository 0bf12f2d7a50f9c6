"""What the terminal shows: the lines that explain a failure, what reviewers still want,
the work of every iteration, and a list with a header and a repo column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loopwright.cli.view import explain, format_event, format_list, format_result, next_steps
from loopwright.loop.vocab import Event
from loopwright.runs.index import IndexRow

PYTEST = """\
F..                                                                      [100%]
=================================== FAILURES ===================================
_____________ StatsTest.test_mean_of_integers_that_do_not_divide_evenly ______________

self = <tests.test_stats.StatsTest testMethod=test_mean>

    def test_mean_of_integers_that_do_not_divide_evenly(self):
>       self.assertEqual(mean([1, 2]), 1.5)
E       AssertionError: 1 != 1.5

tests/test_stats.py:8: AssertionError
=========================== short test summary info ============================
FAILED tests/test_stats.py::StatsTest::test_mean - AssertionError: 1 != 1.5
1 failed, 2 passed in 0.03s
"""


def event(type: str, iteration: int, **data: Any) -> Event:
    return {"seq": 0, "ts": 0.0, "type": type, "iteration": iteration, "data": data}  # type: ignore[typeddict-item]


def test_a_failed_verify_shows_its_first_error_and_its_summary() -> None:
    assert explain(PYTEST) == ["E       AssertionError: 1 != 1.5", "1 failed, 2 passed in 0.03s"]
    assert explain("src/a.c:3:1: error: expected ';'\n1 error generated.") == [
        "src/a.c:3:1: error: expected ';'",
        "1 error generated.",
    ]
    assert explain("just one line") == ["just one line"]
    shown = format_event(event("verify_finished", 1, results=[
        {"argv": ["pytest"], "passed": False, "exit_code": 1, "output_tail": PYTEST}]))  # fmt: skip
    assert "FAIL (exit 1) — E AssertionError: 1 != 1.5 … 1 failed, 2 passed in 0.03s" in shown


def test_a_stopped_run_shows_what_the_reviewers_still_wanted_and_why_verify_failed() -> None:
    result = {
        "state": "stopped",
        "summary": "stopped after 2 iteration(s): budget",
        "verify": [{"argv": ["pytest"], "passed": False, "output": PYTEST}],
        "verdicts": [
            {"complete": False, "issues": ["median is wrong for even lists"], "reviewer": "r1"},
            {"complete": True, "issues": [], "reviewer": "r2"},
        ],
    }
    text = format_result(result)
    assert "  verify pytest: FAIL\n    E AssertionError: 1 != 1.5\n    1 failed, 2 passed" in text
    assert "  reviewer r1 says not complete:\n    - median is wrong for even lists" in text
    assert "r2" not in text
    assert "says not complete" not in format_result({**result, "state": "completed"})


def test_the_summary_lists_the_work_of_every_iteration() -> None:
    events = [
        event("worker_finished", 1, subgoal="s1", status="failed", title="Fix mean"),
        event("worker_finished", 1, subgoal="s1", status="ok", title="Fix mean"),
        event("iteration_finished", 1, passed=False, reasons=["verify failed: pytest"]),
        event("worker_finished", 2, subgoal="s2", status="ok", title="Fix median"),
        event("iteration_finished", 2, passed=True, reasons=[]),
    ]
    text = format_result({"state": "completed", "summary": "done"}, events)
    assert (
        "  iteration 1: did not pass: verify failed: pytest\n    [ok] Fix mean\n"
        "  iteration 2: passed\n    [ok] Fix median"
    ) in text


def test_a_run_that_committed_ends_with_the_diff_and_merge_hint() -> None:
    ws = {"branch": "loopwright/x", "commits": 2, "base_branch": "main"}
    hint = next_steps("RUN", {"workspace": ws})
    assert "loopwright diff RUN" in hint and "loopwright merge RUN --cleanup" in hint
    assert "bring it into main" in hint
    assert "loopwright rm RUN" in next_steps("RUN", {"workspace": {**ws, "commits": 0}})


def row(run_id: str, cwd: str, goal: str) -> IndexRow:
    return {"run_id": run_id, "state": "completed", "created_at": 0.0, "updated_at": 0.0,
            "goal": goal, "cwd": cwd, "backend": "scripted"}  # fmt: skip


def test_list_has_a_header_a_repo_column_and_cuts_goals_only_to_the_terminal(
    tmp_path: Path,
) -> None:
    scratch = tmp_path / "scratch"
    rows = [row("20261123-071300123-a3f9c2", "/src/mylib/sub", "g " * 100),
            row("20261123-071300124-a3f9c3", str(scratch / "x"), "short")]  # fmt: skip
    head, first, second = format_list(rows, scratch, width=120)
    assert head.split() == ["RUN", "STATE", "STARTED", "REPO", "GOAL"]
    assert "  sub  " in first and len(first) <= 120 and first.endswith("…")
    assert "(scratch)" in second
    wide = format_list(rows, scratch, width=None)[1]  # a pipe: the whole goal
    assert wide.endswith(("g " * 100).strip())
