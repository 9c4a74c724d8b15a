"""Renders a function folder into the full Nuclio config for one stack (pure functions).

The folder says what the function is; the stack adds where it runs: namespace, project,
network, restart policy, broker URL and credentials, MQTT client ids, per-stack env.
"""
from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from stacks import rabbitmq_config as rc
from stacks.function_folder import FunctionFolder
from stacks.naming import BROKER_ALIAS, LABEL_STACK, StackNames
from stacks.secret import Secret


DEFAULT_HTTP_TRIGGER = "default-http"


@dataclass(frozen=True)
class BrokerAccess:
    """How function containers reach the broker inside the stack network."""

    username: str
    password: Secret
    host: str = BROKER_ALIAS
    amqp_port: int = rc.AMQP_PORT
    mqtt_port: int = rc.MQTT_PORT

    @property
    def amqp_url(self) -> str:
        user = quote(self.username, safe="")
        password = quote(self.password.reveal(), safe="")
        return f"amqp://{user}:{password}@{self.host}:{self.amqp_port}"

    @property
    def mqtt_url(self) -> str:
        return f"tcp://{self.host}:{self.mqtt_port}"

    def env(self) -> dict[str, str]:
        return {
            "BROKER_HOST": self.host,
            "BROKER_AMQP_PORT": str(self.amqp_port),
            "BROKER_MQTT_PORT": str(self.mqtt_port),
            "BROKER_USERNAME": self.username,
            "BROKER_PASSWORD": self.password.reveal(),
            "BROKER_AMQP_URL": self.amqp_url,
        }


@dataclass(frozen=True)
class FunctionTarget:
    names: StackNames
    broker: BrokerAccess
    extra_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def render_function(folder: FunctionFolder, target: FunctionTarget) -> dict[str, Any]:
    source = copy.deepcopy(folder.config)
    names = target.names
    metadata = dict(source.get("metadata") or {})
    spec = dict(source.get("spec") or {})

    labels = dict(metadata.get("labels") or {})
    labels["nuclio.io/project-name"] = names.nuclio_project
    labels[LABEL_STACK] = names.stack
    metadata.update(name=folder.name, namespace=names.nuclio_namespace, labels=labels)

    build = dict(spec.get("build") or {})
    build["functionSourceCode"] = base64.b64encode(folder.source.encode()).decode()
    build["codeEntryType"] = "sourceCode"
    spec["build"] = build

    env = {e["name"]: str(e.get("value", "")) for e in spec.get("env") or []}
    env.update(target.extra_env.get(folder.name, {}))
    env.update(target.broker.env())
    spec["env"] = [{"name": k, "value": v} for k, v in env.items()]

    platform = dict(spec.get("platform") or {})
    attributes = dict(platform.get("attributes") or {})
    # Without it function containers land on Docker's default bridge and cannot resolve
    # `rabbitmq` (nuclio#2360).
    attributes["network"] = names.network
    # Functions come back after a Docker or host restart (nuclio#1668, #2105).
    attributes["restartPolicy"] = {"name": "always", "maximumRetryCount": 0}
    platform["attributes"] = attributes
    spec["platform"] = platform

    triggers = {
        tname: render_trigger(folder.name, tname, trigger, target)
        for tname, trigger in folder.triggers.items()
    }
    if not spec.get("disableDefaultHTTPTrigger") and \
            not any(t["kind"] == "http" for t in triggers.values()):
        # On Docker, Nuclio publishes a function's HTTP port on every host interface
        # (nuclio#2468). Broker-triggered functions need no host port: declare the default
        # trigger ourselves with publishing off (nuclio#3127), so it stays reachable only
        # inside the stack network.
        triggers[DEFAULT_HTTP_TRIGGER] = {"kind": "http", "numWorkers": 1,
                                          "attributes": {"disablePortPublishing": True}}
    spec["triggers"] = triggers
    return {"metadata": metadata, "spec": spec}


def render_trigger(function: str, name: str, trigger: Mapping[str, Any],
                   target: FunctionTarget) -> dict[str, Any]:
    out = copy.deepcopy(dict(trigger))
    attributes = dict(out.get("attributes") or {})
    broker = target.broker
    if out["kind"] == "rabbit-mq":
        out["url"] = broker.amqp_url
        # RabbitMQ's amq.* exchanges are durable; Nuclio declares the exchange with
        # durableExchange (default false) and a mismatch fails with PRECONDITION_FAILED.
        if str(attributes.get("exchangeName", "")).startswith("amq."):
            attributes["durableExchange"] = True
    elif out["kind"] == "mqtt":
        out["url"] = broker.mqtt_url
        out["username"] = broker.username
        out["password"] = broker.password.reveal()
        attributes["clientID"] = target.names.mqtt_client_id(function, name)
    out["attributes"] = attributes
    return out


def secrets_of(target: FunctionTarget) -> list[str]:
    """Strings that must never appear in messages: the password, raw and URL-quoted."""
    password = target.broker.password.reveal()
    return [password, quote(password, safe=""), target.broker.amqp_url]
