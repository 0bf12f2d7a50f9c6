"""The Hosts page: configured Ollama hosts, their health (asked by the script), and the
speeds loopwright measured on its own model calls. It says where each number comes from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .charts import lines
from .layout import h, layout

__all__ = ["SOURCES_TEXT", "Speeds", "hosts_html", "speeds_html"]

SOURCES_TEXT = (
    "<i>ollama</i> (Ollama's own durations), <i>timings</i> (the server's timings, as "
    "llama.cpp's llama-server sends them) or <i>usage</i> (the tokens the API reported "
    "over the wall time after the first token; <i>estimated</i> when it reported none)"
)


def hosts_html(
    base: str,
    config_file: str,
    hosts: list[dict[str, Any]],
    config_error: str | None,
    speed: Speeds,
) -> str:
    error = f"<p class=bad>the config cannot be read: {h(config_error)}</p>" if config_error else ""
    rows = "".join(
        f'<tr data-host="{h(x["name"])}"><td><b>{h(x["name"])}</b></td><td><code>{h(x["url"])}'
        f"</code></td><td>{h(x['auth'])}</td>"
        f"<td class=num>{_per_hour(x['usd_per_hour'])}</td>"
        "<td class=health>not asked yet</td><td class=loaded>—</td></tr>"
        for x in hosts
    )
    body = (
        "<h1>Hosts</h1><p class=note>There is no host pool yet: these are the Ollama hosts "
        f"configured in <code>{h(config_file)}</code> (and <code>local</code>). Health and "
        "loaded models are asked of each host when this page loads; $/h is the configured "
        "price, not a measurement. Speeds are measured by loopwright on its own model calls "
        "(<code>profiles.sqlite</code>), each from the best source the call had: "
        f"{SOURCES_TEXT}.</p>"
        f"{error}<table class=hosts><tr><th>host</th><th>url</th><th>auth</th><th>$/h</th>"
        f"<th>health</th><th>loaded models</th></tr>{rows}</table>"
        f"<h2>Measured speed</h2>{speeds_html(speed)}"
    )
    return layout("Hosts", base, body, "hosts")


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
