from __future__ import annotations

from collections.abc import Iterator

import pytest

from loopwright.backends.models import ollama_api


@pytest.fixture(autouse=True)
def _fresh_model_facts() -> Iterator[None]:
    ollama_api._FACTS.clear()
    yield
    ollama_api._FACTS.clear()
    ollama_api.close_profiles()
