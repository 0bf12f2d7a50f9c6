"""``improve`` as a run: cycles kept at a good checkpoint (a tag), a cycle that breaks
verify reverted to it with its attempt kept on a branch and its failure in the next
prompt, a stop asked for mid-cycle honoured after the step, and ``--resume``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from loopwright import AgentRequest, AgentResponse, FunctionBackend
from loopwright.loop.harness import Roles
from loopwright.runs import runner
from loopwright.runs.drive import drive
from loopwright.runs.git.gitcmd import git
from loopwright.runs.improve import ask_to_stop, build_improve_request, resume_base
from loopwright.runs.store import RunStore

from ..helpers import events_of

# verify fails exactly when counter.txt holds 3
VERIFY = [sys.executable, "-c", "import sys; sys.exit(open('counter.txt').read().strip() == '3')"]
TASK = "Count upwards in counter.txt, one step per cycle"


class Counter:
    """A worker that adds one to counter.txt (two after a reverted cycle) and a reviewer
    that always names one more step."""

    def __init__(self, stop: Any = None) -> None:
        self.prompts: list[str] = []
        self.stop = stop

    def roles(self) -> Roles:
        return Roles(
            planner=FunctionBackend(self.review, "function:planner"),
            workers=[FunctionBackend(self.work, "function:worker")],
            reviewers=[FunctionBackend(self.review, "function:reviewer")],
        )

    def work(self, request: AgentRequest) -> AgentResponse:
        self.prompts.append(request.prompt)
        path = Path(request.cwd) / "counter.txt"
        step = 2 if "the last cycle was reverted" in request.prompt else 1
        path.write_text(f"{int(path.read_text()) + step}\n")
        if self.stop is not None and request.iteration == 2:
            self.stop()  # Ctrl-C while the worker of cycle 2 works
        return AgentResponse(text=f"counter now {path.read_text().strip()}", duration=0.1)

    def review(self, request: AgentRequest) -> str:
        return json.dumps({"complete": True, "issues": [], "next_steps": ["count one more"]})


@pytest.fixture
def counted(repo: Path) -> Path:
    (repo / "counter.txt").write_text("0\n")
    git(str(repo), "add", "counter.txt")
    git(str(repo), "commit", "-q", "-m", "counter")
    return repo


async def improve_run(store: RunStore, repo: Path, backends: Counter, **options: Any) -> str:
    request = build_improve_request(TASK, cwd=str(repo), verify=[VERIFY], **options)
    run_id = runner.create_run(store, request)
    with anyio.fail_after(60):
        await drive(store, run_id, roles=backends.roles())
    return run_id


def show(repo: Path, ref: str) -> str:
    return git(str(repo), "show", f"{ref}:counter.txt").strip()


async def test_a_cycle_that_breaks_verify_is_reverted_onto_a_branch_and_its_failure_leads_next(
    store: RunStore, counted: Path
) -> None:
    backends = Counter()
    run_id = await improve_run(store, counted, backends, max_cycles=4)
    result = store.read_result(run_id)
    assert result is not None and result["state"] == "completed" and result["iterations"] == 4
    cycles = result["extra"]["cycles"]
    assert [c["verdict"] for c in cycles] == ["kept", "kept", "reverted", "kept"]
    assert show(counted, f"loopwright/{run_id}/good") == "4"  # the last good checkpoint
    assert show(counted, f"loopwright/{run_id}-attempt-3") == "3"  # the broken attempt, kept
    assert cycles[2]["branch"] == f"loopwright/{run_id}-attempt-3"
    assert cycles[3]["why"].startswith("a fix")
    fourth = backends.prompts[3]
    assert fourth.startswith("Measured by loopwright: the last cycle was reverted.")
    assert "FAIL (exit 1)" in fourth and fourth.index("reverted") < fourth.index(TASK)
    assert "reverted" not in backends.prompts[2]
    events = events_of(store.paths(run_id).events)
    assert [e["data"]["cycle"] for e in events if e["type"] == "cycle"] == [1, 2, 3, 4]
    assert show(counted, f"loopwright/{run_id}") == "4"  # the run's branch: at the good one


async def test_a_stop_asked_for_mid_cycle_settles_that_cycle_and_ends_cancelled(
    store: RunStore, counted: Path
) -> None:
    holder: dict[str, str] = {}
    backends = Counter(stop=lambda: ask_to_stop(store, holder["run"]))
    request = build_improve_request(TASK, cwd=str(counted), verify=[VERIFY])
    holder["run"] = run_id = runner.create_run(store, request)
    with anyio.fail_after(60):
        await drive(store, run_id, roles=backends.roles())
    result = store.read_result(run_id)
    assert result is not None and result["state"] == "cancelled"
    assert [c["verdict"] for c in result["extra"]["cycles"]] == ["kept", "kept"]
    assert "after cycle 2" in result["stop_reason"]
    assert show(counted, f"loopwright/{run_id}/good") == "2"


async def test_resume_goes_on_from_the_last_good_checkpoint_with_the_next_cycle(
    store: RunStore, counted: Path
) -> None:
    first = await improve_run(store, counted, Counter(), max_cycles=2)
    backends = Counter()
    second = await improve_run(store, counted, backends, max_cycles=1, resume_of=first,
                               base_ref=resume_base(first))  # fmt: skip
    result = store.read_result(second)
    assert result is not None
    [cycle] = result["extra"]["cycles"]
    assert (cycle["cycle"], cycle["improvement"]) == (3, "count one more")
    assert cycle["verdict"] == "reverted"  # 2 + 1 is the 3 verify refuses
    assert show(counted, f"loopwright/{second}/good") == "2"


def test_improve_refuses_to_work_in_place_and_bad_cycle_options() -> None:
    from loopwright.errors import UserError

    with pytest.raises(UserError, match="drop --no-isolate"):
        build_improve_request(TASK, isolate=False)
    with pytest.raises(UserError, match="max_cycles"):
        build_improve_request(TASK, max_cycles=-1)
    with pytest.raises(UserError, match="pause"):
        build_improve_request(TASK, pause=-2.0)
