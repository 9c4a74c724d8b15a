"""A real RabbitMQ in Docker (pytest-docker), configured by the stack's own rendering code.

Without Docker these tests skip on a laptop; under CI=true they fail instead, so a
skipped integration suite never looks green in CI.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from stacks.rabbitmq_config import AMQP_PORT, HEALTHCHECK, MQTT_PORT
from stacks.secret import Secret
from tests.local_broker import Broker, free_port, write_broker_files

HERE = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"integration suite cannot run under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def broker_credentials() -> tuple[str, Secret]:
    return "iot", Secret(secrets.token_urlsafe(18))


@pytest.fixture(scope="session")
def docker_compose_command() -> str:
    if shutil.which("docker") is None:
        _unavailable("the docker command is not installed")
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        _unavailable("no Docker engine answers `docker info`")
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return "docker compose"
    if shutil.which("docker-compose"):
        return "docker-compose"  # Debian's compose v1
    _unavailable("neither `docker compose` nor `docker-compose` is installed")
    return ""


@pytest.fixture(scope="session")
def docker_setup(docker_compose_command: str) -> list[str]:
    # Compose v1 has no --wait: wait_until_responsive below does the waiting.
    return ["up --build -d"]


@pytest.fixture(scope="session")
def docker_compose_file(tmp_path_factory: pytest.TempPathFactory,
                        broker_credentials: tuple[str, Secret]) -> list[str]:
    """The compose file plus an override mounting the files the stack would upload."""
    image = os.environ.get("RABBITMQ_IMAGE", "rabbitmq:4.2-management")
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode:
        if IN_CI:
            pytest.fail(f"image {image} is missing: .ci/run builds it with "
                        "scripts/build-rabbitmq-image.sh", pytrace=False)
    for var in ("IOT_FAAS_TEST_AMQP_PORT", "IOT_FAAS_TEST_MQTT_PORT",
                "IOT_FAAS_TEST_MANAGEMENT_PORT"):
        os.environ.setdefault(var, str(free_port()))
    config_dir = tmp_path_factory.mktemp("broker-config")
    user, password = broker_credentials
    mounts = write_broker_files(config_dir, user, password)
    override = config_dir / "broker-config.yml"
    health = HEALTHCHECK
    override.write_text(yaml.safe_dump({"version": "2.4", "services": {"rabbitmq": {
        "volumes": mounts,
        # The healthcheck `pulumi up` waits on (wait=True), as the stack declares it.
        "healthcheck": {"test": list(health.tests), "interval": health.interval,
                        "timeout": health.timeout, "start_period": health.start_period,
                        "retries": health.retries}}}}))
    return [str(HERE.parent / "docker-compose.yml"), str(override)]


@pytest.fixture(scope="session")
def broker(docker_ip: str, docker_services: object,
           broker_credentials: tuple[str, Secret]) -> Iterator[Broker]:
    user, password = broker_credentials
    b = Broker(docker_ip, docker_services.port_for("rabbitmq", AMQP_PORT),
               docker_services.port_for("rabbitmq", MQTT_PORT), user, password.reveal())
    wait_until_ready(docker_services, b)
    yield b


def wait_until_ready(docker_services: object, b: Broker, timeout: float = 120.0) -> None:
    docker_services.wait_until_responsive(check=b.answers, timeout=timeout, pause=1.0)


@pytest.fixture
def restart_broker(docker_services: object, broker: Broker):
    def restart() -> None:
        docker_services._docker_compose.execute("restart rabbitmq")
    return restart
