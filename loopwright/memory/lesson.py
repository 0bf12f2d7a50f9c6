"""A run's memory as a planner reads it (a few lines of plain text), the text a search
looks through, and the words a search looks for."""

from __future__ import annotations

import re
import time

from .record import RunMemory, VerifyFix

__all__ = ["QUERY_TERMS", "lesson_text", "match_query", "search_text", "terms"]

QUERY_TERMS = 32
"""Words a query keeps at most (the goal's first ones)."""
LESSON_TAIL = 240
"""How much of a failed verify command's output a lesson quotes."""
_WORD = re.compile(r"\w{3,}")
STOPWORDS = frozenset({
    "the", "and", "for", "are", "but", "not", "you", "all", "any", "can", "had", "her", "was",
    "one", "our", "out", "has", "him", "his", "how", "its", "may", "new", "now", "see", "two",
    "way", "who", "did", "get", "let", "put", "say", "she", "too", "use", "that", "with",
    "have", "this", "will", "your", "from", "they", "been", "more", "when", "what", "which",
    "their", "there", "would", "make", "like", "into", "than", "then", "them", "these", "some",
    "each", "also", "must", "should", "could", "only", "just", "very", "over", "such", "here",
    "where", "while", "after", "before", "about", "above", "other", "every", "does", "done",
    "being",
})  # fmt: skip


def terms(text: str, limit: int = QUERY_TERMS) -> list[str]:
    """The distinct words of ``text`` worth searching for, lowercased, in order."""
    seen = dict.fromkeys(
        w for w in (m.group().lower() for m in _WORD.finditer(text)) if w not in STOPWORDS
    )
    return list(seen)[:limit]


def match_query(text: str) -> str | None:
    """An FTS5 ``MATCH`` expression: any of the words of ``text`` (each quoted, so no word
    is read as an operator); None when there is no word to look for."""
    words = terms(text)
    return " OR ".join(f'"{w}"' for w in words) if words else None


def search_text(m: RunMemory) -> str:
    """What a search looks through besides the goal."""
    parts = [
        *m.criteria,
        *(t for plan in m.plans for t in plan),
        *(s.error or "" for s in m.subgoals),
        *(f"{v.command} {v.output_tail[-LESSON_TAIL:]}" for v in m.verify),
        *m.issues,
        *m.files,
    ]
    return "\n".join(p for p in parts if p)


def _fix(v: VerifyFix) -> str:
    tail = " ".join(v.output_tail.split())[-LESSON_TAIL:]
    said = f"Verify `{v.command}` failed in iteration {v.failed_in}" + (
        f" (its output ended: …{tail})" if tail else ""
    )
    if v.fixed_in is None:
        return said + "; it still failed at the end"
    how = "; ".join(v.change) or "no planned subgoal"
    files = f" (changed {', '.join(v.files[:8])})" if v.files else ""
    return f"{said}; it passed in iteration {v.fixed_in} after: {how}{files}"


def _subgoals(m: RunMemory) -> str | None:
    ok = sum(s.status == "ok" for s in m.subgoals)
    failed = [
        f'"{s.title}" (iteration {s.iteration}) FAILED after {s.attempts} attempt(s)'
        + (f": {s.error}" if s.error else "")
        for s in m.subgoals
        if s.status != "ok"
    ]
    if not m.subgoals:
        return None
    return f"Subgoals: {ok} ok" + ("; " + "; ".join(failed) if failed else "")


def lesson_text(m: RunMemory) -> str:
    """The lesson of one run, as the planner and clarifier are shown it."""
    day = time.strftime("%Y-%m-%d", time.gmtime(m.ended))
    cost = f"${m.cost_usd:.2f}, {m.tokens:,} tokens"
    lines = [f"Run {m.run_id} ({day}): {m.state} after {m.iterations} iteration(s), {cost}"]
    if m.state != "completed" and m.stop_reason:
        lines.append(f"Stopped because: {m.stop_reason}")
    lines.append(f"Goal: {' '.join(m.goal.split())[:600]}")
    if m.criteria:
        lines.append("Criteria: " + "; ".join(m.criteria))
    if m.plans:
        planned = " | ".join(
            f"{n}: {'; '.join(p) or '(nothing)'}" for n, p in enumerate(m.plans, 1)
        )
        lines.append(f"Plans by iteration: {planned}")
    subgoals = _subgoals(m)
    if subgoals:
        lines.append(subgoals)
    lines += [_fix(v) for v in m.verify]
    if m.issues:
        lines.append("Reviewer issues (last): " + "; ".join(m.issues))
    if m.files_changed:
        shown = ", ".join(m.files[:10]) + (", …" if m.files_changed > 10 else "")
        lines.append(f"Final change: {m.files_changed} file(s): {shown}")
    return "\n".join(lines)
