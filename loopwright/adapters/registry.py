"""Backend specs (``provider:model[@host]``) -> backends, and what is available."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import UnknownBackend, UserError
from .base import Backend

Factory = Callable[[str, str, str | None], Backend]

PLANNED = (
    "anthropic",
    "gemini",
    "openai",
    "openrouter",
    "ollama",
    "claude_code",
    "codex",
    "aider",
    "opencode",
    "gemini_cli",
    "cli",
)
"""Providers of DESIGN.md that this version does not ship yet (named in errors honestly)."""


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


_FUNCTIONS: dict[str, Backend] = {}


def parse_spec(spec: str) -> Spec:
    spec = spec.strip()
    if not spec:
        raise UnknownBackend("backend spec is empty; e.g. 'scripted'", "backend")
    provider, _, rest = spec.partition(":")
    host = None
    if provider != "scripted" and "@" in rest:
        rest, _, host = rest.rpartition("@")
    return Spec(provider, rest, host)


def register_function(name: str, backend: Backend) -> None:
    """Make an in-process backend reachable as ``function:NAME`` (threaded runs only)."""
    _FUNCTIONS[name] = backend


def _scripted(spec: Spec) -> Backend:
    from .scripted import ScriptedBackend, load_scenario

    if not spec.model:
        return ScriptedBackend(spec="scripted")
    return ScriptedBackend(load_scenario(spec.model), spec=str(spec))


def check_spec(spec: str, field: str = "backend") -> str:
    """Validate ``spec`` without side effects; returns it normalised (scenario path absolute)."""
    s = parse_spec(spec)
    if s.provider == "scripted":
        if not s.model:
            return "scripted"
        path = Path(s.model).expanduser()
        if not path.is_file():
            raise UserError(f"{field}: scenario file {s.model!r} not found", field)
        from .scripted import load_scenario

        load_scenario(path)
        return f"scripted:{path.resolve()}"
    if s.provider == "function":
        if s.model not in _FUNCTIONS:
            raise UnknownBackend(f"{field}: no function backend named {s.model!r}", field)
        return spec
    known = "scripted, scripted:PATH"
    if s.provider in PLANNED:
        raise UnknownBackend(
            f"{field}: backend {s.provider!r} is not built in this version yet; available: {known}",
            field,
        )
    raise UnknownBackend(f"{field}: unknown backend {spec!r}; available: {known}", field)


def create_backend(spec: str) -> Backend:
    s = parse_spec(check_spec(spec))
    if s.provider == "function":
        return _FUNCTIONS[s.model]
    return _scripted(s)


def list_backends() -> list[BackendInfo]:
    infos = [
        BackendInfo("scripted", "deterministic", True, spec_example="scripted | scripted:PATH"),
        BackendInfo(
            "function",
            "python",
            True,
            reason="Python API only (register_function)",
            spec_example="function:NAME",
        ),
    ]
    for name in PLANNED:
        infos.append(
            BackendInfo(
                name,
                "planned",
                False,
                reason="not built in this version yet",
                fix="use scripted for now",
            )
        )
    return infos
