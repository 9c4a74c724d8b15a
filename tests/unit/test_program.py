"""The real __main__.py under Pulumi's mocks, for each stack file: what `pulumi preview`
would declare, and what a user relies on."""
from __future__ import annotations

import base64
import re
from functools import cache
from typing import Any

import pulumi
import pytest

from stacks.errors import PlatformError
from tests.program import ROOT, ProgramRun, plain_occurrences, run_program, stack_config, unwrap

PASSWORD = "Zx8-unit-test-password"
STACKS = ("dev", "ci")
CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
IMAGE = "docker:index/remoteImage:RemoteImage"
FUNCTION = "pulumi-python:dynamic/iot-faas:NuclioFunction"


def config_for(stack: str, **extra: str) -> dict[str, Any]:
    cfg = stack_config(stack)
    cfg["iot-faas:rabbitmqPassword"] = PASSWORD
    cfg.update({f"iot-faas:{k}": v for k, v in extra.items()})
    return cfg


@cache
def run(stack: str) -> ProgramRun:
    return run_program(stack, config_for(stack), ["iot-faas:rabbitmqPassword"])


def labels(inputs: dict[str, Any]) -> dict[str, str]:
    return {item["label"]: item["value"] for item in inputs["labels"]}


def host_ports(r: ProgramRun) -> set[int]:
    return {p["external"] for c in r.of_type(CONTAINER) for p in c.inputs.get("ports", [])}


def docker_names(r: ProgramRun) -> set[str]:
    return {d.inputs["name"] for d in r.resources
            if d.typ in (CONTAINER, NETWORK, VOLUME)}


@pytest.mark.parametrize("stack", STACKS)
def test_every_docker_object_is_named_and_labelled_per_stack(stack: str) -> None:
    r = run(stack)
    network = r.one(NETWORK, "network")
    assert network.inputs["name"] == f"iot-faas-{stack}"
    assert network.inputs["driver"] == "bridge"
    for d in r.resources:
        if d.typ in (CONTAINER, NETWORK, VOLUME):
            assert d.inputs["name"].startswith(f"iot-faas-{stack}")
            assert labels(d.inputs) == {"io.iot-faas.project": "iot-faas",
                                        "io.iot-faas.stack": stack}
    assert docker_names(r) == {f"iot-faas-{stack}", f"iot-faas-{stack}-rabbitmq",
                               f"iot-faas-{stack}-rabbitmq-data",
                               f"iot-faas-{stack}-nuclio-dashboard"}


def test_dev_and_ci_can_share_one_docker_host() -> None:
    dev, ci = run("dev"), run("ci")
    assert not docker_names(dev) & docker_names(ci)
    assert not host_ports(dev) & host_ports(ci)
    assert dev.outputs["nuclioNamespace"] != ci.outputs["nuclioNamespace"]
    client_ids = [{t["attributes"]["clientID"]
                   for f in r.of_type(FUNCTION)
                   for t in unwrap(f.inputs["config"])["spec"]["triggers"].values()
                   if t["kind"] == "mqtt"} for r in (dev, ci)]
    assert client_ids[0] and not client_ids[0] & client_ids[1]


@pytest.mark.parametrize("stack", STACKS)
def test_broker_container(stack: str) -> None:
    r = run(stack)
    cfg = config_for(stack)
    broker = r.one(CONTAINER, "rabbitmq")
    image = r.one(IMAGE, "rabbitmq-image")
    assert image.inputs["name"] == "rabbitmq:4.2-management"
    assert image.inputs["keepLocally"] is True
    assert broker.inputs["image"] == "sha256:rabbitmq-image"  # the RemoteImage's image_id
    ports = {p["internal"]: p for p in broker.inputs["ports"]}
    # In the order the docker provider reads them back, so a second `up` shows no diff.
    assert [p["internal"] for p in broker.inputs["ports"]] == [1883, 5672, 15672]
    assert all(p["ip"] == "127.0.0.1" for p in ports.values())
    assert ports[5672]["external"] == int(cfg.get("iot-faas:amqpPort", 5672))
    assert ports[1883]["external"] == int(cfg.get("iot-faas:mqttPort", 1883))
    assert ports[15672]["external"] == int(cfg.get("iot-faas:managementPort", 15672))
    [net] = broker.inputs["networksAdvanced"]
    assert net["name"] == f"iot-faas-{stack}" and net["aliases"] == ["rabbitmq"]
    [volume] = broker.inputs["volumes"]
    assert volume == {"volumeName": f"iot-faas-{stack}-rabbitmq-data",
                      "containerPath": "/var/lib/rabbitmq"}
    assert broker.inputs["hostname"] == "rabbitmq"
    assert broker.inputs["restart"] == "unless-stopped"
    assert broker.inputs["wait"] is True and broker.inputs["waitTimeout"] >= 60
    health = broker.inputs["healthcheck"]
    assert health["tests"][:2] == ["CMD", "rabbitmq-diagnostics"]
    # Durations in Go's own format, as the provider reads them back from Docker ("1m"
    # would come back as "1m0s" and show as a change on every `up`).
    for key in ("interval", "timeout", "startPeriod"):
        match = re.fullmatch(r"(?:(\d+)m)?(\d+)s", health[key])
        assert match, health[key]
        minutes, seconds = divmod(int(match[1] or 0) * 60 + int(match[2]), 60)
        assert health[key] == (f"{minutes}m{seconds}s" if minutes else f"{seconds}s")


