"""``--route`` and ``--local-max-seconds`` on the command line reach the run's request
(default ``fixed``), and a wrong word is refused by name."""

from __future__ import annotations

from typing import Any

import pytest

from loopwright.cli.commands import request_from_args
from loopwright.cli.parser import build_parser


class AnyCommand(dict[str, Any]):
    def __missing__(self, name: str) -> Any:
        return name


def parse(*argv: str) -> Any:
    return build_parser(AnyCommand(), "test").parse_args(["run", "fix it", *argv])


def test_the_cli_route_options_reach_the_loop_config() -> None:
    request = request_from_args(parse("--route", "local-first", "--local-max-seconds", "90"),
                                "fix it")  # fmt: skip
    assert (request.loop.route, request.loop.local_max_seconds) == ("local-first", 90)
    assert request_from_args(parse(), "fix it").loop.route == "fixed"


def test_the_cli_refuses_a_route_it_does_not_know(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--route", "fastest")
    assert "invalid choice: 'fastest'" in capsys.readouterr().err
