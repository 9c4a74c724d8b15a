"""Function folders: validation with file, field and fix; rendering for a stack."""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.errors import FunctionFolderError
from stacks.function_folder import discover
from stacks.function_render import BrokerAccess, FunctionTarget, render_function, secrets_of
from stacks.naming import StackNames
from stacks.secret import Secret
from tests.program import ROOT

HANDLER = "def handler(context, event):\n    pass\n"


def make_folder(tmp_path: Path, spec: dict[str, Any], name: str = "fn",
                source: str | None = HANDLER) -> Path:
    """Writes tmp_path/functions/<name>/ and returns the functions directory."""
    functions = tmp_path / "functions"
    folder = functions / name
    folder.mkdir(parents=True)
    config = {"metadata": {"name": name},
              "spec": {"runtime": "python:3.11", "handler": "main:handler", **spec}}
    (folder / "function.yaml").write_text(yaml.safe_dump(config))
    if source is not None:
        (folder / "main.py").write_text(source)
    return functions


def problems_of(tmp_path: Path, spec: dict[str, Any], **kw: Any) -> list[str]:
    with pytest.raises(FunctionFolderError) as e:
        discover(make_folder(tmp_path, spec, **kw))
    assert "Nothing was created or changed." in str(e.value)
    return e.value.problems


RABBIT = {"kind": "rabbit-mq", "attributes": {"exchangeName": "amq.topic",
                                               "topics": ["iot.sensors.temperature"]}}


def test_project_functions_are_valid() -> None:
    folders = discover(ROOT / "functions")
    assert [f.name for f in folders] == ["sensor-simulator", "temperature-alert",
                                         "temperature-logger"]
    kinds = {f.name: {t["kind"] for t in f.triggers.values()} for f in folders}
    assert kinds == {"sensor-simulator": {"cron"}, "temperature-alert": {"mqtt"},
                     "temperature-logger": {"rabbit-mq"}}
    for f in folders:
        assert f.config["spec"]["runtime"] == "python:3.11"


def test_rabbitmq_kind_typo_suggests_rabbit_mq(tmp_path: Path) -> None:
    [message] = problems_of(tmp_path, {"triggers": {"t": {**RABBIT, "kind": "rabbitmq"}}})
    assert message.startswith("functions/fn/function.yaml: spec.triggers.t.kind: ")
    assert "did you mean 'rabbit-mq'?" in message


def test_missing_handler_module(tmp_path: Path) -> None:
    [message] = problems_of(tmp_path, {"triggers": {"t": RABBIT}}, source=None)
    assert "spec.handler" in message and "main.py does not exist" in message


def test_missing_handler_function(tmp_path: Path) -> None:
    [message] = problems_of(tmp_path, {"triggers": {"t": RABBIT}}, source="def other(c, e): pass\n")
    assert "names function 'handler'" in message and "def handler(context, event)" in message


def test_unsupported_runtime(tmp_path: Path) -> None:
    [message] = problems_of(tmp_path, {"runtime": "python:3.12", "triggers": {"t": RABBIT}})
    assert "spec.runtime" in message and "python:3.11" in message


def test_broker_trigger_without_topics_or_queue(tmp_path: Path) -> None:
    [message] = problems_of(tmp_path, {"triggers": {"t": {
        "kind": "rabbit-mq", "attributes": {"exchangeName": "amq.topic"}}}})
    assert "neither 'topics' nor 'queueName'" in message


def test_mqtt_trigger_without_subscriptions(tmp_path: Path) -> None:
    [message] = problems_of(tmp_path, {"triggers": {"t": {"kind": "mqtt", "attributes": {}}}})
    assert "spec.triggers.t.attributes.subscriptions" in message


def test_cron_without_interval_or_schedule(tmp_path: Path) -> None:
    [message] = problems_of(tmp_path, {"triggers": {"t": {"kind": "cron", "attributes": {}}}})
    assert "neither 'interval'" in message and "never fire" in message


def test_hard_coded_broker_credentials_are_refused(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {"triggers": {"t": {
        **RABBIT, "url": "amqp://guest:guest@10.0.0.5:5672", "password": "guest"}}})
    assert len(found) == 2 and all("filled in by the stack" in m for m in found)


def test_durable_exchange_false_on_amq_topic_is_refused(tmp_path: Path) -> None:
    trigger = {"kind": "rabbit-mq", "attributes": {**RABBIT["attributes"],
                                                    "durableExchange": False}}
    [message] = problems_of(tmp_path, {"triggers": {"t": trigger}})
    assert "PRECONDITION_FAILED" in message


