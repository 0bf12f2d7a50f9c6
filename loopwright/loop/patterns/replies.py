"""Reading the patterns' structured replies: a debater's revision and a judge's or voter's
pick. Lenient where a plain answer still means something (a revision that is not JSON is
the revised answer itself); strict where it does not (a pick must name a draft)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from ..jsonx import extract_json
from .prompts import NO_CHANGE


@dataclass(frozen=True)
class Revision:
    changed: bool
    answer: str
    critique: str = ""


def parse_revision(text: str, previous: str) -> Revision:
    """A debater's reply to a round. Unchanged when it says so (``"changed": false``, or
    just ``NO CHANGE``) or when its answer is its previous draft again; a reply that is not
    the JSON asked for is taken as the revised answer, whole."""
    stripped = text.strip()
    if stripped.rstrip(".!").strip().upper() == NO_CHANGE:
        return Revision(False, previous)
    try:
        data = extract_json(stripped)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("answer"), str):
        critique = str(data.get("critique") or "")
        answer = data["answer"].strip()
        if data.get("changed") is False or not answer:
            return Revision(False, previous, critique)
        return Revision(answer != previous.strip(), answer, critique)
    if not stripped:
        return Revision(False, previous)
    return Revision(stripped != previous.strip(), stripped)


def parse_pick(text: str, numbers: Collection[int]) -> tuple[int, str]:
    """``(draft number, reason)`` from a judge's or voter's reply; ``ValueError`` unless it
    names one of ``numbers``."""
    data = extract_json(text)
    if not isinstance(data, dict):
        raise ValueError('expected {"pick": <draft number>, "reason": "..."}')
    pick = data.get("pick")
    if isinstance(pick, str) and pick.strip().isdigit():
        pick = int(pick.strip())
    if isinstance(pick, bool) or not isinstance(pick, int) or pick not in numbers:
        allowed = ", ".join(str(n) for n in sorted(numbers))
        raise ValueError(f'"pick" is {pick!r}; it must be one of {allowed}')
    return pick, str(data.get("reason") or "")
