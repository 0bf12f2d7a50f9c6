"""Redact secret values (API keys, tokens) by value before anything is written."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)
MIN_SECRET_LEN = 8
MASK = "[redacted]"


class Redactor:
    def __init__(self, secrets: list[str]) -> None:
        forms: set[str] = set()
        for value in secrets:
            if len(value) >= MIN_SECRET_LEN:
                forms.add(value)
                forms.add(json.dumps(value)[1:-1])  # as it appears inside a JSON string
        ordered = sorted(forms, key=len, reverse=True)
        self._re = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        pattern = b"|".join(re.escape(f.encode("utf-8")) for f in ordered)
        self._bre = re.compile(pattern) if ordered else None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Redactor:
        env = os.environ if env is None else env
        return cls([v for k, v in env.items() if SECRET_NAME.search(k)])

    def __call__(self, text: str) -> str:
        if self._re is None:
            return text
        return self._re.sub(MASK, text)

    def bytes(self, data: bytes) -> bytes:
        """The same on UTF-8 bytes (the event log's hot path)."""
        if self._bre is None:
            return data
        return self._bre.sub(MASK.encode(), data)
