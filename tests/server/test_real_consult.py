"""Claude Code 2.1.330 calls ``consult`` over MCP and gets the attributed answers back
(a real client; the model is a scripted Anthropic endpoint on 127.0.0.1)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loopwright.runs.store import RunStore

from ..helpers import write_scenario
from .fake_anthropic import PREFIX, Script, _last_tool_result, serve
from .test_real_clients import claude_headless, client_env, run  # noqa: F401 (a fixture)

pytestmark = pytest.mark.real_clients


class ConsultScript(Script):
    """Plays the model: call ``consult`` blocking, then say what came back."""

    def __init__(self, **consult_args: Any) -> None:
        super().__init__(goal="")
        self.consult_args = consult_args
        self.answers: list[dict[str, Any]] = []

    def reply(self, body: dict[str, Any]) -> bytes:
        tools = {t.get("name") for t in body.get("tools") or []}
        if PREFIX + "consult" not in tools:
            return self.text("ok")  # a side request (title, summary): no tools offered
        last = _last_tool_result(body.get("messages") or [])
        if last is None:
            return self.tool("consult", {**self.consult_args, "detach": False})
        _, result = last
        if not isinstance(result, dict) or "run_id" not in result:
            self.errors.append(result)
            return self.text(f"ERROR {result}")
        self.run_id = result["run_id"]
        self.answers = (result.get("result") or {}).get("extra", {}).get("answers", [])
        specs = ",".join(a["spec"] for a in self.answers)
        return self.text(f"DONE {self.run_id} {result.get('status')} {specs}")


def test_claude_code_consults_two_models_and_receives_their_attributed_answers(
    client_env: dict[str, str],  # noqa: F811
    tmp_path: Path,
    home: Path,
) -> None:
    a = write_scenario(tmp_path / "a.json", {"consult": ["Use Redis streams"]})
    b = write_scenario(
        tmp_path / "b.json",
        {
            "consult": [
                {
                    "text": "Use Postgres",
                    "usage": {"input_tokens": 7, "output_tokens": 2, "cost_usd": 0.001},
                }
            ]
        },
    )
    script = ConsultScript(question="Which queue?", models=[a, b])
    httpd, port = serve(script)
    try:
        argv = claude_headless(client_env, tmp_path, port)
        at = argv.index("--allowedTools") + 1
        argv[at] = f"{PREFIX}consult"
        out = run(argv, client_env, tmp_path, timeout=180)
    finally:
        httpd.shutdown()
        httpd.server_close()
    final = json.loads(out.strip().splitlines()[-1])
    assert final["type"] == "result" and not final["is_error"], final
    assert script.calls == ["consult"] and not script.errors
    assert f"DONE {script.run_id} completed {a},{b}" in final["result"]
    assert [(x["spec"], x["text"], x["cost_usd"]) for x in script.answers] == [
        (a, "Use Redis streams", 0.0),
        (b, "Use Postgres", 0.001),
    ]
    result = RunStore(home).read_result(str(script.run_id))
    assert result is not None and result["extra"]["pattern"] == "consult"
