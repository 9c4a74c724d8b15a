"""Errors that stop a preview before any resource is declared."""
from __future__ import annotations

from collections.abc import Sequence

import pulumi


class PlatformError(pulumi.RunError):
    """Bad input found before anything was created.

    A RunError makes Pulumi print the message alone, without a Python traceback.
    Every problem is listed at once, so one preview shows everything to fix.
    """

    def __init__(self, heading: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{heading}\n{lines}\nNothing was created or changed.")


class ConfigError(PlatformError):
    """The stack's configuration is invalid."""


class FunctionFolderError(PlatformError):
    """A folder in functions/ cannot be deployed."""
