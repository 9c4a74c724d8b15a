"""iot-faas: a self-hosted FaaS platform for IoT on Docker (RabbitMQ + MQTT, Nuclio)."""
from pathlib import Path

import pulumi

from stacks.platform import Platform, load_config, load_functions

# Everything is validated first, so bad input stops the preview before any resource.
config = load_config()
functions = load_functions(config, Path(__file__).parent / "functions")
platform = Platform(config, functions)

for key, value in platform.outputs.items():
    pulumi.export(key, value)
