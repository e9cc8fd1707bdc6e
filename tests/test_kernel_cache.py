"""Start-up compiles the numba kernels in a child process and loads them from the cache, with a fallback."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_kernels_are_compiled_in_a_child_and_only_loaded_here(tmp_path):
    code = (
        "import json; from engine.kernel_cache import load_kernels; from engine import kernels; load_kernels(); "
        "s = kernels.bb_state.stats; print(json.dumps([sum(s.cache_hits.values()), sum(s.cache_misses.values())]))"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}  # an empty cache: everything must be compiled
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    hits, misses = json.loads(out.stdout.strip().splitlines()[-1])
    assert (hits, misses) == (1, 0)  # this process loaded bb_state from the cache the child filled
    assert list(tmp_path.rglob("*bb_state*.nbi"))


def test_without_a_child_the_kernels_are_still_loaded(monkeypatch):
    from engine import kernel_cache

    def refuse(*args, **kwargs):
        raise OSError("no processes here")

    monkeypatch.setattr(kernel_cache.subprocess, "run", refuse)
    kernel_cache.load_kernels()
    assert kernel_cache.kernels.bb_state.signatures  # compiled or loaded in this process
