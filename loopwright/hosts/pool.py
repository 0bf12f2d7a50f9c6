"""One pool of model hosts: the config file's (``[hosts.NAME]``, ``[ollama.hosts.NAME]``,
``[openai.endpoints.NAME]``, ``local``) and the running rented ones (``rented``).

- ``pool_status`` — each host with its health (``health.probe_all``), models present and
  loaded, measured speed (the profile store's median generated tokens/s), $/h, age and
  idle time: what ``loopwright hosts ls`` and the MCP tool ``list_hosts`` show.
- ``find_host`` — the host a spec's ``@NAME`` names.
- ``choose`` — the hosts that may take a call for a model (``@pool``), best first: healthy,
  holding the model; the model already loaded first, then a host never measured for it
  (once, so that it gets measured), then the fastest measured, then the cheapest.
- ``mark_down`` — a host that failed mid-run is down for this process (``DOWN_SECONDS``),
  with the reason, and ``choose`` passes it over; the failed call counts as a failed probe
  (no new probe for ``PROBE_TTL``). A successful probe taken after the mark clears it (the
  host is back), once: a host marked down again within ``DOWN_SECONDS`` of such a recovery
  (it answers probes but fails calls) stays down the full ``DOWN_SECONDS``.
- ``still_down`` — a named host's mark, after the probe that may clear it.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from ..errors import UserError
from .health import PROBE_TIMEOUT, Health, probe_all
from .named import BUILT_IN_ENDPOINTS, Host, HostKind, configured_hosts
from .profiles import CallProfile, ProfileStore
from .rented import last_used, load_rented, unwatched_warnings

__all__ = [
    "DOWN_SECONDS",
    "PROBE_TTL",
    "HostStatus",
    "choose",
    "down_reason",
    "find_host",
    "forget",
    "has_model",
    "mark_down",
    "pool_hosts",
    "pool_status",
    "still_down",
    "unwatched_warnings",
    "with_idle_costs",
]

DOWN_SECONDS = 300.0
"""How long a host that failed a call stays down for this process before it is asked again."""
PROBE_TTL = 30.0
"""How long ``choose`` trusts a probe (so a host that does not answer costs its timeout
once, not on every call)."""

VENDOR_APIS = {("openai", name) for name in BUILT_IN_ENDPOINTS}
"""``[openai.endpoints.openai]`` may move the vendor's own API: no host of the pool."""


@dataclass(frozen=True)
class _Mark:
    reason: str
    at: float
    probe_clears: bool
    """False for a host that failed again soon after a probe had cleared it."""


_lock = threading.Lock()
_down: dict[tuple[str, str], _Mark] = {}
_probed: dict[tuple[str, str], tuple[Health, float]] = {}
_cleared: dict[tuple[str, str], float] = {}
"""When a successful probe last cleared each host's mark."""
_explored: set[tuple[str, str, str]] = set()
"""(kind, host, model): a host never measured for the model that ``choose`` put first once."""


def _clock() -> float:
    """The pool's clock (monotonic seconds); tests put their own in its place."""
    return time.monotonic()


def _key(host: Host) -> tuple[str, str]:
    return host.kind, host.name


def mark_down(host: Host, reason: str, now: float | None = None) -> None:
    """``host`` failed a call: down for this process for ``DOWN_SECONDS``, with ``reason``;
    the failure stands for a probe for ``PROBE_TTL`` (the host is not asked again sooner)."""
    now = _clock() if now is None else now
    key = _key(host)
    with _lock:
        recovered = _cleared.get(key)
        again = recovered is not None and now - recovered <= DOWN_SECONDS
        _down[key] = _Mark(reason, now, probe_clears=not again)
        _probed[key] = (Health(False, f"failed a call: {reason}"), now)


def down_reason(host: Host, now: float | None = None) -> str | None:
    """Why ``host`` is marked down, or None (never marked, or the mark has expired)."""
    now = _clock() if now is None else now
    with _lock:
        mark = _down.get(_key(host))
    if mark is None or now - mark.at > DOWN_SECONDS:
        return None
    return mark.reason


def forget() -> None:
    """Drop every down mark and cached probe (a fresh process's view)."""
    with _lock:
        _down.clear()
        _probed.clear()
        _cleared.clear()
        _explored.clear()


