"""Discovers functions/<name>/ folders and validates them before anything is deployed.

Each folder holds a `function.yaml` in Nuclio's own format and the handler module. Every
problem is reported with the file, the field, what was found and what to write instead.
"""
from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stacks.errors import FunctionFolderError

FUNCTION_FILE = "function.yaml"
# Nuclio 1.14's Python runtimes (pkg/functionconfig; 3.12 is not in 1.14).
RUNTIMES = ("python:3.9", "python:3.10", "python:3.11")
BROKER_KINDS = ("rabbit-mq", "mqtt")
TRIGGER_KINDS = ("cron", "http", "mqtt", "rabbit-mq")
# Names users reach for that Nuclio does not know (nuclio#1852: "rabbitmq" fails).
KIND_ALIASES = {"rabbitmq": "rabbit-mq", "rabbit": "rabbit-mq", "amqp": "rabbit-mq",
                "rabbit_mq": "rabbit-mq", "mqtt3": "mqtt", "schedule": "cron", "timer": "cron"}
# The stack fills these in; in the folder they would be hard-coded per environment.
STACK_OWNED_TRIGGER_KEYS = ("url", "username", "password")
_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
_HANDLER_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):([A-Za-z_][A-Za-z0-9_]*)$")


@dataclass(frozen=True)
class FunctionFolder:
    name: str
    path: Path
    config: dict[str, Any]  # function.yaml as parsed
    source: str  # the handler module's code

    @property
    def triggers(self) -> dict[str, dict[str, Any]]:
        return dict(self.config.get("spec", {}).get("triggers") or {})


class _Problems:
    def __init__(self, base: Path) -> None:
        self.base = base  # paths are shown relative to it, as the user sees the project
        self.items: list[str] = []

    def at(self, file: Path, field: str, message: str) -> None:
        shown = file.relative_to(self.base) if file.is_relative_to(self.base) else file
        self.items.append(f"{shown}: {field}: {message}")


def folder_names(functions_dir: Path) -> list[str]:
    """Function folder names, sorted; folders starting with '.' or '_' are skipped."""
    return sorted(d.name for d in functions_dir.iterdir()
                  if d.is_dir() and not d.name.startswith((".", "_")))


