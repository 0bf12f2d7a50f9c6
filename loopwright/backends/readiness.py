"""Whether a backend can work right now, asked before a run starts (bounded, no secrets).

Only what is known for sure refuses a backend: an Ollama host that does not answer, a
model that is not on its host (and will not be pulled), a coding-agent CLI with no login.
A check that cannot decide says nothing: the run finds out on its first call, as before.
"""

from __future__ import annotations

import os
import sys

import anyio
import httpx

from ..errors import ProviderError
from ..hosts.named import POOL
from .agents.status import LOGINS
from .models.ollama_api import get_json, not_found
from .settings import ollama_host
from .spec import Spec, parse_spec

PROBE_TIMEOUT = 3.0
"""Seconds an Ollama host gets to answer the preflight probe."""


async def problem(spec: str) -> str | None:
    """Why ``spec`` (already checked by ``check_spec``) cannot work now, or None."""
    s = parse_spec(spec)
    if s.provider == "ollama":
        return await _ollama(s)
    if s.provider in LOGINS:
        return _login(s.provider)
    return None


def _login(preset: str) -> str | None:
    if preset == "claude_code" and sys.platform == "darwin":
        return None  # its login lives in the macOS keychain, where we do not look
    logged_in, how = LOGINS[preset](os.environ)
    return None if logged_in else f"{preset} is not logged in ({how})"


async def _ollama(s: Spec) -> str | None:
    if s.host == POOL:  # the pool chooses per call, among hosts that may change: undecided
        return None
    host = ollama_host(s.host)
    try:
        with anyio.fail_after(PROBE_TIMEOUT):
            async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:
                await get_json(client, host, "GET", "/api/version")
                if host.auto_pull:
                    return None
                try:
                    await get_json(client, host, "POST", "/api/show", {"model": s.model})
                except ProviderError as exc:  # only "not there" is sure; the run retries others
                    return str(not_found(host, s.model)) if exc.status == 404 else None
    except TimeoutError:
        return f"Ollama host {host.name!r} at {host.url} did not answer within {PROBE_TIMEOUT:g}s"
    except ProviderError as exc:
        return str(exc)
    return None
