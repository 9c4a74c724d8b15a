"""The example chain on a real broker: sensor-simulator -> RabbitMQ -> temperature-logger,
and MQTT -> temperature-alert -> an MQTT alert subscriber; plus a broker restart."""
from __future__ import annotations

import json
import threading
import time
from typing import Any

import nuclio_sdk
import paho.mqtt.client as mqtt
import pika
import pika.exceptions
import pytest
from nuclio_sdk.test import Platform

from stacks.function_folder import discover
from stacks.function_render import BrokerAccess, FunctionTarget, render_function
from stacks.naming import StackNames
from stacks.secret import Secret
from tests.handlers import LogCapture, load_handler
from tests.local_broker import Broker
from tests.mqtt_helpers import MqttCollector
from tests.program import ROOT
from tools.device_simulator import Endpoint, MqttPublisher, Summary, run

pytestmark = pytest.mark.docker


def rendered_trigger(broker: Broker, function: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The function's config as the stack renders it, and its broker trigger."""
    target = FunctionTarget(StackNames("it"), BrokerAccess(broker.username,
                                                           Secret(broker.password)))
    [folder] = discover(ROOT / "functions", (function,))
    config = render_function(folder, target)
    [name] = folder.triggers  # the folder's own trigger (the stack adds default-http)
    return config, config["spec"]["triggers"][name]


def declare_like_nuclio(channel: Any, config: dict[str, Any], trigger: dict[str, Any]) -> str:
    """Declares and binds as Nuclio's rabbit-mq trigger does (pkg/processor/trigger/rabbitmq)."""
    a = trigger["attributes"]
    queue = a.get("queueName") or \
        f"nuclio-{config['metadata']['namespace']}-{config['metadata']['name']}"
    channel.exchange_declare(a["exchangeName"], "topic",
                             durable=bool(a.get("durableExchange", False)))
    channel.queue_declare(queue, durable=bool(a.get("durableQueue", False)))
    for topic in a["topics"]:
        channel.queue_bind(queue, a["exchangeName"], topic)
    return queue


def test_durable_exchange_false_on_amq_topic_fails_as_the_reference_says(broker: Broker) -> None:
    """Pins reference/nuclio.md: why the stack sets durableExchange for amq.* exchanges."""
    channel = broker.amqp().channel()
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
        channel.exchange_declare("amq.topic", "topic", durable=False)
    assert e.value.reply_code == 406  # PRECONDITION_FAILED
    config, trigger = rendered_trigger(broker, "temperature-logger")
    assert trigger["attributes"]["durableExchange"] is True
    channel = broker.amqp().channel()
    declare_like_nuclio(channel, config, trigger)  # the stack's rendering is accepted


def drain(channel: Any, queue: str, want: int, timeout: float = 20.0) -> list[tuple[str, bytes]]:
    got: list[tuple[str, bytes]] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        method, _, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            time.sleep(0.05)
            continue
        got.append((f"{method.exchange}/{method.routing_key}", body))
    return got


def test_simulator_to_logger_through_the_real_broker(broker: Broker,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    config, trigger = rendered_trigger(broker, "temperature-logger")
    conn = broker.amqp()
    channel = conn.channel()
    queue = declare_like_nuclio(channel, config, trigger)
    channel.queue_purge(queue)

    simulator = load_handler("sensor-simulator")
    monkeypatch.setenv("BROKER_AMQP_URL", broker.amqp_url)
    monkeypatch.setenv("SENSOR_IDS", "s-1,s-2,s-3")
    sim_platform = Platform()
    ticks = 5
    for _ in range(ticks):
        sim_platform.call_handler(simulator.handler, nuclio_sdk.Event(body=b""))

    # A malformed reading in the middle of the stream.
    channel.basic_publish("amq.topic", "iot.sensors.temperature", b"{not json")
    sim_platform.call_handler(simulator.handler, nuclio_sdk.Event(body=b""))

    messages = drain(channel, queue, want=ticks * 3 + 1 + 3)
    assert len(messages) == ticks * 3 + 4
    logger = load_handler("temperature-logger")
    log_platform = Platform()
    with LogCapture() as logs:
        for path, body in messages:
            log_platform.call_handler(logger.handler, nuclio_sdk.Event(
                body=body, path=path, trigger=nuclio_sdk.TriggerInfo("rabbit-mq", "readings")))
    readings = logs.messages("reading")
    assert len(readings) == (ticks + 1) * 3
    assert {r["sensor_id"] for r in readings} == {"s-1", "s-2", "s-3"}
    assert {r["source"] for r in readings} == {"amq.topic/iot.sensors.temperature"}
    [rejected] = logs.messages("reading rejected")
    assert "not JSON" in rejected["reason"]
    conn.close()


def test_alert_chain_over_mqtt(broker: Broker, monkeypatch: pytest.MonkeyPatch) -> None:
    _, trigger = rendered_trigger(broker, "temperature-alert")
    topics = [s["topic"] for s in trigger["attributes"]["subscriptions"]]
    for k, v in {"BROKER_HOST": broker.host, "BROKER_MQTT_PORT": str(broker.mqtt_port),
                 "BROKER_USERNAME": broker.username, "BROKER_PASSWORD": broker.password,
                 "ALERT_THRESHOLD_C": "30"}.items():
        monkeypatch.setenv(k, v)
    alert = load_handler("temperature-alert")
    platform = Platform()

    temps = [21.0, 35.5, 29.9, 41.0, 30.0]
    with MqttCollector(broker, ["iot/alerts/temperature"], "it-alert-sub") as alerts, \
            MqttCollector(broker, topics, "it-alert-trigger") as feed:
        device = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="it-device")
        device.username_pw_set(broker.username, broker.password)
        device.connect(broker.host, broker.mqtt_port)
        device.loop_start()
        deadline = time.monotonic() + 10
        while not device.is_connected() and time.monotonic() < deadline:
            time.sleep(0.02)
        for i, t in enumerate(temps):
            reading = {"sensor_id": f"d-{i}", "temperature": t, "unit": "C",
                       "timestamp": "2026-12-03T10:00:00.000Z"}
            info = device.publish("iot/sensors/temperature", json.dumps(reading), qos=1)
            info.wait_for_publish(10)
        device.publish("iot/sensors/temperature", b"garbage", qos=1).wait_for_publish(10)
        device.disconnect()
        device.loop_stop()

        with LogCapture() as logs:
            for topic, payload in feed.wait_for(len(temps) + 1):
                platform.call_handler(alert.handler, nuclio_sdk.Event(
                    body=payload, topic=topic, trigger=nuclio_sdk.TriggerInfo("mqtt", "readings")))
        received = [json.loads(p) for _, p in alerts.wait_for(2)]
        time.sleep(0.5)  # nothing more should come
        received = [json.loads(p) for _, p in alerts.messages]
    assert sorted(a["temperature"] for a in received) == [35.5, 41.0]
    assert all(a["source_topic"] == "iot/sensors/temperature" for a in received)
    assert len(logs.messages("reading rejected")) == 1
    platform._get_handler_context(alert.handler).user_data.mqtt.loop_stop()


class ReconnectingConsumer(threading.Thread):
    """Consumes a durable queue, reconnecting when the broker goes away."""

    def __init__(self, broker: Broker, queue: str) -> None:
        super().__init__(daemon=True)
        self.broker, self.queue = broker, queue
        self.seqs: list[int] = []
        self.stop = threading.Event()
        self.reconnects = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                conn = self.broker.amqp()
                channel = conn.channel()
                while not self.stop.is_set():
                    method, _, body = channel.basic_get(self.queue, auto_ack=False)
                    if method is None:
                        conn.sleep(0.05)
                        continue
                    self.seqs.append(json.loads(body)["seq"])
                    channel.basic_ack(method.delivery_tag)
                conn.close()
            except (pika.exceptions.AMQPError, OSError):
                self.reconnects += 1
                time.sleep(1)


def test_broker_restart_loses_no_qos1_message(broker: Broker, restart_broker: Any) -> None:
    """A device (the device simulator) streams QoS 1 readings into a durable queue, as the
    logger's trigger declares it; the broker restarts mid-stream; nothing is lost."""
    conn = broker.amqp()
    channel = conn.channel()
    queue = "it-restart-durable"
    channel.queue_declare(queue, durable=True)
    channel.queue_bind(queue, "amq.topic", "iot.sensors.temperature")
    channel.queue_purge(queue)
    conn.close()

    consumer = ReconnectingConsumer(broker, queue)
    consumer.start()
    device = MqttPublisher(Endpoint("mqtt", broker.host, broker.mqtt_port, broker.username,
                                    broker.password), qos=1, client_id="it-restart-device")
    total = 300
    summary: list[Summary] = []
    stream = threading.Thread(target=lambda: summary.append(
        run(device, ["restart-1"], total, 30, "iot/sensors/temperature")))
    stream.start()
    time.sleep(3)
    restart_broker()  # returns once the container is up again (the node boots after)
    stream.join(timeout=180)
    deadline = time.monotonic() + 120
    while len(set(consumer.seqs)) < total and time.monotonic() < deadline:
        time.sleep(0.2)
    consumer.stop.set()
    # QoS 1 is at-least-once: duplicates may occur, losses may not.
    assert set(consumer.seqs) == set(range(total))
    assert device.reconnects >= 1, "the device did not reconnect"
    assert summary and summary[0].confirmed == total
    assert consumer.reconnects >= 1
