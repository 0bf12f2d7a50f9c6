"""``loopwright serve`` and ``loopwright doctor`` (registered in ``loopwright.cli.commands``)."""

from __future__ import annotations

import argparse
import json

from .output import out
from .view import backend_lines


def cmd_serve(args: argparse.Namespace) -> int:
    from ..server.app import serve

    return serve()


def cmd_doctor(args: argparse.Namespace) -> int:
    import anyio

    from ..runs.request import check_no_control
    from ..server.doctor import report

    if args.cwd:  # refused before anything looks at the path, as run --cwd is
        check_no_control(args.cwd, "cwd")
    rep = anyio.run(report, args.cwd)
    if args.json:
        out(json.dumps(rep.model_dump()))
        return 0 if all(c.ok for c in rep.checks) else 1
    out("versions: " + ", ".join(f"{k} {v}" for k, v in rep.versions.items()))
    out(f"state dir: {rep.state_dir}")
    for c in rep.checks:
        out(f"  [{'ok' if c.ok else 'NO'}] {c.name}" + (f": {c.detail}" if c.detail else ""))
    for c in rep.ollama_hosts:
        out(f"  [{'ok' if c.ok else '--'}] {c.name}: {c.detail}")
    out("backends:")
    for b in rep.backends:  # the backend's own reason says where the binary is
        for line in backend_lines(b.model_dump()):
            out(f"  {line}")
    out(
        "credentials: "
        + ", ".join(f"{k} {'set' if v else 'unset'}" for k, v in rep.credentials.items())
    )
    out(
        "allowed roots: " + (", ".join(rep.allowed_roots) or "any (LOOPWRIGHT_ALLOWED_ROOTS unset)")
    )
    out("client timeouts:")
    for line in rep.advice:
        out(f"  - {line}")
    return 0 if all(c.ok for c in rep.checks) else 1
