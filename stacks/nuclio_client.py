"""A small client for the Nuclio dashboard's function API (reference/nuclio.md).

Deploys are asynchronous: POST and PUT answer 202 even when the build later fails, so
every change is followed by polling GET until the function reaches a terminal state.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import requests

HEADER_NAMESPACE = "X-Nuclio-Function-Namespace"
HEADER_PROJECT = "X-Nuclio-Project-Name"
HEADER_IGNORE_STATE = "X-Nuclio-Delete-Function-Ignore-State-Validation"

T = TypeVar("T")

READY = "ready"
FAILED_STATES = ("error", "unhealthy")


class NuclioError(Exception):
    """A dashboard call failed; the message is safe to show (secrets redacted)."""


class FunctionExists(NuclioError):
    pass


class FunctionBusy(NuclioError):
    """412: the function is still being provisioned."""


class DeployFailed(NuclioError):
    pass


class DeployTimeout(NuclioError):
    pass


def redactor(secrets: Iterable[str]) -> Callable[[str], str]:
    """Replaces every secret (longest first) with *** in a text."""
    ordered = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(text: str) -> str:
        for s in ordered:
            text = text.replace(s, "***")
        return text

    return redact


class NuclioClient:
    def __init__(self, base_url: str, namespace: str, project: str,
                 redact: Callable[[str], str] = lambda t: t, request_timeout: float = 30.0,
                 poll_interval: float = 2.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.namespace = namespace
        self.project = project
        self.redact = redact
        self.request_timeout = request_timeout
        self.poll_interval = poll_interval
        self.session = requests.Session()
        self.session.headers.update({HEADER_NAMESPACE: namespace, HEADER_PROJECT: project})

    # -- transport -------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, body: Any = None,
              headers: dict[str, str] | None = None) -> requests.Response:
        url = f"{self.base_url}{path}"
        try:
            return self.session.request(method, url, json=body, headers=headers,
                                        timeout=self.request_timeout)
        except requests.RequestException as e:
            raise NuclioError(self.redact(f"{method} {url} failed: {e}")) from None

    def _error(self, what: str, response: requests.Response) -> str:
        try:
            detail = response.json().get("error") or response.text
        except ValueError:
            detail = response.text
        return self.redact(f"{what}: HTTP {response.status_code}: {detail}".strip())

    # -- dashboard -------------------------------------------------------------------------

    def _poll(self, attempt: Callable[[], T | None], timeout: float,
              timed_out: Callable[[], NuclioError]) -> T:
        """Calls `attempt` every poll_interval until it returns a value or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            result = attempt()
            if result is not None:
                return result
            if time.monotonic() >= deadline:
                raise timed_out()
            time.sleep(self.poll_interval)

    def wait_until_up(self, timeout: float) -> dict[str, Any]:
        """Waits (bounded) until GET /api/versions answers 200; returns the versions."""
        last = "no answer yet"

        def versions() -> dict[str, Any] | None:
            nonlocal last
            try:
                r = self.session.get(f"{self.base_url}/api/versions",
                                     timeout=min(self.request_timeout, 10))
            except requests.RequestException as e:
                last = type(e).__name__
                return None
            last = f"HTTP {r.status_code}"
            return r.json() if r.status_code == 200 else None

        return self._poll(versions, timeout, lambda: NuclioError(
            f"the Nuclio dashboard at {self.base_url} did not answer within {timeout:.0f}s "
            f"(last: {last}); check `docker logs` of the dashboard container, or raise "
            "iot-faas:dashboardWaitTimeout"))

    def ensure_project(self) -> None:
        r = self._call("GET", f"/api/projects/{self.project}")
        if r.status_code == 200:
            return
        body = {"metadata": {"name": self.project, "namespace": self.namespace}, "spec": {}}
        r = self._call("POST", "/api/projects", body=body)
        if r.status_code not in (200, 201, 202, 409):
            raise NuclioError(self._error(f"creating Nuclio project '{self.project}'", r))

    # -- functions -------------------------------------------------------------------------

    def get_function(self, name: str) -> dict[str, Any] | None:
        r = self._call("GET", f"/api/functions/{name}")
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise NuclioError(self._error(f"reading function '{name}'", r))
        return r.json()

    def create_function(self, config: dict[str, Any]) -> None:
        name = config["metadata"]["name"]
        r = self._call("POST", "/api/functions", body=config)
        if r.status_code == 409:
            raise FunctionExists(self._error(f"creating function '{name}'", r))
        if r.status_code not in (200, 201, 202):
            raise NuclioError(self._error(f"creating function '{name}'", r))

    def update_function(self, config: dict[str, Any]) -> None:
        name = config["metadata"]["name"]
        r = self._call("PUT", f"/api/functions/{name}", body=config)
        if r.status_code == 412:
            raise FunctionBusy(self._error(f"updating function '{name}'", r))
        if r.status_code not in (200, 202, 204):
            raise NuclioError(self._error(f"updating function '{name}'", r))

    def delete_function(self, name: str) -> None:
        # The ignore-state header lets a function stuck in `building` go (nuclio#2685).
        body = {"metadata": {"name": name, "namespace": self.namespace}}
        r = self._call("DELETE", "/api/functions", body=body,
                       headers={HEADER_IGNORE_STATE: "true"})
        if r.status_code not in (200, 202, 204, 404):
            raise NuclioError(self._error(f"deleting function '{name}'", r))

    # -- waiting ---------------------------------------------------------------------------

    def wait_until_ready(self, name: str, timeout: float) -> dict[str, Any]:
        state = "unknown"

        def ready() -> dict[str, Any] | None:
            nonlocal state
            record = self.get_function(name)
            status = (record or {}).get("status") or {}
            state = status.get("state", "absent" if record is None else "unknown")
            if state in FAILED_STATES:
                message = status.get("message") or "no message from Nuclio"
                raise DeployFailed(self.redact(
                    f"function '{name}' failed to deploy (state {state}): {message}"))
            return record if state == READY else None

        return self._poll(ready, timeout, lambda: DeployTimeout(
            f"function '{name}' was not ready after {timeout:.0f}s; it is still '{state}'. "
            "Raise iot-faas:functionDeployTimeout if builds are slow, or read the build log "
            "in the Nuclio dashboard"))

    def retry_while_busy(self, action: Callable[[], None], name: str, timeout: float) -> None:
        """Runs `action`, retrying while Nuclio answers 412 (still provisioning)."""
        def attempt() -> bool | None:
            try:
                action()
                return True
            except FunctionBusy:
                return None

        self._poll(attempt, timeout, lambda: DeployTimeout(
            f"function '{name}' stayed busy (HTTP 412, still provisioning) for {timeout:.0f}s; "
            "try again once its current deploy ends"))

    def wait_until_gone(self, name: str, timeout: float) -> None:
        self._poll(lambda: True if self.get_function(name) is None else None, timeout,
                   lambda: DeployTimeout(f"function '{name}' was still present "
                                         f"{timeout:.0f}s after it was deleted"))
