"""Names and labels of everything a stack creates, so two stacks share one Docker host."""
from __future__ import annotations

from dataclasses import dataclass

from stacks.config import PROJECT

LABEL_PROJECT = "io.iot-faas.project"
LABEL_STACK = "io.iot-faas.stack"
# The alias functions and devices inside the network use for the broker.
BROKER_ALIAS = "rabbitmq"


@dataclass(frozen=True)
class StackNames:
    stack: str
    project: str = PROJECT

    @property
    def prefix(self) -> str:
        return f"{self.project}-{self.stack}"

    @property
    def network(self) -> str:
        return self.prefix

    def part(self, name: str) -> str:
        """Docker object name for one part of the stack, e.g. iot-faas-dev-rabbitmq."""
        return f"{self.prefix}-{name}"

    @property
    def labels(self) -> dict[str, str]:
        return {LABEL_PROJECT: self.project, LABEL_STACK: self.stack}

    @property
    def nuclio_namespace(self) -> str:
        # Nuclio names function containers nuclio-<namespace>-<name> and keeps one store per
        # Docker host: a namespace per stack keeps two stacks' functions apart.
        return self.prefix

    @property
    def nuclio_project(self) -> str:
        return self.project

    def mqtt_client_id(self, function: str, trigger: str) -> str:
        # MQTT brokers drop the older session when a client id connects twice.
        return f"{self.prefix}-{function}-{trigger}"
