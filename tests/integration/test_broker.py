"""The broker as the stack configures it: MQTT <-> AMQP bridging and refused access."""
from __future__ import annotations

import json
import subprocess
import time

import paho.mqtt.client as mqtt
import pika
import pika.exceptions
import pytest

from tests.local_broker import Broker
from tests.mqtt_helpers import MqttCollector, mqtt_connect_result

pytestmark = pytest.mark.docker
TOPIC = "iot/sensors/temperature"
ROUTING_KEY = "iot.sensors.temperature"


def bind_queue(channel, routing_key: str = ROUTING_KEY) -> str:
    q = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(q, "amq.topic", routing_key)
    return q


def get_one(channel, queue: str, timeout: float = 10.0) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        method, _, body = channel.basic_get(queue, auto_ack=True)
        if method is not None:
            return body
        time.sleep(0.05)
    raise AssertionError(f"nothing arrived on {queue} within {timeout}s")


def test_broker_turns_healthy_by_the_stacks_healthcheck(broker: Broker,
                                                        docker_services: object) -> None:
    """`pulumi up` waits for this health status (wait=True) before deploying functions."""
    container = docker_services._docker_compose.execute("ps -q rabbitmq").decode().strip()
    deadline = time.monotonic() + 150
    status = ""
    while time.monotonic() < deadline:
        status = subprocess.run(["docker", "inspect", "--format", "{{.State.Health.Status}}",
                                 container], capture_output=True, text=True).stdout.strip()
        if status == "healthy":
            break
        time.sleep(2)
    assert status == "healthy"


def test_mqtt_publish_reaches_an_amqp_consumer_on_amq_topic(broker: Broker) -> None:
    conn = broker.amqp()
    channel = conn.channel()
    queue = bind_queue(channel)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="it-mqtt-pub")
    client.username_pw_set(broker.username, broker.password)
    client.connect(broker.host, broker.mqtt_port)
    client.loop_start()
    client.publish(TOPIC, json.dumps({"n": 1}), qos=1).wait_for_publish(10)
    client.disconnect()
    client.loop_stop()
    assert json.loads(get_one(channel, queue)) == {"n": 1}
    conn.close()


def test_amqp_publish_reaches_an_mqtt_subscriber(broker: Broker) -> None:
    with MqttCollector(broker, [TOPIC], "it-mqtt-sub") as sub:
        conn = broker.amqp()
        conn.channel().basic_publish("amq.topic", ROUTING_KEY, b'{"n": 2}')
        conn.close()
        [(topic, payload)] = sub.wait_for(1)
    assert topic == TOPIC and json.loads(payload) == {"n": 2}


def test_anonymous_and_wrong_password_mqtt_are_refused(broker: Broker) -> None:
    assert mqtt_connect_result(broker, None, None).is_failure
    assert mqtt_connect_result(broker, broker.username, "wrong-password").is_failure
    assert not mqtt_connect_result(broker, broker.username, broker.password).is_failure


def test_guest_is_refused(broker: Broker) -> None:
    with pytest.raises(pika.exceptions.ProbableAuthenticationError):
        pika.BlockingConnection(pika.ConnectionParameters(
            broker.host, broker.amqp_port, credentials=pika.PlainCredentials("guest", "guest")))
    assert mqtt_connect_result(broker, "guest", "guest").is_failure


@pytest.mark.parametrize("protocol", ["mqtt", "amqp"])
def test_device_simulator_publishes_to_the_broker(broker: Broker, protocol: str,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from tools.device_simulator import main

    conn = broker.amqp()
    channel = conn.channel()
    queue = bind_queue(channel)
    monkeypatch.setenv("IOT_FAAS_BROKER_PASSWORD", broker.password)
    port = broker.mqtt_port if protocol == "mqtt" else broker.amqp_port
    assert main(["--protocol", protocol, "--host", broker.host, "--port", str(port),
                 "--username", broker.username, "--count", "25", "--rate", "0",
                 "--sensors", "a,b", "--quiet"]) == 0
    assert "sent 25, confirmed by the broker 25" in capsys.readouterr().out
    got = [json.loads(get_one(channel, queue)) for _ in range(25)]
    assert sorted(r["seq"] for r in got) == list(range(25))
    conn.close()
