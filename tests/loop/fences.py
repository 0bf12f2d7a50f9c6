"""Reading the fenced blocks of a loop prompt, as a model would see them."""

from __future__ import annotations

import re

BLOCK = re.compile(r"^<<<UNTRUSTED-([0-9a-f]{16})\n(.*?)\nUNTRUSTED-\1>>>$", re.M | re.S)


def blocks(prompt: str) -> list[tuple[str, str]]:
    """(boundary, body) of each fenced block, in order; a block ends at the first line
    that closes its own boundary."""
    return [(m[1], m[2]) for m in BLOCK.finditer(prompt)]


def outside(prompt: str) -> str:
    """The prompt with every fenced block cut out: what loopwright itself says."""
    return BLOCK.sub("[quoted]", prompt)


def same_boundary(prompt: str) -> str:
    """The prompt with its boundary replaced by a fixed one, to compare two prompts."""
    found = {b for b, _ in blocks(prompt)}
    assert len(found) <= 1, f"more than one boundary: {found}"
    return prompt.replace(found.pop(), "0" * 16) if found else prompt


def quoted_once(prompt: str, text: str) -> tuple[str, str]:
    """The one block that holds ``text``; fails unless exactly one does and ``text`` occurs
    nowhere outside the blocks."""
    holding = [(b, body) for b, body in blocks(prompt) if text in body]
    assert len(holding) == 1, f"{len(holding)} blocks hold the text"
    assert text not in outside(prompt)
    return holding[0]
