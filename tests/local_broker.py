"""Helpers to run a local RabbitMQ configured exactly like the stack's (tests, benchmark)."""
from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

import pika

from stacks.rabbitmq_config import broker_files
from stacks.secret import Secret


@dataclass(frozen=True)
class Broker:
    """Where a local broker listens and how to log in."""

    host: str
    amqp_port: int
    mqtt_port: int
    username: str
    password: str

    @property
    def amqp_url(self) -> str:
        return f"amqp://{self.username}:{self.password}@{self.host}:{self.amqp_port}"

    def amqp(self) -> pika.BlockingConnection:
        return pika.BlockingConnection(pika.ConnectionParameters(
            self.host, self.amqp_port,
            credentials=pika.PlainCredentials(self.username, self.password)))

    def answers(self) -> bool:
        """True once AMQP logs in and the MQTT listener accepts connections."""
        try:
            self.amqp().close()
            with socket.create_connection((self.host, self.mqtt_port), timeout=1):
                return True
        except Exception:  # not up yet: refused, reset, or the node still booting
            return False


def write_broker_files(directory: Path, user: str, password: Secret) -> list[str]:
    """Writes the files the stack uploads; returns `local:container:ro` mount specs."""
    mounts = []
    for i, f in enumerate(broker_files(user, password)):
        local = directory / f"file-{i}"
        local.write_text(f.content)
        local.chmod(0o644)  # the broker runs as its own user inside the container
        mounts.append(f"{local}:{f.path}:ro")
    return mounts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
