"""Redact secrets before anything is written: the values of secret-named environment
variables, and well-known token shapes wherever they come from (Anthropic and OpenAI
keys, GitHub and Slack tokens, AWS key ids, JWTs, credentials in URLs).

``Redactor`` works on a whole text (a JSON document, one event); ``RedactingStream`` on a
text that arrives in parts (a worker's output file), so a secret cut across two parts
is still found.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import TextIO

__all__ = [
    "MASK",
    "MIN_SECRET_LEN",
    "SECRET_NAME",
    "TOKEN_SHAPES",
    "RedactingStream",
    "Redactor",
]

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH(?!OR)", re.IGNORECASE)
"""Names whose values are secrets (``AUTH`` but not ``GIT_AUTHOR_NAME``)."""
MIN_SECRET_LEN = 8
MASK = "[redacted]"


def _word(prefix: str) -> str:
    """``prefix`` where it starts a word: after a non-alphanumeric character, or after a
    JSON escape (``\\n``) or an ANSI colour (``\\x1b[0m``), which end in a letter. The
    literal comes first so the search for it runs at C speed."""
    p = re.escape(prefix)
    return rf"{p}(?:(?<![A-Za-z0-9]{p})|(?<=\\[nrt]{p})|(?<=[0-9;]m{p}))"


TOKEN_SHAPES: dict[str, tuple[str, str]] = {
    # name: (the literal every match starts with, pattern)
    "anthropic/openai key": (
        "sk-",
        _word("sk-") + r"(?:ant-[A-Za-z0-9_-]{8,}|(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}"
        r"|(?=[A-Za-z]*[0-9])[A-Za-z0-9]{20,})",
    ),
    "github token": ("gh", _word("gh") + r"[pousr]_[A-Za-z0-9]{20,}"),
    "github fine-grained token": ("github_pat_", _word("github_pat_") + r"[A-Za-z0-9_]{20,}"),
    "aws key id": ("AKIA", _word("AKIA") + r"[A-Z0-9]{16}(?![A-Za-z0-9])"),
    "aws temporary key id": ("ASIA", _word("ASIA") + r"[A-Z0-9]{16}(?![A-Za-z0-9])"),
    "slack token": ("xox", _word("xox") + r"[abeprs]-[A-Za-z0-9-]{10,}"),
    "jwt": ("eyJ", _word("eyJ") + r"[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"),
    # user:password@ after a scheme (kept, with the host); the password may hold '@'
    "url credentials": ("://", r"://[^\s/?#@\"'\\<>]*:[^\s/?#\"'\\<>]*@"),
}
_URL_MASK = "://" + MASK + "@"

HOLD = 8192
"""A stream holds back at most about this many characters of an unfinished line."""
WORD_MAX = 65536
"""A stream never cuts inside a word (no token holds a space, quote or backslash) shorter
than this."""
_WORD_END = re.compile(r"[\s\"'`\\<>]")


class _Shape:
    """One token shape, on text and on UTF-8 bytes, with the literal that gates it."""

    def __init__(self, anchor: str, pattern: str, mask: str) -> None:
        self.anchor = anchor
        self.banchor = anchor.encode()
        self.re = re.compile(pattern)
        self.bre = re.compile(pattern.encode())
        self.mask = mask
        self.bmask = mask.encode()


_SHAPES = [
    _Shape(anchor, pattern, _URL_MASK if name == "url credentials" else MASK)
    for name, (anchor, pattern) in TOKEN_SHAPES.items()
]


def _forms(secrets: Iterable[str]) -> list[str]:
    """Each secret as it may appear in a text: itself, one line of it, inside a JSON
    string; none holds a newline (so no match spans one), longest first."""
    forms: set[str] = set()
    for value in secrets:
        in_json = (json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1])
        for form in (value, *value.splitlines(), *in_json):
            if len(form) >= MIN_SECRET_LEN and "\n" not in form:
                forms.add(form)
    return sorted(forms, key=len, reverse=True)


class Redactor:
    """Replaces secrets by ``[redacted]``: each of ``secrets`` (8 characters or more) by
    value, and every ``TOKEN_SHAPES`` match (a URL keeps its scheme and host)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._forms = _forms(secrets)
        self._bforms = [f.encode("utf-8") for f in self._forms]
        self.longest = len(self._forms[0]) if self._forms else 0
        """The length of the longest secret as written: a stream holds back one less."""
        alternatives = [*map(re.escape, self._forms), *(s.re.pattern for s in _SHAPES)]
        self._any = re.compile("|".join(alternatives))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Redactor:
        env = os.environ if env is None else env
        return cls([v for k, v in env.items() if SECRET_NAME.search(k)])

    def __call__(self, text: str) -> str:
        # `in` and str.replace run at memory speed, a pattern only where its literal is
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        for shape in _SHAPES:
            if shape.anchor in text:
                text = shape.re.sub(shape.mask, text)
        return text

    def bytes(self, data: bytes) -> bytes:
        """The same on UTF-8 bytes (the event log's hot path)."""
        for form in self._bforms:
            if form in data:
                data = data.replace(form, MASK.encode())
        for shape in _SHAPES:
            if shape.banchor in data:
                data = shape.bre.sub(shape.bmask, data)
        return data

    def spans(self, text: str, start: int = 0) -> Iterable[tuple[int, int]]:
        """Where secrets are in ``text`` from ``start`` (a literal, else a token)."""
        return (m.span() for m in self._any.finditer(text, start))

    def stream(self) -> RedactingStream:
        return RedactingStream(self)


class RedactingStream:
    """Redacts a text written in parts: ``feed`` returns what is safe to write now and
    holds back what may be the start of a secret; ``flush`` returns the rest.

    No secret spans a newline, so the held part is the unfinished last line. When that
    grows past ``HOLD`` it is written up to the start of its last word, keeping at least
    the longest secret's length less one, and never cutting inside a match."""

    def __init__(self, redactor: Redactor) -> None:
        self._redact = redactor
        self._held = ""

    def feed(self, text: str) -> str:
        text = self._held + text
        line = text.rfind("\n") + 1
        cut = line if len(text) - line <= HOLD else self._cut(text, line)
        self._held = text[cut:]
        return self._redact(text[:cut]) if cut else ""

    def flush(self) -> str:
        text, self._held = self._held, ""
        return self._redact(text)

    def _cut(self, text: str, line: int) -> int:
        """Where to cut the long unfinished line that starts at ``line``."""
        cut = len(text) - max(self._redact.longest - 1, 0)
        floor = max(line, cut - WORD_MAX)
        ends = [m.end() for m in _WORD_END.finditer(text, floor, cut)]
        cut = ends[-1] if ends else cut  # a word longer than WORD_MAX is cut anyway
        for start, end in self._redact.spans(text, floor):
            if start >= cut:
                break
            if end > cut or end == len(text):  # straddles the cut, or may go on
                cut = start
                break
        return max(cut, line)


class RedactingWriter:
    """A text stream (the run host's ``sys.stderr``, whose fd is ``host.log``) whose
    writes are redacted, across writes, before they reach ``raw``."""

    def __init__(self, raw: TextIO, redactor: Redactor) -> None:
        self._raw = raw
        self._stream = RedactingStream(redactor)

    def write(self, text: str) -> int:
        self._raw.write(self._stream.feed(text))
        return len(text)

    def flush(self) -> None:
        self._raw.write(self._stream.flush())
        self._raw.flush()

    def fileno(self) -> int:
        return self._raw.fileno()

    def isatty(self) -> bool:
        return False