def test_name_must_match_folder(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, {"triggers": {"t": RABBIT}}, name="fn")
    (folder / "fn" / "function.yaml").write_text(
        (folder / "fn" / "function.yaml").read_text().replace("name: fn", "name: other"))
    with pytest.raises(FunctionFolderError) as e:
        discover(folder)
    assert "metadata.name" in str(e.value) and "folder name 'fn'" in str(e.value)


def test_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    functions = make_folder(tmp_path, {"triggers": {"t": RABBIT}}, name="good")
    broken = functions / "broken"
    broken.mkdir()
    (broken / "function.yaml").write_text("spec: [unclosed\n")
    with pytest.raises(FunctionFolderError) as e:
        discover(functions)
    [message] = e.value.problems
    assert "functions/broken/function.yaml" in message and "not valid YAML at line" in message


def target(stack: str = "dev") -> FunctionTarget:
    return FunctionTarget(StackNames(stack), BrokerAccess("iot", Secret("pa55-word-1234")),
                          {"temperature-alert": {"ALERT_THRESHOLD_C": "25"}})


def rendered(name: str, stack: str = "dev") -> dict[str, Any]:
    [folder] = discover(ROOT / "functions", (name,))
    return render_function(folder, target(stack))


def test_render_fills_in_the_environment() -> None:
    config = rendered("temperature-logger")
    assert config["metadata"]["name"] == "temperature-logger"
    assert config["metadata"]["namespace"] == "iot-faas-dev"
    assert config["metadata"]["labels"]["nuclio.io/project-name"] == "iot-faas"
    attributes = config["spec"]["platform"]["attributes"]
    assert attributes == {"network": "iot-faas-dev",
                          "restartPolicy": {"name": "always", "maximumRetryCount": 0}}
    source = (ROOT / "functions/temperature-logger/main.py").read_text()
    assert base64.b64decode(config["spec"]["build"]["functionSourceCode"]).decode() == source
    trigger = config["spec"]["triggers"]["readings"]
    assert trigger["kind"] == "rabbit-mq"
    assert trigger["url"] == "amqp://iot:pa55-word-1234@rabbitmq:5672"
    # amq.topic is durable: Nuclio's default false would fail with PRECONDITION_FAILED.
    assert trigger["attributes"]["durableExchange"] is True
    assert trigger["attributes"]["topics"] == ["iot.sensors.temperature"]


def test_render_mqtt_trigger_and_per_stack_env() -> None:
    config = rendered("temperature-alert")
    trigger = config["spec"]["triggers"]["readings"]
    assert trigger["url"] == "tcp://rabbitmq:1883"
    assert (trigger["username"], trigger["password"]) == ("iot", "pa55-word-1234")
    assert trigger["attributes"]["clientID"] == "iot-faas-dev-temperature-alert-readings"
    assert trigger["attributes"]["subscriptions"] == [{"topic": "iot/sensors/temperature",
                                                       "qos": 1}]
    env = {e["name"]: e["value"] for e in config["spec"]["env"]}
    assert env["ALERT_THRESHOLD_C"] == "25"  # the stack's value wins over function.yaml
    assert env["BROKER_HOST"] == "rabbitmq" and env["BROKER_PASSWORD"] == "pa55-word-1234"
    assert rendered("temperature-alert", "ci")["spec"]["triggers"]["readings"][
        "attributes"]["clientID"] != trigger["attributes"]["clientID"]


def test_secrets_of_covers_every_form_of_the_password() -> None:
    assert "pa55-word-1234" in secrets_of(target())
    assert "amqp://iot:pa55-word-1234@rabbitmq:5672" in secrets_of(target())


def test_broker_functions_publish_no_host_port() -> None:
    for name in ("temperature-logger", "temperature-alert", "sensor-simulator"):
        http = [t for t in rendered(name)["spec"]["triggers"].values() if t["kind"] == "http"]
        assert http == [{"kind": "http", "numWorkers": 1,
                         "attributes": {"disablePortPublishing": True}}]


def test_a_folders_own_http_trigger_is_left_as_written(tmp_path: Path) -> None:
    http = {"kind": "http", "attributes": {"port": 32001}}
    [folder] = discover(make_folder(tmp_path, {"triggers": {"api": http}}))
    triggers = render_function(folder, target())["spec"]["triggers"]
    assert triggers == {"api": http}
