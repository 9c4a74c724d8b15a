"""Loads a function's handler module from functions/<name>/ and captures its log lines."""
from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NUCLIO_LOGGER = "mock_platform"  # the logger nuclio_sdk.test.Platform logs through


def load_handler(function: str) -> ModuleType:
    """Imports functions/<function>/main.py under a unique module name."""
    name = f"fn_{function.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / function / "main.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # nuclio_sdk finds init_context through sys.modules
    spec.loader.exec_module(module)
    return module


class LogCapture(logging.Handler):
    """Collects (level, message, fields) of each log line a handler writes."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelname.lower(), record.getMessage(),
                           dict(getattr(record, "with", {}))))

    def messages(self, message: str) -> list[dict[str, Any]]:
        return [fields for _, m, fields in self.lines if m == message]

    def __enter__(self) -> "LogCapture":
        logging.getLogger(NUCLIO_LOGGER).addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger(NUCLIO_LOGGER).removeHandler(self)
