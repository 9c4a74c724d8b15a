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
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stacks.rabbitmq_config import AMQP_PORT, MQTT_PORT  # noqa: E402  (after the path insert)
from stacks.secret import Secret  # noqa: E402
from tests.local_broker import Broker, free_port, write_broker_files  # noqa: E402

QUEUE = "bench-temperature-logger"
TOPIC = "iot/sensors/temperature"


def start_broker(image: str) -> tuple[str, Broker]:
    password = secrets.token_urlsafe(18)
    addr = Broker("127.0.0.1", free_port(), free_port(), "iot", password)
    mounts = []
    for spec in write_broker_files(Path(tempfile.mkdtemp(prefix="bench-broker-")),
                                   addr.username, Secret(password)):
        mounts += ["-v", spec]
    name = f"iot-faas-bench-{os.getpid()}"
    subprocess.run(["docker", "run", "-d", "--rm", "--name", name, "--hostname", "rabbitmq",
                    "-p", f"127.0.0.1:{addr.amqp_port}:{AMQP_PORT}",
                    "-p", f"127.0.0.1:{addr.mqtt_port}:{MQTT_PORT}", *mounts, image],
                   check=True, capture_output=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if addr.answers():
            return name, addr
        time.sleep(1)
    raise SystemExit(f"broker in container {name} did not start")


def consumer(addr: Broker, with_handler: bool, expect: int, ready, results) -> None:
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
            if isinstance(h, logging.StreamHandler):
                h.setStream(open(os.devnull, "w"))
        sink.propagate = False
        logger_module = load_handler("temperature-logger")

        def handler(path: str, body: bytes) -> None:
            platform.call_handler(logger_module.handler, nuclio_sdk.Event(body=body, path=path))

    conn = addr.amqp()
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
        # One ack per 100 messages (and the last): acking is per message in Nuclio's Go
        # trigger, where it is cheap; in this Python stand-in it would be the bottleneck.
        if len(latencies) % 100 == 0 or len(latencies) >= expect:
            ch.basic_ack(method.delivery_tag, multiple=True)
        if len(latencies) >= expect:
            ch.stop_consuming()

    channel.basic_consume(QUEUE, on_message)
    cpu0 = time.process_time()
    ready.set()
    channel.start_consuming()
    cpu = time.process_time() - cpu0
    conn.close()
    results.put((first, last, latencies, cpu))


def publish(addr: Broker, count: int, rate: float) -> float:
    """Publishes `count` readings as the device simulator does (MQTT QoS 1); returns when
    the broker has acked them all."""
    from tools.device_simulator import Endpoint, MqttPublisher, run

    ep = Endpoint("mqtt", addr.host, addr.mqtt_port, addr.username, addr.password)
    publisher = MqttPublisher(ep, qos=1, client_id=f"bench-{time.time_ns()}")
    sensors = [f"bench-{i}" for i in range(10)]
    summary = run(publisher, sensors, count, rate, TOPIC, stamp=True)
    if summary.confirmed < count:
        raise SystemExit(f"only {summary.confirmed} of {count} publishes were acked")
    return summary.seconds


@dataclass
class Case:
    throughput: float  # msg/s from the first publish to the last message handled
    latencies: list[int]  # ns, publish -> handled
    cpu_us: dict[str, float]  # CPU microseconds per message: publisher, broker, consumer


def container_cpu_seconds(name: str) -> float:
    """CPU time used so far by every process of a container (read from /proc)."""
    top = subprocess.run(["docker", "top", name, "-o", "pid"], capture_output=True, text=True)
    total = 0.0
    for pid in top.stdout.split()[1:]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run_case(addr: Broker, container: str, with_handler: bool, count: int, rate: float
             ) -> Case:
    conn = addr.amqp()
    ch = conn.channel()
    # Durable, as the temperature-logger's trigger declares it (durableQueue: true).
    ch.queue_declare(QUEUE, durable=True)
    ch.queue_bind(QUEUE, "amq.topic", "iot.sensors.temperature")
    ch.queue_purge(QUEUE)
    conn.close()
    ctx = mp.get_context("spawn")
    ready, results = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=consumer, args=(addr, with_handler, count, ready, results))
    proc.start()
    ready.wait(60)
    broker0, cpu0 = container_cpu_seconds(container), time.process_time()
    t0 = time.monotonic_ns()
    publish(addr, count, rate)
    publisher_cpu = time.process_time() - cpu0
    first, last, latencies, consumer_cpu = results.get(timeout=600)
    broker_cpu = container_cpu_seconds(container) - broker0
    proc.join(30)
    per_msg = {"publisher": publisher_cpu, "broker": broker_cpu, "consumer": consumer_cpu}
    return Case(count / ((last - t0) / 1e9), latencies,
                {k: v / count * 1e6 for k, v in per_msg.items()})


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
        rows: dict[str, tuple[Case, Case]] = {}
        for label, with_handler in (("raw broker", False), ("with handler", True)):
            run_case(addr, name, with_handler, 2000, 0)  # warm-up
            saturated = run_case(addr, name, with_handler, args.messages, 0)
            paced = run_case(addr, name, with_handler, int(args.rate * args.seconds), args.rate)
            rows[label] = (saturated, paced)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)

    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"machine: {os.cpu_count()} cores, {memory_gib:.0f} GiB; "
          f"image {args.image}")
    print(f"saturation: {args.messages} msgs flat out; latency: {args.rate:.0f} msg/s for "
          f"{args.seconds:.0f}s; CPU us/msg at saturation (publisher, broker, consumer share "
          "the cores)")
    print(f"{'path':<14} {'msg/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'pub us':>7} "
          f"{'broker us':>9} {'cons us':>8}")
    for label, (sat, paced) in rows.items():
        cpu = sat.cpu_us
        print(f"{label:<14} {sat.throughput:>7.0f} {pct(paced.latencies, 50):>7.2f} "
              f"{pct(paced.latencies, 99):>7.2f} {cpu['publisher']:>7.0f} {cpu['broker']:>9.0f} "
              f"{cpu['consumer']:>8.0f}")
    ratio = rows["with handler"][0].throughput / rows["raw broker"][0].throughput
    print(f"handler / raw throughput: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
