"""The README stays true: every config key documented, the quickstart commands exist."""
import os
import re

from stacks.config import CONFIG_KEYS
from tests.program import ROOT

README = (ROOT / "README.md").read_text()


def test_every_config_key_is_documented() -> None:
    for key in CONFIG_KEYS:
        assert f"| `{key.name}` |" in README, key.name


def test_quickstart_commands_exist_and_ci_runs_the_readme_test_command() -> None:
    block = re.search(r"## Quickstart\n\n```sh\n(.*?)```", README, re.S).group(1)
    commands = [line.split()[0] for line in block.splitlines() if line.strip()]
    assert commands == ["scripts/up", "scripts/test"]
    for command in commands:
        assert os.access(ROOT / command, os.X_OK), command
    assert (ROOT / ".ci/run").read_text().rstrip().endswith("scripts/test")
