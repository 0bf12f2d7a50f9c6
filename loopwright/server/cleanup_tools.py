"""``orchestrate_delete``: remove a run and what it left behind; the work is done by
``runs.cleanup`` (the CLI's ``rm``), which never loses work."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp_types import ToolAnnotations
from pydantic import Field

from ..runs import cleanup
from ..runs.ids import check_run_id
from . import params as P
from . import runflow
from .models import CleanupItem, DeleteReply

Ctx = Context[Any, Any]

Force = Annotated[
    bool,
    Field(
        description="also delete the run's branch when its base branch lacks some of its "
        "changes (unmerged work is lost); uncommitted changes are kept even then"
    ),
]
DryRun = Annotated[bool, Field(description="say what would be removed and kept; remove nothing")]

DELETE = """Remove a run that is not running: its worktree, its branch loopwright/<run_id> once \
the branch it started from (or was merged into) has all its changes, its scratch repository \
(runs without cwd), then its run directory; it then no longer appears in orchestrate_list. \
What would lose work is kept and listed with the reason: a branch with unmerged changes \
(unless force=true), a worktree with uncommitted changes (always); the run directory then \
stays too. A queued, running or paused run is refused: cancel it first. Use dry_run=true \
to see what would go, and ask the user before force=true."""


def reply(report: cleanup.Report) -> DeleteReply:
    def items(found: list[cleanup.Item]) -> list[CleanupItem]:
        return [CleanupItem.model_validate(i.__dict__) for i in found]

    return DeleteReply(dry_run=report.dry_run, removed=items(report.removed),
                       kept=items(report.kept))  # fmt: skip


async def orchestrate_delete(
    run_id: P.RunId, ctx: Ctx, force: Force = False, dry_run: DryRun = False
) -> DeleteReply:
    store = runflow.server_state(ctx).store
    check_run_id(run_id)
    report = await anyio.to_thread.run_sync(
        lambda: cleanup.delete(store, run_id, force=force, dry_run=dry_run)
    )
    return reply(report)


CLEANUP_TOOLS: list[tuple[Any, str, ToolAnnotations | None]] = [
    (
        orchestrate_delete,
        DELETE,
        ToolAnnotations(
            title="Delete a run",
            readOnlyHint=False,
            destructiveHint=True,
            idempotentHint=True,
            openWorldHint=False,
        ),
    ),
]