@pytest.mark.parametrize("stack", STACKS)
def test_broker_config_files(stack: str) -> None:
    broker = run(stack).one(CONTAINER, "rabbitmq")
    files = {u["file"]: u["content"] for u in unwrap(broker.inputs["uploads"])}
    plugins = files["/etc/rabbitmq/enabled_plugins"]
    assert plugins == "[rabbitmq_management,rabbitmq_prometheus,rabbitmq_mqtt].\n"
    conf = dict(line.split(" = ", 1) for line in
                files["/etc/rabbitmq/conf.d/20-iot-faas.conf"].splitlines()
                if line and not line.startswith("#"))
    assert conf["default_user"] == "iot" and conf["default_pass"] == PASSWORD
    assert conf["mqtt.allow_anonymous"] == "false"
    assert conf["mqtt.exchange"] == "amq.topic"
    assert conf["mqtt.listeners.tcp.default"] == "1883"
    assert conf["loopback_users.guest"] == "true"


@pytest.mark.parametrize("stack", STACKS)
def test_nuclio_dashboard(stack: str) -> None:
    r = run(stack)
    dash = r.one(CONTAINER, "nuclio-dashboard")
    assert r.one(IMAGE, "nuclio-dashboard-image").inputs["name"] == \
        "quay.io/nuclio/dashboard:1.14.1-amd64"
    assert dash.inputs["volumes"] == [{"hostPath": "/var/run/docker.sock",
                                       "containerPath": "/var/run/docker.sock"}]
    [port] = dash.inputs["ports"]
    assert port["internal"] == 8070 and port["ip"] == "127.0.0.1"
    assert port["external"] == int(config_for(stack).get("iot-faas:dashboardPort", 8070))
    assert dash.inputs["restart"] == "unless-stopped"
    assert [n["name"] for n in dash.inputs["networksAdvanced"]] == [f"iot-faas-{stack}"]
    env = dict(e.split("=", 1) for e in dash.inputs["envs"])
    assert env["NUCLIO_DASHBOARD_EXTERNAL_IP_ADDRESSES"] == "127.0.0.1"
    assert env["NUCLIO_CHECK_FUNCTION_CONTAINERS_HEALTHINESS"] == "true"


@pytest.mark.parametrize("stack", STACKS)
def test_outputs(stack: str) -> None:
    r = run(stack)
    cfg = config_for(stack)
    mqtt = int(cfg.get("iot-faas:mqttPort", 1883))
    amqp = int(cfg.get("iot-faas:amqpPort", 5672))
    dash = int(cfg.get("iot-faas:dashboardPort", 8070))
    mgmt = int(cfg.get("iot-faas:managementPort", 15672))
    assert r.outputs["dashboardUrl"] == f"http://127.0.0.1:{dash}"
    assert r.outputs["mqttEndpoint"] == f"mqtt://127.0.0.1:{mqtt}"
    assert r.outputs["amqpUrl"] == f"amqp://iot:{PASSWORD}@127.0.0.1:{amqp}"
    assert r.outputs["managementUrl"] == f"http://127.0.0.1:{mgmt}"
    assert r.outputs["networkName"] == f"iot-faas-{stack}"
    assert r.outputs["functions"] == {"sensor-simulator": "ready",
                                      "temperature-alert": "ready",
                                      "temperature-logger": "ready"}
    # Everything holding the password is a secret; nothing else needs to be.
    assert {"amqpUrl", "mqttPassword"} <= r.secret_outputs
    for key, value in r.outputs.items():
        if PASSWORD in str(value):
            assert key in r.secret_outputs, key


