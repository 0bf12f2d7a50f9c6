"""The tools: thin typed functions over ``loopwright.runs`` (all async; waits never block)."""

from __future__ import annotations

from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import InputRequiredResult, ToolAnnotations

from ..loop.vocab import LIVE_STATES
from ..runs import runner
from ..runs.eventlog import read_events
from ..runs.ids import check_run_id
from ..runs.index import IndexRow
from ..runs.preflight import preflight as check_ready
from ..runs.request import build_request
from . import asking, descriptions, runflow
from . import params as P
from .models import (
    BackendRow,
    BackendsReply,
    CancelReply,
    DiffReply,
    DoctorReply,
    ListReply,
    MergeReply,
    ResultReply,
    RunReply,
    RunRow,
    StatusReply,
    TailReply,
)
from .pattern_tools import PATTERN_TOOLS
from .state import (
    check_cwd_absolute,
    check_cwd_allowed,
    mapped,
    next_step,
    questions_of,
)
from .waiting import HEARTBEAT, not_live, wait_for_events, wait_until

Ctx = Context[Any, Any]


async def orchestrate(
    goal: P.Goal,
    ctx: Ctx,
    success_criteria: P.Criteria = None,
    backend: P.BackendSpec = None,
    planner: P.Planner = None,
    workers: P.Workers = None,
    reviewers: P.Reviewers = None,
    review_quorum: P.Quorum = "all",
    cwd: P.Cwd = None,
    verify_commands: P.Verify = None,
    verify_env: P.VerifyEnv = None,
    max_iterations: P.MaxIterations = None,
    max_seconds: P.MaxSeconds = None,
    max_cost_usd: P.MaxCost = None,
    isolate: P.Isolate = True,
    questions: P.Questions = "auto",
    detach: P.Detach = True,
    preflight: P.Preflight = True,
) -> RunReply | InputRequiredResult:
    earlier = asking.read_round(ctx)
    if earlier and earlier.step == asking.ANSWERS and earlier.run_id:
        return await runflow.answered_round(ctx, earlier.run_id, detach)
    if cwd:  # before anything looks at the path: a dir outside the roots stays unprobed
        check_cwd_absolute(cwd)
        roots = await asking.client_roots(ctx, earlier)
        if isinstance(roots, InputRequiredResult):
            return roots
        check_cwd_allowed(cwd, roots)
    request = build_request(
        goal,
        criteria=success_criteria,
        backend=backend,
        planner=planner,
        workers=workers,
        reviewers=reviewers,
        cwd=cwd,
        verify=verify_commands,
        verify_env=verify_env,
        questions=questions,
        review_quorum=review_quorum,
        isolate=isolate,
        budget={
            "max_iterations": max_iterations,
            "max_seconds": max_seconds,
            "max_cost_usd": max_cost_usd,
        },
    )
    if preflight:
        await check_ready(request, "preflight=false")
    return await runflow.start(ctx, request, detach)


async def orchestrate_resume(
    run_id: P.RunId, ctx: Ctx, answers: P.Answers = None, detach: P.Detach = True
) -> RunReply | InputRequiredResult:
    earlier = asking.read_round(ctx)
    if earlier and earlier.step == asking.ANSWERS and earlier.run_id == run_id:
        return await runflow.answered_round(ctx, run_id, detach)
    st = runflow.server_state(ctx)
    check_run_id(run_id)
    status = runner.refresh(st.store, run_id)
    if status["state"] == "needs_input" and not answers and asking.can_elicit(ctx):
        return await runflow.ask(ctx, run_id, status, detach)
    await anyio.to_thread.run_sync(runner.resume, st.store, run_id, answers)
    return await runflow.carry_on(ctx, run_id, detach, wait_intake=False)


async def orchestrate_tail(
    run_id: P.RunId,
    ctx: Ctx,
    cursor: P.Cursor = None,
    limit: P.Limit = 200,
    wait: P.TailWait = 0,
) -> TailReply:
    store = runflow.server_state(ctx).store
    check_run_id(run_id)
    events = store.existing(run_id).events
    if wait:
        await wait_for_events(store, run_id, cursor, wait)
    page = read_events(events, cursor, limit)
    status = runner.refresh(store, run_id)
    return TailReply(
        run_id=run_id,
        events=page.events,
        cursor=page.cursor,
        more=page.more,
        running=status["state"] in LIVE_STATES,
        state=status["state"],
    )


