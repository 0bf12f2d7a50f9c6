"""Backend specs (``provider:model[@host]``) and what a provider reports about itself."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import UnknownBackend


@dataclass
class BackendInfo:
    name: str
    kind: str
    available: bool
    reason: str = ""
    fix: str = ""
    spec_example: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Spec:
    provider: str
    model: str
    host: str | None

    def __str__(self) -> str:
        text = f"{self.provider}:{self.model}" if self.model else self.provider
        return f"{text}@{self.host}" if self.host else text


def parse_spec(spec: str) -> Spec:
    spec = spec.strip()
    if not spec:
        raise UnknownBackend("backend spec is empty; e.g. 'scripted'", "backend")
    provider, _, rest = spec.partition(":")
    host = None
    if provider not in ("scripted", "cli") and "@" in rest:
        rest, _, host = rest.rpartition("@")
    return Spec(provider, rest, host)
