"""The NuclioFunction provider's CRUD against the dashboard double, called directly."""
from __future__ import annotations

import copy
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from stacks.function_folder import discover
from stacks.function_render import BrokerAccess, FunctionTarget, render_function, secrets_of
from stacks.naming import StackNames
from stacks.nuclio_client import DeployFailed, DeployTimeout, NuclioError
from stacks.nuclio_function import NuclioFunctionProvider, spec_hash
from stacks.secret import Secret
from tests.program import ROOT
from tests.provider.dashboard_double import DashboardDouble, DoubleServer

PASSWORD = "provider-test-pass-42"
NAMESPACE = "iot-faas-dev"


@pytest.fixture
def double() -> DashboardDouble:
    return DashboardDouble()


@pytest.fixture
def server(double: DashboardDouble) -> Iterator[DoubleServer]:
    with DoubleServer(double) as s:
        yield s


def props(server: DoubleServer, name: str = "temperature-logger", **extra: Any) -> dict[str, Any]:
    target = FunctionTarget(StackNames("dev"), BrokerAccess("iot", Secret(PASSWORD)))
    [folder] = discover(ROOT / "functions", (name,))
    return {"name": name, "namespace": NAMESPACE, "project": "iot-faas",
            "dashboard_url": server.url, "config": render_function(folder, target),
            "redact": secrets_of(target), "deploy_timeout": 5, "dashboard_wait_timeout": 3,
            "poll_interval": 0.02, **extra}


def calls(double: DashboardDouble) -> list[str]:
    """Requests made, with consecutive identical GETs folded into one."""
    out: list[str] = []
    for r in double.requests:
        line = f"{r.method} {r.path}"
        if not (out and out[-1] == line and r.method == "GET"):
            out.append(line)
    return out


def test_create_posts_then_polls_until_ready(server: DoubleServer, double: DashboardDouble) -> None:
    p = props(server)
    result = NuclioFunctionProvider().create(p)
    assert result.id == f"{NAMESPACE}/temperature-logger"
    assert result.outs["state"] == "ready"
    assert result.outs["http_port"] == 32768
    assert result.outs["spec_hash"] == spec_hash(p["config"])
    assert calls(double) == ["GET /api/versions", "GET /api/projects/iot-faas",
                             "POST /api/projects", "POST /api/functions",
                             "GET /api/functions/temperature-logger"]
    post = next(r for r in double.requests if r.method == "POST" and r.path == "/api/functions")
    assert post.body == p["config"]
    assert post.headers["x-nuclio-function-namespace"] == NAMESPACE
    assert post.headers["x-nuclio-project-name"] == "iot-faas"
    polls = [r for r in double.requests if r.path == "/api/functions/temperature-logger"]
    assert len(polls) > 1  # it waited through `building`


def test_failed_build_reports_nuclios_message_without_the_password(
        server: DoubleServer, double: DashboardDouble) -> None:
    double.failures["temperature-logger"] = (
        f"Failed to connect to amqp://iot:{PASSWORD}@rabbitmq:5672: connection refused")
    with pytest.raises(DeployFailed) as e:
        NuclioFunctionProvider().create(props(server))
    message = str(e.value)
    assert "function 'temperature-logger' failed to deploy (state error)" in message
    assert "connection refused" in message
    assert PASSWORD not in message and "***" in message


def test_timeout_names_the_state_it_was_stuck_in(server: DoubleServer,
                                                 double: DashboardDouble) -> None:
    double.stuck.add("temperature-logger")
    with pytest.raises(DeployTimeout) as e:
        NuclioFunctionProvider().create(props(server, deploy_timeout=0.3))
    assert "still 'building'" in str(e.value)
    assert "iot-faas:functionDeployTimeout" in str(e.value)


def test_dashboard_that_never_answers_fails_bounded_with_advice() -> None:
    p = {"name": "f", "namespace": NAMESPACE, "project": "iot-faas",
         "dashboard_url": "http://127.0.0.1:9", "config": {}, "redact": [],
         "deploy_timeout": 1, "dashboard_wait_timeout": 0.3, "poll_interval": 0.05}
    with pytest.raises(NuclioError) as e:
        NuclioFunctionProvider().create(p)
    assert "did not answer within" in str(e.value) and "dashboardWaitTimeout" in str(e.value)


def test_create_waits_for_a_dashboard_that_is_still_starting(
        server: DoubleServer, double: DashboardDouble) -> None:
    double.down_for_calls = 3
    assert NuclioFunctionProvider().create(props(server)).outs["state"] == "ready"
    assert [r.path for r in double.requests[:4]] == ["/api/versions"] * 4


def test_create_of_an_existing_function_converges_it(server: DoubleServer,
                                                     double: DashboardDouble) -> None:
    provider = NuclioFunctionProvider()
    provider.create(props(server))
    double.requests.clear()
    result = provider.create(props(server))  # an interrupted earlier `up` left it there
    assert result.outs["state"] == "ready"
    assert "PUT /api/functions/temperature-logger" in calls(double)


