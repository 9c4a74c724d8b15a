"""RabbitMQ config files: only keys valid in both RabbitMQ 4.x and Debian's 3.10."""
from stacks.rabbitmq_config import broker_files, render_conf, render_enabled_plugins
from stacks.secret import Secret

# reference/docker-rabbitmq-pulumi.md: keys valid in both versions.
PORTABLE_KEYS = {"default_user", "default_pass", "default_vhost", "loopback_users.guest",
                 "listeners.tcp.default", "management.tcp.port", "mqtt.listeners.tcp.default",
                 "mqtt.allow_anonymous", "mqtt.vhost", "mqtt.exchange", "log.console"}


def test_conf_uses_only_portable_keys() -> None:
    conf = render_conf("iot", Secret("p" * 16))
    keys = {line.split(" = ")[0] for line in conf.splitlines() if line and line[0] != "#"}
    assert keys <= PORTABLE_KEYS
    # RabbitMQ 4.x refuses to boot with these.
    assert "mqtt.default_user" not in conf and "mqtt.default_pass" not in conf


def test_enabled_plugins_is_an_erlang_list_ending_in_a_period() -> None:
    assert render_enabled_plugins() == \
        "[rabbitmq_management,rabbitmq_prometheus,rabbitmq_mqtt].\n"


def test_only_the_conf_file_is_secret_and_secret_does_not_print() -> None:
    files = {f.path: f for f in broker_files("iot", Secret("hidden-password"))}
    assert files["/etc/rabbitmq/conf.d/20-iot-faas.conf"].secret is True
    assert files["/etc/rabbitmq/enabled_plugins"].secret is False
    assert "hidden-password" not in repr(Secret("hidden-password"))
