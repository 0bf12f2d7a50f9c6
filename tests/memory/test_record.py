"""A run's memory from its event log: the verify failures and the change that fixed them,
each subgoal's outcome, the last reviewers' issues, the final diff stat and the cost."""

from __future__ import annotations

from typing import Any

from loopwright.memory.lesson import lesson_text
from loopwright.memory.record import RunMemory, record_of, repo_key

PY = "/usr/bin/python3"


def ev(type: str, iteration: int, **data: Any) -> dict[str, Any]:
    return {"type": type, "iteration": iteration, "data": data}


def verify(*results: tuple[str, bool, str]) -> dict[str, Any]:
    rows = [{"argv": [PY, "-m", c], "passed": ok, "output_tail": out} for c, ok, out in results]
    return {"passed": all(r["passed"] for r in rows), "results": rows}


def plan(*titles: str) -> dict[str, Any]:
    return {"subgoals": [{"id": f"s{n}", "title": t} for n, t in enumerate(titles)]}


EVENTS = [
    ev("intake", 0, criteria=["pytest passes"], drafted=False),
    ev("plan", 1, **plan("Parse week dates")),
    ev("worker_finished", 1, subgoal="s0", title="Parse week dates", status="failed",
       attempt=1, error="edit tool failed"),
    ev("worker_finished", 1, subgoal="s0", title="Parse week dates", status="ok", attempt=2),
    ev("verify_finished", 1, **verify(("pytest", False, "E  KeyError: 'W'"), ("mypy", False, "x"))),
    ev("review", 1, verdicts=[{"complete": False, "issues": ["W prefix unhandled"]}]),
    ev("checkpoint", 1, sha="a", files=[{"status": "M", "path": "dates.py"}]),
    ev("plan", 2, **plan("Strip the W prefix", "Add a test")),
    ev("verify_finished", 2, **verify(("pytest", True, "ok"), ("mypy", False, "still"))),
    ev("review", 2, verdicts=[{"complete": False, "issues": ["mypy: dates.py:3 untyped"]}]),
    ev("checkpoint", 2, sha="b", files=[{"status": "M", "path": "dates.py"},
                                         {"status": "A", "path": "test_w.py"}]),
]  # fmt: skip
REQUEST = {"repo": "/srv/repo", "loop": {"goal": "Accept ISO week dates", "cwd": "/srv/repo/sub"}}
RESULT = {
    "state": "stopped",
    "stop_reason": "budget: max_iterations=2 reached",
    "iterations": 2,
    "usage": {"input_tokens": 1200, "output_tokens": 300, "cost_usd": 0.04213},
    "workspace": {"changed_files": [{"status": "M", "path": "dates.py"}]},
}


def made() -> RunMemory:
    return record_of("20260101-000000000-abcdef", REQUEST, EVENTS, RESULT, 1.7e9)


def test_a_verify_failure_is_kept_with_the_iteration_and_change_that_fixed_it() -> None:
    pytest_fix, mypy_fix = made().verify
    assert (pytest_fix.command, pytest_fix.failed_in, pytest_fix.fixed_in) == (
        "python3 -m pytest", 1, 2,
    )  # fmt: skip
    assert pytest_fix.output_tail == "E  KeyError: 'W'"
    assert pytest_fix.change == ["Strip the W prefix", "Add a test"]
    assert pytest_fix.files == ["M dates.py", "A test_w.py"]
    assert (mypy_fix.failed_in, mypy_fix.fixed_in, mypy_fix.output_tail) == (1, None, "still")


def test_a_retried_subgoal_keeps_its_last_attempt_and_only_the_last_issues_are_kept() -> None:
    m = made()
    [s] = m.subgoals
    assert (s.status, s.attempts, s.error) == ("ok", 2, None)
    assert m.issues == ["mypy: dates.py:3 untyped"]  # iteration 1's were dealt with
    events = [e for e in EVENTS if e["type"] != "review" or e["iteration"] == 1]
    events.append(ev("review", 2, verdicts=[{"complete": True, "issues": []}]))
    assert record_of("r", REQUEST, events, RESULT, 0.0).issues == []
    assert m.plans == [["Parse week dates"], ["Strip the W prefix", "Add a test"]]


def test_the_record_carries_repo_diff_stat_and_cost_and_survives_json() -> None:
    m = made()
    assert m.repo == "/srv/repo" and m.criteria == ["pytest passes"]
    assert (m.files, m.files_changed, m.tokens, m.cost_usd) == (["M dates.py"], 1, 1500, 0.0421)
    assert RunMemory.from_json(m.to_json()) == m


def test_the_lesson_says_what_failed_what_fixed_it_and_why_the_run_stopped() -> None:
    text = lesson_text(made())
    assert text.startswith("Run 20260101-000000000-abcdef (2023-11-14): stopped after 2")
    assert "Stopped because: budget: max_iterations=2 reached" in text
    assert (
        "Verify `python3 -m pytest` failed in iteration 1 (its output ended: …E KeyError: 'W'); "
        "it passed in iteration 2 after: Strip the W prefix; Add a test (changed M dates.py, "
        "A test_w.py)"
    ) in text
    assert (
        "Verify `python3 -m mypy` failed in iteration 1 (its output ended: …still); it still"
        in text
    )
    assert "Reviewer issues (last): mypy: dates.py:3 untyped" in text
    assert "Final change: 1 file(s): M dates.py" in text and "$0.04, 1,500 tokens" in text


def test_a_run_outside_git_is_filed_under_its_working_dir_a_scratch_run_under_its_repo() -> None:
    assert repo_key({"loop": {"cwd": "/tmp/../tmp/x"}}, {}) == "/tmp/x"
    assert repo_key({"loop": {"cwd": ""}}, {"workspace": {"repo": "/s/scratch"}}) == "/s/scratch"


def test_a_damaged_event_is_left_out_not_fatal() -> None:
    events = [{"type": "plan", "iteration": 1, "data": None}, *EVENTS[:2]]
    assert record_of("r", REQUEST, events, {}, 0.0).plans == [["Parse week dates"]]
