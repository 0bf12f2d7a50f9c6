"""An improving run (``loop.patterns.improve``) as a run: its request, its stop file, the
run that ``--resume`` goes on from, and the ``PatternRun`` that drives it over the run's
worktree (``git.goodmark``) and verify runner.

A stop asked for by ``stop_file`` (the CLI's first Ctrl-C writes it) ends the run after
the step under way, with its checkpoint settled: ``cancelled``, at the last good
checkpoint. ``cancel`` stops it at once, as any run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserError
from ..fsmodes import write_private
from ..loop.harness import Roles
from ..loop.patterns.improve import ImproveOptions, ImproveResult, improve
from ..loop.types import RunResult
from ..loop.verify import run_verify
from ..loop.vocab import LIVE_STATES
from ..process.runner import PlainRunner, ProcessRunner
from .git.goodmark import GoodCheckpoints, good_tag
from .git.worktree import Workspace
from .patterns import PatternRun
from .recorder import RunRecorder
from .request import RunRequest, build_request
from .store import RunStore

__all__ = ["ImproveRun", "build_improve_request", "last_improve_run", "stop_file"]


def stop_file(store: RunStore, run_id: str) -> Path:
    return store.paths(run_id).root / "stop"


def ask_to_stop(store: RunStore, run_id: str) -> None:
    """Ask ``run_id`` to stop after the step under way (its checkpoint settled)."""
    write_private(stop_file(store, run_id), b"stop\n")


def last_improve_run(store: RunStore, repo: str | None, task: str) -> tuple[str, dict[str, Any]]:
    """The newest finished improving run of ``task`` in ``repo``, and its result: where
    ``--resume`` goes on. Raises ``UserError`` when there is none."""
    for row in store.index.list(limit=500):
        if row["state"] in LIVE_STATES:
            continue
        request = store.read_request(row["run_id"])
        result = store.read_result(row["run_id"]) or {}
        if (
            request.get("pattern") == "improve"
            and request.get("repo") == repo
            and (request["loop"]["goal"] == task)
        ):
            return row["run_id"], result
    raise UserError(f"no finished improve run of this task in {repo or 'a scratch repo'} to "
                    "resume; start one without --resume", "resume")  # fmt: skip


def build_improve_request(
    task: str,
    *,
    max_cycles: int = 0,
    pause: float = 0.0,
    resume_of: str | None = None,
    **given: Any,
) -> RunRequest:
    """An improving run's request: ``build_request``'s checks (``given`` are its keywords;
    the first worker improves, the first reviewer reviews) and the cycles' options."""
    if given.get("isolate") is False:
        raise UserError("improve works in a git worktree (it reverts cycles); drop "
                        "--no-isolate", "isolate")  # fmt: skip
    if not 0 <= max_cycles <= 100_000 or isinstance(max_cycles, bool):
        raise UserError(f"max_cycles {max_cycles!r}: give 0 (no limit) to 100,000", "max_cycles")
    if not 0 <= pause <= 86_400 or isinstance(pause, bool):
        raise UserError(f"pause {pause!r}: give 0 to 86,400 seconds", "pause")
    request = build_request(task, **given)
    options = ImproveOptions(max_cycles=max_cycles, pause=float(pause), resume_of=resume_of)
    return request.model_copy(update={"pattern": "improve", "improve": options})


class ImproveRun(PatternRun):
    """``PatternRun`` for ``improve``: the worktree with its good checkpoints, the verify
    commands on the run's verify runner, and the stop file."""

    def __init__(
        self,
        request: RunRequest,
        roles: Roles,
        recorder: RunRecorder,
        ws: Workspace | None,
        runner: ProcessRunner | None = None,
    ) -> None:
        super().__init__(request, roles, recorder, ws)
        self.runner = runner or PlainRunner()
        self.stop_path = recorder.paths.root / "stop"

    async def _pattern(self) -> ImproveResult:
        r, loop = self.request, self.request.loop
        if self.ws is None:
            raise UserError("improve needs a git worktree; run it in a repository", "cwd")
        first, improvement = 1, None
        if r.improve.resume_of:
            first, improvement = self._resumed(r.improve.resume_of)

        async def verify() -> Any:
            return await run_verify(loop.verify_commands, loop.cwd, loop.verify_timeout,
                                    self.runner, loop.verify_env)  # fmt: skip

        return await improve(
            loop.goal, self.roles.workers[0], self.roles.reviewers[0], verify=verify,
            workspace=GoodCheckpoints(self.ws), max_cycles=r.improve.max_cycles,
            pause=r.improve.pause, stop=self.stop_path.exists, first_cycle=first,
            improvement=improvement, ctx=self.ctx,
        )  # fmt: skip

    def _resumed(self, run_id: str) -> tuple[int, str | None]:
        extra = (self.recorder.store.read_result(run_id) or {}).get("extra") or {}
        cycles = extra.get("cycles") or []
        return (cycles[-1]["cycle"] + 1 if cycles else 1), extra.get("next")

    def _as_run_result(self, outcome: Any) -> RunResult:
        result = super()._as_run_result(outcome)
        result.iterations = len(getattr(outcome, "cycles", []))
        return result


def resume_base(run_id: str) -> str:
    """Where a resumed improvement starts: the old run's last good checkpoint."""
    return f"refs/tags/{good_tag(run_id)}"
