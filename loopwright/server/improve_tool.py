"""The ``improve`` tool: keep improving code, cycle after cycle, as a run (detached by
default), so ``orchestrate_tail``, ``_status``, ``_result`` and ``_cancel`` work on it;
``--resume``'s ``resume`` goes on from the last good checkpoint of the newest improve run
of the same task in ``cwd``'s repository."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp_types import InputRequiredResult, ToolAnnotations
from pydantic import Field

from ..errors import UserError
from ..runs.improve import build_improve_request, last_improve_run, resume_base
from ..runs.preflight import preflight as check_ready
from ..runs.request import _repo_of
from . import asking, runflow
from . import params as P
from .descriptions import FOLLOW
from .state import check_cwd_absolute, check_cwd_allowed

Ctx = Context[Any, Any]

IMPROVE = f"""Keep improving code for a task, cycle after cycle, until max_cycles, a budget, \
or nothing left to improve. Each cycle: the worker makes one improvement (the task itself \
first) in a git worktree of cwd on branch loopwright/<run_id>; the reviewer reviews the \
change and names the next improvements; the verify commands run. A cycle whose verify \
passes is kept and tagged loopwright/<run_id>/good; one that breaks verify is reverted to \
that tag (its attempt kept on branch loopwright/<run_id>-attempt-<cycle>) and its failure \
goes into the next cycle's prompt. Each cycle is a `cycle` event (the audit trail: change, \
why, verify, verdict, cost); result.extra holds the cycles. {FOLLOW}"""

MaxCycles = Annotated[
    int, Field(ge=0, le=100_000, description="cycles at most; 0: no limit (budgets still bound it)")
]
_Spec = Annotated[str, Field(min_length=1, max_length=4096)]
"""A backend spec (``build_request`` refuses control characters in it, naming the field)."""
Worker = Annotated[_Spec | None, Field(description="the backend that makes each change")]
Reviewer = Annotated[
    _Spec | None, Field(description="reviews each change and names the next improvements")
]
Pause = Annotated[float, Field(ge=0, le=86_400, description="seconds to wait between cycles")]
Resume = Annotated[
    bool,
    Field(description="go on from the last good checkpoint (and next improvement) of the "
          "newest finished improve run of this task in cwd's repository"),
]  # fmt: skip


async def improve(
    task: P.TaskText,
    ctx: Ctx,
    cwd: P.Cwd = None,
    verify_commands: P.Verify = None,
    backend: P.BackendSpec = None,
    worker: Worker = None,
    reviewer: Reviewer = None,
    max_cycles: MaxCycles = 0,
    pause: Pause = 0.0,
    resume: Resume = False,
    max_seconds: P.MaxSeconds = None,
    max_cost_usd: P.MaxCost = None,
    max_agent_calls: P.MaxAgentCalls = None,
    detach: P.Detach = True,
    preflight: P.Preflight = True,
) -> runflow.Reply:
    if cwd:  # before anything looks at the path, as orchestrate does
        check_cwd_absolute(cwd)
        roots = await asking.client_roots(ctx, asking.read_round(ctx))
        if isinstance(roots, InputRequiredResult):
            return roots
        check_cwd_allowed(cwd, roots)
    given: dict[str, Any] = {
        "cwd": cwd, "backend": backend, "verify": verify_commands,
        "workers": [worker] if worker else None, "reviewers": [reviewer] if reviewer else None,
        "budget": {"max_seconds": max_seconds, "max_cost_usd": max_cost_usd,
                   "max_agent_calls": max_agent_calls},
    }  # fmt: skip
    resume_of = None
    if resume:
        if not cwd:
            raise UserError("resume goes on in a repository: give cwd", "resume")
        repo, _ = _repo_of(cwd, True, None)
        store = runflow.server_state(ctx).store
        resume_of, _ = await anyio.to_thread.run_sync(last_improve_run, store, repo, task.strip())
        given["base_ref"] = resume_base(resume_of)
    request = build_improve_request(
        task, max_cycles=max_cycles, pause=pause, resume_of=resume_of, **given
    )
    if preflight:
        await check_ready(request, "preflight=false")
    return await runflow.start(ctx, request, detach)


IMPROVE_TOOLS: list[tuple[Any, str, ToolAnnotations | None]] = [
    (improve, IMPROVE, ToolAnnotations(title="Keep improving code", readOnlyHint=False,
                                       destructiveHint=True, idempotentHint=False,
                                       openWorldHint=True)),
]  # fmt: skip
"""The tool, as ``tools.TOOLS`` lists its own."""