def test_update_puts_the_full_config_and_retries_while_building(
        server: DoubleServer, double: DashboardDouble) -> None:
    provider = NuclioFunctionProvider()
    old = provider.create(props(server)).outs
    new = props(server)
    new["config"]["spec"]["env"].append({"name": "EXTRA", "value": "1"})
    double.build_seconds = 0.3
    # Another deploy is in progress: the first PUT gets 412 and is retried.
    double.functions[(NAMESPACE, "temperature-logger")]["status"] = {"state": "building"}
    double.functions[(NAMESPACE, "temperature-logger")]["_ready_at"] = time.monotonic() + 0.2
    double.requests.clear()
    result = provider.update(f"{NAMESPACE}/temperature-logger", old, new)
    assert result.outs["state"] == "ready"
    puts = [r for r in double.requests if r.method == "PUT"]
    assert len(puts) >= 2 and puts[-1].body == new["config"]  # the whole spec, not a patch
    stored = double.functions[(NAMESPACE, "temperature-logger")]["spec"]["env"]
    assert {"name": "EXTRA", "value": "1"} in stored


def test_delete_uses_ignore_state_and_waits_until_gone(server: DoubleServer,
                                                       double: DashboardDouble) -> None:
    provider = NuclioFunctionProvider()
    p = provider.create(props(server)).outs
    double.stuck.add("temperature-logger")  # a stuck build must still be deletable
    double.functions[(NAMESPACE, "temperature-logger")]["status"] = {"state": "building"}
    double.requests.clear()
    provider.delete(f"{NAMESPACE}/temperature-logger", p)
    [delete] = [r for r in double.requests if r.method == "DELETE"]
    assert delete.headers["x-nuclio-delete-function-ignore-state-validation"] == "true"
    assert delete.body == {"metadata": {"name": "temperature-logger", "namespace": NAMESPACE}}
    assert (NAMESPACE, "temperature-logger") not in double.functions
    assert calls(double)[-1] == "GET /api/functions/temperature-logger"


def test_delete_of_an_absent_function_succeeds(server: DoubleServer) -> None:
    NuclioFunctionProvider().delete(f"{NAMESPACE}/temperature-logger", props(server))


def test_refresh_sees_changes_and_removal_made_outside_pulumi(
        server: DoubleServer, double: DashboardDouble) -> None:
    provider = NuclioFunctionProvider()
    p = props(server)
    outs = provider.create(p).outs
    read = provider.read(f"{NAMESPACE}/temperature-logger", outs)
    # Nuclio's own defaults (maxReplicas) do not count as drift.
    assert read.outs["config"] == p["config"]
    assert not provider.diff("id", read.outs, p).changes

    double.edit_live(NAMESPACE, "temperature-logger",
                     ["spec", "triggers", "readings", "numWorkers"], 8)
    read = provider.read(f"{NAMESPACE}/temperature-logger", outs)
    assert read.outs["config"]["spec"]["triggers"]["readings"]["numWorkers"] == 8
    assert provider.diff("id", read.outs, p).changes  # next `up` puts it back

    double.functions.pop((NAMESPACE, "temperature-logger"))
    assert provider.read(f"{NAMESPACE}/temperature-logger", outs).id is None


def test_diff(server: DoubleServer) -> None:
    provider = NuclioFunctionProvider()
    old = {**props(server), "state": "ready"}
    same = props(server)
    assert not provider.diff("id", old, same).changes

    changed = copy.deepcopy(same)
    changed["config"]["spec"]["build"]["functionSourceCode"] = "cHJpbnQoMSkK"
    d = provider.diff("id", old, changed)
    assert d.changes and not d.replaces

    renamed = {**same, "name": "temperature-logger-2"}
    assert provider.diff("id", old, renamed).replaces == ["name"]

    broken = {**old, "state": "error"}
    assert provider.diff("id", broken, same).changes  # a failed function is redeployed

    moved = {**same, "dashboard_url": "http://127.0.0.1:8071"}
    assert provider.diff("id", old, moved).changes  # later deletes must find the dashboard


def test_provider_survives_pickling_into_a_fresh_process() -> None:
    """Pulumi ships the provider to its own process with dill; it must load there."""
    from pulumi.dynamic.dynamic import serialize_provider

    blob = serialize_provider(NuclioFunctionProvider())
    code = ("import base64, dill, sys; p = dill.loads(base64.b64decode(sys.stdin.read())); "
            "print(type(p).__module__, type(p).__name__)")
    out = subprocess.run([sys.executable, "-c", code], input=blob, capture_output=True,
                         text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["stacks.nuclio_function", "NuclioFunctionProvider"]