def _rented(taken: set[tuple[str, str]]) -> list[Host]:
    out = []
    for r in load_rented():
        if r.state != "running" or r.kind not in ("ollama", "openai"):
            continue
        kind: HostKind = "ollama" if r.kind == "ollama" else "openai"
        headers = {"Authorization": f"Bearer {r.token}"} if r.token else {}
        host = Host(r.name, kind, r.url.rstrip("/"), headers, r.token,
                    "bearer" if r.token else "none", usd_per_hour=r.usd_per_hour,
                    source="rented", created_at=r.created_at)  # fmt: skip
        if (kind, r.name) not in taken:
            out.append(host)
    return out


def pool_hosts(data: dict[str, Any] | None = None) -> list[Host]:
    """The config file's hosts (``data``: the parsed file, by default the user's), then the
    running rented ones (a rented name the file also uses for that kind is left out)."""
    found = [h for h in configured_hosts(data) if (h.kind, h.name) not in VENDOR_APIS]
    return [*found, *_rented({_key(h) for h in found})]


def find_host(name: str, kind: HostKind, field_name: str = "backend") -> Host:
    """The ``kind`` host named ``name``; ``UserError`` naming ``field_name`` and the known
    ones when there is none."""
    hosts = [h for h in pool_hosts() if h.kind == kind]
    for h in hosts:
        if h.name == name:
            return h
    table = 'hosts.NAME] with kind = "' + kind + '" and a url'
    raise UserError(
        f"{field_name}: no {'Ollama' if kind == 'ollama' else 'OpenAI-compatible'} host named "
        f"{name!r}; known: {', '.join(h.name for h in hosts) or 'none'} (add [{table} to the "
        "config file, or rent one with `loopwright hosts rent`)",
        field_name,
    )


@dataclass
class HostStatus:
    """One host of the pool as ``hosts ls`` shows it."""

    name: str
    kind: str
    url: str
    source: str
    healthy: bool | None
    """None when not probed."""
    reason: str = ""
    models: list[str] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)
    gen_tps: float | None = None
    """The median generated tokens/s measured on this host (any model), None unmeasured."""
    usd_per_hour: float = 0.0
    age_s: float | None = None
    """Seconds since a rented host's billing started; None for a config host."""
    idle_s: float | None = None
    """Seconds since the host was last used; None when never."""
    idle_cost_usd: float | None = None
    """What a rented host has cost the pool with no run holding it (``with_idle_costs``);
    None for a config host, or when not asked."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Measured:
    """What the profile store says of each host: speeds and its last call."""

    by_host: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    by_model: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    last: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, calls: Sequence[CallProfile]) -> Measured:
        m = cls()
        for c in calls:
            m.last[c.host] = max(m.last.get(c.host, 0.0), c.ts)
            if isinstance(c.gen_tps, int | float) and c.outcome != "failed":
                m.by_host[c.host].append(float(c.gen_tps))
                m.by_model[(c.model, c.host)].append(float(c.gen_tps))
        return m

    def speed(self, host: str, model: str | None = None) -> float | None:
        values = self.by_host.get(host) if model is None else self.by_model.get((model, host))
        return round(statistics.median(values), 2) if values else None


def measured(store: ProfileStore | None = None) -> Measured:
    """The profile store's calls, summed up per host (an unreadable store: nothing)."""
    own = store is None
    store = store or ProfileStore()
    try:
        return Measured.of(store.calls())
    except Exception:  # a broken store must not break a listing or a call (sqlite3.Error...)
        return Measured()
    finally:
        if own:
            store.close()


def _status(host: Host, health: Health | None, m: Measured, now: float) -> HostStatus:
    used = last_used(host.name) if host.source == "rented" else None
    used = used or m.last.get(host.name)
    status = HostStatus(
        host.name, host.kind, host.url, host.source, None if health is None else health.healthy,
        gen_tps=m.speed(host.name), usd_per_hour=host.usd_per_hour,
        age_s=None if host.created_at is None else round(max(0.0, now - host.created_at), 1),
        idle_s=None if used is None else round(max(0.0, now - used), 1),
    )  # fmt: skip
    if health is not None:
        status.reason, status.models, status.loaded = (
            health.reason, list(health.models), list(health.loaded))  # fmt: skip
    why = down_reason(host)
    if why is not None:
        status.healthy, status.reason = False, f"marked down after a failed call: {why}"
    return status


async def pool_status(
    probe: bool = True,
    *,
    client: httpx.AsyncClient | None = None,
    timeout: float = PROBE_TIMEOUT,
    store: ProfileStore | None = None,
) -> list[HostStatus]:
    """Every host of the pool, config hosts first; probed concurrently (each within
    ``timeout``) unless ``probe`` is False (then ``healthy`` is None)."""
    hosts = pool_hosts()
    healths: list[Health | None] = [None] * len(hosts)
    if probe:
        at = _clock()
        healths = list(await probe_all(hosts, client, timeout))
        _remember(hosts, healths, at)
    m, now = measured(store), time.time()
    return [_status(h, x, m, now) for h, x in zip(hosts, healths, strict=True)]


