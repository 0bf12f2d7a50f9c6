"""The tools: thin typed functions over ``loopwright.runs`` (all async; waits never block)."""

from __future__ import annotations

from typing import Any

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp_types import InputRequiredResult, ToolAnnotations

from ..loop.vocab import LIVE_STATES
from ..runs import runner
from ..runs.defaults import with_defaults
from ..runs.eventlog import read_events
from ..runs.ids import check_run_id
from ..runs.index import IndexRow
from ..runs.preflight import check_sandbox
from ..runs.preflight import preflight as check_ready
from ..runs.request import build_request
from . import asking, descriptions, runflow
from . import params as P
from .cleanup_tools import CLEANUP_TOOLS
from .cleanup_tools import reply as delete_reply
from .hosts_tools import HOSTS_TOOLS
from .improve_tool import IMPROVE_TOOLS
from .models import (
    BackendRow,
    BackendsReply,
    CancelReply,
    DiffReply,
    DoctorReply,
    ListReply,
    MergeReply,
    ResultReply,
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
from .strict import strict_tool
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
    review_quorum: P.Quorum = None,
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
    sandbox: P.Sandbox = None,
    allow_network: P.AllowNetwork = False,
    route: P.Route = "fixed",
    local_max_seconds: P.LocalMaxSeconds = None,
    memory: P.MemoryScope = "repo",
    specialists: P.Specialists = None,
    fallback: P.Fallback = None,
) -> runflow.Reply:
    earlier = asking.read_round(ctx)
    if earlier and earlier.step == asking.ANSWERS and earlier.run_id:
        return await runflow.answered_round(ctx, earlier.run_id, detach)
    if cwd:  # before anything looks at the path: a dir outside the roots stays unprobed
        check_cwd_absolute(cwd)
        roots = await asking.client_roots(ctx, earlier)
        if isinstance(roots, InputRequiredResult):
            return roots
        check_cwd_allowed(cwd, roots)
    given = dict(
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
        sandbox=sandbox,
        allow_network=allow_network,
        memory=memory,
        specialists=specialists,
        fallback=fallback,
        options={"route": route}
        | ({"local_max_seconds": local_max_seconds} if local_max_seconds else {}),
    )
    request = build_request(goal, **with_defaults(cwd, given))  # + the config files'
    if preflight:
        await check_ready(request, "preflight=false", "sandbox='off'")
    else:  # the sandbox is never skipped: a run does not fall back to running unconfined
        await anyio.to_thread.run_sync(check_sandbox, request, "sandbox='off'")
    return await runflow.start(ctx, request, detach)


async def orchestrate_resume(
    run_id: P.RunId, ctx: Ctx, answers: P.Answers = None, detach: P.Detach = True
) -> runflow.Reply:
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


async def orchestrate_diff(
    run_id: P.RunId, ctx: Ctx, max_bytes: P.MaxBytes = 200_000, iteration: P.Iteration = None
) -> DiffReply:
    from ..runs.git.merge import diff

    store = runflow.server_state(ctx).store
    check_run_id(run_id)
    d = await anyio.to_thread.run_sync(lambda: diff(store, run_id, max_bytes, iteration))
    return DiffReply.model_validate(d)


async def orchestrate_merge(
    run_id: P.RunId,
    ctx: Ctx,
    squash: P.Squash = False,
    into: P.Into = None,
    cleanup: P.MergeCleanup = False,
) -> MergeReply:
    from ..runs.cleanup import delete
    from ..runs.git.merge import merge

    store = runflow.server_state(ctx).store
    check_run_id(run_id)
    m = await anyio.to_thread.run_sync(lambda: merge(store, run_id, squash, into))
    if cleanup:
        m["cleanup"] = delete_reply(await anyio.to_thread.run_sync(delete, store, run_id))
    return MergeReply.model_validate(m)


async def list_backends() -> BackendsReply:
    from ..backends.registry import list_backends as infos

    found = await anyio.to_thread.run_sync(infos)  # backends may import SDKs or probe
    return BackendsReply(backends=[BackendRow.model_validate(b.as_dict()) for b in found])


async def doctor(ctx: Ctx, cwd: P.DoctorCwd = None) -> DoctorReply | InputRequiredResult:
    from .doctor import report

    if cwd:  # a dir outside the roots is refused unprobed, as orchestrate does
        check_cwd_absolute(cwd)
        roots = await asking.client_roots(ctx, asking.read_round(ctx))
        if isinstance(roots, InputRequiredResult):
            return roots
        check_cwd_allowed(cwd, roots)
    return await report(cwd)


def hints(
    title: str,
    *,
    read_only: bool = False,
    destructive: bool = False,
    idempotent: bool = False,
    open_world: bool = False,
) -> ToolAnnotations:
    """Every hint spelled out: the spec's defaults (destructive, open world) fit few tools."""
    return ToolAnnotations(
        title=title,
        readOnlyHint=read_only,
        destructiveHint=destructive,
        idempotentHint=idempotent or read_only,
        openWorldHint=open_world,
    )


# Starting or resuming a run reaches model APIs and agent CLIs (open world) and may change
# files in place (isolate=false); cancel kills workers (again: no further effect); merge
# changes the user's branch and checkout.
TOOLS: list[tuple[Any, str, ToolAnnotations | None]] = [
    (
        orchestrate,
        descriptions.ORCHESTRATE,
        hints("Run a coding loop", destructive=True, open_world=True),
    ),
    (
        orchestrate_resume,
        descriptions.RESUME,
        hints("Resume a run", destructive=True, open_world=True),
    ),
    (orchestrate_tail, descriptions.TAIL, hints("Read a run's events", read_only=True)),
    (orchestrate_status, descriptions.STATUS, hints("A run's status", read_only=True)),
    (orchestrate_result, descriptions.RESULT, hints("A run's result", read_only=True)),
    (
        orchestrate_cancel,
        descriptions.CANCEL,
        hints("Cancel a run", destructive=True, idempotent=True),
    ),
    (orchestrate_list, descriptions.LIST, hints("List runs", read_only=True)),
    (orchestrate_diff, descriptions.DIFF, hints("What a run changed", read_only=True)),
    (orchestrate_merge, descriptions.MERGE, hints("Merge a run's work", destructive=True)),
    (list_backends, descriptions.BACKENDS, hints("List backends", read_only=True)),
    (doctor, descriptions.DOCTOR, hints("Check the setup", read_only=True)),
    *PATTERN_TOOLS,
    *CLEANUP_TOOLS,
    *IMPROVE_TOOLS,
    *HOSTS_TOOLS,
]


def server_tools() -> list[Tool]:
    """Every tool: errors mapped once (``mapped``), arguments strict (``strict_tool``)."""
    return [strict_tool(mapped(fn), description, h) for fn, description, h in TOOLS]
