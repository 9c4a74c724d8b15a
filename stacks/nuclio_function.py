"""NuclioFunction: a Pulumi dynamic resource that deploys one function via the dashboard API.

The provider object is pickled with dill (by reference to this module), so it keeps no
state: every method builds its own client from the resource's properties.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from stacks.nuclio_client import FunctionExists, NuclioClient, redactor

# Properties that, when changed, need a new function rather than an update.
REPLACE_KEYS = ("name", "namespace")
DEFAULT_POLL_INTERVAL = 2.0


def spec_hash(config: dict[str, Any]) -> str:
    """Stable hash of a rendered function config (source code included)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def project_live(live: Any, desired: Any) -> Any:
    """The part of Nuclio's live config that this stack manages.

    Nuclio adds many defaults to a stored function; comparing only the keys we set lets
    `pulumi refresh` see a change made outside Pulumi without a diff on every run.
    """
    if isinstance(desired, dict) and isinstance(live, dict):
        return {k: project_live(live.get(k), v) for k, v in desired.items()}
    if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        return [project_live(lv, dv) for lv, dv in zip(live, desired, strict=True)]
    return live


def _client(props: dict[str, Any]) -> NuclioClient:
    return NuclioClient(
        props["dashboard_url"], props["namespace"], props["project"],
        redact=redactor(props.get("redact") or []),
        poll_interval=float(props.get("poll_interval") or DEFAULT_POLL_INTERVAL),
    )


def _observed(record: dict[str, Any]) -> dict[str, Any]:
    status = record.get("status") or {}
    return {
        "state": status.get("state", "unknown"),
        "http_port": int(status.get("httpPort") or 0),
        "internal_invocation_urls": list(status.get("internalInvocationUrls") or []),
        "external_invocation_urls": list(status.get("externalInvocationUrls") or []),
    }


class NuclioFunctionProvider(ResourceProvider):
    def _deploy(self, props: dict[str, Any], update: bool) -> dict[str, Any]:
        client = _client(props)
        name = props["name"]
        timeout = float(props["deploy_timeout"])
        client.wait_until_up(float(props["dashboard_wait_timeout"]))
        client.ensure_project()
        config = props["config"]
        if update:
            client.retry_while_busy(lambda: client.update_function(config), name, timeout)
        else:
            try:
                client.create_function(config)
            except FunctionExists:
                # Our namespace belongs to this stack: a 409 means an earlier `up` created it
                # and was interrupted before recording it. Converge it instead of failing.
                pulumi.log.info(f"function '{name}' already exists in namespace "
                                f"'{props['namespace']}'; updating it to this stack's config")
                client.retry_while_busy(lambda: client.update_function(config), name, timeout)
        record = client.wait_until_ready(name, timeout)
        return {**props, "spec_hash": spec_hash(config), **_observed(record)}

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._deploy(props, update=False)
        return CreateResult(id_=f"{props['namespace']}/{props['name']}", outs=outs)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=self._deploy(news, update=True))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        client = _client(props)
        client.delete_function(props["name"])
        client.wait_until_gone(props["name"], float(props["deploy_timeout"]))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        record = _client(props).get_function(props["name"])
        if record is None:
            # Removed outside Pulumi: an empty id tells the engine it is gone.
            return ReadResult(None, {})
        desired = props["config"]
        live = project_live({"metadata": record.get("metadata"), "spec": record.get("spec")},
                            desired)
        return ReadResult(id_, {**props, "config": live, "spec_hash": spec_hash(live),
                                **_observed(record)})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in REPLACE_KEYS if olds.get(k) != news.get(k)]
        changed = (bool(replaces) or spec_hash(olds["config"]) != spec_hash(news["config"])
                   # A failed or unhealthy function is deployed again.
                   or olds.get("state") not in (None, "ready")
                   # Delete and refresh use the URL in state: keep it current.
                   or olds.get("dashboard_url") != news.get("dashboard_url"))
        return DiffResult(changes=changed, replaces=replaces,
                          delete_before_replace=True)


@dataclass(frozen=True)
class NuclioFunctionArgs:
    """Inputs of one function. `config` holds broker credentials: pass it as a secret."""

    name: str
    namespace: str
    project: str
    dashboard_url: pulumi.Input[str]
    config: pulumi.Input[dict[str, Any]]
    redact: pulumi.Input[list[str]]
    deploy_timeout: int
    dashboard_wait_timeout: int
    poll_interval: float = DEFAULT_POLL_INTERVAL


class NuclioFunction(pulumi.dynamic.Resource, module="iot-faas", name="NuclioFunction"):
    state: pulumi.Output[str]
    spec_hash: pulumi.Output[str]
    http_port: pulumi.Output[int]

    def __init__(self, resource_name: str, args: NuclioFunctionArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        props = {
            "name": args.name, "namespace": args.namespace, "project": args.project,
            "dashboard_url": args.dashboard_url,
            "config": pulumi.Output.secret(args.config),
            "redact": pulumi.Output.secret(args.redact),
            "deploy_timeout": args.deploy_timeout,
            "dashboard_wait_timeout": args.dashboard_wait_timeout,
            "poll_interval": args.poll_interval,
            "state": None, "spec_hash": None, "http_port": None,
            "internal_invocation_urls": None, "external_invocation_urls": None,
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["config", "redact"])
        super().__init__(NuclioFunctionProvider(), resource_name, props,
                         pulumi.ResourceOptions.merge(opts, secret_outputs))
