"""Inline SVG charts: budget bars, bars per model, lines over time. No script needed,
nothing fetched; numbers are printed next to every bar so the chart never has to be read
off by eye."""

from __future__ import annotations

from .layout import clock, h

__all__ = ["hbars", "lines", "meter"]

POINTS = 200
"""Points drawn as dots per line (the newest); the line itself goes through all."""
COLOURS = ("#3b82f6", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#84cc16")


def meter(used: float, limit: float | None) -> str:
    """A bar of ``used`` against ``limit``; amber past 75 %, red at the limit."""
    if not limit or limit <= 0:
        return '<svg class=meter viewBox="0 0 100 8" preserveAspectRatio=none></svg>'
    share = max(0.0, min(1.0, used / limit))
    tone = "over" if share >= 1 else "high" if share >= 0.75 else "ok"
    return (
        '<svg class=meter viewBox="0 0 100 8" preserveAspectRatio=none role=img '
        f'aria-label="{share:.0%} used"><rect class=track width=100 height=8></rect>'
        f'<rect class="fill {tone}" width="{share * 100:.2f}" height=8></rect></svg>'
    )


def hbars(title: str, rows: list[tuple[str, float]], fmt: str = "{:,.0f}") -> str:
    """Horizontal bars, one per ``(label, value)``, scaled to the largest."""
    if not rows:
        return ""
    top = max(v for _, v in rows) or 1.0
    height, width, label_w = 22, 560, 220
    parts = [
        f'<svg class=chart viewBox="0 0 {width} {height * len(rows) + 24}" role=img '
        f'aria-label="{h(title)}"><text x=0 y=14 class=chart-title>{h(title)}</text>'
    ]
    for i, (label, value) in enumerate(rows):
        y = 24 + i * height
        bar = (width - label_w - 90) * (value / top)
        parts.append(
            f'<text x=0 y="{y + 15}">{h(label[:34])}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{bar:.1f}" height=14 '
            f'fill="{COLOURS[i % len(COLOURS)]}"></rect>'
            f'<text x="{label_w + bar + 6:.1f}" y="{y + 15}">{h(fmt.format(value))}</text>'
        )
    return "".join(parts) + "</svg>"


def lines(title: str, series: dict[str, list[tuple[float, float]]], unit: str) -> str:
    """One line per series of ``(time, value)`` points, on shared axes, with a legend."""
    points = [p for pts in series.values() for p in pts]
    if not points:
        return ""
    t0, t1 = min(p[0] for p in points), max(p[0] for p in points)
    top = max(p[1] for p in points) or 1.0
    width, height, left, bottom = 560, 220, 48, 190
    span = (t1 - t0) or 1.0

    def xy(t: float, v: float) -> tuple[float, float]:
        return left + (width - left - 10) * (t - t0) / span, bottom - 160 * v / top

    parts = [
        f'<svg class=chart viewBox="0 0 {width} {height + 22 * len(series)}" role=img '
        f'aria-label="{h(title)}"><text x=0 y=14 class=chart-title>{h(title)}</text>'
        f'<line class=axis x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}"></line>'
        f'<line class=axis x1="{left}" y1=30 x2="{left}" y2="{bottom}"></line>'
        f'<text x=0 y=34>{top:,.0f}</text><text x=0 y="{bottom}">0 {h(unit)}</text>'
        f'<text x="{left}" y="{bottom + 16}">{clock(t0)}</text>'
        f'<text x="{width - 10}" y="{bottom + 16}" text-anchor=end>{clock(t1)}</text>'
    ]
    for i, (name, pts) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        coords = [xy(t, v) for t, v in pts]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(
            f'<polyline fill=none stroke="{colour}" stroke-width=2 points="{path}"></polyline>'
        )
        parts.extend(  # each point says what it is when hovered (and to a screen reader)
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r=2.5 fill="{colour}"><title>{h(name)}: '
            f"{v:,.1f} {h(unit)} at {clock(t)}</title></circle>"
            for (x, y), (t, v) in list(zip(coords, pts, strict=True))[-POINTS:]
        )
        y = height + 22 * i + 6
        parts.append(
            f'<rect x="{left}" y="{y}" width=12 height=12 fill="{colour}"></rect>'
            f'<text x="{left + 18}" y="{y + 11}">{h(name)} (last {pts[-1][1]:,.1f} {h(unit)})'
            "</text>"
        )
    return "".join(parts) + "</svg>"
