"""Helpers to run a local RabbitMQ configured exactly like the stack's (tests, benchmark)."""
from __future__ import annotations

import socket
from pathlib import Path

from stacks.rabbitmq_config import broker_files
from stacks.secret import Secret


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
