"""The stack's configuration: every key, its default, and validation with fix-it messages.

`CONFIG_KEYS` is the single list of keys; Pulumi.yaml declares the same keys (a test keeps
the two in step). `parse_config` is pure: it takes raw strings, as Pulumi hands them over,
and returns a `PlatformConfig` or raises `ConfigError` naming every bad key at once.
"""
from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stacks.errors import ConfigError
from stacks.secret import Secret

PROJECT = "iot-faas"

DEFAULT_RABBITMQ_IMAGE = "rabbitmq:4.2-management"
# quay.io is where Nuclio publishes; the Docker Hub image is stale (reference/nuclio.md).
DEFAULT_NUCLIO_IMAGE = "quay.io/nuclio/dashboard:1.14.1-amd64"

# Characters that survive a RabbitMQ .conf line and an AMQP URL unchanged.
_PASSWORD_RE = re.compile(r"^[A-Za-z0-9._~-]{12,128}$")
_USER_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_IMAGE_RE = re.compile(r"^[^\s]+$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Stack names become parts of Docker names and of Nuclio's namespace (a DNS label).
_STACK_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$")


@dataclass(frozen=True)
class ConfigKey:
    name: str
    type: str  # as in Pulumi.yaml: string | integer | array
    description: str
    default: Any = None  # None: required
    secret: bool = False


CONFIG_KEYS: tuple[ConfigKey, ...] = (
    ConfigKey("bindAddress", "string",
              "Host address the published ports bind to. 127.0.0.1 keeps the broker and the "
              "dashboard (which holds the Docker socket) on this host; 0.0.0.0 opens them to "
              "every interface.", "127.0.0.1"),
    ConfigKey("publicHost", "string",
              "Host name or address clients use to reach the published ports; put into the "
              "stack outputs and Nuclio's invocation URLs. Empty: bindAddress, or 127.0.0.1 "
              "when bindAddress is 0.0.0.0.", ""),
    ConfigKey("rabbitmqImage", "string",
              "RabbitMQ image; it must include the management and MQTT plugins.",
              DEFAULT_RABBITMQ_IMAGE),
    ConfigKey("rabbitmqUser", "string",
              "Broker user for devices and functions (the guest user is never enabled).", "iot"),
    ConfigKey("rabbitmqPassword", "string",
              "Broker password (secret): 12-128 letters, digits or - _ . ~ . "
              "scripts/up creates one when it is missing.", secret=True),
    ConfigKey("amqpPort", "integer", "Host port for AMQP 0-9-1 (container port 5672).", 5672),
    ConfigKey("mqttPort", "integer", "Host port for MQTT (container port 1883).", 1883),
    ConfigKey("managementPort", "integer",
              "Host port for the RabbitMQ management UI and API (container port 15672).", 15672),
    ConfigKey("nuclioImage", "string", "Nuclio dashboard image (pinned release).",
              DEFAULT_NUCLIO_IMAGE),
    ConfigKey("dashboardPort", "integer",
              "Host port for the Nuclio dashboard (container port 8070).", 8070),
    ConfigKey("functions", "array",
              "Names of the folders in functions/ this stack deploys. Empty: all of them.", []),
    ConfigKey("functionEnv", "array",
              "Per-stack environment for functions, each entry 'function:NAME=value', "
              "e.g. 'temperature-alert:ALERT_THRESHOLD_C=30'.", []),
    ConfigKey("functionDeployTimeout", "integer",
              "Seconds to wait for one function to build and become ready.", 900),
    ConfigKey("dashboardWaitTimeout", "integer",
              "Seconds to wait for the Nuclio dashboard API to answer before deploying functions.",
              180),
)
KEYS_BY_NAME = {k.name: k for k in CONFIG_KEYS}


@dataclass(frozen=True)
class PlatformConfig:
    stack: str
    bind_address: str
    public_host: str
    rabbitmq_image: str
    rabbitmq_user: str
    rabbitmq_password: Secret
    amqp_port: int
    mqtt_port: int
    management_port: int
    nuclio_image: str
    dashboard_port: int
    functions: tuple[str, ...]  # empty: every folder
    function_env: Mapping[str, Mapping[str, str]]
    function_deploy_timeout: int
    dashboard_wait_timeout: int

    @property
    def host_ports(self) -> dict[str, int]:
        return {"amqpPort": self.amqp_port, "mqttPort": self.mqtt_port,
                "managementPort": self.management_port, "dashboardPort": self.dashboard_port}


def fix_command(stack: str, key: str, example: str, secret: bool = False) -> str:
    flag = " --secret" if secret else ""
    return f"pulumi config set{flag} {key} {example} --stack {stack}"


class _Problems:
    """Collects one message per bad key, each naming the key, the value and the fix."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.items: list[str] = []

    def bad(self, key: str, value: object, why: str, example: str) -> None:
        secret = KEYS_BY_NAME[key].secret
        shown = "(hidden)" if secret else repr(value)
        self.items.append(f"{PROJECT}:{key} = {shown} {why}. "
                          f"Fix: {fix_command(self.stack, key, example, secret)}")

    def add(self, message: str) -> None:
        self.items.append(message)


def _as_int(p: _Problems, key: str, raw: str, lo: int, hi: int, example: str) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        p.bad(key, raw, f"is not a whole number: use an integer from {lo} to {hi}", example)
        return -1
    if not lo <= value <= hi:
        p.bad(key, raw, f"is out of range: use an integer from {lo} to {hi}", example)
        return -1
    return value


def _as_string_list(p: _Problems, key: str, raw: str | list[str], example: str) -> list[str]:
    value: object = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw) if raw.strip() else []
        except json.JSONDecodeError:
            value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        p.bad(key, raw, "is not a list of strings: write it as a YAML list in "
              f"Pulumi.{p.stack}.yaml or use --path", example)
        return []
    return list(value)


def _parse_function_env(p: _Problems, entries: list[str]) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {}
    for entry in entries:
        fn, sep1, assignment = entry.partition(":")
        name, sep2, value = assignment.partition("=")
        if not (sep1 and sep2 and fn and _ENV_NAME_RE.match(name)):
            p.bad("functionEnv", entry, "is not of the form 'function:NAME=value'",
                  "--path 'functionEnv[0]' temperature-alert:ALERT_THRESHOLD_C=30")
            continue
        if name.startswith("BROKER_"):
            p.bad("functionEnv", entry, "sets a BROKER_* variable, which the stack fills in "
                  "from the broker's own settings", "--path 'functionEnv[0]' fn:NAME=value")
            continue
        result.setdefault(fn, {})[name] = value
    return result


def parse_config(stack: str, raw: Mapping[str, Any], secret_keys: frozenset[str] = frozenset()
                 ) -> PlatformConfig:
    """Validates raw config (key without namespace -> string) for `stack`.

    `secret_keys` holds the keys Pulumi stores encrypted; a secret key stored in plain
    text is refused so that it never sits readable in Pulumi.<stack>.yaml.
    """
    p = _Problems(stack)
    if not _STACK_RE.match(stack):
        suggestion = re.sub(r"[^a-z0-9-]", "-", stack.lower()).strip("-") or "dev"
        p.add(f"stack name {stack!r} cannot be used in Docker and Nuclio names: use 1-20 "
              "lowercase letters, digits and '-' (not at the ends). "
              f"Fix: pulumi stack rename {suggestion}")

    def get(key: str) -> Any:
        value = raw.get(key)
        return KEYS_BY_NAME[key].default if value is None else value

    bind = str(get("bindAddress")).strip()
    try:
        bind_ip = ipaddress.ip_address(bind)
    except ValueError:
        p.bad("bindAddress", bind, "is not an IP address: use 127.0.0.1 (this host only) or "
              "0.0.0.0 (every interface)", "127.0.0.1")
        bind_ip = None

    public = str(get("publicHost")).strip()
    if not public:
        public = "127.0.0.1" if bind_ip is None or bind_ip.is_unspecified else bind
    elif not (_HOST_RE.match(public) or _is_ip(public)):
        p.bad("publicHost", public, "is not a host name or IP address (no scheme, no port)",
              "192.168.1.20")

    images = {}
    for key in ("rabbitmqImage", "nuclioImage"):
        images[key] = str(get(key)).strip()
        if not _IMAGE_RE.match(images[key]):
            p.bad(key, images[key], "is not an image reference", KEYS_BY_NAME[key].default)

    user = str(get("rabbitmqUser")).strip()
    if not _USER_RE.match(user):
        p.bad("rabbitmqUser", user, "is not a usable user name: use 1-64 letters, digits, "
              "'.', '_' or '-'", "iot")
    elif user == "guest":
        p.bad("rabbitmqUser", user, "is RabbitMQ's well-known default user: pick another name",
              "iot")

    password = _password(p, raw.get("rabbitmqPassword"), "rabbitmqPassword" in secret_keys)

    ports = {
        key: _as_int(p, key, get(key), 1, 65535, str(KEYS_BY_NAME[key].default))
        for key in ("amqpPort", "mqttPort", "managementPort", "dashboardPort")
    }
    seen: dict[int, str] = {}
    for key, port in ports.items():
        if port > 0 and port in seen:
            p.bad(key, port, f"is already used by {PROJECT}:{seen[port]}: every host port of a "
                  "stack must differ", str(port + 1))
        seen.setdefault(port, key)

    functions = _as_string_list(p, "functions", get("functions"),
                                "--path 'functions[0]' temperature-logger")
    env = _parse_function_env(p, _as_string_list(p, "functionEnv", get("functionEnv"),
                              "--path 'functionEnv[0]' temperature-alert:ALERT_THRESHOLD_C=30"))
    deploy_timeout = _as_int(p, "functionDeployTimeout", get("functionDeployTimeout"), 1, 86400,
                             "900")
    wait_timeout = _as_int(p, "dashboardWaitTimeout", get("dashboardWaitTimeout"), 1, 3600, "180")

    unknown = sorted(set(raw) - set(KEYS_BY_NAME))
    for key in unknown:
        close = _closest(key, KEYS_BY_NAME)
        hint = f"did you mean {PROJECT}:{close}? " if close else ""
        p.add(f"{PROJECT}:{key} is not a setting of this project: {hint}"
              f"Fix: pulumi config rm {key} --stack {stack} (keys are listed in README.md)")

    if p.items:
        raise ConfigError(f"Stack '{stack}' has invalid configuration:", p.items)
    assert password is not None
    return PlatformConfig(
        stack=stack, bind_address=bind, public_host=public,
        rabbitmq_image=images["rabbitmqImage"], rabbitmq_user=user, rabbitmq_password=password,
        amqp_port=ports["amqpPort"], mqtt_port=ports["mqttPort"],
        management_port=ports["managementPort"], nuclio_image=images["nuclioImage"],
        dashboard_port=ports["dashboardPort"], functions=tuple(functions), function_env=env,
        function_deploy_timeout=deploy_timeout, dashboard_wait_timeout=wait_timeout,
    )


def _password(p: _Problems, value: Any, is_secret: bool) -> Secret | None:
    example = '"$(openssl rand -hex 24)"'
    if value is None or str(value) == "":
        p.bad("rabbitmqPassword", None, "is not set: the broker needs a password for its user "
              "(scripts/up creates one)", example)
        return None
    if not is_secret:
        p.bad("rabbitmqPassword", None, "is stored in plain text in the stack file: store it "
              "encrypted", example)
    if not _PASSWORD_RE.match(str(value)):
        p.bad("rabbitmqPassword", None, "is not usable: it must be 12-128 letters, digits or "
              "- _ . ~ because it is written into RabbitMQ's config file and into AMQP URLs",
              example)
    return Secret(str(value))


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def _closest(word: str, choices: Mapping[str, object] | list[str]) -> str | None:
    import difflib

    lowered = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def project_keys(full_keys: Iterable[str]) -> set[str]:
    """Keys of this project (namespace stripped) among all config keys Pulumi passed in."""
    prefix = f"{PROJECT}:"
    return {k[len(prefix):] for k in full_keys if k.startswith(prefix)} | set(KEYS_BY_NAME)
