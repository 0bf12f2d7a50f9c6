"""``list_hosts``: the pool's hosts as ``loopwright hosts ls --json`` lists them
(``hosts.pool.pool_status``), and the paid instances nobody watches."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from ..hosts.pool import HostStatus, pool_status, unwatched_warnings, with_idle_costs

Probe = Annotated[
    bool,
    Field(
        description="ask each host now (health, models present and loaded; 2 s at most, all "
        "at once); false lists the hosts with healthy, models and loaded unknown"
    ),
]

LIST_HOSTS = """The model hosts of loopwright's pool, for specs like ollama:MODEL@NAME (that \
host) or ollama:MODEL@pool (the pool chooses: healthy hosts that have the model, the model \
already loaded first, then the fastest measured, then the cheapest): hosts named in the user's \
config file ([hosts.NAME], [ollama.hosts.NAME], [openai.endpoints.NAME], and local) and running \
rented ones. Each with its kind (ollama or openai), url, source (config or rented), healthy \
(null when not probed) and the reason when down, models present and loaded, gen_tps (median \
generated tokens/s measured there, null when never measured), usd_per_hour, age_s (rented \
hosts), idle_s (since its last call) and idle_cost_usd (what a rented host cost the pool with \
no run holding it; null for config hosts). warnings names paid instances nobody watches."""


class HostsReply(BaseModel):
    hosts: list[HostStatus]
    warnings: list[str] = Field(default_factory=list)


async def list_hosts(probe: Probe = True) -> HostsReply:
    rows = await pool_status(probe)
    rows = await anyio.to_thread.run_sync(with_idle_costs, rows)
    said = await anyio.to_thread.run_sync(unwatched_warnings)
    return HostsReply(hosts=rows, warnings=said)


HOSTS_TOOLS: list[tuple[Any, str, ToolAnnotations | None]] = [
    (
        list_hosts,
        LIST_HOSTS,
        ToolAnnotations(
            title="List model hosts",
            readOnlyHint=True,
            destructiveHint=False,
            idempotentHint=True,
            openWorldHint=True,
        ),
    ),
]
