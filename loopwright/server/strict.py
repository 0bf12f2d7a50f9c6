"""Tool arguments are strict at the edge: an unknown name, a wrong type (no ``true`` for a
number, no ``"10"`` for an integer) or a string the schema forbids is refused before the
tool runs, naming the field, and an unknown name comes with the closest known one.

The SDK builds each tool's argument model from its signature with pydantic's defaults
(extra names ignored, lax coercion); a ``StrictTool`` swaps in a strict subclass of that
model, so the published input schema says ``additionalProperties: false`` too.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Sequence
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp_types import ToolAnnotations
from pydantic import ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from ..runs.request import NO_CONTROL_PATTERN
from .params import RUN_ID_PATTERN

MEANING = {
    NO_CONTROL_PATTERN: "holds a control character (paths, commands and ids may not)",
    RUN_ID_PATTERN: "is not a run id (like 20261123-071300123-a3f9c2)",
}
"""What a failed ``pattern`` means, said instead of the regex."""
SHOWN = 60
"""Characters of a refused value repeated in the error."""


class StrictTool(Tool):
    """A tool whose arguments are checked strictly, with errors a model can act on."""

    async def run(
        self, arguments: dict[str, Any], context: Context[Any, Any], convert_result: bool = False
    ) -> Any:
        try:
            self.fn_metadata.validate_arguments(arguments)
        except ValidationError as exc:  # the SDK logs the field names of the cause, not values
            fields = self.fn_metadata.arg_model.model_fields
            known = [f.alias or name for name, f in fields.items()]
            raise ToolError(f"Error executing tool {self.name}: {explain(exc, known)}") from exc
        return await super().run(arguments, context, convert_result)


def strict_tool(
    fn: Callable[..., Any], description: str, annotations: ToolAnnotations | None
) -> Tool:
    """``fn`` as a tool (named after it, titled by its annotations) with strict arguments."""
    title = annotations.title if annotations else None
    tool = StrictTool.from_function(
        fn, title=title, description=description, annotations=annotations
    )
    lax = tool.fn_metadata.arg_model
    strict: type[ArgModelBase] = type(
        lax.__name__,
        (lax,),
        {
            "model_config": ConfigDict(extra="forbid", strict=True),
            "__module__": __name__,
            "__doc__": lax.__doc__,
        },
    )
    tool.fn_metadata.arg_model = strict
    tool.parameters = strict.model_json_schema(by_alias=True)
    return tool


def explain(exc: ValidationError, known: Sequence[str]) -> str:
    """Every problem of ``exc`` in one line: the field, what is wrong, what was given."""
    return "; ".join(_problem(err, known) for err in exc.errors())


def _problem(err: ErrorDetails, known: Sequence[str]) -> str:
    where = _where(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(where, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"the arguments are {', '.join(known)}"
        return f"unknown argument {where!r} ({hint})"
    if kind == "missing":
        return f"{where}: required"
    meaning = MEANING.get((err.get("ctx") or {}).get("pattern", ""))
    if kind == "string_pattern_mismatch" and meaning:
        return f"{where} {_shown(err['input'])} {meaning}"
    return f"{where}: {err['msg']} (got {_shown(err['input'])})"


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "arguments"


def _shown(value: Any) -> str:
    """``value`` as JSON, ASCII only (a control character shows as its escape), cut short."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= SHOWN else text[:SHOWN] + "…"
