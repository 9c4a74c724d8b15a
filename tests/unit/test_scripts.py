"""scripts/up's flow (through scripts/pulumi), with recorders on PATH for `pulumi` and
`docker`.

This checks the script's own logic (backend, passphrase, password creation, the order of
commands); it says nothing about the Pulumi CLI itself, which is not installed here.
"""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from tests.program import ROOT

RECORDER = """#!/usr/bin/env bash
{{ printf '%s' "$(basename "$0")"; printf ' %s' "$@"; printf ' | backend=%s passfile=%s' \
  "${{PULUMI_BACKEND_URL:-}}" "${{PULUMI_CONFIG_PASSPHRASE_FILE:-}}"; echo; }} >> "{log}"
if [[ "$1 $2" == "config set" ]]; then printf 'stdin=%s\\n' "$(cat)" >> "{log}"; fi
if [[ "$1 $2" == "config get" ]]; then exit {config_get_rc}; fi
exit 0
"""


def run_up(tmp_path: Path, config_get_rc: int, *args: str) -> tuple[list[str], Path]:
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    for script in ("up", "pulumi"):
        shutil.copy(ROOT / "scripts" / script, project / "scripts" / script)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    for tool in ("pulumi", "docker"):
        path = bin_dir / tool
        path.write_text(RECORDER.format(log=log, config_get_rc=config_get_rc))
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    subprocess.run(["bash", str(project / "scripts" / "up"), *args], env=env, check=True,
                   capture_output=True, text=True)
    return log.read_text().splitlines(), project


def test_first_up_creates_stack_password_and_local_backend(tmp_path: Path) -> None:
    calls, project = run_up(tmp_path, 1, "dev", "--yes")
    state = project / ".pulumi-state"
    assert [c.split(" |")[0] for c in calls if not c.startswith("stdin=")] == [
        "docker info",
        "pulumi stack select --create dev",
        "pulumi config get rabbitmqPassword --stack dev",
        "pulumi config set --secret rabbitmqPassword --stack dev",
        "pulumi up --stack dev --yes",
    ]
    assert all(f"backend=file://{state} passfile={state}/passphrase" in c
               for c in calls if c.startswith("pulumi"))
    [password] = [c[len("stdin="):] for c in calls if c.startswith("stdin=")]
    assert len(password) >= 24  # piped, never on the command line
    assert (state / "passphrase").stat().st_mode & 0o077 == 0


def test_later_up_keeps_the_existing_password(tmp_path: Path) -> None:
    calls, _ = run_up(tmp_path, 0)
    assert not any("config set" in c for c in calls)
    assert calls[-1].startswith("pulumi up --stack dev |")
