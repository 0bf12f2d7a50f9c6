"""``loopwright serve`` and ``loopwright doctor`` (registered in ``loopwright.cli.commands``)."""

from __future__ import annotations

import argparse
import json

from .output import out


def cmd_serve(args: argparse.Namespace) -> int:
    from ..server.app import serve

    return serve()


def cmd_doctor(args: argparse.Namespace) -> int:
    import anyio

    from ..server.doctor import report

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
    for b in rep.backends:
        where = (
            f" — {b.binary}: {b.binary_version}"
            if b.binary
            else (f" — {b.binary_version}" if b.binary_version else "")
        )
        out(f"  {'yes' if b.available else 'no '} {b.name:<12} {b.kind:<13}{where}")
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
