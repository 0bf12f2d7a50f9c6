"""``build_request`` (the CLI's and the Python API's edge) is as strict as the MCP schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loopwright.errors import UserError
from loopwright.runs.request import build_request


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"backend": ""}, "backend"),
        ({"backend": "  "}, "backend"),
        ({"planner": ""}, "planner"),
        ({"workers": []}, "worker"),
        ({"reviewers": [""]}, "reviewer"),
        ({"backend": "scripted\n"}, "backend"),
    ],
)
def test_an_empty_backend_spec_never_silently_means_scripted(
    given: dict[str, Any], field: str
) -> None:
    with pytest.raises(UserError) as refused:
        build_request("g", **given)
    assert refused.value.field == field


@pytest.mark.parametrize("bad", ["\x00", "\n", "\t", "\x1b", "\x7f", "\x85"])
def test_control_characters_in_cwd_or_a_verify_argv_are_refused_naming_the_field(
    tmp_path: Path, bad: str
) -> None:
    with pytest.raises(UserError, match="holds a control character") as refused:
        build_request("g", cwd=f"{tmp_path}{bad}", isolate=False)
    assert refused.value.field == "cwd"
    with pytest.raises(UserError, match="holds a control character") as refused:
        build_request("g", verify=[["sh", "-c", f"echo {bad}"]])
    assert refused.value.field == "verify"


@pytest.mark.parametrize(
    ("limit", "value"),
    [("max_seconds", True), ("max_iterations", "10"), ("max_cost_usd", "5"), ("max_tokens", 1.5)],
)
def test_a_budget_takes_numbers_only_not_bools_or_strings(limit: str, value: Any) -> None:
    with pytest.raises(UserError) as refused:
        build_request("g", budget={limit: value})
    assert refused.value.field == limit


def test_an_integer_is_a_fine_number_of_seconds() -> None:
    assert build_request("g", budget={"max_seconds": 30}).loop.budget.max_seconds == 30.0
