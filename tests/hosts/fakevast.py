"""A fake Vast.ai REST API on 127.0.0.1, built from its documentation (docs.vast.ai API
reference; ../shared/HOSTS_NOTES.md), not from a real account.

- ``GET /bundles/?q=<JSON>`` -> ``{"offers": [...]}`` (``gpu_name`` eq, ``dph_total`` lte,
  ``disk_space`` gte, ``rentable`` eq honoured).
- ``PUT /asks/{offer_id}/`` with ``image``, ``disk``, ``runtype``, ``env`` (port maps as
  ``"-p 11434:11434": "1"``), ``onstart``, ``label`` -> ``{"success": true,
  "new_contract": id}``.
- ``GET /instances/`` -> ``{"instances": [...]}``: every instance not destroyed, each
  record as below (listing does not advance an instance's state; ``list_status`` set:
  the listing answers that status).
- ``GET /instances/{id}/`` -> ``{"instances": {...}}`` with ``actual_status`` (null, then
  ``loading`` for ``loading_polls`` looks, then ``running``; or a scripted ``fail_state``),
  ``public_ipaddr``, ``ports`` (``{"11434/tcp": [{"HostIp": "0.0.0.0", "HostPort":
  "N"}]}``), ``dph_total``, ``label``, ``status_msg``.
- ``DELETE /instances/{id}/`` -> ``{"success": true}``; 404 for an unknown instance.
- ``Authorization: Bearer KEY`` on every call, else 401 ``{"success": false, "error":
  "auth_error", "msg": ...}``; ``rate_limit`` next calls answer 429 (``Retry-After: 0``).

Each instance is what its onstart script sets up: a fake Ollama (tests' ``FakeOllama``)
on 127.0.0.1 behind loopwright's own token proxy (``vast_proxy``), run in this process,
with the token the onstart script carries.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from loopwright.hosts import vast_proxy
from tests.backends.models.fake_ollama import FakeOllama, Server

KEY = "vast-test-key-0123456789abcdef0123456789abcdef"


def offer(id: int, gpu: str, price: float, disk: float, rented: bool = False) -> dict[str, Any]:
    """An offer as ``GET /bundles/`` lists it (the fields loopwright reads or filters on)."""
    return {
        "id": id, "gpu_name": gpu, "num_gpus": 1, "gpu_ram": 24564, "dph_total": price,
        "reliability2": 0.99, "inet_down": 900.0, "disk_space": disk, "rentable": True,
        "rented": rented, "verified": True, "external": False,
    }  # fmt: skip


OFFERS: list[dict[str, Any]] = [
    offer(501, "RTX 4090", 0.55, 200.0),
    offer(502, "RTX 4090", 0.41, 100.0),
    offer(503, "RTX 4090", 0.90, 500.0),
    offer(505, "RTX 4090", 0.30, 200.0, rented=True),
    offer(504, "RTX 3090", 0.20, 300.0),
]


@dataclass
class Instance:
    id: int
    offer: dict[str, Any]
    body: dict[str, Any]
    token: str
    ollama: FakeOllama
    server: Server
    proxy: ThreadingHTTPServer
    polls: int = 0
    destroyed: bool = False

    @property
    def proxy_port(self) -> int:
        return int(self.proxy.server_address[1])

    def stop(self) -> None:
        self.proxy.shutdown()
        self.proxy.server_close()
        self.server.stop()


@dataclass
class FakeVast:
    offers: list[dict[str, Any]] = field(default_factory=lambda: [dict(o) for o in OFFERS])
    loading_polls: int = 2
    fail_state: str | None = None
    """``exited``: an instance goes loading -> exited instead of running."""
    rate_limit: int = 0
    """How many of the next calls answer 429."""
    chats: list[list[dict[str, Any]]] = field(default_factory=list)
    """What each instance's Ollama answers to /api/chat (``FakeOllama.chats``)."""
    destroy_status: int | None = None
    """Set: every DELETE answers this status (an outage) and destroys nothing."""
    list_status: int | None = None
    """Set: ``GET /instances/`` answers this status."""
    instances: dict[int, Instance] = field(default_factory=dict)
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    """(method, path, Authorization header) of every call."""
    queries: list[dict[str, Any]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    next_id: int = 12345

    def ollama_of(self, instance_id: int) -> FakeOllama:
        return self.instances[instance_id].ollama

    def destroyed(self) -> list[int]:
        return sorted(i.id for i in self.instances.values() if i.destroyed)

    def wait_destroyed(self, instance_id: int, timeout: float = 30.0) -> bool:
        with self.changed:
            return self.changed.wait_for(
                lambda: instance_id in self.instances and self.instances[instance_id].destroyed,
                timeout,
            )

    # -- the API ---------------------------------------------------------------------
    def handle(self, method: str, url: str, auth: str, body: dict[str, Any]) -> tuple[int, Any]:
        parts = urlsplit(url)
        path = parts.path.removeprefix("/api/v0")
        self.calls.append((method, path, auth))
        if auth != f"Bearer {KEY}":
            return 401, {"success": False, "error": "auth_error", "msg": "Invalid user key"}
        if self.rate_limit > 0:
            self.rate_limit -= 1
            return 429, {"success": False, "error": "rate_limited", "msg": "slow down"}
        if method == "GET" and path == "/bundles/":
            return self._search(json.loads(parse_qs(parts.query)["q"][0]))
        if method == "GET" and path == "/instances/":
            return self._list()
        if (m := re.fullmatch(r"/asks/(\d+)/", path)) and method == "PUT":
            return self._create(int(m.group(1)), body)
        if m := re.fullmatch(r"/instances/(\d+)/", path):
            found = self.instances.get(int(m.group(1)))
            if found is None or found.destroyed:
                return 404, {"success": False, "error": "no_such_instance", "msg": "not found"}
            if method == "GET":
                return 200, {"instances": self._record(found)}
            if method == "DELETE" and self.destroy_status:
                return self.destroy_status, {"success": False, "error": "server_error", "msg": "x"}
            if method == "DELETE":
                return 200, self._destroy(found)
        return 404, {"success": False, "error": "not_found", "msg": f"{method} {path}"}

    def _search(self, q: dict[str, Any]) -> tuple[int, Any]:
        self.queries.append(q)

        def fits(o: dict[str, Any]) -> bool:
            for key, cond in q.items():
                if not isinstance(cond, dict) or key not in o:
                    continue
                for op, want in cond.items():
                    have = o[key]
                    ok = {"eq": have == want, "lte": have <= want, "gte": have >= want}.get(op)
                    if ok is False:
                        return False
            return True

        return 200, {"offers": [o for o in self.offers if fits(o)]}

    def _create(self, offer_id: int, body: dict[str, Any]) -> tuple[int, Any]:
        offer = next((o for o in self.offers if o["id"] == offer_id), None)
        if offer is None:
            return 404, {"success": False, "error": "no_such_ask", "msg": "offer gone"}
        if not body.get("image") or "-p 11434:11434" not in (body.get("env") or {}):
            return 400, {"success": False, "error": "invalid_args", "msg": "image/port"}
        token = re.search(r"LW_PROXY_TOKEN='([^']+)'", body.get("onstart") or "")
        if token is None:
            return 400, {"success": False, "error": "invalid_args", "msg": "no token"}
        ollama = FakeOllama(models=set(), chats=list(self.chats))
        server = Server(ollama)
        upstream = server.url.removeprefix("http://")
        proxy = vast_proxy.make_server("127.0.0.1:0", upstream, token.group(1))
        threading.Thread(target=proxy.serve_forever, args=(0.02,), daemon=True).start()
        self.next_id += 1
        inst = Instance(self.next_id, offer, body, token.group(1), ollama, server, proxy)
        with self.changed:
            self.instances[inst.id] = inst
            self.changed.notify_all()
        return 200, {"success": True, "new_contract": inst.id}

    def launch(self, label: str | None, offer_id: int = 502) -> int:
        """Create an instance as ``PUT /asks/{offer_id}/`` would (with ``label``), behind
        loopwright's back: what a rent killed before saving it leaves. Its id."""
        body: dict[str, Any] = {
            "image": "ollama/ollama", "disk": 60, "runtype": "ssh",
            "onstart": "LW_PROXY_TOKEN='" + "t" * 40 + "'", "env": {"-p 11434:11434": "1"},
        }  # fmt: skip
        if label is not None:
            body["label"] = label
        status, data = self._create(offer_id, body)
        assert status == 200, data
        return int(data["new_contract"])

    def _list(self) -> tuple[int, Any]:
        if self.list_status:
            return self.list_status, {"success": False, "error": "server_error", "msg": "x"}
        live = [i for i in self.instances.values() if not i.destroyed]
        return 200, {"instances": [self._record(i, look=False) for i in live]}

    def _record(self, inst: Instance, look: bool = True) -> dict[str, Any]:
        inst.polls += look
        state: str | None = None if inst.polls == 1 else "loading"
        if inst.polls > self.loading_polls:
            state = self.fail_state or "running"
        record: dict[str, Any] = {
            "id": inst.id,
            "actual_status": state,
            "intended_status": "running",
            "label": inst.body.get("label"),
            "dph_total": inst.offer["dph_total"],
            "gpu_name": inst.offer["gpu_name"],
            "status_msg": "container exited (1)" if state == "exited" else None,
            "public_ipaddr": None,
            "ports": {},
        }
        if state == "running":
            record["public_ipaddr"] = "127.0.0.1"
            record["ports"] = {
                "11434/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(inst.proxy_port)}]
            }
        return record

    def _destroy(self, inst: Instance) -> dict[str, Any]:
        inst.stop()
        with self.changed:
            inst.destroyed = True
            self.changed.notify_all()
        return {"success": True}


class VastServer:
    """``FakeVast`` on a real socket at 127.0.0.1 (a thread; ``stop()`` closes all)."""

    def __init__(self, fake: FakeVast) -> None:
        outer = fake

        class H(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(size)) if size else {}
                status, data = outer.handle(
                    self.command, self.path, self.headers.get("authorization") or "", body
                )
                raw = json.dumps(data).encode()
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_PUT = do_DELETE = do_POST = _reply

            def log_message(self, *args: Any) -> None:
                pass

        self.fake = fake
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/v0"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
        for inst in self.fake.instances.values():
            if not inst.destroyed:
                inst.stop()
