"""Docker label arguments in the shape each pulumi-docker resource wants."""
from __future__ import annotations

from collections.abc import Mapping

import pulumi_docker as docker


def container_labels(labels: Mapping[str, str]) -> list[docker.ContainerLabelArgs]:
    return [docker.ContainerLabelArgs(label=k, value=v) for k, v in sorted(labels.items())]


def network_labels(labels: Mapping[str, str]) -> list[docker.NetworkLabelArgs]:
    return [docker.NetworkLabelArgs(label=k, value=v) for k, v in sorted(labels.items())]


def volume_labels(labels: Mapping[str, str]) -> list[docker.VolumeLabelArgs]:
    return [docker.VolumeLabelArgs(label=k, value=v) for k, v in sorted(labels.items())]
