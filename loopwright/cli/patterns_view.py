"""How the patterns' events and results read on a terminal (``consult``, ``delegate``,
``debate``, and ``tail`` of their runs): every exchange attributed to its spec."""

from __future__ import annotations

from typing import Any

from ..loop.vocab import EventData

TEXT_LINES = 40
"""Lines of an exchange's text the live view shows (the result holds all of it)."""


def _cost(value: Any) -> str:
    return "price unknown" if value is None else f"${float(value):.4f}"


def attribution(d: EventData) -> str:
    """``spec@host · in+out tok · latency · cost`` of an exchange or an answer."""
    return (
        f"{d.get('spec')} · {d.get('input_tokens', 0)}+{d.get('output_tokens', 0)} tok · "
        f"{float(d.get('latency') or 0):.2f}s · {_cost(d.get('cost_usd'))}"
    )


def _who(d: EventData) -> str:
    n = d.get("participant")
    where = f" #{n}" if n else ""
    rnd = f" round {d['round']}" if d.get("round") else ""
    return f"{d.get('step')}{where}{rnd}"


def format_exchange(d: EventData, full: bool = False) -> str:
    """One exchange: who, at what cost, then its text (``full``: up to ``TEXT_LINES``
    lines; else its start on the same line)."""
    head = f"[{_who(d)}] {attribution(d)}"
    if not d.get("ok", True):
        return f"{head} · FAILED: {d.get('error')}"
    text = str(d.get("text") or "").strip()
    if not full:
        flat = " ".join(text.split())
        return f"{head} — {flat[:100]}{'…' if len(flat) > 100 else ''}"
    lines = text.splitlines()
    more = [f"  … ({len(lines) - TEXT_LINES} more lines)"] if len(lines) > TEXT_LINES else []
    return "\n".join([head, *(f"  {ln}" for ln in lines[:TEXT_LINES]), *more])


def format_disagreement(d: EventData) -> str:
    mean = d.get("mean")
    value = "n/a (fewer than two answers)" if mean is None else f"{mean:.2f} (max {d.get('max')})"
    kept = f"; kept their draft: {d['kept']}" if d.get("kept") else ""
    return f"disagreement of the {d.get('step')}s: {value}{kept}"


def format_decision(d: EventData) -> str:
    if d.get("pattern") == "delegate":
        word = "complete" if d.get("complete") else "incomplete"
        issues = "; ".join(d.get("issues") or [])
        return f"review by {d.get('reviewer')}: {word} (score {d.get('score')})" + (
            f" — {issues}" if issues else ""
        )
    votes = f", votes {d['votes']}" if d.get("votes") else ""
    return (
        f"picked draft #{d.get('participant')} ({d.get('spec')}) by {d.get('by')}{votes}: "
        f"{d.get('reason')}"
    )


def report(extra: dict[str, Any]) -> list[str]:
    """The pattern's result in a few lines (the exchanges were shown as they came)."""
    pattern = extra.get("pattern")
    lines = []
    if pattern == "consult":
        answered = [a for a in extra.get("answers", []) if a.get("ok")]
        lines.append(f"  {len(answered)} answer(s): " + ", ".join(a["spec"] for a in answered))
        lines.append(
            "  " + format_disagreement({"step": "answer", **extra.get("disagreement", {})})
        )
        if extra.get("synthesis"):
            lines.append(f"  synthesis by {extra['synthesis']['spec']} (above)")
    elif pattern == "debate":
        rounds = extra.get("rounds", [])
        lines.append(f"  {len(rounds)} round(s); converged: {extra.get('converged')}")
        if extra.get("pick"):
            pick = extra["pick"]
            lines.append("  " + format_decision(pick))
            lines += [f"  | {ln}" for ln in str(pick.get("answer", "")).splitlines()]
    elif pattern == "delegate":
        patch = extra.get("patch")
        if patch is not None:
            files = [ln[6:] for ln in patch.splitlines() if ln.startswith("+++ b/")]
            lines.append(f"  changed: {', '.join(files) or 'nothing'}")
        verdict = extra.get("verdict")
        if verdict:
            lines.append("  " + format_decision({"pattern": "delegate", **verdict}))
    return lines
