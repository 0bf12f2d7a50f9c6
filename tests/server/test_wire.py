"""The stdin screen: lines the SDK cannot parse become answerable stand-ins."""

from __future__ import annotations

import json
from typing import Any

from loopwright.server.wire import REFUSED, screen


def line(message: dict[str, Any]) -> bytes:
    return (json.dumps({"jsonrpc": "2.0", **message}) + "\n").encode()


def test_a_line_the_sdk_parses_passes_unchanged() -> None:
    ok = line({"id": 1, "method": "tools/call", "params": {"name": "doctor"}})
    assert screen(ok) == ok


def test_a_request_with_a_lone_surrogate_becomes_a_stand_in_under_its_id() -> None:
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}
    bad = line({"id": "a", "method": "tools/call", "params": {"x": ["\udfff"], "_meta": meta}})
    out = json.loads(screen(bad))
    assert out["id"] == "a" and out["method"] == REFUSED
    assert out["params"]["code"] == -32602 and out["params"]["_meta"] == meta
    assert out["params"]["message"].startswith("params.x[0]: a lone UTF-16 surrogate (\\udfff)")


def test_a_response_with_a_lone_surrogate_becomes_an_error_response() -> None:
    bad = line({"id": 7, "result": {"action": "accept", "content": {"q": "\ud800"}}})
    out = json.loads(screen(bad))
    assert out == {"jsonrpc": "2.0", "id": 7, "error": out["error"]}
    assert "result.content.q" in out["error"]["message"]


def test_what_has_no_id_to_answer_passes_unchanged() -> None:
    for raw in (
        line({"method": "notifications/progress", "params": {"m": "\ud800"}}),
        line({"id": True, "method": "ping", "params": {"m": "\ud800"}}),
        line({"id": "\ud800", "method": "ping"}),
        b"not json at all\n",
    ):
        assert screen(raw) == raw


def test_a_request_of_the_wrong_shape_is_answered_as_an_invalid_request() -> None:
    out = json.loads(screen(line({"id": 3, "method": 5})))
    assert out["method"] == REFUSED and out["params"]["code"] == -32600
