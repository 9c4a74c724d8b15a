"""An HTTP double of the Nuclio dashboard's function API, as reference/nuclio.md describes it.

Stateful: POST/PUT answer 202 and the function goes `building` -> `ready` (or `error` with
`status.message`) after `build_seconds`; 409 on a second create; 412 on PUT, and on DELETE
without the ignore-state header, while building; DELETE answers 204 even for an absent
function and removes it after `delete_seconds`. Every request is recorded.
"""
from __future__ import annotations

import copy
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

IGNORE_STATE = "x-nuclio-delete-function-ignore-state-validation"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class DashboardDouble:
    build_seconds: float = 0.2
    delete_seconds: float = 0.1
    down_for_calls: int = 0  # /api/versions answers 503 this many times first
    failures: dict[str, str] = field(default_factory=dict)  # name -> build error message
    stuck: set[str] = field(default_factory=set)  # names that never leave `building`
    functions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    projects: set[tuple[str, str]] = field(default_factory=set)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- state -----------------------------------------------------------------------------

    def _state(self, record: dict[str, Any]) -> None:
        """Advances a record's asynchronous state as time passes."""
        now = time.monotonic()
        name = record["metadata"]["name"]
        if record["status"]["state"] == "building" and name not in self.stuck \
                and now >= record["_ready_at"]:
            if name in self.failures:
                record["status"] = {"state": "error", "message": self.failures[name],
                                    "logs": [{"level": "error", "message": self.failures[name]}]}
            else:
                record["status"] = {"state": "ready", "httpPort": 32768,
                                    "internalInvocationUrls": [f"nuclio-x-{name}:8080"],
                                    "externalInvocationUrls": ["127.0.0.1:32768"]}

    def _deploy(self, key: tuple[str, str], config: dict[str, Any]) -> None:
        record = {"metadata": copy.deepcopy(config["metadata"]),
                  "spec": copy.deepcopy(config["spec"]),
                  "status": {"state": "building"},
                  "_ready_at": time.monotonic() + self.build_seconds}
        # Nuclio stores defaults of its own beside what the client sent.
        record["spec"].setdefault("maxReplicas", 1)
        record["metadata"].setdefault("labels", {})
        self.functions[key] = record

    def public(self, record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if not k.startswith("_")}

    def edit_live(self, namespace: str, name: str, path: list[str], value: Any) -> None:
        """Changes a stored function as someone using the web UI would."""
        with self.lock:
            node = self.functions[(namespace, name)]
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value

    # -- HTTP ------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes
               ) -> tuple[int, Any]:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return 400, {"error": "Failed to parse JSON body"}
        self.requests.append(Recorded(method, path, headers, body))
        namespace = headers.get("x-nuclio-function-namespace", "nuclio")
        with self.lock:
            if path == "/api/versions" and method == "GET":
                if self.down_for_calls > 0:
                    self.down_for_calls -= 1
                    return 503, {"error": "starting"}
                return 200, {"dashboard": {"label": "1.14.1", "arch": "amd64"}}
            if path.startswith("/api/projects"):
                return self._projects(method, path, namespace, body)
            if path.startswith("/api/functions"):
                return self._functions(method, path, namespace, headers, body)
        return 404, {"error": f"no route {method} {path}"}

    def _projects(self, method: str, path: str, namespace: str, body: Any) -> tuple[int, Any]:
        if method == "GET" and path.count("/") == 3:
            name = path.rsplit("/", 1)[1]
            found = (namespace, name) in self.projects or name == "default"
            return (200, {"metadata": {"name": name}}) if found else (404, {"error": "not found"})
        if method == "POST":
            key = (namespace, body["metadata"]["name"])
            if key in self.projects:
                return 409, {"error": "Project already exists"}
            self.projects.add(key)
            return 201, body
        return 405, {"error": "method not allowed"}

    def _functions(self, method: str, path: str, namespace: str, headers: dict[str, str],
                   body: Any) -> tuple[int, Any]:
        name = path[len("/api/functions/"):] if path.startswith("/api/functions/") else ""
        for record in self.functions.values():
            self._state(record)
        if method == "GET" and not name:
            return 200, {k[1]: self.public(r) for k, r in self.functions.items()
                         if k[0] == namespace}
        if method == "GET":
            record = self.functions.get((namespace, name))
            if record is None or record.get("_gone_at", float("inf")) <= time.monotonic():
                self.functions.pop((namespace, name), None)
                return 404, {"error": "Function not found"}
            return 200, self.public(record)
        if method == "POST":
            if not isinstance(body, dict) or not body.get("metadata", {}).get("name"):
                return 400, {"error": "Function name must be provided in metadata"}
            project = body["metadata"].get("labels", {}).get("nuclio.io/project-name")
            if project != "default" and (namespace, project) not in self.projects:
                return 412, {"error": f"Project does not exist: {project}"}
            key = (namespace, body["metadata"]["name"])
            if key in self.functions:
                return 409, {"error": "Function with the same name exists in namespace"}
            self._deploy(key, body)
            return 202, None
        if method == "PUT":
            record = self.functions.get((namespace, name))
            if record is None:
                return 404, {"error": "Function not found"}
            if record["status"]["state"] == "building":
                return 412, {"error": "Function is being provisioned and cannot be updated"}
            self._deploy((namespace, name), body)
            return 202, None
        if method == "DELETE":
            target = (namespace, body["metadata"]["name"])
            record = self.functions.get(target)
            if record is None:
                return 204, None
            if record["status"]["state"] == "building" and \
                    headers.get(IGNORE_STATE, "").lower() != "true":
                return 412, {"error": "Function is being provisioned and cannot be deleted"}
            record["_gone_at"] = time.monotonic() + self.delete_seconds
            return 204, None
        return 405, {"error": "method not allowed"}


class DoubleServer:
    """Serves a DashboardDouble on 127.0.0.1 on a free port, in a thread."""

    def __init__(self, double: DashboardDouble) -> None:
        self.double = double
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, body = outer.double.handle(self.command, self.path, headers, raw)
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "DoubleServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
