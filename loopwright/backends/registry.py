"""Backend specs -> backends, and what is available.

``scripted`` and ``function`` are built in. Every other provider is a module that is a
``Provider``: ``check`` a spec, ``create`` a backend, report ``infos``. One module may
serve several names (it dispatches on ``spec.provider``). Modules load on first use, so
checking a scripted run's spec does not import the HTTP clients.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..errors import UnknownBackend, UserError
from ..process.runner import PlainRunner, ProcessRunner
from .base import Backend
from .scripted import ScriptedBackend, load_scenario
from .spec import BackendInfo, Spec, parse_spec

__all__ = [
    "PROVIDERS",
    "BackendInfo",
    "FailsOver",
    "Provider",
    "Spec",
    "check_spec",
    "create_backend",
    "list_backends",
    "parse_spec",
    "register_function",
]


class Provider(Protocol):
    """What a provider module exposes (each function at module level)."""

    def check(self, spec: Spec, field: str, /) -> str:
        """Validate ``spec`` without side effects; return it normalised. Raises
        ``UserError`` naming ``field`` when it cannot work."""
        ...

    def create(self, spec: Spec, /, *, runner: ProcessRunner) -> Backend:
        """A ready backend for a checked spec (may raise ``UserError``); the programs it
        starts go through ``runner``."""
        ...

    def infos(self) -> list[BackendInfo]:
        """One entry per provider name the module serves."""
        ...


# One loader per module: mypy checks each module against ``Provider`` where it is returned.
def _agents() -> Provider:
    from .agents import backend

    return backend


def _anthropic() -> Provider:
    from .models import anthropic

    return anthropic


def _gemini() -> Provider:
    from .models import gemini

    return gemini


def _ollama() -> Provider:
    from .models import ollama

    return ollama


def _openai() -> Provider:
    from .models import openai_compat

    return openai_compat


PROVIDERS: dict[str, Callable[[], Provider]] = {
    "anthropic": _anthropic,
    "gemini": _gemini,
    "openai": _openai,
    "openrouter": _openai,
    "ollama": _ollama,
    "claude_code": _agents,
    "codex": _agents,
    "aider": _agents,
    "opencode": _agents,
    "gemini_cli": _agents,
    "cli": _agents,
}


@runtime_checkable
class FailsOver(Protocol):
    """A backend over the hosts of the pool (``models.pooled.HostFailover``): it can be
    given where a call goes when no host can take it."""

    def with_fallback(self, spec: str, make: Callable[[], Backend], /) -> None: ...


_FUNCTIONS: dict[str, Backend] = {}


def register_function(name: str, backend: Backend) -> None:
    """Make an in-process backend reachable as ``function:NAME`` (threaded runs only)."""
    _FUNCTIONS[name] = backend


def _check_scripted(s: Spec, field: str) -> str:
    if not s.model:
        return "scripted"
    path = Path(s.model).expanduser()
    if not path.is_file():
        raise UserError(f"{field}: scenario file {s.model!r} not found", field)
    load_scenario(path)
    return f"scripted:{path.resolve()}"


def check_spec(spec: str, field: str = "backend") -> str:
    """Validate ``spec`` without side effects; returns it normalised (scenario path absolute)."""
    s = parse_spec(spec)
    if s.provider == "scripted":
        return _check_scripted(s, field)
    if s.provider == "function":
        if s.model not in _FUNCTIONS:
            raise UnknownBackend(f"{field}: no function backend named {s.model!r}", field)
        return spec
    if s.provider not in PROVIDERS:
        known = ", ".join(["scripted", "scripted:PATH", "function:NAME", *PROVIDERS])
        raise UnknownBackend(f"{field}: unknown backend {spec!r}; available: {known}", field)
    return PROVIDERS[s.provider]().check(s, field)


def create_backend(
    spec: str, *, runner: ProcessRunner | None = None, fallback: str | None = None
) -> Backend:
    """A backend for ``spec``. The programs it starts (an agent CLI, the tool loop's
    commands, a scripted reply's ``run``) go through ``runner``, by default the plain one;
    a ``function:`` backend is the caller's own object and starts what it likes.

    ``fallback``: a spec the calls go to when ``spec`` names a host of the pool
    (``@NAME``, ``@pool``, Ollama's ``local``) and no host can take them; made on first
    use. Other specs have no host to fail over from and ignore it."""
    s = parse_spec(check_spec(spec))
    runner = runner or PlainRunner()
    if s.provider == "function":
        return _FUNCTIONS[s.model]
    if s.provider == "scripted":
        if not s.model:
            return ScriptedBackend(spec="scripted", runner=runner)
        return ScriptedBackend(load_scenario(s.model), spec=str(s), runner=runner)
    backend = PROVIDERS[s.provider]().create(s, runner=runner)
    if fallback and isinstance(backend, FailsOver):
        backend.with_fallback(fallback, lambda: create_backend(fallback, runner=runner))
    return backend


def list_backends() -> list[BackendInfo]:
    infos = [
        BackendInfo("scripted", "deterministic", True, spec_example="scripted | scripted:PATH"),
        BackendInfo(
            "function", "python", True, reason="Python API only (register_function)",
            spec_example="function:NAME",
        ),
    ]  # fmt: skip
    for load in dict.fromkeys(PROVIDERS.values()):  # each module once, in order
        infos.extend(load().infos())
    return infos
