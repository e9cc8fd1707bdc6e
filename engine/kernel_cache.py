"""Start-up's kernel loading: numba compiles them into its disk cache in a child process, this process loads them."""

# Compiling in-process leaves LLVM's working memory behind: the first start after an install peaked ~60 MB higher
# (302 against 241 MB resident in bench/scan.py) than every later start, which loads the cache. The child pays
# that and exits; when the cache is already there it only loads it, a second or two. Should the child fail (no
# writable cache directory, say), warm_up() compiles here as before.

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from engine import kernels

log = logging.getLogger(__name__)

_CHILD = "from engine.kernels import warm_up; warm_up()"


def load_kernels(timeout: float = 600.0) -> None:
    """Fill numba's cache from a child process, then load every kernel here (blocking: run it in a thread)."""
    try:
        root = Path(kernels.__file__).resolve().parents[1]  # where `engine` imports from, installed or not
        done = subprocess.run([sys.executable, "-c", _CHILD], cwd=root, capture_output=True, timeout=timeout,
                              check=False)
        if done.returncode != 0:
            log.warning("kernel pre-compilation failed (exit %s); compiling in this process", done.returncode)
    except (OSError, subprocess.TimeoutExpired) as e:
        log.warning("kernel pre-compilation did not run (%s); compiling in this process", type(e).__name__)
    kernels.warm_up()
