"""`python -m bot` that sends itself a SIGTERM every 2 ms for STORM_S seconds from the moment it is up (the point
where main() calls settle_heap): a stop that starts while the bot is still starting, repeated the way make, systemd
or docker repeat it. Used by tests/test_bot_startup.py."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from bot import app
from engine.runtime import heap

_settle = heap.settle_heap


def _storm() -> None:
    end = time.monotonic() + float(os.environ.get("STORM_S", "0.3"))
    while time.monotonic() < end:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.002)


def _started() -> int:
    threading.Thread(target=_storm, daemon=True).start()
    return _settle()


heap.settle_heap = _started  # main() imports it when it runs, after this
sys.exit(app.main())
