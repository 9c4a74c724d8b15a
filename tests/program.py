"""Runs the real __main__.py under Pulumi's mocks and records what it declares."""
from __future__ import annotations

import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
import yaml
from pulumi.runtime.sync_await import _sync_await

ROOT = Path(__file__).resolve().parent.parent
SECRET_SIG = pulumi.runtime.rpc._special_secret_sig  # the marker a secret input carries
SIG_KEY = pulumi.runtime.rpc._special_sig_key


@dataclass
class Declared:
    typ: str
    name: str
    inputs: dict[str, Any]


@dataclass
class ProgramRun:
    resources: list[Declared] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)

    def of_type(self, typ: str) -> list[Declared]:
        return [r for r in self.resources if r.typ == typ]

    def one(self, typ: str, name: str) -> Declared:
        found = [r for r in self.resources if r.typ == typ and r.name == name]
        assert len(found) == 1, f"{typ} {name}: {[(r.typ, r.name) for r in self.resources]}"
        return found[0]


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, run: ProgramRun) -> None:
        self.run = run

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        self.run.resources.append(Declared(args.typ, args.name, args.inputs))
        outputs = dict(args.inputs)
        if args.typ == "docker:index/remoteImage:RemoteImage":
            outputs["imageId"] = f"sha256:{args.name}"
        if args.typ.startswith("pulumi-python:dynamic"):
            outputs["state"] = "ready"
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        return {}, None


def stack_config(stack: str) -> dict[str, Any]:
    """The config a stack file sets, as Pulumi passes it (key -> string)."""
    data = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()) or {}
    out = {}
    for key, value in (data.get("config") or {}).items():
        out[key] = value if isinstance(value, str) else json.dumps(value)
    return out


def run_program(stack: str, config: dict[str, Any], secret_keys: list[str],
                run: ProgramRun | None = None) -> ProgramRun:
    """Runs __main__.py for `stack` with `config` (full keys, e.g. iot-faas:amqpPort).

    Pass `run` to inspect what was declared even when the program raises.
    """
    run = run if run is not None else ProgramRun()
    exported: dict[str, Any] = {}
    pulumi.runtime.set_mocks(RecordingMocks(run), project="iot-faas", stack=stack,
                             preview=False)
    pulumi.runtime.set_all_config(config, secret_keys)

    @pulumi.runtime.test
    def program() -> pulumi.Output:
        with mock.patch("pulumi.export", lambda k, v: exported.__setitem__(k, v)):
            runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
        return pulumi.Output.all(*[pulumi.Output.from_input(v) for v in exported.values()])

    program()

    async def collect() -> None:
        for key, value in exported.items():
            out = pulumi.Output.from_input(value)
            run.outputs[key] = await out.future()
            if await out.is_secret():
                run.secret_outputs.add(key)

    _sync_await(collect())
    return run


def plain_occurrences(value: Any, needle: str, path: str = "") -> list[str]:
    """Paths in a mock's inputs where `needle` appears outside a secret wrapper."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return []
        found = []
        for k, v in value.items():
            found += plain_occurrences(v, needle, f"{path}.{k}")
        return found
    if isinstance(value, list):
        found = []
        for i, v in enumerate(value):
            found += plain_occurrences(v, needle, f"{path}[{i}]")
        return found
    return [path or "(value)"] if isinstance(value, str) and needle in value else []


def unwrap(value: Any) -> Any:
    """The value with secret wrappers removed (to assert on what a secret holds)."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return unwrap(value["value"])
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value
