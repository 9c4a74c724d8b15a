"""RabbitMQ's configuration files, rendered from the stack's settings (pure functions).

Only keys valid both in RabbitMQ 4.x and in Debian bookworm's 3.10 are used: 4.x refuses to
boot with `mqtt.default_user`/`default_pass`, so MQTT clients always authenticate as the
broker user instead (anonymous MQTT is off).
"""
from __future__ import annotations

from dataclasses import dataclass

from stacks.secret import Secret

# Inside the container; the host ports are configuration.
AMQP_PORT = 5672
MQTT_PORT = 1883
MANAGEMENT_PORT = 15672

PLUGINS = ("rabbitmq_management", "rabbitmq_prometheus", "rabbitmq_mqtt")
MQTT_EXCHANGE = "amq.topic"
ENABLED_PLUGINS_PATH = "/etc/rabbitmq/enabled_plugins"
# Sorts after the official image's conf.d/10-defaults.conf, so these settings win.
CONF_PATH = "/etc/rabbitmq/conf.d/20-iot-faas.conf"
DATA_DIR = "/var/lib/rabbitmq"


@dataclass(frozen=True)
class BrokerFile:
    path: str
    content: str
    secret: bool


def render_enabled_plugins(plugins: tuple[str, ...] = PLUGINS) -> str:
    # An uploaded enabled_plugins replaces the image's list: name every plugin wanted.
    return "[" + ",".join(plugins) + "].\n"


def render_conf(user: str, password: Secret) -> str:
    lines = [
        "# Rendered by iot-faas; changes here are overwritten by `pulumi up`.",
        f"default_user = {user}",
        f"default_pass = {password.reveal()}",
        "default_vhost = /",
        # guest is never created once default_user is set; this also keeps an old one local.
        "loopback_users.guest = true",
        f"listeners.tcp.default = {AMQP_PORT}",
        f"management.tcp.port = {MANAGEMENT_PORT}",
        f"mqtt.listeners.tcp.default = {MQTT_PORT}",
        "mqtt.allow_anonymous = false",
        "mqtt.vhost = /",
        f"mqtt.exchange = {MQTT_EXCHANGE}",
        "log.console = true",
    ]
    return "\n".join(lines) + "\n"


def broker_files(user: str, password: Secret) -> tuple[BrokerFile, ...]:
    return (
        BrokerFile(ENABLED_PLUGINS_PATH, render_enabled_plugins(), secret=False),
        BrokerFile(CONF_PATH, render_conf(user, password), secret=True),
    )


@dataclass(frozen=True)
class Healthcheck:
    # Checks every listener (AMQP, MQTT, management), not only that the node runs.
    tests: tuple[str, ...] = ("CMD", "rabbitmq-diagnostics", "-q", "check_port_connectivity")
    interval: str = "5s"
    timeout: str = "15s"
    start_period: str = "10s"
    retries: int = 30


HEALTHCHECK = Healthcheck()
