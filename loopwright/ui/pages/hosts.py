"""The Hosts page: the pool (health, models present and loaded, $/h, age, idle, measured
speed; the health asked by the script), and the speeds loopwright measured on its own
model calls per model x host, as a table and as charts over time. It says where each
number comes from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .charts import lines
from .layout import duration, h, layout

__all__ = ["SOURCES_TEXT", "Pool", "Speeds", "hosts_html", "pool_rows", "pool_table", "speeds_html"]

POOL_COLUMNS = ("host", "kind", "source", "url", "$/h", "gen tok/s", "age", "idle", "health",
                "models", "loaded")  # fmt: skip
MODELS_SHOWN = 8
"""Model names shown per host; the rest are counted."""


@dataclass(frozen=True)
class Pool:
    """The pool's hosts (``HostStatus.as_dict()`` each), or why it could not be listed;
    ``probed``: health and models were asked."""

    hosts: list[dict[str, Any]]
    error: str | None = None
    probed: bool = False


SOURCES_TEXT = (
    "<i>ollama</i> (Ollama's own durations), <i>timings</i> (the server's timings, as "
    "llama.cpp's llama-server sends them) or <i>usage</i> (the tokens the API reported "
    "over the wall time after the first token; <i>estimated</i> when it reported none)"
)


def hosts_html(base: str, config_file: str, pool: Pool, speed: Speeds, probe_s: float) -> str:
    """The whole page: the pool (its health filled in by the script from ``fragments/hosts``)
    and the measured speeds."""
    body = (
        "<h1>Hosts</h1><p class=note>The pool: the hosts of the config file "
        f"(<code>{h(config_file)}</code>: <code>[hosts.NAME]</code>, "
        "<code>[ollama.hosts.NAME]</code>, <code>[openai.endpoints.NAME]</code>, and "
        "<code>local</code>) and the running rented ones (<code>loopwright hosts rent</code>). "
        "Health and the models present and loaded are asked of each host when this page "
        f"loads (each within {probe_s:g} s); $/h is the configured or rented price, not "
        "a measurement; tok/s is the median generated tokens/s measured on the host. Speeds "
        "are measured by loopwright on its own model calls (<code>profiles.sqlite</code>), "
        f"each from the best source the call had: {SOURCES_TEXT}.</p>"
        f"{pool_table(pool)}<h2>Measured speed</h2>{speeds_html(speed)}"
    )
    return layout("Hosts", base, body, "hosts")


def pool_table(pool: Pool) -> str:
    error = f"<p class=bad>the config cannot be read: {h(pool.error)}</p>" if pool.error else ""
    head = "".join(f"<th>{c}</th>" for c in POOL_COLUMNS)
    return f"{error}<table class=hosts><thead><tr>{head}</tr></thead>" \
        f"<tbody id=hosts-body>{pool_rows(pool)}</tbody></table>"  # fmt: skip


def pool_rows(pool: Pool) -> str:
    """One row per host of the pool (the fragment the script swaps in once probed)."""
    if pool.error and pool.probed:
        return f"<tr><td colspan={len(POOL_COLUMNS)} class=bad>{h(pool.error)}</td></tr>"
    return "".join(_host_row(x) for x in pool.hosts)


def _host_row(x: dict[str, Any]) -> str:
    healthy = x.get("healthy")
    if healthy is None:
        health = "<td class=health>not asked yet</td>"
    elif healthy:
        health = "<td class='health good'>up</td>"
    else:
        health = f"<td class='health bad'>down: {h(x.get('reason'))}</td>"
    asked = bool(healthy)  # a host that is down or not asked has no models to tell
    return (
        f'<tr data-host="{h(x["kind"])}/{h(x["name"])}"><td><b>{h(x["name"])}</b></td>'
        f"<td>{h(x['kind'])}</td><td>{h(x['source'])}</td><td><code>{h(x['url'])}</code></td>"
        f"<td class=num>{_per_hour(x.get('usd_per_hour'))}</td>"
        f"<td class=num>{_num(x.get('gen_tps'))}</td>"
        f"<td class=num>{duration(x.get('age_s'))}</td>"
        f"<td class=num>{duration(x.get('idle_s'))}</td>{health}"
        f"<td class=models>{_names(x.get('models'), asked)}</td>"
        f"<td class=loaded>{_names(x.get('loaded'), asked)}</td></tr>"
    )


def _names(names: Any, asked: bool) -> str:
    if not asked:
        return "—"
    if not names:
        return "none"
    shown = ", ".join(str(n) for n in names[:MODELS_SHOWN])
    more = f" <span class=muted>+{len(names) - MODELS_SHOWN} more</span>"
    return h(shown) + (more if len(names) > MODELS_SHOWN else "")


@dataclass(frozen=True)
class Speeds:
    """What the profile store holds: its path, whether it exists yet, a row per model x
    host (``hosts.summary.summarize``) and each speed over time per ``model@host``."""

    store: str
    exists: bool
    profiles: list[dict[str, Any]]
    gen: dict[str, list[tuple[float, float]]]
    prompt: dict[str, list[tuple[float, float]]]


def speeds_html(speed: Speeds) -> str:
    """The table of medians and the charts over time, or why there is nothing to show."""
    if not speed.exists:
        return (
            f"<p class=muted>no profile store yet: <code>{h(speed.store)}</code> is written "
            "when a run makes its first model call</p>"
        )
    if not speed.profiles:
        return "<p class=muted>no model calls recorded yet</p>"
    prompt = lines("prompt tokens/s per model@host over time", speed.prompt, "tok/s") or (
        "<p class=muted>no prompt speed measured yet (a call whose server reports only "
        "token counts measures its generation alone)</p>"
    )
    return (
        _profiles(speed.profiles)
        + lines("generated tokens/s per model@host over time", speed.gen, "tok/s")
        + prompt
    )


def _per_hour(usd: Any) -> str:
    return f"${usd:,.2f}" if isinstance(usd, int | float) and usd else "—"


def _profiles(rows: list[dict[str, Any]]) -> str:
    body = "".join(
        f"<tr><td><code>{h(r['model'])}</code></td><td>{h(r['host'])}</td>"
        f"<td class=num>{r['calls']}</td><td class=num>{_pair(r['gen_tps'])}</td>"
        f"<td class=num>{_pair(r['prompt_tps'])}</td><td class=num>{_pair(r['load_s'])}</td>"
        f"<td class=num>{_num(r.get('context'))}</td>"
        f"<td>{h(', '.join(r.get('sources') or []))}{_caveats(r)}</td></tr>"
        for r in rows
    )
    return (
        "<table><tr><th>model</th><th>host</th><th>calls</th><th>gen tok/s</th>"
        "<th>prompt tok/s</th><th>load s</th><th>context</th><th>measured from</th></tr>"
        f"{body}</table><p class=muted>each speed: median / 90th percentile</p>"
    )


def _pair(metric: Any) -> str:
    if not isinstance(metric, dict):
        return "—"
    return f"{_num(metric.get('median'))} / {_num(metric.get('p90'))}"


def _caveats(row: dict[str, Any]) -> str:
    notes = [f"{row[k]} {k}" for k in ("estimated", "truncated", "failed") if row.get(k)]
    return f" <span class=muted>({h(', '.join(notes))})</span>" if notes else ""


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
