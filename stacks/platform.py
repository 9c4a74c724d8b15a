"""Wires the whole platform for one stack: network, broker, dashboard, functions, outputs."""
from __future__ import annotations

from pathlib import Path

import pulumi

from stacks.broker import Broker
from stacks.config import PROJECT, PlatformConfig, parse_config, project_keys
from stacks.dashboard import NuclioDashboard
from stacks.errors import ConfigError
from stacks.function_folder import FunctionFolder, discover, folder_names
from stacks.function_render import BrokerAccess, FunctionTarget, render_function, secrets_of
from stacks.naming import StackNames
from stacks.network import stack_network
from stacks.nuclio_function import NuclioFunction, NuclioFunctionArgs
from stacks.rabbitmq_config import MQTT_EXCHANGE


def load_config() -> PlatformConfig:
    """Reads and validates this stack's config through Pulumi's config API."""
    cfg = pulumi.Config(PROJECT)
    # Every key Pulumi passed in (not only the known ones), so a typo is reported instead
    # of silently ignored. Pulumi's Python host fills CONFIG from PULUMI_CONFIG.
    all_keys = set(pulumi.runtime.config.CONFIG.get()) | set(
        pulumi.runtime.config.get_config_env())
    raw = {k: cfg.get(k) for k in project_keys(all_keys)}
    raw = {k: v for k, v in raw.items() if v is not None}
    secret = frozenset(k for k in raw if pulumi.runtime.is_config_secret(f"{PROJECT}:{k}"))
    return parse_config(pulumi.get_stack(), raw, secret)


def load_functions(cfg: PlatformConfig, functions_dir: Path) -> list[FunctionFolder]:
    folders = discover(functions_dir, cfg.functions)
    known = set(folder_names(functions_dir))
    unknown = sorted(set(cfg.function_env) - known)
    if unknown:
        raise ConfigError(f"Stack '{cfg.stack}' has invalid configuration:", [
            f"{PROJECT}:functionEnv names function '{fn}', which is not a folder in "
            f"{functions_dir}. Fix: correct or remove that entry in Pulumi.{cfg.stack}.yaml"
            for fn in unknown])
    return folders


class Platform:
    """Declares every resource of a stack; validated inputs only, so nothing half-creates."""

    def __init__(self, cfg: PlatformConfig, functions: list[FunctionFolder]) -> None:
        names = StackNames(cfg.stack)
        self.network = stack_network(names)
        self.broker = Broker(cfg, names, self.network)
        self.dashboard = NuclioDashboard(cfg, names, self.network)

        target = FunctionTarget(names, BrokerAccess(cfg.rabbitmq_user, cfg.rabbitmq_password),
                                cfg.function_env)
        self.functions: dict[str, NuclioFunction] = {}
        for folder in functions:
            self.functions[folder.name] = NuclioFunction(
                folder.name,
                NuclioFunctionArgs(
                    name=folder.name, namespace=names.nuclio_namespace,
                    project=names.nuclio_project,
                    dashboard_url=self.dashboard.url,
                    config=render_function(folder, target),
                    redact=secrets_of(target),
                    deploy_timeout=cfg.function_deploy_timeout,
                    dashboard_wait_timeout=cfg.dashboard_wait_timeout,
                ),
                # Triggers connect at start: the broker must be healthy, the network there.
                opts=pulumi.ResourceOptions(depends_on=[self.broker.container,
                                                        self.dashboard.container,
                                                        self.network]),
            )

        password = pulumi.Output.secret(cfg.rabbitmq_password.reveal())
        host = cfg.public_host
        self.outputs: dict[str, pulumi.Input[object]] = {
            "dashboardUrl": self.dashboard.url,
            "mqttEndpoint": f"mqtt://{host}:{cfg.mqtt_port}",
            "mqttUsername": cfg.rabbitmq_user,
            "mqttPassword": password,
            "amqpUrl": pulumi.Output.concat("amqp://", cfg.rabbitmq_user, ":", password, "@",
                                            host, f":{cfg.amqp_port}"),
            "managementUrl": f"http://{host}:{cfg.management_port}",
            "mqttExchange": MQTT_EXCHANGE,
            "networkName": self.network.name,
            "nuclioNamespace": names.nuclio_namespace,
            "functions": {name: fn.state for name, fn in self.functions.items()},
        }
