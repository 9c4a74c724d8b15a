"""A simulated temperature sensor outside the platform: publishes readings to a stack.

    python -m tools.device_simulator --stack dev --count 100 --rate 10
    python -m tools.device_simulator --protocol amqp --host 127.0.0.1 --port 5672 \\
        --username iot --count 1000 --rate 0 --sensors a,b,c

The password comes from $IOT_FAAS_BROKER_PASSWORD, from the stack's outputs (--stack),
or from a prompt; never from the command line, where `ps` would show it.
"""
from __future__ import annotations

import argparse
import datetime
import getpass
import itertools
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

MQTT_TOPIC = "iot/sensors/temperature"
PASSWORD_ENV = "IOT_FAAS_BROKER_PASSWORD"


def mqtt_to_routing_key(topic: str) -> str:
    # RabbitMQ's MQTT plugin maps '/' to '.' on amq.topic.
    return topic.replace("/", ".")


def make_reading(sensor_id: str, rng: random.Random, seq: int | None = None) -> dict[str, object]:
    now = datetime.datetime.now(datetime.timezone.utc)
    reading: dict[str, object] = {
        "sensor_id": sensor_id, "temperature": round(rng.gauss(22.0, 4.0), 2), "unit": "C",
        "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    if seq is not None:
        reading["seq"] = seq
    return reading


@dataclass(frozen=True)
class Endpoint:
    protocol: str
    host: str
    port: int
    username: str
    password: str

    def __repr__(self) -> str:  # keeps the password out of tracebacks and logs
        return f"Endpoint({self.protocol}://{self.username}@{self.host}:{self.port})"


def endpoint_from_outputs(outputs: dict[str, str], protocol: str) -> Endpoint:
    """Builds the endpoint from `pulumi stack output --json --show-secrets`."""
    if protocol == "mqtt":
        url = urlparse(outputs["mqttEndpoint"])
        return Endpoint("mqtt", url.hostname or "127.0.0.1", url.port or 1883,
                        outputs["mqttUsername"], outputs["mqttPassword"])
    url = urlparse(outputs["amqpUrl"])
    return Endpoint("amqp", url.hostname or "127.0.0.1", url.port or 5672,
                    unquote(url.username or ""), unquote(url.password or ""))


class Publisher(Protocol):
    def publish(self, topic: str, body: bytes) -> None: ...
    def wait(self, seconds: float) -> None: ...  # idle, but keep the connection serviced
    def close(self) -> int: ...  # waits for outstanding confirms; returns how many confirmed


class MqttPublisher:
    """paho client driven from this thread: no loop thread to wake per message, which
    more than doubles the QoS 1 publish rate of a Python client (bench/pipeline.py)."""

    # QoS 1 messages in flight (sent, not yet acked); enforced here, because paho's own
    # limit rescans every in-flight message on each PUBACK (half the client's CPU at 1000).
    WINDOW = 500

    def __init__(self, ep: Endpoint, qos: int, client_id: str, timeout: float = 10.0) -> None:
        import paho.mqtt.client as mqtt

        self.qos = qos
        self.sent = 0
        self.confirmed = 0
        self.reconnects = 0
        self.refused: object = None
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.username_pw_set(ep.username, ep.password)
        self.client.max_inflight_messages_set(0)  # unlimited in paho: see WINDOW
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.client.connect(ep.host, ep.port, keepalive=30)
        deadline = time.monotonic() + timeout
        while not self.client.is_connected() and self.refused is None:
            if time.monotonic() > deadline:
                raise ConnectionError(f"MQTT broker at {ep.host}:{ep.port} did not answer")
            self.client.loop(0.1)
        if self.refused is not None:
            raise ConnectionError(f"MQTT broker at {ep.host}:{ep.port} refused: {self.refused}")

    def _on_connect(self, client: object, userdata: object, flags: object, reason: object,
                    props: object) -> None:
        if getattr(reason, "is_failure", False):
            self.refused = reason

    def _on_publish(self, *args: object) -> None:
        self.confirmed += 1

    def _service(self, timeout: float) -> None:
        """Runs paho's network loop once; reconnects when the connection dropped. paho
        keeps unacked QoS 1 messages and sends them again after the reconnect."""
        if self.client.loop(timeout) == 0:  # MQTT_ERR_SUCCESS
            return
        try:
            self.client.reconnect()
            self.reconnects += 1
        except OSError:
            time.sleep(min(1.0, max(timeout, 0.1)))  # broker still away: try again later

    def publish(self, topic: str, body: bytes) -> None:
        # Backpressure: never more than WINDOW unacked messages.
        while self.sent - self.confirmed >= self.WINDOW:
            self._service(0.01)
        self.sent += 1
        self.client.publish(topic, body, qos=self.qos)
        if self.sent % 50 == 0:
            self._service(0)  # read PUBACKs, flush what is queued

    def wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._service(left)

    def close(self, timeout: float = 30.0) -> int:
        # on_publish fires on PUBACK for QoS 1 (on send for QoS 0): wait for all of them.
        deadline = time.monotonic() + timeout
        while self.confirmed < self.sent and time.monotonic() < deadline:
            self._service(0.05)
        self.client.disconnect()
        return self.confirmed


class AmqpPublisher:
    def __init__(self, ep: Endpoint) -> None:
        import pika

        credentials = pika.PlainCredentials(ep.username, ep.password)
        params = pika.ConnectionParameters(ep.host, ep.port, credentials=credentials)
        self.connection = pika.BlockingConnection(params)
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()
        self.confirmed = 0
        self.pika = pika

    def publish(self, topic: str, body: bytes) -> None:
        self.channel.basic_publish("amq.topic", mqtt_to_routing_key(topic), body,
                                   self.pika.BasicProperties(content_type="application/json",
                                                             delivery_mode=2))
        self.confirmed += 1  # confirm_delivery makes basic_publish wait for the broker's ack

    def wait(self, seconds: float) -> None:
        self.connection.sleep(seconds)

    def close(self) -> int:
        self.connection.close()
        return self.confirmed


@dataclass
class Summary:
    sent: int
    confirmed: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        return (f"sent {self.sent}, confirmed by the broker {self.confirmed}, "
                f"in {self.seconds:.2f}s ({self.rate:.0f} msg/s)")


def run(publisher: Publisher, sensors: list[str], count: int, rate: float, topic: str,
        progress: bool = False, seed: int | None = None, stamp: bool = False) -> Summary:
    """Publishes `count` readings round-robin over `sensors` at `rate` msg/s (0: flat out).

    `stamp` adds "sent_ns" (time.monotonic_ns) to each reading, for latency measurements.
    """
    rng = random.Random(seed)
    start = time.monotonic()
    last_shown = 0.0
    cycle = itertools.cycle(sensors)
    for i in range(count):
        if rate > 0:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                publisher.wait(delay)
        reading = make_reading(next(cycle), rng, seq=i)
        if stamp:
            reading["sent_ns"] = time.monotonic_ns()
        publisher.publish(topic, json.dumps(reading).encode())
        now = time.monotonic()
        if progress and (now - last_shown > 0.25 or i + 1 == count):
            last_shown = now
            print(f"\rpublished {i + 1}/{count} ({(i + 1) / max(now - start, 1e-9):.0f} msg/s)",
                  end="", file=sys.stderr, flush=True)
    confirmed = publisher.close()
    if progress:
        print(file=sys.stderr)
    return Summary(count, confirmed, time.monotonic() - start)


def _stack_outputs(stack: str) -> dict[str, str]:
    # Through scripts/pulumi, so the project's local state and passphrase are found.
    wrapper = Path(__file__).resolve().parent.parent / "scripts" / "pulumi"
    out = subprocess.run([str(wrapper), "stack", "output", "--json", "--show-secrets",
                          "--stack", stack], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"cannot read the outputs of stack {stack}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stack", help="read host, port and credentials from this stack's outputs")
    ap.add_argument("--protocol", choices=("mqtt", "amqp"), default="mqtt")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, help="default 1883 (mqtt) or 5672 (amqp)")
    ap.add_argument("--username", default="iot")
    ap.add_argument("--count", type=int, default=10, help="readings to publish (default 10)")
    ap.add_argument("--rate", type=float, default=1.0, help="readings per second; 0: flat out")
    ap.add_argument("--sensors", default="sensor-1", help="comma-separated sensor ids")
    ap.add_argument("--qos", type=int, choices=(0, 1), default=1, help="MQTT QoS (default 1)")
    ap.add_argument("--topic", default=MQTT_TOPIC, help=f"MQTT topic (default {MQTT_TOPIC})")
    ap.add_argument("--quiet", action="store_true", help="no progress line")
    args = ap.parse_args(argv)

    if args.stack:
        ep = endpoint_from_outputs(_stack_outputs(args.stack), args.protocol)
    else:
        password = os.environ.get(PASSWORD_ENV)
        if password is None:
            if not sys.stdin.isatty():
                ap.error(f"set {PASSWORD_ENV} or use --stack: no terminal to ask for the password")
            password = getpass.getpass(f"broker password for {args.username}: ")
        port = args.port or (1883 if args.protocol == "mqtt" else 5672)
        ep = Endpoint(args.protocol, args.host, port, args.username, password)

    sensors = [s.strip() for s in args.sensors.split(",") if s.strip()]
    try:
        publisher: Publisher = (MqttPublisher(ep, args.qos, f"device-sim-{os.getpid()}")
                                if ep.protocol == "mqtt" else AmqpPublisher(ep))
    except Exception as e:  # connection problems: say where, not a traceback
        print(f"cannot connect to {ep!r}: {e}", file=sys.stderr)
        return 1
    summary = run(publisher, sensors, args.count, args.rate, args.topic,
                  progress=not args.quiet and sys.stderr.isatty())
    print(f"{ep.protocol} {ep.host}:{ep.port} topic {args.topic}: {summary}")
    return 0 if summary.confirmed >= summary.sent or args.qos == 0 else 2


if __name__ == "__main__":
    sys.exit(main())
