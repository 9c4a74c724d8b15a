"""Config validation: every bad value is refused with the key, the value, what is allowed
and the command that fixes it; Pulumi.yaml declares exactly the keys the code reads."""
from __future__ import annotations

import pytest
import yaml

from stacks.config import CONFIG_KEYS, PlatformConfig, parse_config
from stacks.errors import ConfigError
from tests.program import ROOT, stack_config

PASSWORD = "correct-horse-battery-staple"
SECRET = frozenset({"rabbitmqPassword"})


def parse(stack: str = "dev", **raw: object) -> PlatformConfig:
    values = {"rabbitmqPassword": PASSWORD, **raw}
    return parse_config(stack, {k: v for k, v in values.items() if v is not None}, SECRET)


def problems(stack: str = "dev", secret: frozenset[str] = SECRET, **raw: object) -> list[str]:
    values = {"rabbitmqPassword": PASSWORD, **raw}
    with pytest.raises(ConfigError) as e:
        parse_config(stack, {k: v for k, v in values.items() if v is not None}, secret)
    assert "Nothing was created or changed." in str(e.value)
    return e.value.problems


def test_defaults_are_safe() -> None:
    cfg = parse()
    assert cfg.bind_address == "127.0.0.1" and cfg.public_host == "127.0.0.1"
    assert cfg.rabbitmq_image == "rabbitmq:4.2-management"
    assert cfg.nuclio_image.startswith("quay.io/nuclio/dashboard:1.14.")
    assert cfg.nuclio_image.endswith("-amd64")
    assert cfg.host_ports == {"amqpPort": 5672, "mqttPort": 1883, "managementPort": 15672,
                              "dashboardPort": 8070}
    assert cfg.rabbitmq_user == "iot" and cfg.functions == ()


@pytest.mark.parametrize("value, why", [("70000", "out of range"), ("0", "out of range"),
                                        ("abc", "not a whole number")])
def test_bad_port_names_key_value_range_and_fix(value: str, why: str) -> None:
    [message] = problems(mqttPort=value)
    assert f"iot-faas:mqttPort = '{value}'" in message
    assert why in message and "1 to 65535" in message
    assert "Fix: pulumi config set mqttPort 1883 --stack dev" in message


def test_bad_bind_address() -> None:
    [message] = problems(bindAddress="localhost")
    assert "iot-faas:bindAddress = 'localhost' is not an IP address" in message
    assert "127.0.0.1" in message and "0.0.0.0" in message
    assert "pulumi config set bindAddress 127.0.0.1 --stack dev" in message


def test_missing_password_says_how_to_create_one() -> None:
    with pytest.raises(ConfigError) as e:
        parse_config("ci", {}, frozenset())
    [message] = e.value.problems
    assert "iot-faas:rabbitmqPassword" in message and "is not set" in message
    assert "pulumi config set --secret rabbitmqPassword" in message and "--stack ci" in message


def test_plaintext_password_is_refused_without_showing_it() -> None:
    [message] = problems(secret=frozenset())
    assert "plain text" in message and "--secret" in message
    assert PASSWORD not in message


def test_unusable_password_is_refused_without_showing_it() -> None:
    bad = "short pass#"
    [message] = problems(rabbitmqPassword=bad)
    assert "12-128" in message and bad not in message and "(hidden)" in message


def test_every_problem_is_listed_at_once() -> None:
    found = problems(amqpPort="x", dashboardPort="99999", bindAddress="nowhere")
    assert len(found) == 3


def test_two_ports_of_one_stack_must_differ() -> None:
    [message] = problems(mqttPort="5672")
    assert "iot-faas:mqttPort" in message and "already used by iot-faas:amqpPort" in message


def test_guest_user_is_refused() -> None:
    [message] = problems(rabbitmqUser="guest")
    assert "iot-faas:rabbitmqUser = 'guest'" in message


def test_typo_in_a_key_is_caught_with_a_suggestion() -> None:
    [message] = problems(mqttport="1884")
    assert "iot-faas:mqttport is not a setting" in message
    assert "did you mean iot-faas:mqttPort" in message


def test_stack_name_must_fit_docker_and_nuclio_names() -> None:
    [message] = problems(stack="Dev_Stack")
    assert "'Dev_Stack'" in message and "pulumi stack rename dev-stack" in message


def test_function_env_entries() -> None:
    cfg = parse(functionEnv='["temperature-alert:ALERT_THRESHOLD_C=25", "a:B=x=y"]')
    assert cfg.function_env == {"temperature-alert": {"ALERT_THRESHOLD_C": "25"},
                                "a": {"B": "x=y"}}
    [message] = problems(functionEnv='["no-colon"]')
    assert "'function:NAME=value'" in message
    [message] = problems(functionEnv='["f:BROKER_PASSWORD=x"]')
    assert "BROKER_*" in message


def test_bind_everywhere_keeps_urls_on_loopback() -> None:
    cfg = parse(bindAddress="0.0.0.0")
    assert cfg.public_host == "127.0.0.1"
    assert parse(bindAddress="0.0.0.0", publicHost="iot.lan").public_host == "iot.lan"
    [message] = problems(publicHost="http://iot.lan:80")
    assert "iot-faas:publicHost" in message


def test_pulumi_yaml_declares_every_key_with_description_and_default() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "iot-faas"
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"] == {"toolchain": "pip", "virtualenv": "venv"}
    declared = project["config"]
    assert set(declared) == {k.name for k in CONFIG_KEYS}
    for key in CONFIG_KEYS:
        entry = declared[key.name]
        assert entry["type"] == key.type and entry["description"].strip()
        assert entry.get("secret", False) == key.secret
        assert entry.get("default") == key.default
        if key.type == "array":
            assert entry["items"] == {"type": "string"}
    assert declared["rabbitmqPassword"]["secret"] is True


@pytest.mark.parametrize("stack", ["dev", "ci"])
def test_stack_files_are_valid(stack: str) -> None:
    raw = {k.split(":", 1)[1]: v for k, v in stack_config(stack).items()}
    cfg = parse(stack, **raw)
    assert cfg.stack == stack