def discover(functions_dir: Path, only: tuple[str, ...] = ()) -> list[FunctionFolder]:
    """Loads every function folder (or only those named), sorted by name.

    Raises FunctionFolderError listing every problem in every folder.
    """
    p = _Problems(functions_dir.parent)
    if not functions_dir.is_dir():
        raise FunctionFolderError("No functions to deploy:",
                                  [f"{functions_dir} is not a directory"])
    names = folder_names(functions_dir)
    folders = [functions_dir / n for n in names]
    for wanted in only:
        if wanted not in names:
            close = difflib.get_close_matches(wanted, names, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            p.items.append(f"iot-faas:functions names '{wanted}', which is not a folder in "
                           f"{functions_dir}: {hint}folders are: {', '.join(names) or 'none'}")
    selected = [d for d in folders if not only or d.name in only]
    loaded = [f for f in (_load(d, p) for d in selected) if f is not None]
    if p.items:
        raise FunctionFolderError("Functions cannot be deployed:", p.items)
    return loaded


def _load(folder: Path, p: _Problems) -> FunctionFolder | None:
    file = folder / FUNCTION_FILE
    if not file.is_file():
        p.at(folder, FUNCTION_FILE, "missing: each function folder needs a function.yaml "
             "(Nuclio's function config: metadata, spec)")
        return None
    try:
        config = yaml.safe_load(file.read_text())
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        p.at(file, "(file)", f"is not valid YAML{line}: {getattr(e, 'problem', e)}")
        return None
    if not isinstance(config, dict):
        p.at(file, "(file)", "must be a mapping with 'metadata' and 'spec'")
        return None
    before = len(p.items)
    metadata = _mapping(config, "metadata", file, p)
    spec = _mapping(config, "spec", file, p)

    name = metadata.get("name")
    if name != folder.name:
        p.at(file, "metadata.name", f"is {name!r}: it must equal the folder name "
             f"'{folder.name}'")
    elif not _NAME_RE.match(folder.name):
        p.at(file, "metadata.name", f"'{name}' is not a valid Nuclio function name: use 1-40 "
             "lowercase letters, digits and '-'")

    runtime = spec.get("runtime")
    if runtime not in RUNTIMES:
        p.at(file, "spec.runtime", f"{runtime!r} is not supported: use one of "
             f"{', '.join(RUNTIMES)}")

    source = _check_handler(folder, file, spec.get("handler"), p)
    _check_env(file, spec.get("env"), p)
    _check_build(file, spec.get("build"), p)
    triggers = spec.get("triggers")
    if triggers is None or not isinstance(triggers, dict) or not triggers:
        p.at(file, "spec.triggers", "is missing: give the function at least one trigger "
             f"({', '.join(TRIGGER_KINDS)})")
    else:
        for tname, trigger in triggers.items():
            _check_trigger(file, str(tname), trigger, p)
    if len(p.items) > before:
        return None
    return FunctionFolder(folder.name, folder, config, source)


def _mapping(parent: dict[str, Any], key: str, file: Path, p: _Problems) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        p.at(file, key, "is missing or not a mapping")
        return {}
    return value


def _check_handler(folder: Path, file: Path, handler: Any, p: _Problems) -> str:
    match = _HANDLER_RE.match(handler) if isinstance(handler, str) else None
    if not match:
        p.at(file, "spec.handler", f"{handler!r} is not 'module:function', e.g. main:handler")
        return ""
    module, function = match.groups()
    source_path = folder / f"{module}.py"
    if not source_path.is_file():
        p.at(file, "spec.handler", f"names module '{module}', but {source_path} does not exist")
        return ""
    source = source_path.read_text()
    try:
        tree = ast.parse(source, filename=str(source_path))
    except SyntaxError as e:
        p.at(source_path, f"line {e.lineno}", f"is not valid Python: {e.msg}")
        return ""
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    if function not in defined:
        p.at(file, "spec.handler", f"names function '{function}', but {source_path.name} "
             f"defines no top-level 'def {function}(context, event)'")
    return source


def _check_env(file: Path, env: Any, p: _Problems) -> None:
    if env is None:
        return
    if not isinstance(env, list):
        p.at(file, "spec.env", "must be a list of {name, value}")
        return
    for i, item in enumerate(env):
        if not (isinstance(item, dict) and isinstance(item.get("name"), str)):
            p.at(file, f"spec.env[{i}]", "must be a mapping with 'name' and 'value'")
        elif item["name"].startswith("BROKER_"):
            p.at(file, f"spec.env[{i}].name", f"'{item['name']}' is filled in by the stack "
                 "(broker address and credentials): remove it from function.yaml")


def _check_build(file: Path, build: Any, p: _Problems) -> None:
    if build is None:
        return
    if not isinstance(build, dict):
        p.at(file, "spec.build", "must be a mapping")
        return
    if "functionSourceCode" in build or "path" in build:
        p.at(file, "spec.build", "sets the source itself: the stack sends the handler module "
             "from this folder; remove functionSourceCode/path")
    commands = build.get("commands", [])
    if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
        p.at(file, "spec.build.commands", "must be a list of shell commands")


def _check_trigger(file: Path, tname: str, trigger: Any, p: _Problems) -> None:
    field = f"spec.triggers.{tname}"
    if not isinstance(trigger, dict):
        p.at(file, field, "must be a mapping with 'kind' and 'attributes'")
        return
    kind = trigger.get("kind")
    if kind not in TRIGGER_KINDS:
        suggestion = KIND_ALIASES.get(str(kind).lower()) or next(
            iter(difflib.get_close_matches(str(kind), TRIGGER_KINDS, n=1)), None)
        hint = f"did you mean '{suggestion}'? " if suggestion else ""
        p.at(file, f"{field}.kind", f"{kind!r} is not a Nuclio trigger kind: {hint}"
             f"(kinds: {', '.join(TRIGGER_KINDS)})")
        return
    attributes = trigger.get("attributes") or {}
    if not isinstance(attributes, dict):
        p.at(file, f"{field}.attributes", "must be a mapping")
        return
    if kind in BROKER_KINDS:
        for key in STACK_OWNED_TRIGGER_KEYS:
            if key in trigger:
                p.at(file, f"{field}.{key}", "is filled in by the stack from the broker's "
                     "settings (never hard-code broker addresses or passwords): remove it")
    workers = trigger.get("numWorkers", 1)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        p.at(file, f"{field}.numWorkers", f"{workers!r} must be a whole number >= 1")

    if kind == "rabbit-mq":
        topics = attributes.get("topics")
        queue = attributes.get("queueName")
        if not attributes.get("exchangeName"):
            p.at(file, f"{field}.attributes.exchangeName", "is missing: name the exchange to "
                 "bind to, e.g. amq.topic (where MQTT messages arrive)")
        if topics is not None and (not isinstance(topics, list) or not topics
                                   or not all(isinstance(t, str) and t for t in topics)):
            p.at(file, f"{field}.attributes.topics", "must be a non-empty list of routing "
                 "keys, e.g. [iot.sensors.temperature]")
        elif not topics and not queue:
            p.at(file, f"{field}.attributes", "has neither 'topics' nor 'queueName': give the "
                 "routing keys to bind, e.g. topics: [iot.sensors.temperature]")
        exchange = str(attributes.get("exchangeName", ""))
        if exchange.startswith("amq.") and attributes.get("durableExchange") is False:
            p.at(file, f"{field}.attributes.durableExchange", f"is false, but RabbitMQ's "
                 f"'{exchange}' is durable, so Nuclio's declare would fail with "
                 "PRECONDITION_FAILED: remove it (the stack sets it to true)")
    elif kind == "mqtt":
        subs = attributes.get("subscriptions")
        if not isinstance(subs, list) or not subs:
            p.at(file, f"{field}.attributes.subscriptions", "is missing: give the topics, e.g. "
                 "[{topic: iot/sensors/temperature, qos: 1}]")
        else:
            for i, sub in enumerate(subs):
                if not (isinstance(sub, dict) and isinstance(sub.get("topic"), str)
                        and sub["topic"]):
                    p.at(file, f"{field}.attributes.subscriptions[{i}]", "must have a 'topic'")
                elif sub.get("qos", 0) not in (0, 1, 2):
                    p.at(file, f"{field}.attributes.subscriptions[{i}].qos",
                         f"{sub.get('qos')!r} must be 0, 1 or 2")
                elif "." in sub["topic"]:
                    p.at(file, f"{field}.attributes.subscriptions[{i}].topic",
                         f"'{sub['topic']}' contains '.', which RabbitMQ maps to '/' on "
                         "amq.topic: use '/' as the only separator")
    elif kind == "cron":
        if not (attributes.get("interval") or attributes.get("schedule")):
            p.at(file, f"{field}.attributes", "has neither 'interval' (e.g. 10s) nor "
                 "'schedule' (cron syntax): the trigger would never fire")
