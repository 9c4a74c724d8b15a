"""Benchmark: device -> MQTT QoS 1 -> RabbitMQ -> handler, beside the raw broker path.

    python -m bench.pipeline [--image IMAGE] [--messages 20000] [--rate 1000] [--seconds 5]

Starts a RabbitMQ container configured by the stack's own rendering code (image from
--image or $RABBITMQ_IMAGE), publishes readings over MQTT QoS 1 from this process, and
consumes them in a second process from a queue bound as Nuclio's rabbit-mq trigger binds
it: once handing each message to the temperature-logger handler (nuclio-sdk test
platform, logs discarded), once without a handler (raw). Prints throughput at saturation
and p50/p99 latency at a fixed rate, with the handler/raw ratio. Not a test: figures vary
with the machine.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUEUE = "bench-temperature-logger"
TOPIC = "iot/sensors/temperature"


@dataclass(frozen=True)
class BrokerAddr:
    host: str
    amqp_port: int
    mqtt_port: int
    user: str
    password: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(image: str) -> tuple[str, BrokerAddr]:
    from stacks.rabbitmq_config import AMQP_PORT, MQTT_PORT, broker_files
    from stacks.secret import Secret

    password = secrets.token_urlsafe(18)
    addr = BrokerAddr("127.0.0.1", free_port(), free_port(), "iot", password)
    conf_dir = Path(tempfile.mkdtemp(prefix="bench-broker-"))
    mounts = []
    for i, f in enumerate(broker_files(addr.user, Secret(password))):
        local = conf_dir / f"file-{i}"
        local.write_text(f.content)
        local.chmod(0o644)
        mounts += ["-v", f"{local}:{f.path}:ro"]
    name = f"iot-faas-bench-{os.getpid()}"
    subprocess.run(["docker", "run", "-d", "--rm", "--name", name, "--hostname", "rabbitmq",
                    "-p", f"127.0.0.1:{addr.amqp_port}:{AMQP_PORT}",
                    "-p", f"127.0.0.1:{addr.mqtt_port}:{MQTT_PORT}", *mounts, image],
                   check=True, capture_output=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            amqp(addr).close()
            with socket.create_connection((addr.host, addr.mqtt_port), timeout=1):
                return name, addr
        except Exception:
            time.sleep(1)
    raise SystemExit(f"broker in container {name} did not start")


def amqp(addr: BrokerAddr):
    import pika

    return pika.BlockingConnection(pika.ConnectionParameters(
        addr.host, addr.amqp_port, credentials=pika.PlainCredentials(addr.user, addr.password)))


def consumer(addr: BrokerAddr, with_handler: bool, expect: int, ready, results) -> None:
    """Second process: consume `expect` messages, optionally through the handler."""
    handler = None
    if with_handler:
        import logging

        import nuclio_sdk
        from nuclio_sdk.test import Platform

        from tests.handlers import NUCLIO_LOGGER, load_handler

        platform = Platform()
        # The log lines are formatted and written as in a function, then thrown away.
        sink = logging.getLogger(NUCLIO_LOGGER)
        for h in sink.handlers:
            h.setStream(open(os.devnull, "w"))
        sink.propagate = False
        logger_module = load_handler("temperature-logger")

        def handler(path: str, body: bytes) -> None:
            platform.call_handler(logger_module.handler, nuclio_sdk.Event(body=body, path=path))

    conn = amqp(addr)
    channel = conn.channel()
    channel.basic_qos(prefetch_count=1000)
    latencies: list[int] = []
    first = last = 0

    def on_message(ch, method, _props, body) -> None:
        nonlocal first, last
        if handler is not None:
            handler(f"{method.exchange}/{method.routing_key}", body)
        now = time.monotonic_ns()
        if not latencies:
            first = now
        last = now
        latencies.append(now - json.loads(body)["sent_ns"])
        ch.basic_ack(method.delivery_tag)
        if len(latencies) >= expect:
            ch.stop_consuming()

    channel.basic_consume(QUEUE, on_message)
    ready.set()
    channel.start_consuming()
    conn.close()
    results.put((first, last, latencies))


def publish(addr: BrokerAddr, count: int, rate: float) -> float:
    """Publishes `count` readings over MQTT QoS 1; returns when all are acked."""
    import paho.mqtt.client as mqtt

    acked = 0

    def on_publish(*_args) -> None:
        nonlocal acked
        acked += 1

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{time.time_ns()}")
    client.username_pw_set(addr.user, addr.password)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    client.connect(addr.host, addr.mqtt_port)
    client.loop_start()
    while not client.is_connected():
        time.sleep(0.01)
    start = time.monotonic()
    for i in range(count):
        if rate:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        body = {"sensor_id": f"bench-{i % 10}", "temperature": 20.0 + (i % 100) / 10,
                "unit": "C", "timestamp": "2026-12-03T10:00:00.000Z",
                "sent_ns": time.monotonic_ns()}
        client.publish(TOPIC, json.dumps(body), qos=1)
    while acked < count:
        time.sleep(0.005)
    elapsed = time.monotonic() - start
    client.disconnect()
    client.loop_stop()
    return elapsed


def run_case(addr: BrokerAddr, with_handler: bool, count: int, rate: float
             ) -> tuple[float, list[int]]:
    conn = amqp(addr)
    ch = conn.channel()
    ch.queue_declare(QUEUE, durable=True)
    ch.queue_bind(QUEUE, "amq.topic", "iot.sensors.temperature")
    ch.queue_purge(QUEUE)
    conn.close()
    ctx = mp.get_context("spawn")
    ready, results = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=consumer, args=(addr, with_handler, count, ready, results))
    proc.start()
    ready.wait(60)
    t0 = time.monotonic_ns()
    publish(addr, count, rate)
    first, last, latencies = results.get(timeout=600)
    proc.join(30)
    throughput = count / ((last - t0) / 1e9)
    return throughput, latencies


def pct(values: list[int], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] / 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description="device -> MQTT -> RabbitMQ -> handler benchmark")
    ap.add_argument("--image", default=os.environ.get("RABBITMQ_IMAGE", "rabbitmq:4.2-management"))
    ap.add_argument("--messages", type=int, default=20000, help="for the saturation run")
    ap.add_argument("--rate", type=float, default=1000.0, help="msg/s for the latency run")
    ap.add_argument("--seconds", type=float, default=5.0, help="length of the latency run")
    args = ap.parse_args()

    name, addr = start_broker(args.image)
    try:
        rows = {}
        for label, with_handler in (("raw broker", False), ("with handler", True)):
            run_case(addr, with_handler, 2000, 0)  # warm-up
            tput, _ = run_case(addr, with_handler, args.messages, 0)
            _, lat = run_case(addr, with_handler, int(args.rate * args.seconds), args.rate)
            rows[label] = (tput, pct(lat, 50), pct(lat, 99))
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)

    print(f"machine: {os.cpu_count()} cores; image {args.image}; "
          f"{args.messages} msgs at saturation; {args.rate:.0f} msg/s for {args.seconds:.0f}s")
    print(f"{'path':<14} {'msg/s (sat.)':>13} {'p50 ms':>8} {'p99 ms':>8}")
    for label, (tput, p50, p99) in rows.items():
        print(f"{label:<14} {tput:>13.0f} {p50:>8.2f} {p99:>8.2f}")
    ratio = rows["with handler"][0] / rows["raw broker"][0]
    print(f"handler / raw throughput: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
