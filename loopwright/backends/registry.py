"""Backend specs (``provider:model[@host]``) -> backends, and what is available.

``scripted`` and ``function`` are built in. Every other provider lives in the module named
in ``PROVIDERS``; a provider whose module is not in this installation is reported as not
built. A provider module has three functions::

    def check(spec: Spec, field: str) -> str            # validate, no side effects; normalised
    def create(spec: Spec) -> Backend                  # a ready backend (may raise UserError)
    def infos() -> list[BackendInfo]                   # one per provider name it serves

One module may serve several names (it dispatches on ``spec.provider``).
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import UnknownBackend, UserError
from .base import Backend

PROVIDERS: dict[str, str] = {
    "anthropic": "loopwright.backends.models.anthropic",
    "gemini": "loopwright.backends.models.gemini",
    "openai": "loopwright.backends.models.openai_compat",
    "openrouter": "loopwright.backends.models.openai_compat",
    "ollama": "loopwright.backends.models.ollama",
    "claude_code": "loopwright.backends.agents.backend",
    "codex": "loopwright.backends.agents.backend",
    "aider": "loopwright.backends.agents.backend",
    "opencode": "loopwright.backends.agents.backend",
    "gemini_cli": "loopwright.backends.agents.backend",
    "cli": "loopwright.backends.agents.backend",
}


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
    if provider not in ("scripted", "cli") and "@" in rest:
        rest, _, host = rest.rpartition("@")
    return Spec(provider, rest, host)


def register_function(name: str, backend: Backend) -> None:
    """Make an in-process backend reachable as ``function:NAME`` (threaded runs only)."""
    _FUNCTIONS[name] = backend


def _module(provider: str) -> ModuleType | None:
    name = PROVIDERS.get(provider)
    if name is None or importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


def _known() -> str:
    built = ["scripted", "scripted:PATH"] + [p for p in PROVIDERS if _module(p) is not None]
    return ", ".join(built)


def _check_scripted(s: Spec, field: str) -> str:
    if not s.model:
        return "scripted"
    path = Path(s.model).expanduser()
    if not path.is_file():
        raise UserError(f"{field}: scenario file {s.model!r} not found", field)
    from .scripted import load_scenario

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
    module = _module(s.provider)
    if module is not None:
        normalised: str = module.check(s, field)
        return normalised
    if s.provider in PROVIDERS:
        raise UnknownBackend(
            f"{field}: backend {s.provider!r} is not built in this version yet; "
            f"available: {_known()}",
            field,
        )
    raise UnknownBackend(f"{field}: unknown backend {spec!r}; available: {_known()}", field)


def create_backend(spec: str) -> Backend:
    s = parse_spec(check_spec(spec))
    if s.provider == "function":
        return _FUNCTIONS[s.model]
    if s.provider == "scripted":
        from .scripted import ScriptedBackend, load_scenario

        if not s.model:
            return ScriptedBackend(spec="scripted")
        return ScriptedBackend(load_scenario(s.model), spec=str(s))
    module = _module(s.provider)
    assert module is not None  # check_spec passed
    backend: Backend = module.create(s)
    return backend


def list_backends() -> list[BackendInfo]:
    infos = [
        BackendInfo("scripted", "deterministic", True, spec_example="scripted | scripted:PATH"),
        BackendInfo(
            "function", "python", True, reason="Python API only (register_function)",
            spec_example="function:NAME",
        ),
    ]  # fmt: skip
    seen: set[str] = set()
    for provider, name in PROVIDERS.items():
        module = _module(provider)
        if module is None:
            infos.append(BackendInfo(provider, "planned", False,
                                     reason="not built in this version yet",
                                     fix="use scripted for now"))  # fmt: skip
        elif name not in seen:
            seen.add(name)
            infos.extend(module.infos())
    return infos
