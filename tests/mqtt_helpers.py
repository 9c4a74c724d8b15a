"""MQTT helpers for tests against a real broker."""
from __future__ import annotations

import threading
import time
from typing import Any

import paho.mqtt.client as mqtt


def mqtt_connect_result(broker: Any, username: str | None, password: str | None,
                        timeout: float = 10.0) -> mqtt.ReasonCode:
    """The CONNACK reason code the broker gives these credentials."""
    result: list[mqtt.ReasonCode] = []
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"it-auth-{time.time_ns()}")
    if username is not None:
        client.username_pw_set(username, password)

    def on_connect(c: Any, u: Any, flags: Any, reason: mqtt.ReasonCode, props: Any) -> None:
        result.append(reason)
        done.set()

    client.on_connect = on_connect
    client.connect(broker.host, broker.mqtt_port)
    client.loop_start()
    done.wait(timeout)
    client.disconnect()
    client.loop_stop()
    assert result, "the broker did not answer CONNECT"
    return result[0]


class MqttCollector:
    """Subscribes (QoS 1) and collects (topic, payload) until closed."""

    def __init__(self, broker: Any, topics: list[str], client_id: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.username_pw_set(broker.username, broker.password)
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe([(t, 1) for t in topics])
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.mqtt_port)

    def _on_message(self, client: Any, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((message.topic, message.payload))

    def __enter__(self) -> "MqttCollector":
        self.client.loop_start()
        assert self.subscribed.wait(10), "subscription not acknowledged"
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[tuple[str, bytes]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        with self.lock:
            raise AssertionError(f"got {len(self.messages)} of {count} MQTT messages")
