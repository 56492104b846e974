"""Lint (ruff, configured in images/postgres/pyproject.toml) of these tests and the restore benchmark."""

from __future__ import annotations

import subprocess
import sys

from harness import IMAGE_DIR, REPO_ROOT


def test_ruff_check() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "tests", str(REPO_ROOT / "scripts" / "bench-restore.py")],
        cwd=IMAGE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
