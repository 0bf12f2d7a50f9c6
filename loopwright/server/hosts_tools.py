"""``list_hosts``: the pool's hosts as ``loopwright hosts ls --json`` lists them
(``hosts.pool.pool_status``), and the paid instances nobody watches."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from mcp_types import ToolAnnotations
from pydantic import BaseModel, Field

from ..hosts.pool import pool_status, unwatched_warnings

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
hosts) and idle_s (since its last call). warnings names paid instances nobody watches."""


class HostRow(BaseModel):
    name: str
    kind: str
    url: str
    source: str
    healthy: bool | None
    reason: str = ""
    models: list[str] = Field(default_factory=list)
    loaded: list[str] = Field(default_factory=list)
    gen_tps: float | None = None
    usd_per_hour: float = 0.0
    age_s: float | None = None
    idle_s: float | None = None


class HostsReply(BaseModel):
    hosts: list[HostRow]
    warnings: list[str] = Field(default_factory=list)


async def list_hosts(probe: Probe = True) -> HostsReply:
    rows = await pool_status(probe)
    said = await anyio.to_thread.run_sync(unwatched_warnings)
    return HostsReply(hosts=[HostRow.model_validate(r.as_dict()) for r in rows], warnings=said)


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
