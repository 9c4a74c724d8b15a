"""The stack's private Docker network: broker, dashboard and function containers join it."""
from __future__ import annotations

import pulumi
import pulumi_docker as docker

from stacks.labels import network_labels
from stacks.naming import StackNames


def stack_network(names: StackNames, opts: pulumi.ResourceOptions | None = None) -> docker.Network:
    # A user-defined bridge gives containers DNS by name and alias (rabbitmq).
    return docker.Network(
        "network",
        name=names.network,
        driver="bridge",
        labels=network_labels(names.labels),
        opts=opts,
    )
