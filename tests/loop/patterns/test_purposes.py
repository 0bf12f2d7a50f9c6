"""The patterns' purposes are first-class: each has an output cap and a scenario queue."""

from __future__ import annotations

from typing import get_args

from loopwright.backends.base import Purpose
from loopwright.backends.models.limits import DEFAULT_OUTPUT_CAPS
from loopwright.backends.scripted import QUEUES, ROLES


def test_every_purpose_has_a_default_output_cap() -> None:
    assert set(get_args(Purpose)) <= set(DEFAULT_OUTPUT_CAPS)


def test_every_purpose_has_a_queue_a_scenario_file_may_name() -> None:
    for purpose in get_args(Purpose):
        assert QUEUES.get(purpose, purpose) in ROLES