async def orchestrate_status(run_id: P.RunId, ctx: Ctx) -> StatusReply:
    store = runflow.server_state(ctx).store
    check_run_id(run_id)
    s = runner.refresh(store, run_id)
    return StatusReply(
        run_id=run_id,
        state=s["state"],
        running=s["state"] in LIVE_STATES,
        resume_at=s.get("resume_at"),
        phase=s.get("phase") or "",
        iteration=int(s.get("iteration") or 0),
        goal=s.get("goal") or "",
        elapsed=float(s.get("elapsed") or 0),
        updated_at=float(s.get("updated_at") or 0),
        usage=s.get("usage") or {},
        questions=questions_of(s),
        error=s.get("error"),
    )


async def orchestrate_result(
    run_id: P.RunId, ctx: Ctx, wait: P.ResultWait = False, timeout: P.Timeout = 600
) -> ResultReply:
    store = runflow.server_state(ctx).store
    check_run_id(run_id)
    report = runflow.progress_reporter(ctx)
    status = runner.refresh(store, run_id)
    deadline = anyio.current_time() + (timeout if wait else 0)
    while status["state"] in LIVE_STATES and anyio.current_time() < deadline:
        chunk = min(HEARTBEAT, deadline - anyio.current_time())
        status = await wait_until(store, run_id, chunk, not_live)
        if status["state"] in LIVE_STATES:
            await report(f"still {status.get('phase')} (iteration {status.get('iteration')})")
    state = status["state"]
    result = store.read_result(run_id) if state not in LIVE_STATES else None
    return ResultReply(
        run_id=run_id,
        state=state,
        done=state not in LIVE_STATES,
        result=result,
        questions=questions_of(status),
        message=next_step(run_id, state),
    )


async def orchestrate_cancel(run_id: P.RunId, ctx: Ctx) -> CancelReply:
    store = runflow.server_state(ctx).store
    check_run_id(run_id)
    status = await anyio.to_thread.run_sync(runner.cancel, store, run_id)
    return CancelReply(
        run_id=run_id, state=status["state"], message=next_step(run_id, status["state"])
    )


async def orchestrate_list(
    ctx: Ctx, state: P.StateName = None, limit: P.ListLimit = 20
) -> ListReply:
    store = runflow.server_state(ctx).store

    def rows() -> list[IndexRow]:
        runner.recover(store)
        return store.index.list(state, limit)

    found = await anyio.to_thread.run_sync(rows)
    return ListReply(runs=[RunRow.model_validate(r) for r in found])


async def orchestrate_diff(run_id: P.RunId, ctx: Ctx, max_bytes: P.MaxBytes = 200_000) -> DiffReply:
    from ..runs.git.merge import diff

    store = runflow.server_state(ctx).store
    check_run_id(run_id)
    d = await anyio.to_thread.run_sync(lambda: diff(store, run_id, max_bytes))
    return DiffReply.model_validate(d)


async def orchestrate_merge(
    run_id: P.RunId, ctx: Ctx, squash: P.Squash = False, into: P.Into = None
) -> MergeReply:
    from ..runs.git.merge import merge

    store = runflow.server_state(ctx).store
    check_run_id(run_id)
    m = await anyio.to_thread.run_sync(lambda: merge(store, run_id, squash, into))
    return MergeReply.model_validate(m)


async def list_backends() -> BackendsReply:
    from ..backends.registry import list_backends as infos

    found = await anyio.to_thread.run_sync(infos)  # backends may import SDKs or probe
    return BackendsReply(backends=[BackendRow.model_validate(b.as_dict()) for b in found])


async def doctor(cwd: P.DoctorCwd = None) -> DoctorReply:
    from .doctor import report

    return await report(cwd)


READ_ONLY = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
TOOLS: list[tuple[Any, str, ToolAnnotations | None]] = [
    (orchestrate, descriptions.ORCHESTRATE, ToolAnnotations(destructiveHint=True)),
    (orchestrate_resume, descriptions.RESUME, ToolAnnotations(destructiveHint=True)),
    (orchestrate_tail, descriptions.TAIL, READ_ONLY),
    (orchestrate_status, descriptions.STATUS, READ_ONLY),
    (orchestrate_result, descriptions.RESULT, READ_ONLY),
    (orchestrate_cancel, descriptions.CANCEL, ToolAnnotations(destructiveHint=True)),
    (orchestrate_list, descriptions.LIST, READ_ONLY),
    (orchestrate_diff, descriptions.DIFF, READ_ONLY),
    (orchestrate_merge, descriptions.MERGE, ToolAnnotations(destructiveHint=True)),
    (list_backends, descriptions.BACKENDS, READ_ONLY),
    (doctor, descriptions.DOCTOR, READ_ONLY),
    *PATTERN_TOOLS,
]


def register(server: MCPServer[Any]) -> None:
    for fn, description, hints in TOOLS:
        server.tool(name=fn.__name__, description=description, annotations=hints)(mapped(fn))