def _remember(hosts: Sequence[Host], healths: Sequence[Health | None], at: float) -> None:
    """Keep probes begun ``at``; a healthy one clears a down mark (one a probe may clear)
    made more than ``PROBE_TTL`` before it began: the failed call stands that long."""
    with _lock:
        for h, x in zip(hosts, healths, strict=True):
            if x is None:
                continue
            key = _key(h)
            _probed[key] = (x, at)
            mark = _down.get(key)
            if x.healthy and mark and mark.probe_clears and at - mark.at > PROBE_TTL:
                del _down[key]
                _cleared[key] = at


async def _healths(hosts: list[Host], client: httpx.AsyncClient | None) -> list[Health]:
    """Each host's health, from a probe (or a failed call) younger than ``PROBE_TTL``, or a
    new probe: a host is asked at most once per ``PROBE_TTL``."""
    now = _clock()
    with _lock:
        cached = {k: x for k, (x, t) in _probed.items() if now - t <= PROBE_TTL}
    stale = [h for h in hosts if _key(h) not in cached]
    if stale:
        fresh = await probe_all(stale, client)
        _remember(stale, fresh, now)
        cached.update({_key(h): x for h, x in zip(stale, fresh, strict=True)})
    return [cached[_key(h)] for h in hosts]


async def still_down(host: Host, client: httpx.AsyncClient | None = None) -> str | None:
    """Why ``host`` is marked down, or None; a marked host is probed first when its last
    probe (or failed call) is older than ``PROBE_TTL``, and a success clears the mark."""
    if down_reason(host) is None:
        return None
    await _healths([host], client)
    return down_reason(host)


def has_model(names: Sequence[str], model: str) -> bool:
    """Whether ``model`` is among ``names`` (Ollama's ``qwen`` is ``qwen:latest``)."""
    return model in names or (":" not in model and f"{model}:latest" in names)


async def choose(
    kind: HostKind,
    model: str,
    *,
    exclude: Sequence[str] = (),
    client: httpx.AsyncClient | None = None,
    store: ProfileStore | None = None,
) -> tuple[list[Host], dict[str, str]]:
    """The ``kind`` hosts that may take a call for ``model``, best first (``_ranked``:
    loaded, then one never measured for the model, once, then fastest measured for the
    model, then cheapest, then by name), and why each other one may not (down, marked
    down, or without the model)."""
    hosts = [h for h in pool_hosts() if h.kind == kind and h.name not in exclude]
    why: dict[str, str] = {}
    fit: list[tuple[Host, Health]] = []
    for h, x in zip(hosts, await _healths(hosts, client), strict=True):
        mark = down_reason(h)
        if mark is not None:
            why[h.name] = f"marked down: {mark}"
        elif not x.healthy:
            why[h.name] = f"down: {x.reason}"
        elif not has_model(x.models, model) and not h.auto_pull:
            why[h.name] = f"does not have {model}"
        else:
            fit.append((h, x))
    return _ranked(fit, kind, model, measured(store)), why


def _ranked(fit: list[tuple[Host, Health]], kind: str, model: str, m: Measured) -> list[Host]:
    """Loaded first; then a host never measured for ``model`` and not yet tried (it is
    put first once, so its speed gets measured); then the fastest measured, the cheapest."""

    def new(h: Host) -> bool:
        return m.speed(h.name, model) is None and (kind, h.name, model) not in _explored

    def rank(item: tuple[Host, Health]) -> tuple[bool, bool, float, float, str]:
        h, x = item
        speed = m.speed(h.name, model) or 0.0
        return not has_model(x.loaded, model), not new(h), -speed, h.usd_per_hour, h.name

    order = [h for h, _ in sorted(fit, key=rank)]
    if order and new(order[0]):
        with _lock:
            _explored.add((kind, order[0].name, model))
    return order


def with_idle_costs(rows: list[HostStatus]) -> list[HostStatus]:
    """``rows`` with each rented host's ``idle_cost_usd`` (``hosts.ledger``): what it has
    cost the pool with no run holding it. Config hosts keep None (no rental span known)."""
    from .ledger import Ledger, idle_cost

    ledger = Ledger()
    try:
        for r in rows:
            if r.source == "rented":
                r.idle_cost_usd = round(idle_cost(r.name, ledger), 4)
    finally:
        ledger.close()
    return rows
