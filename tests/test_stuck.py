"""A hung test ends the run within pytest-timeout's limit, after tests/stuck.py printed where its tasks wait."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HUNG = '''
import asyncio


async def wait_for_ever(event):
    await event.wait()


async def test_hangs():
    await wait_for_ever(asyncio.Event())
'''


def test_a_hung_test_ends_the_run_naming_it_and_where_its_tasks_wait(tmp_path):
    (tmp_path / "test_hung.py").write_text(HUNG)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path / "test_hung.py"), "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(tmp_path), "-p", "tests.stuck", "-o", "timeout=4", "-p", "no:cacheprovider"],
        cwd=ROOT, env={**os.environ, "TB_TEST_STUCK_S": "1"}, capture_output=True, text=True, timeout=60)
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert "test_hung.py::test_hangs still running after 1 s" in out
    chain = out[out.index("still running"):]
    assert "in test_hangs" in chain and "in wait_for_ever" in chain and "waiting for" in chain
    assert "Timeout" in out
