"""The platform library, tools and benchmark type-check (mypy.ini)."""
import subprocess
import sys

from tests.program import ROOT


def test_mypy_finds_no_errors() -> None:
    out = subprocess.run([sys.executable, "-m", "mypy", "stacks", "tools", "bench", "__main__.py"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
