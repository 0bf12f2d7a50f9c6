"""Pull one JSON value out of a model's reply: fenced, bare, or buried in prose."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder()
_OPEN = re.compile(r"[\[{]")


def extract_json(text: str) -> Any:
    """Return the first JSON object or array found in ``text``.

    Tries, in order: the whole text, each fenced block, then every ``{``/``[`` position
    (the longest value wins among those that parse). Raises ``ValueError`` when none does.
    """
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except ValueError:
        pass
    for block in _FENCE.findall(text):
        try:
            return json.loads(block.strip())
        except ValueError:
            continue
    best: tuple[int, Any] | None = None
    pos = 0
    while (match := _OPEN.search(text, pos)) is not None:
        try:
            value, end = _DECODER.raw_decode(text, match.start())
        except ValueError:
            pos = match.start() + 1
            continue
        if best is None or end - match.start() > best[0]:
            best = (end - match.start(), value)
        pos = end  # values nested inside this one are never longer
    if best is None:
        raise ValueError("no JSON object or array found")
    return best[1]