@pytest.mark.parametrize("stack", STACKS)
def test_password_appears_only_inside_secrets(stack: str) -> None:
    r = run(stack)
    leaks = {f"{d.typ} {d.name}": plain_occurrences(d.inputs, PASSWORD) for d in r.resources}
    assert {k: v for k, v in leaks.items() if v} == {}
    # ... and it is really there, inside the secrets (the check above could not pass by
    # the password being absent).
    assert PASSWORD in str(unwrap(r.one(CONTAINER, "rabbitmq").inputs["uploads"]))


@pytest.mark.parametrize("bad, key", [
    ({"mqttPort": "70000"}, "iot-faas:mqttPort"),
    ({"bindAddress": "everywhere"}, "iot-faas:bindAddress"),
    ({"rabbitmqPassword": ""}, "iot-faas:rabbitmqPassword"),
    ({"functions": '["no-such-function"]'}, "iot-faas:functions"),
    ({"functionEnv": '["no-such-function:X=1"]'}, "iot-faas:functionEnv"),
    ({"mqttport": "1884"}, "did you mean iot-faas:mqttPort"),
])
def test_bad_config_stops_before_any_resource(bad: dict[str, str], key: str) -> None:
    declared = ProgramRun()
    with pytest.raises(PlatformError) as e:
        run_program("dev", config_for("dev", **bad), ["iot-faas:rabbitmqPassword"], declared)
    assert key in str(e.value)
    # Pulumi's Python host prints a RunError's message alone, without a traceback.
    assert isinstance(e.value, pulumi.RunError)
    assert "Traceback" not in str(e.value)
    assert declared.resources == []


def test_bind_address_is_configurable() -> None:
    r = run_program("dev", config_for("dev", bindAddress="0.0.0.0"),
                    ["iot-faas:rabbitmqPassword"])
    ips = {p["ip"] for c in r.of_type(CONTAINER) for p in c.inputs["ports"]}
    assert ips == {"0.0.0.0"}
    assert r.outputs["dashboardUrl"] == "http://127.0.0.1:8070"


@pytest.mark.parametrize("stack", STACKS)
def test_one_function_resource_per_folder_wired_to_the_stack(stack: str) -> None:
    r = run(stack)
    functions = {f.name: f for f in r.of_type(FUNCTION)}
    folders = sorted(p.name for p in (ROOT / "functions").iterdir() if p.is_dir())
    assert sorted(functions) == folders
    for name, fn in functions.items():
        config = unwrap(fn.inputs["config"])
        assert fn.inputs["namespace"] == f"iot-faas-{stack}" == config["metadata"]["namespace"]
        assert fn.inputs["dashboard_url"] == r.outputs["dashboardUrl"]
        assert config["spec"]["platform"]["attributes"]["network"] == f"iot-faas-{stack}"
        env = {e["name"]: e["value"] for e in config["spec"]["env"]}
        assert env["BROKER_HOST"] == "rabbitmq" and env["BROKER_PASSWORD"] == PASSWORD
        source = (ROOT / "functions" / name / "main.py").read_text()
        assert base64.b64decode(config["spec"]["build"]["functionSourceCode"]).decode() == source
    logger = unwrap(functions["temperature-logger"].inputs["config"])["spec"]["triggers"]
    assert logger["readings"]["url"] == f"amqp://iot:{PASSWORD}@rabbitmq:5672"
    alert_env = {e["name"]: e["value"] for e in
                 unwrap(functions["temperature-alert"].inputs["config"])["spec"]["env"]}
    assert alert_env["ALERT_THRESHOLD_C"] == {"dev": "30", "ci": "25"}[stack]


def test_functions_key_limits_what_a_stack_deploys() -> None:
    r = run_program("dev", config_for("dev", functions='["temperature-logger"]'),
                    ["iot-faas:rabbitmqPassword"])
    assert [f.name for f in r.of_type(FUNCTION)] == ["temperature-logger"]
    assert r.outputs["functions"] == {"temperature-logger": "ready"}
