"""How many tokens one model turn may generate, by the call's purpose.

A local model without a cap once ran 8,122 tokens (153 s) until its context was full, so
every turn carries a cap: the API's own limit (``max_tokens``, ``max_completion_tokens``,
Ollama's ``num_predict``). ``[max_tokens]`` in the config file overrides the defaults::

    [max_tokens]
    plan = 4096
    work = 8192
"""

from __future__ import annotations

from typing import Any

from ...errors import UserError
from ..settings import load_file

DEFAULT_OUTPUT_CAPS: dict[str, int] = {
    "clarify": 1024,
    "plan": 4096,
    "work": 8192,
    "review": 2048,
    "consult": 4096,
    "synthesize": 4096,
    "debate": 4096,
    "judge": 1024,
    "chat": 4096,
}
"""Every ``Purpose`` has one (a test checks): a call without a cap could run on to the end
of the context."""


def output_caps(data: dict[str, Any] | None = None) -> dict[str, int]:
    """The per-purpose output caps: the defaults, overridden by ``[max_tokens]``."""
    data = load_file() if data is None else data
    table = data.get("max_tokens", {})
    caps = dict(DEFAULT_OUTPUT_CAPS)
    for purpose, value in (table if isinstance(table, dict) else {}).items():
        if purpose not in caps or isinstance(value, bool) or not isinstance(value, int):
            raise UserError(
                f"[max_tokens] {purpose} = {value!r}: give a whole number of tokens for one of "
                f"{', '.join(caps)}",
                "config",
            )
        if value < 1:
            raise UserError(f"[max_tokens] {purpose} = {value}: at least 1", "config")
        caps[purpose] = value
    return caps
