"""Orphans: Vast.ai instances loopwright created that its rented-host store does not know,
or knows as destroyed. They are paid for, and nothing else would ever say so.

Every instance ``rent`` creates carries the label ``loopwright:<model>`` from the create
call on (``PUT /asks/{id}/``), so an instance whose ``rent`` was killed between Vast.ai
creating it and loopwright saving it (SIGKILL, power loss), or whose store was lost, is
still recognisable: ``GET /instances/`` lists it with that label. An orphan is named like a
rented host, ``vast-<instance id>``. Instances without loopwright's label are never listed
here nor touched.

``orphan_warnings`` is for ``hosts ls`` and ``doctor``: no ``VAST_API_KEY``, no call; one
bounded call otherwise, and a call that fails or times out is itself a warning, never an
error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from ..errors import HostError, UserError
from .rented import load_rented, mark_destroyed
from .vast import VastClient, api_settings

__all__ = [
    "LABEL_PREFIX",
    "LOOKUP_SECONDS",
    "Orphan",
    "destroy_orphan",
    "find_orphans",
    "orphan_label",
    "orphan_warnings",
]

LABEL_PREFIX = "loopwright:"
_LEGACY_PREFIX = "loopwright "  # what rent labelled its instances with before
LOOKUP_SECONDS = 10.0


def orphan_label(model: str) -> str:
    """The label ``rent`` gives an instance when it creates it."""
    return f"{LABEL_PREFIX}{model}"[:128]


def _ours(record: dict[str, Any]) -> bool:
    label = record.get("label")
    return isinstance(label, str) and label.startswith((LABEL_PREFIX, _LEGACY_PREFIX))


@dataclass(frozen=True)
class Orphan:
    instance_id: int
    label: str
    status: str
    usd_per_hour: float | None

    @property
    def name(self) -> str:
        return f"vast-{self.instance_id}"

    def warning(self) -> str:
        price = "" if self.usd_per_hour is None else f", ${self.usd_per_hour:.2f}/h"
        return (
            f"paid instance loopwright does not know: {self.name} (Vast.ai instance "
            f"{self.instance_id}, label {self.label!r}, {self.status}{price}) is not in the "
            f"rented-host store (a rent killed before saving it, or a lost store); destroy "
            f"it with `loopwright hosts down {self.name}`"
        )


def _orphan(record: dict[str, Any]) -> Orphan | None:
    try:
        instance_id = int(record["id"])
    except (KeyError, TypeError, ValueError):
        return None
    price = record.get("dph_total")
    return Orphan(
        instance_id=instance_id,
        label=str(record.get("label")),
        status=str(record.get("actual_status") or "provisioning"),
        usd_per_hour=float(price) if isinstance(price, (int, float)) else None,
    )


async def find_orphans(vast: VastClient) -> list[Orphan]:
    """Instances labelled by loopwright that the store does not know or knows as
    destroyed, by instance id."""
    known = {h.instance_id: h.state for h in load_rented(include_destroyed=True)}
    found = []
    for record in await vast.instances():
        orphan = _orphan(record) if _ours(record) else None
        if orphan is not None and known.get(orphan.instance_id, "destroyed") == "destroyed":
            found.append(orphan)
    return sorted(found, key=lambda o: o.instance_id)


async def orphan_warnings(
    env: dict[str, str] | None = None, timeout: float = LOOKUP_SECONDS
) -> list[str]:
    """One sentence per orphan; ``[]`` without ``VAST_API_KEY`` (nothing is asked). A
    lookup that fails or takes over ``timeout`` seconds is one warning saying so."""
    try:
        key, url = api_settings(env)
    except UserError as exc:
        if exc.field == "VAST_API_KEY":
            return []
        return [f"cannot look for paid Vast.ai instances loopwright does not know: {exc}"]
    try:
        with anyio.fail_after(timeout):
            async with httpx.AsyncClient(timeout=timeout) as http:
                found = await find_orphans(VastClient(http, key, url, retries=1, backoff=0.5))
    except (HostError, TimeoutError, OSError, ValueError) as exc:
        why = str(exc) or f"no answer within {timeout:g} s"
        return [
            f"could not ask Vast.ai for the instances loopwright created ({why}): a paid "
            "instance may be running unnoticed; see https://cloud.vast.ai/instances/"
        ]
    return [o.warning() for o in found]


async def destroy_orphan(
    which: str, vast: VastClient, clock: Callable[[], float] = time.time
) -> str | None:
    """Destroy the orphan named ``which`` (``vast-<id>``) or of instance id ``which``;
    what was done, or None when no orphan is so named."""
    for orphan in await find_orphans(vast):
        if which in (orphan.name, str(orphan.instance_id)):
            known = await vast.destroy(orphan.instance_id)
            mark_destroyed(orphan.name, clock())  # a name the store does not know is ignored
            gone = "" if known else " (Vast.ai no longer knew it)"
            return (
                f"{orphan.name} (instance {orphan.instance_id}, not in the store) destroyed{gone}"
            )
    return None
