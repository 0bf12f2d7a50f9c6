"""Calls to the hosts of the pool, with failover: a ``Backend`` over one backend per host.

``ollama:MODEL@NAME`` (and ``openai:MODEL@NAME`` for a server of the pool) is pinned to
that host; ``ollama:MODEL@pool`` lets ``hosts.pool.choose`` pick for each call. A call
whose host itself fails (no connection, or 5xx after the retries: the response's
``host_down``) marks the host down for this process (``hosts.pool.mark_down``) and goes
to the next host that may take it (``@pool`` only), then to the fallback spec when one is
given (``with_fallback``), each move a ``host_failover`` event. With no host and no
fallback left the call fails, naming every host and why it could not serve. A host marked
down is used again once a probe after the mark finds it healthy (``hosts.pool.still_down``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from ...hosts.named import Host, HostKind
from ...hosts.pool import choose, mark_down, still_down
from ...hosts.rented import mark_used
from ..base import AgentRequest, AgentResponse, Backend, Capabilities, Usage
from ..hold import release
from ..spec import Spec

FAILOVER_HINT = "give a fallback spec (run --fallback SPEC, or [run] fallback in the config)"


def _add(total: Usage, part: Usage) -> None:
    total.input_tokens += part.input_tokens
    total.output_tokens += part.output_tokens
    if total.cost_usd is not None:
        total.cost_usd = None if part.cost_usd is None else total.cost_usd + part.cost_usd


class HostFailover:
    """A ``Backend`` that sends each call to a host of the pool (see the module)."""

    def __init__(
        self,
        spec: Spec,
        kind: HostKind,
        make: Callable[[Host], Backend],
        capabilities: Capabilities,
        pinned: Host | None = None,
        client: Any = None,
    ) -> None:
        self.spec = str(spec)
        self.kind = kind
        self.model = spec.model
        self.make = make
        self.capabilities = capabilities
        self.pinned = pinned
        """The host ``@NAME`` names; None for ``@pool``."""
        self.client = client
        """An HTTP client for the pool's probes (tests); None: a new one per probe."""
        self.fallback_spec: str | None = None
        self._fallback: Callable[[], Backend] | None = None
        self._made: dict[str, Backend] = {}

    def with_fallback(self, spec: str, make: Callable[[], Backend]) -> None:
        """Where a call goes when no host of the pool can take it (made on first use)."""
        self.fallback_spec = spec
        made: list[Backend] = []

        def once() -> Backend:
            if not made:
                made.append(make())
            return made[0]

        self._fallback = once

    async def _hosts(self, tried: list[str]) -> tuple[list[Host], dict[str, str]]:
        """The hosts that may take the call now, best first, and why the others may not."""
        if self.pinned is None:
            return await choose(self.kind, self.model, exclude=tried, client=self.client)
        if self.pinned.name in tried:
            return [], {}
        if self._fallback is None:  # with nowhere else to go, try it even marked down
            return [self.pinned], {}
        mark = await still_down(self.pinned, self.client)  # a probe may find it back
        if mark is not None:
            return [], {self.pinned.name: f"marked down: {mark}"}
        return [self.pinned], {}

    def backend(self, host: Host) -> Backend:
        """The backend calls to ``host`` go through (made once, on first use)."""
        made = self._made.get(host.name)
        if made is None:
            made = self._made[host.name] = self.make(host)
        return made

    async def _call(self, host: Host, request: AgentRequest) -> AgentResponse:
        backend = self.backend(host)
        rented = host.source == "rented"
        if rented:
            with contextlib.suppress(OSError):
                mark_used(host.name)
        try:
            return await backend.run(request)
        finally:
            if rented:
                with contextlib.suppress(OSError):
                    mark_used(host.name)

    def _moved(self, request: AgentRequest, host: str | None, reason: str, to: str | None) -> None:
        if request.emit is None:
            return
        target = "host" if to is not None and to != self.fallback_spec else "fallback"
        request.emit("host_failover", {
            "spec": self.spec, "host": host, "reason": reason, "to": to,
            "to_kind": target if to is not None else None, "purpose": request.purpose,
        })  # fmt: skip

    async def run(self, request: AgentRequest) -> AgentResponse:
        started, spent, tried = time.monotonic(), Usage(0, 0, 0.0), list[str]()
        hosts, why = await self._hosts(tried)
        while hosts:
            host = hosts[0]
            response = await self._call(host, request)
            _add(spent, response.usage)
            if response.ok or response.host_down is None:
                response.usage, response.duration = spent, time.monotonic() - started
                return response
            mark_down(host, response.host_down)
            if host.usd_per_hour > 0 and getattr(request.emit, "charges_holds", False):
                release(request.emit, host.name)  # the run stops paying for a host it left
            tried.append(host.name)
            why[host.name] = f"failed: {response.host_down}"
            hosts, more = await self._hosts(tried)
            why.update(more)
            to = hosts[0].name if hosts else self.fallback_spec
            self._moved(request, host.name, response.host_down, to)
        if not tried and self._fallback is not None:  # no host could take it at all
            self._moved(request, self.pinned.name if self.pinned else None, self._why(why),
                        self.fallback_spec)  # fmt: skip
        return await self._last(request, why, spent, started)

    def _why(self, why: dict[str, str]) -> str:
        if not why:
            return f"no {self.kind} host in the pool"
        return "; ".join(f"{name}: {reason}" for name, reason in why.items())

    async def _last(
        self, request: AgentRequest, why: dict[str, str], spent: Usage, started: float
    ) -> AgentResponse:
        """The fallback's answer, or the failure that names every host and why."""
        if self._fallback is not None:
            response = await self._fallback().run(request)
            _add(spent, response.usage)
            response.usage, response.duration = spent, time.monotonic() - started
            return response
        said = (
            f"host {self.pinned.name} could not take the call"
            if self.pinned
            else f"no {self.kind} host of the pool could take the call"
        )
        error = f"{self.spec}: {said} ({self._why(why)}); {FAILOVER_HINT}"
        return AgentResponse(
            "", ok=False, error=error, usage=spent, duration=time.monotonic() - started
        )
