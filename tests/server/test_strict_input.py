"""Input is strict at the edge: names, types, empty specs, control characters, limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer
from pydantic import TypeAdapter, ValidationError

from loopwright.config import MAX_GOAL_CHARS
from loopwright.loop.types import Budget
from loopwright.server import params as P
from loopwright.server.state import ServerState

from .test_tools import error

RUN_ID = "20261123-071300123-a3f9c2"


def no_runs(home: Path) -> bool:
    runs = home / "runs"
    return not runs.exists() or not list(runs.iterdir())


async def test_unknown_argument_names_are_refused_with_the_closest_known_name(
    server: MCPServer[ServerState], mode: str, home: Path
) -> None:
    async with Client(server, mode=mode) as c:
        text = await error(c, "orchestrate", goal="g", max_iteration=1, verify_command=[["false"]])
        assert "unknown argument 'max_iteration' (did you mean 'max_iterations'?)" in text
        assert "unknown argument 'verify_command' (did you mean 'verify_commands'?)" in text
        text = await error(c, "orchestrate_status", run_id=RUN_ID, zzz=1)
        assert "unknown argument 'zzz' (the arguments are run_id)" in text
    assert no_runs(home)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_seconds", True),
        ("max_iterations", "10"),
        ("max_iterations", True),
        ("max_cost_usd", "1.5"),
        ("detach", "false"),
        ("isolate", 0),
        ("workers", "scripted"),
    ],
)
async def test_a_bool_is_not_a_number_and_a_string_is_not_a_number_or_a_bool(
    server: MCPServer[ServerState], home: Path, name: str, value: Any
) -> None:
    async with Client(server) as c:
        text = await error(c, "orchestrate", goal="g", **{name: value})
    assert text.startswith(f"Error executing tool orchestrate: {name}: ")
    assert no_runs(home)


@pytest.mark.parametrize("field", ["backend", "planner", "workers", "reviewers"])
async def test_an_empty_backend_spec_is_refused_rather_than_taken_for_scripted(
    server: MCPServer[ServerState], home: Path, field: str
) -> None:
    empty: Any = [] if field in ("workers", "reviewers") else ""
    async with Client(server) as c:
        assert f"{field}: " in await error(c, "orchestrate", goal="g", **{field: empty})
        if field in ("workers", "reviewers"):
            assert f"{field}[0]: " in await error(c, "orchestrate", goal="g", **{field: [""]})
    assert no_runs(home)


@pytest.mark.parametrize("bad", ["\x00", "\n", "\x1b[2J", "\x7f", "\x9b"])
async def test_control_characters_in_paths_argv_and_run_ids_are_refused_naming_the_field(
    server: MCPServer[ServerState], mode: str, home: Path, tmp_path: Path, bad: str
) -> None:
    said = "holds a control character"
    async with Client(server, mode=mode) as c:
        text = await error(c, "orchestrate", goal="g", cwd=f"{tmp_path}{bad}")
        assert "orchestrate: cwd " in text and said in text
        text = await error(c, "orchestrate", goal="g", verify_commands=[["true", f"a{bad}"]])
        assert "verify_commands[0][1] " in text and said in text
        assert said in await error(c, "orchestrate", goal="g", backend=f"scripted{bad}")
        assert said in await error(c, "doctor", cwd=f"/tmp{bad}")
        assert said in await error(c, "orchestrate_merge", run_id=RUN_ID, into=f"main{bad}")
        for tool in ("orchestrate_status", "orchestrate_tail", "orchestrate_resume"):
            text = await error(c, tool, run_id=f"{RUN_ID}{bad}")
            assert "run_id " in text and "is not a run id" in text
    assert no_runs(home)


async def test_every_tool_has_a_title_every_hint_and_a_closed_input_schema(
    server: MCPServer[ServerState],
) -> None:
    async with Client(server) as c:
        tools = (await c.list_tools()).tools
    for t in tools:
        assert t.title and t.annotations and t.annotations.title == t.title, t.name
        hints = t.annotations
        assert None not in (
            hints.read_only_hint,
            hints.destructive_hint,
            hints.idempotent_hint,
            hints.open_world_hint,
        ), t.name
        assert t.input_schema.get("additionalProperties") is False, t.name
    by_name = {t.name: t.annotations for t in tools}
    assert by_name["orchestrate_status"].read_only_hint  # type: ignore[union-attr]
    assert by_name["orchestrate_merge"].destructive_hint  # type: ignore[union-attr]
    assert by_name["orchestrate_cancel"].idempotent_hint  # type: ignore[union-attr]


def bounds(annotation: Any) -> dict[str, Any]:
    schema = TypeAdapter(annotation).json_schema()
    arm = next(a for a in schema.get("anyOf", [schema]) if a.get("type") != "null")
    return {k: v for k, v in arm.items() if k in ("minimum", "maximum", "exclusiveMinimum")}


def test_the_schemas_limits_are_the_limits_the_server_enforces() -> None:
    for name, annotation in (
        ("max_iterations", P.MaxIterations),
        ("max_seconds", P.MaxSeconds),
        ("max_cost_usd", P.MaxCost),
    ):
        field = TypeAdapter(Budget).json_schema()["properties"][name]
        enforced = {k: field[k] for k in ("minimum", "maximum", "exclusiveMinimum") if k in field}
        assert bounds(annotation) == enforced, name
    goal = TypeAdapter(P.Goal).json_schema()
    assert goal["maxLength"] == MAX_GOAL_CHARS and goal["minLength"] == 1


@pytest.mark.parametrize(
    "candidate",
    [RUN_ID, f"{RUN_ID}\n", f"{RUN_ID}\x00", "20261123-071300123-A3F9C2", "../x", "",
     "٢٠٢٦١١٢٣-071300123-a3f9c2", f"x{RUN_ID}", f"{RUN_ID}0"],
)  # fmt: skip
def test_the_run_id_pattern_of_the_schema_takes_a_run_id_and_nothing_around_it(
    candidate: str,
) -> None:
    """Anchored at both ends (pydantic's regex ``$`` is the end of the text), ASCII digits."""
    try:
        TypeAdapter(P.RunId).validate_python(candidate)
        taken = True
    except ValidationError:
        taken = False
    assert taken == (candidate == RUN_ID)
