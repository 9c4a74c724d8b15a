"""RabbitMQ with the MQTT plugin, as Docker resources wired from rendered config files."""
from __future__ import annotations

import pulumi
import pulumi_docker as docker

from stacks import rabbitmq_config as rc
from stacks.config import PlatformConfig
from stacks.labels import container_labels, volume_labels
from stacks.naming import BROKER_ALIAS, StackNames


class Broker(pulumi.ComponentResource):
    """RemoteImage + data Volume + Container (healthy before anything depends on it)."""

    container: docker.Container

    def __init__(self, cfg: PlatformConfig, names: StackNames, network: docker.Network,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("iot-faas:platform:Broker", "broker", None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # keep_locally: another stack on this host may use the same image.
        image = docker.RemoteImage("rabbitmq-image", name=cfg.rabbitmq_image,
                                   keep_locally=True, opts=child)

        # Durable queues and users survive container replacement.
        data = docker.Volume("rabbitmq-data", name=names.part("rabbitmq-data"),
                             labels=volume_labels(names.labels), opts=child)

        uploads = [
            docker.ContainerUploadArgs(
                file=f.path,
                # The conf file holds the password: keep the whole upload secret in state.
                content=pulumi.Output.secret(f.content) if f.secret else f.content,
            )
            for f in rc.broker_files(cfg.rabbitmq_user, cfg.rabbitmq_password)
        ]
        # Sorted by container port: the docker provider reads ports back in that order
        # (terraform-provider-docker's flattenContainerPorts), so any other order would show
        # as a change on every `pulumi up`.
        published = sorted([(rc.AMQP_PORT, cfg.amqp_port), (rc.MQTT_PORT, cfg.mqtt_port),
                            (rc.MANAGEMENT_PORT, cfg.management_port)])

        self.container = docker.Container(
            "rabbitmq",
            name=names.part("rabbitmq"),
            image=image.image_id,
            # RabbitMQ keeps its data under its node name rabbit@<hostname>: a fixed
            # hostname keeps the volume's queues after the container is replaced.
            hostname=BROKER_ALIAS,
            restart="unless-stopped",
            labels=container_labels(names.labels),
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(
                name=network.name, aliases=[BROKER_ALIAS])],
            ports=[docker.ContainerPortArgs(internal=inside, external=outside,
                                            ip=cfg.bind_address, protocol="tcp")
                   for inside, outside in published],
            uploads=uploads,
            volumes=[docker.ContainerVolumeArgs(volume_name=data.name,
                                                container_path=rc.DATA_DIR)],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=list(rc.HEALTHCHECK.tests), interval=rc.HEALTHCHECK.interval,
                timeout=rc.HEALTHCHECK.timeout, start_period=rc.HEALTHCHECK.start_period,
                retries=rc.HEALTHCHECK.retries),
            # Dependents (functions) start only once every listener answers.
            wait=True,
            wait_timeout=240,
            opts=child,
        )
        self.register_outputs({"container": self.container.name})
