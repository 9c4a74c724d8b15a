"""The example functions' handlers under nuclio-sdk's test platform (no broker needed)."""
from __future__ import annotations

import datetime
import json
import random
from typing import Any

import nuclio_sdk
import pytest
from nuclio_sdk.test import Platform

from tests.handlers import LogCapture, load_handler

GOOD = {"sensor_id": "greenhouse-1", "temperature": 21.5, "unit": "C",
        "timestamp": "2026-12-03T10:00:00.000Z"}


def rabbit_event(body: Any) -> nuclio_sdk.Event:
    return nuclio_sdk.Event(body=body, path="amq.topic/iot.sensors.temperature",
                            trigger=nuclio_sdk.TriggerInfo("rabbit-mq", "readings"))


def test_logger_logs_a_structured_line_per_reading() -> None:
    logger = load_handler("temperature-logger")
    with LogCapture() as logs:
        Platform().call_handler(logger.handler, rabbit_event(json.dumps(GOOD).encode()))
    [line] = logs.messages("reading")
    assert line == {"sensor_id": "greenhouse-1", "temperature": 21.5, "unit": "C",
                    "timestamp": "2026-12-03T10:00:00.000Z",
                    "source": "amq.topic/iot.sensors.temperature"}


def test_logger_accepts_a_body_already_decoded_as_json() -> None:
    logger = load_handler("temperature-logger")
    with LogCapture() as logs:
        Platform().call_handler(logger.handler, rabbit_event(dict(GOOD)))
    assert len(logs.messages("reading")) == 1


@pytest.mark.parametrize("body, reason", [
    (b"not json", "not JSON"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[1, 2]", "JSON object"),
    (json.dumps({**GOOD, "sensor_id": ""}).encode(), "sensor_id"),
    (json.dumps({**GOOD, "temperature": "hot"}).encode(), "temperature"),
    (json.dumps({**GOOD, "temperature": True}).encode(), "temperature"),
    (json.dumps({**GOOD, "unit": "F"}).encode(), "unit"),
    (json.dumps({**GOOD, "timestamp": "yesterday"}).encode(), "ISO-8601"),
    (json.dumps({**GOOD, "timestamp": "2026-12-03T10:00:00+02:00"}).encode(), "UTC"),
])
def test_logger_rejects_malformed_readings_and_carries_on(body: bytes, reason: str) -> None:
    logger = load_handler("temperature-logger")
    platform = Platform()
    with LogCapture() as logs:
        platform.call_handler(logger.handler, rabbit_event(body))
        platform.call_handler(logger.handler, rabbit_event(json.dumps(GOOD).encode()))
    [rejected] = logs.messages("reading rejected")
    assert reason in rejected["reason"]
    assert len(logs.messages("reading")) == 1


def test_simulator_readings_are_what_the_logger_accepts() -> None:
    simulator = load_handler("sensor-simulator")
    logger = load_handler("temperature-logger")
    rng = random.Random(7)
    for _ in range(200):
        reading = simulator.make_reading("s-1", rng)
        assert logger.parse_reading(json.dumps(reading)) == {**reading,
                                                             "temperature": reading["temperature"]}
    stamp = simulator.make_reading("s-1", rng)["timestamp"]
    assert stamp.endswith("Z")
    assert datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).tzinfo is not None


class FakePublisher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, routing_key: str, body: bytes) -> None:
        self.sent.append((routing_key, body))


def test_simulator_publishes_one_reading_per_sensor_per_tick(
        monkeypatch: pytest.MonkeyPatch) -> None:
    simulator = load_handler("sensor-simulator")
    monkeypatch.setenv("BROKER_AMQP_URL", "amqp://u:p@localhost:1")
    monkeypatch.setenv("SENSOR_IDS", "a, b,c")
    platform = Platform()
    event = nuclio_sdk.Event(body=b"", trigger=nuclio_sdk.TriggerInfo("cron", "tick"))
    # init_context makes the real (lazy) publisher; swap it for one that records.
    context = platform._get_handler_context(simulator.handler)
    context.user_data.publisher = FakePublisher()
    assert platform.call_handler(simulator.handler, event) == 3
    sent = context.user_data.publisher.sent
    assert [json.loads(b)["sensor_id"] for _, b in sent] == ["a", "b", "c"]
    assert {k for k, _ in sent} == {"iot.sensors.temperature"}


class FakeMqtt:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any], int]] = []

    def publish(self, topic: str, payload: str, qos: int = 0) -> Any:
        self.published.append((topic, json.loads(payload), qos))

        class Info:
            def is_published(self) -> bool:
                return True
        return Info()


def alert_platform(monkeypatch: pytest.MonkeyPatch, threshold: str
                   ) -> tuple[Platform, Any, FakeMqtt]:
    alert = load_handler("temperature-alert")
    for k, v in {"BROKER_USERNAME": "u", "BROKER_PASSWORD": "p", "BROKER_HOST": "127.0.0.1",
                 "BROKER_MQTT_PORT": "1", "ALERT_THRESHOLD_C": threshold}.items():
        monkeypatch.setenv(k, v)
    platform = Platform()
    context = platform._get_handler_context(alert.handler)
    context.user_data.mqtt.loop_stop()
    fake = FakeMqtt()
    context.user_data.mqtt = fake
    return platform, alert, fake


@pytest.mark.parametrize("topic_field", ["topic", "path"])
def test_alert_only_above_threshold(monkeypatch: pytest.MonkeyPatch, topic_field: str) -> None:
    platform, alert, fake = alert_platform(monkeypatch, "30")
    for value in (29.9, 30.0, 30.1, 45):
        event = nuclio_sdk.Event(body=json.dumps({**GOOD, "temperature": value}).encode(),
                                 trigger=nuclio_sdk.TriggerInfo("mqtt", "readings"),
                                 **{topic_field: "iot/sensors/temperature"})
        platform.call_handler(alert.handler, event)
    assert [(t, a["temperature"], q) for t, a, q in fake.published] == [
        ("iot/alerts/temperature", 30.1, 1), ("iot/alerts/temperature", 45.0, 1)]
    first = fake.published[0][1]
    assert first["threshold"] == 30.0 and first["sensor_id"] == "greenhouse-1"
    assert first["source_topic"] == "iot/sensors/temperature"
    assert first["reading_timestamp"] == GOOD["timestamp"]


def test_alert_rejects_malformed_readings(monkeypatch: pytest.MonkeyPatch) -> None:
    platform, alert, fake = alert_platform(monkeypatch, "10")
    with LogCapture() as logs:
        platform.call_handler(alert.handler, nuclio_sdk.Event(body=b"{oops"))
        platform.call_handler(alert.handler, nuclio_sdk.Event(body=json.dumps(GOOD).encode()))
    assert len(logs.messages("reading rejected")) == 1
    assert len(fake.published) == 1
