"""Every request read from stdin gets an answer, even one the SDK cannot parse.

The SDK's stdio reader parses each line with pydantic's JSON parser, which refuses a lone
UTF-16 surrogate (``"\\ud800"``, valid JSON syntax but no character); it then drops the
line, and the client waits for its own timeout. A thread between stdin and the SDK
(``screen_stdin``) passes every line it can parse unchanged and replaces a refused one
that still names a request id (Python's parser reads lone surrogates) with a stand-in
request, ``loopwright/refused``, which ``answer_refused`` (server middleware) answers with
the JSON-RPC error the original deserves, under its id: the SDK writes it, so nothing
else ever writes to the wire. A refused response (a client's answer to our request)
becomes an error response, so the request waiting for it fails at once. Lines with no id
(notifications, garbage) are passed on: nothing can be answered to them.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from typing import Any, BinaryIO

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, jsonrpc_message_adapter
from pydantic import ValidationError

REFUSED = "loopwright/refused"
"""The stand-in method; a client sending it itself only gets its own error back."""
log = logging.getLogger("loopwright.server")


def screen(line: bytes) -> bytes:
    """``line`` when the SDK can parse it, else a stand-in the server answers (or ``line``)."""
    try:
        jsonrpc_message_adapter.validate_json(line, by_name=False)
        return line
    except ValidationError as exc:
        refused = exc
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return line
    msg_id = message.get("id") if isinstance(message, dict) else None
    if isinstance(msg_id, bool) or not isinstance(msg_id, int | str) or _surrogates(str(msg_id)):
        return line
    code, text = _why(message, refused)
    log.info("answered an unreadable message (id %r): %s", msg_id, text)
    if "method" not in message:  # a response to a request of ours
        stand_in: dict[str, Any] = {"id": msg_id, "error": {"code": code, "message": text}}
    else:
        params: dict[str, Any] = {"code": code, "message": text}
        given = message.get("params")
        meta = given.get("_meta") if isinstance(given, dict) else None
        if isinstance(meta, dict) and next(_surrogate_paths(meta, ""), None) is None:
            params["_meta"] = meta  # the 2026-07-28 envelope: the reply needs the era
        stand_in = {"id": msg_id, "method": REFUSED, "params": params}
    return (json.dumps({"jsonrpc": "2.0", **stand_in}) + "\n").encode()


def _why(message: Any, refused: ValidationError) -> tuple[int, str]:
    bad = next(_surrogate_paths(message, ""), None)
    if bad is not None:
        where, unit = bad
        code = INVALID_PARAMS if where.startswith("params") else INVALID_REQUEST
        return code, (
            f"{where or 'the message'}: a lone UTF-16 surrogate (\\u{ord(unit):04x}) is not a "
            "character; send valid Unicode"
        )
    first = refused.errors()[0]
    if first["type"] == "json_invalid":
        return PARSE_ERROR, f"not valid JSON: {first['msg']}"
    return INVALID_REQUEST, "not a JSON-RPC 2.0 request or response"


def _surrogates(text: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def _surrogate_paths(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """``(path, surrogate)`` for each string (key or value) holding a lone surrogate."""
    if isinstance(value, str):
        unit = next((ch for ch in value if 0xD800 <= ord(ch) <= 0xDFFF), None)
        if unit is not None:
            yield where, unit
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if _surrogates(key):
                yield from _surrogate_paths(key, where or "a key")
            else:
                yield from _surrogate_paths(item, path)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _surrogate_paths(item, f"{where}[{n}]")


async def answer_refused(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware: a stand-in request gets the error ``screen`` chose for it."""
    if ctx.method != REFUSED or ctx.request_id is None:
        return await call_next(ctx)
    params = ctx.params or {}
    code, text = params.get("code"), params.get("message")
    allowed = (INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR)
    raise MCPError(
        code=code if code in allowed else INVALID_REQUEST,
        message=text if isinstance(text, str) else "unreadable message",
    )


def screen_stdin() -> threading.Thread:
    """Put ``screen`` between fd 0 and whoever reads it (the SDK): fd 0 becomes a pipe a
    daemon thread fills from the real stdin, line by line; EOF is passed on."""
    real = os.dup(0)  # not inheritable (PEP 446): no child gets the client's stream
    read_end, write_end = os.pipe()
    os.dup2(read_end, 0, inheritable=False)
    os.close(read_end)
    copier = threading.Thread(
        target=_copy, args=(os.fdopen(real, "rb"), write_end), daemon=True, name="stdin-screen"
    )
    copier.start()
    return copier


def _copy(source: BinaryIO, write_end: int) -> None:
    try:
        with source:
            for line in source:
                _write_all(write_end, screen(line))
    except OSError as exc:  # the reader went away (server stopping): nothing left to do
        log.info("stdin screen stopped: %s", exc)
    finally:
        os.close(write_end)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
