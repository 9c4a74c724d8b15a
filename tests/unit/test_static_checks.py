"""Static checks: types (mypy.ini) and lint (ruff.toml) over the whole project."""
import subprocess
import sys

from tests.program import ROOT


def test_mypy_finds_no_errors() -> None:
    out = subprocess.run([sys.executable, "-m", "mypy", "stacks", "tools", "bench", "__main__.py"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_finds_no_problems() -> None:
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise",
                          "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
