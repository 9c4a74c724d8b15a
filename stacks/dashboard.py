"""The Nuclio dashboard on Docker: it builds and runs function containers via the socket."""
from __future__ import annotations

import pulumi
import pulumi_docker as docker

from stacks.config import PlatformConfig
from stacks.labels import container_labels
from stacks.naming import StackNames

DASHBOARD_PORT = 8070
DOCKER_SOCKET = "/var/run/docker.sock"


def dashboard_env(cfg: PlatformConfig, names: StackNames) -> list[str]:
    return [
        # The address put into invocation URLs; Nuclio's default 172.17.0.1 is wrong on
        # many hosts (nuclio#952, #2530).
        f"NUCLIO_DASHBOARD_EXTERNAL_IP_ADDRESSES={cfg.public_host}",
        # Marks dead function containers unhealthy instead of a stale "ready" (nuclio#1668).
        "NUCLIO_CHECK_FUNCTION_CONTAINERS_HEALTHINESS=true",
        f"NUCLIO_DASHBOARD_NAMESPACE={names.nuclio_namespace}",
    ]


class NuclioDashboard(pulumi.ComponentResource):
    container: docker.Container
    url: pulumi.Output[str]

    def __init__(self, cfg: PlatformConfig, names: StackNames, network: docker.Network,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("iot-faas:platform:NuclioDashboard", "nuclio", None, opts)
        child = pulumi.ResourceOptions(parent=self)

        image = docker.RemoteImage("nuclio-dashboard-image", name=cfg.nuclio_image,
                                   keep_locally=True, opts=child)
        self.container = docker.Container(
            "nuclio-dashboard",
            name=names.part("nuclio-dashboard"),
            image=image.image_id,
            restart="unless-stopped",
            envs=dashboard_env(cfg, names),
            labels=container_labels(names.labels),
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network.name)],
            ports=[docker.ContainerPortArgs(internal=DASHBOARD_PORT, external=cfg.dashboard_port,
                                            ip=cfg.bind_address, protocol="tcp")],
            # Root-equivalent on the host: the dashboard builds and runs containers.
            volumes=[docker.ContainerVolumeArgs(host_path=DOCKER_SOCKET,
                                                container_path=DOCKER_SOCKET)],
            opts=child,
        )
        # Composed from config, not from container outputs, so a preview shows it.
        self.url = pulumi.Output.from_input(f"http://{cfg.public_host}:{cfg.dashboard_port}")
        self.register_outputs({"url": self.url})
