"""The README's code blocks, for the tests that run or check what it tells people to type."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_blocks(title: str, lang: str) -> list[str]:
    """The ``lang`` code blocks of the README's section (``##`` or ``###``) ``title``, up to
    the next heading."""
    text = README.read_text(encoding="utf-8")
    heading = re.search(rf"^#{{2,3}} {re.escape(title)}$", text, re.M)
    assert heading, f"the README has no section {title!r}"
    section = re.split(r"^#{2,3} ", text[heading.end() :], maxsplit=1, flags=re.M)[0]
    return re.findall(rf"^```{lang}\n(.*?)^```", section, re.S | re.M)


def readme_line(title: str, prefix: str) -> str:
    """The first line of the section's ``sh`` blocks that starts with ``prefix``."""
    for block in readme_blocks(title, "sh"):
        for line in block.splitlines():
            if line.startswith(prefix):
                return line
    raise AssertionError(f"the README's {title} section has no line starting {prefix!r}")
