"""Starting, resuming and blocking on runs for ``orchestrate`` and ``orchestrate_resume``."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, InputRequiredResult

from ..runs import runner
from ..runs.request import RunRequest
from ..runs.status import RunStatus
from . import asking
from .models import RunReply
from .state import ServerState, questions_of, run_result, signal_host
from .waiting import follow, past_intake, wait_until

INTAKE_WAIT = 120.0
"""Seconds a detached ``questions="ask"`` start waits for intake to settle before replying."""

Reply = Annotated[CallToolResult, RunReply] | InputRequiredResult
"""A run's reply (its structured content a ``RunReply``: the output schema) or a round."""


def server_state(ctx: Context[Any, Any]) -> ServerState:
    state: ServerState = ctx.request_context.lifespan_context
    return state


def progress_reporter(ctx: Context[Any, Any]) -> Any:
    count = 0

    async def report(message: str) -> None:
        nonlocal count
        count += 1
        await ctx.report_progress(count, None, message)

    return report


async def start(ctx: Context[Any, Any], request: RunRequest, detach: bool) -> Reply:
    st = server_state(ctx)
    run_id = await anyio.to_thread.run_sync(runner.start, st.store, request)
    ask = request.loop.questions == "ask"
    return await carry_on(ctx, run_id, detach, wait_intake=ask)


async def carry_on(ctx: Context[Any, Any], run_id: str, detach: bool, wait_intake: bool) -> Reply:
    """After a start or resume: reply at once, after intake, or when the run ends."""
    st = server_state(ctx)
    if not detach:
        return await block(ctx, run_id)
    status = st.store.read_status(run_id)
    if wait_intake:
        status = await wait_until(st.store, run_id, INTAKE_WAIT, past_intake)
    if status["state"] == "needs_input":
        return await ask(ctx, run_id, status, detach)
    return run_result(st.store, run_id, status)


async def block(ctx: Context[Any, Any], run_id: str) -> Reply:
    """Wait for the run's end with progress; a cancelled call cancels its run."""
    st = server_state(ctx)
    st.owned.add(run_id)
    try:
        status = await follow(st.store, run_id, progress_reporter(ctx))
    except anyio.get_cancelled_exc_class():
        signal_host(st.store, run_id)
        raise
    finally:
        st.owned.discard(run_id)
    if status["state"] == "needs_input":
        return await ask(ctx, run_id, status, detach=False)
    return run_result(st.store, run_id, status)


async def ask(ctx: Context[Any, Any], run_id: str, status: RunStatus, detach: bool) -> Reply:
    """Put the run's questions to the client if it can answer, else reply needs_input."""
    st = server_state(ctx)
    questions = questions_of(status)
    if not questions or not asking.can_elicit(ctx):
        return run_result(st.store, run_id, status)
    if asking.is_modern(ctx):
        return asking.question_round(run_id, questions)
    answers = await asking.elicit_answers(ctx, run_id, questions)
    if answers is None:
        return run_result(st.store, run_id, st.store.read_status(run_id))
    return await answer(ctx, run_id, answers, detach)


async def answer(
    ctx: Context[Any, Any], run_id: str, answers: dict[str, str], detach: bool
) -> Reply:
    st = server_state(ctx)
    for q in questions_of(st.store.read_status(run_id)):  # a blank answer takes the default
        if not answers.get(q.id) and q.default:
            answers[q.id] = q.default
    await anyio.to_thread.run_sync(runner.resume, st.store, run_id, answers)
    return await carry_on(ctx, run_id, detach, wait_intake=False)


async def answered_round(ctx: Context[Any, Any], run_id: str, detach: bool) -> Reply:
    """The retry of a question round: resume with the answers, or reply needs_input."""
    st = server_state(ctx)
    answers = asking.answers_from_round(ctx)
    status = st.store.read_status(run_id)
    if answers is None or status["state"] != "needs_input":
        return run_result(st.store, run_id, status)
    return await answer(ctx, run_id, answers, detach)
