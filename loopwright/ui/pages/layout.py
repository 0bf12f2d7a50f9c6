"""The frame every page shares, and the small formatters the pages use.

Pages are plain functions that return HTML strings; every value that comes from a run
(goals, worker output, file names, diffs) goes through ``h`` (``html.escape``). Links
are relative to ``<base href="/<token>/">``, so no page needs to know the token again.
"""

from __future__ import annotations

import html
import time
from typing import Any

__all__ = ["clock", "cost", "duration", "h", "layout", "state_badge"]


def h(value: Any) -> str:
    """Escaped text for HTML content and quoted attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def layout(title: str, base: str, body: str, page: str, data: dict[str, str] | None = None) -> str:
    """A whole page: ``page`` names it for the script (runs, run, hosts) and the nav."""
    attrs = "".join(f' data-{k}="{h(v)}"' for k, v in (data or {}).items())
    nav = "".join(
        f'<a href="{href}"{" class=active" if name == page else ""}>{label}</a>'
        for name, href, label in (("runs", "./", "Runs"), ("hosts", "hosts", "Hosts"))
    )
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f'<base href="{h(base)}"><title>{h(title)} · loopwright</title>'
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        '<link rel=stylesheet href="static/style.css"></head>'
        f'<body data-page="{h(page)}"{attrs}><header><strong>loopwright</strong>'
        f"<nav>{nav}</nav></header><main>{body}</main>"
        '<script src="static/app.js"></script></body></html>'
    )


def state_badge(state: Any) -> str:
    return f'<span class="state st-{h(state)}">{h(state)}</span>'


def clock(epoch: Any) -> str:
    if not isinstance(epoch, int | float) or not epoch:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(epoch)))


def duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "—"
    s = float(seconds)
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{int(s // 60)} m {int(s % 60)} s"
    return f"{int(s // 3600)} h {int(s % 3600 // 60)} m"


def cost(usd: Any) -> str:
    """Dollars; ``—`` when unknown (no price for the model)."""
    if not isinstance(usd, int | float) or isinstance(usd, bool):
        return "—"
    return f"${usd:,.4f}" if 0 < usd < 0.01 else f"${usd:,.2f}"
